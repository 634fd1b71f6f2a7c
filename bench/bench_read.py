"""Read-path benchmark: what a refresh costs before the engine computes anything, and the checks registry.

    python -m bench.bench_read [--sizes 1000 10000] [--repeat 5]

For each size a demo workbook (as ``python -m bench`` builds it) is opened and measured, each the best CPU time
(user + system of this process; steadier than wall time on a shared machine) of ``--repeat`` runs:
- open: ``WorkbookPackage.open`` (every part inflated and verified);
- load: ``actions.load`` (every tool table read with calamine, error and formula cells marked, the core's inputs);
- checks: ``checks.run`` over the refresh's ``CheckContext``;
and, from one refresh, how many sheets calamine parsed and how many sheet parts were scanned for error and
formula cells.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from bench.__main__ import TODAY, make_workbook
from pyxl import actions
from pyxl.book import xlsx
from pyxl.book.xlsx import WorkbookPackage
from pyxl.core import checks


def best_cpu(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def measure(path: Path, repeat: int) -> dict[str, float | int]:
    contexts: list[checks.CheckContext] = []
    run_checks = checks.run
    with mock.patch.object(checks, "run", lambda ctx: contexts.append(ctx) or run_checks(ctx)), \
            mock.patch.object(xlsx.WorkbookPackage, "_grid", autospec=True, side_effect=WorkbookPackage._grid) as grid, \
            mock.patch.object(xlsx, "marked_cells", side_effect=xlsx.marked_cells) as marked:
        actions.refresh(WorkbookPackage.open(path), TODAY)
    opening = best_cpu(lambda: WorkbookPackage.open(path), repeat)
    return {"open_s": opening, "load_s": best_cpu(lambda: actions.load(WorkbookPackage.open(path)), repeat) - opening,
            "checks_s": best_cpu(lambda: run_checks(contexts[0]), repeat),
            "sheets_parsed": grid.call_count, "parts_scanned": marked.call_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| customers | open CPU s | load CPU s | checks CPU s | sheets parsed | parts scanned |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for n in args.sizes:
            path = Path(work) / f"b{n}.xlsm"
            make_workbook(path, n)
            m = measure(path, args.repeat)
            print(f"| {n:,} | {m['open_s']:.3f} | {m['load_s']:.3f} | {m['checks_s']:.3f} | {m['sheets_parsed']} "
                  f"| {m['parts_scanned']} |")


if __name__ == "__main__":
    main()
