"""The built workbook: structure, reproducibility, sheets, drop-downs, native colours, rendering."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.cell import range_boundaries

from pyxl.actions import load
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.build.structure import check_workbook
from pyxl.build.workbook import build_workbook
from pyxl.core.i18n import texts
from pyxl.core.rules import PRESETS, preset_params, preset_rules
from pyxl.core.schema import field, fields

REPO = Path(__file__).resolve().parents[1]


def test_structure_is_sound_in_both_languages(tmp_path):
    for lang, preset in (("zh-CN", "maturity"), ("en", "abc")):
        assert check_workbook(build_workbook(tmp_path / f"{lang}.xlsm", lang, preset)) == []


def test_committed_workbook_is_not_stale(tmp_path):
    fresh = build_workbook(tmp_path / "followup.xlsm")
    committed = REPO / "workbook" / "followup.xlsm"
    assert committed.read_bytes() == fresh.read_bytes(), "run ./dev.sh build and commit workbook/followup.xlsm"


def test_sheets_tables_and_codenames(built_workbook):
    wb = openpyxl.load_workbook(built_workbook, keep_vba=True)
    assert wb.sheetnames[:2] == ["客户台账", "跟进记录"]
    assert [ws.sheet_properties.codeName for ws in wb.worksheets] == list(L.SHEETS)
    assert wb["_styles"].sheet_state == "veryHidden" and wb["_form"].sheet_state == "veryHidden"
    ledger = wb["客户台账"]
    table = ledger.tables[L.T_CUSTOMERS]
    headers = [c.value for c in ledger[1]]
    assert headers == [f.zh for f in fields("ledger")]
    assert table.ref.startswith("A1:")
    assert ledger.freeze_panes == "C2"
    for label in ("客户编码", "客户名称", "电话", "业务员", "客户类别", "年度合作金额", "KP", "最近联系", "约定日期",
                  "最早跟进", "到期日", "状态", "建议类别", "校验"):
        assert label in headers
    conf = wb["xlwings.conf"]
    assert {conf.cell(r, 1).value: conf.cell(r, 2).value for r in range(1, 11)}["UDF Modules"] == "pyxl.udfs"


def test_dropdowns_use_defined_names(built_workbook):
    wb = openpyxl.load_workbook(built_workbook, keep_vba=True)
    names = {n: wb.defined_names[n].attr_text for n in wb.defined_names}
    assert names["FU_Tiers"] == "'规则'!$A$2:$A$61"
    assert names["FU_Owners"].startswith("'设置'!$E$2")
    ledger = wb["客户台账"]
    col = {f.key: openpyxl.utils.get_column_letter(i + 1) for i, f in enumerate(fields("ledger"))}
    sources = {next(iter(dv.sqref.ranges)).coord.split(":")[0]: dv.formula1
               for dv in ledger.data_validations.dataValidation}
    assert sources[f"{col['tier']}2"] == "FU_Tiers"
    assert sources[f"{col['kp']}2"] == "FU_YesNo"
    assert sources[f"{col['owner']}2"] == "FU_Owners"
    assert sources[f"{col['due']}2"] == "FALSE"  # computed column: typing is refused


def test_row_colours_are_native_conditional_formats(built_workbook):
    ws = openpyxl.load_workbook(built_workbook, keep_vba=True)["客户台账"]
    formulas = [r.formula[0] for cf in ws.conditional_formatting for r in cf.rules]
    assert len(formulas) == 3 and all("FU_Today" in f for f in formulas)
    fills = [r.dxf.fill.bgColor.rgb for cf in ws.conditional_formatting for r in cf.rules]
    assert any(f.endswith("F8CBAD") for f in fills)


def test_english_build_has_english_labels(tmp_path):
    wb = openpyxl.load_workbook(build_workbook(tmp_path / "en.xlsm", "en", "abc"), keep_vba=True)
    assert wb.sheetnames[:2] == ["Customers", "Contacts"]
    rules = wb["Rules"]
    assert [rules.cell(r, 1).value for r in range(2, 7)] == ["A", "B", "C", "D", "X"]
    with zipfile.ZipFile(tmp_path / "en.xlsm") as z:
        assert 'label="Follow-up"' in z.read("customUI/customUI14.xml").decode()


@pytest.mark.parametrize("preset", PRESETS)
def test_seed_rows_are_labels_the_readers_take_back_to_the_codes(tmp_path, preset):
    """The Rules and Sequences seed rows hold the workbook language's labels (单位 工作日, KP 必须, 拒绝后方式
    短信 …); read back they are the preset's codes, so both languages compute the same dates."""
    wb = openpyxl.load_workbook(build_workbook(tmp_path / "zh.xlsm", "zh-CN", preset), keep_vba=True)
    rules = wb["规则"]
    header = [c.value for c in rules[1]]
    column = lambda key: [rules.cell(r, header.index(field("rules", key).zh) + 1).value  # noqa: E731
                          for r in range(2, rules.max_row + 1) if rules.cell(r, 1).value is not None]
    assert {"工作日", "月"} & set(column("unit")) and not {"workdays", "months", "none"} & set(column("unit"))
    assert set(column("kp")) <= {None, "必须", "无"} and set(column("refusal_channel")) <= {None, "短信", "邮件"}
    steps = wb["跟进流程"]
    units = {steps.cell(r, 6).value for r in range(2, steps.max_row + 1)}
    assert steps.cell(1, 6).value == field("sequences", "unit").zh and units == {"天", "工作日", "月", "节假日"}
    read = {lang: load(WorkbookPackage.open(build_workbook(tmp_path / f"{lang}.xlsm", lang, preset)))
            for lang in ("zh-CN", "en")}
    codes = preset_rules(preset).tiers[["unit", "kp", "refusal_channel"]]
    for inputs in read.values():
        assert inputs.rules.problems == [] and inputs.playbooks.problems == []
        pd.testing.assert_frame_equal(inputs.rules.tiers[codes.columns], codes)
    assert ([[s.unit for s in steps] for steps in read["zh-CN"].playbooks.steps.values()]
            == [[s.unit for s in steps] for steps in read["en"].playbooks.steps.values()])


