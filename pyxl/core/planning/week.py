"""Planning a week: the model is built, the solver places the due units, then spare room is filled ahead,
greetings are added, and each day's touches go into time blocks. Column names as in ``model``."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Literal

import numpy as np
import pandas as pd

from ..calendar import TeamCalendar
from .blocks import place_in_blocks, running_count, stable_order
from .model import (BIG, ENTRY_COLUMNS, TOTAL_COLUMNS, UNPLACED_COLUMNS, PlanResult, PlanSettings, Room,
                    agreed_touches, customer_frame, day_capacity, due_units, next_workday, no_touches, objective,
                    room_left, touches_per_day)
from .solver import solve_greedy, solve_milp

# the order of a day's calls, by why the customer is on the list
_REASON_RANK = {"agreed": 0, "payment chase": 1, "overdue": 2, "due": 3, "every workday": 4, "in window": 5,
                "birthday": 6, "holiday greeting": 7}
GREETINGS = ("birthday", "holiday greeting")  # touches that use no capacity: a short message


def plan_week(customers: pd.DataFrame, tiers: pd.DataFrame, calendar: TeamCalendar, week: dt.date,
              today: dt.date, settings: PlanSettings | None = None, *,
              method: Literal["greedy", "milp"] = "greedy") -> PlanResult:
    """Plan the ISO week containing ``week`` (any day of it) from ``today`` on. ``customers``: the refreshed
    ledger view (customer_id, owner, tier, earliest, due, agreed_date, status, ...); ``tiers``: indexed by
    tier code, columns quota, priority, weight, daily_every_workday and optionally holiday_greeting;
    ``settings``: PlanSettings() when None."""
    settings = settings or PlanSettings()
    monday = week - dt.timedelta(days=week.weekday())
    sunday = monday + dt.timedelta(days=6)
    week_days = calendar.workdays_between(monday, sunday)
    days = [d for d in week_days if d >= today]
    n = len(days)
    cust = customer_frame(customers, tiers, calendar, days, days[0] if days else next_workday(calendar, sunday))
    capacity = day_capacity(cust["owner"].unique(), days, settings, week_days)
    fixed = agreed_touches(cust)
    due = due_units(cust, n)
    units = due[due["placeable"]]
    room = room_left(fixed, cust, capacity)
    solve = solve_greedy if method == "greedy" else solve_milp
    touches = solve(units, room, n, settings)
    cost = objective(units, touches, n, settings.miss_penalty)
    planned = pd.concat([fixed, touches], ignore_index=True)
    if settings.fill_ahead:
        planned = pd.concat([planned, _fill_ahead(cust, planned, room, n)], ignore_index=True)
    planned, crowded = _greetings_within(_with_greetings(planned, cust, calendar, days), cust,
                                         settings.greetings.capacity)
    entries = _entries(planned, cust, days, capacity, settings)
    unplaced = _unplaced(due, touches, cust, room, days, crowded)
    return PlanResult(entries, unplaced, _day_totals(entries, capacity, settings), tuple(days), cost, method)


def agenda(result: PlanResult, day: dt.date, owner: str | None = None) -> pd.DataFrame:
    """One day's touches in call order (all owners, or one)."""
    rows = result.entries[result.entries["date"] == day]
    if owner is not None:
        rows = rows[rows["owner"] == owner]
    return rows.sort_values(["owner", "order"]).reset_index(drop=True)


