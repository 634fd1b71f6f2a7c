"""Cell values and cell XML: Python values encoded as a sheet's ``<c>`` elements (inline strings, Excel
serial dates), and the cells of one ``<row>`` read as text.

A value is written as its *tail*: what follows ``<c r="..." s="..."`` (``' t="inlineStr"><is>…</is></c>'``,
``'><v>…</v></c>'``, or ``EMPTY`` for an empty cell), so a cell is its reference, its style and its tail."""
from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .a1 import col_index, col_letter

MAX_CELL_TEXT = 32767  # Excel's limit on characters in a cell
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff&<>]|_x[0-9A-Fa-f]{4}_")
_ALWAYS_FITS = MAX_CELL_TEXT // 7  # escaping grows text at most 7-fold ("\r" -> "_x000D_")
_DAYS = frozenset({dt.date, dt.datetime})
_SURE_KINDS = frozenset({float, int, bool, type(None), str}) | _DAYS  # the types surely_encodable tells about
_EPOCH = {False: dt.date(1899, 12, 31).toordinal(), True: dt.date(1904, 1, 1).toordinal()}
EMPTY = "/>"  # the tail of an empty cell
_SAME_TAIL = frozenset({str, int, dt.date, type(None)})  # equal values of these types encode alike (0.0 == -0.0 not)


def _text_xml(text: str) -> str:
    if _SPECIAL.search(text):
        text = _ILLEGAL_XML.sub("", text)
        text = _XESCAPE.sub(r"_x005F_\1", text)  # keep a literal "_x0041_" from being decoded by Excel
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "_x000D_")
    if len(text) > MAX_CELL_TEXT:
        raise ValueError(f"text longer than Excel's {MAX_CELL_TEXT} characters: {text[:40]!r}...")
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<is><t{space}>{text}</t></is>"


def _after_epoch(day: dt.date, date1904: bool) -> bool:
    """Whether the date system can hold the day (1900: from 1900-01-01, 1904: from 1904-01-01)."""
    return day.toordinal() - _EPOCH[date1904] >= (0 if date1904 else 1)


def _serial(value: dt.date | dt.time, date1904: bool) -> float:
    """Excel serial number of a date/datetime/time (1900 or 1904 date system)."""
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not _after_epoch(value, date1904):
        raise ValueError(f"date {value} is before Excel's epoch")
    days = value.toordinal() - _EPOCH[date1904]
    if not date1904 and days >= 60:
        days += 1  # Excel's phantom 1900-02-29
    return days + (_serial(value.time(), date1904) if isinstance(value, dt.datetime) else 0)


def encode_value(value: Any, date1904: bool = False) -> tuple[str, str] | None:
    """Python value -> (t attribute, inner XML) of a cell, or None for an empty cell.

    Text is always an inline string (never a formula, even when it starts with "=")."""
    kind = type(value)
    if kind is str:  # fast paths for the common exact types
        return (' t="inlineStr"', _text_xml(value)) if value else None
    if kind is float:
        return ("", f"<v>{value!r}</v>") if math.isfinite(value) else None
    if kind is int:
        return "", f"<v>{value}</v>"
    if kind is dt.date:
        return "", f"<v>{int(_serial(value, date1904))}</v>"
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, str) and not value):
        return None
    if isinstance(value, str):
        return ' t="inlineStr"', _text_xml(value)
    if isinstance(value, (bool, np.bool_)):
        return ' t="b"', f"<v>{int(value)}</v>"
    if isinstance(value, numbers.Integral):
        return "", f"<v>{int(value)}</v>"
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return None
    if isinstance(value, (dt.date, dt.time)):
        serial = _serial(value, date1904)
        return "", f"<v>{int(serial) if serial == int(serial) else repr(serial)}</v>"
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        number = float(value)
        return ("", f"<v>{repr(number)}</v>") if math.isfinite(number) else None
    raise TypeError(f"cannot write a {type(value).__name__} to a cell: {value!r}")


def cell_tail(value: Any, date1904: bool = False) -> str:
    """The tail of a cell holding the value (``encode_value``'s pair as cell XML)."""
    enc = encode_value(value, date1904)
    return EMPTY if enc is None else f"{enc[0]}>{enc[1]}</c>"


