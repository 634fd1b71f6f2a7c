"""The week planner: per owner, who to contact on which working day and in which time block, within capacity.

Pure: pandas in, pandas out (no Excel, no files).  Model, per owner (owners never share capacity, so the
problem decomposes by owner):

* Plan days ``P`` = the working days of the ISO week on or after ``today`` (holidays are never used,
  make-up working days are).  Day capacity = ``min(capacity, load weight of the weekday)`` (``load_mode="min"``,
  the default: the owner's capacity is a ceiling, the pattern the shape of the week) or
  ``round(capacity × weight / max weight)`` (``"scale"``).  A working weekend day with weight 0 takes Friday's.
* Fixed touches: an agreed date in ``P`` is kept on that day even when the day overflows (``day_totals.over``).
* Due units: every customer due by the last plan day.  Nothing before ``earliest``.
  - once-a-week tiers: one touch, cost ``weight × working days late``; not placed: ``weight × (late on the
    first working day after the week + miss_penalty)``.
  - every-working-day tiers: a touch on every plan day from the due day up to the payment deadline; the
    lateness of the chain of touches telescopes to ``weight × (owed days − touches)`` plus ``miss_penalty``
    when never touched.  A payment deadline before the first plan day is reported as unplaced.
  Objective = the sum; constraints: day capacity, per-tier daily quota, one touch per customer per day.
* Solvers: ``"greedy"`` (default, numpy only): customers that are interchangeable for the objective are
  grouped into classes (owner, tier, due day, first day, last day), a greedy fills days by value and
  negative-cycle cancelling on the small class × day network improves it; run to convergence it is exact.
  ``"milp"``: a per-customer 0/1 model solved per owner by ``scipy.optimize.milp`` (HiGHS), the reference.
* After the solve: spare room is filled with customers in their window but not yet due (``fill_ahead``),
  birthdays and holiday greetings are added (they use no capacity: a short message), and each day's
  touches are put in time blocks (tier/keyword blocks ∩ preferred time; block room ∝ block length; a full
  block spills into the nearest block with room — blocks and preferred time are soft, the day is hard).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .calendar import TeamCalendar

UNASSIGNED = "(unassigned)"
BIG = 1 << 40
ENTRY_COLUMNS = ["owner", "date", "block", "block_start", "start", "end", "order", "customer_id", "name", "tier",
                 "reason", "greeting", "channel", "next_content", "due", "days_late", "preferred_time"]
UNPLACED_COLUMNS = ["owner", "customer_id", "name", "tier", "due", "why", "late_at_best", "best_day", "extra_needed"]
TOTAL_COLUMNS = ["owner", "date", "capacity", "planned", "greetings", "over", "free", "effective_target",
                 "new_key_target"]
_REASON_RANK = {"agreed": 0, "payment chase": 1, "overdue": 2, "due": 3, "every workday": 4, "in window": 5,
                "birthday": 6, "holiday greeting": 7}


def _time(text: str | dt.time) -> dt.time:
    return text if isinstance(text, dt.time) else dt.time.fromisoformat(text.strip())


@dataclass(frozen=True)
class TimeBlock:
    """A block of the working day serving some tiers; ``tiers`` may hold the keywords "new" and "chase"."""
    start: dt.time
    end: dt.time
    label: str
    tiers: tuple[str, ...] = ()
    capacity: int | None = None  # None: a share of the day's capacity proportional to the block's length

    @classmethod
    def parse(cls, start: str, end: str, label: str, tiers: str | tuple[str, ...] = "",
              capacity: int | None = None) -> TimeBlock:
        codes = tuple(t.strip() for t in re.split(r"[,，、\s]+", tiers) if t.strip()) if isinstance(tiers, str) else tiers
        return cls(_time(start), _time(end), label, codes, capacity)

    @property
    def minutes(self) -> tuple[int, int]:
        return self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute


DEFAULT_BLOCKS = (
    TimeBlock.parse("08:30", "10:00", "New", "new"),
    TimeBlock.parse("10:00", "11:00", "Chase 1–2", "2,1,chase"),
    TimeBlock.parse("11:00", "12:00", "Tiers 3–4", "3K,3N,4K,4N"),
    TimeBlock.parse("13:30", "15:00", "New", "new"),
    TimeBlock.parse("15:00", "16:30", "Tier 3", "3K,3N"),
    TimeBlock.parse("16:30", "18:00", "Tier 4", "4K,4N"),
)


@dataclass(frozen=True)
class PlanSettings:
    capacity: int = 40                                  # touches per owner per day (Settings.daily_capacity)
    owner_capacity: dict[str, int] = field(default_factory=dict)
    load_pattern: tuple[float, ...] | None = (55, 35, 25, 15, 10, 5, 0)  # Monday..Sunday; None = flat
    load_mode: Literal["min", "scale"] = "min"
    blocks: tuple[TimeBlock, ...] = DEFAULT_BLOCKS
    new_tiers: frozenset[str] = frozenset({"0"})        # the "new" block keyword
    fill_ahead: bool = True                             # fill spare room with in-window, not yet due customers
    greeting_channel: str = "sms"
    miss_penalty: float = 1000.0                        # working days of lateness a missed due customer costs
    effective_target: int = 30
    new_key_target: int = 3
    max_cancels: int = 10_000                           # improvement steps per owner (greedy solver)


@dataclass(frozen=True)
class PlanResult:
    entries: pd.DataFrame     # ENTRY_COLUMNS, sorted by owner, date, order
    unplaced: pd.DataFrame    # UNPLACED_COLUMNS: due this week and not planned, and why
    day_totals: pd.DataFrame  # TOTAL_COLUMNS
    days: tuple[dt.date, ...]
    objective: float          # weighted lateness + miss penalties of the due customers (fixed touches excluded)
    method: str


# ---------------------------------------------------------------- public API
def plan_week(customers: pd.DataFrame, tiers: pd.DataFrame, calendar: TeamCalendar, week: dt.date,
              today: dt.date, settings: PlanSettings = PlanSettings(), *,
              method: Literal["greedy", "milp"] = "greedy") -> PlanResult:
    """Plan the ISO week containing ``week`` (any day of it) from ``today`` on."""
    monday = week - dt.timedelta(days=week.weekday())
    sunday = monday + dt.timedelta(days=6)
    days = [d for d in calendar.workdays_between(monday, sunday) if d >= today]
    cust = _normalise(customers, tiers, calendar, days, days[0] if days else _next_workday(calendar, sunday))
    room = _capacity(cust["owner"].unique(), days, settings)
    fixed = _fixed(cust)
    due = _units(cust, len(days))
    units = due[due["ok"]]
    used = _usage(fixed, cust, room)
    solve = _solve_greedy if method == "greedy" else _solve_milp
    touches = solve(units, used, len(days), settings)
    objective = _cost(units, touches, len(days), settings.miss_penalty)
    planned = pd.concat([fixed, touches], ignore_index=True)
    if settings.fill_ahead:
        planned = pd.concat([planned, _fill_ahead(cust, planned, used, len(days))], ignore_index=True)
    planned = _with_greetings(planned, cust, calendar, days)
    entries = _entries(planned, cust, days, room, settings)
    unplaced = _unplaced(due, touches, cust, used, days)
    return PlanResult(entries, unplaced, _day_totals(entries, room, settings), tuple(days), objective, method)


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
    touches of the day."""
    escalated = customers[customers["escalated"] & customers["co_owner"].ne(customers["owner"])]
    helped = entries[entries["customer_id"].isin(escalated["customer_id"])]
    out = entries.assign(for_owner="")
    if helped.empty:
        return out
    co_owner = helped["customer_id"].map(dict(zip(escalated["customer_id"], escalated["co_owner"])))
    copies = helped.assign(for_owner=helped["owner"], owner=co_owner, reason="co_owner")
    both = pd.concat([out, copies], ignore_index=True).sort_values(["owner", "date", "for_owner", "order"],
                                                                   kind="stable")
    both["order"] = both.groupby(["owner", "date"]).cumcount() + 1
    return both.reset_index(drop=True)


