"""``python -m bench [--large]``: what a salesperson waits for on one button press, against the floor.

Cases: 1,000 customers; 10,000 with a contact log and 10,000 without; 100,000 only with ``--large``
(``--cases`` picks others, e.g. ``200`` or ``10000-nolog``). Each workbook: maturity preset, realistic
tier mix, 4–50 owners, a contact log of each customer's newest 5 touches (none for ``-nolog``). Measured:
- cold: ``python -m pyxl.cli refresh`` as a whole process (start-up and imports included) and its peak RSS,
  with the package's bytecode compiled as after ``pip install`` (an untimed run first writes it to a cache
  outside the repository, even where PYTHONDONTWRITEBYTECODE is set);
- floor: a fresh Python reading every sheet with python-calamine and rewriting the zip once;
- warm: a second refresh in one process (what the ribbon costs with the UDF server on), in-process time;
- ``openpyxl.load_workbook(keep_vba=True)`` + ``save()`` of the same file, as a whole process;
- the CPU time (user + system) of cold, floor and warm beside their wall times: on a shared machine it moves
  far less than wall time, so its ratios show what the code costs when the wall-time ratios are blurred;
- the engine alone and the planner alone (no file I/O; the engine also on typed input: what an Arrow-style
  reader would buy) and the Excel round-trips of the xlwings edge per action (counted on the stand-in).
Cold and floor run side by side, best of 3 (1 at 100,000). Prints each case, the targets with PASS/FAIL
and a Markdown table; writes ``bench/results.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import peak_rss_mib

TODAY = dt.date(2026, 11, 23)
HERE = Path(__file__).resolve().parent


def make_workbook(path: Path, customers: int, touches_per_customer: int = 5) -> None:
    from pyxl.demo import make_demo
    make_demo(path, customers=customers, today=TODAY, owners=max(4, customers // 2000),
              touches_per_customer=touches_per_customer)


# ---------------------------------------------------------------- whole processes, timed from outside
COLD = """import sys
from pyxl.cli import main
sys.argv = ["followup", "refresh", sys.argv[1], "--today", "{today}", "--no-backup"]
try:
    main()
finally:
    from bench import peak_rss_mib
    print(f"peak_rss_mib={{peak_rss_mib()}}", file=sys.stderr)
"""

FLOOR = """import sys, zipfile
import python_calamine
path = sys.argv[1]
book = python_calamine.CalamineWorkbook.from_path(path)
for name in book.sheet_names:
    book.get_sheet_by_name(name).to_python()
with zipfile.ZipFile(path) as src, zipfile.ZipFile(path + ".out", "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info, src.read(info.filename))
"""

OPENPYXL = """import sys
import openpyxl
openpyxl.load_workbook(sys.argv[1], keep_vba=True).save(sys.argv[1] + ".out.xlsm")
"""


def with_bytecode(work: Path) -> dict[str, str]:
    """The environment of a whole process: bytecode read from (and written to) a cache in ``work``, as an
    installed package has it, whatever PYTHONDONTWRITEBYTECODE says on the machine running the benchmark."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}


def whole_process(script: str, source: Path, work: Path) -> dict:
    """Wall time of a fresh ``python -c script COPY`` (interpreter start-up included) on a copy of source."""
    copy = work / "run.xlsm"
    shutil.copy(source, copy)
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, str(copy)], capture_output=True, text=True,
                          cwd=HERE.parent, env=with_bytecode(work))
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr)
    out = {"wall_s": wall, "cpu_s": _children_cpu() - cpu}
    for line in done.stderr.splitlines():
        if line.startswith("peak_rss_mib="):
            out["rss_mib"] = float(line.split("=")[1])
    return out


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: on a shared machine a process's CPU time
    moves far less than its wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["wall_s"])


