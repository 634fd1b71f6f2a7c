"""Import benchmark: a 30,000-row call log (xlsx and GBK csv) into a workbook of 600 customers.

    /work/venv/bin/python bench/bench_import.py [--calls 30000] [--customers 600] [--out bench/results_import.json]

Each run starts from a copy of the same workbook (customers imported first, no log); the figure is the
whole ``followup import``: read + map + type + merge + append + refresh + atomic save, per phase.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import xlsxwriter

from pyxl import importer
from pyxl.build.workbook import build_workbook

TODAY = dt.date(2026, 11, 23)
OUTCOMES = ["No Answer", "Voicemail", "Connected", "未接通", "有意向", "考虑中", "拒绝", "成交"]
CHANNELS = ["电话", "Phone", "微信", "拜访"]


def customers_csv(path: Path, n: int) -> Path:
    lines = ["客户编码,客户名称,电话,业务员,客户类别"]
    lines += [f"C{i:05d},客户{i:05d},139{i:08d},{['张伟', '李娜', '王磊', '刘洋'][i % 4]},{['4N', '4K', '3N', '0'][i % 4]}"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def call_rows(calls: int, customers: int, seed: int = 5) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-05-01T08:00")
    minutes = np.sort(rng.choice(200 * 24 * 60, size=calls, replace=False))
    who = rng.integers(0, customers, calls)
    outcome = rng.integers(0, len(OUTCOMES), calls)
    channel = rng.integers(0, len(CHANNELS), calls)
    return [["日期", "客户名称", "联系方式", "跟进结果"]] + [
        [str(start + np.timedelta64(int(m), "m")).replace("T", " "), f"客户{int(c):05d}", CHANNELS[int(h)],
         OUTCOMES[int(o)]] for m, c, o, h in zip(minutes, who, outcome, channel)]


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("通话记录")
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    wb.close()
    return path


def write_gbk_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_bytes(("\r\n".join(",".join(r) for r in rows) + "\r\n").encode("gbk"))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--out", default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = build_workbook(work / "base.xlsm")
        importer.run_import(base, [customers_csv(work / "customers.csv", args.customers)], today=TODAY, backup=False)
        rows = call_rows(args.calls, args.customers)
        sources = {"xlsx": write_xlsx(work / "calls.xlsx", rows), "csv (GBK)": write_gbk_csv(work / "calls.csv", rows)}
        for label, src in sources.items():
            book = Path(shutil.copy(base, work / f"book-{src.suffix[1:]}.xlsm"))
            t = time.perf_counter()
            report = importer.run_import(book, [src], today=TODAY, backup=False)
            wall = time.perf_counter() - t
            counts = report.sources[0].counts()
            phases = " ".join(f"{k} {v:.2f}" for k, v in report.timings.items())
            print(f"{args.calls:,} calls from {label:<10} ({src.stat().st_size / 2**20:.1f} MiB): {wall:5.2f} s "
                  f"| added {counts['added']:,} | {phases}", flush=True)
            t = time.perf_counter()
            dry = importer.run_import(book, [src], today=TODAY, dry_run=True)
            dry_wall = time.perf_counter() - t
            print(f"  re-import (dry run, every row already logged): {dry_wall:5.2f} s "
                  f"| skipped {dry.sources[0].counts()['skipped']:,}", flush=True)
            results.append({"source": label, "calls": args.calls, "customers": args.customers, "wall_s": round(wall, 3),
                            "phases_s": report.timings, "added": counts["added"], "reimport_dry_run_s": round(dry_wall, 3)})
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
