"""Header matching (schema.toml), tier presets and aliases, and validation of a typed Rules table."""
from __future__ import annotations

import pandas as pd
import pytest

from pyxl.core import schema
from pyxl.core.rules import PRESETS, UNITS, preset_params, preset_rules, rules_from_table
from pyxl.core.schema import fields, match_headers, normalise, vocabulary
from pyxl.core.errors import FollowupError


# ---------------------------------------------------------------- header matching
@pytest.mark.parametrize("header, key", [
    ("客户编码", "customer_id"), ("Customer ID", "customer_id"), ("customer id", "customer_id"),
    ("  CUSTOMER   ID ", "customer_id"), ("ＣＵＳＴＯＭＥＲ　ＩＤ", "customer_id"),  # full-width letters and space
    ("客户编号", "customer_id"), ("下次联系时间", "agreed_date"), ("最近跟进日期", "last_contact"),
    ("最近联系日期", "last_contact"), ("负责人", "owner"), ("Sales Agent", "owner"), ("业务员", "owner"),
    ("客户等级", "tier"), ("Class", "tier"), ("是否KP(决策人)", "kp"), ("是否ＫＰ（决策人）", "kp"),
    ("手机号", "phone"), ("年度合作金额", "revenue"), ("Close Value", "revenue"), ("约定日期", "agreed_date"),
    ("连续未接通", "unreached"), ("无进展次数", "no_progress"), ("分配日期", "assigned"), ("Notes", "notes"),
])
def test_ledger_headers(header, key):
    match = match_headers("ledger", ["名称", header])
    assert match.columns.get(header) == key
    assert match.header_of(key) == header


def test_unknown_and_duplicate_headers_are_reported_and_kept_out():
    headers = ["客户编码", "Name", "微信群", "客户编号", None, "Tier", "类别", "Favourite colour"]
    match = match_headers("ledger", headers)
    assert match.columns == {"客户编码": "customer_id", "Name": "name", "Tier": "tier"}
    assert match.unknown == ["微信群", None, "Favourite colour"]
    assert match.duplicates == ["客户编号", "类别"]
    assert match.header_of("phone") is None


def test_contact_log_headers():
    match = match_headers("contacts", ["联系日期", "客户编号", "跟进方式", "是否接通", "跟进结果", "下次联系时间", "调整类别"])
    assert list(match.columns.values()) == ["when", "customer_id", "channel", "reached", "outcome", "agreed_date",
                                            "new_tier"]
    assert not match.unknown and not match.duplicates


@pytest.mark.parametrize("table", ["ledger", "contacts", "rules"])
def test_no_header_name_is_claimed_by_two_fields(table):
    """Every zh/en label and alias normalises to exactly one field (else matching depends on order)."""
    seen: dict[str, str] = {}
    for f in fields(table):
        for name in {normalise(n) for n in (f.key, f.zh, f.en, *f.aliases)}:
            assert seen.setdefault(name, f.key) == f.key, f"{name!r} is used by {seen[name]} and {f.key}"


def test_computed_fields_and_labels():
    assert schema.computed_keys() == ["earliest", "due", "status", "days_overdue", "next_step", "suggested_tier",
                                      "pool_days_left", "checks"]
    f = schema.field("ledger", "last_contact")
    assert f.label("zh-CN") == "最近联系" and f.label("en") == "Last contact"


@pytest.mark.parametrize("name", ["bool", "channel", "outcome", "stage", "status"])
def test_vocabulary_aliases_are_unambiguous(name):
    seen: dict[str, str] = {}
    for key, term in vocabulary(name).terms.items():
        for alias in {normalise(a) for a in (key, term["zh"], term["en"], *term["aliases"])}:
            assert seen.setdefault(alias, key) == key


def test_vocabulary_labels_round_trip():
    for name in ("bool", "channel", "outcome", "stage", "status"):
        vocab = vocabulary(name)
        for lang in ("zh-CN", "en"):
            assert [vocab.parse(label) for label in vocab.labels(lang)] == list(vocab.terms)


# ---------------------------------------------------------------- tier presets and aliases
MAT = preset_rules("maturity")
ABC = preset_rules("abc")


@pytest.mark.parametrize("typed, code", [
    ("重3", "3K"), ("重点3类", "3K"), ("高三", "3K"), ("3k", "3K"), (" 3K ", "3K"), ("３Ｋ", "3K"),
    ("普3", "3N"), ("普三", "3N"), ("3N", "3N"), ("普4", "4N"), ("重4", "4K"),
    (0, "0"), (0.0, "0"), ("0", "0"), ("新分配", "0"), (1, "1"), (5.0, "5"), ("五类", "5"), ("毁单", "6"),
    ("放弃", "9"), ("9类", "9"),
])
def test_maturity_tier_aliases(typed, code):
    assert MAT.tier_of(pd.Series([typed], dtype=object)).iloc[0] == code


@pytest.mark.parametrize("typed, code", [("A", "A"), ("a", "A"), ("VIP", "A"), ("重点客户", "A"), ("B类", "B"),
                                         ("潜在客户", "C"), ("铅", "D"), ("休克", "X"), ("dormant", "X")])
def test_abc_tier_aliases(typed, code):
    assert ABC.tier_of(pd.Series([typed], dtype=object)).iloc[0] == code


def test_unknown_and_blank_tiers_are_na():
    out = MAT.tier_of(pd.Series(["8", "重5", None, "", "A"], dtype=object))
    assert out.isna().all()


