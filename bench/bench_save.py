"""Save benchmark: what ``WorkbookPackage.save`` costs after a refresh, without the disk.

    python -m bench.bench_save [--customers 10000] [--repeat 7]

Builds the benchmark's workbook (``bench.__main__.make_workbook``), refreshes it once, then times, best and
median CPU time of ``--repeat`` runs: the generated sheets' cells encoded (``replace_sheet_content`` with the
refresh's own rows), each patched sheet part streamed through the row patcher, and the whole package packed
into a zip in memory (every rewritten part patched and deflated, the others copied).
"""
from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.__main__ import TODAY, make_workbook
from pyxl import actions
from pyxl.book.rows import RowPatcher
from pyxl.book.sheetxml import SheetStream
from pyxl.book.xlsx import WorkbookPackage
from pyxl.book.zipio import write_zip


def cpu(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best and median CPU seconds of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times), statistics.median(times)


def report(label: str, best: float, median: float) -> None:
    print(f"  {label:<42}{best:7.3f} s {median:7.3f} s")


def refreshed(path: Path) -> tuple[WorkbookPackage, list[tuple[tuple, dict]]]:
    """The package refreshed (patches pending) and the arguments of its ``replace_sheet_content`` calls."""
    calls = []
    replace = WorkbookPackage.replace_sheet_content

    def recorded(book: WorkbookPackage, *args, **kwargs) -> None:
        calls.append((args, kwargs))
        replace(book, *args, **kwargs)

    WorkbookPackage.replace_sheet_content = recorded
    try:
        book = WorkbookPackage.open(path)
        actions.refresh(book, TODAY)
    finally:
        WorkbookPackage.replace_sheet_content = replace
    return book, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bench.xlsm"
        make_workbook(source, args.customers)
        shutil.copy(source, Path(tmp) / "work.xlsm")
        book, calls = refreshed(Path(tmp) / "work.xlsm")
        rows = {part: list(SheetStream(book._archive.inflate(part), part).rows())
                for part, patch in book._patches.items() if patch.generated is None}
        heads = {part: SheetStream(book._archive.inflate(part), part).head for part in rows}
        print(f"{args.customers:,} customers, CPU best / median of {args.repeat}:")
        best, median = cpu(lambda: [WorkbookPackage.replace_sheet_content(book, *a, **k) for a, k in calls],
                           args.repeat)
        report(f"generated sheets encoded ({len(calls)})", best, median)
        for part, pieces in rows.items():
            patch = book._patches[part]
            best, median = cpu(lambda: "".join(RowPatcher(heads[part], patch, book.date1904, book._date_styles)
                                               .run(iter(pieces))), args.repeat)
            report(f"row patcher, {part}", best, median)
        best, median = cpu(lambda: write_zip(io.BytesIO(), book._entries(True)), args.repeat)
        report("package packed in memory", best, median)


if __name__ == "__main__":
    main()
