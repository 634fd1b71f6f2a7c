"""Ribbon entry points (VBA ``RunPython "import pyxl.macros as m; m.refresh()"``): each one wraps the
calling workbook in ``ExcelBook``, runs one action and reports in a message box, handing the status bar
back to Excel (xlwings ``App.status_bar = False``). A refusal (``FollowupError``) is shown the same way, as
a warning (``App.alert(..., mode="critical")``), instead of xlwings' traceback box."""
from __future__ import annotations

import datetime as dt
import functools
import webbrowser
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import xlwings as xw

from . import actions
from .book import layout as L
from .book.excel import ExcelBook, as_typed
from .core.errors import FollowupError
from .core.i18n import text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "excel.md"


def _book() -> ExcelBook:
    return ExcelBook(xw.Book.caller())


def _entry_point(title: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """A ribbon entry point whose alerts carry ``title``: a ``FollowupError`` (nothing was written; the
    message names the cell, in the workbook's language) is shown in an alert rather than raised."""
    def wrap(entry: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(entry)
        def run() -> None:
            try:
                entry()
            except FollowupError as error:
                app = xw.Book.caller().app
                app.status_bar = False
                app.alert(str(error), title=title, mode="critical")
        return run
    return wrap


def _report(book: ExcelBook, outcome: actions.Outcome, title: str) -> None:
    lines = [f"{k}: {v}" for k, v in outcome.summary.items()]
    book.book.app.status_bar = False
    book.book.app.alert("\n".join(lines), title=title)


# the sheets whose rows stand for one customer each; Log contact acts on the selected one
CUSTOMER_SHEETS = (L.CUSTOMERS, L.AGENDA, L.PLAN, L.REPORT)


def selected_customer(book: ExcelBook, inputs: actions.Inputs) -> str | None:
    """The customer ID of the selected row when it is a customer's row of the ledger, the Agenda, the Plan or
    the daily report (``book.selection`` is the active sheet's, whichever sheet that is), else None."""
    selection = book.book.selection
    if selection is None:
        return None
    sheet, row = selection.sheet.name, selection.row
    ids = inputs.ledger.get("customer_id", pd.Series(dtype=object)).map(_id)
    known = set(ids) - {None, ""}
    if sheet == book.sheet_by_codename(L.CUSTOMERS).name:
        return ids.get(row) if ids.get(row) in known else None
    if sheet not in {book.sheet_by_codename(code).name for code in CUSTOMER_SHEETS[1:]}:
        return None
    cells = selection.sheet.range((row, 1), (row, 30)).options(ndim=1).value
    return next((_id(v) for v in cells if _id(v) in known), None)


def _id(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value).strip()


@_entry_point("Refresh")
def refresh() -> None:
    book = _book()
    _report(book, actions.refresh(book), "Refresh")


@_entry_point("Check")
def check_tiers() -> None:
    book = _book()
    _report(book, actions.check(book), "Check")
    book.sheet_by_codename(L.CHECKS).activate()


@_entry_point("Plan")
def weekly_plan() -> None:
    book = _book()
    outcome, _ = actions.weekly_plan(book)
    _report(book, outcome, "Plan")
    book.sheet_by_codename(L.PLAN).activate()


@_entry_point("IDs")
def new_customer_ids() -> None:
    book = _book()
    _report(book, actions.new_customer_ids(book), "IDs")


@_entry_point("Log")
def log_contact() -> None:
    """The VBA form left its answers in _form!B1:B6; the customer is the one on the selected row."""
    book = _book()
    inputs = actions.load(book)
    customer_id = selected_customer(book, inputs)
    if customer_id is None:
        lang = inputs.settings.language
        sheets = " / ".join(book.sheet_by_codename(code).name for code in CUSTOMER_SHEETS)
        book.book.app.status_bar = False
        book.book.app.alert(text(lang, "errors", "select_customer", sheets=sheets), title="Log")
        return
    form = book.sheet_by_codename(L.FORM).range("B1:B6").options(ndim=1).value
    channel, reached, outcome, agreed, note, hard_call = (None if v is None else str(v) for v in form)
    agreed_day = dt.date.fromisoformat(str(agreed)[:10]) if agreed else None
    _report(book, actions.log_contact(book, str(customer_id), channel, reached, outcome or None, agreed_day,
                                      note or "", hard_call=hard_call == "yes"), "Log")


@_entry_point("Manager copy")
def manager_copy() -> None:
    """Save, write the macro-free copy, and leave its path in _form!B8 for the VBA to attach to a draft mail."""
    from . import export  # the headless package reader (lxml, calamine): only this button needs it

    wb = xw.Book.caller()
    wb.save()
    outcome = export.manager_copy(Path(wb.fullname), force=True)  # pressing the button again renews the copy
    ExcelBook(wb).sheet_by_codename(L.FORM).range("B8").value = as_typed(outcome.files[0])
    wb.app.alert("\n".join(outcome.files), title="Manager copy")


@_entry_point("End of day")
def end_of_day() -> None:
    book = _book()
    _report(book, actions.end_of_day(book), "End of day")
    book.sheet_by_codename(L.REPORT).activate()


def show_help() -> None:
    webbrowser.open(DOCS.as_uri())


def doctor() -> None:
    """Help > Doctor: ``followup doctor`` on this workbook's file, reported in one message box in its language.
    Reads the file, not the live workbook, so it reports even when nothing else works."""
    from .doctor import diagnose, message

    wb = xw.Book.caller()
    lang = _built_language(wb)
    wb.app.status_bar = False
    wb.app.alert(message(diagnose(wb.fullname, lang=lang, in_excel=True), lang), title="Doctor")


def _built_language(wb: xw.Book) -> str:
    """The workbook's language as its VBA reads it (the defined name FU_LANG, ="zh-CN" or ="en"); else English."""
    try:
        return "zh-CN" if "zh" in str(wb.names["FU_LANG"].refers_to).lower() else "en"
    except Exception:  # noqa: BLE001 - no such name (a workbook built before it): English, as the VBA does
        return "en"
