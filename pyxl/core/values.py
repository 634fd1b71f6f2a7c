"""Tolerant, vectorised parsing of what people type into cells: dates, numbers, yes/no.

Every parser returns the parsed values and a mask of cells that were typed but could not be read, so
the caller can flag exactly those cells and still compute everything else.
"""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

from .schema import vocabulary

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


class ErrorValue(str):
    """An Excel error value in a cell (#N/A, #REF!, …), as readers deliver it: text to everything that only
    shows it, and told apart from text and blanks by ``error_cells``."""


def error_cells(series: pd.Series) -> np.ndarray:
    """Which cells hold an Excel error value."""
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in _NEVER_TEXT:  # numbers, dates: no error among them
        return np.zeros(len(values), dtype=bool)
    return np.fromiter(map(type, values), dtype=object, count=len(values)) == ErrorValue  # types compared in C

_SERIAL_RANGE = (1, 2958465)  # 1900-01-01 .. 9999-12-31
_DATE_SEPARATORS = re.compile(r"\s*[年月/.\-]\s*")
_TRAILING_DAY = re.compile(r"[日号]$")
_AMOUNT_NOISE = re.compile(r"[,，\s¥￥$€£元]|RMB|CNY|USD", re.IGNORECASE)


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for None/NaN/NaT) and the distinct cell values: cells repeat (yes/no, channels, tiers, IDs),
    so per-value work is done once per distinct value. Values that compare equal (1, 1.0, True) share a code.
    A categorical column (the log's customer IDs once cleaned) gives its own codes: no hashing."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), series.cat.categories.to_numpy(dtype=object)
    if isinstance(series.dtype, pd.StringDtype):  # pd.NA hashes in Python, None in C: 5x faster on a blank column
        return pd.factorize(series.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
    return pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)


def distinct_map(series: pd.Series, func, dtype=object, na=None) -> np.ndarray:
    """``func`` applied to each distinct cell value once; ``na`` for empty cells (None/NaN/NaT)."""
    codes, uniques = _factorize(series)
    mapped = np.array([func(u) for u in uniques] + [na], dtype=dtype)
    return mapped[codes]  # code -1 (empty) picks the trailing ``na``


def distinct_texts(series: pd.Series, func) -> pd.Series:
    """``func`` (a cell value -> text or None) applied to each distinct cell value once, as a string column
    (NA for empty cells and None)."""
    codes, uniques = _factorize(series)
    texts = pd.array([func(u) for u in uniques], dtype="string")
    return pd.Series(texts.take(codes, allow_fill=True), index=series.index)


def _texts(values: np.ndarray) -> np.ndarray:
    """Cell values as stripped text, '' when blank; numbers typed into a text column such as 1001.0 -> '1001'."""
    return np.array([v.strip() if type(v) is str else "" if v is None else cell_text(v) for v in values],
                    dtype=object)


_NEVER_TEXT = frozenset({"empty", "floating", "integer", "mixed-integer-float", "decimal", "boolean", "datetime",
                         "date", "time", "timedelta", "datetime64", "timedelta64"})


def is_blank(series: pd.Series) -> pd.Series:
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in _NEVER_TEXT:  # numbers, dates: only empty cells are blank
        return pd.Series(pd.isna(values), index=series.index)
    codes, uniques = _factorize(series)
    blank = np.append(_texts(uniques) == "", True)
    return pd.Series(blank[codes], index=series.index)


def cell_text(value: object) -> str:
    """One cell as stripped text: blank for None/NaN/NaT; whole floats without '.0' (1001.0 -> '1001');
    date-times at midnight as their date (2026-03-05)."""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else str(int(value)) if float(value).is_integer() else str(value)
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    return str(value).strip()


def text_cells(series: pd.Series) -> np.ndarray:
    """Cells as stripped text, '' when blank, cell by cell: for mostly distinct columns (names, phones, IDs of
    the ledger), where hashing each value to strip distinct ones only would cost more than stripping all."""
    return _texts(series.to_numpy(dtype=object))


def clean_text(series: pd.Series) -> pd.Series:
    """Cells as stripped text (numbers typed for text such as 1001.0 -> '1001'); NA when blank. Each distinct
    value is stripped once: for long columns of repeated values (the log's owners, tiers, steps)."""
    codes, texts = _clean_codes(series)
    return pd.Series(pd.array(texts, dtype="string").take(codes, allow_fill=True), index=series.index)


def clean_categories(series: pd.Series) -> pd.Series:
    """``clean_text`` as a categorical: for long columns of repeated values (the log's customer IDs), so
    later grouping, joining and membership work on integer codes instead of hashing every string again."""
    codes, texts = _clean_codes(series)
    categories = pd.Index(texts, dtype=object)
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories, validate=False), index=series.index)


