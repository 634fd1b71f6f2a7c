"""Settings as typed on the Settings sheet (key/value), with defaults from ``templates/settings.toml``."""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_type_hints

import pandas as pd

from .calendar import TeamCalendar
from .schema import TEMPLATES, vocabulary
from .values import parse_dates, parse_numbers, split_list

WEEKDAYS = 7


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
    if str(value).strip() == "":
        return None if key == "as_of_date" else ""
    kind = get_type_hints(Settings)[key]
    return _convert(key, value, kind() if kind in (bool, int) else "")


def _convert(key: str, value: object, current: object) -> object:
    if key == "as_of_date":
        days, bad = parse_dates(pd.Series([value], dtype=object), dt.date.today())
        if bad[0]:
            raise ValueError("a date")
        return days[0].astype(dt.date)
    if isinstance(current, bool):
        parsed = vocabulary("bool").parse(value)
        if parsed is None:
            raise ValueError("yes / no")
        return parsed == "yes"
    if key == "load_pattern":
        parts = split_list(value, "/")
        numbers, bad = parse_numbers(pd.Series(parts))
        if bad.any() or not 1 <= len(parts) <= WEEKDAYS:
            raise ValueError("up to 7 numbers, Monday first, e.g. 55,35,25,15,10,5,0")
        return tuple(numbers) + (0,) * (WEEKDAYS - len(parts))
    if isinstance(current, int):
        numbers, bad = parse_numbers(pd.Series([value], dtype=object))
        if bad[0] or numbers[0] < 0:
            raise ValueError("a whole number ≥ 0")
        return int(numbers[0])
    if key == "language" and str(value).strip() not in ("zh-CN", "en"):
        raise ValueError("zh-CN or en")
    return str(value).strip()


def _default(key: str) -> Any:
    """A Settings field whose default is settings.toml's (read when a Settings is made)."""
    return field(default_factory=lambda: default(key))


@dataclass(frozen=True)
class SettingProblem:
    key: str
    value: object
    expected: str


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
    effective_target: int = _default("effective_target")
    new_key_target: int = _default("new_key_target")
    pool_enabled: bool = _default("pool_enabled")
    pool_grace_days: int = _default("pool_grace_days")
    pool_warn_days: int = _default("pool_warn_days")
    our_company: str = _default("our_company")
    our_address: str = _default("our_address")
    our_profile: str = _default("our_profile")
    backup: bool = _default("backup")
    backups_kept: int = _default("backups_kept")
    extra_holidays: list[dt.date] = field(default_factory=list)
    extra_workdays: list[dt.date] = field(default_factory=list)
    owners: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["owner", "code", "capacity"]))
    problems: list[SettingProblem] = field(default_factory=list)

    def today(self, override: dt.date | None = None) -> dt.date:
        return override or self.as_of_date or dt.date.today()


def settings_from_pairs(pairs: dict[str, object], **tables) -> Settings:
    """Build Settings from the key/value cells; unreadable values keep their default and are reported."""
    s = Settings(**tables)
    for key, value in pairs.items():
        if key not in defaults() or value is None or str(value).strip() == "":
            continue
        try:
            setattr(s, key, _convert(key, value, getattr(s, key)))
        except ValueError as exc:
            s.problems.append(SettingProblem(key, value, str(exc)))
    return s


def calendar_for(settings: Settings) -> TeamCalendar:
    """The team's working-day calendar: public holidays of the country/region, plus the team's own holidays
    and make-up workdays."""
    return TeamCalendar(settings.country, settings.subdivision, settings.extra_holidays, settings.extra_workdays)
