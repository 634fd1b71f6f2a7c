"""``python -m bench [--sizes 1000,10000,100000]``: the headless actions against the obvious alternatives.

For each size: a workbook with that many customers (maturity preset, realistic tier mix, 4–50 owners) and
a contact log of at most 5 touches per customer (each customer's newest), then, each in a fresh process (so peak RSS is the action's own):
- ``followup refresh`` wall time and peak RSS;
- baseline: ``openpyxl.load_workbook(keep_vba=True)`` + ``save()`` of the same file;
- floor: every sheet's values read with python-calamine + the zip rewritten once;
- the engine alone (refresh of the pure core) and the planner alone, no file I/O; the engine also on the same
  tables typed as an Arrow-style reader would give them (what such a reader would buy);
- Excel round-trips of the xlwings edge per action (an in-memory stand-in counts them).
Prints a table with the ratios and writes ``bench/results.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench import peak_rss_mib

TODAY = dt.date(2026, 11, 23)
HERE = Path(__file__).resolve().parent


def make_workbook(path: Path, customers: int) -> None:
    from pyxl.demo import make_demo
    make_demo(path, customers=customers, today=TODAY, owners=max(4, customers // 2000), touches_per_customer=5)


# ---------------------------------------------------------------- measurements (run in a child process)
def _refresh(path: Path) -> dict:
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    book = WorkbookPackage.open(path)
    actions.refresh(book, TODAY)
    book.save(backup=False)
    return {}


def _openpyxl(path: Path) -> dict:
    import openpyxl
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb.save(path.with_name("openpyxl-out.xlsm"))
    return {}


def _floor(path: Path) -> dict:
    import python_calamine
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(path.with_name("floor-out.xlsm"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
    return {}


def _engine(path: Path) -> dict:
    """The pure core on the loaded tables (playbooks included), best of 3 runs (the machine may be shared),
    and the part of it that only parses typed cells (ledger and log) into typed columns."""
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    from pyxl.core import contacts, engine
    inputs = actions.load(WorkbookPackage.open(path))
    best = lambda run: min(_timed(run) for _ in range(3))  # noqa: E731
    engine_s = best(lambda: engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, TODAY,
                                           books=inputs.playbooks))
    parse_s = best(lambda: (_parse_ledger_cells(inputs), contacts.parse_log(inputs.log, TODAY)))
    ledger, log = _as_typed(inputs.ledger, ()), _as_typed(inputs.log, REPEATED_LOG_TEXTS)
    typed_s = best(lambda: engine.refresh(ledger, log, inputs.rules, inputs.settings, TODAY, books=inputs.playbooks))
    result = engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, TODAY, books=inputs.playbooks)
    planner_s = best(lambda: actions._plan(inputs, result, TODAY))
    return {"engine_s": engine_s, "parse_s": parse_s, "typed_input_s": typed_s, "planner_s": planner_s}


REPEATED_LOG_TEXTS = ("customer_id", "owner", "channel", "reached", "outcome", "new_tier", "event", "step")


def _as_typed(frame, dictionary_encoded: tuple[str, ...]):
    """The columns a typed reader (Arrow-style) would hand over: date and number columns typed, the given
    text columns dictionary-encoded; mixed columns stay Python objects. What-if input, not a product path."""
    import pandas as pd
    columns = {}
    for key, cells in frame.items():
        kind = pd.api.types.infer_dtype(cells, skipna=True)
        if kind in ("datetime", "date"):
            columns[key] = pd.to_datetime(cells).astype("datetime64[s]")
        elif kind in ("integer", "floating", "mixed-integer-float"):
            columns[key] = cells.astype(float)
        elif kind == "string" and key in dictionary_encoded:
            columns[key] = cells.astype("category")
        else:
            columns[key] = cells
    return pd.DataFrame(columns, index=frame.index)


def _parse_ledger_cells(inputs) -> None:
    """What the engine parses from the ledger's typed cells: dates, numbers, yes/no, tiers, texts, stages."""
    from pyxl.core import ledger, schema
    parsed = ledger.parse_ledger(inputs.ledger, inputs.rules, TODAY)
    for f in schema.fields("ledger"):
        if f.type == "text" and not f.computed:
            parsed.text(f.key)
    parsed.stage


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _round_trips(path: Path) -> dict:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from xlwings_standin import Book, Calls  # the same stand-in the tests use
    from pyxl import actions
    from pyxl.book.excel import ExcelBook
    counts = {}
    for name, run in (("refresh", lambda b: actions.refresh(b, TODAY)), ("check", lambda b: actions.check(b, TODAY)),
                      ("plan", lambda b: actions.weekly_plan(b, None, TODAY))):
        fake = Book(path)
        Calls.count = 0
        run(ExcelBook(fake))
        counts[name] = Calls.count
    return {"round_trips": counts}


