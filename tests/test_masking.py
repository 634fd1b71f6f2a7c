"""The masked manager copy: no personal value of any customer anywhere in the package or in its PDF.

A demo workbook gets emails, WeChat IDs, a phone typed as a number, two customers sharing a phone (a Checks
message quotes it), a phone written with dashes in a log note, the phone and a name in a comment and the
document title, and Company marked personal in Settings; then refresh, plan, end of day and export. Every
part of the copy is read as text and searched for every value, phones also grouped as people write them.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pyxl import export
from pyxl.book import layout as L
from pyxl.book import xmltext
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.masking import Masker, mask_text, personal_headers, personal_values
from pyxl.core.schema import fields
from pyxl.demo import make_demo

from conftest import TODAY
from support.validate import check_package, check_pdf

runner = CliRunner()
LEDGER = {f.key: f.zh for f in fields("ledger")}
LOG = {f.key: f.zh for f in fields("contacts")}
NUMBER_PHONE = 13912345678


def _run(*args: object) -> None:
    result = runner.invoke(app, [*map(str, args)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output


def _with_personal_details(path: Path) -> pd.DataFrame:
    """Emails, WeChat IDs and the awkward cases written into the demo's ledger and log; the ledger back."""
    book = WorkbookPackage.open(path)
    ledger = book.read_table(L.T_CUSTOMERS)
    rows = list(ledger.index)
    book.set_column_values(L.T_CUSTOMERS, LEDGER["email"], {r: f"kehu{i:03d}@example.cn" for i, r in enumerate(rows)})
    book.set_column_values(L.T_CUSTOMERS, LEDGER["wechat"], {r: f"wx_kehu{i:03d}" for i, r in enumerate(rows)})
    book.set_column_values(L.T_CUSTOMERS, LEDGER["company"], {r: f"甲方{i:03d}实业" for i, r in enumerate(rows)})
    book.set_column_values(L.T_CUSTOMERS, LEDGER["phone"], {rows[1]: ledger.at[rows[0], LEDGER["phone"]],
                                                              rows[2]: NUMBER_PHONE})
    settings = book.read_table(L.T_SETTINGS)
    row = next(r for r, key in settings.iloc[:, 0].items() if key == "personal_columns")
    book.set_column_values(L.T_SETTINGS, settings.columns[1], {row: LEDGER["company"]})
    phone = str(ledger.at[rows[3], LEDGER["phone"]])
    book.append_table_rows(L.T_CONTACTS, [{
        LOG["when"]: pd.Timestamp(TODAY).to_pydatetime(), LOG["customer_id"]: ledger.at[rows[3], LEDGER["customer_id"]],
        LOG["channel"]: "电话", LOG["reached"]: "是", LOG["notes"]: f"客户说以后打 {phone[:3]}-{phone[3:7]}-{phone[7:]}"}])
    book.save(backup=False)
    _inject(path, phone, str(ledger.at[rows[3], LEDGER["name"]]))
    return WorkbookPackage.open(path).read_table(L.T_CUSTOMERS)


