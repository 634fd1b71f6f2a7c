"""The weekly plan on real built workbooks: capacity, holidays, make-up Saturdays, agreed dates, Earliest,
nothing silently dropped, independent of row order."""
from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.core import engine, planning
from pyxl.demo import make_demo


def _plan(path: Path, week: str, today: dt.date):
    book = WorkbookPackage.open(path)
    outcome, plan = actions.weekly_plan(book, week, today)
    book.save(backup=False)
    inputs = actions.load(WorkbookPackage.open(path))
    result = engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, today)
    return plan, result, inputs


@pytest.fixture(scope="module")
def spring_festival(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sf") / "sf.xlsm"
    make_demo(path, customers=150, today=dt.date(2026, 2, 9))
    return path


def test_holidays_skipped_and_makeup_saturday_used(spring_festival, tmp_path):
    path = Path(shutil.copy(spring_festival, tmp_path / "b.xlsm"))
    plan, result, inputs = _plan(path, "2026-W07", dt.date(2026, 2, 9))
    days = set(pd.to_datetime(plan.entries["date"]).dt.date)
    assert dt.date(2026, 2, 14) in days  # the make-up Saturday before Spring Festival
    assert not days & {dt.date(2026, 2, 15)}
    cal = inputs.calendar
    assert cal.is_workday(sorted(days)).all()


def test_national_day_week_has_no_touch_on_a_holiday(tmp_path):
    path = tmp_path / "nd.xlsm"
    make_demo(path, customers=80, today=dt.date(2026, 9, 28))
    plan, _, _ = _plan(path, "2026-W40", dt.date(2026, 9, 28))
    days = set(pd.to_datetime(plan.entries["date"]).dt.date)
    assert days and days <= {dt.date(2026, 9, 28), dt.date(2026, 9, 29), dt.date(2026, 9, 30)}


def test_capacity_earliest_agreed_and_nothing_dropped(demo_book):
    today = dt.date(2026, 11, 23)
    plan, result, inputs = _plan(demo_book, "2026-W48", today)
    work = plan.entries[plan.entries["reason"].isin(["due", "overdue", "every workday", "payment chase", "in window",
                                                     "agreed"])]
    per_day = work.groupby(["owner", "date"]).size()
    capacity = plan.day_totals.set_index(["owner", "date"])["capacity"]
    fixed = plan.entries[plan.entries["reason"] == "agreed"].groupby(["owner", "date"]).size()
    assert (per_day - fixed.reindex(per_day.index, fill_value=0) <= capacity.reindex(per_day.index)).all()
    view = result.view.set_index("customer_id")
    entry_days = pd.to_datetime(work["date"]).dt.date.to_numpy()
    earliest = pd.to_datetime(view.loc[work["customer_id"], "earliest"]).dt.date.to_numpy()
    agreed = work["reason"].eq("agreed").to_numpy()
    assert all(d >= e for d, e, a in zip(entry_days, earliest, agreed) if not a and e == e)
    week_end = dt.date(2026, 11, 29)
    due = view[(pd.to_datetime(view["due"]).dt.date <= week_end) & view["status"].isin(["overdue", "due_today",
                                                                                         "in_window", "not_yet"])]
    placed = set(plan.entries["customer_id"]) | set(plan.unplaced["customer_id"])
    assert set(due.index) <= placed
    assert not plan.entries.duplicated(["customer_id", "date"]).any()


def test_plan_sheet_does_not_depend_on_row_order(tmp_path):
    today = dt.date(2026, 11, 23)
    a, b = tmp_path / "a.xlsm", tmp_path / "b.xlsm"
    make_demo(a, customers=60, today=today)
    shutil.copy(a, b)
    book = WorkbookPackage.open(b)  # rewrite the ledger in reverse row order
    ledger = book.read_table(L.T_CUSTOMERS)
    for column in ledger.columns:
        book.set_column_values(L.T_CUSTOMERS, column, dict(zip(ledger.index, ledger[column].iloc[::-1])))
    book.save(backup=False)
    for path in (a, b):
        book = WorkbookPackage.open(path)
        actions.weekly_plan(book, "2026-W48", today)
        book.save(backup=False)
    plan_part = WorkbookPackage.open(a).sheet_by_codename(L.PLAN).part
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.read(plan_part) == zb.read(plan_part)


@pytest.fixture(scope="module")
def abc_workbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("abc") / "abc.xlsm"
    make_demo(path, customers=60, lang="en", today=dt.date(2026, 11, 23), preset="abc")
    return path


def test_abc_workbook_plans_with_abc_blocks(abc_workbook, tmp_path):
    path = Path(shutil.copy(abc_workbook, tmp_path / "abc.xlsm"))
    plan, _, inputs = _plan(path, "2026-W48", dt.date(2026, 11, 23))
    blocks = planning.plan_settings(inputs.rules, inputs.settings, inputs.blocks).blocks
    assert [(b.label, b.tiers) for b in blocks] == [("Morning", ("A", "B")), ("Afternoon", ("C", "D", "X"))]
    assert len(plan.entries) and set(plan.entries["block"]) <= {"Morning", "Afternoon"}
    calls = plan.entries[plan.entries["preferred_time"].eq("") & plan.entries["reason"].isin(["due", "overdue"])]
    own = calls["block"].eq(calls["tier"].map({"A": "Morning", "B": "Morning"}).fillna("Afternoon"))
    assert own.mean() > 0.8  # blocks are soft: a full block spills into the other


def test_empty_blocks_table_gives_one_all_day_block_not_maturity_codes(abc_workbook, tmp_path):
    path = Path(shutil.copy(abc_workbook, tmp_path / "abc.xlsm"))
    book = WorkbookPackage.open(path)
    table = book.read_table(L.T_BLOCKS)
    for column in table.columns:
        book.set_column_values(L.T_BLOCKS, column, {row: None for row in table.index})
    book.save(backup=False)
    plan, _, inputs = _plan(path, "2026-W48", dt.date(2026, 11, 23))
    assert planning.blocks_from_table(inputs.blocks) == ()
    [block] = planning.plan_settings(inputs.rules, inputs.settings, inputs.blocks).blocks
    assert block == planning.day_block("en") and block.tiers == () and block.label == "All day"
    assert len(plan.entries) and set(plan.entries["block"]) == {"All day"}
    assert (plan.entries["start"] >= pd.to_datetime(plan.entries["date"]) + pd.Timedelta(hours=9)).all()
