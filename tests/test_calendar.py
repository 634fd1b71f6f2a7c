"""Team calendar: the official 2026 China schedule (holidays + make-up workdays), team extras, Excel NETWORKDAYS.

Expected values are worked out by hand from the State Council's 2026 schedule:
  New Year       Jan 1–3 off (Thu–Sat), make-up Sun Jan 4
  Spring Festival Feb 15–23 off (Sun–Mon), make-up Sat Feb 14 and Sat Feb 28
  Mid-Autumn     Fri Sep 25 off
  National Day   Oct 1–7 off (Thu–Wed), make-up Sun Sep 20 and Sat Oct 10
"""
from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pyxl.core.calendar import TeamCalendar, as_days, parse_week, to_date, week_start

D = dt.date
CAL = TeamCalendar("CN")


def days(*values) -> np.ndarray:
    return np.array([np.datetime64(v, "D") if v is not None else np.datetime64("NaT", "D") for v in values])


def one(arr) -> dt.date | None:
    return to_date(np.asarray(arr).ravel()[0])


# ---------------------------------------------------------------- is_workday
@pytest.mark.parametrize("day, working", [
    (D(2026, 1, 1), False), (D(2026, 1, 2), False), (D(2026, 1, 3), False),
    (D(2026, 1, 4), True),                       # Sunday make-up workday
    (D(2026, 2, 13), True), (D(2026, 2, 14), True),  # Saturday make-up workday
    *[(D(2026, 2, d), False) for d in range(15, 24)],  # Spring Festival Feb 15–23
    (D(2026, 2, 24), True), (D(2026, 2, 27), True),
    (D(2026, 2, 28), True),                      # Saturday make-up workday
    (D(2026, 3, 1), False),                      # ordinary Sunday
    (D(2026, 9, 19), False), (D(2026, 9, 20), True),  # Sunday make-up
    (D(2026, 9, 25), False),                     # Mid-Autumn (Friday)
    *[(D(2026, 10, d), False) for d in range(1, 8)],  # National Day Oct 1–7
    (D(2026, 10, 8), True), (D(2026, 10, 9), True),
    (D(2026, 10, 10), True),                     # Saturday make-up
    (D(2026, 10, 11), False),
    (D(2026, 3, 4), True), (D(2026, 3, 7), False),  # an ordinary Wednesday and Saturday
])
def test_is_workday_2026_official_schedule(day, working):
    assert bool(CAL.is_workday([day])[0]) is working


def test_calendar_agrees_with_holidays_package_for_2026():
    """Cross-check: workday == (Mon–Fri and not a public holiday) or an official make-up weekend day."""
    cn = holidays.country_holidays("CN", years=2026)
    makeup = {d for d in cn.weekend_workdays if d.year == 2026}
    assert makeup == {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)}
    all_days = np.arange(np.datetime64("2026-01-01"), np.datetime64("2027-01-01"))
    got = CAL.is_workday(all_days)
    expected = [(d.weekday() < 5 and d not in cn) or d in makeup for d in all_days.astype(dt.date)]
    assert got.tolist() == expected


def test_nat_is_not_a_workday_and_shapes_are_kept():
    out = CAL.is_workday(days("2026-03-04", None))
    assert out.tolist() == [True, False]