def cell_tails(values: Iterable[Any], date1904: bool) -> list[str]:
    """``cell_tail`` of each value; each distinct text, integer, day or blank is encoded once."""
    tails = _Tails(date1904)
    return [tails["", type(value), value] for value in values]


def styled_cell_tails(cells: Iterable[Any], attrs: Mapping[str | None, str], date1904: bool) -> list[str]:
    """What follows ``<c r="REF"`` in each cell of a generated sheet, a value or (value, style role): the ``s``
    attribute of its role (``attrs``, "" for None) and its tail; each distinct role with a text, integer, day or
    blank is encoded once. Raises as ``cell_tail`` does, or KeyError for a role without an attribute."""
    tails = _Tails(date1904)
    return [tails[attrs[cell[1]], type(cell[0]), cell[0]] if isinstance(cell, tuple) else tails["", type(cell), cell]
            for cell in cells]


class _Tails(dict[tuple[str, type, Any], str]):
    """(s attribute, type, value) -> the attribute and the cell tail, kept for the types whose equal values
    encode alike."""

    def __init__(self, date1904: bool) -> None:
        super().__init__()
        self.date1904 = date1904

    def __missing__(self, key: tuple[str, type, Any]) -> str:
        attr, kind, value = key
        tail = attr + cell_tail(value, self.date1904)
        if kind in _SAME_TAIL:
            self[key] = tail
        return tail


def surely_encodable(values: Sequence[Any], date1904: bool) -> bool:
    """Whether ``encode_value`` cannot raise for any of the values (checked without encoding them, type by type):
    numbers, booleans and blanks, text short enough even when escaped, days in the date system."""
    kinds = set(map(type, values))
    if not kinds <= _SURE_KINDS:
        return False
    if str in kinds and max(len(v) for v in values if type(v) is str) > _ALWAYS_FITS:
        return False
    return all(_after_epoch(min(v for v in values if type(v) is kind), date1904) for kind in kinds & _DAYS)


# --- date formats --------------------------------------------------------------------------------
_DATE_FORMAT_IDS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})  # built-in
_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')  # quoted text, [colour]/[$-locale], escapes


def is_date_format(code: str) -> bool:
    """Whether a number format code shows a date: y or d, or m (month) without h or s (then it is minutes),
    outside quoted text and brackets."""
    code = _LITERALS.sub("", code.lower())
    return bool(re.search(r"[yd]", code) or ("m" in code and not re.search(r"[hs]", code)))


def date_style_ids(cell_xfs: list[tuple[int, int]], formats: dict[int, str]) -> frozenset[str]:
    """The style indexes (``s`` attribute values) among ``cell_xfs`` (index, numFmtId) that show a date;
    ``formats``: the workbook's own numFmtId -> format code."""
    return frozenset(str(i) for i, fmt in cell_xfs
                     if fmt in _DATE_FORMAT_IDS or (fmt in formats and is_date_format(formats[fmt])))


# --- cell XML ----------------------------------------------------------------------------------
_CELL = re.compile(r"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
_CELL_REF = re.compile(r'\sr="([A-Z]+)\d+"')
S_ATTR = re.compile(r'\ss="(\d+)"')


def row_cells(inner: str, r: int) -> dict[int, str]:
    """Column -> cell XML of every cell in a row (cells without r= follow their predecessor)."""
    out: dict[int, str] = {}
    col = 0
    for xml in _CELL.findall(inner):
        m = _CELL_REF.search(xml[: xml.index(">")])
        col = col_index(m.group(1)) if m else col + 1
        out[col] = xml if m else xml.replace("<c", f'<c r="{col_letter(col)}{r}"', 1)
    return out


def cell_xml(ref: str, style: str | None, tail: str) -> str:
    """The cell ``ref`` with a style and a tail; an empty cell without a style is left out."""
    s = f' s="{style}"' if style is not None else ""
    return f'<c r="{ref}"{s}{tail}' if s or tail != EMPTY else ""


def cell_style(cell: str) -> str | None:
    m = S_ATTR.search(cell, 0, cell.index(">"))
    return m.group(1) if m else None


