"""The ledger as typed, parsed once: every field in its type, plus masks of cells that could not be read."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from .rules import Rules
from .schema import fields
from .values import error_cells, parse_bool, parse_dates, parse_numbers, parse_vocab, text_cells

DATE_TYPES = ("date", "datetime")
NUMBER_TYPES = ("int", "number", "money")


@dataclass
class ParsedLedger:
    raw: pd.DataFrame  # canonical keys, cells as typed; index = Excel row
    dates: dict[str, np.ndarray]  # datetime64[D]
    numbers: dict[str, np.ndarray]  # float
    kp: np.ndarray  # bool
    tier: pd.Series  # resolved tier code, NA when unknown or blank
    rules: Rules | None = field(default=None, repr=False)  # resolves stages (the Rules sheet's stage table)
    bad: dict[str, np.ndarray] = field(default_factory=dict)  # key -> cells typed but unreadable
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # key -> cells holding an Excel error value
    formulas: dict[str, np.ndarray] = field(default_factory=dict)  # key -> cells holding a formula
    _text: dict[str, pd.Series] = field(default_factory=dict, repr=False)
    _blank: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def index(self) -> pd.Index:
        return self.raw.index

    def text(self, key: str) -> pd.Series:
        """Stripped text of a column, '' when blank (cached: checks and views ask for the same columns)."""
        if key not in self._text:
            column = self.raw[key] if key in self.raw else pd.Series(None, index=self.raw.index, dtype=object)
            self._text[key] = pd.Series(text_cells(column), index=self.raw.index, dtype=object)
        return self._text[key]

    @cached_property
    def stage(self) -> pd.Series:
        """Stage codes (a stage typed as its name or an alias counts as its code); NA when blank or unknown."""
        return self.rules.stage_of(self.raw["stage"]) if self.rules else parse_vocab(self.raw["stage"], "stage")[0]

    def with_tiers(self, change: pd.Series, tier_since: np.ndarray) -> ParsedLedger:
        """A new parsed ledger in which the rows of ``change`` (row -> tier code) have that tier, typed and
        resolved, and every row the given Tier since; this one is left as it is."""
        pos = self.index.get_indexer(change.index)
        typed = self.raw["tier"].to_numpy(dtype=object, copy=True)
        typed[pos] = change.to_numpy(dtype=object)
        tier = self.tier.to_numpy(dtype=object, na_value=None)
        tier[pos] = change.to_numpy(dtype=object)
        bad = {**self.bad, "tier": self.bad["tier"].copy()}
        bad["tier"][pos] = False
        new = replace(self, raw=self.raw.assign(tier=typed), dates={**self.dates, "tier_since": tier_since},
                      tier=pd.Series(tier, index=self.index, dtype="string"), bad=bad,
                      _text={k: v for k, v in self._text.items() if k != "tier"},
                      _blank={k: v for k, v in self._blank.items() if k != "tier"})
        if "stage" in self.__dict__:
            new.stage = self.stage
        return new

    def kept(self, key: str) -> np.ndarray:
        """Cells the tool never writes over although the log moves their column: unreadable text, an Excel
        error value, a formula."""
        none = np.zeros(len(self.index), dtype=bool)
        return self.bad.get(key, none) | self.errors.get(key, none) | self.formulas.get(key, none)

    def blank(self, key: str) -> np.ndarray:
        """Cells left blank (cached like ``text``: several checks ask about the name, tier and contact columns)."""
        if key not in self._blank:
            self._blank[key] = self.text(key).to_numpy(dtype=object) == ""
        return self._blank[key]


def parse_ledger(raw: pd.DataFrame, rules: Rules, today: dt.date,
                 formulas: Mapping[str, Collection[int]] | None = None) -> ParsedLedger:
    """``formulas``: field key -> the rows whose cell holds a formula."""
    raw = raw.copy(deep=False)  # copy-on-write: columns added or changed here never reach the caller
    for f in fields("ledger"):
        if f.key not in raw:
            raw[f.key] = pd.Series(None, index=raw.index, dtype=object)
    typed = [f for f in fields("ledger") if not f.computed]
    parsed = ParsedLedger(raw, {}, {}, np.zeros(len(raw), dtype=bool), rules.tier_of(raw["tier"]),
                          rules)
    parsed.errors = {f.key: error_cells(raw[f.key]) for f in typed}
    parsed.formulas = {key: raw.index.isin(list(rows)) for key, rows in (formulas or {}).items()}
    for f in typed:
        if f.type in DATE_TYPES:
            parsed.dates[f.key], parsed.bad[f.key] = parse_dates(raw[f.key], today)
        elif f.type in NUMBER_TYPES:
            parsed.numbers[f.key], parsed.bad[f.key] = parse_numbers(raw[f.key])
        elif f.type == "bool":
            parsed.kp, parsed.bad[f.key] = parse_bool(raw[f.key])
    parsed.bad["tier"] = ~parsed.blank("tier") & parsed.tier.isna().to_numpy()
    parsed.bad = {key: bad & ~parsed.errors[key] for key, bad in parsed.bad.items()}  # errors are told as such
    return parsed
