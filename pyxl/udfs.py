"""Worksheet functions (Windows only: an xlwings limitation) on the same rules as the ribbon actions.

Vectorised: a whole column in, a spilled column out. Everything a result depends on is an argument — the
Rules table with its header (``tblRules[#All]``), the Settings table (``tblSettings``), optionally the team's
Holidays and Workdays, the as-of date (``TODAY()`` or a cell) and the stage table with each row's stage
(``tblStages[#All]``, ``tblCustomers[Stage]``) — so Excel recalculates a result exactly
when one of them changes, and a function never reads the workbook through the object model while Excel is
busy calculating (xlwings utils.py ``prepare_sys_path``: "UDFs can't interact with the book object").
The team calendar is built once per distinct Settings/Holidays/Workdays content and kept in the process.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
import xlwings as xw

from .book import layout as L
from .core import cadence
from .core.calendar import TeamCalendar, as_days
from .core.i18n import status_label
from .core.inputs import canonical, pairs
from .core.rules import Rules, rules_from_table, with_stages
from .core.schema import match_headers
from .core.settings import Settings, calendar_for, settings_from_pairs

WHOLE_COLUMN = 1_048_576  # rows xlwings hands over for an argument such as A:A


def _rows(values, what: str) -> list:
    """An argument as a list of rows (a single cell is one row); a whole sheet column is refused."""
    rows = values if isinstance(values, list) else [values]
    if len(rows) >= WHOLE_COLUMN:
        raise ValueError(f"{what}: pass a table column such as {L.T_CUSTOMERS}[Tier] or a block of rows, not a whole "
                         "sheet column (1,048,576 rows, and its result could not spill)")
    return rows


def _frozen(values, what: str) -> tuple:
    """A 2-D argument as a hashable key (rows of cell values)."""
    return tuple(tuple(r) if isinstance(r, list) else (r,) for r in _rows(values, what))


@lru_cache(maxsize=16)
def _rules(table: tuple, stage_table: tuple | None = None) -> Rules:
    rules = rules_from_table(_with_header(table, "rules", "rules", L.T_RULES), {})
    if stage_table is None:
        return rules
    return with_stages(rules, _with_header(stage_table, "stages", "stage_rules", L.T_STAGES))


def _with_header(table: tuple, fields: str, what: str, name: str) -> pd.DataFrame:
    """A table passed with its header row as a frame under the fields' keys (headers in either language)."""
    header, *body = table
    labels = [str(h) if h is not None else "" for h in header]
    headers = match_headers(fields, labels)
    if headers.header_of("code") is None:
        raise ValueError(f"{what}: pass the table with its header row, e.g. {name}[#All]")
    return canonical(pd.DataFrame([list(r) for r in body], columns=labels, dtype=object), headers)


@lru_cache(maxsize=16)
def _team(settings: tuple, holidays: tuple, workdays: tuple) -> tuple[Settings, TeamCalendar]:
    frame = pd.DataFrame([list(r[:2]) + [None] * (2 - len(r[:2])) for r in settings], columns=[0, 1], dtype=object)
    team = settings_from_pairs(pairs(frame), extra_holidays=_days(holidays), extra_workdays=_days(workdays))
    return team, calendar_for(team)


def _days(rows: tuple) -> list[dt.date]:
    days = as_days([r[0] for r in rows]) if rows else np.array([], dtype="datetime64[D]")
    return [d.astype(dt.date) for d in days if not np.isnat(d)]


def _calendar(settings, holidays, workdays) -> tuple[Settings, TeamCalendar]:
    optional = lambda v, what: _frozen(v, what) if v is not None else ()  # noqa: E731
    return _team(_frozen(settings, "settings"), optional(holidays, "holidays"), optional(workdays, "workdays"))


def _as_of(team: Settings, as_of) -> dt.date:
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    return as_of if isinstance(as_of, dt.date) else team.today()


