"""Every check rule (domain.md §3): rule id, the row and field it names, severity, suggested tier, and the
message in both languages with no placeholder left over. Bad input never crashes the engine."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from pyxl.core import checks, engine, i18n
from pyxl.core.flags import SEVERITIES
from pyxl.core.rules import RuleProblem, preset_rules
from pyxl.core.settings import Settings, settings_from_pairs

D = dt.date
T = dt.datetime
TODAY = D(2026, 3, 10)
MAT = preset_rules("maturity")
ABC = preset_rules("abc")
BASE = {"kp": "是", "owner": "张伟", "tier": "3N", "last_contact": D(2026, 3, 6)}


def ledger(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**BASE, "customer_id": f"JRN01{i + 1:03d}", "name": f"客户{i}",
                           "phone": f"1380000{i:04d}", **r} for i, r in enumerate(rows)], dtype=object)
    frame.index = range(2, 2 + len(frame))
    return frame


def refresh(led, rules=MAT, log=None, today=TODAY, **settings):
    return engine.refresh(led, pd.DataFrame() if log is None else log, rules, Settings(**settings), today)


def row_flags(result, row) -> dict[str, dict]:
    f = result.flags[(result.flags["table"] == "ledger") & (result.flags["row"] == row)]
    return {r["rule"]: r for r in f.to_dict("records")}


def only(result, row) -> set[str]:
    return set(row_flags(result, row))


# ---------------------------------------------------------------- a clean row raises nothing
def test_clean_row_has_no_flags():
    r = refresh(ledger({}))
    assert only(r, 2) == set()
    assert r.computed.at[2, "checks"] is None and r.computed.at[2, "suggested_tier"] is None


# ---------------------------------------------------------------- data checks
@pytest.mark.parametrize("cells, rule, field, severity", [
    ({"tier": "8"}, "tier.unknown", "tier", "error"),
    ({"tier": None}, "tier.missing", "tier", "warning"),
    ({"tier": "  "}, "tier.missing", "tier", "warning"),
    ({"last_contact": "someday"}, "cell.unreadable", "last_contact", "error"),
    ({"agreed_date": "下周"}, "cell.unreadable", "agreed_date", "error"),
    ({"revenue": "很多"}, "cell.unreadable", "revenue", "error"),
    ({"unreached": "three"}, "cell.unreadable", "unreached", "error"),
    ({"kp": "maybe"}, "cell.unreadable", "kp", "error"),
    ({"last_contact": D(2026, 3, 11)}, "last_contact.future", "last_contact", "error"),
    ({"phone": None}, "contact.missing", "phone", "warning"),
    ({"customer_id": "ABC-1"}, "id.malformed", "customer_id", "warning"),
    ({"customer_id": "jrn01001"}, "id.malformed", "customer_id", "warning"),
    ({"customer_id": None}, "id.missing", "customer_id", "suggestion"),
    ({"tier": "3K", "kp": "否"}, "tier.kp_required", "kp", "warning"),
    ({"tier": "4N", "kp": None}, "tier.kp_required", "kp", "warning"),
    ({"tier": "5", "kp": "是"}, "tier.kp_absent", "kp", "warning"),
    ({"tier": "1", "stage": "CS"}, "tier.stage", "stage", "warning"),
    ({"tier": "2", "stage": None}, "tier.stage", "stage", "warning"),
])
def test_row_rule(cells, rule, field, severity):
    r = refresh(ledger({}, cells))
    flags = row_flags(r, 3)
    assert rule in flags, flags.keys()
    assert flags[rule]["field"] == field and flags[rule]["severity"] == severity
    assert only(r, 2) == set()  # the clean row next to it is untouched


def test_unreadable_cells_still_get_a_schedule():
    r = refresh(ledger({"revenue": "很多", "agreed_date": "下周", "phone": "n/a"}))
    assert r.view.at[2, "status"] == "in_window"  # 3N from Fri Mar 6: earliest Tue 10, due Fri 13
    assert r.view.at[2, "due"] == np.datetime64("2026-03-13")


def test_unknown_tier_blank_status_and_message_lists_codes():
    r = refresh(ledger({"tier": "8"}), language="en")
    assert r.computed.at[2, "status"] == "" and r.computed.at[2, "due"] is None
    msg = row_flags(r, 2)["tier.unknown"]["message"]
    assert "'8'" in msg and "3K" in msg and "Tier" in msg


def test_stage_as_label_or_alias_is_accepted():
    r = refresh(ledger({"tier": "1", "stage": "合同已回"}, {"tier": "2", "stage": "Contract sent"},
                       {"tier": "1", "stage": " cr "}))
    assert not any("tier.stage" in only(r, row) for row in (2, 3, 4))


def test_duplicates():
    r = refresh(ledger({"customer_id": "JRN01007", "phone": "138-0000-0001", "name": "上海甲有限公司"},
                       {"customer_id": "JRN01007", "phone": "+86 13800000001", "name": "上海 甲公司"},
                       {"customer_id": "JRN01008", "phone": "123", "name": "乙"},
                       {"customer_id": "JRN01009", "phone": "123", "name": "丙"}))
    for row in (2, 3):
        assert {"id.duplicate", "customer.same_phone", "customer.same_name"} <= only(r, row)
    assert only(r, 4) == only(r, 5) == set()  # short phones are not compared



def test_revenue_band_in_abc():
    r = refresh(ledger({"tier": "A", "revenue": "30万"}, {"tier": "B", "revenue": 600000},
                       {"tier": "A", "revenue": "¥500,000"}, {"tier": "B", "revenue": None}), rules=ABC)
    assert row_flags(r, 2)["tier.revenue"]["suggested_tier"] == "B"
    assert row_flags(r, 3)["tier.revenue"]["suggested_tier"] == "A"
    assert "tier.revenue" not in only(r, 4) | only(r, 5)
    assert r.computed.at[2, "suggested_tier"] == "B"


def test_payment_late_counts_calendar_days_from_tier_since():
    r = refresh(ledger({"tier": "2", "stage": "CS", "tier_since": D(2026, 3, 4)},   # deadline Mar 9 < Mar 10
                       {"tier": "2", "stage": "CS", "tier_since": D(2026, 3, 5)},   # deadline Mar 10: not late
                       {"tier": "1", "stage": "CR", "tier_since": None}), language="en")
    f = row_flags(r, 2)["payment.late"]
    assert f["severity"] == "error" and "2026-03-09" in f["message"] and "5 days" in f["message"]
    assert "payment.late" not in only(r, 3) | only(r, 4)


# ---------------------------------------------------------------- abandon and dormant suggestions
@pytest.mark.parametrize("rules, cells, rule, suggested", [
    (MAT, {"unreached": 3}, "abandon.unreached", "5"),
    (MAT, {"no_progress": 3}, "abandon.considering", "7"),
    (MAT, {"kp": "否", "tier": "0", "no_progress": 2}, "abandon.non_kp", "5"),
    (MAT, {"last_contact": D(2025, 12, 9)}, "dormant", "7"),
    (ABC, {"tier": "C", "unreached": 4}, "abandon.unreached", "D"),
    (ABC, {"tier": "B", "no_progress": 3}, "abandon.considering", "C"),
    (ABC, {"tier": "C", "kp": "否", "no_progress": 2}, "abandon.non_kp", "D"),
    (ABC, {"tier": "C", "last_contact": D(2025, 12, 9)}, "dormant", "X"),
])
def test_suggestions(rules, cells, rule, suggested):
    r = refresh(ledger({**({"tier": "C"} if rules is ABC else {}), **cells}), rules=rules)
    f = row_flags(r, 2)[rule]
    assert f["severity"] == "suggestion" and f["suggested_tier"] == suggested
    assert r.computed.at[2, "suggested_tier"] == suggested


def test_refused_suggestion_needs_a_logged_refusal():
    log = pd.DataFrame({"when": [T(2026, 3, d, 10) for d in (2, 3, 4)], "customer_id": "JRN01001",
                        "reached": "是", "outcome": "拒绝"})
    r = refresh(ledger({}), log=log)
    assert row_flags(r, 2)["abandon.refused"]["suggested_tier"] == "9"
    r = refresh(ledger({"tier": "A"}), rules=ABC, log=log)
    assert row_flags(r, 2)["abandon.refused"]["suggested_tier"] == "D"


@pytest.mark.parametrize("cells", [
    {"unreached": 2}, {"no_progress": 2}, {"kp": "否", "tier": "0", "no_progress": 1},
    {"last_contact": D(2025, 12, 10)},  # exactly 3 months: not yet dormant
    {"tier": "9", "unreached": 5, "last_contact": D(2025, 1, 1)},  # abandoned tiers are left alone
    {"tier": "5", "kp": "否", "unreached": 5},  # KP rules need a KP
    {"tier": "7", "last_contact": D(2025, 1, 1)},  # already the dormant suggestion
])
def test_below_the_limits_no_suggestion(cells):
    r = refresh(ledger(cells))
    assert not {rule for rule in only(r, 2) if rule.startswith(("abandon", "dormant"))}


def test_limits_come_from_the_rules_params():
    rules = preset_rules("maturity")
    rules.params["unreached_limit"] = 5
    assert "abandon.unreached" not in only(refresh(ledger({"unreached": 4}), rules=rules), 2)
    assert "abandon.unreached" in only(refresh(ledger({"unreached": 5}), rules=rules), 2)


# ---------------------------------------------------------------- team pool
def test_pool_is_off_by_default():
    r = refresh(ledger({"last_contact": None, "assigned": D(2026, 1, 5)}))
    assert not any(rule.startswith("pool") for rule in r.flags["rule"])
    assert r.computed.at[2, "pool_days_left"] is None


def test_pool_warnings_when_enabled():
    # never contacted -> due on the assignment date (a working day); pool day = due + 15 calendar days; warn 3
    # days before
    led = ledger({"last_contact": None, "assigned": D(2026, 2, 14)},   # make-up Sat; pool day Mar 1: returned (-9)
                 {"last_contact": None, "assigned": D(2026, 2, 25)},   # pool day Mar 12: 2 days left -> soon
                 {"last_contact": None, "assigned": D(2026, 2, 22), "tier": "9"},  # no follow-up: never
                 {"last_contact": None, "assigned": D(2026, 3, 5)})    # 10 days left: quiet
    r = refresh(led, pool_enabled=True)
    assert "pool.returned" in only(r, 2) and row_flags(r, 2)["pool.returned"]["severity"] == "error"
    assert "pool.soon" in only(r, 3) and "pool.returned" not in only(r, 3)
    assert not {"pool.soon", "pool.returned"} & (only(r, 4) | only(r, 5))
    assert r.computed["pool_days_left"].tolist() == [-9, 2, None, 10]


# ---------------------------------------------------------------- stock per owner
def test_stock_short_one_line_per_owner():
    rules = preset_rules("maturity")
    rules.tiers.loc[:, "target_stock"] = np.nan
    rules.tiers.loc["3K", "target_stock"] = 2
    rules.tiers.loc["4N", "target_stock"] = 1
    led = ledger({"tier": "3K", "owner": "张伟"}, {"tier": "3K", "owner": "张伟"}, {"tier": "3K", "owner": "李娜"},
                 {"tier": "3N", "owner": None}, {"tier": "4N", "owner": "张伟"})
    r = refresh(led, rules=rules)
    stock = r.flags[r.flags["rule"] == "stock.short"]
    assert sorted(stock["row"]) == ["-", "李娜"]  # 张伟 has 2 of 3K and 1 of 4N: not short
    li = stock[stock["row"] == "李娜"].iloc[0]
    assert li["args"] == {"owner": "李娜", "short": ["3K 1/2", "4N 0/1"], "tiers": 2}
    assert li["message"] == "李娜 有 2 个类别低于目标储备（实有/目标）：3K 1/2，4N 0/1"


# ---------------------------------------------------------------- messages in both languages
KITCHEN_SINK = [
    {"tier": "8"}, {"tier": None}, {"last_contact": "someday"}, {"last_contact": D(2026, 3, 11)},
    {"phone": None}, {"customer_id": "X1"}, {"customer_id": None}, {"customer_id": "JRN01001", "phone": "13800000000"},
    {"tier": "3K", "kp": "否"}, {"tier": "5", "kp": "是"}, {"tier": "1", "stage": "CS", "tier_since": D(2026, 1, 5)},
    {"unreached": 3}, {"no_progress": 3}, {"kp": "否", "tier": "0", "no_progress": 2},
    {"last_contact": D(2025, 6, 1)}, {"last_contact": None, "assigned": D(2026, 1, 1)},
    {"last_contact": None, "assigned": D(2026, 2, 24)}, {"name": "客户0"},
]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_message_renders_without_placeholders(lang):
    log = pd.DataFrame({"when": [T(2026, 3, 2, 9), T(2026, 3, 2, 9), T(2026, 3, 30, 9), "x"],
                        "customer_id": ["JRN01002", "JRN01002", "JRN01002", "NOPE"], "reached": "否"})
    rules = preset_rules("maturity")
    rules.problems.append(RuleProblem(0, "unit", "x", "workdays"))
    settings = settings_from_pairs({"language": lang, "pool_enabled": "是", "daily_capacity": "many"})
    assert [p.key for p in settings.problems] == ["daily_capacity"]
    r = engine.refresh(ledger(*KITCHEN_SINK), log, rules, settings, TODAY)
    produced = set(r.flags["rule"])
    expected = {"tier.unknown", "tier.missing", "cell.unreadable", "last_contact.future", "contact.missing",
                "id.duplicate", "id.malformed", "id.missing", "customer.same_phone", "customer.same_name",
                "tier.kp_required", "tier.kp_absent", "tier.stage", "payment.late", "abandon.unreached",
                "abandon.considering", "abandon.non_kp", "dormant", "pool.soon", "pool.returned", "stock.short",
                "log.duplicate", "log.future", "log.invalid", "rules.invalid", "settings.invalid"}
    assert expected <= produced, expected - produced
    for msg in r.flags["message"]:
        assert msg and not re.search(r"\{\w+\}", msg), msg
    # the cell column names the field in the workbook language
    label = {"zh-CN": "客户类别", "en": "Tier"}[lang]
    assert label in r.computed.at[2, "checks"]
    assert set(r.flags["severity"]) <= set(SEVERITIES)


def test_locales_cover_every_rule_of_the_registry_in_both_languages():
    from pyxl.core.flags import RULES
    zh, en = i18n.texts("zh-CN")["checks"], i18n.texts("en")["checks"]
    assert len(checks.CHECKS) >= 20 and len(RULES) >= 40
    assert set(RULES) == set(zh) == set(en)  # a message for every rule, no message without its rule
    for key in zh:  # the same placeholders in both languages
        assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


def test_render_keeps_unknown_placeholders_visible():
    [msg] = i18n.render_flags(pd.DataFrame([{"rule": "abandon.unreached", "table": "ledger", "field": "unreached",
                                             "value": 3, "suggested_tier": "5", "args": {}}]), "en")
    assert msg == "KP unreached {n} times in a row: suggest tier 5"


# ---------------------------------------------------------------- bad input never crashes
def test_garbage_everywhere_does_not_crash():
    garbage = [None, "", "  ", "???", 0, -1, 1e12, True, float("nan"), D(1, 1, 1), D(9999, 12, 31),
               T(2026, 3, 1, 25 % 24), "2026年13月45日", "３-５", pd.NaT, "1,2,3", "万"]
    cols = ["customer_id", "name", "kp", "phone", "owner", "tier", "tier_since", "stage", "revenue", "assigned",
            "last_contact", "agreed_date", "unreached", "no_progress", "birthday"]
    rows = [{c: garbage[(i + j) % len(garbage)] for j, c in enumerate(cols)} for i in range(len(garbage))]
    led = pd.DataFrame(rows, dtype=object, index=range(2, 2 + len(rows)))
    log = pd.DataFrame({"when": garbage, "customer_id": garbage, "reached": garbage, "outcome": garbage,
                        "agreed_date": garbage, "new_tier": garbage, "channel": garbage}, dtype=object)
    for rules in (MAT, ABC):
        r = engine.refresh(led, log, rules, Settings(pool_enabled=True), TODAY)
        assert len(r.computed) == len(led)
        assert r.flags["message"].notna().all()


def test_empty_ledger():
    r = refresh(pd.DataFrame())
    assert r.computed.empty and r.view.empty
