"""Manager views (domain.md §6) over a small team whose figures are worked out by hand.

Today is Thu 2026-03-12; the week runs Mon Mar 9 .. Sun Mar 15 and has 4 working days so far.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pyxl.core import engine, reports
from pyxl.core.calendar import TeamCalendar
from pyxl.core.rules import preset_rules
from pyxl.core.settings import Settings

D = dt.date
T = dt.datetime
TODAY = D(2026, 3, 12)
MAT = preset_rules("maturity")
CAL = TeamCalendar("CN")

LEDGER = pd.DataFrame([
    # 3K, Mar 2 + 1..3 working days -> due Thu Mar 5: overdue
    {"customer_id": "JRN01001", "name": "甲", "owner": "张伟", "tier": "3K", "kp": "是", "last_contact": D(2026, 3, 2)},
    # 3N, Mon Mar 9 + 2..5 -> Wed 11 .. Mon 16: in window, not due this week
    {"customer_id": "JRN01002", "name": "乙", "owner": "张伟", "tier": "3N", "kp": "是", "last_contact": D(2026, 3, 9)},
    # 0, Wed Mar 11 + 1 -> due today
    {"customer_id": "JRN01003", "name": "丙", "owner": "张伟", "tier": "0", "kp": "否", "last_contact": D(2026, 3, 11)},
    # 1 since Mar 2: pay within 2 days -> late; logged deal today -> due Fri Mar 13 (this week), not yet
    {"customer_id": "JRN02001", "name": "丁", "owner": "李娜", "tier": "1", "kp": "是", "stage": "CR",
     "tier_since": D(2026, 3, 2), "last_contact": D(2026, 3, 11)},
    # 5, promoted to 3K by the log on Wed Mar 11 -> 1..3 working days: Thu 12 .. Mon 16, in window
    {"customer_id": "JRN02002", "name": "戊", "owner": "李娜", "tier": "5", "kp": "否", "last_contact": D(2026, 3, 1)},
], dtype=object, index=range(2, 7))

LOG = pd.DataFrame([
    {"when": T(2026, 2, 20, 10), "customer_id": "JRN02002", "reached": "是", "new_tier": "普4"},
    {"when": T(2026, 3, 6, 10), "customer_id": "JRN01002", "reached": "是", "outcome": "有进展"},
    {"when": T(2026, 3, 9, 10), "customer_id": "JRN01002", "reached": "是", "outcome": "有进展"},
    {"when": T(2026, 3, 10, 10), "customer_id": "JRN01003", "reached": "否"},
    {"when": T(2026, 3, 11, 10), "customer_id": "JRN02002", "reached": "是", "outcome": "有进展", "new_tier": "重3"},
    {"when": T(2026, 3, 12, 9), "customer_id": "JRN02001", "reached": "是", "outcome": "成交"},
], dtype=object)


@pytest.fixture(scope="module")
def board():
    result = engine.refresh(LEDGER, LOG, MAT, Settings(), TODAY, CAL)
    assert result.view["status"].tolist() == ["overdue", "in_window", "due_today", "not_yet", "in_window"]
    return reports.dashboard(result.view, result.log.touches, MAT, Settings(), CAL, TODAY)


def test_funnel(board):
    f = board.funnel.set_index("tier")
    assert f["customers"].to_dict() == {"0": 1, "1": 1, "2": 0, "3K": 2, "3N": 1, "4K": 0, "4N": 0, "5": 0, "6": 0,
                                        "7": 0, "9": 0}
    # target stock per owner x 2 owners
    assert f.at["3K", "target"] == 30 and f.at["3K", "shortfall"] == 28
    assert f.at["0", "target"] == 200 and f.at["1", "shortfall"] == 9
    assert list(f.index) == MAT.codes


def test_owners(board):
    o = board.owners.set_index("owner")
    assert o.loc["张伟"].to_dict() == {"customers": 3, "overdue": 1, "due_today": 1, "due_week": 1, "touches_week": 2,
                                      "effective_week": 1, "effective_target": 120, "new_key_week": 0,
                                      "payment_late": 0}
    assert o.loc["李娜"].to_dict() == {"customers": 2, "overdue": 0, "due_today": 0, "due_week": 1, "touches_week": 2,
                                      "effective_week": 2, "effective_target": 120, "new_key_week": 1,
                                      "payment_late": 1}


def test_per_day(board):
    p = board.per_day
    assert len(p) == 14 and p["date"].iloc[0] == np.datetime64("2026-02-27") and p["date"].iloc[-1] == np.datetime64(
        "2026-03-12")
    by_day = {str(pd.Timestamp(d).date()): (t, e) for d, t, e in zip(p["date"], p["touches"], p["effective"]) if t}
    assert by_day == {"2026-03-06": (1, 1), "2026-03-09": (1, 1), "2026-03-10": (1, 0), "2026-03-11": (1, 1),
                      "2026-03-12": (1, 1)}


def test_weekly(board):
    w = board.weekly.set_index("metric")
    assert w.at["customers", "value"] == 5 and w.at["touches", "value"] == 4
    assert w.at["effective", "value"] == 3 and w.at["effective", "target"] == 120 and w.at["effective", "met"] is False
    assert w.at["effective_rate", "value"] == pytest.approx(0.75)
    assert w.at["new_key", "value"] == 1 and w.at["new_key", "target"] == 12
    assert w.at["deals", "value"] == 1 and w.at["deal_rate", "value"] == pytest.approx(1 / 3)
    assert w.at["overdue", "value"] == 1 and w.at["overdue", "met"] is False
    assert w.at["payment_late", "value"] == 1 and w.at["payment_late", "met"] is False
    assert w.at["touches", "met"] is None
    assert pd.isna(w.at["collected", "value"]) and pd.isna(w.at["competitor_news", "value"])  # never used: blank


def test_conversions_from_the_old_tier_the_log_recorded():
    touches = pd.DataFrame({"customer_id": ["a", "a"], "new_tier": ["4N", "3K"], "old_tier": ["5", None],
                            "when": pd.to_datetime(["2026-03-02", "2026-03-10"]),
                            "day": np.array(["2026-03-02", "2026-03-10"], dtype="datetime64[D]")})
    out = reports.conversions(touches, TODAY)
    assert sorted(map(tuple, out[["from_tier", "to_tier"]].values.tolist())) == [("4N", "3K"), ("5", "4N")]


def test_conversions_use_tier_codes(board):
    rows = {(r["from_tier"], r["to_tier"]): r["count"] for r in board.conversions.to_dict("records")}
    assert rows == {("–", "4N"): 1, ("4N", "3K"): 1}


def test_conversions_window_is_four_weeks():
    touches = pd.DataFrame({"customer_id": ["a", "a", "b"], "new_tier": ["4N", "3K", "3K"], "old_tier": None,
                            "when": pd.to_datetime(["2026-01-05", "2026-02-13", "2026-02-11"]),
                            "day": np.array(["2026-01-05", "2026-02-13", "2026-02-11"], dtype="datetime64[D]")})
    out = reports.conversions(touches, TODAY)  # since Feb 12
    assert out[["from_tier", "to_tier", "count"]].values.tolist() == [["4N", "3K", 1]]


def test_empty_team():
    result = engine.refresh(pd.DataFrame(), pd.DataFrame(), MAT, Settings(), TODAY, CAL)
    b = reports.dashboard(result.view, result.log.touches, MAT, Settings(), CAL, TODAY)
    assert b.funnel["customers"].sum() == 0 and b.owners.empty and b.per_day["touches"].sum() == 0
    assert b.weekly.set_index("metric").at["effective_rate", "value"] == 0.0
