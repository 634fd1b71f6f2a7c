"""Benchmark the headless package patcher against openpyxl and a calamine+zip floor.

    python bench/bench_package.py [rows]      (default 100,000 rows x 30 columns)

Prints seconds for: read_table; set_column_values on 7 columns + save; the full refresh (open +
read + patch + save); the floor (python-calamine read + one zip rewrite); openpyxl load + save.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl
import python_calamine
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pyxl.book.xlsx import WorkbookPackage  # noqa: E402

COLS = 30
PATCHED = ["Col2", "Col3", "Col7", "Col9", "Col12", "Col20", "Col24"]  # 7 columns: dates, numbers, text


def generate(path: Path, rows: int) -> None:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Customers")
    ws.set_vba_name("shCustomers")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    day0 = dt.date(2024, 1, 1)
    kinds = [lambda r, c: f"name {r} {c}", lambda r, c: r * 1.5 + c, lambda r, c: day0 + dt.timedelta(r % 400),
             lambda r, c: r, lambda r, c: f"cat{r % 7}"]
    data = [[kinds[c % 5](r, c) for c in range(COLS)] for r in range(rows)]
    ws.add_table(0, 0, rows, COLS - 1, {"name": "tblCustomers", "data": data, "columns": [
        {"header": f"Col{c}", "format": date if c % 5 == 2 else None} for c in range(COLS)]})
    wb.close()


def timed(label: str, fn) -> tuple[float, float]:
    """Wall and CPU seconds of fn() (CPU is steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<44}{wall:8.2f} s wall {cpu:8.2f} s cpu")
    return wall, cpu


def refresh(path: Path) -> None:
    pkg = WorkbookPackage.open(path)
    df = pkg.read_table("tblCustomers")
    for name in PATCHED:
        pkg.set_column_values("tblCustomers", name, patched_values(df, name))
    pkg.save(backup=False)


def patched_values(df, name: str) -> dict[int, object]:
    sample = df[name].iloc[0]
    if isinstance(sample, dt.date):
        return {r: v + dt.timedelta(days=1) for r, v in df[name].items()}
    if isinstance(sample, str):
        return {r: v + "!" for r, v in df[name].items()}
    return {r: v * 2 for r, v in df[name].items()}


def floor(path: Path, out: Path) -> None:
    raw = path.read_bytes()
    python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(raw)).get_sheet_by_name("Customers").to_python()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))


def openpyxl_load_save(path: Path, out: Path) -> None:
    openpyxl.load_workbook(path).save(out)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "bench.xlsx"
        timed(f"generate {rows:,} x {COLS} (XlsxWriter)", lambda: generate(src, rows))
        print(f"{'file size':<44}{src.stat().st_size / 1e6:8.1f} MB")
        print(f"{'sheet XML':<44}{zipfile.ZipFile(src).getinfo('xl/worksheets/sheet1.xml').file_size / 1e6:8.1f} MB")
        pkg = WorkbookPackage.open(src)
        read = timed("read_table (incl. open)", lambda: WorkbookPackage.open(src).read_table("tblCustomers"))
        df = pkg.read_table("tblCustomers")
        work = Path(tmp) / "work.xlsx"
        shutil.copy2(src, work)

        def patch_and_save() -> None:
            p = WorkbookPackage.open(work)
            for name in PATCHED:
                p.set_column_values("tblCustomers", name, patched_values(df, name))
            p.save(backup=False)

        timed("set_column_values x7 + save (incl. open)", patch_and_save)
        shutil.copy2(src, work)
        full = timed("full refresh: open+read+patch x7+save", lambda: refresh(work))
        base = timed("floor: calamine read + one zip rewrite", lambda: floor(src, Path(tmp) / "floor.xlsx"))
        slow = timed("openpyxl load + save", lambda: openpyxl_load_save(src, Path(tmp) / "openpyxl.xlsx"))
        for label, a, b in [("full refresh / floor", full, base), ("openpyxl / full refresh", slow, full),
                            ("read_table / full refresh", read, full)]:
            print(f"{label:<44}{a[0] / b[0]:8.2f} x wall {a[1] / b[1]:8.2f} x cpu")


if __name__ == "__main__":
    main()
