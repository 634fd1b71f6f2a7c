"""Earliest / Due / Status (domain.md §2c) for every cadence unit, on the official 2026 China calendar.

Working days used below (hand-checked): Spring Festival Feb 15–23 off with make-up Sat Feb 14 and Sat Feb 28;
National Day Oct 1–7 off with make-up Sun Sep 20 and Sat Oct 10; Mid-Autumn Fri Sep 25 off; Jan 1 2027 (Fri) off.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from pyxl.core import cadence
from pyxl.core.calendar import TeamCalendar, to_date
from pyxl.core.rules import preset_rules, preset_table, rules_from_table

D = dt.date
CAL = TeamCalendar("CN")
MAT = preset_rules("maturity")
ABC = preset_rules("abc")


def custom(unit: str, lo, hi, factor=2) -> pd.DataFrame:
    """A one-tier table 'T' with the given cadence."""
    table = pd.DataFrame([{"code": "T", "name": "T", "min": lo, "max": hi, "unit": unit, "refusal_factor": factor}])
    rules = rules_from_table(table, {})
    assert not rules.problems
    return rules.tiers


def arr(*values) -> np.ndarray:
    return np.array([np.datetime64(v, "D") if v else np.datetime64("NaT", "D") for v in values])


def run(tiers, tier, last=None, agreed=None, assigned=None, today=D(2026, 3, 10), slow=1.0) -> dict:
    out = cadence.schedule(tiers, pd.Series([tier], dtype="string"), arr(last), arr(agreed), arr(assigned),
                           np.array([slow]), CAL, today)
    return {"earliest": to_date(out["earliest"].to_numpy("datetime64[D]")[0]),
            "due": to_date(out["due"].to_numpy("datetime64[D]")[0]),
            "status": out["status"].iloc[0], "days_overdue": int(out["days_overdue"].iloc[0])}


# ---------------------------------------------------------------- every unit
@pytest.mark.parametrize("tiers, tier, last, earliest, due", [
    # workdays: 3N = 2–5 working days. Thu Feb 12 -> Fri 13, Sat 14 (make-up) | Tue 24, Wed 25, Thu 26
    (MAT.tiers, "3N", D(2026, 2, 12), D(2026, 2, 14), D(2026, 2, 26)),
    # 3K = 1–3: Wed Sep 30 -> Thu Oct 8 | Oct 8, 9, Sat Oct 10 (make-up)
    (MAT.tiers, "3K", D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 10)),
    # 4N = 8–14 from Mon Mar 2: 8th working day Wed Mar 12? Mar 3,4,5,6,9,10,11,12 -> Thu Mar 12; 14th: Mar 20
    (MAT.tiers, "4N", D(2026, 3, 2), D(2026, 3, 12), D(2026, 3, 20)),
    # class 0 = every working day, across the year end: Thu Dec 31 2026 -> Mon Jan 4 2027
    (MAT.tiers, "0", D(2026, 12, 31), D(2027, 1, 4), D(2027, 1, 4)),
    # days: class 5 = 14–30 days. Thu Sep 17 + 14 = Oct 1 (holiday) -> Oct 8; + 30 = Sat Oct 17 -> Mon Oct 19
    (MAT.tiers, "5", D(2026, 9, 17), D(2026, 10, 8), D(2026, 10, 19)),
    # days into the Spring Festival: Tue Jan 27 + 14 = Feb 10; + 30 = Thu Feb 26
    (MAT.tiers, "7", D(2026, 1, 27), D(2026, 2, 10), D(2026, 2, 26)),
    # days landing on the make-up Saturday stay there: Sat Jan 31 + 14 = Sat Feb 14
    (MAT.tiers, "6", D(2026, 1, 31), D(2026, 2, 14), D(2026, 3, 2)),
    # ABC B = 7–15 days: Wed Dec 24 2025 + 7 = Dec 31; + 15 = Fri Jan 8 2026
    (ABC.tiers, "B", D(2025, 12, 24), D(2025, 12, 31), D(2026, 1, 8)),
    # months: ABC X = 1–3 months, month-end clipped. Aug 31 + 1 = Sep 30 (Wed); + 3 = Nov 30 (Mon)
    (ABC.tiers, "X", D(2026, 8, 31), D(2026, 9, 30), D(2026, 11, 30)),
    # months: Jan 31 + 1 = Feb 28 (a make-up Saturday, so it stays); + 3 = Apr 30 (Thu)
    (ABC.tiers, "X", D(2026, 1, 31), D(2026, 2, 28), D(2026, 4, 30)),
    # months across the year end: Nov 30 + 1 = Wed Dec 30; + 3 = Sun Feb 28 2027 -> Mon Mar 1 2027
    (ABC.tiers, "X", D(2026, 11, 30), D(2026, 12, 30), D(2027, 3, 1)),
])
def test_units(tiers, tier, last, earliest, due):
    got = run(tiers, tier, last=last, today=last)
    assert (got["earliest"], got["due"]) == (earliest, due)


def test_weeks_unit():
    tiers = custom("weeks", 1, 3)
    # Thu Sep 24 + 1 week = Oct 1 (National Day) -> Oct 8; + 3 weeks = Thu Oct 15
    got = run(tiers, "T", last=D(2026, 9, 24), today=D(2026, 9, 24))
    assert (got["earliest"], got["due"]) == (D(2026, 10, 8), D(2026, 10, 15))


def test_month_end_clipping_then_rolled_to_a_working_day():
    tiers = custom("months", 2, 2)
    # Mar 31 + 2 months = May 31, a Sunday -> Mon Jun 1
    got = run(tiers, "T", last=D(2026, 3, 31), today=D(2026, 3, 31))
    assert got["due"] == D(2026, 6, 1)


def test_days_unit_year_boundary():
    tiers = custom("days", 1, 1)
    # Dec 31 2026 + 1 day = Jan 1 2027 (holiday) -> Sat 2, Sun 3 -> Mon Jan 4
    assert run(tiers, "T", last=D(2026, 12, 31), today=D(2026, 12, 31))["due"] == D(2027, 1, 4)
    # Dec 31 2025 + 1 day = Jan 1 2026 -> Jan 2, 3 off -> Sun Jan 4 2026 (make-up workday)
    assert run(tiers, "T", last=D(2025, 12, 31), today=D(2025, 12, 31))["due"] == D(2026, 1, 4)


def test_none_unit_means_no_follow_up():
    got = run(MAT.tiers, "9", last=D(2026, 3, 2))
    assert got == {"earliest": None, "due": None, "status": "no_follow_up", "days_overdue": 0}
    # never contacted, still no follow-up
    assert run(MAT.tiers, "9")["status"] == "no_follow_up"


def test_team_extra_days_move_due_dates():
    cal = TeamCalendar("CN", extra_holidays=[D(2026, 3, 9)], extra_workdays=[D(2026, 3, 7)])
    out = cadence.schedule(MAT.tiers, pd.Series(["3K"], dtype="string"), arr(D(2026, 3, 5)), arr(None),
                           arr(None), np.array([1.0]), cal, D(2026, 3, 5))
    # Thu Mar 5 -> Fri 6, Sat 7 (team workday), Mon 9 is a team holiday -> Tue 10
    assert to_date(out["due"].to_numpy("datetime64[D]")[0]) == D(2026, 3, 10)


# ---------------------------------------------------------------- status and days overdue
@pytest.mark.parametrize("today, status, late", [
    (D(2026, 2, 12), "not_yet", 0),
    (D(2026, 2, 13), "not_yet", 0),
    (D(2026, 2, 14), "in_window", 0),   # earliest (make-up Saturday)
    (D(2026, 2, 20), "in_window", 0),   # inside the holiday
    (D(2026, 2, 25), "in_window", 0),
    (D(2026, 2, 26), "due_today", 0),
    (D(2026, 2, 27), "overdue", 1),
    (D(2026, 3, 2), "overdue", 3),      # working days: Fri 27, make-up Sat 28, Mon 2
])
def test_status_over_time(today, status, late):
    got = run(MAT.tiers, "3N", last=D(2026, 2, 12), today=today)
    assert (got["status"], got["days_overdue"]) == (status, late)


@pytest.mark.parametrize("tier, last, today, status, late", [
    # a normal weekend: 3N from Fri Nov 13 is due Fri Nov 20 (Nov 16–20 = 5 working days)
    ("3N", D(2026, 11, 13), D(2026, 11, 20), "due_today", 0),
    ("3N", D(2026, 11, 13), D(2026, 11, 21), "overdue", 1),   # Sat: Friday missed
    ("3N", D(2026, 11, 13), D(2026, 11, 22), "overdue", 1),   # Sun
    ("3N", D(2026, 11, 13), D(2026, 11, 23), "overdue", 1),   # Mon: still Friday only
    ("3N", D(2026, 11, 13), D(2026, 11, 24), "overdue", 2),   # Tue: Fri 20, Mon 23
    # National Day: class 0 (every working day) from Tue Sep 29 is due Wed Sep 30
    ("0", D(2026, 9, 29), D(2026, 10, 1), "overdue", 1),      # holiday: Sep 30 missed
    ("0", D(2026, 9, 29), D(2026, 10, 7), "overdue", 1),
    ("0", D(2026, 9, 29), D(2026, 10, 8), "overdue", 1),      # first working day after the holiday
    ("0", D(2026, 9, 29), D(2026, 10, 10), "overdue", 3),     # make-up Sat: Sep 30, Oct 8, 9
    ("0", D(2026, 9, 29), D(2026, 10, 11), "overdue", 4),     # Sun: the make-up Saturday counts too
    # Spring Festival: class 0 from Thu Feb 12 is due Fri Feb 13; Sat Feb 14 is a make-up working day
    ("0", D(2026, 2, 12), D(2026, 2, 14), "overdue", 1),      # Feb 13
    ("0", D(2026, 2, 12), D(2026, 2, 15), "overdue", 2),      # first holiday: Feb 13, 14
    ("0", D(2026, 2, 12), D(2026, 2, 23), "overdue", 2),      # last holiday
    ("0", D(2026, 2, 12), D(2026, 2, 24), "overdue", 2),      # back at work: the same two
])
def test_days_overdue_are_the_working_days_missed_and_overdue_means_at_least_one(tier, last, today, status, late):
    got = run(MAT.tiers, tier, last=last, today=today)
    assert (got["status"], got["days_overdue"]) == (status, late)


def test_assigned_on_a_non_working_day_is_due_on_the_next_working_day():
    # never contacted, assigned on Sun Nov 22 (or no assignment date and a refresh that Sunday): due Mon Nov 23
    got = [run(MAT.tiers, "0", assigned=D(2026, 11, 22), today=D(2026, 11, d)) for d in (22, 23, 24)]
    assert {g["due"] for g in got} == {D(2026, 11, 23)} == {run(MAT.tiers, "0", today=D(2026, 11, 22))["due"]}
    assert [(g["status"], g["days_overdue"]) for g in got] == [("not_yet", 0), ("due_today", 0), ("overdue", 1)]


def test_unknown_tier_gets_blank_status():
    got = cadence.schedule(MAT.tiers, pd.Series([pd.NA], dtype="string"), arr(D(2026, 3, 2)), arr(None),
                           arr(None), np.array([1.0]), CAL, D(2026, 3, 10))
    assert got["status"].iloc[0] == "" and pd.isna(got["due"].iloc[0])


# ---------------------------------------------------------------- agreed date
def test_agreed_date_later_than_last_contact_wins():
    got = run(MAT.tiers, "3N", last=D(2026, 3, 2), agreed=D(2026, 3, 20), today=D(2026, 3, 10))
    assert got["due"] == D(2026, 3, 20) and got["earliest"] == D(2026, 3, 4) and got["status"] == "in_window"


def test_agreed_date_before_earliest_pulls_earliest():
    got = run(MAT.tiers, "4N", last=D(2026, 3, 2), agreed=D(2026, 3, 3), today=D(2026, 3, 3))
    assert got["due"] == got["earliest"] == D(2026, 3, 3) and got["status"] == "due_today"


@pytest.mark.parametrize("agreed", [D(2026, 2, 27), D(2026, 3, 2)])
def test_stale_agreed_date_is_ignored(agreed):
    # Mon Mar 2 + 2..5 working days -> Wed Mar 4 .. Mon Mar 9
    got = run(MAT.tiers, "3N", last=D(2026, 3, 2), agreed=agreed, today=D(2026, 3, 10))
    assert (got["earliest"], got["due"], got["status"], got["days_overdue"]) == (
        D(2026, 3, 4), D(2026, 3, 9), "overdue", 1)


def test_agreed_date_for_a_never_contacted_customer():
    got = run(MAT.tiers, "0", agreed=D(2026, 3, 12), assigned=D(2026, 3, 1), today=D(2026, 3, 10))
    assert got["due"] == D(2026, 3, 12)


# ---------------------------------------------------------------- never contacted
def test_never_contacted_due_on_assignment_date():
    got = run(MAT.tiers, "0", assigned=D(2026, 3, 3), today=D(2026, 3, 10))
    assert got == {"earliest": D(2026, 3, 3), "due": D(2026, 3, 3), "status": "overdue",
                   "days_overdue": 5}  # working days: Mar 4-6, 9, 10


def test_never_contacted_without_assignment_is_due_today():
    got = run(MAT.tiers, "4N", today=D(2026, 3, 10))
    assert got == {"earliest": D(2026, 3, 10), "due": D(2026, 3, 10), "status": "due_today", "days_overdue": 0}


# ---------------------------------------------------------------- refusal slows the cadence
def test_refusal_factor_lengthens_the_interval():
    # 3N after a refusal: 2*2 = 4 to 5*2 = 10 working days from Mon Mar 2 -> Fri Mar 6 .. Mon Mar 16
    got = run(MAT.tiers, "3N", last=D(2026, 3, 2), slow=2.0, today=D(2026, 3, 2))
    assert (got["earliest"], got["due"]) == (D(2026, 3, 6), D(2026, 3, 16))


# ---------------------------------------------------------------- add_months against pandas' DateOffset
@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31)), st.integers(min_value=-30, max_value=30))
def test_add_months_matches_dateoffset(day, months):
    got = cadence.add_months(np.array([np.datetime64(day, "D")]), np.array([months]))[0]
    expected = (pd.Timestamp(day) + pd.DateOffset(months=months)).date()
    assert to_date(got) == expected


@pytest.mark.parametrize("start, months, expected", [
    (D(2026, 8, 31), 1, D(2026, 9, 30)), (D(2026, 1, 31), 1, D(2026, 2, 28)), (D(2028, 1, 31), 1, D(2028, 2, 29)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)), (D(2026, 3, 31), -1, D(2026, 2, 28)), (D(2026, 5, 31), 0, D(2026, 5, 31)),
])
def test_add_months_examples(start, months, expected):
    assert to_date(cadence.add_months(np.array([np.datetime64(start)]), np.array([months]))[0]) == expected


def test_add_interval_nat_and_nan_steps():
    out = cadence.add_interval(CAL, arr(None, D(2026, 3, 2)), np.array([1.0, np.nan]),
                               np.array(["workdays", "workdays"], dtype=object))
    assert np.isnat(out).all()


# ---------------------------------------------------------------- invariants over random inputs
UNITS = st.sampled_from(["workdays", "days", "weeks", "months"])


@settings(max_examples=80, deadline=None)
@given(st.dates(min_value=D(2024, 1, 1), max_value=D(2027, 12, 31)), UNITS,
       st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=20),
       st.sampled_from([1.0, 1.5, 2.0]))
def test_due_not_before_earliest_not_before_last_and_on_a_working_day(last, unit, a, b, slow):
    tiers = custom(unit, min(a, b), max(a, b))
    got = run(tiers, "T", last=last, today=last, slow=slow)
    assert last <= got["earliest"] <= got["due"]
    assert CAL.is_workday([got["due"], got["earliest"]]).all()
    if unit == "workdays" and min(a, b) > 0:
        assert got["earliest"] > last


def test_preset_tables_in_both_languages_have_the_same_codes():
    zh, en = preset_table("maturity", "zh-CN"), preset_table("maturity", "en")
    assert zh["code"].tolist() == en["code"].tolist() == ["0", "1", "2", "3K", "3N", "4K", "4N", "5", "6", "7", "9"]
    assert preset_table("abc", "en")["code"].tolist() == ["A", "B", "C", "D", "X"]