_PERIODS = [  # (pattern, (from, to) minutes)
    (r"下午|afternoon|\bpm\b|p\.m\.", (720, 1080)),
    (r"上午|早上|早晨|morning|\bam\b|a\.m\.", (0, 720)),
    (r"中午|午间|noon|lunch", (690, 840)),
    (r"晚上|傍晚|夜间|下班后|非工作时间|evening|night|after[\s-]*hours|after work", (1080, 1440)),
]
_RANGE = re.compile(r"(\d{1,2})(?:[:：点时.](\d{2})?)?\s*(?:-|~|～|–|—|至|到|to)\s*(\d{1,2})(?:[:：点时.](\d{2})?)?")
_ONE = re.compile(r"(\d{1,2})(?:[:：点时](\d{2})?)")


def preferred_window(text: object) -> tuple[int, int] | None:
    """Free text ("上午", "afternoon", "after hours", "09:00-10:00", "10点") -> (from, to) minutes, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    low = text.strip().lower()
    if m := _RANGE.search(low):
        a, b = int(m[1]) * 60 + int(m[2] or 0), int(m[3]) * 60 + int(m[4] or 0)
        if b <= 720 and a < 720 and ("下午" in low or "pm" in low):
            a, b = a + 720, b + 720
        return (a, b) if a < b <= 1440 else None
    if m := _ONE.search(low):
        a = int(m[1]) * 60 + int(m[2] or 0) + (720 if ("下午" in low or "pm" in low) and int(m[1]) < 12 else 0)
        return (a, a + 60) if a < 1440 else None
    for pattern, window in _PERIODS:
        if re.search(pattern, low):
            return window
    return None


# ---------------------------------------------------------------- inputs
def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, errors="coerce").to_numpy("datetime64[D]")


def _next_workday(cal: TeamCalendar, day: dt.date) -> dt.date:
    return cal.add_workdays([day], 1)[0].astype(dt.date)


def _normalise(customers: pd.DataFrame, tiers: pd.DataFrame, cal: TeamCalendar, days: list[dt.date],
               anchor: dt.date) -> pd.DataFrame:
    """Canonical, sorted customers with tier attributes and plan-day indexes."""
    c = customers.copy()
    c["customer_id"] = c["customer_id"].astype(str)
    if c["customer_id"].duplicated().any():
        raise ValueError("customer_id must be unique")
    c = c.sort_values("customer_id", kind="stable").reset_index(drop=True)
    owner = c["owner"].astype("string").str.strip().fillna("")
    c["owner"] = owner.mask(owner == "", UNASSIGNED).astype(str)
    c["tier"] = c["tier"].astype("string").fillna("").str.strip().astype(str)
    t = tiers.copy()
    t.index = t.index.astype(str)
    attrs = t.reindex(c["tier"])
    c["w"] = pd.to_numeric(attrs["weight"], errors="coerce").fillna(1.0).to_numpy(float)
    c["prio"] = pd.to_numeric(attrs["priority"], errors="coerce").fillna(99).to_numpy(float)
    c["quota"] = pd.to_numeric(attrs["quota"], errors="coerce").to_numpy(float)
    c["daily"] = attrs["daily_every_workday"].fillna(False).astype(bool).to_numpy()
    greet = attrs["holiday_greeting"] if "holiday_greeting" in attrs else pd.Series(False, index=attrs.index)
    c["greet"] = greet.fillna(False).astype(bool).to_numpy()
    c["revenue"] = pd.to_numeric(c["revenue"], errors="coerce") if "revenue" in c else np.nan
    for col in ("name", "next_content", "channel", "preferred_time"):
        c[col] = c[col].astype("string").fillna("").astype(str) if col in c else ""
    for col in ("earliest", "due", "agreed_date", "birthday", "payment_deadline"):
        c[col] = _days(c[col]) if col in c else np.full(len(c), np.datetime64("NaT", "D"))
    c["active"] = c["status"].astype(str).ne("no_follow_up").to_numpy() if "status" in c else True
    return c.assign(**_indexes(c, cal, days, anchor))


def _indexes(c: pd.DataFrame, cal: TeamCalendar, days: list[dt.date], anchor: dt.date) -> dict[str, np.ndarray]:
    """q: plan-day index of the due day (negative: working days overdue before ``anchor``, the first plan day
    or, when the week has none, the first working day after it; -1 = one);
    e: first plan day on or after earliest; end: last plan day on or before the payment deadline;
    fixed_j: plan day of the agreed date (-1 = none)."""
    n = len(days)
    p = np.array(days, dtype="datetime64[D]")
    due = cal.roll_forward(c["due"].to_numpy())
    q = np.searchsorted(p, due).astype(float)
    before = ~np.isnat(due) & (due < np.datetime64(anchor, "D"))
    q[before] = 1 - cal.networkdays(due[before], np.full(before.sum(), np.datetime64(anchor, "D")))  # -1 - between
    q[np.isnat(due)] = np.inf
    earliest = c["earliest"].to_numpy()
    e = np.where(np.isnat(earliest), 0, np.searchsorted(p, earliest))
    deadline = c["payment_deadline"].to_numpy()
    end = np.where(np.isnat(deadline), n - 1, np.searchsorted(p, deadline, side="right") - 1)
    agreed = cal.roll_forward(c["agreed_date"].to_numpy())
    j = np.searchsorted(p, agreed)
    hit = ~np.isnat(agreed) & (j < n) & (p[np.minimum(j, max(n - 1, 0))] == agreed if n else False)
    return {"q": q, "e": e, "end": np.where(c["daily"], end, n - 1), "fixed_j": np.where(hit, j, -1)}


def _capacity(owners: np.ndarray, days: list[dt.date], s: PlanSettings) -> pd.DataFrame:
    """Capacity per owner and plan day: columns owner, j, date, capacity."""
    pattern = s.load_pattern
    rows = []
    for owner in sorted(owners):
        cap = int(s.owner_capacity.get(owner, s.capacity))
        for j, day in enumerate(days):
            if pattern is None:
                rows.append((owner, j, day, cap))
                continue
            weight = pattern[day.weekday()] or (pattern[4] if day.weekday() >= 5 else 0)
            top = max(pattern) or 1
            load = min(cap, weight) if s.load_mode == "min" else cap * weight / top
            rows.append((owner, j, day, int(np.floor(load + 0.5))))
    return pd.DataFrame(rows, columns=["owner", "j", "date", "capacity"])


def _fixed(c: pd.DataFrame) -> pd.DataFrame:
    hit = c.index[c["active"] & (c["fixed_j"] >= 0)]
    return pd.DataFrame({"row": hit, "j": c.loc[hit, "fixed_j"].astype(int), "kind": "agreed"})


def _units(c: pd.DataFrame, n: int) -> pd.DataFrame:
    """Customers due by the last plan day (fixed touches and inactive rows excluded), with their window."""
    due = c["active"] & (c["q"] <= n - 1) & (c["fixed_j"] < 0)
    u = c.loc[due, ["owner", "tier", "w", "prio", "daily", "q", "e", "end", "due", "revenue", "customer_id"]].copy()
    u["row"] = u.index
    u["s"] = np.where(u["daily"], np.maximum(np.maximum(u["q"], u["e"]), 0), u["e"]).astype(int)
    u["qc"] = np.where(u["daily"], 0, np.maximum(u["q"], 0)).astype(int)
    u["q"] = u["q"].astype(int)
    u["ok"] = u["s"] <= u["end"]  # else: earliest after the week, or payment deadline passed
    return u.reset_index(drop=True)


def _usage(fixed: pd.DataFrame, c: pd.DataFrame, room: pd.DataFrame) -> dict[str, pd.Series]:
    """Room left per (owner, j) and per (owner, tier, j) once the fixed touches are in (never below 0)."""
    f = fixed.assign(owner=c.loc[fixed["row"], "owner"].to_numpy(), tier=c.loc[fixed["row"], "tier"].to_numpy())
    day = room.set_index(["owner", "j"])["capacity"]
    day_room = day.sub(f.groupby(["owner", "j"]).size().reindex(day.index, fill_value=0)).clip(lower=0)
    quota = c[["owner", "tier", "quota"]].drop_duplicates(["owner", "tier"]).dropna(subset=["quota"])
    q = (quota.merge(room[["owner", "j"]], on="owner").set_index(["owner", "tier", "j"])["quota"])
    q = q.sub(f.groupby(["owner", "tier", "j"]).size().reindex(q.index, fill_value=0)).clip(lower=0)
    return {"day": day_room.astype(int), "quota": q.astype(int)}


# ---------------------------------------------------------------- objective
def _value(w: np.ndarray, qc: np.ndarray, j: np.ndarray, n: int, miss: float) -> np.ndarray:
    """What placing a once-a-week customer on plan day j saves against leaving it for next week."""
    return w * (miss + (n - qc) - np.maximum(0, j - qc))


def _cost(units: pd.DataFrame, touches: pd.DataFrame, n: int, miss: float) -> float:
    k = touches.groupby("row").size().reindex(units["row"], fill_value=0).to_numpy()
    first = touches.groupby("row")["j"].min().reindex(units["row"]).to_numpy()
    w, q, daily = units["w"].to_numpy(), units["q"].to_numpy(), units["daily"].to_numpy()
    once = np.where(k > 0, np.maximum(0, np.nan_to_num(first) - q), n - q + miss)
    chain = units["end"].to_numpy() - q + 1 - k + np.where(k > 0, 0, miss)
    return float(np.sum(w * np.where(daily, chain, once)))


# ---------------------------------------------------------------- greedy + cycle cancelling on classes
_CLASS_KEY = ["owner", "tier", "daily", "qc", "s", "end"]


def _classes(units: pd.DataFrame) -> pd.DataFrame:
    g = units.groupby(_CLASS_KEY, sort=True)
    return g.agg(w=("w", "first"), prio=("prio", "first"), n=("row", "size")).reset_index()


def _solve_greedy(units: pd.DataFrame, used: dict[str, pd.Series], n: int, s: PlanSettings) -> pd.DataFrame:
    if units.empty or n == 0:
        return _no_touches()
    classes = _classes(units)
    counts = np.zeros((len(classes), n), dtype=np.int64)
    for owner, idx in classes.groupby("owner").indices.items():
        counts[idx] = _owner_counts(classes.iloc[idx], used, owner, n, s)
    return _disaggregate(units, classes, counts)


def _owner_counts(cl: pd.DataFrame, used: dict[str, pd.Series], owner: str, n: int, s: PlanSettings) -> np.ndarray:
    net = _Network(cl, used, owner, n, s.miss_penalty)
    net.greedy()
    net.cancel_cycles(s.max_cancels)
    return net.counts()


class _Network:
    """Min-cost circulation for one owner.  Nodes: 0 = sink, days, tier-days, a node per class (daily
    classes two: supply, touches).  Supplies sit on class nodes; every unit ends at the sink, through a
    day (placed) or directly (dropped / no touch).  Costs are minus the value of a placement."""

    def __init__(self, cl: pd.DataFrame, used: dict[str, pd.Series], owner: str, n: int, miss: float):
        self.n, self.cl = n, cl.to_dict("records")
        tiers = sorted({r["tier"] for r in self.cl})
        self.td = {(t, j): 1 + n + i * n + j for i, t in enumerate(tiers) for j in range(n)}
        node = 1 + n + len(tiers) * n
        edges: list[tuple[int, int, int, float]] = []  # tail, head, cap, cost
        day_room = used["day"].loc[owner]
        quota = used["quota"]
        for j in range(n):
            edges.append((1 + j, 0, int(day_room.get(j, 0)), 0.0))
        self.td_edge: dict[tuple[str, int], int] = {}
        for (t, j), v in self.td.items():
            self.td_edge[(t, j)] = len(edges)
            edges.append((v, 1 + j, int(quota[(owner, t, j)]) if (owner, t, j) in quota.index else BIG, 0.0))
        self.place: list[list[int]] = []   # per class: edge id per plan day (-1 = not allowed)
        self.supply: list[tuple[int, int]] = []  # per class: (node, supply)
        self.bonus: list[tuple[int, int, int]] = []  # daily: (bonus edge, plain edge, idle edge)
        for r in self.cl:
            days = range(r["s"], r["end"] + 1)
            ids = [-1] * n
            if r["daily"]:
                a, b = node, node + 1
                node += 2
                self.supply.append((a, r["n"] * len(days)))
                self.bonus.append((len(edges), len(edges) + 1, len(edges) + 2))
                edges += [(a, b, r["n"], -r["w"] * miss), (a, b, BIG, 0.0), (a, 0, BIG, 0.0)]
                for j in days:
                    ids[j] = len(edges)
                    edges.append((b, self.td[(r["tier"], j)], r["n"], -r["w"]))
            else:
                a = node
                node += 1
                self.supply.append((a, r["n"]))
                self.bonus.append((len(edges), -1, -1))
                edges.append((a, 0, BIG, 0.0))  # dropped
                value = _value(r["w"], r["qc"], np.arange(n), n, miss)
                for j in days:
                    ids[j] = len(edges)
                    edges.append((a, self.td[(r["tier"], j)], BIG, -float(value[j])))
            self.place.append(ids)
        self.nodes = node
        arr = np.array(edges, dtype=object)
        self.tail, self.head = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
        self.cap, self.cost = arr[:, 2].astype(np.int64), arr[:, 3].astype(float)
        self.flow = np.zeros(len(edges), dtype=np.int64)

    def greedy(self) -> None:
        """Classes by weight (then priority, due) take their cheapest days with room, the latest of equally
        cheap ones (early days stay free for the overdue); every-workday touches are worth the same any day:
        first touches go to the latest day with room for the whole class, then the repeat touches."""
        n = self.n
        room = self.cap[:n].copy()
        tier_room = {key: self.cap[e] for key, e in self.td_edge.items()}
        placed = np.zeros((len(self.cl), n), dtype=np.int64)
        order = sorted(range(len(self.cl)), key=lambda k: (-self.cl[k]["w"], self.cl[k]["prio"], self.cl[k]["qc"]))
        for repeat in (False, True):
            for k in order:
                tier, size, daily = self.cl[k]["tier"], int(self.cl[k]["n"]), bool(self.cl[k]["daily"])
                if repeat and not daily:
                    continue
                days = [j for j in range(n) if self.place[k][j] >= 0]
                if daily:
                    days.sort(key=lambda j: (room[j] < size, -j))
                else:
                    days.sort(key=lambda j: (float(self.cost[self.place[k][j]]), -j))
                left = BIG if repeat else size
                for j in days:
                    take = min(left, room[j], tier_room[(tier, j)], size - placed[k, j] if daily else BIG)
                    if take > 0:
                        placed[k, j] += take
                        room[j] -= take
                        tier_room[(tier, j)] -= take
                        left -= take
        self._set_flows(placed)

    def _set_flows(self, placed: np.ndarray) -> None:
        flow = self.flow
        flow[:] = 0
        for k, r in enumerate(self.cl):
            for j in np.nonzero(placed[k])[0]:
                flow[[self.place[k][j], self.td_edge[(r["tier"], j)], j]] += placed[k, j]
            total = int(placed[k].sum())
            first, plain, idle = self.bonus[k]
            if r["daily"]:
                flow[first] = min(r["n"], total)
                flow[plain] = total - flow[first]
                flow[idle] = self.supply[k][1] - total
            else:
                flow[first] = r["n"] - total

    def cancel_cycles(self, limit: int) -> None:
        """Push flow round negative cycles until there is none (optimal) or ``limit`` rounds."""
        for _ in range(limit):
            cycles = self._negative_cycles()
            if not cycles:
                return
            for edges, sign in cycles:  # vertex-disjoint: each stays valid after the others
                slack = np.where(sign > 0, self.cap[edges] - self.flow[edges], self.flow[edges])
                self.flow[edges] += sign * slack.min()

    def _negative_cycles(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Bellman-Ford from a virtual source on the residual graph, until its predecessor links close
        negative cycles (returned as residual edges: edge ids and +1 forward / -1 backward)."""
        fwd, bwd = self.flow < self.cap, self.flow > 0
        tail = np.concatenate([self.tail[fwd], self.head[bwd]])
        head = np.concatenate([self.head[fwd], self.tail[bwd]])
        cost = np.concatenate([self.cost[fwd], -self.cost[bwd]])
        edge = np.concatenate([np.nonzero(fwd)[0], np.nonzero(bwd)[0]])
        sign = np.concatenate([np.ones(fwd.sum(), np.int64), -np.ones(bwd.sum(), np.int64)])
        dist = np.zeros(self.nodes)
        pred = np.full(self.nodes, -1)
        eps = 1e-9 * max(1.0, float(np.abs(self.cost).max()))
        for _ in range(self.nodes + 1):
            cand = dist[tail] + cost
            better = cand < dist[head] - eps
            if not better.any():
                return []
            new = dist.copy()
            np.minimum.at(new, head[better], cand[better])
            win = np.nonzero(better & (cand <= new[head]))[0]
            pred[head[win]] = win
            dist = new
            found = self._pred_cycles(pred, tail, cost)
            if found:
                return [(edge[c], sign[c]) for c in found]
        return []

    @staticmethod
    def _pred_cycles(pred: np.ndarray, tail: np.ndarray, cost: np.ndarray) -> list[np.ndarray]:
        """The negative cycles among the predecessor links (pointer doubling finds nodes on cycles)."""
        nodes = len(pred)
        root = pred < 0
        step = np.where(root, np.arange(nodes), tail[np.maximum(pred, 0)])
        for _ in range(int(np.log2(nodes)) + 2):
            step = step[step]  # 2^k links ahead: for k large enough, a node on a cycle or a root
        seen = np.zeros(nodes, dtype=bool)
        found = []
        for v in np.unique(step[~root[step]]):
            if seen[v]:
                continue
            cycle, u = [], v
            while not seen[u]:
                seen[u] = True
                cycle.append(pred[u])
                u = tail[pred[u]]
            cycle = np.array(cycle)
            if cost[cycle].sum() < 0:
                found.append(cycle)
        return found

    def counts(self) -> np.ndarray:
        out = np.zeros((len(self.cl), self.n), dtype=np.int64)
        for k, ids in enumerate(self.place):
            for j, e in enumerate(ids):
                if e >= 0:
                    out[k, j] = self.flow[e]
        return out


