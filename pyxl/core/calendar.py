"""The team's working-day calendar: weekends, public holidays with make-up working days (调休), team extras.

All arithmetic is vectorised on numpy ``datetime64[D]`` arrays; ``NaT`` in gives ``NaT`` out.
numpy's business-day functions cannot express a working Saturday, so the calendar lists every
non-working day explicitly (weekends minus make-up days, plus holidays) under an all-days week mask,
for a span of years that grows on demand.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")
YEARS = (1900, 2200)  # the span the calendar covers at most


def as_days(values) -> np.ndarray:
    """Anything date-like (scalars, lists, Series, arrays) -> datetime64[D] array."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]")
    return np.array([_one_day(v) for v in arr.ravel()], dtype="datetime64[D]").reshape(arr.shape)


def _one_day(value) -> np.datetime64:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NAT
    if isinstance(value, dt.datetime):
        value = value.date()
    return np.datetime64(value, "D")


def calendar_exists(country: str, subdivision: str = "") -> bool:
    """Whether the holidays library knows this country code (and subdivision of it, when given)."""
    try:
        TeamCalendar(country, subdivision or None)._country_calendar([])
    except NotImplementedError:
        return False
    return True


def to_date(day: np.datetime64) -> dt.date | None:
    return None if np.isnat(day) else day.astype(dt.date)


HOLIDAY_LANGUAGES = {"zh-CN": "zh_CN", "en": "en_US"}  # a workbook language -> the holidays library's


# numpy calendars by team calendar and span, shared by the calendars of one process: a second refresh (a ribbon
# press served by the worksheet-function server) reads the same Settings and reuses what the first built
_BUSDAYS: dict[tuple, np.busdaycalendar] = {}
_BUSDAYS_KEPT = 32


class TeamCalendar:
    """Working days of one team: a country's calendar plus the team's own extra holidays and workdays."""

    def __init__(self, country: str = "CN", subdivision: str | None = None,
                 extra_holidays: Iterable[dt.date] = (), extra_workdays: Iterable[dt.date] = (),
                 language: str = "en"):
        self.country = country
        self.language = language  # the workbook's: holiday names in it where the library has them
        self.subdivision = subdivision or None
        self.extra_holidays = frozenset(_plain_dates(extra_holidays))
        self.extra_workdays = frozenset(_plain_dates(extra_workdays))
        self._years: tuple[int, int] | None = None
        self._busdays: np.busdaycalendar | None = None

    @cached_property
    def weekend(self) -> frozenset[int]:
        return frozenset(self._country.weekend) if self.country else frozenset({5, 6})

    @cached_property
    def _country(self):
        """The country's holidays, one library object whose years are added as they are asked for
        (``_country_years``): building it is the costly part of a calendar."""
        return self._country_calendar([])

    def _country_years(self, lo: int, hi: int):
        """The country's holidays with the years lo..hi populated."""
        cal = self._country
        for year in range(lo, hi + 1):
            if year not in cal.years:
                cal.get(dt.date(year, 1, 1))  # a lookup populates the year it falls in (the library's expand)
        return cal

    def _country_calendar(self, years: list[int]):
        import holidays  # imported on first use: actions without dates do not pay for it

        if not self.country:
            return holidays.HolidayBase()
        entity = _country_class(self.country)
        if entity is None:  # not a code the library knows: its own lookup raises its own error
            return holidays.country_holidays(self.country, subdiv=self.subdivision, years=years)
        wanted = HOLIDAY_LANGUAGES.get(self.language)
        language = wanted if wanted in getattr(entity, "supported_languages", ()) else None
        return entity(years=years, subdiv=self.subdivision, language=language)

    def holiday_names(self, first: dt.date, last: dt.date) -> dict[dt.date, str]:
        """Public holidays (country) and team holidays between two dates, with their names."""
        country = self._country_years(first.year, last.year)
        names = {d: n for d, n in country.items() if first <= d <= last}
        names.update({d: "" for d in self.extra_holidays if first <= d <= last and d not in names})
        return names

    def greeting_days(self, first: dt.date, last: dt.date) -> dict[dt.date, str]:
        """The working day before each public holiday from ``first`` to ``last``, with the holiday's name
        (a holiday of several days is greeted once, on the working day before it)."""
        names = {d: n for d, n in sorted(self.holiday_names(first, last).items()) if n}
        days = np.array(list(names), dtype="datetime64[D]")
        off = days[~self.is_workday(days)]
        if off.size == 0:
            return {}
        before = np.busday_offset(off - DAY, 0, roll="backward", busdaycal=self._for(off - DAY))
        out: dict[dt.date, str] = {}
        for day, greet in zip(off.astype(dt.date), before.astype(dt.date)):
            out.setdefault(greet, names[day])
        return out

    def _calendar(self, lo: int, hi: int) -> np.busdaycalendar:
        """A numpy calendar valid for the years lo..hi (grown, never shrunk)."""
        if self._years is None or lo < self._years[0] or hi > self._years[1]:
            if self._years:
                lo, hi = min(lo, self._years[0]), max(hi, self._years[1])
            self._years = (lo, hi)
            key = (self.country, self.subdivision, self.extra_holidays, self.extra_workdays, lo, hi)
            if key not in _BUSDAYS:
                if len(_BUSDAYS) >= _BUSDAYS_KEPT:
                    _BUSDAYS.clear()
                _BUSDAYS[key] = np.busdaycalendar(weekmask="1111111", holidays=self._non_working(lo, hi))
            self._busdays = _BUSDAYS[key]
        return self._busdays

    def _non_working(self, lo: int, hi: int) -> np.ndarray:
        # the neighbouring years too: a year's make-up working days may fall in the one before (31 Dec for
        # New Year in CN), and lo..hi must not depend on which years earlier lookups populated
        cal = self._country_years(lo - 1, hi + 1)
        days = np.arange(np.datetime64(f"{lo}-01-01"), np.datetime64(f"{hi + 1}-01-01"), DAY)
        weekday = (days.astype("int64") + 3) % 7  # Monday = 0; 1970-01-01 was a Thursday
        weekend = days[np.isin(weekday, list(self.weekend))]
        makeup = _days_within(getattr(cal, "weekend_workdays", ()), days)
        off = np.union1d(np.setdiff1d(weekend, makeup), _days_within(cal, days))
        return np.setdiff1d(np.union1d(off, _days(self.extra_holidays)), _days(self.extra_workdays))  # sorted

    def _for(self, *arrays: np.ndarray) -> np.busdaycalendar:
        valid = np.concatenate([a[~np.isnat(a)].ravel() for a in arrays])
        if valid.size == 0:  # no date to look up: any calendar answers, so do not grow the one built
            return self._busdays if self._busdays is not None else self._calendar(2000, 2000)
        years = valid.astype("datetime64[Y]").astype(int) + 1970
        # a typo such as 9999 must not build (or crash on) thousands of years of holidays: beyond this span
        # every day counts as a working day, and such dates are flagged by the checks anyway
        lo = min(max(int(years.min()) - 1, YEARS[0]), YEARS[1])
        hi = max(min(int(years.max()) + 2, YEARS[1]), YEARS[0])
        return self._calendar(lo, hi)

    # -- vectorised operations -------------------------------------------------------------
    def is_workday(self, dates) -> np.ndarray:
        days = as_days(dates)
        out = np.zeros(days.shape, dtype=bool)
        ok = ~np.isnat(days)
        out[ok] = np.is_busday(days[ok], busdaycal=self._for(days))
        return out

    def add_workdays(self, dates, n) -> np.ndarray:
        """The n-th working day after each date (n >= 1); n = 0 gives the next working day on or after."""
        days = as_days(dates)
        steps = np.broadcast_to(np.asarray(n, dtype="int64"), days.shape)
        out = np.full(days.shape, NAT)
        ok = ~np.isnat(days)
        cal = self._for(days, days + steps.max(initial=0) * 2 + 30)
        pos = ok & (steps > 0)
        out[pos] = np.busday_offset(days[pos], steps[pos], roll="backward", busdaycal=cal)
        zero = ok & (steps <= 0)
        out[zero] = np.busday_offset(days[zero], steps[zero], roll="forward", busdaycal=cal)
        return out

    def roll_forward(self, dates) -> np.ndarray:
        """Each date, or the next working day when it is not one."""
        return self.add_workdays(dates, 0)

    def networkdays(self, start, end) -> np.ndarray:
        """Working days from start to end, both included (Excel NETWORKDAYS semantics, negative when end < start)."""
        a, b = np.broadcast_arrays(as_days(start), as_days(end))
        out = np.full(a.shape, np.nan)
        ok = ~(np.isnat(a) | np.isnat(b))
        cal = self._for(a, b)
        fwd = ok & (b >= a)
        out[fwd] = np.busday_count(a[fwd], b[fwd] + DAY, busdaycal=cal)
        back = ok & (b < a)
        out[back] = -np.busday_count(b[back], a[back] + DAY, busdaycal=cal)
        return out

    def workdays_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + DAY, DAY)
        return [d for d, ok in zip(days.astype(dt.date), self.is_workday(days)) if ok]


