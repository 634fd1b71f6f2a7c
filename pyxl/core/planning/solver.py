"""Assigning the due units to plan days within the room left: a greedy with negative-cycle cancelling on
classes of interchangeable customers (default, exact when run to convergence), or a per-customer MILP
(scipy/HiGHS, the reference). Both return a touch frame (row, day, kind="due"); column names as in
``model``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import BIG, PlanSettings, Room, no_touches, placement_value

# customers equal in all of these are interchangeable for the objective
CLASS_KEY = ["owner", "tier", "every_workday", "lateness_from", "start_day", "last_day"]


# ---------------------------------------------------------------- greedy + cycle cancelling on classes
def _classes(units: pd.DataFrame) -> tuple[list[dict], list[list[int]]]:
    """One record per class in key order (its key, weight, priority and ``size``: customers in it), and each
    class's members (rows), the most urgent first: overdue first, then due, revenue, id."""
    first: dict[tuple, dict] = {}
    for key, weight, priority in zip(_class_keys(units), units["weight"].tolist(), units["priority"].tolist()):
        if key in first:
            first[key]["size"] += 1
        else:
            first[key] = {**dict(zip(CLASS_KEY, key)), "weight": weight, "priority": priority, "size": 1}
    urgent = units.sort_values(["due_day", "due", "revenue", "customer_id"], ascending=[True, True, False, True],
                               na_position="last", kind="stable")
    members: dict[tuple, list[int]] = {}
    for key, row in zip(_class_keys(urgent), urgent["row"].tolist()):
        members.setdefault(key, []).append(row)
    order = sorted(first)
    return [first[key] for key in order], [members[key] for key in order]


def _class_keys(units: pd.DataFrame) -> list[tuple]:
    return list(zip(*(units[col].tolist() for col in CLASS_KEY)))


def solve_greedy(units: pd.DataFrame, room: Room, n: int, s: PlanSettings) -> pd.DataFrame:
    if units.empty or n == 0:
        return no_touches()
    classes, members = _classes(units)
    by_owner: dict[str, list[int]] = {}
    for k, cl in enumerate(classes):
        by_owner.setdefault(cl["owner"], []).append(k)
    counts = np.zeros((len(classes), n), dtype=np.int64)
    for owner, idx in by_owner.items():
        net = _Network([classes[k] for k in idx], room, owner, n, s.miss_penalty)
        net.greedy()
        net.cancel_cycles(s.max_cancels)
        counts[idx] = net.counts()
    return _disaggregate(classes, members, counts)


class _Network:
    """Min-cost circulation for one owner.  Nodes: 0 = sink, days, tier-days, a node per class (daily
    classes two: supply, touches).  Supplies sit on class nodes; every unit ends at the sink, through a
    day (placed) or directly (dropped / no touch).  Costs are minus the value of a placement."""

    def __init__(self, cl: list[dict], room: Room, owner: str, n: int, miss: float):
        """``cl``: the owner's class records."""
        self.n, self.cl = n, cl
        tiers = sorted({r["tier"] for r in self.cl})
        self.tier_day = {(t, d): 1 + n + i * n + d for i, t in enumerate(tiers) for d in range(n)}
        edges: list[tuple[int, int, int, float]] = []  # tail, head, cap, cost
        for d in range(n):
            edges.append((1 + d, 0, int(room.day.get((owner, d), 0)), 0.0))
        self.tier_day_edge: dict[tuple[str, int], int] = {}
        for (t, d), v in self.tier_day.items():
            self.tier_day_edge[(t, d)] = len(edges)
            edges.append((v, 1 + d, int(room.tier.get((owner, t, d), BIG)), 0.0))
        self.place: list[list[int]] = []   # per class: edge id per plan day (-1 = not allowed)
        self.supply: list[tuple[int, int]] = []  # per class: (node, supply)
        self.bonus: list[tuple[int, int, int]] = []  # daily: (bonus edge, plain edge, idle edge)
        self.nodes = self._class_edges(edges, 1 + n + len(tiers) * n, miss)
        tail, head, cap, cost = zip(*edges)
        self.tail, self.head = np.array(tail, dtype=np.int64), np.array(head, dtype=np.int64)
        self.cap, self.cost = np.array(cap, dtype=np.int64), np.array(cost, dtype=float)
        self.flow = np.zeros(len(edges), dtype=np.int64)

    def _class_edges(self, edges: list[tuple[int, int, int, float]], node: int, miss: float) -> int:
        """Each class's nodes and edges, from node number ``node`` on; returns the node count."""
        n = self.n
        for r in self.cl:
            days = range(r["start_day"], r["last_day"] + 1)
            ids = [-1] * n
            if r["every_workday"]:
                a, b = node, node + 1
                node += 2
                self.supply.append((a, r["size"] * len(days)))
                self.bonus.append((len(edges), len(edges) + 1, len(edges) + 2))
                edges += [(a, b, r["size"], -r["weight"] * miss), (a, b, BIG, 0.0), (a, 0, BIG, 0.0)]
                for d in days:
                    ids[d] = len(edges)
                    edges.append((b, self.tier_day[(r["tier"], d)], r["size"], -r["weight"]))
            else:
                a = node
                node += 1
                self.supply.append((a, r["size"]))
                self.bonus.append((len(edges), -1, -1))
                edges.append((a, 0, BIG, 0.0))  # dropped
                value = placement_value(r["weight"], r["lateness_from"], np.arange(n), n, miss)
                for d in days:
                    ids[d] = len(edges)
                    edges.append((a, self.tier_day[(r["tier"], d)], BIG, -float(value[d])))
            self.place.append(ids)
        return node

    def greedy(self) -> None:
        """Classes by weight (then priority, due) take their cheapest days with room, the latest of equally
        cheap ones (early days stay free for the overdue); every-workday touches are worth the same any day:
        first touches go to the latest day with room for the whole class, then the repeat touches."""
        n = self.n
        room = self.cap[:n].copy()
        tier_room = {key: self.cap[e] for key, e in self.tier_day_edge.items()}
        placed = np.zeros((len(self.cl), n), dtype=np.int64)
        order = sorted(range(len(self.cl)),
                       key=lambda k: (-self.cl[k]["weight"], self.cl[k]["priority"], self.cl[k]["lateness_from"]))
        for repeat in (False, True):
            for k in order:
                tier, size, daily = self.cl[k]["tier"], int(self.cl[k]["size"]), bool(self.cl[k]["every_workday"])
                if repeat and not daily:
                    continue
                days = [d for d in range(n) if self.place[k][d] >= 0]
                if daily:
                    days.sort(key=lambda d: (room[d] < size, -d))
                else:
                    days.sort(key=lambda d: (float(self.cost[self.place[k][d]]), -d))
                left = BIG if repeat else size
                for d in days:
                    take = min(left, room[d], tier_room[(tier, d)], size - placed[k, d] if daily else BIG)
                    if take > 0:
                        placed[k, d] += take
                        room[d] -= take
                        tier_room[(tier, d)] -= take
                        left -= take
        self._set_flows(placed)

    def _set_flows(self, placed: np.ndarray) -> None:
        flow = self.flow
        flow[:] = 0
        for k, r in enumerate(self.cl):
            for d in np.nonzero(placed[k])[0]:
                flow[[self.place[k][d], self.tier_day_edge[(r["tier"], d)], d]] += placed[k, d]
            total = int(placed[k].sum())
            first, plain, idle = self.bonus[k]
            if r["every_workday"]:
                flow[first] = min(r["size"], total)
                flow[plain] = total - flow[first]
                flow[idle] = self.supply[k][1] - total
            else:
                flow[first] = r["size"] - total

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
        """Touches per class and plan day."""
        out = np.zeros((len(self.cl), self.n), dtype=np.int64)
        for k, ids in enumerate(self.place):
            for d, e in enumerate(ids):
                if e >= 0:
                    out[k, d] = self.flow[e]
        return out


