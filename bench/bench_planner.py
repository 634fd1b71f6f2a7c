"""Week-planner benchmark: greedy + cycle cancelling vs the per-customer MILP (scipy/HiGHS), per owner.

    /work/venv/bin/python bench/bench_planner.py [--out bench/results_planner.json] [--milp-max 10000]

Instances are generated (maturity preset, 2026-W40 = National Day week and a normal week); the MILP
is solved per owner (the problem decomposes by owner) on instances up to ``--milp-max`` customers.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from pyxl.core.calendar import TeamCalendar
from pyxl.core.planning import PlanSettings, plan_week, preset_time_blocks

#        code  share  min max  quota priority weight daily
TIERS = [("0", .15, 1, 1, 20, 6, 1.0, True), ("1", .02, 1, 1, np.nan, 1, 5.0, True),
         ("2", .03, 1, 1, np.nan, 2, 4.0, True), ("3K", .06, 1, 3, 6, 3, 3.0, False),
         ("3N", .10, 2, 5, 4, 4, 2.0, False), ("4K", .14, 5, 8, 10, 5, 1.5, False),
         ("4N", .20, 8, 14, 8, 7, 1.0, False), ("5", .12, 10, 22, 5, 8, .5, False),
         ("6", .03, 10, 22, 2, 9, .5, False), ("7", .10, 10, 22, 3, 10, .5, False), ("9", .05, 0, 0, 0, 99, 0, False)]
PREFERRED = ["", "", "", "上午", "下午", "after hours", "09:00-10:00", "morning", "15:00-16:00"]


def tiers_frame() -> pd.DataFrame:
    t = pd.DataFrame(TIERS, columns=["code", "share", "min", "max", "quota", "priority", "weight",
                                     "daily_every_workday"]).set_index("code")
    t["holiday_greeting"] = t.index.isin(["1", "2", "3K"])
    return t


def generate(owners: int, per_owner: int, week: dt.date, seed: int, cal: TeamCalendar) -> pd.DataFrame:
    """Customers whose last contact lies up to 1.6 × their tier's longest interval back (working-day cadence)."""
    rng = np.random.default_rng(seed)
    t = tiers_frame()
    n = owners * per_owner
    tier = rng.choice(t.index.to_numpy(), size=n, p=(t["share"] / t["share"].sum()).to_numpy())
    lo, hi = t.loc[tier, "min"].to_numpy(int), t.loc[tier, "max"].to_numpy(int)
    back = rng.integers(1, np.maximum(2, hi * 1.6).astype(int) + 1)  # calendar days since the last contact
    last = np.datetime64(week) - back.astype("timedelta64[D]")
    earliest = cal.add_workdays(last, lo)
    due = cal.add_workdays(last, hi)
    agreed = np.where(rng.random(n) < .03, np.datetime64(week) + rng.integers(0, 7, size=n).astype("timedelta64[D]"),
                      np.datetime64("NaT", "D"))
    due = np.where(np.isnat(agreed), due, agreed)
    pay = np.isin(tier, ["1", "2"])
    deadline = np.where(pay, last + rng.integers(2, 12, size=n).astype("timedelta64[D]"), np.datetime64("NaT", "D"))
    birthday = np.datetime64("1980-01-01") + rng.integers(0, 365 * 30, size=n).astype("timedelta64[D]")
    return pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)], "name": [f"客户{i}" for i in range(n)],
        "owner": [f"O{i % owners:02d}" for i in range(n)], "tier": tier,
        "earliest": earliest, "due": due, "agreed_date": agreed,
        "status": np.where(tier == "9", "no_follow_up", "in_window"),
        "revenue": np.round(rng.lognormal(11, 1.5, size=n), 2),
        "preferred_time": rng.choice(PREFERRED, size=n), "birthday": birthday, "payment_deadline": deadline,
        "next_content": "", "channel": rng.choice(["phone", "wechat", "sms", "email", "visit"], size=n),
    })


SIZES = [(1, 300), (5, 300), (10, 500), (20, 500), (10, 1000), (50, 600)]
WEEKS = {"W24": dt.date(2026, 6, 8), "W40": dt.date.fromisocalendar(2026, 40, 1)}  # W40: National Day
BLOCKS = preset_time_blocks("maturity")
REGIMES = {  # tight: preset quotas and the weekly load pattern (much does not fit); loose: lateness only
    "tight": (PlanSettings(blocks=BLOCKS), lambda t: t),
    "loose": (PlanSettings(capacity=60, load_pattern=None, blocks=BLOCKS), lambda t: t.assign(quota=np.nan)),
}


def run(milp_max: int) -> list[dict]:
    cal = TeamCalendar("CN")
    rows = []
    for regime, week_key in (("tight", "W24"), ("tight", "W40"), ("loose", "W24")):
        settings, adapt = REGIMES[regime]
        tiers, week = adapt(tiers_frame()), WEEKS[week_key]
        for owners, per in SIZES:
            customers = generate(owners, per, week, seed=owners * 7 + per, cal=cal)
            plan_week(customers.head(50), tiers, cal, week, week, settings)  # warm-up
            t0 = time.perf_counter()
            heur = plan_week(customers, tiers, cal, week, week, settings)
            t_heur = time.perf_counter() - t0
            greedy_only = plan_week(customers, tiers, cal, week, week, replace(settings, max_cancels=0)).objective
            row = {"instance": f"{regime} {week_key} {owners}x{per}", "customers": len(customers),
                   "entries": len(heur.entries), "unplaced": len(heur.unplaced),
                   "heuristic_objective": heur.objective, "greedy_only_objective": greedy_only,
                   "heuristic_s": round(t_heur, 3), "optimal_objective": None, "ratio": None, "milp_s": None}
            if len(customers) <= milp_max:
                t0 = time.perf_counter()
                exact = plan_week(customers, tiers, cal, week, week, settings, method="milp")
                row["milp_s"] = round(time.perf_counter() - t0, 3)
                row["optimal_objective"] = exact.objective
                row["ratio"] = heur.objective / exact.objective if exact.objective else 1.0
                row["greedy_only_ratio"] = greedy_only / exact.objective if exact.objective else 1.0
            rows.append(row)
            print(_line(row), flush=True)
    return rows


def _line(r: dict) -> str:
    opt = f"{r['optimal_objective']:>14.1f}" if r["optimal_objective"] is not None else f"{'-':>14}"
    ratio = f"{r['ratio']:.6f}" if r["ratio"] is not None else "-"
    greedy = f"{r['greedy_only_ratio']:.4f}" if r["ratio"] is not None else "-"
    milp = f"{r['milp_s']:.3f}" if r["milp_s"] is not None else "-"
    return (f"{r['instance']:<22} {r['customers']:>9} {r['heuristic_objective']:>14.1f} {opt} {ratio:>9} "
            f"{r['heuristic_s']:>11.3f} {milp:>8} {greedy:>13}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/results_planner.json")
    ap.add_argument("--milp-max", type=int, default=30_000)
    args = ap.parse_args()
    print(f"{'instance':<22} {'customers':>9} {'heuristic obj':>14} {'optimal obj':>14} {'ratio':>9} "
          f"{'heuristic s':>11} {'milp s':>8} {'greedy-only':>13}")
    rows = run(args.milp_max)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"machine_cpus": __import__("os").cpu_count(), "milp": "per owner, scipy.optimize.milp (HiGHS)",
                   "rows": rows}, fh, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
