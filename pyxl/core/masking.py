"""What the manager copy masks and how (seed 001 客户隐私保护).

Masking goes by value, not by sheet: every personal value of the ledger and the log is collected (phone,
email and WeChat always — the fields ``templates/schema.toml`` marks ``personal = "contact"`` —, names with
``names`` — ``personal = "name"`` —, and every column the Settings key ``personal_columns`` names), then every
occurrence of any of them in any text is replaced, longest first and inside longer texts too (messages,
check messages, notes). A phone number is found however its digits are grouped (138 0000 0001,
+86 138-0000-0001, 0086 13800000001). ``mask_text`` is the one rule that masks a value.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from ahocorasick_rs import AhoCorasick, MatchKind

from .schema import fields, header_index, normalise
from .values import cell_text, phone_key

KEEP = 4  # a long value keeps its last 4 characters, as seed 001 asks for phone numbers
MIN_LENGTH = 2  # one character is no personal value (and would mask that character everywhere)
MIN_NUMBER_DIGITS = 7  # a shorter number (a count, a year) is no personal value either
MAX_PHONE_DIGITS = 17  # 0086 and 13 digits: no phone number is longer
_PHONE_GROUPS = (re.compile(r"(?:\+|00)?\d[\d\-.()]*\d"), re.compile(r"(?:\+|00)?\d[\d\s\-.()]*\d"))
_DIGIT_RUN = re.compile(r"\d(?:[\s\-.()]{0,2}\d){6,}")  # 7 digits or more, grouped as people group them
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z0-9]")


def mask_text(value: object) -> str:
    """The masking rule: a value of 8 characters or more keeps its last 4 (*******0001); a shorter one only its
    first character (王**), so that no short name stays whole."""
    text = cell_text(value)
    if len(text) >= 2 * KEEP:
        return "*" * max(len(text) - KEEP, 3) + text[-KEEP:]
    return text[:1] + "*" * max(len(text) - 1, 2) if text else text


def personal_headers(table: str, headers: Sequence[object], marked: Iterable[str], names: bool = False) -> list:
    """The headers of a table as typed (``ledger`` or ``contacts``) whose values are personal: the fields the
    schema marks personal (names only with ``names``) and every column ``marked`` names, by its header or any
    label or alias of its field."""
    index = header_index(table)
    kinds = ("contact", "name") if names else ("contact",)
    marked_names = {normalise(m) for m in marked}
    keys = {f.key for f in fields(table) if f.personal in kinds} | {index[m] for m in marked_names if m in index}
    return [h for h in headers if h is not None and (normalise(h) in marked_names or index.get(normalise(h)) in keys)]


@dataclass(frozen=True)
class Personal:
    """The personal values to mask: texts matched as typed, phone numbers by their digits (``phone_key``)."""
    texts: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()

    def __or__(self, other: Personal) -> Personal:
        return Personal(self.texts | other.texts, self.phones | other.phones)


def table_personal(table: str, frame: pd.DataFrame, marked: Iterable[str], names: bool = False) -> Personal:
    """The personal values of a table as typed (header labels as columns): see ``personal_headers``."""
    headers = personal_headers(table, list(frame.columns), marked, names)
    phones = [h for h in headers if header_index(table).get(normalise(h)) == "phone"]
    return personal_values([frame[h] for h in headers if h not in phones], [frame[h] for h in phones])


def personal_values(columns: Iterable[pd.Series], phone_columns: Iterable[pd.Series] = ()) -> Personal:
    """Every personal value of these columns; the cells of ``phone_columns`` also give the numbers they hold
    (a cell may hold two: 13800000001/021-5555666)."""
    texts = {cell_text(v) for column in (*columns, *phone_columns) for v in column}
    phones = {phone_key(group) for column in phone_columns for v in column
              for pattern in _PHONE_GROUPS for group in pattern.findall(unicodedata.normalize("NFKC", cell_text(v)))}
    return Personal(frozenset(t for t in texts if _personal(t)), frozenset(phones - {""}))


def _personal(text: str) -> bool:
    return len(text) >= MIN_LENGTH and not (text.isdigit() and len(text) < MIN_NUMBER_DIGITS)


class Masker:
    """Replaces every occurrence of a set of personal values in a text by its masked form: texts through an
    Aho-Corasick automaton (leftmost-longest: any of 100,000 values found in one pass), phone numbers wherever
    a run of digit groups holds one. ``encode`` and ``decode`` are the text's escaping (e.g. XML's), so that
    values are found as they are written there."""

    def __init__(self, personal: Personal, encode: Callable[[str], str] = str, decode: Callable[[str], str] = str):
        self._encode, self._decode = encode, decode
        texts = sorted({encode(t) for t in personal.texts})
        self._texts = AhoCorasick(texts, matchkind=MatchKind.LeftmostLongest) if texts else None
        self._phones = personal.phones

    def __bool__(self) -> bool:
        return bool(self._texts or self._phones)

    def mask(self, text: str, accept: Callable[[str, int], bool] | None = None) -> str:
        """``text`` with every personal value masked; ``accept(text, start)`` may refuse a place (markup)."""
        spans = self._text_spans(text)
        if spans:
            text = self._replace(text, spans, accept)
        return self._replace(text, self._phone_spans(text), accept) if self._phones else text

    def _text_spans(self, text: str) -> list[tuple[int, int]]:
        if self._texts is None:
            return []
        return [(start, end) for _, start, end in self._texts.find_matches_as_indexes(text)
                if _whole_word(text, start, end)]

    def _phone_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of the longest runs of digit groups whose number is a personal phone (a date before the
        number, or a second number after it, in the same run is left out)."""
        spans = []
        for run in _DIGIT_RUN.finditer(text):
            groups = [(m.start(), m.end()) for m in _DIGITS.finditer(text, run.start(), run.end())]
            first = 0
            while first < len(groups):
                last = next((j for j in range(_last_group(groups, first), first, -1)
                             if phone_key(text[groups[first][0]:groups[j - 1][1]]) in self._phones), None)
                if last is None:
                    first += 1
                    continue
                spans.append((groups[first][0], groups[last - 1][1]))
                first = last
        return spans

    def _replace(self, text: str, spans: list[tuple[int, int]], accept: Callable[[str, int], bool] | None) -> str:
        pieces, done = [], 0
        for start, end in spans:
            if accept is not None and not accept(text, start):
                continue
            pieces += [text[done:start], self._encode(mask_text(self._decode(text[start:end])))]
            done = end
        return "".join(pieces) + text[done:] if pieces else text


def _last_group(groups: list[tuple[int, int]], first: int) -> int:
    """One past the last digit group a phone number starting at group ``first`` can reach."""
    digits = 0
    for j in range(first, len(groups)):
        digits += groups[j][1] - groups[j][0]
        if digits > MAX_PHONE_DIGITS:
            return max(j, first + 1)
    return len(groups)


def _whole_word(text: str, start: int, end: int) -> bool:
    """A value starting or ending in a Latin letter or digit is not part of a longer word or number."""
    before = start > 0 and _WORD.match(text[start - 1]) and _WORD.match(text[start])
    after = end < len(text) and _WORD.match(text[end]) and _WORD.match(text[end - 1])
    return not (before or after)
