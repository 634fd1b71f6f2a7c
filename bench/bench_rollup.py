"""Benchmark ``followup rollup``: many owners' workbooks -> one macro-free team workbook.

    python bench/bench_rollup.py [--books 100] [--customers 1000] [--shared 10] [--keep DIR]

Generates the books once (one demo book of ``customers`` customers and its 90-day contact log, copied
per owner with its own owner name, phones and company names; IDs left colliding, as when every owner
numbers from 001; ``shared`` customers per book share a phone with the previous book: planted 撞单),
then, each in a fresh process so peak RSS is the measurement's own:
- the whole rollup (read, merge, build, append, refresh, Checks, save, strip macros), one process;
- reading the books alone, in one process and in a pool of two (is the pool worth it on 2 cores?).
Prints wall/CPU seconds, peak RSS and the phases; writes ``bench/results_rollup.json`` (git-ignored).
``--keep DIR`` keeps the generated books in DIR and reuses them on the next run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench import peak_rss_mib  # noqa: E402

TODAY = dt.date(2026, 11, 23)


def generate(folder: Path, books: int, customers: int, shared: int) -> list[Path]:
    from bench.team import sample_team
    marker = folder / f".sample-{books}x{customers}-{shared}"
    if marker.exists():
        return sorted(folder.glob("*.xlsm"))
    for old in folder.glob("*.xlsm"):
        old.unlink()
    paths = sample_team(folder, books, customers, TODAY, shared=shared)
    marker.touch()
    return paths


# ---------------------------------------------------------------- measurements (in a child process)
def _rollup(folder: Path, out: Path, workers: int) -> dict:
    from pyxl.rollup import rollup
    timings: dict[str, float] = {}
    outcome = rollup(sorted(folder.glob("*.xlsm")), out, today=TODAY, workers=workers, timings=timings, force=True)
    return {"phases_s": timings, "summary": outcome.summary, "out_mib": out.stat().st_size / 2**20}


def _read(folder: Path, out: Path, workers: int) -> dict:
    from pyxl.rollup import read_books
    books = read_books(sorted(folder.glob("*.xlsm")), workers)
    return {"customers": sum(len(b.ledger) for b in books), "touches": sum(len(b.log) for b in books)}


MEASURES = {"rollup": _rollup, "read": _read}


def child(measure: str, folder: str, out: str, workers: str) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    extra = MEASURES[measure](Path(folder), Path(out), int(workers))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall_s": time.perf_counter() - wall,
                      "cpu_s": time.process_time() - cpu + children.ru_utime + children.ru_stime,
                      "rss_mib": peak_rss_mib(),
                      "children_rss_mib": children.ru_maxrss / 1024, **extra}, ensure_ascii=False, default=str))


def measure(measure: str, folder: Path, out: Path, workers: int) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", measure, str(folder), str(out), str(workers)],
                         check=True, capture_output=True, text=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=100)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--shared", type=int, default=10,
                        help="customers per book sharing a phone with the previous book")
    parser.add_argument("--keep", type=Path, help="keep/reuse the generated books in this folder")
    parser.add_argument("--no-read-compare", action="store_true", help="skip the one-process vs pool read comparison")
    parser.add_argument("--out", type=Path, default=HERE / "results_rollup.json")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    tmp = tempfile.mkdtemp(prefix="bench-rollup-")
    try:
        folder = args.keep or Path(tmp) / "books"
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        paths = generate(folder, args.books, args.customers, args.shared)
        generate_s = time.perf_counter() - start
        print(f"{len(paths)} books × {args.customers:,} customers ready in {generate_s:.0f} s "
              f"({sum(p.stat().st_size for p in paths) / 2**20:.0f} MiB)", flush=True)
        team = Path(tmp) / "team.xlsx"
        result = {"books": len(paths), "customers_per_book": args.customers, "shared_per_book": args.shared,
                  "generate_s": generate_s, "rollup": measure("rollup", folder, team, 1)}
        r = result["rollup"]
        s = r["summary"]
        print(f"rollup: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, peak RSS {r['rss_mib']:,.0f} MiB · "
              f"{s['customers']:,} customers, {s['touches']:,} touches, {s['owners']} owners, "
              f"{s['duplicate_groups']:,} 撞单 groups, {s['ids_renamed']:,} IDs renamed · "
              f"team.xlsx {r['out_mib']:.1f} MiB", flush=True)
        print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases_s"].items()), flush=True)
        if not args.no_read_compare:
            result["read"] = {w: measure("read", folder, team, w) for w in (1, 2)}
            one, two = result["read"][1], result["read"][2]
            print(f"reading the books: one process {one['wall_s']:.1f} s wall ({one['cpu_s']:.1f} s CPU), "
                  f"pool of 2 {two['wall_s']:.1f} s wall ({two['cpu_s']:.1f} s CPU) → "
                  f"{one['wall_s'] / two['wall_s']:.2f}× speed-up", flush=True)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        print(f"wrote {args.out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