MEASURES = {"refresh": _refresh, "openpyxl": _openpyxl, "floor": _floor, "engine": _engine,
            "round_trips": _round_trips}


def child(measure: str, path: str) -> None:
    start = time.perf_counter()
    extra = MEASURES[measure](Path(path))
    wall = time.perf_counter() - start
    rss_mib = peak_rss_mib()
    print(json.dumps({"wall_s": wall, "rss_mib": rss_mib, **extra}))


def measure(name: str, source: Path, work: Path) -> dict:
    copy = work / f"{name}.xlsm"
    shutil.copy(source, copy)
    out = subprocess.run([sys.executable, "-m", "bench", "--child", name, str(copy)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes: list[int], skip_round_trips_over: int = 20_000) -> list[dict]:
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            source = work / "source.xlsm"
            t = time.perf_counter()
            make_workbook(source, n)
            row = {"customers": n, "generate_s": time.perf_counter() - t,
                   "file_mib": source.stat().st_size / 2**20}
            for name in ("refresh", "openpyxl", "floor", "engine"):
                row[name] = measure(name, source, work)
            if n <= skip_round_trips_over:
                row["round_trips"] = measure("round_trips", source, work)["round_trips"]
            rows.append(row)
            print_row(row)
    return rows


def print_row(r: dict) -> None:
    refresh, base, floor = r["refresh"]["wall_s"], r["openpyxl"]["wall_s"], r["floor"]["wall_s"]
    print(f"{r['customers']:>8,} customers ({r['file_mib']:.1f} MiB): refresh {refresh:7.2f} s "
          f"({r['refresh']['rss_mib']:.0f} MiB peak) | openpyxl load+save {base:7.2f} s | "
          f"floor {floor:6.2f} s | refresh/baseline {refresh / base:5.2f} | refresh/floor {refresh / floor:5.2f} | "
          f"engine {r['engine']['engine_s']:.2f} s (parsing {r['engine']['parse_s']:.2f}; "
          f"on typed input {r['engine']['typed_input_s']:.2f}) | planner {r['engine']['planner_s']:.2f} s | "
          f"round-trips {r.get('round_trips', '-')}", flush=True)


def reliability_section(args: argparse.Namespace) -> None:
    """Every fault-injection scenario at full counts: tries / corrupt / lost / stray / bad backups."""
    from bench import reliability
    print(f"reliability: {args.customers:,} customers, {args.tries} tries per scenario, {args.writers} writers",
          flush=True)
    print("| scenario | tries | corrupt | lost | stray | bad backups |\n|---|---|---|---|---|---|", flush=True)

    def report(r: dict) -> None:
        if "skipped" in r:
            print(f"| {r['scenario']} | {r['skipped']} | | | | |", flush=True)
        else:
            print(f"| {r['scenario']} | {r['tries']} | {r['corrupt']} | {r['lost']} | {r['stray']} | "
                  f"{r['bad_backups']} |" + (f" {r['notes']}" if r["notes"] else ""), flush=True)

    with tempfile.TemporaryDirectory(prefix="followup-reliability-") as tmp:
        rows = reliability.run_all(Path(tmp), args.customers, args.tries, args.writers, report)
    out = Path(args.out).with_name("reliability.json")
    out.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="customers per workbook, comma-separated")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--child", nargs=2, metavar=("MEASURE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--reliability", action="store_true",
                        help="run the fault-injection scenarios instead (bench/reliability.py; docs/reliability.md)")
    parser.add_argument("--tries", type=int, default=30, help="kills / saves per scenario (--reliability)")
    parser.add_argument("--writers", type=int, default=20, help="concurrent `followup log` (--reliability)")
    parser.add_argument("--customers", type=int, default=1000, help="workbook size (--reliability)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.reliability:
        reliability_section(args)
        return
    rows = run([int(s) for s in args.sizes.split(",")])
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        print(f"scaling: time({b['customers']:,}) / time({a['customers']:,}) = "
              f"{b['refresh']['wall_s'] / a['refresh']['wall_s']:.1f} for {b['customers'] / a['customers']:.0f}x rows")
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
