"""Tolerant cell parsing: dates in every way people type them, numbers, yes/no, vocabularies."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from pyxl.core.values import (clean_categories, clean_text, is_blank, member, parse_bool, parse_dates,
                              parse_datetimes, parse_numbers, parse_vocab, text_cells)

TODAY = dt.date(2026, 3, 10)
D = dt.date


def obj(*values) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def as_dates(arr) -> list:
    return [None if np.isnat(d) else d.astype(dt.date) for d in arr]


# Excel serials: 2025-01-01 is 45658, so 2026-01-01 is 45658 + 365 = 46023 and 2026-03-05 is 46023 + 31 + 28 + 4.
SERIAL_2026_03_05 = 46023 + 31 + 28 + 4


@pytest.mark.parametrize("typed, expected", [
    (D(2026, 3, 5), D(2026, 3, 5)),
    (dt.datetime(2026, 3, 5, 17, 45), D(2026, 3, 5)),
    (pd.Timestamp("2026-03-05 08:00"), D(2026, 3, 5)),
    (np.datetime64("2026-03-05"), D(2026, 3, 5)),
    ("2026-03-05", D(2026, 3, 5)),
    ("2026/3/5", D(2026, 3, 5)),
    ("2026年3月5日", D(2026, 3, 5)),
    ("2026年3月5号", D(2026, 3, 5)), ("２０２６年３月５日", D(2026, 3, 5)),
    ("2026.3.5", D(2026, 3, 5)),
    ("20260305", D(2026, 3, 5)),
    (20260305, D(2026, 3, 5)),
    ("3-5", D(2026, 3, 5)),            # month-day: this year (of "today")
    ("3月5日", D(2026, 3, 5)),
    ("  2026-3-5  ", D(2026, 3, 5)),   # whitespace
    ("2026-03-05 14:30", D(2026, 3, 5)),
    ("2026-03-05T14:30:00", D(2026, 3, 5)),
    (SERIAL_2026_03_05, D(2026, 3, 5)),
    (float(SERIAL_2026_03_05) + 0.75, D(2026, 3, 5)),  # serial with a time of day
    (46023, D(2026, 1, 1)),
])
def test_dates_people_type(typed, expected):
    days, bad = parse_dates(obj(typed), TODAY)
    assert as_dates(days) == [expected] and not bad[0]


@pytest.mark.parametrize("typed", ["next Monday", "2026-13-01", "2026/2/30", "3/5/2026x", True, -5, 0,
                                   "明天", "20261399"])
def test_unreadable_dates_are_flagged_not_raised(typed):
    days, bad = parse_dates(obj(typed), TODAY)
    assert np.isnat(days[0]) and bad[0]


@pytest.mark.parametrize("typed", [None, float("nan"), "", "   ", pd.NaT, np.datetime64("NaT"), pd.NA])
def test_blank_dates_are_not_errors(typed):
    days, bad = parse_dates(obj(typed), TODAY)
    assert np.isnat(days[0]) and not bad[0]


def test_mixed_column_keeps_every_readable_cell():
    cells = obj(D(2026, 3, 5), "2026/3/6", None, "oops", SERIAL_2026_03_05, "  ")
    days, bad = parse_dates(cells, TODAY)
    assert as_dates(days) == [D(2026, 3, 5), D(2026, 3, 6), None, None, D(2026, 3, 5), None]
    assert bad.tolist() == [False, False, False, True, False, False]


def test_datetime_dtype_column_and_times_kept():
    col = pd.Series(pd.to_datetime(["2026-03-05 09:30", None]))
    days, bad = parse_dates(col, TODAY)
    assert as_dates(days) == [D(2026, 3, 5), None] and not bad.any()
    stamps, _ = parse_datetimes(obj(dt.datetime(2026, 3, 5, 9, 30), D(2026, 3, 6), "2026/3/7"), TODAY)
    assert stamps.tolist() == [dt.datetime(2026, 3, 5, 9, 30), dt.datetime(2026, 3, 6), dt.datetime(2026, 3, 7)]


def test_out_of_range_date_objects_are_flagged():
    days, bad = parse_dates(obj(dt.date(1, 1, 1), dt.datetime(2026, 1, 1), None), TODAY)
    assert bad[1] is np.False_ and not bad[2]
    assert np.isnat(days[0]) == bad[0]  # either read or reported, never silently lost


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("typed, expected", [
    (1000, 1000.0), ("1,000", 1000.0), ("¥1,234.5", 1234.5), ("50万", 500_000.0), ("5.5万元", 55_000.0),
    ("RMB 800", 800.0), ("  12 ", 12.0), ("１２", 12.0), ("１，０００", 1000.0),
])
def test_numbers(typed, expected):
    numbers, bad = parse_numbers(obj(typed))
    assert numbers[0] == expected and not bad[0]


def test_numbers_bad_and_blank():
    numbers, bad = parse_numbers(obj("abc", None, "", "3 calls"))
    assert np.isnan(numbers).all()
    assert bad.tolist() == [True, False, False, True]


def test_numeric_dtype_fast_path():
    numbers, bad = parse_numbers(pd.Series([1.5, np.nan]))
    assert numbers[0] == 1.5 and np.isnan(numbers[1]) and not bad.any()


# ---------------------------------------------------------------- yes/no and vocabularies
@pytest.mark.parametrize("typed, yes", [
    ("是", True), ("否", False), ("Yes", True), ("NO", False), (" y ", True), (True, True), (False, False),
    (1, True), (0, False), (1.0, True), (0.0, False), ("√", True), ("×", False), ("KP", True), ("ｙｅｓ", True),
])
def test_bool(typed, yes):
    values, bad = parse_bool(obj(typed))
    assert values[0] is np.bool_(yes) and not bad[0]


def test_bool_bad_and_blank():
    values, bad = parse_bool(obj("maybe", None, "", 2))
    assert values.tolist() == [False] * 4
    assert bad.tolist() == [True, False, False, True]


def test_vocab_labels_aliases_and_unknown():
    keys, bad = parse_vocab(obj("电话", "Phone", "call", "拜访", "面谈", "WeChat", "fax", None), "channel")
    assert keys.tolist()[:6] == ["phone", "phone", "phone", "visit", "visit", "wechat"]
    assert pd.isna(keys[6]) and pd.isna(keys[7])
    assert bad.tolist() == [False] * 6 + [True, False]
    keys, _ = parse_vocab(obj("有进展", "考虑中", "不接受", "签约", "Considering"), "outcome")
    assert keys.tolist() == ["progress", "considering", "refused", "deal", "considering"]


def test_blank_and_clean_text():
    cells = obj(None, "", "  ", "x", 0, float("nan"), 1001.0, " JRN01001 ")
    assert is_blank(cells).tolist() == [True, True, True, False, False, True, False, False]
    cleaned = clean_text(cells)
    assert [None if pd.isna(v) else v for v in cleaned] == [None, None, None, "x", "0", None, "1001", "JRN01001"]


def test_text_helpers_agree_and_spellings_of_one_value_share_a_code():
    cells = obj(None, "", "  ", "x", 0, float("nan"), 1001.0, " JRN01001 ", "JRN01001", 1001, "x")
    expected = ["", "", "", "x", "0", "", "1001", "JRN01001", "JRN01001", "1001", "x"]
    assert text_cells(cells).tolist() == expected
    assert clean_text(cells).fillna("").tolist() == expected
    categories = clean_categories(cells)
    assert categories.astype(object).where(categories.notna(), "").tolist() == expected
    codes = categories.cat.codes.tolist()
    assert codes[7] == codes[8] and codes[6] == codes[9] and codes[3] == codes[10] and codes[:3] == [-1, -1, -1]
    assert member(categories, ["JRN01001", "0"]).tolist() == [e in ("JRN01001", "0") for e in expected]
    assert member(clean_text(cells), ["x"]).tolist() == [e == "x" for e in expected]


def test_a_categorical_column_reads_like_its_cells():
    """Categorical columns (the log's cleaned IDs, or a typed reader's dictionary-encoded texts) are read
    through their own codes: every parser gives what it gives for the same cells as objects."""
    cells = obj("是", " 否 ", None, "maybe", "是", "", " JRN01001")
    categorical = cells.astype("category").cat.add_categories(["unused"])
    for parse in (lambda c: clean_text(c).fillna("<NA>").tolist(), lambda c: is_blank(c).tolist(),
                  lambda c: [a.tolist() for a in parse_bool(c)],
                  lambda c: [parse_vocab(c, "bool")[0].fillna("<NA>").tolist(), parse_vocab(c, "bool")[1].tolist()],
                  lambda c: member(c, ["是", "maybe"]).tolist()):
        assert parse(categorical) == parse(cells)


@settings(max_examples=80, deadline=None)
@given(st.dates(min_value=D(1950, 1, 1), max_value=D(2200, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}.{m}.{d}", "{y}{m:02d}{d:02d}"]))
def test_any_date_round_trips_through_text(day, pattern):
    text = pattern.format(y=day.year, m=day.month, d=day.day)
    days, bad = parse_dates(obj(text, day), TODAY)
    assert as_dates(days) == [day, day] and not bad.any()
