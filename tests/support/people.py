"""Edits as people make them, through openpyxl standing in for a spreadsheet that does not grow tables.

Each edit takes a workbook path, changes it in place and returns what it typed (``Typed``: sheet, cell,
value) so a test can check afterwards that each typed row was read or flagged and no typed cell changed.

What openpyxl 3.1.5 keeps of the tool's .xlsm (checked on a demo workbook, see test_support.py):
with ``keep_vba=True`` the VBA project (xl/vbaProject.bin) and the ribbon (customUI/*.xml) are copied,
sheet codeNames, tables, validations, conditional formats and charts are kept; inline strings become
shared strings, comments are rewritten as xl/comments/commentN.xml with new VML. Without ``keep_vba``
the VBA project, the ribbon and the comments' VML are dropped, so every edit here uses ``keep_vba=True``.
openpyxl never grows a table: its ``ref`` (and autoFilter) stay where they were, as in LibreOffice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from .cells import sheet_by_role

TODAY = dt.date(2026, 11, 23)


@dataclass(frozen=True)
class Typed:
    sheet: str
    cell: str
    value: object
    # What proves the tool saw it: "flag" = a flag names this cell; "ledger_row" / "contact_row" /
    # "owner_row" / "listed_row" = the row was read (see test_people_edits) or a flag names a cell of it;
    # "part" = another cell of such a row, nothing of its own.
    kind: str = "part"


Edit = Callable[[Path], list[Typed]]


def _open(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, keep_vba=True)


def _table_end(ws: Worksheet, table: str) -> int:
    return int(ws.tables[table].ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _column(ws: Worksheet, *labels: str) -> int:
    for c in ws[1]:
        if c.value in labels:
            return c.column
    raise KeyError(f"no column {labels} on {ws.title}")


def _type(ws: Worksheet, row: int, col: int, value: object) -> Typed:
    ws.cell(row, col, value)
    return Typed(ws.title, ws.cell(row, col).coordinate, value)


def _first_row_with(ws: Worksheet, col: int, value: object) -> int:
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col).value == value)


def _customers(path: Path, gap: int, count: int = 3) -> list[Typed]:
    wb = _open(path)
    ws = sheet_by_role(wb, "shCustomers")
    start = _table_end(ws, "tblCustomers") + 1 + gap
    cols = {key: _column(ws, zh, en) for key, zh, en in (
        ("id", "客户编码", "Customer ID"), ("name", "客户名称", "Name"), ("owner", "业务员", "Owner"),
        ("tier", "客户类别", "Tier"), ("assigned", "分配日期", "Assigned"))}
    owner = ws.cell(2, cols["owner"]).value
    tier = ws.cell(2, cols["tier"]).value
    typed = []
    for i in range(count):
        row = start + i
        first = _type(ws, row, cols["id"], f"NEW{gap}{i:03d}")
        typed.append(Typed(first.sheet, first.cell, first.value, "ledger_row"))
        typed += [_type(ws, row, cols["name"], f"新客户{gap}-{i}"), _type(ws, row, cols["owner"], owner),
                  _type(ws, row, cols["tier"], tier),
                  _type(ws, row, cols["assigned"], dt.datetime(2026, 11, 2))]
        ws.cell(row, cols["assigned"]).number_format = "yyyy-mm-dd"
    wb.save(path)
    return typed


def customers_below_ledger(path: Path) -> list[Typed]:
    """Three customers typed on the rows directly below the ledger table."""
    return _customers(path, gap=0)


def customers_after_gap(path: Path) -> list[Typed]:
    """Three customers typed below the ledger table after two blank rows."""
    return _customers(path, gap=2)


def contacts_below_log(path: Path) -> list[Typed]:
    """Two touches typed directly below the contact log, for customers of the ledger."""
    wb = _open(path)
    ledger, log = sheet_by_role(wb, "shCustomers"), sheet_by_role(wb, "shContacts")
    start = _table_end(log, "tblContacts") + 1
    typed = []
    for i, ledger_row in enumerate((2, 3)):
        row = start + i
        when = _type(log, row, _column(log, "日期", "Date"), dt.datetime(2026, 11, 20, 10 + i))
        log[when.cell].number_format = "yyyy-mm-dd hh:mm"
        typed.append(Typed(when.sheet, when.cell, when.value, "contact_row"))
        typed.append(_type(log, row, _column(log, "客户编码", "Customer ID"), ledger.cell(ledger_row, 1).value))
        typed.append(_type(log, row, _column(log, "方式", "Channel"), log.cell(2, _column(log, "方式", "Channel")).value))
        typed.append(_type(log, row, _column(log, "接通", "Reached"), log.cell(2, _column(log, "接通", "Reached")).value))
    wb.save(path)
    return typed


def owner_below_owners(path: Path) -> list[Typed]:
    """An owner typed on the row directly below the Settings sheet's owners table."""
    wb = _open(path)
    ws = sheet_by_role(wb, "shSettings")
    ref = ws.tables["tblOwners"].ref
    first_col = openpyxl.utils.cell.column_index_from_string(ref.split(":")[0].rstrip("0123456789"))
    row = _table_end(ws, "tblOwners") + 1
    name = _type(ws, row, first_col, "赵新人")
    typed = [Typed(name.sheet, name.cell, name.value, "owner_row"), _type(ws, row, first_col + 2, 25)]
    wb.save(path)
    return typed


