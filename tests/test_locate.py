"""The one sheet lookup (pyxl/book/locate.py) every path shares, on plain data and on a built workbook."""
from __future__ import annotations

import zipfile

import pytest

from pyxl.book import layout as L
from pyxl.book.locate import defined_name, locate_sheet, sheet_of_reference
from pyxl.build.workbook import build_workbook
from pyxl.book.errors import WorkbookError

SHEETS = ["客户台账", "跟进记录", "今日", "Plan", "Mine"]


def test_a_defined_name_wins_and_follows_a_rename():
    names = {defined_name(L.AGENDA): "='Mine'!$A$1"}
    assert locate_sheet(L.AGENDA, SHEETS, defined_names=names) == "Mine"


def test_a_broken_or_missing_name_falls_back_to_code_name_then_table_then_name_in_either_language():
    broken = {defined_name(L.CUSTOMERS): "=#REF!$A$1", defined_name(L.AGENDA): "='Gone'!$A$1"}
    assert locate_sheet(L.AGENDA, SHEETS, code_names=[None, None, None, None, L.AGENDA],
                        defined_names=broken) == "Mine"
    assert locate_sheet(L.CUSTOMERS, SHEETS, defined_names=broken, table_sheets={L.T_CUSTOMERS: "Mine"}) == "Mine"
    assert locate_sheet(L.AGENDA, SHEETS, defined_names=broken) == "今日"
    assert locate_sheet(L.PLAN, SHEETS) == "Plan"  # the English name in a Chinese workbook
    with pytest.raises(WorkbookError, match="FU_Sheet_shChecks"):
        locate_sheet(L.CHECKS, SHEETS)


def test_sheet_of_reference_reads_quoted_and_plain_names():
    assert sheet_of_reference("='It''s mine'!$A$1") == "It's mine"
    assert sheet_of_reference("=Plan!$A$1") == "Plan"
    assert sheet_of_reference("=#REF!") is None


def test_the_builder_names_every_tool_sheet(tmp_path):
    path = build_workbook(tmp_path / "b.xlsm", lang="en")
    xml = zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    for code in L.SHEETS:
        assert f'<definedName name="{defined_name(code)}">' in xml, code
    assert "<definedName name=\"FU_Sheet_shAgenda\">'Agenda'!$A$1<" in xml
