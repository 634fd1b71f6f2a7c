"""Worksheet functions on the in-memory stand-in of a live workbook: whole columns in, columns out,
on the team calendar and the workbook's own Rules."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from pyxl import udfs
from pyxl.book import layout as L
from pyxl.build.workbook import build_workbook

import xlwings_standin as xs


def _caller(path):
    book = xs.Book(path)
    return SimpleNamespace(sheet=SimpleNamespace(book=book)), book


def test_workday_knows_makeup_saturdays_and_holidays(tmp_path):
    caller, _ = _caller(build_workbook(tmp_path / "b.xlsm"))
    got = udfs.FU_WORKDAY([dt.date(2026, 2, 13), dt.date(2026, 9, 30), dt.date(2026, 12, 31)], 1, caller=caller)
    assert got == [[dt.date(2026, 2, 14)], [dt.date(2026, 10, 8)], [dt.date(2027, 1, 4)]]
    counts = udfs.FU_NETWORKDAYS([dt.date(2026, 10, 1)], [dt.date(2026, 10, 11)], caller=caller)
    assert counts == [[3]]  # Oct 8 (Thu), Oct 9 (Fri) and the make-up Saturday Oct 10


def test_due_earliest_status_use_the_workbooks_rules(tmp_path):
    caller, book = _caller(build_workbook(tmp_path / "b.xlsm"))
    tiers, last = ["重3", "4N", "9", "xx"], [dt.date(2026, 11, 20)] * 4
    due = udfs.FU_DUE(tiers, last, None, caller=caller)
    assert due[0] == [dt.date(2026, 11, 25)] and due[1] == [dt.date(2026, 12, 10)]
    assert due[2] == [None] and due[3] == [None]
    assert udfs.FU_EARLIEST(tiers, last, None, caller=caller)[0] == [dt.date(2026, 11, 23)]
    rules = book.sheet(L.RULES)
    max_col = next(c for c in range(1, 30) if rules.read(1, c) == "最长间隔")
    rules.write(5, max_col, 10)  # 3K is row 5: the team lengthens its maximum interval
    assert udfs.FU_DUE(tiers, last, None, caller=caller)[0] == [dt.date(2026, 12, 4)]
    assert udfs.FU_STATUS(["重3"], [dt.date(2020, 1, 1)], None, caller=caller) == [["逾期"]]


def test_a_whole_sheet_column_gets_a_clear_error(tmp_path):
    import pytest

    caller, _ = _caller(build_workbook(tmp_path / "b.xlsm"))
    with pytest.raises(ValueError, match="not a whole sheet column"):
        udfs.FU_WORKDAY([None] * udfs.WHOLE_COLUMN, 1, caller=caller)