def test_presets_are_valid_and_complete():
    for key in PRESETS:
        for lang in ("zh-CN", "en"):
            rules = preset_rules(key, lang)
            assert rules.problems == []
            assert set(rules.tiers["unit"]) <= set(UNITS)
            following = rules.tiers[rules.tiers["unit"] != "none"]
            assert (following["min"] <= following["max"]).all()
            assert (rules.tiers["refusal_factor"] >= 1).all()
        params = preset_params(key)
        for suggest in ("unreached_suggest", "considering_suggest", "refused_suggest", "non_kp_refused_suggest",
                        "dormant_suggest", "new_tier"):
            assert params[suggest] in rules.codes, (key, suggest)


def test_maturity_preset_matches_the_seed_table():
    t = MAT.tiers
    cadence = {c: (t.at[c, "min"], t.at[c, "max"], t.at[c, "unit"]) for c in t.index}
    assert cadence["0"] == cadence["1"] == cadence["2"] == (1, 1, "workdays")  # every working day
    assert cadence["3K"] == (1, 3, "workdays") and cadence["3N"] == (2, 5, "workdays")
    assert cadence["4K"] == (5, 8, "workdays") and cadence["4N"] == (8, 14, "workdays")
    assert cadence["9"][2] == "none"
    assert t.at["1", "payment_days"] == 2 and t.at["2", "payment_days"] == 5
    assert t.at["3K", "payment_days"] == 10 and t.at["3N", "payment_days"] == 20
    assert t.at["5", "kp"] == "absent" and t.at["3K", "kp"] == "required"


def test_unknown_preset_is_refused():
    with pytest.raises(FollowupError, match="platinum"):
        preset_rules("platinum")


# ---------------------------------------------------------------- validation of a typed Rules table
def table(*rows: dict) -> pd.DataFrame:
    base = {"code": "", "name": "", "min": 1, "max": 2, "unit": "workdays", "refusal_factor": 2}
    return pd.DataFrame([{**base, **r} for r in rows])


def problems(rules) -> set[tuple[int, str]]:
    return {(p.row, p.field) for p in rules.problems}


def test_typed_rules_in_chinese_and_with_aliases():
    rules = rules_from_table(table({"code": "A", "unit": "工作日", "kp": "必须", "aliases": "甲，甲类, VIP"},
                                   {"code": "B", "unit": "个月", "min": "1", "max": "2"},
                                   {"code": "C", "unit": "周"}, {"code": "D", "unit": "天"},
                                   {"code": "Z", "unit": "不跟进", "min": None, "max": None}), {})
    assert rules.problems == []
    assert rules.tiers["unit"].to_dict() == {"A": "workdays", "B": "months", "C": "weeks", "D": "days", "Z": "none"}
    assert rules.tiers.at["A", "kp"] == "required"
    assert rules.tier_of(pd.Series(["甲", "甲类", "vip", "b"], dtype=object)).tolist() == ["A", "A", "A", "B"]


def test_rules_problems_name_row_and_field():
    rules = rules_from_table(table(
        {"code": "A", "unit": "fortnights"},              # 0: bad unit -> no cadence
        {"code": "B", "min": 5, "max": 2},                # 1: min > max -> min = max
        {"code": "C", "min": "three", "max": "x"},        # 2: non-numeric (min and max) -> no cadence
        {"code": "", "min": "junk"},                      # 3: blank code: row skipped, nothing reported
        {"code": "D", "min": -1, "max": 3},               # 4: negative min -> 0
        {"code": "A", "min": 1, "max": 1},                # 5: duplicate code
        {"code": "E", "kp": "sometimes"},                 # 6: bad KP rule
        {"code": "F", "refusal_factor": 0.5},             # 7: a refusal must lengthen the interval
        {"code": "G", "max": -2},                         # 8: negative max
        {"code": "H", "target_stock": "多"},              # 9: non-numeric number column
    ), {})
    assert problems(rules) == {(0, "unit"), (1, "min"), (2, "min"), (2, "max"), (4, "min"), (5, "code"),
                               (6, "kp"), (7, "refusal_factor"), (8, "max"), (9, "target_stock")}
    t = rules.tiers
    assert t.at["A", "unit"] == "none" and t.at["A", "max"] == 2  # the first A is kept
    assert t.at["B", "min"] == 2
    assert t.at["C", "unit"] == "none"
    assert t.at["D", "min"] == 0
    assert t.at["E", "kp"] == ""
    assert t.at["F", "refusal_factor"] == 1
    assert t.at["G", "unit"] == "none"
    assert [p.row for p in rules.problems] == sorted(p.row for p in rules.problems)
    bad_unit = next(p for p in rules.problems if p.field == "unit")
    assert bad_unit.value == "fortnights" and "workdays" in bad_unit.expected


def test_numbers_typed_as_text_and_codes_typed_as_numbers():
    rules = rules_from_table(table({"code": 3.0, "min": "1,000", "max": "2,000"}, {"code": 4, "min": " 2 "}), {})
    assert rules.codes == ["3", "4"]
    assert rules.tiers.at["3", "min"] == 1000 and rules.tiers.at["4", "min"] == 2
    assert rules.tier_of(pd.Series([3, 4.0, "3"], dtype=object)).tolist() == ["3", "4", "3"]


def test_params():
    rules = rules_from_table(table({"code": "A"}), {"unreached_limit": 4.0, "blank": "", "name": "x"})
    assert rules.param("unreached_limit") == 4 and isinstance(rules.param("unreached_limit"), int)
    assert rules.param("blank", 7) == 7 and rules.param("missing", "d") == "d" and rules.param("name") == "x"