def _ledger_cell(path: Path, labels: tuple[str, str], value: object, status: str = "逾期",
                 number_format: str | None = None) -> list[Typed]:
    """Type ``value`` in one ledger column of the first customer whose status is ``status``."""
    wb = _open(path)
    ws = sheet_by_role(wb, "shCustomers")
    row = _first_row_with(ws, _column(ws, "状态", "Status"), status)
    typed = _type(ws, row, _column(ws, *labels), value)
    if number_format:
        ws[typed.cell].number_format = number_format
    wb.save(path)
    return [Typed(typed.sheet, typed.cell, typed.value, "flag")]


def text_in_date_column(path: Path) -> list[Typed]:
    """'昨天下午' (yesterday afternoon) typed in Last contact."""
    return _ledger_cell(path, ("最近联系", "Last contact"), "昨天下午")


def formula_in_last_contact(path: Path) -> list[Typed]:
    """A formula typed in Last contact (openpyxl stores no cached value, as a script would)."""
    return _ledger_cell(path, ("最近联系", "Last contact"), "=DATE(2026,11,20)", number_format="yyyy-mm-dd")


def error_values(path: Path) -> list[Typed]:
    """Excel error values in a typed date column and in Tier (#N/A in Last contact, #REF! in Tier)."""
    return (_ledger_cell(path, ("最近联系", "Last contact"), "#N/A")
            + _ledger_cell(path, ("客户类别", "Tier"), "#REF!", status="今日到期"))


def duplicated_id(path: Path) -> list[Typed]:
    """The second customer's ID typed again on the third customer's row."""
    wb = _open(path)
    ws = sheet_by_role(wb, "shCustomers")
    col = _column(ws, "客户编码", "Customer ID")
    ws.cell(3, col).value = ws.cell(2, col).value
    wb.save(path)
    return [Typed(ws.title, f"{ws.cell(row, col).column_letter}{row}", ws.cell(row, col).value, "flag")
            for row in (2, 3)]


def customer_without_id(path: Path) -> list[Typed]:
    """An overdue customer whose ID cell was cleared (the row keeps its name and dates)."""
    wb = _open(path)
    ws = sheet_by_role(wb, "shCustomers")
    row = _first_row_with(ws, _column(ws, "状态", "Status"), "逾期")
    ws.cell(row, _column(ws, "客户编码", "Customer ID")).value = None
    name = ws.cell(row, _column(ws, "客户名称", "Name"))
    wb.save(path)
    return [Typed(ws.title, name.coordinate, name.value, "listed_row")]


def renamed_required_header(path: Path) -> list[Typed]:
    """The Last contact header renamed to a word no alias knows (table column renamed with it, as Excel does)."""
    wb = _open(path)
    ws = sheet_by_role(wb, "shCustomers")
    col = _column(ws, "最近联系", "Last contact")
    new = "上次沟通" if ws.cell(1, col).value == "最近联系" else "Last spoke"
    ws.tables["tblCustomers"].tableColumns[col - 1].name = new
    typed = _type(ws, 1, col, new)
    wb.save(path)
    return [Typed(typed.sheet, typed.cell, typed.value, "flag")]


EDITS: dict[str, Edit] = {f.__name__: f for f in (
    customers_below_ledger, customers_after_gap, contacts_below_log, owner_below_owners, text_in_date_column,
    formula_in_last_contact, error_values, duplicated_id, customer_without_id, renamed_required_header)}
