"""The ledger as typed, parsed once: every field in its type, plus masks of cells that could not be read."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .rules import Rules
from .schema import fields
from .values import clean_text, is_blank, parse_bool, parse_dates, parse_numbers

DATE_TYPES = ("date", "datetime")
NUMBER_TYPES = ("int", "number", "money")


@dataclass
class ParsedLedger:
    raw: pd.DataFrame  # canonical keys, cells as typed; index = Excel row
    dates: dict[str, np.ndarray]  # datetime64[D]
    numbers: dict[str, np.ndarray]  # float
    kp: np.ndarray  # bool
    tier: pd.Series  # resolved tier code, NA when unknown or blank
    bad: dict[str, np.ndarray] = field(default_factory=dict)  # key -> cells typed but unreadable

    @property
    def index(self) -> pd.Index:
        return self.raw.index

    def text(self, key: str) -> pd.Series:
        if key not in self.raw:
            return pd.Series("", index=self.raw.index, dtype="string")
        return clean_text(self.raw[key]).fillna("")

    def blank(self, key: str) -> np.ndarray:
        return is_blank(self.raw[key]).to_numpy() if key in self.raw else np.ones(len(self.raw), dtype=bool)


def parse_ledger(raw: pd.DataFrame, rules: Rules, today: dt.date) -> ParsedLedger:
    raw = raw.copy()
    for f in fields("ledger"):
        if f.key not in raw:
            raw[f.key] = pd.Series(None, index=raw.index, dtype=object)
    typed = [f for f in fields("ledger") if not f.computed]
    parsed = ParsedLedger(raw, {}, {}, np.zeros(len(raw), dtype=bool), rules.tier_of(raw["tier"]))
    for f in typed:
        if f.type in DATE_TYPES:
            parsed.dates[f.key], parsed.bad[f.key] = parse_dates(raw[f.key], today)
        elif f.type in NUMBER_TYPES:
            parsed.numbers[f.key], parsed.bad[f.key] = parse_numbers(raw[f.key])
        elif f.type == "bool":
            parsed.kp, parsed.bad[f.key] = parse_bool(raw[f.key])
    parsed.bad["tier"] = ~parsed.blank("tier") & parsed.tier.isna().to_numpy()
    return parsed