def _disaggregate(units: pd.DataFrame, classes: pd.DataFrame, counts: np.ndarray) -> pd.DataFrame:
    """Class counts -> customers: the most urgent members (overdue first, then due, revenue, id) take the
    earliest days; every-working-day classes go round the members, one touch per member per day."""
    u = units.sort_values(["q", "due", "revenue", "customer_id"], ascending=[True, True, False, True],
                          na_position="last", kind="stable")
    members = u.groupby(_CLASS_KEY, sort=True)["row"].agg(list).tolist()
    rows, js = [], []
    for k, (m, daily) in enumerate(zip(members, classes["daily"].tolist())):
        m = np.array(m)
        offset = 0
        for j in np.nonzero(counts[k])[0]:
            c = int(counts[k, j])
            pick = (offset + np.arange(c)) % len(m) if daily else offset + np.arange(c)
            rows.append(m[pick])
            js.append(np.full(c, j))
            offset += c
    if not rows:
        return _no_touches()
    return pd.DataFrame({"row": np.concatenate(rows), "j": np.concatenate(js), "kind": "due"})


def _no_touches() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype=int), "j": pd.Series(dtype=int), "kind": pd.Series(dtype=str)})


# ---------------------------------------------------------------- exact reference
def _solve_milp(units: pd.DataFrame, used: dict[str, pd.Series], n: int, s: PlanSettings) -> pd.DataFrame:
    """Per owner, one 0/1 variable per customer and allowed day (scipy/HiGHS; test-only dependency)."""
    if units.empty or n == 0:
        return _no_touches()
    parts = [_owner_milp(u, used, owner, n, s.miss_penalty) for owner, u in units.groupby("owner", sort=True)]
    return pd.concat(parts, ignore_index=True)


