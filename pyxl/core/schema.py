"""Ledger and contact-log fields, their labels in both languages, and tolerant header matching.

The declarations live in ``templates/schema.toml``; this module loads them once and matches the headers
people actually typed (either language, any alias, case and surrounding spaces ignored).
"""
from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LANGS = ("zh-CN", "en")


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    kind: str  # typed | synced | computed
    zh: str
    en: str
    aliases: tuple[str, ...]
    width: int
    required: bool = False  # without its column the tool cannot do its job: a missing header is flagged
    personal: str = ""  # "contact": masked in a masked copy; "name": masked with names too (core/masking.py)

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh-CN" else self.en

    @property
    def computed(self) -> bool:
        return self.kind == "computed"


@dataclass(frozen=True)
class HeaderMatch:
    """How a table's headers map to fields: ``columns`` header -> key; ``unknown`` kept untouched."""
    columns: dict[str, str]
    unknown: list[str]
    duplicates: list[str]

    def header_of(self, key: str) -> str | None:
        return next((h for h, k in self.columns.items() if k == key), None)


def normalise(text: object) -> str:
    """Header/vocabulary key: NFKC (full-width → half-width), case-folded, inner spaces removed."""
    return "".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


@cache
def _schema() -> dict:
    return tomllib.loads((TEMPLATES / "schema.toml").read_text(encoding="utf-8"))


@cache
def fields(table: str) -> tuple[Field, ...]:
    """The declared fields of ``ledger`` or ``contacts``, in sheet order."""
    return tuple(Field(f["key"], f["type"], f["kind"], f["zh"], f["en"], tuple(f["aliases"]), f["width"],
                       f.get("required", False), f.get("personal", "")) for f in _schema()[table])


def field(table: str, key: str) -> Field:
    return next(f for f in fields(table) if f.key == key)


def computed_keys(table: str = "ledger") -> list[str]:
    return [f.key for f in fields(table) if f.computed]


@cache
def header_index(table: str) -> dict[str, str]:
    """Normalised header text (key, zh, en, every alias) -> field key."""
    index: dict[str, str] = {}
    for f in fields(table):
        for name in (f.key, f.zh, f.en, *f.aliases):
            index.setdefault(normalise(name), f.key)
    return index


def expected_position(table: str, headers: list[str], match: HeaderMatch, key: str) -> int:
    """Where the missing field ``key`` is expected among a table's ``headers`` (0-based): right after the
    nearest field declared before it whose header is there (a renamed header sits in that cell), else first;
    after the last column when ``key`` is not a field of the table."""
    keys = [f.key for f in fields(table)]
    if key not in keys:
        return len(headers)
    present = {k: h for h, k in match.columns.items()}
    before = [present[k] for k in reversed(keys[: keys.index(key)]) if k in present]
    return headers.index(before[0]) + 1 if before else 0


def match_headers(table: str, headers: list[str]) -> HeaderMatch:
    index = header_index(table)
    columns: dict[str, str] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for header in headers:
        key = index.get(normalise(header)) if header is not None else None
        if key is None:
            unknown.append(header)
        elif key in columns.values():
            duplicates.append(header)
        else:
            columns[header] = key
    return HeaderMatch(columns, unknown, duplicates)


# ---------------------------------------------------------------- vocabularies
@dataclass(frozen=True)
class Vocabulary:
    name: str
    terms: dict[str, dict]  # key -> {zh, en, aliases}

    def label(self, key: str, lang: str) -> str:
        term = self.terms.get(key)
        return "" if term is None else term["zh" if lang == "zh-CN" else "en"]

    def labels(self, lang: str) -> list[str]:
        return [self.label(k, lang) for k in self.terms]

    @property
    def _index(self) -> dict[str, str]:
        return _vocab_index(self.name)

    def parse(self, value: object) -> str | None:
        """A typed cell -> the term's key, or None when it is not a known term."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, float) and value.is_integer():
            value = int(value)  # Excel gives numbers as floats: 1.0 is the 1 people typed
        return self._index.get(normalise(value))


@cache
def vocabulary(name: str) -> Vocabulary:
    return Vocabulary(name, _schema()["vocab"][name])


@cache
def _vocab_index(name: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for key, term in _schema()["vocab"][name].items():
        for alias in (key, term["zh"], term["en"], *term["aliases"]):
            index.setdefault(normalise(alias), key)
    return index
