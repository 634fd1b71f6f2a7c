"""Tolerant, vectorised parsing of what people type into cells: dates, numbers, yes/no.

Every parser returns the parsed values and a mask of cells that were typed but could not be read, so
the caller can flag exactly those cells and still compute everything else.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from .schema import vocabulary

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_SERIAL_RANGE = (1, 2958465)  # 1900-01-01 .. 9999-12-31
_DATE_SEPARATORS = re.compile(r"\s*[年月/.\-]\s*")
_TRAILING_DAY = re.compile(r"[日号]$")
_AMOUNT_NOISE = re.compile(r"[,，\s¥￥$€£元]|RMB|CNY|USD", re.IGNORECASE)


def distinct_map(series: pd.Series, func, dtype=object, na=None) -> np.ndarray:
    """``func`` applied to each distinct cell value once (cells repeat: yes/no, channels, tiers, IDs);
    ``na`` for empty cells (None/NaN/NaT). Values that compare equal (1, 1.0, True) share one result."""
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [na], dtype=dtype)
    return mapped[codes]  # code -1 (empty) picks the trailing ``na``


def _blank_text(value: object) -> bool:
    return str(value).strip() == ""


def is_blank(series: pd.Series) -> pd.Series:
    return pd.Series(distinct_map(series, _blank_text, bool, True), index=series.index)


def _clean(value: object) -> str | None:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def clean_text(series: pd.Series) -> pd.Series:
    """Cells as stripped text (numbers typed for text such as 1001.0 -> '1001'); NA when blank."""
    return pd.Series(distinct_map(series, _clean), index=series.index, dtype="string")


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
    out = np.full(len(values), np.datetime64("NaT", "s"))
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in ("empty", "datetime", "date", "datetime64"):  # the usual case: real date cells only
        kinds = np.where(pd.isna(values), "blank", "date")
    else:
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
    parse = vocabulary(vocab).parse
    keys = distinct_map(series, lambda v: parse(v) or ("" if _blank_text(v) else None), na="")
    parsed = pd.Series(keys, index=series.index, dtype="string").replace("", pd.NA)
    return parsed, pd.isna(keys)


def parse_bool(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    keys, bad = parse_vocab(series, "bool")
    return keys.eq("yes").fillna(False).to_numpy(dtype=bool), bad
