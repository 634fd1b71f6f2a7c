"""The contact log (跟进记录) drives the ledger: last contact, counters, agreed date, tier changes.

Everything is derived from the whole log each time, so a re-run gives the same ledger. Touches that
cannot be applied (unknown customer, dated in the future, unreadable, exact duplicates) are reported.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .values import (clean_categories, clean_text, member, member_of, parse_bool, parse_dates, parse_datetimes,
                     parse_numbers, parse_vocab, parse_yes_no)

RESET_OUTCOMES = ("progress", "deal")
MESSAGES = ("sms", "email", "wechat")  # an unanswered message is not an unreached call
STALLED_OUTCOMES = ("considering", "refused")


@dataclass(frozen=True)
class LogProblem:
    row: object  # the log row's index label (Excel row)
    field: str
    rule: str
    value: object


@dataclass
class DerivedLog:
    touches: pd.DataFrame  # parsed, applicable touches: customer_id, when, day, channel, reached, outcome, agreed,
    # new_tier, old_tier, event, step, hard_call, collected, competitor
    per_customer: pd.DataFrame  # index customer_id: last_touch, unreached, no_progress, last_outcome, agreed, new_tier,
    # hard_call…
    per_ledger_row: pd.DataFrame  # the same, one row per ledger ID given to ``derive`` (NA: no applied touch)
    problems: list[LogProblem]


def parse_log(log: pd.DataFrame, today: dt.date) -> tuple[pd.DataFrame, list[LogProblem]]:
    """Typed log cells -> parsed touches (index = log row) and the cells that could not be read."""
    problems: list[LogProblem] = []
    col = lambda key: log[key] if key in log else pd.Series(None, index=log.index, dtype=object)  # noqa: E731
    when, bad_when = parse_datetimes(col("when"), today)
    touches = pd.DataFrame(index=log.index)
    touches["customer_id"] = clean_categories(col("customer_id"))
    touches["day"] = when.astype("datetime64[D]")
    touches["when"] = when  # the typed date-time where there is one, else midnight of the day
    reached, not_reached, bad_reached = parse_yes_no(col("reached"))
    for key, vocab in (("channel", "channel"), ("outcome", "outcome"), ("event", "event")):
        touches[key], bad = parse_vocab(col(key), vocab)
        problems += _bad_cells(log, key, bad)
    # an outcome means the customer was reached, unless the Reached cell says otherwise
    reached_blank = ~(reached | not_reached | bad_reached)
    touches["reached"] = reached | (reached_blank & touches["outcome"].notna().to_numpy())
    touches["agreed"], bad_agreed = parse_dates(col("agreed_date"), today)
    touches["new_tier"] = clean_text(col("new_tier"))
    touches["old_tier"] = clean_text(col("old_tier"))
    touches["collected"], bad_collected = parse_numbers(col("collected"))
    touches["competitor"] = clean_text(col("competitor"))
    problems += _bad_cells(log, "collected", bad_collected)
    touches["step"] = clean_text(col("step"))
    touches["hard_call"], bad_hard = parse_bool(col("hard_call"))
    problems += _bad_cells(log, "hard_call", bad_hard)
    problems += _bad_cells(log, "when", bad_when) + _bad_cells(log, "reached", bad_reached)
    problems += _bad_cells(log, "agreed_date", bad_agreed)
    return touches, problems


def _bad_cells(log: pd.DataFrame, key: str, bad: np.ndarray) -> list[LogProblem]:
    return [LogProblem(row, key, "log.invalid", log.at[row, key]) for row in log.index[bad]]


def derive(log: pd.DataFrame, ledger_ids: np.ndarray, today: dt.date) -> DerivedLog:
    """The applicable touches, their per-customer summary (also aligned with ``ledger_ids``, the ledger's
    stripped IDs) and the log cells that cannot be applied."""
    touches_all, problems = parse_log(log, today)
    touches = touches_all
    ids = touches["customer_id"].cat
    no_id = touches["customer_id"].isna().to_numpy()
    no_day = np.isnat(touches["day"].to_numpy())
    keep = ~(no_id & no_day)  # blank rows
    touches = touches[keep]
    unusable = (no_id | no_day)[keep]
    in_ledger = ids.categories.get_indexer(np.asarray(ledger_ids, dtype=object))  # each ledger ID's category
    known = np.zeros(len(ids.categories) + 1, dtype=bool)  # + code -1 (no ID): never known
    known[in_ledger[in_ledger >= 0]] = True
    unknown = ~unusable & ~known[ids.codes.to_numpy()[keep]]
    future = ~unusable & (touches["day"].to_numpy() > np.datetime64(today, "D"))
    duplicate = _typed_duplicates(log, touches_all)[keep] & ~unusable
    problems += [LogProblem(r, "customer_id", "log.unknown_customer", touches.at[r, "customer_id"])
                 for r in touches.index[unknown]]
    problems += [LogProblem(r, "when", "log.future", touches.at[r, "day"]) for r in touches.index[future]]
    problems += [LogProblem(r, "when", "log.duplicate", touches.at[r, "customer_id"])
                 for r in touches.index[duplicate]]
    applied = touches[~(unusable | unknown | future | duplicate)]
    per_customer = summarise(applied)
    return DerivedLog(applied, per_customer, _aligned(per_customer, applied, in_ledger), problems)


def _aligned(per_customer: pd.DataFrame, applied: pd.DataFrame, in_ledger: np.ndarray) -> pd.DataFrame:
    """The per-customer summary row of each ledger ID (``in_ledger``: its code among the log's IDs, -1 when the
    log never names it), all NA for an ID with no applied touch."""
    ids = np.append(applied["customer_id"].cat.categories.to_numpy(dtype=object), None)  # code -1 picks None
    return per_customer.reindex(pd.array(ids[in_ledger], dtype="string")).reset_index(drop=True)


def _typed_duplicates(log: pd.DataFrame, touches: pd.DataFrame) -> np.ndarray:
    """Rows whose every typed cell (notes included) equals an earlier row's. Only rows sharing customer and
    time with another row can be such duplicates, so only those are compared cell by cell (each column
    factorised: hashing, no string conversion)."""
    out = np.zeros(len(log), dtype=bool)
    key = pd.DataFrame({"customer": touches["customer_id"].cat.codes.to_numpy(),
                        "when": touches["when"].to_numpy("datetime64[s]").astype("int64")})
    candidates = key.duplicated(keep=False).to_numpy()
    if candidates.any() and log.shape[1]:
        same = log[candidates]
        codes = {i: pd.factorize(same.iloc[:, i].to_numpy(dtype=object))[0] for i in range(same.shape[1])}
        out[candidates] = pd.DataFrame(codes).duplicated(keep="first").to_numpy()
    return out


def summarise(touches: pd.DataFrame) -> pd.DataFrame:
    """Per customer: newest reached touch (an unanswered call is an attempt, not a contact, so the customer
    stays due), trailing run of unreached calls (an unanswered SMS/email/WeChat is not one), stalled touches
    since the last progress, etc.

    Vectorised: touches are sorted by customer, time and log row once; every figure is then "the last row of
    the group with property X" (``np.maximum.reduceat`` over positions) or a per-group count (``bincount``)."""
    n = len(touches)
    codes = touches["customer_id"].cat.codes.to_numpy()
    ids = touches["customer_id"].cat.categories.to_numpy(dtype=object)
    if n == 0:
        return pd.DataFrame({"last_touch": pd.Series(dtype="datetime64[s]"), "touches": pd.Series(dtype="int64"),
                             "unreached": pd.Series(dtype="int64"), "no_progress": pd.Series(dtype="int64"),
                             "last_outcome": pd.Series(dtype="string"), "last_channel": pd.Series(dtype="string"),
                             "agreed": pd.Series(dtype="datetime64[s]"), "new_tier": pd.Series(dtype="string"),
                             "new_tier_day": pd.Series(dtype="datetime64[s]"),
                             "hard_call": pd.Series(dtype=bool)},
                            index=pd.Index([], dtype="string", name="customer_id"))
    when = touches["when"].to_numpy("datetime64[s]").astype("int64")
    when -= when.min()  # < 2**39 s (years 1..9999), codes < 2**20 (sheet rows): the key fits in int64
    order = np.argsort(codes * (when.max() + 1) + when, kind="stable")  # by customer, time, then log row
    group = codes[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    gid = np.repeat(np.arange(len(starts)), sizes)
    pos = np.arange(n)

    def last(mask: np.ndarray) -> np.ndarray:
        """Position of the group's last row where ``mask`` holds, -1 when none."""
        return np.maximum.reduceat(np.where(mask, pos, -1), starts)

    def pick(values: np.ndarray, at: np.ndarray, missing) -> np.ndarray:
        return np.where(at >= 0, values[at], missing)

    def pick_text(key: str, at: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """The text at each group's position ``at`` (NA when -1), taken from the unsorted column."""
        return touches[key].array.take(np.where(at >= 0, order[at], -1), allow_fill=True)

    reached = touches["reached"].to_numpy(dtype=bool)[order]
    attempt = ~member(touches["channel"], MESSAGES)[order]  # calls and visits (or no channel typed)
    outcome = member_of(touches["outcome"], RESET_OUTCOMES, STALLED_OUTCOMES)
    reset, stalled = reached & outcome[0][order], reached & outcome[1][order]
    last_reached = last(reached)
    last_reset = last(reset)
    day = touches["day"].to_numpy("datetime64[D]")[order]
    agreed = touches["agreed"].to_numpy("datetime64[D]")[order]
    with_agreed = last(~np.isnat(agreed))
    with_tier = last(touches["new_tier"].notna().to_numpy(dtype=bool)[order])
    nat = np.datetime64("NaT", "D")
    return pd.DataFrame({
        "last_touch": pick(day, last_reached, nat),  # the last *real* touch (domain §1): reached
        "touches": sizes,
        "unreached": np.bincount(gid, weights=attempt & (pos > last_reached[gid]), minlength=len(starts)),
        "no_progress": np.bincount(gid, weights=stalled & (pos > last_reset[gid]), minlength=len(starts)),
        "last_outcome": pick_text("outcome", last_reached),
        "last_channel": pick_text("channel", last(touches["channel"].notna().to_numpy(dtype=bool)[order])),
        "agreed": pick(agreed, with_agreed, nat),
        "new_tier": pick_text("new_tier", with_tier),
        "new_tier_day": pick(day, with_tier, nat),
        "hard_call": touches["hard_call"].to_numpy(dtype=bool)[order][starts + sizes - 1],  # on the newest touch
    }, index=pd.Index(ids[group[starts]], dtype="string", name="customer_id")).astype(
        {"unreached": "int64", "no_progress": "int64"})
