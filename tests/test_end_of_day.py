"""End of day: the report's counts equal the log's, and carried-over customers reappear tomorrow."""
from __future__ import annotations

import datetime as dt

import openpyxl
from typer.testing import CliRunner

from pyxl import actions
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app

from conftest import TODAY

runner = CliRunner()


def _sheet(path, name) -> list[list]:
    return [list(r) for r in openpyxl.load_workbook(path)[name].iter_rows(values_only=True)]


def test_report_counts_equal_the_log_and_carry_over(demo_book):
    book = WorkbookPackage.open(demo_book)
    agenda = [r for r in _sheet(demo_book, "今日")[4:] if r and isinstance(r[0], int)]
    reached, missed = agenda[0][3], agenda[1][3]
    when = dt.datetime.combine(TODAY, dt.time(10))
    actions.log_contact(book, reached, "电话", "是", "有进展", when=when, today=TODAY)
    book.save(backup=False)
    for hour in (11, 15):
        book = WorkbookPackage.open(demo_book)
        actions.log_contact(book, missed, "电话", "否", when=when.replace(hour=hour), today=TODAY)
        book.save(backup=False)
    result = runner.invoke(app, ["endofday", str(demo_book), "--today", str(TODAY)])
    assert result.exit_code == 0, result.output
    report = _sheet(demo_book, "日报")
    figures = {r[0]: r[1] for r in report if r and r[0]}
    assert figures["今日联系次数"] == 3
    assert figures["有效联系"] == 1
    assert figures["新增重点客户"] == 0
    outcomes = {r[0]: r[1] for r in report if r and r[0] in ("有进展", "未接通")}
    assert outcomes == {"有进展": 1, "未接通": 2}
    text = "\n".join(str(c) for r in report for c in r if c)
    carried_at = next(i for i, r in enumerate(report) if r and str(r[0]).startswith("计划内未联系上"))
    tomorrow_at = next(i for i, r in enumerate(report) if r and str(r[0]).startswith("明天"))
    carried = {r[1] for r in report[carried_at + 2:tomorrow_at] if r and r[1]}
    assert missed in carried and reached not in carried
    tomorrow = dt.date(2026, 11, 24)
    assert "2026-11-24" in text
    book = WorkbookPackage.open(demo_book)
    actions.refresh(book, tomorrow)
    book.save(backup=False)
    next_agenda = {r[3] for r in _sheet(demo_book, "今日")[4:] if r and isinstance(r[0], int)}
    assert missed in next_agenda
