"""Settings as typed on the Settings sheet (key/value), with defaults from ``templates/settings.toml``."""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_type_hints

import pandas as pd

from .calendar import TeamCalendar, calendar_exists
from .schema import TEMPLATES, vocabulary
from .values import parse_dates, parse_numbers, split_list

WEEKDAYS = 7
LISTS = ("personal_columns",)  # keys whose value is a comma-separated list
# An as-of date must leave room for the dashboard's look back and the plan's weeks ahead, within Excel's dates
# and the years the calendar covers (calendar.YEARS): anything else is a typo such as 9999.
AS_OF_SPAN = (dt.date(2000, 1, 1), dt.date(2199, 12, 31))


@cache
def _settings_file() -> dict:
    return tomllib.loads((TEMPLATES / "settings.toml").read_text(encoding="utf-8"))


def defaults() -> dict[str, list]:
    """Settings sheet rows: key -> [default, zh description, en description]."""
    return _settings_file()["settings"]


def planner_defaults() -> dict[str, object]:
    """Planner values no Settings row holds (the fallback time block), from ``[planner]``."""
    return _settings_file()["planner"]


@cache
def default(key: str) -> object:
    """settings.toml's default of a Settings key, converted as that cell typed on the sheet would be
    (blank: None for the as-of date, else "")."""
    value = defaults()[key][0]
    if key in LISTS:
        return tuple(split_list(value))
    if str(value).strip() == "":
        return None if key == "as_of_date" else ""
    kind = get_type_hints(Settings)[key]
    return _convert(key, value, kind() if kind in (bool, int) else "")


def _convert(key: str, value: object, current: object) -> object:
    if key == "as_of_date":
        days, bad = parse_dates(pd.Series([value], dtype=object), dt.date.today())
        if bad[0] or not AS_OF_SPAN[0] <= days[0].astype(dt.date) <= AS_OF_SPAN[1]:
            raise ValueError("as_of_date")
        return days[0].astype(dt.date)
    if isinstance(current, bool):
        parsed = vocabulary("bool").parse(value)
        if parsed is None:
            raise ValueError("yes_no")
        return parsed == "yes"
    if key in LISTS:
        return tuple(split_list(value))
    if key == "load_pattern":
        parts = split_list(value, "/")
        numbers, bad = parse_numbers(pd.Series(parts))
        if bad.any() or not 1 <= len(parts) <= WEEKDAYS or (numbers < 0).any() or not numbers.sum() > 0:
            raise ValueError("load_pattern")
        return tuple(numbers) + (0,) * (WEEKDAYS - len(parts))
    if isinstance(current, int):
        numbers, bad = parse_numbers(pd.Series([value], dtype=object))
        if bad[0] or numbers[0] < 0:
            raise ValueError("whole_number")
        return int(numbers[0])
    if key == "load_by":
        return _load_by(value)
    if key == "language" and str(value).strip() not in ("zh-CN", "en"):
        raise ValueError("language")
    if key == "country":
        code = str(value).strip().upper()
        if not calendar_exists(code):
            raise ValueError("country")
        return code
    return str(value).strip()


LOAD_BY = {"workday": ("workday", "workdays", "工作日", "第几个工作日"), "weekday": ("weekday", "星期", "周几")}


def _load_by(value: object) -> str:
    """How the load pattern is read: by working-day position ("workday") or by weekday name ("weekday")."""
    text = str(value).strip().lower()
    found = next((key for key, words in LOAD_BY.items() if text in words), None)
    if found is None:
        raise ValueError("工作日 / 星期 (workday / weekday)")
    return found


def _default(key: str) -> Any:
    """A Settings field whose default is settings.toml's (read when a Settings is made)."""
    return field(default_factory=lambda: default(key))


@dataclass(frozen=True)
class SettingProblem:
    """A Settings-sheet cell that could not be used as typed (its default is used instead). ``table``: which
    table of the Settings sheet ("settings" key/value, "owners", "holidays", "workdays", "blocks"), ``row``
    its Excel row (None: unknown), ``field`` its column (``inputs.POSITIONAL_COLUMNS``), ``key`` the setting
    or column it sets, ``expected`` what would do (a key of the locales' ``[input]``, else plain text)."""
    key: str
    value: object
    expected: str
    row: int | None = None
    table: str = "settings"
    field: str = "value"


@dataclass
class Settings:
    as_of_date: dt.date | None = _default("as_of_date")
    language: str = _default("language")
    country: str = _default("country")
    subdivision: str = _default("subdivision")
    id_prefix: str = _default("id_prefix")
    id_market: str = _default("id_market")
    daily_capacity: int = _default("daily_capacity")
    load_pattern: tuple[float, ...] = _default("load_pattern")
    load_by: str = _default("load_by")
    effective_target: int = _default("effective_target")
    new_key_target: int = _default("new_key_target")
    pool_enabled: bool = _default("pool_enabled")
    pool_grace_days: int = _default("pool_grace_days")
    pool_warn_days: int = _default("pool_warn_days")
    our_company: str = _default("our_company")
    our_address: str = _default("our_address")
    our_profile: str = _default("our_profile")
    greeting_capacity: int = _default("greeting_capacity")
    backup: bool = _default("backup")
    personal_columns: tuple[str, ...] = _default("personal_columns")  # masked in a masked copy, by header
    mask_copy: bool = _default("mask_copy")  # every manager copy masked, the ribbon's too
    backups_kept: int = _default("backups_kept")
    agenda_not_fitting: int = _default("agenda_not_fitting")  # per owner, on the Agenda (the Plan lists all)
    extra_holidays: list[dt.date] = field(default_factory=list)
    extra_workdays: list[dt.date] = field(default_factory=list)
    owners: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["owner", "code", "capacity"]))
    problems: list[SettingProblem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # the Excel row of each key on the Settings sheet

    def today(self, override: dt.date | None = None) -> dt.date:
        return override or self.as_of_date or dt.date.today()


def settings_from_pairs(pairs: dict[str, object], rows: dict[str, int] | None = None, **tables) -> Settings:
    """Build Settings from the key/value cells (``rows``: the Excel row of each key); unreadable values keep
    their default and are reported."""
    s = Settings(**tables, rows=dict(rows or {}))
    for key, value in pairs.items():
        if key not in defaults() or value is None or str(value).strip() == "":
            continue
        try:
            setattr(s, key, _convert(key, value, getattr(s, key)))
        except ValueError as exc:
            s.problems.append(SettingProblem(key, value, str(exc), s.rows.get(key)))
    if s.subdivision and not calendar_exists(s.country, s.subdivision):
        s.problems.append(SettingProblem("subdivision", s.subdivision, "subdivision", s.rows.get("subdivision")))
        s.subdivision = default("subdivision")
    return s


def calendar_for(settings: Settings) -> TeamCalendar:
    """The team's working-day calendar: public holidays of the country/region, plus the team's own holidays
    and make-up workdays; holiday names in the Settings' language."""
    return TeamCalendar(settings.country, settings.subdivision, settings.extra_holidays, settings.extra_workdays,
                        settings.language)
