"""Holiday greetings come from the calendar for the tiers the Rules parameter names."""
from __future__ import annotations

import datetime as dt

from pyxl import actions
from pyxl.book.xlsx import WorkbookPackage
from pyxl.demo import make_demo


def test_greetings_before_national_day_for_the_named_tiers(tmp_path):
    path = tmp_path / "g.xlsm"
    make_demo(path, customers=120, today=dt.date(2026, 9, 28))
    _, plan = actions.weekly_plan(WorkbookPackage.open(path), "2026-W40", dt.date(2026, 9, 28))
    greeted = plan.entries[plan.entries["greeting"].astype(str).str.contains("holiday", na=False)
                           | plan.entries["reason"].eq("holiday greeting")]
    assert len(greeted) > 0
    assert set(greeted["tier"]) <= {"1", "2", "3K", "3N", "6", "7"}
    assert set(greeted["date"].astype(str).str[:10]) == {"2026-09-30"}  # the working day before Oct 1