def with_co_owners(entries: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Entries plus a copy of each escalated customer's entry on its co-owner's list (seed 003: from stage
    B2 on, or after a hard call, the manager or director works the customer too). A copy uses none of the
    co-owner's capacity; ``for_owner`` names the owner it helps, and the copies follow the co-owner's own
    touches of the day. ``entries`` (from ``plan_for``) and ``customers`` (the view) are keyed by ledger row."""
    co_owner = customers["co_owner"][customers["escalated"] & customers["co_owner"].ne(customers["owner"])]
    helped = entries[entries["ledger_row"].isin(co_owner.index)]
    out = entries.assign(for_owner="")
    if helped.empty:
        return out
    copies = helped.assign(for_owner=helped["owner"], owner=helped["ledger_row"].map(co_owner), reason="co_owner")
    both = pd.concat([out, copies], ignore_index=True)
    owner, date = both["owner"].tolist(), both["date"].tolist()
    rank = stable_order([owner, date, both["for_owner"].tolist(), both["order"].tolist()])
    both = both.iloc[rank].reset_index(drop=True)
    both["order"] = running_count([(owner[i], date[i]) for i in rank])
    return both


# ---------------------------------------------------------------- after the solve
def _fill_ahead(c: pd.DataFrame, planned: pd.DataFrame, room: Room, n: int) -> pd.DataFrame:
    """Spare room, day by day, to customers in their window but not due this week (due, priority, revenue);
    never ahead of a date the customer agreed to."""
    waiting = ~np.isnat(c["agreed_date"].to_numpy())
    ahead = c["active"] & np.isfinite(c["due_day"]) & (c["due_day"] > n - 1) & (c["first_day"] < n) & ~waiting
    cand = c.loc[ahead, ["due", "priority", "revenue", "customer_id", "owner", "tier", "first_day"]]
    cand = cand.sort_values(["due", "priority", "revenue", "customer_id"], ascending=[True, True, False, True],
                            na_position="last", kind="stable")
    if cand.empty:
        return no_touches()
    day_used, tier_used = touches_per_day(planned[planned["kind"] != "agreed"], c)
    day_room = {key: left - day_used[key] for key, left in room.day.items()}
    tier_room = {key: left - tier_used[key] for key, left in room.tier.items()}
    members = list(zip(cand.index.tolist(), cand["owner"].tolist(), cand["tier"].tolist(), cand["first_day"].tolist()))
    taken, out_rows, out_days = set(), [], []
    for day in range(n):
        by_tier: Counter = Counter()
        by_owner: Counter = Counter()
        for row, o, t, first in members:  # in order: the first ones of each (owner, tier), then of each owner
            if first > day or row in taken:
                continue
            by_tier[o, t] += 1
            if by_tier[o, t] > tier_room.get((o, t, day), BIG):
                continue
            by_owner[o] += 1
            if by_owner[o] > day_room.get((o, day), 0):
                continue
            taken.add(row)
            out_rows.append(row)
            out_days.append(day)
    return pd.DataFrame({"row": np.array(out_rows, dtype=np.int64), "day": np.array(out_days, dtype=np.int64),
                         "kind": "ahead"})


def _with_greetings(planned: pd.DataFrame, c: pd.DataFrame, cal: TeamCalendar, days: list[dt.date]) -> pd.DataFrame:
    """Birthdays (on the working day on or before) and holiday greetings (the working day before a public
    holiday, for tiers marked ``holiday_greeting``): merged into a touch the same day, else a free entry."""
    if not days:
        return planned.assign(greeting="")
    greetings: dict[tuple[int, int], tuple[str, list[str]]] = {}  # (row, day) -> the first one's kind, all
    for greet in (_birthdays(c, cal, days), *_holiday_greetings(c, cal, days)):
        for key, kind, text in zip(zip(greet["row"].tolist(), greet["day"].tolist()), greet["kind"].tolist(),
                                   greet["greeting"].tolist()):
            greetings.setdefault(key, (kind, []))[1].append(text)
    keys = list(zip(planned["row"].tolist(), planned["day"].tolist()))
    only = sorted(greetings.keys() - set(keys))  # greetings on a day without a touch: entries of their own
    return pd.DataFrame({
        "row": np.array([row for row, _ in keys + only], dtype=np.int64),
        "day": np.array([day for _, day in keys + only], dtype=np.int64),
        "kind": pd.array(planned["kind"].tolist() + [greetings[key][0] for key in only], dtype="str"),
        "greeting": pd.array(["; ".join(greetings[key][1]) if key in greetings else "" for key in keys + only],
                             dtype="str")})


def _birthdays(c: pd.DataFrame, cal: TeamCalendar, days: list[dt.date]) -> pd.DataFrame:
    """Birthday touches: on the working day on or before the birthday, when that is a plan day."""
    after = next_workday(cal, days[-1])
    span = [days[0] + dt.timedelta(days=i) for i in range((after - days[0]).days)]
    workdays = set(cal.workdays_between(days[0] - dt.timedelta(days=14), after))

    def on_or_before(day: dt.date) -> dt.date:
        d = day
        while d not in workdays:
            d -= dt.timedelta(days=1)
        return d

    index = {d: i for i, d in enumerate(days)}
    born = {(d.month, d.day): index.get(on_or_before(d), -1) for d in span}
    born.setdefault((2, 29), born.get((2, 28), -1))  # 29 February, in a common year: on the 28th
    bd = pd.to_datetime(pd.Series(c["birthday"]))
    key = list(zip(bd.dt.month.fillna(0).astype(int).tolist(), bd.dt.day.fillna(0).astype(int).tolist()))
    day = np.array([born.get(k, -1) for k in key]) if len(c) else np.zeros(0, int)
    hit = c["active"].to_numpy() & (day >= 0)
    return pd.DataFrame({"row": np.nonzero(hit)[0], "day": day[hit], "kind": "birthday", "greeting": "birthday"})


def _holiday_greetings(c: pd.DataFrame, cal: TeamCalendar, days: list[dt.date]) -> list[pd.DataFrame]:
    """Holiday greetings to the greeting tiers, the working day before each public holiday in the plan."""
    index = {d: i for i, d in enumerate(days)}
    out = []
    for day, name in cal.greeting_days(days[0], next_workday(cal, days[-1])).items():
        g = index.get(day, -1)
        if g < 0:
            continue
        rows = np.nonzero(c["active"].to_numpy() & c["holiday_greeting"].to_numpy())[0]
        out.append(pd.DataFrame({"row": rows, "day": g, "kind": "holiday greeting",
                                 "greeting": f"holiday greeting: {name}"}))
    return out


def _greetings_within(planned: pd.DataFrame, c: pd.DataFrame, capacity: int | None
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Greeting-only touches kept within the greetings block's capacity per owner and day (by priority,
    revenue, customer ID); the others are returned apart (row, day), to be listed as not fitting."""
    alone = planned["kind"].isin(GREETINGS).to_numpy()
    if capacity is None or not alone.any():
        return planned, planned.iloc[:0][["row", "day"]]
    keys = ["owner", "priority", "revenue", "customer_id"]
    g = planned[alone].join(c[keys], on="row")
    g = g.sort_values(["owner", "day", "priority", "revenue", "customer_id"],
                      ascending=[True, True, True, False, True], na_position="last", kind="stable")
    over = g.index[g.groupby(["owner", "day"]).cumcount().to_numpy() >= capacity]
    return planned.drop(over), planned.loc[over, ["row", "day"]]


# the customer's columns an entry is built from
_ENTRY_FIELDS = ["owner", "customer_id", "name", "tier", "next_content", "preferred_time", "channel", "priority",
                 "revenue", "due", "due_day", "every_workday", "payment_deadline"]


def _entries(planned: pd.DataFrame, c: pd.DataFrame, days: list[dt.date], capacity: pd.DataFrame,
             s: PlanSettings) -> pd.DataFrame:
    """The plan's entries (ENTRY_COLUMNS): touches with their customer, reason, lateness, block and slot."""
    if planned.empty:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    p = planned.sort_values(["row", "day"], kind="stable").reset_index(drop=True)
    cust = c.loc[p["row"], _ENTRY_FIELDS].reset_index(drop=True)
    n = len(days)
    row, day, kind = p["row"].to_numpy(), p["day"].to_numpy(), p["kind"].to_numpy(dtype=object)
    prev = _due_before(row, day, kind == "due")  # the chain's touch before, every-workday tiers
    chain = cust["every_workday"].to_numpy(dtype=bool) & ~np.isnan(prev)
    late = np.where(chain, day - np.nan_to_num(prev) - 1,
                    np.maximum(0, day - np.minimum(cust["due_day"].to_numpy(dtype=float), n)))
    p["days_late"] = np.where((kind == "due") | (kind == "agreed"), late, 0).astype(int)
    pdays = np.array(days, dtype="datetime64[D]")
    chain_due = pdays[np.clip(np.nan_to_num(prev).astype(int) + 1, 0, n - 1)]
    p["due"] = np.where(chain, chain_due, cust["due"].to_numpy())
    p["reason"] = _reasons(p, cust)
    p["date"] = [days[d] for d in p["day"]]
    for col in ("owner", "customer_id", "name", "tier", "next_content", "preferred_time"):
        p[col] = cust[col].to_numpy()
    greet_only = p["kind"].isin(GREETINGS)
    p["channel"] = np.where(greet_only, s.greeting_channel, cust["channel"].to_numpy())
    p["uses_capacity"] = ~greet_only
    p["reason_rank"] = p["reason"].map(_REASON_RANK)
    p["priority"], p["revenue"] = cust["priority"].to_numpy(), cust["revenue"].to_numpy()
    p["due_day"] = cust["due_day"].to_numpy()
    p = place_in_blocks(p, capacity, s.blocks, s.new_tiers, s.greetings)
    p["due"] = pd.to_datetime(p["due"]).dt.date
    return p[ENTRY_COLUMNS].reset_index(drop=True)  # in call order by owner and date (``place_in_blocks``)


def _due_before(row: np.ndarray, day: np.ndarray, due: np.ndarray) -> np.ndarray:
    """For each due touch, the plan day of the same customer's due touch before it (NaN: none, or not due);
    touches sorted by row and day."""
    at = np.flatnonzero(due)
    prev = np.full(len(row), np.nan)
    same = row[at[1:]] == row[at[:-1]]
    prev[at[1:][same]] = day[at[:-1][same]]
    return prev


def _reasons(p: pd.DataFrame, cust: pd.DataFrame) -> np.ndarray:
    """Why each touch is on the list: agreed, payment chase, overdue, due, every workday, in window, or the
    greeting's kind."""
    daily = cust["every_workday"].to_numpy()
    chase = daily & ~np.isnat(cust["payment_deadline"].to_numpy())
    late = p["days_late"] > 0
    due = np.where(daily, np.where(chase, "payment chase", np.where(late, "overdue", "every workday")),
                   np.where(late, "overdue", "due"))
    kind = p["kind"].to_numpy()
    return np.select([kind == "agreed", kind == "ahead", kind == "due"], ["agreed", "in window", due], kind)


def _unplaced(due: pd.DataFrame, touches: pd.DataFrame, c: pd.DataFrame, room: Room,
              days: list[dt.date], crowded: pd.DataFrame) -> pd.DataFrame:
    """Due customers without a touch this week, why, and the day one more unit of room would have placed them
    (``extra_needed``: how many of that owner's unplaced customers need that day); then the greetings the
    greetings block had no room for (``crowded``: row, day)."""
    n = len(days)
    u = due[~due["row"].isin(touches["row"])].reset_index(drop=True)
    best = np.clip(np.maximum(u["start_day"].to_numpy(), u["lateness_from"].to_numpy()), 0, max(n - 1, 0))
    why = _why_unplaced(u, best, touches, c, room, n)
    name = c["name"].iloc[u["row"].to_numpy()].reset_index(drop=True)
    res = pd.DataFrame({"owner": u["owner"], "customer_id": u["customer_id"], "name": name,
                        "tier": u["tier"], "due": pd.to_datetime(u["due"]).dt.date, "why": why,
                        "late_at_best": (n - u["due_day"]).astype(int),
                        "best_day": [days[b] if ok else None for b, ok in zip(best, u["placeable"])]})
    greet = c.loc[crowded["row"], ["owner", "customer_id", "name", "tier"]].reset_index(drop=True)
    res = pd.concat([res.sort_values(["owner", "due", "customer_id"], kind="stable"), pd.DataFrame({
        "owner": greet["owner"], "customer_id": greet["customer_id"], "name": greet["name"], "tier": greet["tier"],
        "due": None, "why": "greetings", "late_at_best": 0, "best_day": [days[d] for d in crowded["day"]]})],
        ignore_index=True) if len(crowded) else res.sort_values(["owner", "due", "customer_id"], kind="stable")
    why = res["why"].to_numpy(dtype=object)
    greeting = why == "greetings"
    needs = greeting | (why == "capacity") | (why == "quota")  # for want of room: how many on that owner's day
    owner = pd.factorize(res["owner"].to_numpy(dtype=object), use_na_sentinel=False)[0]
    day = pd.factorize(res["best_day"].to_numpy(dtype=object), use_na_sentinel=False)[0]
    group = (owner * (day.max(initial=0) + 1) + day) * 2 + greeting
    res["extra_needed"] = np.where(needs, np.bincount(group[needs], minlength=group.max(initial=0) + 1)[group], 0)
    return res.reset_index(drop=True)[UNPLACED_COLUMNS]


def _why_unplaced(u: pd.DataFrame, best: np.ndarray, touches: pd.DataFrame, c: pd.DataFrame, room: Room,
                  n: int) -> np.ndarray:
    """No working day, payment deadline passed, earliest after the week, the tier's quota, or capacity."""
    _, tier_used = touches_per_day(touches, c)
    keys = list(zip(u["owner"].tolist(), u["tier"].tolist(), best.tolist()))
    quota = np.array([room.tier.get(k, np.nan) for k in keys], dtype=float)
    full = np.array([tier_used[k] for k in keys], dtype=np.int64) >= np.nan_to_num(quota, nan=np.inf)
    deadline = ~np.isnat(c["payment_deadline"].to_numpy()[u["row"].to_numpy()])
    ok, daily = u["placeable"], u["every_workday"]
    return np.select([n == 0, ~ok & daily & deadline, ~ok, full],
                     ["no working day this week", "payment deadline passed", "earliest after the week", "quota"],
                     "capacity")


def _day_totals(entries: pd.DataFrame, capacity: pd.DataFrame, s: PlanSettings) -> pd.DataFrame:
    """Per owner and plan day: capacity, planned touches, greetings, over and free room, and the targets."""
    on = list(zip(entries["owner"].tolist(), entries["date"].tolist()))
    planned = Counter(k for k, reason in zip(on, entries["reason"].tolist()) if reason not in GREETINGS)
    greet = Counter(k for k, greeting in zip(on, entries["greeting"].tolist()) if greeting != "")
    t = capacity.drop(columns="day")
    owner_days = list(zip(t["owner"].tolist(), t["date"].tolist()))
    t["planned"] = np.array([planned[k] for k in owner_days], dtype=int)
    t["greetings"] = np.array([greet[k] for k in owner_days], dtype=int)
    t["over"] = (t["planned"] - t["capacity"]).clip(lower=0)
    t["free"] = (t["capacity"] - t["planned"]).clip(lower=0)
    t["effective_target"], t["new_key_target"] = s.effective_target, s.new_key_target
    return t[TOTAL_COLUMNS]