def _inject(path: Path, phone: str, name: str) -> None:
    """A phone and a name in the document title and in a comment, as a person might leave them."""
    with zipfile.ZipFile(path) as z:
        parts = {info: z.read(info.filename) for info in z.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts.items():
            if info.filename == "docProps/core.xml":
                data = data.replace(b"<dc:title>followup</dc:title>", f"<dc:title>{name} {phone}</dc:title>".encode())
            if info.filename == "xl/comments1.xml":
                data = data.replace("请勿手工填写。".encode(), f"请勿手工填写。{name} {phone}".encode(), 1)
            z.writestr(info, data)
    path.write_bytes(out.getvalue())


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("mask")
    book = tmp / "demo.xlsm"
    make_demo(book, customers=30, today=TODAY)
    ledger = _with_personal_details(book)
    for command in ("refresh", "plan", "endofday"):
        _run(command, book, "--today", TODAY)
    out = {}
    for name, flags in (("plain", []), ("masked", ["--mask"]), ("names", ["--mask-names"])):
        out[name] = tmp / f"{name}.xlsx"
        _run("export", book, *flags, "-o", out[name])
    return {"ledger": ledger, "dir": tmp, "book": book, **out}


def _digits(value: object) -> str:
    return str(int(value)) if isinstance(value, float) else str(value)


def _phone_forms(value: object) -> set[str]:
    digits = _digits(value)
    return {digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"}


def _secrets(ledger: pd.DataFrame) -> set[str]:
    found = {form for v in ledger[LEDGER["phone"]].dropna() for form in _phone_forms(v)}
    return found | {str(v) for key in ("email", "wechat", "company") for v in ledger[LEDGER[key]].dropna()}


def _names(ledger: pd.DataFrame) -> set[str]:
    return {str(v) for key in ("name", "contact") for v in ledger[LEDGER[key]].dropna()}


def _leaks(path: Path, values: set[str]) -> dict[str, list[str]]:
    """Every part of the package read as text: the values each holds."""
    with zipfile.ZipFile(path) as z:
        texts = {n: z.read(n).decode("utf-8", "replace") for n in z.namelist()}
    return {part: sorted(v for v in values if v in text) for part, text in texts.items()
            if any(v in text for v in values)}


def _pdf_text(path: Path, out: Path) -> str:
    assert check_pdf(path, out) == []
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text cannot be searched")
    return subprocess.run(["pdftotext", str(out / f"{path.stem}.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_plain_copy_holds_every_kind_of_personal_value(copies):
    leaks = _leaks(copies["plain"], _secrets(copies["ledger"]) | _names(copies["ledger"]))
    found = {v for values in leaks.values() for v in values}
    assert {str(NUMBER_PHONE), "kehu000@example.cn", "wx_kehu000", "甲方000实业"} <= found
    assert any("-" in v and v[:3].isdigit() for v in found)  # the dashed phone of the log note
    assert {"docProps/core.xml", "xl/comments1.xml"} <= set(leaks)
    assert any("“" in line and "电话" in line for line in _checks_messages(copies["plain"]))


def _checks_messages(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [t for n in z.namelist() if n.startswith("xl/") and n.endswith(".xml")
                for t in z.read(n).decode("utf-8").split("<t") if "与其他客户相同" in t]


def test_the_masked_copy_holds_no_phone_email_wechat_or_personal_column_anywhere(copies):
    secrets = _secrets(copies["ledger"])
    assert _leaks(copies["masked"], secrets) == {}
    assert check_package(copies["masked"]) == []
    names = _names(copies["ledger"])
    assert _leaks(copies["masked"], names)  # names stay without --mask-names
    duplicate = next(m for m in _checks_messages(copies["masked"]) if "“" in m)
    assert "****" in duplicate


def test_the_masked_copys_pdf_holds_none_and_the_plain_ones_does(copies):
    secrets = _secrets(copies["ledger"])
    masked = _pdf_text(copies["masked"], copies["dir"] / "pdf-masked")
    plain = _pdf_text(copies["plain"], copies["dir"] / "pdf-plain")
    assert any(v in plain for v in secrets)
    assert [v for v in secrets if v in masked] == []


def test_mask_names_also_masks_customer_and_contact_names(copies):
    assert _leaks(copies["names"], _secrets(copies["ledger"]) | _names(copies["ledger"])) == {}
    assert check_package(copies["names"]) == []


def test_masked_ledger_cells_keep_their_last_four_characters(copies):
    masked = WorkbookPackage.open(copies["masked"]).read_table(L.T_CUSTOMERS)
    for typed, shown in zip(copies["ledger"][LEDGER["phone"]], masked[LEDGER["phone"]]):
        assert shown == mask_text(typed) and shown.startswith("*******") and shown[-4:] == _digits(typed)[-4:]


def test_settings_mask_copy_masks_every_copy(copies, tmp_path):
    book = Path(shutil.copy(copies["book"], tmp_path / "book.xlsm"))
    package = WorkbookPackage.open(book)
    settings = package.read_table(L.T_SETTINGS)
    row = next(r for r, key in settings.iloc[:, 0].items() if key == "mask_copy")
    package.set_column_values(L.T_SETTINGS, settings.columns[1], {row: "是"})
    package.save(backup=False)
    _run("export", book, "-o", tmp_path / "copy.xlsx")
    assert _leaks(tmp_path / "copy.xlsx", _secrets(copies["ledger"])) == {}


# ---------------------------------------------------------------- the package pass on parts the demo lacks
def _package(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def test_mask_package_masks_every_text_and_keeps_markup():
    masker = Masker(personal_values([pd.Series(["A&B 装饰", "sheet1", "zhang@qq.com"])],
                                    [pd.Series(["13800000001"])]),
                    encode=xmltext.escape, decode=export._xml_unescape)
    parts = {
        "xl/worksheets/sheet1.xml": '<worksheet><sheetData><row r="1"><c r="A1"><v>13800000001</v></c>'
                                    '<c r="B1" t="s"><v>0</v></c><c r="C1"><v>46350</v></c></row></sheetData>'
                                    '<hyperlinks><hyperlink ref="D1" r:id="rId1" display="zhang@qq.com"/>'
                                    '</hyperlinks></worksheet>',
        "xl/worksheets/_rels/sheet1.xml.rels": '<Relationships><Relationship Id="rId1" Type="hyperlink" '
                                               'Target="mailto:zhang@qq.com" TargetMode="External"/>'
                                               '<Relationship Id="rId2" Target="../drawings/sheet1.xml"/>'
                                               '</Relationships>',
        "xl/sharedStrings.xml": "<sst><si><t>A&amp;B 装饰 138 0000 0001</t></si></sst>",
        "xl/charts/chart1.xml": "<c:chart><c:strCache><c:pt><c:v>+86 138-0000-0001</c:v></c:pt></c:strCache></c:chart>",
        "xl/workbook.xml": '<workbook><definedNames><definedName name="who">"zhang@qq.com"</definedName>'
                           "</definedNames></workbook>",
        "docProps/custom.xml": "<Properties><property><vt:lpwstr>A&amp;B 装饰</vt:lpwstr></property></Properties>",
        "xl/media/image1.png": "13800000001",
    }
    masked = zipfile.ZipFile(io.BytesIO(export.mask_package(_package(parts), masker)))
    text = {n: masked.read(n).decode() for n in masked.namelist()}
    assert '<c r="A1" t="inlineStr"><is><t>*******0001</t></is></c>' in text["xl/worksheets/sheet1.xml"]
    assert '<c r="C1"><v>46350</v></c>' in text["xl/worksheets/sheet1.xml"]
    assert 'display="********.com"' in text["xl/worksheets/sheet1.xml"]
    assert 'Target="mailto:********.com"' in text["xl/worksheets/_rels/sheet1.xml.rels"]
    assert "../drawings/sheet1.xml" in text["xl/worksheets/_rels/sheet1.xml.rels"]  # markup is no value
    assert text["xl/sharedStrings.xml"] == f"<sst><si><t>{mask_text('A&B 装饰')} *********0001</t></si></sst>"
    assert "13800000001" not in text["xl/charts/chart1.xml"] and "0001" in text["xl/charts/chart1.xml"]
    assert "zhang@qq.com" not in text["xl/workbook.xml"]
    assert "装饰" not in text["docProps/custom.xml"]
    assert text["xl/media/image1.png"] == "13800000001"  # binary parts are not text


def test_masking_finds_values_inside_longer_texts_longest_first():
    masker = Masker(personal_values([pd.Series(["王伟", "王伟建材", "Ann", "x"])], [pd.Series(["021-5555666/13800000001"])]))
    assert masker.mask("王伟建材的王伟说") == f"{mask_text('王伟建材')}的{mask_text('王伟')}说"
    assert masker.mask("Anna, Ann") == f"Anna, {mask_text('Ann')}"  # a Latin value is a whole word
    assert masker.mask("x") == "x"  # one character is no personal value
    assert masker.mask("电话“13800000001”与其他客户相同") == "电话“*******0001”与其他客户相同"
    assert masker.mask("2026-11-23 0086 138 0000 0001, (021) 5555-666") == (
        "2026-11-23 **************0001, (*********-666")
    assert masker.mask("138000000012") == "138000000012"  # a longer number is another number


def test_mask_text_keeps_the_last_four_of_long_values_and_the_first_of_short_ones():
    assert mask_text("13800000001") == "*******0001"
    assert mask_text("王伟") == "王**" and mask_text("王建国") == "王**"
    assert mask_text(None) == ""


def test_personal_headers_follow_the_schema_and_settings():
    headers = ["客户名称", "Phone", "邮箱", "微信号", "公司", "身份证号", "备注"]
    assert personal_headers("ledger", headers, []) == ["Phone", "邮箱", "微信号"]
    assert personal_headers("ledger", headers, ["Company", "身份证号"]) == ["Phone", "邮箱", "微信号", "公司", "身份证号"]
    assert personal_headers("ledger", headers, [], names=True) == ["客户名称", "Phone", "邮箱", "微信号"]
    assert personal_headers("contacts", ["备注", "业务员"], ["Notes"]) == ["备注"]
