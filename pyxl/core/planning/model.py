"""The plan model: its settings and result, the per-customer planning frame, the room per day, the due
units and the objective.

Plan days are the working days of the week on or after today; a "plan day" below is an index into them.
Columns of the planning frame (``customer_frame``: one row per customer, sorted by customer_id):

* ``weight``: lateness weight of the tier (1 when unknown); ``priority``: 1 = first (99 when unknown);
  ``quota``: planned touches per owner, tier and day (NaN = no limit);
* ``every_workday``: the tier is touched every working day, a chain of touches up to the payment deadline;
  ``holiday_greeting``: the tier gets a greeting the working day before a public holiday;
* ``due_day``: plan day of the due date; negative = working days overdue before the first plan day (-1 =
  one); inf = no due date;
* ``first_day``: first plan day on or after earliest; ``last_day``: last plan day a touch may go on (for
  every-workday tiers the last on or before the payment deadline); ``agreed_day``: plan day of the agreed
  date (-1 = not in the week).

Due units (``due_units``) add ``row`` (the customer's row), ``start_day`` (first plan day a touch may go
on), ``lateness_from`` (plan day lateness counts from; 0 for every-workday tiers, whose lateness is their
chain's) and ``placeable`` (start_day <= last_day; else earliest is after the week or the payment deadline
passed). A touch frame has ``row``, ``day`` (plan day) and ``kind`` (agreed, due, ahead, birthday,
holiday greeting).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from ..calendar import TeamCalendar
from ..settings import default
from .blocks import TimeBlock, day_block, greeting_block

UNASSIGNED = "(unassigned)"
BIG = 1 << 40
ENTRY_COLUMNS = ["owner", "date", "block", "block_start", "start", "end", "order", "customer_id", "name", "tier",
                 "reason", "greeting", "channel", "next_content", "due", "days_late", "preferred_time"]
UNPLACED_COLUMNS = ["owner", "customer_id", "name", "tier", "due", "why", "late_at_best", "best_day", "extra_needed"]
TOTAL_COLUMNS = ["owner", "date", "capacity", "planned", "greetings", "over", "free", "effective_target",
                 "new_key_target"]


@dataclass(frozen=True)
class PlanSettings:
    """What the planner is told; capacity, load pattern and targets default to ``templates/settings.toml``."""
    capacity: int = field(default_factory=lambda: default("daily_capacity"))  # touches per owner per day
    owner_capacity: dict[str, int] = field(default_factory=dict)
    # 1st..7th working day of the week (load_by "workday") or Mon..Sun ("weekday"); None = flat
    load_pattern: tuple[float, ...] | None = field(default_factory=lambda: default("load_pattern"))
    load_by: Literal["workday", "weekday"] = field(default_factory=lambda: default("load_by"))
    load_mode: Literal["min", "scale"] = "min"
    blocks: tuple[TimeBlock, ...] = field(default_factory=lambda: (day_block(),))
    new_tiers: frozenset[str] = frozenset({"0"})        # the "new" block keyword
    fill_ahead: bool = True                             # fill spare room with in-window, not yet due customers
    greeting_channel: str = "sms"
    greetings: TimeBlock = field(default_factory=lambda: greeting_block(capacity=default("greeting_capacity")))
    miss_penalty: float = 1000.0                        # working days of lateness a missed due customer costs
    effective_target: int = field(default_factory=lambda: default("effective_target"))
    new_key_target: int = field(default_factory=lambda: default("new_key_target"))
    max_cancels: int = 10_000                           # improvement steps per owner (greedy solver)


@dataclass(frozen=True)
class PlanResult:
    entries: pd.DataFrame     # ENTRY_COLUMNS, sorted by owner, date, order
    unplaced: pd.DataFrame    # UNPLACED_COLUMNS: due this week and not planned, and why
    day_totals: pd.DataFrame  # TOTAL_COLUMNS
    days: tuple[dt.date, ...]
    objective: float          # weighted lateness + miss penalties of the due customers (fixed touches excluded)
    method: str


class Room(NamedTuple):
    """Room left once the fixed touches are in: ``day`` per (owner, day), ``tier`` per (owner, tier, day)
    for the tiers with a quota."""
    day: dict[tuple[str, int], int]
    tier: dict[tuple[str, str, int], int]


# ---------------------------------------------------------------- the planning frame
def _days(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_dtype(values):  # the refreshed view's dates: nothing to parse
        return values.to_numpy("datetime64[D]")
    return pd.to_datetime(values, errors="coerce").to_numpy("datetime64[D]")


def _texts(values: pd.Series, strip: bool = True) -> pd.Series:
    """Text ('' when blank), stripped or as typed."""
    if values.dtype == "str":  # the refreshed view's text columns: text or NaN already, no conversion
        texts = values.tolist()
        return pd.Series([(v.strip() if strip else v) if isinstance(v, str) else "" for v in texts],
                         index=values.index, dtype="str")
    texts = values.astype("string").fillna("")
    return (texts.str.strip() if strip else texts).astype(str)


def next_workday(cal: TeamCalendar, day: dt.date) -> dt.date:
    return cal.add_workdays([day], 1)[0].astype(dt.date)


# what the planner reads of the customers it is given
_CUSTOMER_COLUMNS = ["customer_id", "owner", "tier", "name", "next_content", "channel", "preferred_time", "revenue",
                     "earliest", "due", "agreed_date", "birthday", "payment_deadline", "status"]


def customer_frame(customers: pd.DataFrame, tiers: pd.DataFrame, cal: TeamCalendar, days: list[dt.date],
                   anchor: dt.date) -> pd.DataFrame:
    """Canonical, sorted customers with their tier's attributes and plan-day indexes (module docstring)."""
    c = customers[[key for key in _CUSTOMER_COLUMNS if key in customers]]  # no copies of the others below
    c["customer_id"] = c["customer_id"].astype(str)
    if c["customer_id"].duplicated().any():
        raise ValueError("customer_id must be unique")
    c = c.sort_values("customer_id", kind="stable").reset_index(drop=True)
    owner = _texts(c["owner"])
    c["owner"] = owner.mask(owner == "", UNASSIGNED)
    c["tier"] = _texts(c["tier"])
    c = c.assign(**_tier_attributes(c["tier"], tiers))
    c["revenue"] = pd.to_numeric(c["revenue"], errors="coerce") if "revenue" in c else np.nan
    for col in ("name", "next_content", "channel", "preferred_time"):
        c[col] = _texts(c[col], strip=False) if col in c else ""
    for col in ("earliest", "due", "agreed_date", "birthday", "payment_deadline"):
        c[col] = _days(c[col]) if col in c else np.full(len(c), np.datetime64("NaT", "D"))
    c["active"] = c["status"].astype(str).ne("no_follow_up").to_numpy() if "status" in c else True
    return c.assign(**_day_indexes(c, cal, days, anchor))


