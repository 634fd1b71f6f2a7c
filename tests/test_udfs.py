"""Worksheet functions on arguments read from the in-memory stand-in of a live workbook, as xlwings hands them
over (numbers as float, dates as datetime): whole columns in, columns out, on the team calendar and the
Rules passed in — and nothing read from the workbook while Excel calculates."""
from __future__ import annotations

import datetime as dt
import inspect

import pytest

import xlwings_standin as xs
from pyxl import udfs
from pyxl.book import layout as L
from pyxl.build.workbook import build_workbook

FUNCTIONS = (udfs.FU_DUE, udfs.FU_EARLIEST, udfs.FU_STATUS, udfs.FU_WORKDAY, udfs.FU_NETWORKDAYS)
AS_OF = dt.datetime(2026, 11, 23)


def _table(book: xs.Book, name: str, header: bool = False) -> list[list]:
    """What xlwings passes for ``name`` (the body) or ``name[#All]`` (header and body) with ndim=2."""
    table = next(t for s in book.sheets for t in s.tables if t.name == name)
    rows = table.header_row_range.options(ndim=2).value if header else []
    return rows + (table.data_body_range.options(ndim=2).value if table.data_body_range is not None else [])


def _args(book: xs.Book) -> dict:
    return {"rules": _table(book, L.T_RULES, header=True), "settings": _table(book, L.T_SETTINGS),
            "holidays": _table(book, L.T_HOLIDAYS), "workdays": _table(book, L.T_WORKDAYS)}


@pytest.fixture
def book(tmp_path) -> xs.Book:
    return xs.Book(build_workbook(tmp_path / "b.xlsm"))


def test_workday_knows_makeup_saturdays_holidays_and_the_team_days_passed_in(book):
    settings = _table(book, L.T_SETTINGS)
    days = [dt.datetime(2026, 2, 13), dt.datetime(2026, 9, 30), dt.datetime(2026, 12, 31)]
    assert udfs.FU_WORKDAY(days, 1, settings) == [[dt.date(2026, 2, 14)], [dt.date(2026, 10, 8)], [dt.date(2027, 1, 4)]]
    counts = udfs.FU_NETWORKDAYS([dt.datetime(2026, 10, 1)], [dt.datetime(2026, 10, 11)], settings)
    assert counts == [[3]]  # Oct 8 (Thu), Oct 9 (Fri) and the make-up Saturday Oct 10
    # a team holiday typed into the Holidays table reaches the function as its argument
    assert udfs.FU_WORKDAY(days[:1], 1, settings, [[dt.datetime(2026, 2, 14)]]) == [[dt.date(2026, 2, 24)]]


def test_due_earliest_status_follow_the_rules_and_the_day_passed_in(book):
    args = _args(book)
    tiers, last, agreed = ["重3", "4N", "9", "xx"], [dt.datetime(2026, 11, 20)] * 4, [None] * 4
    due = udfs.FU_DUE(tiers, last, agreed, **args, as_of=AS_OF)
    assert due[0] == [dt.date(2026, 11, 25)] and due[1] == [dt.date(2026, 12, 10)]
    assert due[2] == [None] and due[3] == [None]
    assert udfs.FU_EARLIEST(tiers, last, agreed, **args, as_of=AS_OF)[0] == [dt.date(2026, 11, 23)]
    rules = book.sheet(L.RULES)
    max_col = next(c for c in range(1, 30) if rules.read(1, c) == "最长间隔")
    rules.write(5, max_col, 10)  # 3K is row 5: the team lengthens its maximum interval
    changed = _args(book)  # Excel hands the edited table over again: the result follows it
    assert udfs.FU_DUE(tiers, last, agreed, **changed, as_of=AS_OF)[0] == [dt.date(2026, 12, 4)]
    assert udfs.FU_DUE(tiers, last, agreed, **args, as_of=AS_OF)[0] == [dt.date(2026, 11, 25)]
    status = lambda day: udfs.FU_STATUS(["重3"], [dt.datetime(2026, 11, 20)], [None], **args, as_of=day)  # noqa: E731
    assert status(dt.datetime(2026, 11, 21)) == [["未到期"]] and status(AS_OF) == [["可跟进"]]
    assert status(dt.datetime(2026, 12, 1)) == [["逾期"]]


def test_functions_never_read_the_workbook(book):
    """No caller argument (xlwings passes one only to a function that names it) and no Excel round-trip."""
    assert all("caller" not in inspect.signature(f).parameters for f in FUNCTIONS)
    args = _args(book)
    xs.Calls.count = 0
    udfs.FU_STATUS(["重3"], [AS_OF], [None], **args, as_of=AS_OF)
    udfs.FU_WORKDAY([AS_OF], 1, args["settings"])
    assert xs.Calls.count == 0


def test_a_whole_sheet_column_or_a_rules_table_without_header_gets_a_clear_error(book):
    args = _args(book)
    with pytest.raises(ValueError, match="dates: .*not a whole sheet column"):
        udfs.FU_WORKDAY([None] * udfs.WHOLE_COLUMN, 1, args["settings"])
    with pytest.raises(ValueError, match="settings: .*not a whole sheet column"):
        udfs.FU_WORKDAY([AS_OF], 1, [[None, None]] * udfs.WHOLE_COLUMN)
    with pytest.raises(ValueError, match=r"tblRules\[#All\]"):
        udfs.FU_DUE(["重3"], [AS_OF], [None], args["rules"][1:], args["settings"])


def test_with_the_stage_table_and_column_due_is_the_earlier_of_tier_and_stage_as_a_refresh(tmp_path):
    """Preset pipeline: tier P every 1–5 working days; stages 商务谈判 1, 方案演示 (alias 演示) 2, FIRST 3. From
    Thu 12 Feb 2026 the working days are Fri 13, make-up Sat 14, (Spring Festival 15–23) Tue 24, Wed 25, Thu 26."""
    book = xs.Book(build_workbook(tmp_path / "p.xlsm", "zh-CN", "pipeline"))
    args = {**_args(book), "stage_rules": _table(book, L.T_STAGES, header=True)}
    rows = (["P"] * 4, [dt.datetime(2026, 2, 12)] * 4, [None] * 4)
    stages = ["商务谈判", "演示", "FIRST", None]
    due = udfs.FU_DUE(*rows, **args, as_of=AS_OF, stages=stages)
    assert due == [[dt.date(2026, 2, 13)], [dt.date(2026, 2, 14)], [dt.date(2026, 2, 24)], [dt.date(2026, 2, 26)]]
    assert udfs.FU_EARLIEST(*rows, **args, as_of=AS_OF, stages=stages) == [[dt.date(2026, 2, 13)]] * 4
    # Sun 15 Feb: 商务谈判 missed Fri 13 and Sat 14 (overdue), the tier alone is in its window
    on_sunday = udfs.FU_STATUS(*rows, **args, as_of=dt.datetime(2026, 2, 15), stages=stages)
    assert on_sunday == [["逾期"], ["逾期"], ["可跟进"], ["可跟进"]]
    without = {k: v for k, v in args.items() if k != "stage_rules"}
    assert udfs.FU_DUE(*rows, **without, as_of=AS_OF) == [[dt.date(2026, 2, 26)]] * 4  # tier cadence only
    with pytest.raises(ValueError, match="stage_rules and stages go together"):
        udfs.FU_DUE(*rows, **without, as_of=AS_OF, stages=stages)
