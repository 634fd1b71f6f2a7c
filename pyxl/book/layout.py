"""Where things are in the workbook: the contract between the builder, the writers and the charts.

Sheets are found by codeName, tables by name (both survive a user renaming a sheet). Dashboard blocks
sit at fixed places because native charts read their cells.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CUSTOMERS, CONTACTS, RULES, SETTINGS = "shCustomers", "shContacts", "shRules", "shSettings"
SEQUENCES = "shSequences"
AGENDA, PLAN, CHECKS, DASHBOARD, REPORT = "shAgenda", "shPlan", "shChecks", "shDashboard", "shReport"
STYLES, FORM, XLWINGS_CONF = "shStyles", "shForm", "shXlwingsConf"

# sheet order in the workbook: codeName -> locale key of its label (None: fixed name)
SHEETS: dict[str, str | None] = {
    CUSTOMERS: "customers", CONTACTS: "contacts", AGENDA: "agenda", PLAN: "plan", CHECKS: "checks",
    DASHBOARD: "dashboard", REPORT: "report", RULES: "rules", SEQUENCES: "sequences", SETTINGS: "settings",
    XLWINGS_CONF: None,
    STYLES: None, FORM: None,
}
FIXED_NAMES = {XLWINGS_CONF: "xlwings.conf", STYLES: "_styles", FORM: "_form"}
GENERATED = (AGENDA, PLAN, CHECKS, DASHBOARD, REPORT)

T_CUSTOMERS, T_CONTACTS, T_RULES, T_PARAMS = "tblCustomers", "tblContacts", "tblRules", "tblRuleParams"
T_SETTINGS, T_OWNERS, T_HOLIDAYS, T_WORKDAYS = "tblSettings", "tblOwners", "tblHolidays", "tblWorkdays"
T_LISTS, T_BLOCKS, T_SEQUENCES = "tblLists", "tblBlocks", "tblSequences"
T_STAGES = "tblStages"  # on the Rules sheet, right of the parameters (absent in workbooks built before it)

AS_OF_NAME, TODAY_NAME = "FU_AsOf", "FU_Today"  # the Settings as-of cell; the day the row colours compare with


def today_formula(fixed: dt.date | None = None) -> str:
    """What ``FU_Today`` refers to: the as-of date a refresh was run for (``--today``), so the colours agree
    with the Status it wrote; else the Settings as-of date, else TODAY() (a workbook opened later recolours)."""
    if fixed is not None:
        return f"=DATE({fixed.year},{fixed.month},{fixed.day})"
    return f"=IF(ISNUMBER({AS_OF_NAME}),{AS_OF_NAME},TODAY())"


LAST_ROW = 1_048_576  # validations and conditional formats cover whole columns
LIST_ROWS = 60  # rows reserved under a list/lookup table for drop-downs


@dataclass(frozen=True)
class Block:
    """A block of a generated sheet: header on ``row`` (1-based), data below. A fixed block holds at most
    ``rows`` rows; a block that ``grows`` (nothing sits below it) holds any number, and ``rows`` is then only
    what its charts read in a fresh workbook. A column key of None leaves a blank column (room for the text
    on its left to spill into)."""
    row: int
    col: int  # 0-based
    columns: tuple[str | None, ...]
    rows: int
    grows: bool = False

    def chart_start(self, column: int) -> tuple[int, int]:
        """(row, col), 1-based, of a data column's first cell: where a chart series' range starts."""
        return self.row + 1, self.col + column + 1

    def cell_range(self, column: int) -> tuple[int, int, int, int]:
        """(first_row, col, last_row, col), 0-based, of one data column in a fresh workbook."""
        return self.row, self.col + column, self.row + self.rows - 1, self.col + column


# Dashboard: the funnel by tier and two charts on top; per-owner figures (as many rows as owners), the
# weekly report, touches per day (with its chart) and tier conversions below; then this week's follow-up
# per customer (the Friday columns), below whatever ends lowest.
FUNNEL = Block(4, 0, ("tier", "name", "customers", "target", "shortfall"), 20)
OWNERS = Block(28, 0, ("owner", "customers", "overdue", "due_today", "due_week", "touches_week",
                       "effective_week", "effective_target", "new_key_week", "payment_late"), 30, grows=True)
WEEKLY = Block(28, 11, ("metric", "value", "target", "met"), 12)
PER_DAY = Block(28, 16, ("date", "touches", "effective"), 14)
CONVERSIONS = Block(44, 11, ("from_tier", "to_tier", "count"), 20)
CHARTS = {"funnel": "G3", "overdue": "N3", "touches": "P45"}
FRIDAY_COLUMNS = ("owner", "customer_id", "name", "tier", "stage", "last_contact", "week_followup", None, None,
                  None, "next_actions")
FIXED_BOTTOM = CONVERSIONS.row + CONVERSIONS.rows  # the last row the fixed blocks and charts may use


def friday_block(owners: int) -> Block:
    """This week's follow-up: its title two blank rows under the owners block or the fixed blocks, whichever
    ends lower."""
    return Block(max(OWNERS.row + owners, FIXED_BOTTOM) + 4, 0, FRIDAY_COLUMNS, 0, grows=True)
