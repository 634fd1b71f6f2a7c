"""Tables grow as Excel grows them: rows typed directly below one of the tool's tables are part of it (read,
computed, and the table's range, validations and conditional formats moved down on the next write); a row
further down after blank rows is flagged with its cell and the blank rows to delete."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from typer.testing import CliRunner

import xlwings_standin as xs
from pyxl.book import layout as L
from pyxl.book.excel import ExcelBook
from pyxl.book.tables import rows_under
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.inputs import RowBelow
from support import people
from support.cells import sheet_by_role

TODAY = "2026-11-23"


def test_rows_directly_below_count_and_rows_after_blank_rows_are_listed_with_the_blank_rows_above_them():
    filled = [True, True, True, True, False, False, True, True, False, True, False]
    assert rows_under(filled, 2) == (4, [(7, (5, 6)), (8, (5, 6)), (10, (9, 9))])
    assert rows_under([True, True], 2) == (2, [])


def _table_ref(path: Path, name: str) -> str:
    package = WorkbookPackage.open(path)
    return package.tables()[name].ref


def test_customers_typed_below_the_ledger_are_computed_and_the_table_grows_to_them(demo_book: Path):
    wb = openpyxl.load_workbook(demo_book, keep_vba=True)
    ws = sheet_by_role(wb, "shCustomers")
    last = ws.max_row
    ws.conditional_formatting.add(f"B2:B{last}", CellIsRule(operator="equal", formula=['"x"'],
                                                             fill=PatternFill("solid", fgColor="FFFF00")))
    wb.save(demo_book)
    typed = people.customers_below_ledger(demo_book)
    result = CliRunner().invoke(app, ["refresh", str(demo_book), "--today", TODAY])
    assert result.exit_code in (0, 1), result.output

    new_last = last + 3
    assert _table_ref(demo_book, "tblCustomers").endswith(f"{new_last}")
    xml = zipfile.ZipFile(demo_book).read("xl/tables/table1.xml").decode()
    assert f'<autoFilter ref="A1:{_table_ref(demo_book, "tblCustomers").split(":")[1]}"' in xml
    wb = openpyxl.load_workbook(demo_book)
    ws = sheet_by_role(wb, "shCustomers")
    assert f"B2:B{new_last}" in {str(cf.sqref) for cf in ws.conditional_formatting}
    header = {c.value: c.column for c in ws[1]}
    for t in typed[::5]:  # the ID cell of each typed customer
        row = ws[t.cell].row
        assert ws.cell(row, header["状态"]).value, f"row {row} not computed"
        due = ws.cell(row, header["到期日"])
        assert due.number_format == ws.cell(last, header["到期日"]).number_format != "General"


def test_an_owner_typed_below_the_owners_table_is_read(demo_book: Path):
    typed = people.owner_below_owners(demo_book)
    result = CliRunner().invoke(app, ["refresh", str(demo_book), "--today", TODAY])
    assert result.exit_code in (0, 1), result.output
    row = int(typed[0].cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    assert _table_ref(demo_book, "tblOwners").endswith(str(row))
    dashboard = sheet_by_role(openpyxl.load_workbook(demo_book), "shDashboard")
    assert "赵新人" in {c.value for r in dashboard.iter_rows() for c in r}


def test_rows_after_blank_rows_are_flagged_with_their_cell_and_the_rows_to_delete(demo_book: Path):
    typed = people.customers_after_gap(demo_book)
    before = _table_ref(demo_book, "tblCustomers")
    result = CliRunner().invoke(app, ["check", str(demo_book), "--today", TODAY, "--json"])
    assert result.exit_code == 1, result.output
    flags = [f for f in json.loads(result.output)["flags"] if f["rule"] == "table.row_below"]
    ids = [t for t in typed if t.kind == "ledger_row"]
    assert [f["cell"] for f in flags] == [f"{t.sheet}!{t.cell}" for t in ids]
    first = int(ids[0].cell[1:])
    assert f"{first - 2}–{first - 1}" in flags[0]["message"] and "tblCustomers" in flags[0]["message"]
    assert _table_ref(demo_book, "tblCustomers") == before


def test_the_excel_door_reports_rows_after_blank_rows_as_the_headless_reader_does(demo_book: Path):
    live = xs.Book(demo_book, "windows")
    ledger = live.sheet(L.CUSTOMERS)
    last = WorkbookPackage.open(demo_book).tables()["tblCustomers"].last_row
    ledger.range((last + 3, 2), (last + 4, 2)).value = [["新客户甲"], ["新客户乙"]]
    assert ExcelBook(live).rows_below("tblCustomers") == [
        RowBelow("tblCustomers", f"{ledger.name}!B{last + 3}", (last + 1, last + 2)),
        RowBelow("tblCustomers", f"{ledger.name}!B{last + 4}", (last + 1, last + 2))]
    assert ExcelBook(live).rows_below("tblContacts") == []
