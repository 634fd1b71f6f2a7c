"""The contact log (跟进记录) drives the ledger: last contact, counters, agreed date, tier changes.

Everything is derived from the whole log each time, so a re-run gives the same ledger. Touches that
cannot be applied (unknown customer, dated in the future, unreadable, exact duplicates) are reported.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .values import clean_text, is_blank, parse_bool, parse_dates, parse_datetimes, parse_vocab

RESET_OUTCOMES = ("progress", "deal")
STALLED_OUTCOMES = ("considering", "refused")


@dataclass(frozen=True)
class LogProblem:
    row: object  # the log row's index label (Excel row)
    field: str
    rule: str
    value: object


@dataclass
class DerivedLog:
    touches: pd.DataFrame  # parsed, applicable touches: customer_id, when, day, channel, reached, outcome, agreed, new_tier
    per_customer: pd.DataFrame  # index customer_id: last_touch, unreached, no_progress, last_outcome, agreed, new_tier…
    problems: list[LogProblem]


def parse_log(log: pd.DataFrame, today: dt.date) -> tuple[pd.DataFrame, list[LogProblem]]:
    """Typed log cells -> parsed touches (index = log row) and the cells that could not be read."""
    problems: list[LogProblem] = []
    col = lambda key: log[key] if key in log else pd.Series(None, index=log.index, dtype=object)  # noqa: E731
    when, bad_when = parse_datetimes(col("when"), today)
    touches = pd.DataFrame(index=log.index)
    touches["customer_id"] = clean_text(col("customer_id"))
    touches["day"] = when.astype("datetime64[D]")
    touches["when"] = when  # the typed date-time where there is one, else midnight of the day
    touches["owner"] = clean_text(col("owner"))
    reached, bad_reached = parse_bool(col("reached"))
    for key, vocab in (("channel", "channel"), ("outcome", "outcome")):
        touches[key], bad = parse_vocab(col(key), vocab)
        problems += _bad_cells(log, key, bad)
    # an outcome means the customer was reached, unless the Reached cell says otherwise
    reached_blank = is_blank(col("reached")).to_numpy()
    touches["reached"] = reached | (reached_blank & touches["outcome"].notna().to_numpy())
    touches["agreed"], bad_agreed = parse_dates(col("agreed_date"), today)
    touches["new_tier"] = clean_text(col("new_tier"))
    problems += _bad_cells(log, "when", bad_when) + _bad_cells(log, "reached", bad_reached)
    problems += _bad_cells(log, "agreed_date", bad_agreed)
    return touches, problems


def _bad_cells(log: pd.DataFrame, key: str, bad: np.ndarray) -> list[LogProblem]:
    return [LogProblem(row, key, "log.invalid", log.at[row, key]) for row in log.index[bad]]


def derive(log: pd.DataFrame, known_ids: set[str], today: dt.date) -> DerivedLog:
    touches, problems = parse_log(log, today)
    no_id = touches["customer_id"].isna().to_numpy()
    no_day = np.isnat(touches["day"].to_numpy())
    touches = touches[~(no_id & no_day)]  # blank rows
    unusable = (no_id | no_day)[~(no_id & no_day)]
    unknown = ~unusable & ~touches["customer_id"].isin(known_ids).to_numpy()
    future = ~unusable & (touches["day"].to_numpy() > np.datetime64(today, "D"))
    duplicate = log.loc[touches.index].astype(str).duplicated(keep="first").to_numpy() & ~unusable  # every typed cell
    problems += [LogProblem(r, "customer_id", "log.unknown_customer", touches.at[r, "customer_id"])
                 for r in touches.index[unknown]]
    problems += [LogProblem(r, "when", "log.future", touches.at[r, "day"]) for r in touches.index[future]]
    problems += [LogProblem(r, "when", "log.duplicate", touches.at[r, "customer_id"])
                 for r in touches.index[duplicate]]
    applied = touches[~(unusable | unknown | future | duplicate)]
    return DerivedLog(applied, summarise(applied), problems)


def summarise(touches: pd.DataFrame) -> pd.DataFrame:
    """Per customer: newest reached touch (an unanswered call is an attempt, not a contact, so the customer
    stays due), trailing unreached run, stalled touches since the last progress, etc."""
    t = touches.assign(_row=np.arange(len(touches))).sort_values(["customer_id", "when", "_row"])
    newest_first = t.iloc[::-1]
    group = newest_first["customer_id"]
    # unreached: touches since the newest reached one
    not_reached = ~newest_first["reached"]
    unreached = not_reached.groupby(group).cumprod().groupby(group).sum()
    # no progress: reached touches with a stalled outcome since the newest progress/deal
    reached = newest_first[newest_first["reached"]]
    g = reached["customer_id"]
    alive = (~reached["outcome"].isin(RESET_OUTCOMES)).groupby(g).cumprod()
    stalled = (alive & reached["outcome"].isin(STALLED_OUTCOMES)).groupby(g).sum()
    last_reached = reached.drop_duplicates("customer_id").set_index("customer_id")  # newest reached touch
    agreed = t.dropna(subset=["agreed"]).groupby("customer_id")["agreed"].last()
    with_tier = t.dropna(subset=["new_tier"]).groupby("customer_id")[["new_tier", "day"]].last()
    by_customer = t.groupby("customer_id")
    return pd.DataFrame({
        "last_touch": reached.groupby(g)["day"].max(),  # the last *real* touch (domain §1): reached
        "touches": by_customer.size(),
        "unreached": unreached,
        "no_progress": stalled,
        "last_outcome": last_reached["outcome"],
        "last_channel": by_customer["channel"].last(),
        "agreed": agreed,
        "new_tier": with_tier["new_tier"],
        "new_tier_day": with_tier["day"],
    }).fillna({"unreached": 0, "no_progress": 0}).astype({"unreached": "int64", "no_progress": "int64"})
