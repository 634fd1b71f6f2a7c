"""A workbook a team has lived in: their own sheets, charts, comments, validations, formats and columns
survive every action untouched."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.schema import fields

from conftest import TODAY

runner = CliRunner()
TOOL_KEYS = {f.key for f in fields("ledger") if f.kind in ("computed", "synced")} | {"customer_id"}


def _add_user_content(path: Path) -> None:
    """What people do in Excel; openpyxl prepares the fixture only (the product never re-saves with it)."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    mine = wb.create_sheet("我的统计")
    mine.append(["月份", "签约额"])
    for month, amount in (("9月", 120000), ("10月", 98000), ("11月", 143500)):
        mine.append([month, amount])
    mine["B2"].number_format = '¥#,##0.00;[Red]-¥#,##0.00'
    mine["D1"] = "=SUM(B2:B4)"
    chart = BarChart()
    chart.add_data(Reference(mine, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    mine.add_chart(chart, "F2")
    ledger = wb["客户台账"]
    last_col = ledger.max_column
    ledger.cell(1, last_col + 2, "我的备注列")
    for r in range(2, 12):
        ledger.cell(r, last_col + 2, f"自己记的 {r}")
    ledger["B2"].comment = Comment("老客户，春节前回访", "张伟")
    dv = DataValidation(type="list", formula1="'我的统计'!$A$2:$A$4")
    ledger.add_data_validation(dv)
    dv.add(ledger.cell(2, last_col + 3))
    wb.save(path)


def _snapshot(path: Path) -> tuple[dict[str, bytes], dict]:
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    wb = openpyxl.load_workbook(path, keep_vba=True)
    values = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
    return parts, values


def test_every_action_leaves_user_content_alone(demo_book):
    _add_user_content(demo_book)
    parts, values = _snapshot(demo_book)
    book = WorkbookPackage.open(demo_book)
    owned_parts = {s.part for s in book.sheets() if s.code_name in (L.CUSTOMERS, L.CONTACTS, *L.GENERATED)}
    cid = book.read_table(L.T_CUSTOMERS).iloc[0, 0]
    for args in (["refresh"], ["check"], ["plan"], ["ids"], ["log", "--id", cid, "--reached", "no"]):
        result = runner.invoke(app, [args[0], str(demo_book), *args[1:], *(["--today", str(TODAY)]
                                                                             if args[0] != "ids" else [])])
        assert result.exit_code in (0, 1), result.output
    after_parts, after_values = _snapshot(demo_book)
    for name, data in parts.items():
        if name not in owned_parts and not name.startswith("xl/tables/") and name != "xl/workbook.xml":
            assert after_parts[name] == data, f"{name} changed"
    assert after_values["我的统计"] == values["我的统计"]
    header = values["客户台账"][0]
    tool_cols = {header.index(f.zh) for f in fields("ledger") if f.key in TOOL_KEYS}
    for before_row, after_row in zip(values["客户台账"], after_values["客户台账"]):
        for j, (a, b) in enumerate(zip(before_row, after_row)):
            if j not in tool_cols:
                assert a == b, f"column {header[j]} changed: {a!r} -> {b!r}"
    wb = openpyxl.load_workbook(demo_book, keep_vba=True)
    assert wb["客户台账"]["B2"].comment.text == "老客户，春节前回访"
    assert wb["我的统计"]._charts or any(n.startswith("xl/charts/") for n in after_parts)