def _tier_attributes(tier: pd.Series, tiers: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each customer's tier columns: weight, priority, quota, every_workday, holiday_greeting."""
    t = tiers.copy()
    t.index = t.index.astype(str)
    attrs = t.reindex(tier)
    greet = attrs["holiday_greeting"] if "holiday_greeting" in attrs else pd.Series(False, index=attrs.index)
    return {"weight": pd.to_numeric(attrs["weight"], errors="coerce").fillna(1.0).to_numpy(float),
            "priority": pd.to_numeric(attrs["priority"], errors="coerce").fillna(99).to_numpy(float),
            "quota": pd.to_numeric(attrs["quota"], errors="coerce").to_numpy(float),
            "every_workday": attrs["daily_every_workday"].fillna(False).astype(bool).to_numpy(),
            "holiday_greeting": greet.fillna(False).astype(bool).to_numpy()}


def _day_indexes(c: pd.DataFrame, cal: TeamCalendar, days: list[dt.date], anchor: dt.date) -> dict[str, np.ndarray]:
    """due_day, first_day, last_day and agreed_day (module docstring); ``anchor`` is the first plan day or,
    when the week has none, the first working day after it."""
    n = len(days)
    p = np.array(days, dtype="datetime64[D]")
    due = cal.roll_forward(c["due"].to_numpy())
    due_day = np.searchsorted(p, due).astype(float)
    before = ~np.isnat(due) & (due < np.datetime64(anchor, "D"))
    # -1 - the working days between
    due_day[before] = 1 - cal.networkdays(due[before], np.full(before.sum(), np.datetime64(anchor, "D")))
    due_day[np.isnat(due)] = np.inf
    earliest = c["earliest"].to_numpy()
    first_day = np.where(np.isnat(earliest), 0, np.searchsorted(p, earliest))
    deadline = c["payment_deadline"].to_numpy()
    last_day = np.where(np.isnat(deadline), n - 1, np.searchsorted(p, deadline, side="right") - 1)
    agreed = cal.roll_forward(c["agreed_date"].to_numpy())
    agreed_day = np.searchsorted(p, agreed)
    hit = ~np.isnat(agreed) & (agreed_day < n) & (p[np.minimum(agreed_day, max(n - 1, 0))] == agreed if n else False)
    return {"due_day": due_day, "first_day": first_day, "last_day": np.where(c["every_workday"], last_day, n - 1),
            "agreed_day": np.where(hit, agreed_day, -1)}


# ---------------------------------------------------------------- room
def day_capacity(owners: np.ndarray, days: list[dt.date], s: PlanSettings,
                 week_days: list[dt.date] | None = None) -> pd.DataFrame:
    """Capacity per owner and plan day: columns owner, day, date, capacity. ``week_days``: every working day
    of the week (``days`` when None), for the load pattern's positions."""
    weights = [load_weight(s.load_pattern, day, (week_days or days).index(day), s.load_by) for day in days]
    top = max(s.load_pattern or (1,)) or 1
    rows = []
    for owner in sorted(owners):
        cap = int(s.owner_capacity.get(owner, s.capacity))
        for index, (day, weight) in enumerate(zip(days, weights)):
            if weight is None:
                rows.append((owner, index, day, cap))
                continue
            load = min(cap, weight) if s.load_mode == "min" else cap * weight / top
            rows.append((owner, index, day, int(np.floor(load + 0.5))))
    return pd.DataFrame(rows, columns=["owner", "day", "date", "capacity"])


def load_weight(pattern: tuple[float, ...] | None, day: dt.date, position: int,
                load_by: Literal["workday", "weekday"]) -> float | None:
    """The load pattern's value for a working day (None: no pattern). By "workday" (seed 002's decreasing
    load): the week's first working day takes the first value, whatever its name; a position past the last
    non-zero value takes that value. By "weekday": the value of the day's name; a working (make-up)
    weekend day with 0 takes Friday's."""
    if pattern is None:
        return None
    if load_by == "weekday":
        return pattern[day.weekday()] or (pattern[4] if day.weekday() >= 5 else 0)
    used = [w for w in pattern if w] or [0]
    return pattern[position] if position < len(pattern) and pattern[position] else used[-1]


def agreed_touches(c: pd.DataFrame) -> pd.DataFrame:
    """The fixed touches: active customers on the day they agreed to."""
    hit = c.index[c["active"] & (c["agreed_day"] >= 0)]
    return pd.DataFrame({"row": hit, "day": c.loc[hit, "agreed_day"].astype(int), "kind": "agreed"})


def due_units(c: pd.DataFrame, n: int) -> pd.DataFrame:
    """Customers due by the last plan day (fixed touches and inactive rows excluded), with their window."""
    due = c["active"] & (c["due_day"] <= n - 1) & (c["agreed_day"] < 0)
    u = c.loc[due, ["owner", "tier", "weight", "priority", "every_workday", "due_day", "first_day", "last_day",
                    "due", "revenue", "customer_id"]].copy()
    u["row"] = u.index
    daily = u["every_workday"]
    u["start_day"] = np.where(daily, np.maximum(np.maximum(u["due_day"], u["first_day"]), 0), u["first_day"]).astype(int)
    u["lateness_from"] = np.where(daily, 0, np.maximum(u["due_day"], 0)).astype(int)
    u["due_day"] = u["due_day"].astype(int)
    u["placeable"] = u["start_day"] <= u["last_day"]
    return u.reset_index(drop=True)


def touches_per_day(touches: pd.DataFrame, c: pd.DataFrame) -> tuple[Counter, Counter]:
    """How many of ``touches`` fall on each (owner, day) and each (owner, tier, day)."""
    rows, days = touches["row"].to_numpy(), touches["day"].tolist()
    owner = c["owner"].to_numpy()[rows].tolist()
    return Counter(zip(owner, days)), Counter(zip(owner, c["tier"].to_numpy()[rows].tolist(), days))


def room_left(fixed: pd.DataFrame, c: pd.DataFrame, capacity: pd.DataFrame) -> Room:
    """Room left per (owner, day) and per (owner, tier, day) once the fixed touches are in (never below 0)."""
    day_used, tier_used = touches_per_day(fixed, c)
    plan_days: dict[str, list[int]] = {}
    day_room = {}
    for o, d, cap in zip(capacity["owner"].tolist(), capacity["day"].tolist(), capacity["capacity"].tolist()):
        plan_days.setdefault(o, []).append(d)
        day_room[o, d] = max(cap - day_used[o, d], 0)
    quota: dict[tuple[str, str], float] = {}
    for o, t, q in zip(c["owner"].tolist(), c["tier"].tolist(), c["quota"].tolist()):
        quota.setdefault((o, t), q)
    tier_room = {(o, t, d): int(max(q - tier_used[o, t, d], 0)) for (o, t), q in quota.items() if not np.isnan(q)
                 for d in plan_days.get(o, [])}
    return Room(day_room, tier_room)


def no_touches() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype=int), "day": pd.Series(dtype=int), "kind": pd.Series(dtype=str)})


# ---------------------------------------------------------------- objective
def placement_value(weight: np.ndarray, lateness_from: np.ndarray, day: np.ndarray, n: int,
                    miss: float) -> np.ndarray:
    """What placing a once-a-week customer on plan day ``day`` saves against leaving it for next week."""
    return weight * (miss + (n - lateness_from) - np.maximum(0, day - lateness_from))


def objective(units: pd.DataFrame, touches: pd.DataFrame, n: int, miss: float) -> float:
    """Weighted lateness plus miss penalties of the due units, given their touches."""
    k = touches.groupby("row").size().reindex(units["row"], fill_value=0).to_numpy()
    first = touches.groupby("row")["day"].min().reindex(units["row"]).to_numpy()
    w, q, daily = units["weight"].to_numpy(), units["due_day"].to_numpy(), units["every_workday"].to_numpy()
    once = np.where(k > 0, np.maximum(0, np.nan_to_num(first) - q), n - q + miss)
    chain = units["last_day"].to_numpy() - q + 1 - k + np.where(k > 0, 0, miss)
    return float(np.sum(w * np.where(daily, chain, once)))