def _disaggregate(classes: list[dict], members: list[list[int]], counts: np.ndarray) -> pd.DataFrame:
    """Class counts -> customers: the most urgent members take the earliest days; every-working-day classes
    go round the members, one touch per member per day."""
    rows, days = [], []
    for k, (m, cl) in enumerate(zip(members, classes)):
        m = np.array(m)
        offset = 0
        for d in np.nonzero(counts[k])[0]:
            c = int(counts[k, d])
            pick = (offset + np.arange(c)) % len(m) if cl["every_workday"] else offset + np.arange(c)
            rows.append(m[pick])
            days.append(np.full(c, d))
            offset += c
    if not rows:
        return no_touches()
    return pd.DataFrame({"row": np.concatenate(rows), "day": np.concatenate(days), "kind": "due"})


# ---------------------------------------------------------------- exact reference
def solve_milp(units: pd.DataFrame, room: Room, n: int, s: PlanSettings) -> pd.DataFrame:
    """Per owner, one 0/1 variable per customer and allowed day (scipy/HiGHS; test-only dependency)."""
    if units.empty or n == 0:
        return no_touches()
    parts = [_owner_milp(u, room, owner, n, s.miss_penalty) for owner, u in units.groupby("owner", sort=True)]
    return pd.concat(parts, ignore_index=True)


def _owner_milp(u: pd.DataFrame, room: Room, owner: str, n: int, miss: float) -> pd.DataFrame:
    """x: one variable per customer and allowed day; y: per every-workday customer, touched at all."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix

    u = u.reset_index(drop=True)
    span = (u["last_day"] - u["start_day"] + 1).to_numpy()
    i = np.repeat(np.arange(len(u)), span)                       # variable -> customer
    day = u["start_day"].to_numpy()[i] + np.arange(len(i)) - np.repeat(np.cumsum(span) - span, span)
    w, daily = u["weight"].to_numpy(), u["every_workday"].to_numpy()
    dl = np.nonzero(daily)[0]
    nx, ny = len(i), len(dl)
    x, y = np.arange(nx), nx + np.arange(ny)
    cost = np.concatenate([np.where(daily[i], -w[i],
                                    -placement_value(w[i], u["lateness_from"].to_numpy()[i], day, n, miss)),
                           -w[dl] * miss])
    ypos = np.full(len(u), -1)
    ypos[dl] = np.arange(ny)
    once, rep = ~daily[i], daily[i]
    limited = np.array([(owner, t, d) in room.tier for t, d in zip(u["tier"].to_numpy()[i], day)], dtype=bool)
    tier_day = pd.Series(list(zip(u["tier"].to_numpy()[i][limited], day[limited])), dtype=object)
    codes, labels = pd.factorize(tier_day)
    blocks = [  # (row, column, coefficient, row bounds)
        (i[once], x[once], 1.0, np.ones(len(u))),                                       # once a week: <= 1
        (np.concatenate([ypos[i[rep]], np.arange(ny)]), np.concatenate([x[rep], y]),   # y <= touches
         np.concatenate([-np.ones(rep.sum()), np.ones(ny)]), np.zeros(ny)),
        (day, x, 1.0, np.array([room.day.get((owner, d), 0) for d in range(n)], dtype=float)),
        (codes, x[limited], 1.0, np.array([room.tier[(owner, t, d)] for t, d in labels], dtype=float)),
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
    return pd.DataFrame({"row": u["row"].to_numpy()[i[on]], "day": day[on], "kind": "due"})