# ---------------------------------------------------------------- measurements (run in a child process)
def _warm(path: Path) -> dict:
    """Two refreshes in one process, each on a fresh copy: the second is what a press costs once warm."""
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    times, cpu = [], []
    for n in range(2):
        copy = path.with_name(f"warm-{n}.xlsm")
        shutil.copy(path, copy)
        start, cpu_start = time.perf_counter(), time.process_time()
        book = WorkbookPackage.open(copy)
        actions.refresh(book, TODAY)
        book.save(backup=False)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return {"first_s": times[0], "warm_s": times[1], "warm_cpu_s": cpu[1]}


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
    """Per action the round-trips that could grow with rows (reads, writes) and, apart, the styling of the
    generated sheets: a fixed number of calls per style role and address, so it follows which situations the
    sheets show (overdue, not placed, warnings, ...) and how their cells group, whatever the row count."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from xlwings_standin import Book, round_trips  # the same stand-in the tests use
    from pyxl import actions
    from pyxl.book.excel import ExcelBook
    counts, styling = {}, {}
    for name, run in (("refresh", lambda b: actions.refresh(b, TODAY)), ("check", lambda b: actions.check(b, TODAY)),
                      ("plan", lambda b: actions.weekly_plan(b, None, TODAY))):
        book = ExcelBook(Book(path))
        trips = round_trips(lambda: run(book))
        counts[name], styling[name] = trips.data, [trips.styling, trips.areas]
    return {"round_trips": counts, "styling": styling}


MEASURES = {"warm": _warm, "engine": _engine, "round_trips": _round_trips}


def child(measure: str, path: str) -> None:
    extra = MEASURES[measure](Path(path))
    print(json.dumps({"rss_mib": peak_rss_mib(), **extra}))


def measure(name: str, source: Path, work: Path) -> dict:
    copy = work / f"{name}.xlsm"
    shutil.copy(source, copy)
    out = subprocess.run([sys.executable, "-m", "bench", "--child", name, str(copy)], check=True,
                         capture_output=True, text=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- cases, targets, report
DEFAULT_CASES = "1000,10000,10000-nolog"
LARGE = "100000"
MIB_LIMIT = 1024


def parse_case(text: str) -> tuple[int, int]:
    """``10000`` (5 touches per customer) or ``10000-nolog`` (no contact log) -> (customers, touches)."""
    size, _, kind = text.strip().partition("-")
    return int(size), 0 if kind == "nolog" else 5


def run_case(customers: int, touches: int, skip_round_trips_over: int = 20_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "source.xlsm"
        t = time.perf_counter()
        make_workbook(source, customers, touches)
        row = {"customers": customers, "log": touches > 0, "generate_s": time.perf_counter() - t,
               "file_mib": source.stat().st_size / 2**20}
        whole_process(COLD.format(today=TODAY), source, work)  # untimed: compiles the bytecode
        cold, floor = [], []
        for _ in range(3 if customers <= 20_000 else 1):  # side by side: the machine's speed drifts
            cold.append(whole_process(COLD.format(today=TODAY), source, work))
            floor.append(whole_process(FLOOR, source, work))
        row["cold"], row["floor"] = best(cold), best(floor)
        row["openpyxl"] = whole_process(OPENPYXL, source, work)
        row["warm"] = measure("warm", source, work)
        row["engine"] = measure("engine", source, work)
        if customers <= skip_round_trips_over:
            row.update(measure("round_trips", source, work))
        return row


def targets(r: dict) -> list[tuple[str, bool]]:
    """Issue 20's targets for one case: (what, met)."""
    cold = r["cold"]["wall_s"] / r["floor"]["wall_s"]
    warm = r["warm"]["warm_s"] / r["floor"]["wall_s"]
    if r["customers"] < 10_000:
        return [(f"cold {cold:.1f}x floor <= 4x", cold <= 4), (f"warm {warm:.1f}x floor <= 2x", warm <= 2)]
    out = [(f"cold {cold:.1f}x floor <= 2x", cold <= 2)]
    if r["customers"] >= 100_000:
        out.append((f"peak RSS {r['cold']['rss_mib']:.0f} MiB <= {MIB_LIMIT} MiB", r["cold"]["rss_mib"] <= MIB_LIMIT))
    return out