# ---------------------------------------------------------------- add_workdays
@pytest.mark.parametrize("start, n, expected", [
    (D(2026, 2, 13), 1, D(2026, 2, 14)),   # Fri -> make-up Saturday
    (D(2026, 2, 13), 2, D(2026, 2, 24)),   # then the whole Spring Festival is skipped
    (D(2026, 2, 12), 3, D(2026, 2, 24)),
    (D(2026, 2, 14), 1, D(2026, 2, 24)),
    (D(2026, 2, 15), 1, D(2026, 2, 24)),   # from inside the holiday: the first working day after
    (D(2026, 2, 27), 1, D(2026, 2, 28)),   # Fri -> make-up Saturday
    (D(2026, 2, 27), 2, D(2026, 3, 2)),
    (D(2026, 9, 18), 1, D(2026, 9, 20)),   # Fri -> make-up Sunday
    (D(2026, 9, 24), 1, D(2026, 9, 28)),   # Mid-Autumn Friday + weekend
    (D(2026, 9, 30), 1, D(2026, 10, 8)),   # National Day week
    (D(2026, 9, 30), 3, D(2026, 10, 10)),  # Oct 8, 9, then make-up Saturday Oct 10
    (D(2026, 10, 10), 1, D(2026, 10, 12)),
    (D(2025, 12, 31), 1, D(2026, 1, 4)),   # year boundary onto a make-up Sunday
    (D(2026, 12, 31), 1, D(2027, 1, 4)),   # New Year's Day 2027 is a Friday
    (D(2026, 3, 2), 5, D(2026, 3, 9)),     # an ordinary week
    (D(2026, 3, 6), 0, D(2026, 3, 6)),     # n = 0 on a working day: itself
    (D(2026, 3, 7), 0, D(2026, 3, 9)),     # n = 0 on a Saturday: next Monday
])
def test_add_workdays(start, n, expected):
    assert one(CAL.add_workdays([start], n)) == expected


def test_add_workdays_vectorised_with_nat_and_per_row_steps():
    out = CAL.add_workdays(days("2026-02-13", None, "2026-09-30"), np.array([2, 1, 1]))
    assert [to_date(d) for d in out] == [D(2026, 2, 24), None, D(2026, 10, 8)]


def test_roll_forward():
    out = CAL.roll_forward(days("2026-02-15", "2026-02-14", "2026-10-03", "2026-01-03", "2026-03-04"))
    assert [to_date(d) for d in out] == [D(2026, 2, 24), D(2026, 2, 14), D(2026, 10, 8), D(2026, 1, 4),
                                         D(2026, 3, 4)]


def test_absurd_years_do_not_crash():
    out = CAL.add_workdays(days("9999-12-30", "1901-01-01"), 1)
    assert not np.isnat(out).any()


# ---------------------------------------------------------------- networkdays (Excel semantics)
@pytest.mark.parametrize("start, end, expected", [
    # Feb 2026: Feb 2–6 (5) + 9–13 (5) + Sat 14 (1) + 24–27 (4) + Sat 28 (1)
    (D(2026, 2, 1), D(2026, 2, 28), 16),
    # Sep 2026: 22 weekdays − Sep 25 + Sun Sep 20
    (D(2026, 9, 1), D(2026, 9, 30), 22),
    # Oct 2026: Oct 8, 9, Sat 10 + three full weeks (12–30)
    (D(2026, 10, 1), D(2026, 10, 31), 18),
    (D(2026, 2, 24), D(2026, 2, 24), 1),   # both ends included
    (D(2026, 2, 15), D(2026, 2, 15), 0),   # a holiday
    (D(2026, 3, 2), D(2026, 3, 8), 5),
    (D(2026, 2, 28), D(2026, 2, 1), -16),  # reversed: negative, like Excel
    (D(2025, 12, 29), D(2026, 1, 5), 5),   # Dec 29, 30, 31, Sun Jan 4, Mon Jan 5
])
def test_networkdays(start, end, expected):
    assert CAL.networkdays([start], [end])[0] == expected


def test_networkdays_nat_gives_nan():
    out = CAL.networkdays(days("2026-03-02", None), days(None, "2026-03-05"))
    assert np.isnan(out).all()


# ---------------------------------------------------------------- team extras
def test_team_extra_holiday_and_workday():
    cal = TeamCalendar("CN", extra_holidays=[D(2026, 3, 6)], extra_workdays=[dt.datetime(2026, 3, 7, 9)])
    assert cal.is_workday([D(2026, 3, 6), D(2026, 3, 7), D(2026, 3, 8)]).tolist() == [False, True, False]
    assert one(cal.add_workdays([D(2026, 3, 5)], 1)) == D(2026, 3, 7)
    assert one(cal.add_workdays([D(2026, 3, 7)], 1)) == D(2026, 3, 9)
    assert cal.networkdays([D(2026, 3, 2)], [D(2026, 3, 8)])[0] == 5  # Mon–Thu + Sat
    # the country calendar is untouched
    assert CAL.is_workday([D(2026, 3, 6), D(2026, 3, 7)]).tolist() == [True, False]