def _country_class(code: str) -> type | None:
    """The holidays library's class for a country (a code such as ``CN``/``CHN`` or a class name such as
    ``China``, as ``holidays.country_holidays`` accepts), its module imported alone: the library's own lookup
    imports the ``holidays.countries`` package, i.e. every country module (~0.1 s), on first use."""
    import holidays
    from holidays.registry import COUNTRIES

    for module, names in COUNTRIES.items():
        if code in names:
            return getattr(_country_module(Path(holidays.__file__).parent, module), code)
    return None


def _country_module(package: Path, module: str):
    name = f"holidays.countries.{module}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, package / "countries" / f"{module}.py")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[name]


def _days(dates: Iterable[dt.date]) -> np.ndarray:
    return np.array(sorted(dates), dtype="datetime64[D]")


def _days_within(dates: Iterable[dt.date], span: np.ndarray) -> np.ndarray:
    """The dates falling within ``span`` (a sorted run of days), as days."""
    days = _days(dates)
    return days[(days >= span[0]) & (days <= span[-1])]


def _plain_dates(values: Iterable) -> list[dt.date]:
    out = []
    for v in values:
        if isinstance(v, dt.datetime):
            v = v.date()
        if isinstance(v, dt.date):
            out.append(v)
    return out


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week holding ``day``."""
    return day - dt.timedelta(days=day.weekday())


def working_day_from(cal: TeamCalendar, today: dt.date) -> dt.date:
    """The day the Agenda is for: today when it is a working day, else the next working day (seed 002:
    after the last working day the salesperson prepares the coming one)."""
    return cal.roll_forward([today])[0].astype(dt.date)


def plan_week_start(cal: TeamCalendar, today: dt.date) -> dt.date:
    """The Monday of the week to plan: this week while a working day of it remains (today included), else
    the coming week (Sunday evening, a Saturday that is not a make-up day, a holiday to the end of the week).
    """
    return week_start(working_day_from(cal, today))


def parse_week(text: str) -> dt.date:
    """``2026-W48`` (or ``2026W48``) -> its Monday."""
    try:
        year, week = str(text).upper().replace("W", "-").replace("--", "-").split("-")[:2]
        return dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError as exc:
        raise ValueError(f"week {text!r} is not an ISO week like 2026-W48") from exc
