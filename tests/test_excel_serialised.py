"""What Excel itself writes survives a refresh part by part: shared strings, rows with ``spans`` and
``x14ac:dyDescent``, ``mc:Ignorable`` namespaces, extLst, ``xr:uid`` on tables, and a calcChain kept consistent
(a formula a person typed in a column of theirs) or dropped with its relationship and content type (a formula
typed in a column the tool writes)."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from pyxl.book.a1 import col_index
from pyxl.cli import app
from pyxl.demo import make_demo
from support.excel import TypedFormula, serialise_like_excel
from support.validate import check_package

TODAY = "2026-11-23"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
LEDGER, LEDGER_TABLE, CALC_CHAIN = "xl/worksheets/sheet1.xml", "xl/tables/table1.xml", "xl/calcChain.xml"
USER_COLUMN_FORMULA = TypedFormula("tblCustomers", "AD2", 'CONCATENATE("see ","A2")', "see A2")  # 备注 / Notes
TOOL_COLUMN_FORMULA = TypedFormula("tblCustomers", "AF2", "DATE(2026,11,20)", "46346", "AF3")  # 到期日 / Due


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("excel") / "demo.xlsm"
    make_demo(path, customers=12, today=dt.date.fromisoformat(TODAY))
    return path


def _refreshed(demo: Path, tmp_path: Path, formula: TypedFormula) -> tuple[zipfile.ZipFile, zipfile.ZipFile, Path]:
    before = serialise_like_excel(demo, tmp_path / "excel.xlsm", formula)
    after = Path(shutil.copy(before, tmp_path / "book.xlsm"))
    result = CliRunner().invoke(app, ["refresh", str(after), "--today", TODAY])
    assert result.exit_code in (0, 1), result.output
    assert set(check_package(after)) <= set(check_package(before))
    return zipfile.ZipFile(before), zipfile.ZipFile(after), after


def _cells(zf: zipfile.ZipFile, part: str) -> dict[str, etree._Element]:
    return {c.get("r"): c for c in etree.fromstring(zf.read(part)).iter(f"{MAIN}c")}


def test_shared_strings_rows_namespaces_extlst_and_table_uids_survive(demo: Path, tmp_path: Path):
    before, after, _ = _refreshed(demo, tmp_path, USER_COLUMN_FORMULA)
    assert after.read("xl/sharedStrings.xml") == before.read("xl/sharedStrings.xml")
    count = len(etree.fromstring(after.read("xl/sharedStrings.xml")).findall(f"{MAIN}si"))
    old, new = _cells(before, LEDGER), _cells(after, LEDGER)
    for ref, cell in new.items():
        if cell.get("t") == "s":
            assert int(cell.findtext(f"{MAIN}v")) < count
            assert old[ref].get("t") == "s" and old[ref].findtext(f"{MAIN}v") == cell.findtext(f"{MAIN}v"), ref
    sheet = after.read(LEDGER).decode()
    head = sheet[: sheet.index("<sheetData")]
    assert 'mc:Ignorable="' in head and "xmlns:x14ac=" in head
    assert sheet.count("x14ac:dyDescent=") == before.read(LEDGER).decode().count("x14ac:dyDescent=")
    for row in re.finditer(r'<row\b[^>]*\bspans="(\d+):(\d+)"[^>]*>(.*?)</row>', sheet, re.S):
        columns = [col_index(c) for c in re.findall(r'<c r="([A-Z]+)\d+"', row.group(3))]
        assert all(int(row.group(1)) <= c <= int(row.group(2)) for c in columns), row.group(0)[:120]
    assert sheet.endswith(before.read(LEDGER).decode()[before.read(LEDGER).decode().index("<extLst"):])
    assert after.read(LEDGER_TABLE) == before.read(LEDGER_TABLE)  # xr:uid, xr3:uid and all


def test_a_formula_in_a_users_column_keeps_the_calc_chain_consistent(demo: Path, tmp_path: Path):
    before, after, _ = _refreshed(demo, tmp_path, USER_COLUMN_FORMULA)
    assert after.read(CALC_CHAIN) == before.read(CALC_CHAIN)
    cells = _cells(after, LEDGER)
    for entry in etree.fromstring(after.read(CALC_CHAIN)).iter(f"{MAIN}c"):
        assert entry.get("i") == "1" and cells[entry.get("r")].find(f"{MAIN}f") is not None
    assert cells["AD2"].findtext(f"{MAIN}f") == USER_COLUMN_FORMULA.formula


def test_a_formula_the_tool_writes_over_drops_the_calc_chain_with_its_relationship_and_type(demo: Path,
                                                                                           tmp_path: Path):
    before, after, _ = _refreshed(demo, tmp_path, TOOL_COLUMN_FORMULA)
    assert CALC_CHAIN in before.namelist() and CALC_CHAIN not in after.namelist()
    assert b"calcChain" not in after.read("xl/_rels/workbook.xml.rels")
    assert b"calcChain" not in after.read("[Content_Types].xml")
    due = _cells(after, LEDGER)["AF2"]
    assert due.find(f"{MAIN}f") is None and due.findtext(f"{MAIN}v")
    assert due.get("s") == _cells(before, LEDGER)["AF2"].get("s")  # the date style the formula cell had