def _owner_milp(u: pd.DataFrame, used: dict[str, pd.Series], owner: str, n: int, miss: float) -> pd.DataFrame:
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix

    u = u.reset_index(drop=True)
    span = (u["end"] - u["s"] + 1).to_numpy()
    i = np.repeat(np.arange(len(u)), span)                       # variable -> customer
    j = u["s"].to_numpy()[i] + np.arange(len(i)) - np.repeat(np.cumsum(span) - span, span)
    w, daily = u["w"].to_numpy(), u["daily"].to_numpy()
    dl = np.nonzero(daily)[0]
    nx, ny = len(i), len(dl)
    x, y = np.arange(nx), nx + np.arange(ny)
    cost = np.concatenate([np.where(daily[i], -w[i], -_value(w[i], u["qc"].to_numpy()[i], j, n, miss)),
                           -w[dl] * miss])
    ypos = np.full(len(u), -1)
    ypos[dl] = np.arange(ny)
    once, rep = ~daily[i], daily[i]
    limited = pd.MultiIndex.from_arrays([np.full(nx, owner), u["tier"].to_numpy()[i], j]).isin(used["quota"].index)
    tier_day = pd.Series(list(zip(u["tier"].to_numpy()[i][limited], j[limited])), dtype=object)
    codes, labels = pd.factorize(tier_day)
    blocks = [  # (row, column, coefficient, row bounds)
        (i[once], x[once], 1.0, np.ones(len(u))),                                       # once a week: <= 1
        (np.concatenate([ypos[i[rep]], np.arange(ny)]), np.concatenate([x[rep], y]),   # y <= touches
         np.concatenate([-np.ones(rep.sum()), np.ones(ny)]), np.zeros(ny)),
        (j, x, 1.0, used["day"].loc[owner].reindex(range(n), fill_value=0).to_numpy(float)),
        (codes, x[limited], 1.0, np.array([used["quota"][(owner, t, d)] for t, d in labels], dtype=float)),
    ]
    offset, rows, cols, vals = 0, [], [], []
    for r, col, v, bound in blocks:
        rows.append(offset + np.asarray(r, dtype=np.int64))
        cols.append(col)
        vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(col)))
        offset += len(bound)
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(offset, nx + ny))
    ub = np.concatenate([blk[3] for blk in blocks])
    res = milp(cost, constraints=LinearConstraint(a, -np.inf, ub), integrality=np.ones(nx + ny), bounds=Bounds(0, 1))
    if res.x is None:
        raise RuntimeError(f"MILP failed for {owner}: {res.message}")
    on = np.round(res.x[:nx]) > 0
    return pd.DataFrame({"row": u["row"].to_numpy()[i[on]], "j": j[on], "kind": "due"})


