"""Smoke test for maintainers with Excel (Windows/macOS): ``python -m pyxl.smoketest [BOOK]``.

Copies the workbook (the built product by default) to a temporary folder, fills it with sample data
headless, opens it in Excel through xlwings, runs every ribbon action on the live workbook, checks the
results and prints a report. Nothing in the repository is modified.
"""
from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from . import actions, export
from .book import layout as L
from .book.excel import ExcelBook
from .demo import make_demo

REPO = Path(__file__).resolve().parents[1]


def _checks(book: ExcelBook) -> dict[str, bool]:
    inputs = actions.load(book)
    due = book.read_table(L.T_CUSTOMERS)[inputs.ledger_headers.header_of("due")]
    agenda = book.sheet_by_codename(L.AGENDA).range("A1:A4").value
    return {"due dates written": bool(due.notna().any()), "agenda written": bool(agenda and agenda[0])}


def run(source: Path | None = None) -> int:
    import xlwings as xw

    report: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smoke.xlsm"
        if source:
            shutil.copy(source, path)
        else:
            make_demo(path, customers=60)
        app = xw.App(visible=False)
        try:
            wb = app.books.open(str(path))
            book = ExcelBook(wb)
            steps = [
                ("refresh", lambda: actions.refresh(book)),
                ("check", lambda: actions.check(book)),
                ("weekly plan", lambda: actions.weekly_plan(book)),
                ("new customer ids", lambda: actions.new_customer_ids(book)),
                ("log contact", lambda: actions.log_contact(
                    book, str(book.read_table(L.T_CUSTOMERS).iloc[0, 0]), "phone", "no")),
                ("results", lambda: _checks(book)),
                ("save + manager copy", lambda: (wb.save(), export.manager_copy(path))),
                ("UDF FU_WORKDAY", lambda: _udf(wb)),
            ]
            for name, step in steps:
                try:
                    result = step()
                    ok = all(result.values()) if isinstance(result, dict) else True
                    report.append((name, "ok" if ok else f"FAILED {result}"))
                except Exception:  # noqa: BLE001 - a smoke test reports every failure
                    report.append((name, "FAILED\n" + traceback.format_exc()))
            wb.close()
        finally:
            app.quit()
    width = max(len(n) for n, _ in report)
    for name, status in report:
        print(f"{name:<{width}}  {status}")
    return 0 if all(s == "ok" for _, s in report) else 1


def _udf(wb) -> dict[str, bool]:
    sheet = wb.sheets.add("smoke")
    sheet["A1"].value = dt.date(2026, 2, 13)
    sheet["B1"].formula = "=FU_WORKDAY(A1,1)"
    value = sheet["B1"].value
    return {"FU_WORKDAY knows the 2026-02-14 make-up Saturday": value is not None and
            value.date() == dt.date(2026, 2, 14)}


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