def round_trips_target(rows: list[dict]) -> tuple[str, bool]:
    counts = {json.dumps(r["round_trips"], sort_keys=True) for r in rows if "round_trips" in r}
    return (f"round-trips per action the same at every size: {' | '.join(sorted(counts))} (styling apart: a fixed "
            f"number of calls per style area)", len(counts) <= 1)


def _styling(r: dict) -> str:
    """Styling calls (in style areas) per action: refresh / check / plan."""
    if "styling" not in r:
        return "-"
    return " / ".join(f"{calls} ({areas})" for calls, areas in r["styling"].values())


def label(r: dict) -> str:
    return f"{r['customers']:,}" + ("" if r["log"] else " (no log)")


def print_row(r: dict) -> None:
    cold, floor, warm = r["cold"]["wall_s"], r["floor"]["wall_s"], r["warm"]["warm_s"]
    print(f"{label(r):>18} customers ({r['file_mib']:.1f} MiB): cold {cold:6.2f} s ({r['cold']['rss_mib']:.0f} MiB "
          f"peak) | floor {floor:6.2f} s | cold/floor {cold / floor:5.2f} | warm {warm:6.2f} s | warm/floor "
          f"{warm / floor:5.2f} | openpyxl load+save {r['openpyxl']['wall_s']:7.2f} s | engine "
          f"{r['engine']['engine_s']:.2f} s (parsing {r['engine']['parse_s']:.2f}; on typed input "
          f"{r['engine']['typed_input_s']:.2f}) | planner {r['engine']['planner_s']:.2f} s | round-trips "
          f"{r.get('round_trips', '-')} + styling {_styling(r)} | CPU time: cold/floor "
          f"{r['cold']['cpu_s'] / r['floor']['cpu_s']:.2f}, "
          f"warm/floor {r['warm']['warm_cpu_s'] / r['floor']['cpu_s']:.2f}", flush=True)
    for what, met in targets(r):
        print(f"{'':>18}   {'PASS' if met else 'FAIL'}  {what}", flush=True)


def markdown(rows: list[dict]) -> str:
    lines = ["| customers | cold refresh | floor | cold/floor | warm refresh | warm/floor | peak RSS | "
             "openpyxl load+save | engine alone | planner alone | round-trips (refresh / check / plan) + styling calls "
             "(style areas) | "
             "CPU time cold/floor, warm/floor |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cold, floor, warm = r["cold"]["wall_s"], r["floor"]["wall_s"], r["warm"]["warm_s"]
        trips = (" / ".join(str(v) for v in r["round_trips"].values()) + f" + styling {_styling(r)}"
                 if "round_trips" in r else "–")
        lines.append(f"| {label(r)} | {cold:.2f} s | {floor:.2f} s | {cold / floor:.1f} | {warm:.2f} s | "
                     f"{warm / floor:.1f} | {r['cold']['rss_mib']:.0f} MiB | {r['openpyxl']['wall_s']:.1f} s | "
                     f"{r['engine']['engine_s']:.2f} s | {r['engine']['planner_s']:.2f} s | {trips} | "
                     f"{r['cold']['cpu_s'] / r['floor']['cpu_s']:.1f}, "
                     f"{r['warm']['warm_cpu_s'] / r['floor']['cpu_s']:.1f} |")
    return "\n".join(lines)


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
    parser.add_argument("--cases", default=DEFAULT_CASES,
                        help=f"comma-separated: customers, -nolog for a ledger without a log (default {DEFAULT_CASES})")
    parser.add_argument("--large", action="store_true", help=f"also {LARGE} customers (minutes, ~1 GiB)")
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
    cases = args.cases.split(",") + ([LARGE] if args.large else [])
    rows = []
    for case in cases:
        rows.append(run_case(*parse_case(case)))
        print_row(rows[-1])
    what, met = round_trips_target(rows)
    print(f"{'PASS' if met else 'FAIL'}  {what}")
    print(markdown(rows))
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
