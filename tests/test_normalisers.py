"""One normaliser per concept (lists, phone numbers, company names, cell values), and the places that used to
disagree because each had its own copy: the Rules' key tiers, the duplicate check vs the roll-up's 撞单 list,
and the importer's merge by phone."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.schema import fields
from pyxl.core.values import company_key, company_keys, phone_key, plain, split_list
from pyxl.rollup import duplicates

from conftest import TODAY

runner = CliRunner()
LEDGER = {f.key: f.zh for f in fields("ledger")}


@pytest.mark.parametrize("typed, items", [
    ("3K，3N", ["3K", "3N"]), ("3K, 3N,", ["3K", "3N"]), ("B2、B3", ["B2", "B3"]), ("", []), (None, []),
    (" A ", ["A"]), (7.0, ["7"]),
])
def test_split_list(typed, items):
    assert split_list(typed) == items


def test_split_list_with_extra_separators():
    assert split_list("55/35，25", "/") == ["55", "35", "25"]


@pytest.mark.parametrize("typed", ["13800001234", "138-0000-1234", "+86 138 0000 1234", "0086-13800001234",
                                   "86 13800001234", 13800001234, 13800001234.0, "（86）138 0000 1234"])
def test_one_mobile_number_typed_many_ways_is_one_key(typed):
    assert phone_key(typed) == "13800001234"


def test_landline_with_and_without_country_code():
    assert phone_key("021-5555 6666") == phone_key("+86 21 5555 6666") == "02155556666"
    assert phone_key("123") == phone_key("") == phone_key(None) == ""  # too short to name a phone


def test_company_key_ignores_legal_form_case_spaces_and_brackets():
    assert company_key("甲有限 公司") == company_key("甲有限公司") == company_key("（甲）公司") == "甲"
    assert company_key("Acme Trading 公司") == company_key("acmetrading") == "acmetrading"


def test_company_keys_with_the_separator_typed_in_a_name():
    names = np.array(["上海 甲（有限公司）", "A\x1fB Co", "", "Beta公司"], dtype=object)
    expected = ["上海甲", "a\x1fbco", "", "beta"]
    assert company_keys(names).tolist() == expected  # one name holds the join separator: name by name
    assert company_keys(np.delete(names, 1)).tolist() == [expected[0], *expected[2:]]  # the joined column


@pytest.mark.parametrize("value, expected", [
    (np.int64(3), 3), (np.float64(2.5), 2.5), (np.nan, None), (pd.NA, None), (pd.NaT, None), (None, None),
    (np.datetime64("2026-03-05"), dt.date(2026, 3, 5)), (pd.Timestamp("2026-03-05 09:30"), dt.datetime(2026, 3, 5, 9, 30)),
    (np.datetime64("NaT"), None), (np.bool_(True), True), ("x", "x"),
])
def test_plain_cell_values(value, expected):
    out = plain(value)
    assert out == expected and type(out) is type(expected)


# ---------------------------------------------------------------- the drift, on real workbooks
def _typed_customers(path: Path, rows: list[dict]) -> None:
    book = WorkbookPackage.open(path)
    book.append_table_rows(L.T_CUSTOMERS, [{LEDGER[k]: v for k, v in r.items()} for r in rows])
    book.save(backup=False)


def _set_param(path: Path, key: str, value: str) -> None:
    book = WorkbookPackage.open(path)
    params = book.read_table(L.T_PARAMS)
    row = next(r for r, k in params.iloc[:, 0].items() if k == key)
    book.set_column_values(L.T_PARAMS, params.columns[1], {row: value})
    book.save(backup=False)


def _weekly_value(path: Path, metric_label: str) -> object:
    ws = openpyxl.load_workbook(path)["看板"]
    for row in ws.iter_rows(values_only=True):
        for i, v in enumerate(row):
            if v == metric_label:
                return row[i + 1]
    raise AssertionError(f"no {metric_label} on the Dashboard")


def test_key_tiers_typed_with_a_full_width_comma_are_two_codes(empty_book):
    _set_param(empty_book, "key_tiers", "3K，3N")
    _typed_customers(empty_book, [{"customer_id": "JRN01001", "name": "甲", "owner": "张伟", "tier": "4K"},
                                  {"customer_id": "JRN01002", "name": "乙", "owner": "张伟", "tier": "4N"}])
    for cid, tier in (("JRN01001", "3K"), ("JRN01002", "3N")):
        book = WorkbookPackage.open(empty_book)
        actions.log_contact(book, cid, "phone", "yes", "progress", new_tier=tier, today=TODAY,
                            when=dt.datetime.combine(TODAY, dt.time(10)))
        book.save(backup=False)
    from pyxl.core.i18n import texts
    assert _weekly_value(empty_book, texts("zh-CN")["weekly"]["new_key"]) == 2


def test_duplicate_check_and_rollup_agree_on_names_and_phones(empty_book):
    rows = [{"customer_id": "JRN01001", "name": "甲有限 公司", "owner": "张伟", "phone": "0086-13800001234", "tier": "5"},
            {"customer_id": "JRN01002", "name": "甲公司", "owner": "李娜", "phone": "138 0000 1234", "tier": "5"}]
    _typed_customers(empty_book, rows)
    result = runner.invoke(app, ["check", str(empty_book), "--today", TODAY.isoformat(), "--json", "--no-backup"])
    import json
    rules = {(f["rule"], f["cell"]) for f in json.loads(result.output)["flags"]}
    for rule, col in (("customer.same_name", "name"), ("customer.same_phone", "phone")):
        assert {c for r, c in rules if r == rule} == {f"客户台账!{_col(empty_book, col)}{n}" for n in (2, 3)}
    team = pd.DataFrame({"owner": ["张伟", "李娜"], "phone": [r["phone"] for r in rows],
                         "name": [r["name"] for r in rows], "_book": [1, 2]})
    assert set(duplicates(team)["match"]) == {"name", "phone"}  # the 撞单 list names both rows on both keys


def _col(path: Path, key: str) -> str:
    from openpyxl.utils import get_column_letter
    info = WorkbookPackage.open(path).tables()[L.T_CUSTOMERS]
    return get_column_letter(info.first_col + list(info.columns).index(LEDGER[key]))


def test_import_merges_a_phone_typed_with_the_international_prefix(empty_book, tmp_path):
    _typed_customers(empty_book, [{"customer_id": "JRN01001", "name": "甲", "owner": "张伟", "phone": "13800001234",
                                   "tier": "5"}])
    source = tmp_path / "crm.csv"
    source.write_text("客户名称,电话,备注\n甲贸易,0086-13800001234,老客户\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(source), "--into", str(empty_book), "--today", TODAY.isoformat(),
                                 "--json", "--no-backup"])
    assert result.exit_code == 0, result.output
    ledger = actions.load(WorkbookPackage.open(empty_book)).ledger
    assert len(ledger) == 1 and ledger["notes"].iloc[0] == "老客户"  # merged into the row, not a second customer