# ---------------------------------------------------------------- after the solve
def _fill_ahead(c: pd.DataFrame, planned: pd.DataFrame, used: dict[str, pd.Series], n: int) -> pd.DataFrame:
    """Spare room, day by day, to customers in their window but not due this week (due, priority, revenue);
    never ahead of a date the customer agreed to."""
    waiting = ~np.isnat(c["agreed_date"].to_numpy())
    cand = c[c["active"] & np.isfinite(c["q"]) & (c["q"] > n - 1) & (c["e"] < n) & ~waiting]
    cand = cand.sort_values(["due", "prio", "revenue", "customer_id"], ascending=[True, True, False, True],
                            na_position="last", kind="stable")
    if cand.empty:
        return _no_touches()
    p = planned.assign(owner=c.loc[planned["row"], "owner"].to_numpy(), tier=c.loc[planned["row"], "tier"].to_numpy())
    p = p[p["kind"] != "agreed"]
    day = used["day"].sub(p.groupby(["owner", "j"]).size().reindex(used["day"].index, fill_value=0))
    quota = used["quota"].sub(p.groupby(["owner", "tier", "j"]).size().reindex(used["quota"].index, fill_value=0))
    taken = np.zeros(len(c), dtype=bool)
    out = []
    for j in range(n):
        now = cand[(cand["e"] <= j) & ~taken[cand.index]]
        q = pd.MultiIndex.from_arrays([now["owner"], now["tier"], np.full(len(now), j)])
        tier_room = quota.reindex(q).fillna(BIG).to_numpy()
        now = now[now.groupby(["owner", "tier"]).cumcount().to_numpy() < tier_room]
        d = day.reindex(pd.MultiIndex.from_arrays([now["owner"], np.full(len(now), j)])).fillna(0).to_numpy()
        now = now[now.groupby("owner").cumcount().to_numpy() < d]
        taken[now.index] = True
        out.append(pd.DataFrame({"row": now.index, "j": j, "kind": "ahead"}))
    return pd.concat(out, ignore_index=True)


