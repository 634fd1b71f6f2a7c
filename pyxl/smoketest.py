"""Smoke test for maintainers with Excel (Windows/macOS): ``python -m pyxl.smoketest [BOOK]``.

Copies the workbook (a 60-customer demo by default) to a temporary folder, opens it in Excel through
xlwings, marks it as the caller (``Book.set_mock_caller``, so ``xw.Book.caller()`` in ``pyxl.macros`` returns
it as under RunPython) and presses every ribbon button's Python entry point in turn, then imports the
worksheet functions and evaluates one. Message boxes are recorded instead of shown. Nothing in the
repository is modified.

Report (paste it into an issue as it is)::

    followup smoke test | <platform> | Excel <version> | xlwings <version> | python <version>
    <step>               <ok|FAILED>  <seconds>s  <detail: the alert's title, a check, or the error>
    ...
    result: <n> ok, <m> failed

A FAILED line is followed by the indented traceback. The exit status is the number of failed steps.
"""
from __future__ import annotations

import datetime as dt
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import macros
from .book import layout as L
from .book.excel import ExcelBook
from .demo import make_demo

Step = tuple[str, Callable[[], str]]


def _steps(wb, alerts: list[tuple[str, str]]) -> list[Step]:
    import xlwings as xw

    book = ExcelBook(wb)

    def pressed(entry: Callable[[], None], title: str) -> Callable[[], str]:
        def run() -> str:
            before = len(alerts)
            entry()
            shown = alerts[before:]
            refused = [t for t, mode in shown if mode == "critical"]  # a refusal (macros._entry_point)
            if refused or title not in [t for t, _ in shown]:
                raise AssertionError(f"expected the {title!r} message, got {shown}")
            return f"message {title!r}"
        return run

    def log_contact() -> str:
        customers = book.sheet_by_codename(L.CUSTOMERS)
        form = book.sheet_by_codename(L.FORM)
        form.range("B1:B6").number_format = "@"  # as the VBA form writes its answers
        form.range("B1:B6").options(transpose=True).value = ["phone", "no", "considering", "", "=smoke test", "no"]
        customers.activate()
        customers.range("C2").select()
        wanted = str(customers.range("A2").value)
        pressed(macros.log_contact, "Log")()
        log = book.sheet_by_codename(L.CONTACTS)
        last = log.range("A1").end("down").row
        got = log.range((last, 2)).value
        if got != wanted:
            raise AssertionError(f"logged {got!r}, the selected row is {wanted!r}")
        return f"logged {got} with the note kept as text"

    def udf() -> str:
        wb.macro("ImportPythonUDFs")()  # needs "Trust access to the VBA project object model" on Windows
        sheet = wb.sheets.add("smoke")
        sheet["A1"].value = dt.date(2026, 2, 13)
        sheet["B1"].number_format = "yyyy-mm-dd"
        sheet["B1"].formula = "=FU_WORKDAY(A1,1,tblSettings)"  # the team calendar comes in as an argument
        value = sheet["B1"].value
        if not (isinstance(value, dt.datetime) and value.date() == dt.date(2026, 2, 14)):
            raise AssertionError(f"FU_WORKDAY(2026-02-13, 1) gave {value!r}, want the make-up Saturday 2026-02-14")
        return "FU_WORKDAY knows the 2026-02-14 make-up Saturday"

    def show_help() -> str:
        opened: list[str] = []
        browser, macros.webbrowser.open = macros.webbrowser.open, opened.append
        try:
            macros.show_help()
        finally:
            macros.webbrowser.open = browser
        if not (opened and Path(opened[0].removeprefix("file://")).name == "excel.md"):
            raise AssertionError(f"opened {opened}")
        return opened[0]

    return [
        ("help", show_help),
        ("refresh", pressed(macros.refresh, "Refresh")),
        ("check tiers", pressed(macros.check_tiers, "Check")),
        ("weekly plan", pressed(macros.weekly_plan, "Plan")),
        ("new customer ids", pressed(macros.new_customer_ids, "IDs")),
        ("log contact", log_contact),
        ("end of day", pressed(macros.end_of_day, "End of day")),
        ("manager copy", pressed(macros.manager_copy, "Manager copy")),
        ("doctor", pressed(macros.doctor, "Doctor")),
        ("worksheet functions", udf),
        ("caller", lambda: f"xw.Book.caller() is {xw.Book.caller().name}"),
    ]


def run(source: Path | None = None) -> int:
    import xlwings as xw

    alerts: list[tuple[str, str]] = []  # (title, mode) of each alert
    lines: list[str] = []
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smoke.xlsm"
        if source:
            shutil.copy(source, path)
        else:
            make_demo(path, customers=60)
        app = xw.App(visible=False)
        original_alert = xw.App.alert
        xw.App.alert = lambda self, prompt, title=None, mode=None, **kw: alerts.append((title, mode))  # no dialogs
        try:
            wb = app.books.open(str(path))
            wb.set_mock_caller()
            print(f"followup smoke test | {platform.platform()} | Excel {app.version} | xlwings {xw.__version__} | "
                  f"python {platform.python_version()}")
            for name, step in _steps(wb, alerts):
                start = time.perf_counter()
                try:
                    detail, status = step(), "ok"
                except Exception as exc:  # noqa: BLE001 - a smoke test reports every failure
                    detail, status = f"{type(exc).__name__}: {exc}", "FAILED"
                    failed += 1
                    detail += "\n" + "".join("    " + line for line in traceback.format_exc().splitlines(True))
                lines.append(f"{name:<20} {status:<6} {time.perf_counter() - start:6.1f}s  {detail}")
                print(lines[-1])
            wb.close()
        finally:
            xw.App.alert = original_alert
            app.quit()
    print(f"result: {len(lines) - failed} ok, {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
