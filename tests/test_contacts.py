"""The contact log drives the ledger: last contact, counters, agreed date, tier changes, refusals, bad touches."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pyxl.core import engine
from pyxl.core.contacts import derive
from pyxl.core.rules import preset_rules
from pyxl.core.settings import Settings

D = dt.date
T = dt.datetime
TODAY = D(2026, 3, 10)  # a Tuesday
MAT = preset_rules("maturity")


def ledger(*rows: dict) -> pd.DataFrame:
    base = {"name": "客户", "kp": "是", "phone": "138", "owner": "张伟", "tier": "3N"}
    frame = pd.DataFrame([{**base, "customer_id": f"JRN01{i + 1:03d}", "name": f"客户{i}",
                           "phone": f"1380000{i:04d}", **r} for i, r in enumerate(rows)], dtype=object)
    frame.index = range(2, 2 + len(frame))  # Excel rows
    return frame


def log(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{"customer_id": "JRN01001", "channel": "电话", **r} for r in rows], dtype=object)
    frame.index = range(2, 2 + len(frame))
    return frame


def refresh(led, lg, today=TODAY, rules=MAT, **settings):
    return engine.refresh(led, lg, rules, Settings(**settings), today)


def flag_rules(result, table=None) -> list[str]:
    f = result.flags if table is None else result.flags[result.flags["table"] == table]
    return sorted(f["rule"])


def day(value) -> D | None:
    value = np.datetime64(value, "D")
    return None if np.isnat(value) else value.astype(D)


# ---------------------------------------------------------------- last contact
def test_last_contact_is_the_later_of_typed_and_logged():
    led = ledger({"last_contact": D(2026, 3, 2)}, {"last_contact": D(2026, 3, 6)}, {}, {})
    lg = log({"when": T(2026, 3, 4, 10), "reached": "是", "customer_id": "JRN01001"},
             {"when": T(2026, 3, 4, 10), "reached": "是", "customer_id": "JRN01002"},
             {"when": "2026/3/3", "reached": "是", "customer_id": "JRN01003"},
             {"when": T(2026, 3, 5, 10), "reached": "是", "customer_id": "JRN01004"},
             {"when": T(2026, 3, 6, 10), "reached": "否", "customer_id": "JRN01004"})
    r = refresh(led, lg)
    # an unanswered call is an attempt, not a contact: the last *reached* touch counts (row 5: Mar 5)
    assert [day(v) for v in r.view["last_contact"]] == [D(2026, 3, 4), D(2026, 3, 6), D(2026, 3, 3), D(2026, 3, 5)]
    assert {k: day(v) for k, v in r.synced["last_contact"].items()} == {2: D(2026, 3, 4), 4: D(2026, 3, 3),
                                                                      5: D(2026, 3, 5)}
    # the cadence restarts from the actual contact: 3N = 2..5 working days from Wed Mar 4 -> Fri 6 .. Wed 11
    assert (day(r.view.at[2, "earliest"]), day(r.view.at[2, "due"])) == (D(2026, 3, 6), D(2026, 3, 11))


# ---------------------------------------------------------------- counters
def test_trailing_unreached_run():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "否"}, {"when": T(2026, 3, 3, 9), "reached": "是"},
             {"when": T(2026, 3, 4, 9), "reached": "否"}, {"when": T(2026, 3, 5, 9), "reached": "no"},
             {"when": T(2026, 3, 6, 9), "reached": False})
    r = refresh(ledger({"unreached": 0}), lg)
    assert r.synced["unreached"].to_dict() == {2: 3}
    assert "abandon.unreached" in flag_rules(r)
    assert r.computed.at[2, "suggested_tier"] == "5"


def test_reached_touch_resets_unreached_run():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "否"}, {"when": T(2026, 3, 3, 9), "reached": "否"},
             {"when": T(2026, 3, 4, 9), "reached": "否"}, {"when": T(2026, 3, 5, 9), "reached": "是"})
    r = refresh(ledger({"unreached": 3}), lg)
    assert r.synced["unreached"].to_dict() == {2: 0}
    assert "abandon.unreached" not in flag_rules(r)


def test_no_progress_counts_stalled_touches_since_the_last_progress_or_deal():
    lg = log({"when": T(2026, 2, 2, 9), "reached": "是", "outcome": "考虑中"},
             {"when": T(2026, 2, 3, 9), "reached": "是", "outcome": "有进展"},
             {"when": T(2026, 2, 4, 9), "reached": "是", "outcome": "考虑中"},
             {"when": T(2026, 2, 5, 9), "reached": "否"},                      # not reached: neither counts nor resets
             {"when": T(2026, 2, 6, 9), "reached": "是", "outcome": "考虑"},
             {"when": T(2026, 2, 9, 9), "reached": "是"},                      # reached, no outcome
             {"when": T(2026, 2, 10, 9), "reached": "是", "outcome": "犹豫"})
    r = refresh(ledger({}), lg)
    assert r.synced["no_progress"].to_dict() == {2: 3}
    assert "abandon.considering" in flag_rules(r)
    assert r.computed.at[2, "suggested_tier"] == "7"
    # a deal resets it
    r = refresh(ledger({}), pd.concat([lg, log({"when": T(2026, 2, 11, 9), "reached": "是", "outcome": "成交"})],
                                      ignore_index=True))
    assert r.synced["no_progress"].to_dict() == {2: 0}


def test_outcome_without_reached_cell_counts_as_reached():
    lg = log({"when": T(2026, 3, 2, 9), "outcome": "拒绝"}, {"when": T(2026, 3, 3, 9), "outcome": "拒绝"},
             {"when": T(2026, 3, 4, 9), "outcome": "拒绝"})
    r = refresh(ledger({}), lg)
    assert r.synced["no_progress"].to_dict() == {2: 3}
    assert r.synced["unreached"].to_dict() == {2: 0}  # typed blank, the log says 0 -> written as 0
    assert "abandon.refused" in flag_rules(r) and r.computed.at[2, "suggested_tier"] == "9"


def test_non_kp_refusing_twice():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "是", "outcome": "拒绝"},
             {"when": T(2026, 3, 3, 9), "reached": "是", "outcome": "没兴趣"})
    r = refresh(ledger({"kp": "否", "tier": "0"}), lg)
    assert "abandon.non_kp" in flag_rules(r) and r.computed.at[2, "suggested_tier"] == "5"


# ---------------------------------------------------------------- agreed date
def test_newest_agreed_date_from_the_log():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "是", "agreed_date": D(2026, 3, 20)},
             {"when": T(2026, 3, 5, 9), "reached": "是", "agreed_date": "2026年3月25日"},
             {"when": T(2026, 3, 6, 9), "reached": "是"})
    r = refresh(ledger({}), lg)
    assert day(r.synced["agreed_date"][2]) == D(2026, 3, 25)
    assert day(r.view.at[2, "due"]) == D(2026, 3, 25)


def test_typed_later_agreed_date_is_kept():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "是", "agreed_date": D(2026, 3, 20)})
    r = refresh(ledger({"agreed_date": D(2026, 3, 27)}), lg)
    assert r.synced["agreed_date"].empty and day(r.view.at[2, "due"]) == D(2026, 3, 27)


# ---------------------------------------------------------------- refusal lengthens the interval
def test_refusal_lengthens_interval_and_switches_channel():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "是", "outcome": "拒绝"})
    r = refresh(ledger({}), lg)
    # 3N refusal_factor 2: 4..10 working days from Mon Mar 2 -> Fri Mar 6 .. Mon Mar 16
    assert (day(r.view.at[2, "earliest"]), day(r.view.at[2, "due"])) == (D(2026, 3, 6), D(2026, 3, 16))
    assert r.view.at[2, "channel"] == "email"
    # a later reached touch without a refusal restores the normal cadence (2..5 from Tue Mar 3)
    lg2 = pd.concat([lg, log({"when": T(2026, 3, 3, 9), "reached": "是"})], ignore_index=True)
    r = refresh(ledger({}), lg2)
    assert (day(r.view.at[2, "earliest"]), day(r.view.at[2, "due"])) == (D(2026, 3, 5), D(2026, 3, 10))
    assert r.view.at[2, "channel"] == "phone"


# ---------------------------------------------------------------- tier changes
def test_logged_tier_change_applies_at_once():
    lg = log({"when": T(2026, 3, 9, 10), "reached": "是", "outcome": "有进展", "new_tier": "重3"})
    r = refresh(ledger({"tier": "普3"}), lg)
    assert r.synced["tier"].to_dict() == {2: "3K"} and day(r.synced["tier_since"][2]) == D(2026, 3, 9)
    # 3K = 1..3 working days from Mon Mar 9
    assert r.view.at[2, "tier"] == "3K"
    assert (day(r.view.at[2, "earliest"]), day(r.view.at[2, "due"])) == (D(2026, 3, 10), D(2026, 3, 12))


def test_a_logged_tier_change_leaves_the_callers_ledger_as_typed():
    led = ledger({"tier": "3N"})
    typed = led.copy(deep=True)
    r = refresh(led, log({"when": T(2026, 3, 9, 10), "reached": "是", "new_tier": "4N"}))
    assert r.view.at[2, "tier"] == "4N"  # the change counts at once in the engine…
    pd.testing.assert_frame_equal(led, typed)  # …but the frame the engine was given is untouched


def test_older_tier_change_does_not_override_a_newer_typed_tier():
    lg = log({"when": T(2026, 3, 2, 10), "reached": "是", "new_tier": "4N"})
    r = refresh(ledger({"tier": "3K", "tier_since": D(2026, 3, 5)}), lg)
    assert r.synced["tier"].empty and r.view.at[2, "tier"] == "3K"


def test_tier_change_to_contract_tier_starts_the_payment_clock():
    lg = log({"when": T(2026, 3, 2, 10), "reached": "是", "outcome": "成交", "new_tier": "1"})
    r = refresh(ledger({"tier": "2", "stage": "合同已回"}), lg)
    # class 1 must pay within 2 calendar days of Mar 2: deadline Mar 4 < today
    assert "payment.late" in flag_rules(r, "ledger")
    assert day(r.view.at[2, "payment_deadline"]) == D(2026, 3, 4)


# ---------------------------------------------------------------- touches that are not applied
def test_duplicate_unknown_future_and_unreadable_touches():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "否"},
             {"when": T(2026, 3, 2, 9), "reached": "否"},                        # exact duplicate
             {"when": T(2026, 3, 3, 9), "reached": "否", "customer_id": "JRN09999"},  # unknown customer
             {"when": T(2026, 3, 12, 9), "reached": "是"},                       # future
             {"when": "someday", "reached": "是"},                              # unreadable date
             {"when": T(2026, 3, 4, 9), "reached": "maybe", "channel": "飞鸽"},   # unreadable cells, still applied
             {"when": None, "customer_id": None, "channel": None})             # a blank row
    r = refresh(ledger({}), lg)
    problems = sorted((p.rule, p.row, p.field) for p in r.log.problems)
    assert problems == sorted([("log.duplicate", 3, "when"), ("log.unknown_customer", 4, "customer_id"),
                               ("log.future", 5, "when"), ("log.invalid", 6, "when"),
                               ("log.invalid", 7, "reached"), ("log.invalid", 7, "channel")])
    # applied: Mar 2 (once) and Mar 4 (unreadable reached = not reached) -> two unreached in a row,
    # and no real contact yet
    assert r.synced["unreached"].to_dict() == {2: 2}
    assert r.synced["last_contact"].empty
    assert len(r.log.touches) == 2
    log_flags = r.flags[r.flags["table"] == "contacts"]
    assert set(log_flags["severity"]) == {"warning", "error"}
    assert log_flags["message"].str.contains("{", regex=False).sum() == 0


def test_duplicates_compare_every_typed_cell():
    lg = log({"when": D(2026, 3, 4), "reached": "否", "notes": "busy"},
             {"when": D(2026, 3, 4), "reached": "否", "notes": "busy"},
             {"when": D(2026, 3, 4), "reached": "否", "notes": "called back, busy again"})
    r = refresh(ledger({}), lg)
    assert [(p.rule, p.row) for p in r.log.problems] == [("log.duplicate", 3)]
    assert r.synced["unreached"].to_dict() == {2: 2}


def test_same_day_touches_without_time_keep_log_order():
    lg = log({"when": D(2026, 3, 4), "reached": "是"}, {"when": D(2026, 3, 4), "reached": "否"})
    assert refresh(ledger({}), lg).synced["unreached"].to_dict() == {2: 1}


def test_customer_ids_match_after_trimming_and_number_cells():
    led = ledger({"customer_id": " JRN01001 "}, {"customer_id": 1002.0})
    lg = log({"when": T(2026, 3, 4, 9), "customer_id": "JRN01001", "reached": "是"},
             {"when": T(2026, 3, 5, 9), "customer_id": 1002, "reached": "是"})
    r = refresh(led, lg)
    assert not r.log.problems
    assert sorted(r.synced["last_contact"].index) == [2, 3]


# ---------------------------------------------------------------- no log at all
@pytest.mark.parametrize("empty_log", [pd.DataFrame(), pd.DataFrame(columns=["when", "customer_id", "reached"])])
def test_teams_without_a_log(empty_log):
    led = ledger({"last_contact": D(2026, 3, 2), "unreached": 3, "no_progress": "1"})
    r = refresh(led, empty_log)
    assert all(s.empty for s in r.synced.values())
    assert (day(r.view.at[2, "earliest"]), day(r.view.at[2, "due"])) == (D(2026, 3, 4), D(2026, 3, 9))
    assert "abandon.unreached" in flag_rules(r)  # typed counter used when there is no log
    assert r.log.touches.empty and r.log.per_customer.empty


def test_derive_directly():
    lg = log({"when": T(2026, 3, 2, 9), "reached": "是", "outcome": "考虑中", "channel": "微信"},
             {"when": T(2026, 3, 3, 9), "reached": "否", "channel": "短信"})
    out = derive(lg, np.array(["JRN09999", "JRN01001", ""], dtype=object), TODAY)
    per = out.per_customer.loc["JRN01001"]
    aligned = out.per_ledger_row  # the summary picked for each ledger ID, NA where it has no touch
    assert aligned["touches"].isna().tolist() == [True, False, True] and aligned["touches"].iloc[1] == 2
    assert aligned["last_outcome"].iloc[1] == "considering" and pd.isna(aligned["last_outcome"].iloc[0])
    assert per["touches"] == 2 and per["no_progress"] == 1
    assert per["unreached"] == 0  # an unanswered SMS is not an unreached call
    assert per["last_outcome"] == "considering" and per["last_channel"] == "sms"
    assert day(per["last_touch"]) == D(2026, 3, 2)  # the newest reached touch


def test_summary_rows_follow_the_ledger_order_not_the_log_order():
    # the log names customers in another order than the ledger, with an unknown ID (no summary row) between
    lg = log({"customer_id": "JRN01003", "when": T(2026, 3, 2, 9), "reached": "是"},
             {"customer_id": "JRN05555", "when": T(2026, 3, 2, 10), "reached": "是"},
             {"customer_id": "JRN01001", "when": T(2026, 3, 3, 9), "reached": "否"},
             {"customer_id": "JRN01003", "when": T(2026, 3, 4, 9), "reached": "否"},
             {"customer_id": "JRN01002", "when": T(2026, 3, 5, 9), "reached": "是"})
    out = derive(lg, np.array(["JRN01001", "JRN01002", "JRN01003", "JRN01004"], dtype=object), TODAY)
    aligned = out.per_ledger_row
    assert aligned["touches"].fillna(0).tolist() == [1, 1, 2, 0]
    assert aligned["unreached"].fillna(-1).tolist() == [1, 0, 1, -1]
    last = aligned["last_touch"].to_numpy("datetime64[D]")
    assert [day(v) for v in last] == [None, D(2026, 3, 5), D(2026, 3, 2), None]
    assert [p.rule for p in out.problems] == ["log.unknown_customer"]


# ---------------------------------------------------------------- summarise against a plain reference
from hypothesis import given, settings, strategies as st  # noqa: E402

from pyxl.core.contacts import MESSAGES, RESET_OUTCOMES, STALLED_OUTCOMES, summarise  # noqa: E402

TOUCH = st.fixed_dictionaries({
    "customer_id": st.sampled_from(["a", "b", "c"]),
    "when": st.integers(min_value=0, max_value=20).map(lambda h: dt.datetime(2026, 3, 1) + dt.timedelta(hours=12 * h)),
    "reached": st.booleans(),
    "outcome": st.none() | st.sampled_from(["progress", "considering", "refused", "deal"]),
    "channel": st.none() | st.sampled_from(["phone", "sms"]),
    "agreed": st.none() | st.dates(min_value=D(2026, 3, 1), max_value=D(2026, 4, 30)),
    "new_tier": st.none() | st.sampled_from(["3K", "4N"]),
    "hard_call": st.booleans(),
})


def reference(rows: list[dict]) -> dict:
    """Per customer, by walking the touches in time order (ties: log order), as domain.md describes."""
    out = {}
    for cid in sorted({r["customer_id"] for r in rows}):
        mine = sorted((r for r in rows if r["customer_id"] == cid), key=lambda r: (r["when"], r["_row"]))
        reached = [r for r in mine if r["reached"]]
        trailing = 0  # unanswered calls since the last reached touch; an unanswered SMS is not a call
        for r in reversed(mine):
            if r["reached"]:
                break
            trailing += r["channel"] not in MESSAGES
        stalled = 0
        for r in reversed(reached):
            if r["outcome"] in RESET_OUTCOMES:
                break
            stalled += r["outcome"] in STALLED_OUTCOMES
        last_of = lambda key: next((r for r in reversed(mine) if r[key] is not None), None)  # noqa: E731
        tier = last_of("new_tier")
        out[cid] = {"last_touch": reached[-1]["when"].date() if reached else None, "touches": len(mine),
                    "unreached": trailing, "no_progress": stalled,
                    "last_outcome": reached[-1]["outcome"] if reached else None,
                    "last_channel": (last_of("channel") or {}).get("channel"),
                    "agreed": (last_of("agreed") or {}).get("agreed"),
                    "new_tier": tier and tier["new_tier"], "new_tier_day": tier and tier["when"].date(),
                    "hard_call": mine[-1]["hard_call"]}
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(TOUCH, max_size=30))
def test_summarise_matches_reference(rows):
    rows = [{**r, "_row": i} for i, r in enumerate(rows)]
    frame = pd.DataFrame({
        "customer_id": pd.Categorical([r["customer_id"] for r in rows]),  # as parse_log gives it
        "when": np.array([r["when"] for r in rows], dtype="datetime64[s]"),
        "day": np.array([r["when"].date() for r in rows], dtype="datetime64[D]"),
        "reached": np.array([r["reached"] for r in rows], dtype=bool),
        "outcome": pd.array([r["outcome"] for r in rows], dtype="string"),
        "channel": pd.array([r["channel"] for r in rows], dtype="string"),
        "agreed": np.array([r["agreed"] or None for r in rows], dtype="datetime64[D]"),
        "new_tier": pd.array([r["new_tier"] for r in rows], dtype="string"),
        "hard_call": np.array([r["hard_call"] for r in rows], dtype=bool),
    }, index=range(100, 100 + len(rows)))
    got = summarise(frame)
    plain = lambda v: None if pd.isna(v) else (day(v) if isinstance(v, (np.datetime64, pd.Timestamp)) else v)  # noqa: E731
    assert {cid: {k: plain(v) for k, v in rec.items()} for cid, rec in got.to_dict("index").items()} == reference(rows)


def test_ids_typed_with_spaces_or_as_numbers_are_one_customer():
    led = ledger({}, {"customer_id": "1001"})
    lg = log({"when": T(2026, 3, 2, 10), "reached": "否", "customer_id": " JRN01001"},
             {"when": T(2026, 3, 3, 10), "reached": "否", "customer_id": "JRN01001 "},
             {"when": T(2026, 3, 4, 10), "reached": "否", "customer_id": "JRN01001"},
             {"when": T(2026, 3, 5, 10), "reached": "是", "customer_id": 1001.0},
             {"when": T(2026, 3, 6, 10), "reached": "是", "customer_id": "JRN0100"})
    r = refresh(led, lg)
    assert [day(v) for v in r.view["last_contact"].to_numpy("datetime64[D]")] == [None, D(2026, 3, 5)]
    assert r.synced["unreached"].to_dict() == {2: 3, 3: 0}  # three unanswered calls, however the ID was typed
    assert flag_rules(r, "contacts") == ["log.unknown_customer"]