def _with_greetings(planned: pd.DataFrame, c: pd.DataFrame, cal: TeamCalendar, days: list[dt.date]) -> pd.DataFrame:
    """Birthdays (on the working day on or before) and holiday greetings (the working day before a public
    holiday, for tiers marked ``holiday_greeting``): merged into a touch the same day, else a free entry."""
    planned = planned.assign(greeting="")
    if not days:
        return planned
    after = _next_workday(cal, days[-1])
    span = [days[0] + dt.timedelta(days=i) for i in range((after - days[0]).days)]
    workdays = set(cal.workdays_between(days[0] - dt.timedelta(days=14), after))

    def on_or_before(day: dt.date) -> dt.date:
        d = day
        while d not in workdays:
            d -= dt.timedelta(days=1)
        return d

    index = {d: j for j, d in enumerate(days)}
    extra = []
    born = {(d.month, d.day): index.get(on_or_before(d), -1) for d in span}
    born.setdefault((2, 29), born.get((2, 28), -1))  # 29 February, in a common year: on the 28th
    bd = pd.to_datetime(pd.Series(c["birthday"]))
    key = list(zip(bd.dt.month.fillna(0).astype(int), bd.dt.day.fillna(0).astype(int)))
    j = np.array([born.get(k, -1) for k in key]) if len(c) else np.zeros(0, int)
    hit = c["active"].to_numpy() & (j >= 0)
    extra.append(pd.DataFrame({"row": np.nonzero(hit)[0], "j": j[hit], "kind": "birthday", "greeting": "birthday"}))
    for day, name in cal.greeting_days(days[0], after).items():
        g = index.get(day, -1)
        if g < 0:
            continue
        rows = np.nonzero(c["active"].to_numpy() & c["greet"].to_numpy())[0]
        extra.append(pd.DataFrame({"row": rows, "j": g, "kind": "holiday greeting",
                                   "greeting": f"holiday greeting: {name}"}))
    greet = pd.concat(extra, ignore_index=True)
    greet = greet.groupby(["row", "j"], sort=True).agg(kind=("kind", "first"), greeting=("greeting", "; ".join))
    merged = planned.set_index(["row", "j"])
    both = merged.index.intersection(greet.index)
    merged.loc[both, "greeting"] = greet.loc[both, "greeting"]
    only = greet.drop(both)
    return pd.concat([merged, only]).reset_index()