def _schedule(tiers, last_contacts, agreed, rules, settings, holidays, workdays, as_of, stage_rules, stages
              ) -> tuple[pd.DataFrame, str]:
    """What a refresh computes for these rows (cadence.schedule): the tier's cadence, and with ``stage_rules``
    (the stage table) and ``stages`` (each row's stage) the tighter of it and the stage's."""
    team, cal = _calendar(settings, holidays, workdays)
    if (stage_rules is None) != (stages is None):
        raise ValueError("stage_rules and stages go together: tblStages[#All] and the stage column, "
                         f"e.g. {L.T_CUSTOMERS}[Stage]")
    table = _rules(_frozen(rules, "rules"), _frozen(stage_rules, "stage_rules") if stage_rules is not None else None)
    codes = table.tier_of(pd.Series(_rows(tiers, "tiers"), dtype=object))
    last = as_days(_rows(last_contacts, "last_contacts"))
    agreed_days = as_days(_rows(agreed, "agreed")) if agreed is not None else np.full(len(last), np.datetime64("NaT"))
    stage = None if stages is None else table.stage_rows(table.stage_of(pd.Series(_rows(stages, "stages"),
                                                                                     dtype=object)))
    plan = cadence.schedule(table.tiers, codes, last, agreed_days, np.full(len(last), np.datetime64("NaT")),
                            np.ones(len(last)), cal, _as_of(team, as_of), stage=stage)
    return plan, team.language


def _dates(days) -> list[list]:
    return [[None if np.isnat(d) else d.astype(dt.date)] for d in np.asarray(days, dtype="datetime64[D]")]


def _scheduling(func):
    """The arguments the three scheduling functions share, converted as xlwings hands them over."""
    for name in ("tiers", "last_contacts", "agreed", "stages"):
        func = xw.arg(name, ndim=1)(func)
    for name in ("rules", "settings", "holidays", "workdays", "stage_rules"):
        func = xw.arg(name, ndim=2)(func)
    return xw.func(func)


@_scheduling
def FU_DUE(tiers, last_contacts, agreed, rules, settings, holidays=None, workdays=None, as_of=None,
           stage_rules=None, stages=None):
    """Due date per row from tier and last contact (agreed date overrides when later); with the stage table and
    the stage column, the earlier of the tier's and the stage's, as a refresh.
    =FU_DUE(tblCustomers[Tier], tblCustomers[Last contact], tblCustomers[Agreed], tblRules[#All], tblSettings,
    tblHolidays, tblWorkdays, TODAY(), tblStages[#All], tblCustomers[Stage])"""
    args = (rules, settings, holidays, workdays, as_of, stage_rules, stages)
    return _dates(_schedule(tiers, last_contacts, agreed, *args)[0]["due"])


@_scheduling
def FU_EARLIEST(tiers, last_contacts, agreed, rules, settings, holidays=None, workdays=None, as_of=None,
                stage_rules=None, stages=None):
    """Earliest date per row: contacting sooner annoys. Arguments as FU_DUE."""
    args = (rules, settings, holidays, workdays, as_of, stage_rules, stages)
    return _dates(_schedule(tiers, last_contacts, agreed, *args)[0]["earliest"])


@_scheduling
def FU_STATUS(tiers, last_contacts, agreed, rules, settings, holidays=None, workdays=None, as_of=None,
              stage_rules=None, stages=None):
    """Overdue / Due today / In window / Not yet / No follow-up, in the workbook language. Arguments as FU_DUE;
    pass TODAY() (or the as-of date) so that the status follows the day."""
    args = (rules, settings, holidays, workdays, as_of, stage_rules, stages)
    plan, language = _schedule(tiers, last_contacts, agreed, *args)
    return [[x] for x in status_label(plan["status"].to_numpy(), language)]


@xw.func
@xw.arg("dates", ndim=1)
@xw.arg("settings", ndim=2)
@xw.arg("holidays", ndim=2)
@xw.arg("workdays", ndim=2)
def FU_WORKDAY(dates, n, settings, holidays=None, workdays=None):
    """Like WORKDAY, on the team calendar (public holidays, make-up working days, team extras).
    =FU_WORKDAY(A2:A20, 3, tblSettings, tblHolidays, tblWorkdays)"""
    _, cal = _calendar(settings, holidays, workdays)
    return _dates(cal.add_workdays(as_days(_rows(dates, "dates")), int(n)))


@xw.func
@xw.arg("starts", ndim=1)
@xw.arg("ends", ndim=1)
@xw.arg("settings", ndim=2)
@xw.arg("holidays", ndim=2)
@xw.arg("workdays", ndim=2)
def FU_NETWORKDAYS(starts, ends, settings, holidays=None, workdays=None):
    """Like NETWORKDAYS (both ends counted), on the team calendar. Arguments as FU_WORKDAY."""
    _, cal = _calendar(settings, holidays, workdays)
    counts = cal.networkdays(as_days(_rows(starts, "starts")), as_days(_rows(ends, "ends")))
    return [[None if np.isnan(c) else int(c)] for c in counts]