OTHER_LANGUAGE = {"zh-CN": re.compile(r"[A-Za-z]{3,}"), "en": re.compile(r"[\u3400-\u9fff\uff00-\uffef]")}


def _params_table(path: Path) -> tuple[openpyxl.Workbook, list[list]]:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = next(ws for ws in wb.worksheets if L.T_PARAMS in ws.tables)
    first_col, first_row, last_col, last_row = range_boundaries(ws.tables[L.T_PARAMS].ref)
    return wb, [[ws.cell(r, c).value for c in range(first_col, last_col + 1)] for r in range(first_row, last_row + 1)]


def _read_params(path: Path) -> dict[str, object]:
    rules = load(WorkbookPackage.open(path)).rules
    assert rules.problems == []
    return rules.params


@pytest.mark.parametrize("preset", PRESETS)
def test_every_rules_parameter_is_described_in_the_workbook_language(tmp_path, preset):
    """The Rules sheet's parameters (参数 / 值 / 说明), like the Settings keys, have a description in the
    workbook's language; it is not read: the parameters read back are the preset's."""
    expected = {k: v for k, v in preset_params(preset).items() if k != "co_owner_stages"}  # the stage table's
    for lang in ("zh-CN", "en"):
        path = build_workbook(tmp_path / f"{lang}.xlsm", lang, preset)
        _, rows = _params_table(path)
        assert rows[0] == texts(lang)["tables"]["params"] and len(rows[0]) == 3
        for key, _, description in rows[1:]:
            assert description and not OTHER_LANGUAGE[lang].search(description), (lang, key, description)
        assert [r[0] for r in rows[1:]] == list(expected)
        assert _read_params(path) == expected


def test_parameters_read_with_an_edited_description_and_without_the_column(tmp_path):
    """A person may rewrite a description; a workbook built before the column (key and value only) reads the
    same parameters."""
    path = build_workbook(tmp_path / "book.xlsm")
    expected = _read_params(path)
    wb, rows = _params_table(path)
    ws = next(ws for ws in wb.worksheets if L.T_PARAMS in ws.tables)
    table = ws.tables[L.T_PARAMS]
    first_col, first_row, last_col, last_row = range_boundaries(table.ref)
    ws.cell(first_row + 1, last_col).value = "我们组：打 5 次没人接再说"
    wb.save(tmp_path / "edited.xlsm")
    assert _read_params(tmp_path / "edited.xlsm") == expected
    for row in range(first_row, last_row + 1):  # the old builder's table: key and value
        ws.cell(row, last_col).value = None
    table.ref = f"{table.ref.split(':')[0]}:{openpyxl.utils.get_column_letter(last_col - 1)}{last_row}"
    table.tableColumns = table.tableColumns[:-1]
    table.autoFilter = None
    wb.save(tmp_path / "older.xlsm")
    assert len(_params_table(tmp_path / "older.xlsm")[1][0]) == 2
    assert _read_params(tmp_path / "older.xlsm") == expected


def _ppm_has_colour(ppm: bytes, rgb: tuple[int, int, int]) -> bool:
    parts = ppm.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][-width * height * 3:]
    return bytes(rgb) in {pixels[i:i + 3] for i in range(0, len(pixels), 3)}


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice/poppler not installed")
def test_libreoffice_renders_overdue_rows(demo_book, tmp_path):
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(demo_book)],
                   check=True, capture_output=True, timeout=240)
    pdf = tmp_path / "demo.pdf"
    assert pdf.exists()
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    page = next(tmp_path.glob("p*.ppm")).read_bytes()
    assert _ppm_has_colour(page, (0xF8, 0xCB, 0xAD)), "overdue fill missing on the first page"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_tool_table_header_is_shown_whole(tmp_path, lang):
    """A header wraps in its column (bold, with a filter button): its row is tall enough for the lines it
    needs, so no label is cut off (the stage table's 阶段最短间隔 in a column 8 wide was)."""
    import unicodedata

    book = openpyxl.load_workbook(build_workbook(tmp_path / "b.xlsm", lang, "pipeline"))
    for ws in book.worksheets:
        for table in ws.tables.values():
            min_col, min_row, max_col, _ = range_boundaries(table.ref)
            lines = (ws.row_dimensions[min_row].height or 15) / 15
            for col in range(min_col, max_col + 1):
                label = str(ws.cell(min_row, col).value)
                width = ws.column_dimensions[ws.cell(min_row, col).column_letter].width
                text = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
                assert text <= width * lines, (ws.title, table.name, label, width, lines)