def _entries(planned: pd.DataFrame, c: pd.DataFrame, days: list[dt.date], room: pd.DataFrame,
             s: PlanSettings) -> pd.DataFrame:
    if planned.empty:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    p = planned.sort_values(["row", "j"], kind="stable").reset_index(drop=True)
    cust = c.loc[p["row"]].reset_index(drop=True)
    n = len(days)
    due = p[p["kind"] == "due"]
    prev = due.groupby("row")["j"].shift().reindex(p.index)
    chain = cust["daily"] & prev.notna()
    late = np.where(chain, p["j"] - prev.fillna(0) - 1, np.maximum(0, p["j"] - cust["q"].clip(upper=n)))
    late = np.where(p["kind"].isin(["due", "agreed"]), late, 0).astype(int)
    p["days_late"] = late
    pdays = np.array(days, dtype="datetime64[D]")
    chain_due = pdays[np.clip(prev.fillna(0).astype(int) + 1, 0, n - 1)]
    p["due"] = np.where(chain, chain_due, cust["due"].to_numpy())
    p["reason"] = _reasons(p, cust)
    p["date"] = [days[j] for j in p["j"]]
    for col in ("owner", "customer_id", "name", "tier", "next_content", "preferred_time"):
        p[col] = cust[col].to_numpy()
    greet_only = p["kind"].isin(["birthday", "holiday greeting"])
    p["channel"] = np.where(greet_only, s.greeting_channel, cust["channel"].to_numpy())
    p["uses_capacity"] = ~greet_only
    p["rank"] = p["reason"].map(_REASON_RANK)
    p["prio"], p["revenue"], p["q"] = cust["prio"].to_numpy(), cust["revenue"].to_numpy(), cust["q"].to_numpy()
    p = _blocks(p, room, s)
    p["due"] = pd.to_datetime(p["due"]).dt.date
    return p[ENTRY_COLUMNS].sort_values(["owner", "date", "order"], kind="stable").reset_index(drop=True)


def _reasons(p: pd.DataFrame, cust: pd.DataFrame) -> np.ndarray:
    chase = cust["daily"].to_numpy() & ~np.isnat(cust["payment_deadline"].to_numpy())
    due = np.where(cust["daily"], np.where(chase, "payment chase",
                                           np.where(p["days_late"] > 0, "overdue", "every workday")),
                   np.where(p["days_late"] > 0, "overdue", "due"))
    kind = p["kind"].to_numpy()
    return np.select([kind == "agreed", kind == "ahead", kind == "due"], ["agreed", "in window", due], kind)


def _block_choices(blocks: tuple[TimeBlock, ...], s: PlanSettings):
    """(tier, chase, preferred text) -> block indexes in order of preference (memoised per call)."""
    cache: dict[tuple[str, bool, str], list[int]] = {}

    def choices(tier: str, chase: bool, pref: str) -> list[int]:
        key = (tier, chase, pref)
        if key not in cache:
            words = {tier} | ({"new"} if tier in s.new_tiers else set()) | ({"chase"} if chase else set())
            own = [b for b, blk in enumerate(blocks) if words & set(blk.tiers)] or list(range(len(blocks)))
            window = preferred_window(pref)
            liked = own
            if window:
                fit = [b for b, blk in enumerate(blocks) if blk.minutes[0] < window[1] and window[0] < blk.minutes[1]]
                if not fit:  # nearest block in time
                    gap = [max(blk.minutes[0] - window[1], window[0] - blk.minutes[1]) for blk in blocks]
                    fit = [int(np.argmin(gap))]
                liked = [b for b in own if b in fit] or fit
            cache[key] = liked
        return cache[key]
    return choices