def test_team_workday_inside_a_public_holiday_and_holiday_on_a_makeup_day():
    cal = TeamCalendar("CN", extra_holidays=[D(2026, 2, 14)], extra_workdays=[D(2026, 10, 5)])
    assert one(cal.add_workdays([D(2026, 2, 13)], 1)) == D(2026, 2, 24)
    assert one(cal.add_workdays([D(2026, 9, 30)], 1)) == D(2026, 10, 5)


def test_team_extra_beyond_current_year_span_is_seen():
    cal = TeamCalendar("CN", extra_holidays=[D(2030, 3, 4)])  # a Monday
    assert cal.is_workday([D(2026, 3, 4)])[0]
    assert not cal.is_workday([D(2030, 3, 4)])[0]


def test_no_country_is_monday_to_friday():
    cal = TeamCalendar("")
    assert cal.is_workday([D(2026, 10, 1), D(2026, 10, 10), D(2026, 2, 14)]).tolist() == [True, False, False]


def test_holiday_names_and_workdays_between():
    cal = TeamCalendar("CN", extra_holidays=[D(2026, 10, 9)])
    names = cal.holiday_names(D(2026, 9, 28), D(2026, 10, 12))
    assert D(2026, 10, 1) in names and D(2026, 10, 9) in names and D(2026, 9, 28) not in names
    assert cal.workdays_between(D(2026, 9, 28), D(2026, 10, 11)) == [
        D(2026, 9, 28), D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 10)]


def test_one_country_calendar_per_team_calendar_whatever_the_spans_asked(monkeypatch):
    built = []
    original = TeamCalendar._country_calendar

    def counted(self, years):
        built.append(years)
        return original(self, years)

    monkeypatch.setattr(TeamCalendar, "_country_calendar", counted)
    cal = TeamCalendar("CN", language="zh-CN")
    assert one(cal.add_workdays([D(2026, 2, 13)], 1)) == D(2026, 2, 14)  # span grown on each wider lookup
    assert cal.is_workday([D(2031, 12, 31), D(2024, 1, 2)]).tolist() == [True, True]
    assert cal.greeting_days(D(2026, 9, 1), D(2028, 1, 1))[D(2026, 9, 30)] == "国庆节"
    assert cal.holiday_names(D(2026, 1, 1), D(2026, 1, 1)) == {D(2026, 1, 1): "元旦"}
    assert len(built) == 1


# ---------------------------------------------------------------- helpers
def test_as_days_accepts_mixed_inputs():
    out = as_days([D(2026, 3, 5), dt.datetime(2026, 3, 5, 23, 59), None, float("nan")])
    assert [to_date(d) for d in out] == [D(2026, 3, 5), D(2026, 3, 5), None, None]


def test_week_helpers():
    assert week_start(D(2026, 3, 8)) == D(2026, 3, 2)
    assert parse_week("2026-W40") == D(2026, 9, 28)
    assert parse_week("2026W01") == D(2025, 12, 29)
    with pytest.raises(ValueError):
        parse_week("next week")


# ---------------------------------------------------------------- properties
DATES = st.dates(min_value=D(2024, 1, 1), max_value=D(2028, 12, 31))


@settings(max_examples=60, deadline=None)
@given(DATES, st.integers(min_value=1, max_value=40))
def test_add_workdays_lands_on_the_nth_working_day(start, n):
    out = one(CAL.add_workdays([start], n))
    assert out > start and CAL.is_workday([out])[0]
    # exactly n working days in (start, out]
    assert CAL.networkdays([start + dt.timedelta(days=1)], [out])[0] == n


@settings(max_examples=60, deadline=None)
@given(DATES, DATES)
def test_networkdays_antisymmetric_and_counts_workdays(a, b):
    lo, hi = min(a, b), max(a, b)
    if (hi - lo).days > 400:
        hi = lo + dt.timedelta(days=400)
    n = CAL.networkdays([lo], [hi])[0]
    assert n == sum(CAL.is_workday(np.arange(np.datetime64(lo), np.datetime64(hi) + 1)))
    if lo != hi:
        assert CAL.networkdays([hi], [lo])[0] == -n