def _clean_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 when blank) into the distinct stripped texts of a column (' A' and 'A' are one value)."""
    codes, uniques = _factorize(series)
    text = _texts(uniques)
    if (text == uniques).all() and (text != "").all():  # typed clean (strings, nothing to strip): distinct
        return codes, text
    merged, texts = pd.factorize(np.where(text == "", None, text), use_na_sentinel=True)
    return np.append(merged, -1)[codes], texts.astype(object)


def parse_dates(series: pd.Series, today: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Cells -> (datetime64[D] array, bad mask). Accepts date cells, Excel serials and text such as
    ``2026-03-05``, ``2026/3/5``, ``2026年3月5日``, ``2026.3.5``, ``20260305`` and ``3-5`` (this year)."""
    stamps, bad = parse_datetimes(series, today)
    return stamps.astype("datetime64[D]"), bad


def parse_datetimes(series: pd.Series, today: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """As ``parse_dates``, keeping the time of date-time cells (datetime64[s]; text and serials: midnight)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.to_numpy(dtype="datetime64[s]"), np.zeros(len(series), dtype=bool)
    values = series.to_numpy(dtype=object)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "empty":
        return np.full(len(values), np.datetime64("NaT", "s")), np.zeros(len(values), dtype=bool)
    if inferred in ("datetime", "date", "datetime64"):
        return _parse_date_cells(values)  # the usual case: real date cells only
    out = np.full(len(values), np.datetime64("NaT", "s"))
    kinds = np.array([_kind(v) for v in values], dtype=object)
    dates = kinds == "date"
    if dates.any():
        out[dates] = _to_stamps(values[dates])
    numbers = kinds == "number"
    if numbers.any():
        out[numbers] = _parse_serials(values[numbers].astype(float), today)
    texts = kinds == "text"
    if texts.any():
        out[texts] = _parse_text(pd.Series(values[texts], dtype=object).astype(str), today)
    bad = (kinds != "blank") & np.isnat(out)
    return out, bad


def _parse_date_cells(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Date cells and blanks only: converted in one pass; a date out of range is unreadable."""
    out = _to_stamps(values)
    bad = np.isnat(out)
    if bad.any():
        bad[bad] = pd.notna(values[bad])
    return out, bad


def _to_stamps(values: np.ndarray) -> np.ndarray:
    """Date/date-time objects -> datetime64[s]; out-of-range ones -> NaT (reported as unreadable)."""
    parsed = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
    return parsed.to_numpy(dtype="datetime64[s]")


def _parse_serials(serial: np.ndarray, today: dt.date) -> np.ndarray:
    """Excel serial numbers, and dates typed as a number such as 20260305."""
    parsed = np.full(serial.shape, np.datetime64("NaT", "D"))
    compact = (serial >= 19000101) & (serial <= 99991231)
    ok = ~compact & (serial >= _SERIAL_RANGE[0]) & (serial <= _SERIAL_RANGE[1])
    parsed[ok] = EXCEL_EPOCH + serial[ok].astype("int64").astype("timedelta64[D]")
    if compact.any():
        parsed[compact] = _parse_text(pd.Series(serial[compact].astype("int64").astype(str)), today)
    return parsed


def _kind(value: object) -> str:
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "blank"
    if isinstance(value, np.datetime64) and np.isnat(value):
        return "blank"
    if isinstance(value, (dt.date, np.datetime64, pd.Timestamp)):
        return "date"
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    return "blank" if str(value).strip() == "" else "text"


def _parse_text(texts: pd.Series, today: dt.date) -> np.ndarray:
    cleaned = texts.str.normalize("NFKC").str.strip().str.split(r"[ T]", n=1, regex=True).str[0]
    cleaned = cleaned.str.replace(_TRAILING_DAY, "", regex=True).str.replace(_DATE_SEPARATORS, "-", regex=True)
    compact = cleaned.str.fullmatch(r"\d{8}")
    cleaned = cleaned.where(~compact, cleaned.str[:4] + "-" + cleaned.str[4:6] + "-" + cleaned.str[6:])
    month_day = cleaned.str.fullmatch(r"\d{1,2}-\d{1,2}")
    cleaned = cleaned.where(~month_day, f"{today.year}-" + cleaned)
    parsed = pd.to_datetime(cleaned, format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[D]")


def parse_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Cells -> (float array, bad mask). Accepts thousands separators, currency marks and 万 (10,000)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(series), dtype=bool)
    if pd.api.types.infer_dtype(series, skipna=True) in ("empty", "integer", "floating", "mixed-integer-float"):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        return numbers, np.zeros(len(series), dtype=bool)  # number cells (or none at all): nothing to clean
    text = series.astype("string").str.normalize("NFKC").str.strip()  # full-width digits from a Chinese IME
    blank = text.isna() | text.eq("")
    cleaned = text.str.replace(_AMOUNT_NOISE, "", regex=True)
    wan = cleaned.str.endswith("万").fillna(False)
    cleaned = cleaned.str.rstrip("万")
    numbers = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    numbers = np.where(wan.to_numpy(), numbers * 10_000, numbers)
    return numbers, (~blank.to_numpy()) & np.isnan(numbers)


def parse_vocab(series: pd.Series, vocab: str) -> tuple[pd.Series, np.ndarray]:
    """Cells -> (term keys, bad mask) for a vocabulary of ``templates/schema.toml`` (yes/no, channel, …)."""
    codes, keys, bad = _vocab_codes(series, vocab)
    return pd.Series(pd.array(keys, dtype="string").take(codes, allow_fill=True), index=series.index), bad


def _vocab_codes(series: pd.Series, vocab: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factorised cells, the term key of each distinct value (None when unknown), and the bad-cell mask."""
    parse = vocabulary(vocab).parse
    codes, uniques = _factorize(series)
    keys = np.array([parse(u) for u in uniques], dtype=object)
    bad = np.append(pd.isna(keys) & (_texts(uniques) != ""), False)[codes]
    return codes, keys, bad


def parse_bool(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    yes, _, bad = parse_yes_no(series)
    return yes, bad


def parse_yes_no(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells -> (yes mask, no mask, bad mask): a cell that is none of the three is blank."""
    codes, keys, bad = _vocab_codes(series, "bool")
    return np.append(keys == "yes", False)[codes], np.append(keys == "no", False)[codes], bad


def member(series: pd.Series, values) -> np.ndarray:
    """``series.isin(values)`` as a bool array, hashing each distinct value once (for long columns of a few terms)."""
    return member_of(series, values)[0]


def member_of(series: pd.Series, *value_sets) -> list[np.ndarray]:
    """``member`` for several sets of values at once: the column is hashed once."""
    codes, uniques = _factorize(series)
    distinct = pd.Index(uniques, dtype=object)
    return [np.append(distinct.isin(values), False)[codes] for values in value_sets]


# ---------------------------------------------------------------- normalisers: one per concept
_LIST_SEPARATORS = re.compile(r"[,，、]")


def split_list(text: object, separators: str = "") -> list[str]:
    """A comma-separated list typed in a cell (half- or full-width comma, 、), items stripped, blanks dropped;
    ``separators`` adds characters that also separate (e.g. "/" in a load pattern)."""
    text = cell_text(text)
    for sep in separators:
        text = text.replace(sep, ",")
    return [item.strip() for item in _LIST_SEPARATORS.split(text) if item.strip()]


_NON_DIGIT = re.compile(r"\D")
_MIN_PHONE_DIGITS = 7  # a local landline without area code; anything shorter is not a phone number


def phone_key(value: object) -> str:
    """The number a phone cell names, so that one number typed several ways is one key: digits only, the
    international prefix (00 or +) and China's country code 86 dropped, and the trunk 0 of a landline typed
    after +86 restored (0086-138… = +86 138… = 138…; +86 21 1234 5678 = 021-12345678). '' when not a number."""
    return _phone_key_of_text(cell_text(value))


def phone_keys(values: np.ndarray) -> np.ndarray:
    """``phone_key`` of each cell of a column."""
    return np.array([_phone_key_of_text(text) for text in _texts(values)], dtype=object)


def _phone_key_of_text(text: str) -> str:
    digits = text if text.isdigit() else _NON_DIGIT.sub("", text)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
        if not digits.startswith(("0", "1")):
            digits = "0" + digits
    return digits if len(digits) >= _MIN_PHONE_DIGITS else ""


_NAME_NOISE = re.compile("[ \t\n\r\xa0\u3000()（）]")  # not \s: it matches the join separator \x1f
_LEGAL_FORMS = ("有限公司", "公司")


def company_key(name: object) -> str:
    """A customer or company name compared without case, spaces, brackets and its legal form
    (有限公司, 公司, …), wherever the form stands: 甲有限 公司 = 甲有限公司 = 甲."""
    key = _NAME_NOISE.sub("", cell_text(name).casefold())
    for form in _LEGAL_FORMS:
        key = key.replace(form, "")
    return key


def company_keys(names: np.ndarray) -> np.ndarray:
    """``company_key`` of each cell of a column. The column is joined into one string so each step runs once
    in C rather than 100,000 times; a name holding the separator falls back to one by one."""
    texts = _texts(names)
    keys = company_key("\x1f".join(texts)).split("\x1f")
    return np.array(keys if len(keys) == len(texts) else [company_key(n) for n in texts], dtype=object)


def plain(value: object) -> object:
    """A value as a plain Python cell value for writing: None for any blank (None, NaN, NA, NaT); numpy numbers
    and bools as Python's; pandas/numpy date-times as ``datetime.date`` at midnight, else ``datetime``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        if pd.isna(value):
            return None
        stamp = pd.Timestamp(value)
        return stamp.date() if stamp == stamp.normalize() else stamp.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