def _blocks(p: pd.DataFrame, room: pd.DataFrame, s: PlanSettings) -> pd.DataFrame:
    """Each day's touches into blocks (preferred blocks with room, else the nearest with room), then slots."""
    blocks = s.blocks
    choices = _block_choices(blocks, s)
    mins = np.array([b.minutes for b in blocks])
    centres = mins.mean(axis=1)
    caps = {(o, d): _apportion(cap, blocks) for o, d, cap in room[["owner", "date", "capacity"]].itertuples(index=False)}
    p = p.sort_values(["owner", "date", "rank", "q", "prio", "revenue", "customer_id"],
                      ascending=[True, True, True, True, True, False, True], na_position="last", kind="stable")
    chosen = np.zeros(len(p), dtype=int)
    cols = [p[c].to_numpy() for c in ("owner", "date", "tier", "reason", "preferred_time", "uses_capacity")]
    free: np.ndarray | None = None
    current = None
    for r, (owner, date, tier, reason, pref, uses) in enumerate(zip(*cols)):
        if (owner, date) != current:
            current, free = (owner, date), caps[(owner, date)].copy()
        liked = choices(tier, reason == "payment chase", pref)
        open_ = [b for b in liked if free[b] > 0]
        if not open_ and uses:
            anywhere = np.nonzero(free > 0)[0]
            open_ = sorted(anywhere, key=lambda b: (abs(centres[b] - centres[liked[0]]), b))
        b = (open_ or liked)[0]
        chosen[r] = b
        free[b] -= int(uses)
    p["b"] = chosen
    p = p.sort_values(["owner", "date", "b"], kind="stable")
    p["order"] = p.groupby(["owner", "date"]).cumcount() + 1
    pos = p.groupby(["owner", "date", "b"]).cumcount().to_numpy()
    size = p.groupby(["owner", "date", "b"])["b"].transform("size").to_numpy()
    blk_cap = np.array([caps[(o, d)][b] for o, d, b in zip(p["owner"], p["date"], p["b"])])
    length = mins[p["b"], 1] - mins[p["b"], 0]
    slot = length / np.maximum(np.maximum(blk_cap, size), 1)
    base = pd.to_datetime(p["date"]) + pd.to_timedelta(mins[p["b"], 0], unit="min")
    p["start"] = (base + pd.to_timedelta(np.floor(pos * slot), unit="min")).to_numpy()
    p["end"] = (base + pd.to_timedelta(np.floor((pos + 1) * slot), unit="min")).to_numpy()
    p["block"] = [blocks[b].label for b in p["b"]]
    p["block_start"] = [blocks[b].start for b in p["b"]]
    return p


def _apportion(total: int, blocks: tuple[TimeBlock, ...]) -> np.ndarray:
    """Block capacities: given ones kept, the rest of the day split by length (largest remainder)."""
    given = np.array([b.capacity if b.capacity is not None else -1 for b in blocks])
    share = np.array([(b.minutes[1] - b.minutes[0]) if b.capacity is None else 0 for b in blocks], dtype=float)
    rest = max(0, total - given[given > 0].sum())
    exact = rest * share / share.sum() if share.sum() else share
    out = np.floor(exact).astype(int)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: rest - out.sum()]] += 1 if share.sum() else 0
    return np.where(given >= 0, given, out)


def _unplaced(due: pd.DataFrame, touches: pd.DataFrame, c: pd.DataFrame, used: dict[str, pd.Series],
              days: list[dt.date]) -> pd.DataFrame:
    """Due customers without a touch this week, why, and the day one more unit of room would have placed them
    (``extra_needed``: how many of that owner's unplaced customers need that day)."""
    n = len(days)
    u = due[~due["row"].isin(touches["row"])].reset_index(drop=True)
    best = np.clip(np.maximum(u["s"], u["qc"]), 0, max(n - 1, 0)).to_numpy()
    owner_tier = c.loc[touches["row"], ["owner", "tier"]].to_numpy()
    tier_used = pd.Series(1, index=pd.MultiIndex.from_arrays([*owner_tier.T, touches["j"].to_numpy()]) if len(
        touches) else pd.MultiIndex.from_tuples([], names=[None] * 3)).groupby(level=[0, 1, 2]).size()
    key = pd.MultiIndex.from_arrays([u["owner"], u["tier"], best])
    quota = used["quota"].reindex(key).to_numpy(float)
    full = tier_used.reindex(key, fill_value=0).to_numpy() >= np.nan_to_num(quota, nan=np.inf)
    deadline = ~np.isnat(c.loc[u["row"], "payment_deadline"].to_numpy())
    why = np.select([n == 0, ~u["ok"] & u["daily"] & deadline, ~u["ok"], full],
                    ["no working day this week", "payment deadline passed", "earliest after the week", "quota"],
                    "capacity")
    cust = c.loc[u["row"]].reset_index(drop=True)
    res = pd.DataFrame({"owner": u["owner"], "customer_id": u["customer_id"], "name": cust["name"],
                        "tier": u["tier"], "due": pd.to_datetime(u["due"]).dt.date, "why": why,
                        "late_at_best": (n - u["q"]).astype(int),
                        "best_day": [days[b] if ok else None for b, ok in zip(best, u["ok"])]})
    needs = res["why"].isin(["capacity", "quota"])
    res["extra_needed"] = 0
    res.loc[needs, "extra_needed"] = res[needs].groupby(["owner", "best_day"])["customer_id"].transform("size")
    return res.sort_values(["owner", "due", "customer_id"], kind="stable").reset_index(drop=True)[UNPLACED_COLUMNS]


def _day_totals(entries: pd.DataFrame, room: pd.DataFrame, s: PlanSettings) -> pd.DataFrame:
    uses = ~entries["reason"].isin(["birthday", "holiday greeting"])
    planned = entries[uses].groupby(["owner", "date"]).size()
    greet = entries["greeting"].ne("").groupby([entries["owner"], entries["date"]]).sum()
    t = room.drop(columns="j").set_index(["owner", "date"])
    t["planned"] = planned.reindex(t.index, fill_value=0).astype(int)
    t["greetings"] = greet.reindex(t.index, fill_value=0).astype(int)
    t["over"] = (t["planned"] - t["capacity"]).clip(lower=0)
    t["free"] = (t["capacity"] - t["planned"]).clip(lower=0)
    t["effective_target"], t["new_key_target"] = s.effective_target, s.new_key_target
    return t.reset_index()[TOTAL_COLUMNS]
