"""Engine benchmark: ``engine.refresh`` (parse the ledger, derive the contact log, due dates, status, checks)
on 10,000 and 100,000 customers of the maturity preset.

    /work/venv/bin/python bench/bench_engine.py [--sizes 10000 100000] [--repeat 3] [--out bench/results-engine.json]

Customers and their 90-day contact history come from ``pyxl.sample``. The history generator is a plain Python
loop (about 20 s per 10,000 customers), so sizes above 10,000 tile the 10,000-customer sample with fresh IDs
and owners. Cells are passed as ``object`` columns of Python scalars, as ``Book.read_table`` gives them.
Each size is timed ``--repeat`` times after a warm-up; the table shows the best and the median wall time, the
best CPU time of this process (steadier on a shared machine), the same refresh with an empty contact log, and
the time of each stage (one run with the stages wrapped by a timer).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pyxl import sample
from pyxl.core import engine
from pyxl.core.calendar import TeamCalendar
from pyxl.core.rules import preset_rules
from pyxl.core.settings import Settings

TODAY = dt.date(2026, 11, 23)
BASE = 10_000
OWNERS = 4
STAGES = {"parse ledger": (engine, "parse_ledger"), "contact log": (engine, "derive"),
          "due + status": (engine.cadence, "schedule"), "checks": (engine.checks, "run")}


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of Python scalars with None for blanks, Excel row numbers as index (like read_table)."""
    out = frame.astype(object).where(frame.notna(), None)
    out.index = pd.RangeIndex(2, 2 + len(out))
    return out


def generate(n: int, rules) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = sample.customers(min(n, BASE), rules, owners=OWNERS, today=TODAY)
    log = sample.history(base, rules, today=TODAY)
    copies = -(-n // BASE)
    if copies == 1:
        return base, log
    ledgers, logs = [], []
    for k in range(copies):
        new_id = {cid: f"{cid[:3]}{k * OWNERS + int(cid[3:5]):02d}{cid[5:]}" for cid in base["customer_id"]}
        suffix = str(k) if k else ""  # distinct names and phones: no false duplicate-customer flags
        ledgers.append(base.assign(customer_id=base["customer_id"].map(new_id), owner=base["owner"] + suffix,
                                   name=base["name"] + suffix, phone=base["phone"].str[:1] + str(k) + base["phone"].str[2:]))
        logs.append(log.assign(customer_id=log["customer_id"].map(new_id), owner=log["owner"] + (str(k) if k else "")))
    return pd.concat(ledgers, ignore_index=True).head(n), pd.concat(logs, ignore_index=True)


def stage_times(led, log, rules, settings, cal) -> dict[str, float]:
    """One refresh with the main stages wrapped by a timer."""
    spent = {name: 0.0 for name in STAGES}
    originals = {}
    for name, (module, attr) in STAGES.items():
        fn = getattr(module, attr)
        originals[name] = (module, attr, fn)

        def timed(*a, _fn=fn, _name=name, **kw):
            t0 = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                spent[_name] += time.perf_counter() - t0
        setattr(module, attr, timed)
    try:
        t0 = time.perf_counter()
        engine.refresh(led, log, rules, settings, TODAY, cal)
        total = time.perf_counter() - t0
    finally:
        for module, attr, fn in originals.values():
            setattr(module, attr, fn)
    spent["other (sync, render, view)"] = total - sum(spent.values())
    return spent


def run(sizes: list[int], repeat: int) -> list[dict]:
    rules = preset_rules("maturity")
    settings = Settings()
    cal = TeamCalendar(settings.country)
    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        led, log = generate(n, rules)
        led, log = as_read(led), as_read(log)
        gen = time.perf_counter() - t0
        engine.refresh(led.head(100), log.head(100), rules, settings, TODAY, cal)  # warm-up: calendar, caches
        runs, cpu = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            result = engine.refresh(led, log, rules, settings, TODAY, cal)
            runs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        no_log = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            engine.refresh(led, log.iloc[:0], rules, settings, TODAY, cal)
            no_log.append(time.perf_counter() - t0)
        stages = stage_times(led, log, rules, settings, cal)
        rows.append({
            "customers": n, "touches": len(log), "generate_s": round(gen, 2),
            "refresh_best_s": round(min(runs), 3), "refresh_median_s": round(statistics.median(runs), 3),
            "refresh_cpu_best_s": round(min(cpu), 3),
            "refresh_no_log_best_s": round(min(no_log), 3),
            "stages_s": {k: round(v, 3) for k, v in stages.items()},
            "flags": len(result.flags), "statuses": result.view["status"].value_counts().to_dict(),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results-engine.json"))
    args = parser.parse_args()
    rows = run(args.sizes, args.repeat)
    header = (f"{'customers':>10} {'touches':>10} {'refresh best':>13} {'median':>8} {'cpu':>8} {'no log':>8}"
              "   stages (one run)")
    print(header)
    print("-" * len(header))
    for r in rows:
        stages = ", ".join(f"{k} {v:.3f}" for k, v in r["stages_s"].items())
        print(f"{r['customers']:>10,} {r['touches']:>10,} {r['refresh_best_s']:>12.3f}s {r['refresh_median_s']:>7.3f}s "
              f"{r['refresh_cpu_best_s']:>7.3f}s {r['refresh_no_log_best_s']:>7.3f}s   {stages}")
    meta = {"today": TODAY.isoformat(), "preset": "maturity", "repeat": args.repeat,
            "python": platform.python_version(), "pandas": pd.__version__, "numpy": np.__version__,
            "machine": platform.machine(), "run_at": dt.datetime.now().isoformat(timespec="seconds")}
    args.out.write_text(json.dumps({"meta": meta, "results": rows}, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
