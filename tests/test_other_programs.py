"""Workbooks the tool did not write last: saved by a program that drops sheet codeNames (LibreOffice does), and
plain workbooks that are not the tool's at all."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from pyxl.book import layout as L
from pyxl.book import opc
from pyxl.book.sheetxml import set_code_name
from pyxl.book.xlsx import WorkbookPackage
from pyxl.book.zipio import Archive
from pyxl.cli import app
from support.libreoffice import save_as_libreoffice
from support.validate import vba_problems

CODE_NAME = re.compile(rb'\scodeName="[^"]*"')


def _without_code_names(src: Path, out: Path) -> Path:
    """The workbook as a program that drops sheet codeNames saves it (every other byte kept)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = CODE_NAME.sub(b"", data, count=1)
            zout.writestr(info, data)
    return out


def _code_names(path: Path) -> dict[str, str | None]:
    archive = Archive(path.read_bytes(), path.name)
    return {s.name: s.code_name for s in opc.sheets(archive, opc.office_document(archive))}


def test_sheets_without_code_names_are_found_and_get_them_back_on_the_next_write(demo_book: Path, tmp_path: Path):
    expected = _code_names(demo_book)
    book = _without_code_names(demo_book, tmp_path / "saved.xlsm")
    assert set(_code_names(book).values()) == {None}
    package = WorkbookPackage.open(book)
    assert package.sheet_by_codename(L.AGENDA).name == package.sheet_by_codename(L.AGENDA).name == "今日"
    result = CliRunner().invoke(app, ["refresh", str(book), "--today", "2026-11-23"])
    assert result.exit_code in (0, 1), result.output
    assert _code_names(book) == expected
    with zipfile.ZipFile(demo_book) as before, zipfile.ZipFile(book) as after:
        assert after.read("xl/vbaProject.bin") == before.read("xl/vbaProject.bin")
        sheet = after.read(WorkbookPackage.open(book).sheet_by_codename(L.RULES).part).decode()
        assert re.search(r'<sheetPr\b[^>]*codeName="shRules"', sheet)


def test_a_plain_workbook_is_refused_in_plain_words_pointing_at_import(tmp_path: Path):
    path = tmp_path / "old.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["客户名称", "电话"])
    wb.active.append(["张三", "13800000000"])
    wb.save(path)
    before = path.read_bytes()
    for command in (["refresh", str(path)], ["plan", str(path)], ["export", str(path)]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert "不是客户跟进" in message and "followup import" in message and "Traceback" not in message, message
    assert path.read_bytes() == before


def test_a_code_name_is_set_on_the_sheet_properties_or_in_new_ones_first_in_the_sheet():
    assert set_code_name('<x:worksheet xmlns:x="main"><x:dimension ref="A1"/><x:sheetData>', "shPlan") == \
        '<x:worksheet xmlns:x="main"><x:sheetPr codeName="shPlan"/><x:dimension ref="A1"/><x:sheetData>'
    assert set_code_name('<worksheet><sheetPr filterMode="false"><tabColor rgb="FF0000FF"/>', "shPlan") == \
        '<worksheet><sheetPr filterMode="false" codeName="shPlan"><tabColor rgb="FF0000FF"/>'


def test_a_libreoffice_save_then_our_write_keeps_the_vba_project_and_the_code_names(demo_book: Path, tmp_path: Path):
    expected = _code_names(demo_book)
    book = save_as_libreoffice(demo_book, tmp_path / "saved.xlsm")
    assert set(_code_names(book).values()) == {None}  # what LibreOffice does today
    result = CliRunner().invoke(app, ["refresh", str(book), "--today", "2026-11-23"])
    assert result.exit_code in (0, 1), result.output
    assert _code_names(book) == expected
    assert vba_problems(book) == []  # every module, the sheets' document modules included, parses with olevba
