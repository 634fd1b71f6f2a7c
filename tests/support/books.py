"""Built workbooks with customers, settings and touches put in by the tool's own writer (not as a person
types them): the set-up of tests about dates and plans."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage


def book_with(template: Path, tmp_path: Path, customers: list[dict], settings: dict | None = None) -> Path:
    """A copy of ``template`` with ``customers`` (rows keyed by ledger header) and Settings values by key."""
    path = Path(shutil.copy(template, tmp_path / "book.xlsm"))
    book = WorkbookPackage.open(path)
    book.append_table_rows(L.T_CUSTOMERS, customers)
    keys = book.read_table(L.T_SETTINGS)
    rows = {k: r for r, k in zip(keys.index, keys.iloc[:, 0])}
    book.set_column_values(L.T_SETTINGS, keys.columns[1], {rows[k]: v for k, v in (settings or {}).items()})
    book.save(backup=False)
    return path


def log(path: Path, cid: str, when: dt.datetime, channel: str, reached: str, **kw) -> None:
    book = WorkbookPackage.open(path)
    actions.log_contact(book, cid, channel, reached, when=when, today=when.date(), **kw)
    book.save(backup=False)


def refresh(path: Path, day: dt.date) -> None:
    book = WorkbookPackage.open(path)
    actions.refresh(book, day)
    book.save(backup=False)
