"""The test support for issue 17 works: edits type what they say, the Excel-style rewrite keeps every value,
the validator finds real faults, and typed_cells/assert_untouched see a changed cell."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from support import people
from support.cells import assert_untouched, changed_cells, ledger_headers, typed_cells
from support.excel import TypedFormula, serialise_like_excel
from support.libreoffice import save_as_libreoffice, soffice
from support.validate import VBA_MODULES, audit_findings, check_package, check_pdf, vba_modules, xml_problems

EXCEL_SAVED = Path(__file__).parent / "fixtures" / "excel-saved"
needs_soffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")


@pytest.fixture
def book(demo_workbook: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(demo_workbook, tmp_path / "book.xlsm"))


def _rewrite(path: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    parts[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, content in parts.items():
            zf.writestr(part, content)


# ---- validate ------------------------------------------------------------------------------------

def test_tool_outputs_validate_today(book: Path, tmp_path: Path) -> None:
    """Findings on today's outputs (recorded for issue 17 item 10): none, for a built and a refreshed book."""
    assert check_package(book) == []
    assert vba_modules(book) == VBA_MODULES


def test_validator_finds_broken_xml_dtd_schema_and_vba(book: Path) -> None:
    broken = book.with_name("broken.xlsm")
    shutil.copy(book, broken)
    _rewrite(broken, "docProps/app.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')
    _rewrite(broken, "xl/worksheets/sheet4.xml", b"<worksheet><sheetData>")
    _rewrite(broken, "xl/vbaProject.bin", b"not an OLE file")
    problems = xml_problems(broken)
    assert any("docProps/app.xml: has a DTD" in p for p in problems)
    assert any(p.startswith("xl/worksheets/sheet4.xml: not well-formed") for p in problems)
    assert any("VBA" in p for p in check_package(broken))


def test_openxml_audit_flags_a_schema_error(book: Path) -> None:
    with zipfile.ZipFile(book) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    _rewrite(book, "xl/worksheets/sheet1.xml", sheet.replace("<sheetData>", '<sheetData><bogus x="1"/>', 1).encode())
    assert any("sheet1.xml" in f for f in audit_findings(book))


@needs_soffice
def test_check_pdf(book: Path, tmp_path: Path) -> None:
    assert check_pdf(book, tmp_path / "pdf") == []
    assert check_pdf(tmp_path / "missing.xlsm", tmp_path / "pdf2") != []


# ---- cells ---------------------------------------------------------------------------------------

def test_typed_cells_leave_out_tool_cells_and_see_a_change(book: Path) -> None:
    before = typed_cells(book)
    sheets = {sheet for sheet, _ in before}
    assert {"客户台账", "跟进记录", "规则", "设置"} <= sheets
    assert not sheets & {"今日", "周计划", "校验", "看板", "日报", "_styles", "_form"}
    assert ("客户台账", "A2") in before and ("客户台账", "AG2") not in before  # AG = Status, computed
    wb = openpyxl.load_workbook(book, keep_vba=True)
    wb["客户台账"]["B2"] = "改过的名字"
    wb["客户台账"]["AG2"] = "tool column"
    wb.save(book)
    after = typed_cells(book)
    assert changed_cells(before, after) == [f"客户台账!B2: {before[('客户台账', 'B2')].value!r} -> '改过的名字'"]
    with pytest.raises(AssertionError, match="1 typed cell"):
        assert_untouched(before, after)


def test_synced_cells_may_advance_but_typed_text_may_not(book: Path) -> None:
    wb = openpyxl.load_workbook(book, keep_vba=True)
    wb["客户台账"]["U3"] = "上周五"
    wb.save(book)
    before = typed_cells(book)
    wb["客户台账"]["U2"] = dt.datetime(2026, 11, 22)  # a later date: as the log moves it
    wb["客户台账"]["U3"] = dt.datetime(2026, 11, 22)  # text replaced: never
    wb.save(book)
    assert changed_cells(before, typed_cells(book), ledger_headers(book)) == [
        "客户台账!U3: '上周五' -> datetime.datetime(2026, 11, 22, 0, 0)"]


# ---- people --------------------------------------------------------------------------------------

@pytest.mark.parametrize("edit", people.EDITS)
def test_each_edit_types_what_it_returns_and_keeps_the_macros(edit: str, book: Path) -> None:
    typed = people.EDITS[edit](book)
    assert typed
    wb = openpyxl.load_workbook(book)
    for t in typed:
        if t.kind != "part" or t.value is not None:
            assert wb[t.sheet][t.cell].value == t.value, t
    with zipfile.ZipFile(book) as zf:
        names = set(zf.namelist())
    assert {"xl/vbaProject.bin", "customUI/customUI.xml", "customUI/customUI14.xml"} <= names
    assert wb["客户台账"].sheet_properties.codeName == "shCustomers"
    assert vba_modules(book) == VBA_MODULES


def test_rows_below_a_table_stay_outside_it(book: Path) -> None:
    typed = people.customers_below_ledger(book)
    ref = openpyxl.load_workbook(book)["客户台账"].tables["tblCustomers"].ref
    assert int(re.sub(r"\D", "", ref.split(":")[1])) + 1 == int(re.sub(r"\D", "", typed[0].cell))


# ---- Excel serialisation -------------------------------------------------------------------------

def test_excel_serialised_keeps_values_and_looks_like_excel(book: Path, tmp_path: Path) -> None:
    before = typed_cells(book)
    out = serialise_like_excel(book, tmp_path / "excel.xlsm",
                               TypedFormula("tblCustomers", "U2", "DATE(2026,11,20)", "46346", "U3"))
    with zipfile.ZipFile(out) as zf:
        ledger, table = zf.read("xl/worksheets/sheet1.xml").decode(), zf.read("xl/tables/table1.xml").decode()
        assert "xl/calcChain.xml" in zf.namelist()
        assert b'<c r="U2" i="1"' in zf.read("xl/calcChain.xml")
    assert 'inlineStr' not in ledger and 'mc:Ignorable="x14ac xr xr2 xr3"' in ledger
    assert re.search(r'<row r="2" spans="1:\d+" x14ac:dyDescent="0.25"', ledger) and "<extLst>" in ledger
    assert 'xr:uid="{' in table and 'xr3:uid="{' in table
    assert check_package(out) == []
    after = typed_cells(out)
    assert after[("客户台账", "U2")].formula == "=DATE(2026,11,20)"
    assert after[("客户台账", "U2")].value == dt.datetime(2026, 11, 20)
    del before[("客户台账", "U2")], after[("客户台账", "U2")]
    assert_untouched(before, after)


def test_reference_files_keep_their_licence() -> None:
    assert (EXCEL_SAVED / "LICENSE-xlwings.txt").exists() and "BSD" in (EXCEL_SAVED / "README.md").read_text()
    with zipfile.ZipFile(EXCEL_SAVED / "engines.xlsm") as zf:
        assert "xl/calcChain.xml" in zf.namelist()
        assert 'x14ac:dyDescent' in zf.read("xl/worksheets/sheet1.xml").decode()


# ---- LibreOffice ---------------------------------------------------------------------------------

@needs_soffice
def test_libreoffice_save_keeps_values_and_vba_but_drops_codenames(book: Path, tmp_path: Path) -> None:
    excel = serialise_like_excel(book, tmp_path / "excel.xlsm")
    saved = save_as_libreoffice(excel, tmp_path / "saved.xlsm")
    assert vba_modules(saved) == VBA_MODULES
    assert openpyxl.load_workbook(saved)["客户台账"].sheet_properties.codeName is None
    # LibreOffice stores typed TRUE/FALSE as =TRUE()/=FALSE(): same values, formulas differ
    assert_untouched(typed_cells(book), typed_cells(saved), formulas=False)


def test_soffice_missing_skips_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        save_as_libreoffice(tmp_path / "x.xlsm", tmp_path / "y.xlsm")


def test_soffice_runs_with_a_private_profile(tmp_path: Path) -> None:
    from support.libreoffice import soffice_command
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    command = soffice_command(tmp_path)
    assert command[1].startswith(f"-env:UserInstallation=file://{tmp_path}")
    assert subprocess.run(command + ["--version"], capture_output=True, timeout=60).returncode == 0
