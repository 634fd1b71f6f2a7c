"""Ribbon entry points (VBA ``RunPython "import pyxl.macros as m; m.refresh()"``): each one wraps the
calling workbook in ``ExcelBook``, runs one action and reports in the status bar / a message box."""
from __future__ import annotations

import datetime as dt
import webbrowser
from pathlib import Path

import xlwings as xw

from . import actions, export
from .book import layout as L
from .book.excel import ExcelBook
from .core.i18n import text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "excel.md"


def _book() -> ExcelBook:
    return ExcelBook(xw.Book.caller())


def _report(book: ExcelBook, outcome: actions.Outcome, title: str) -> None:
    lines = [f"{k}: {v}" for k, v in outcome.summary.items()]
    book.book.app.status_bar = " · ".join(lines[:6])
    book.book.app.alert("\n".join(lines), title=title)


def refresh() -> None:
    book = _book()
    _report(book, actions.refresh(book), "Refresh")


def check_tiers() -> None:
    book = _book()
    _report(book, actions.check(book), "Check")
    book.sheet_by_codename(L.CHECKS).activate()


def weekly_plan() -> None:
    book = _book()
    outcome, _ = actions.weekly_plan(book)
    _report(book, outcome, "Plan")
    book.sheet_by_codename(L.PLAN).activate()


def new_customer_ids() -> None:
    book = _book()
    _report(book, actions.new_customer_ids(book), "IDs")


def log_contact() -> None:
    """The VBA form left its answers in _form!B1:B6; the customer is the one on the selected row."""
    book = _book()
    channel, reached, outcome, agreed, note, hard_call = book.sheet_by_codename(L.FORM).range("B1:B6").value
    row = book.book.selection.row
    customer_id = book.read_table(L.T_CUSTOMERS).iloc[:, 0].get(row)
    if not customer_id:
        lang = book.book.names["FU_LANG"].refers_to.strip('="')
        book.book.app.alert(text(lang, "errors", "unknown_customer", id=f"#{row}", sheet=""), title="Log")
        return
    agreed_day = dt.date.fromisoformat(str(agreed)[:10]) if agreed else None
    _report(book, actions.log_contact(book, str(customer_id), channel, reached, outcome or None, agreed_day,
                                      note or "", hard_call=hard_call == "yes"), "Log")


def manager_copy() -> None:
    """Save, write the macro-free copy, and leave its path in _form!B8 for the VBA to attach to a draft mail."""
    wb = xw.Book.caller()
    wb.save()
    outcome = export.manager_copy(Path(wb.fullname))
    ExcelBook(wb).sheet_by_codename(L.FORM).range("B8").value = outcome.files[0]
    wb.app.alert("\n".join(outcome.files), title="Manager copy")


def end_of_day() -> None:
    book = _book()
    _report(book, actions.end_of_day(book), "End of day")
    book.sheet_by_codename(L.REPORT).activate()


def show_help() -> None:
    webbrowser.open(DOCS.as_uri())
