"""Worksheet functions (Windows only: an xlwings limitation) on the same rules as the ribbon actions.

Vectorised: a whole column in, a spilled column out. They read the calling workbook's Rules and
Settings once and cache them until those tables change.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import xlwings as xw

from . import actions
from .book import layout as L
from .book.excel import ExcelBook
from .core import cadence
from .core.calendar import as_days
from .core.i18n import status_label

_cache: dict[str, tuple[tuple, actions.Inputs]] = {}


def _inputs(caller) -> actions.Inputs:
    """Rules and Settings of the calling workbook, re-read only when their cells changed."""
    book = ExcelBook(caller.sheet.book)
    key = caller.sheet.book.fullname
    signature = tuple(repr(book.read_table(t).to_numpy().tolist()) for t in
                      (L.T_RULES, L.T_PARAMS, L.T_SETTINGS, L.T_HOLIDAYS, L.T_WORKDAYS))
    if key not in _cache or _cache[key][0] != signature:
        _cache[key] = (signature, actions.load(book))
    return _cache[key][1]


WHOLE_COLUMN = 1_048_576  # rows xlwings hands over for an argument such as A:A


def _column(values) -> list:
    column = values if isinstance(values, list) else [values]
    if len(column) >= WHOLE_COLUMN:
        raise ValueError(f"pass a table column such as {L.T_CUSTOMERS}[Tier] or a block of rows, not a whole sheet "
                         "column (1,048,576 rows, and its result could not spill)")
    return column


def _schedule(caller, tiers, last_contacts, agreed) -> pd.DataFrame:
    inputs = _inputs(caller)
    codes = inputs.rules.tier_of(pd.Series(_column(tiers), dtype=object))
    last = as_days(_column(last_contacts))
    agreed_days = as_days(_column(agreed)) if agreed is not None else np.full(len(last), np.datetime64("NaT"))
    today = inputs.settings.today()
    return cadence.schedule(inputs.rules.tiers, codes, last, agreed_days, np.full(len(last), np.datetime64("NaT")),
                            np.ones(len(last)), inputs.calendar, today)


def _dates(days) -> list[list]:
    return [[None if np.isnat(d) else d.astype(dt.date)] for d in np.asarray(days, dtype="datetime64[D]")]


@xw.func
@xw.arg("tiers", ndim=1)
@xw.arg("last_contacts", ndim=1)
@xw.arg("agreed", ndim=1)
def FU_DUE(tiers, last_contacts, agreed=None, caller=None):
    """Due date per row from tier and last contact (agreed date overrides when later)."""
    return _dates(_schedule(caller, tiers, last_contacts, agreed)["due"])


@xw.func
@xw.arg("tiers", ndim=1)
@xw.arg("last_contacts", ndim=1)
@xw.arg("agreed", ndim=1)
def FU_EARLIEST(tiers, last_contacts, agreed=None, caller=None):
    """Earliest date per row: contacting sooner annoys."""
    return _dates(_schedule(caller, tiers, last_contacts, agreed)["earliest"])


@xw.func
@xw.arg("tiers", ndim=1)
@xw.arg("last_contacts", ndim=1)
@xw.arg("agreed", ndim=1)
def FU_STATUS(tiers, last_contacts, agreed=None, caller=None):
    """Overdue / Due today / In window / Not yet / No follow-up, in the workbook language."""
    labels = status_label(_schedule(caller, tiers, last_contacts, agreed)["status"].to_numpy(),
                          _inputs(caller).settings.language)
    return [[x] for x in labels]


@xw.func
@xw.arg("dates", ndim=1)
def FU_WORKDAY(dates, n, caller=None):
    """Like WORKDAY, on the team calendar (public holidays, make-up working days, team extras)."""
    cal = _inputs(caller).calendar
    return _dates(cal.add_workdays(as_days(_column(dates)), int(n)))


@xw.func
@xw.arg("starts", ndim=1)
@xw.arg("ends", ndim=1)
def FU_NETWORKDAYS(starts, ends, caller=None):
    """Like NETWORKDAYS (both ends counted), on the team calendar."""
    cal = _inputs(caller).calendar
    counts = cal.networkdays(as_days(_column(starts)), as_days(_column(ends)))
    return [[None if np.isnan(c) else int(c)] for c in counts]


@xw.func
def FU_CHECK(caller=None):
    """Every check message of the ledger, one row per flag: severity, cell, message."""
    found = actions.flags(ExcelBook(caller.sheet.book))
    return found[["severity", "cell", "message"]].to_numpy().tolist() or [["", "", ""]]
