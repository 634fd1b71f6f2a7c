"""Headless package reader/patcher on real workbooks built with XlsxWriter."""

from __future__ import annotations

import datetime as dt
import errno
import math
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter

from pyxl.book import layout as L
from pyxl.book.errors import ChangedOnDiskError, WriteFailedError
from pyxl.book import xlsx, zipio
from pyxl.book.cells import encode_value
from pyxl.book.xlsx import (NotAWorkbookError, UnsafePackageError, WorkbookError, WorkbookOpenInExcelError,
                            WorkbookPackage)

CUSTOMERS = "xl/worksheets/sheet1.xml"
DASHBOARD = "xl/worksheets/sheet3.xml"
TABLE = "xl/tables/table1.xml"
COLUMNS = ["ID", "Name", "Since", "Score", "Active", "Next", "Note"]
ROWS = [
    [1, "Alice", dt.date(2023, 5, 1), 4.5, True, None, "vip"],
    [2, "Bob", dt.date(2024, 2, 29), 3.0, False, None, None],
    [3, "张三", dt.date(2022, 12, 31), None, True, None, "@home"],
]


def build(path: Path, *, placeholder_row: bool = False) -> Path:
    """Workbook like the product's: table, generated sheet with chart, very hidden style swatch."""
    wb = xlsxwriter.Workbook(str(path))
    vba = path.with_name("vbaProject.bin")
    vba.write_bytes(b"not a real VBA project, only a binary part to carry along")
    wb.add_vba_project(str(vba))
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True})

    ws = wb.add_worksheet("Customers")
    ws.set_vba_name("shCustomers")
    ws.set_column("F:F", 12, date)  # column default style for "Next"
    data = [] if placeholder_row else ROWS
    last = 1 if placeholder_row else len(ROWS)
    ws.add_table(0, 0, last, len(COLUMNS) - 1, {
        "name": "tblCustomers", "data": data,
        "columns": [{"header": h, "format": date if h in ("Since", "Next") else None} for h in COLUMNS]})
    ws.conditional_format(f"D2:D{last + 1}", {"type": "cell", "criteria": ">", "value": 4, "format": bold})
    ws.data_validation(f"E2:E{last + 1}", {"validate": "list", "source": ["TRUE", "FALSE"]})
    ws.write_comment("B2", "first customer")
    ws.write_formula("J1", "=SUM(D2:D4)", None, 7.5)

    notes = wb.add_worksheet("Notes")
    notes.write("A1", "keep me")
    notes.write("B2", 42)

    dash = wb.add_worksheet("Dashboard")
    dash.set_vba_name("shDashboard")
    dash.write_row("A1", ["Tier", "Count"])
    dash.write_column("A2", ["A", "B", "C"])
    dash.write_column("B2", [1, 2, 3])
    dash.merge_range("D1:E1", "old title")
    dash.conditional_format("B2:B4", {"type": "data_bar"})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"categories": "=Dashboard!$A$2:$A$4", "values": "=Dashboard!$B$2:$B$4"})
    dash.insert_chart("G2", chart)

    styles = wb.add_worksheet("_styles")
    styles.set_vba_name("shStyles")
    for r, (role, fmt) in enumerate([("title", bold), ("header", bold), ("text", None), ("date", date)]):
        styles.write(r, 0, role, fmt)
    styles.very_hidden()
    wb.close()
    return path


def entries(path: Path) -> dict[str, tuple[int, int, bytes]]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: (i.compress_type, i.CRC, z.read(i)) for i in z.infolist()}


def patch(pkg: WorkbookPackage) -> list[int]:
    pkg.set_column_values("tblCustomers", "Score", {3: 2.25, 4: float("nan")})
    pkg.set_column_values("tblCustomers", "Next", {2: dt.date(2025, 1, 6), 3: dt.datetime(2025, 1, 7, 12, 0)})
    pkg.set_column_values("tblCustomers", "Note", {2: "=HYPERLINK(\"x\") & <b> _x0041_\x01", 3: None})
    new_rows = pkg.append_table_rows("tblCustomers", [
        {"ID": 4, "Name": "Dora", "Since": dt.date(2025, 1, 2), "Active": False},
        {"ID": 5, "Name": "  Eve\nline2", "Score": 1},
    ])
    pkg.replace_sheet_content("shDashboard", [
        [("Today", "title")],
        [("Tier", "header"), ("Count", "header")],
        ["A", 10],
        ["B", 20],
        [("C", "text"), 30, ("", "date"), (dt.date(2025, 3, 1), "date")],
    ], merges=["A1:B1"], col_widths={"A": 18, 2: 9.5})
    return new_rows


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return build(tmp_path / "followup.xlsm")


def test_structure(book: Path) -> None:
    pkg = WorkbookPackage.open(book)
    assert [(s.name, s.code_name, s.state) for s in pkg.sheets()] == [
        ("Customers", "shCustomers", "visible"), ("Notes", "Sheet2", "visible"),
        ("Dashboard", "shDashboard", "visible"), ("_styles", "shStyles", "veryHidden")]
    assert pkg.sheet_by_codename("shDashboard").part == DASHBOARD
    table = pkg.tables()["tblCustomers"]
    assert (table.sheet, table.ref, table.header_row, table.first_col) == ("Customers", "A1:G4", 1, 1)
    assert list(table.columns) == COLUMNS and list(table.data_rows) == [2, 3, 4]
    roles = pkg.style_roles()
    assert set(roles) == {"title", "header", "text", "date"} and roles["date"] != roles["text"]
    with pytest.raises(WorkbookError, match="shNope"):
        pkg.sheet_by_codename("shNope")


def test_read_table(book: Path) -> None:
    df = WorkbookPackage.open(book).read_table("tblCustomers")
    assert list(df.columns) == COLUMNS and list(df.index) == [2, 3, 4]
    assert df.loc[2].tolist() == [1, "Alice", dt.date(2023, 5, 1), 4.5, True, None, "vip"]
    assert df.loc[4, "Name"] == "张三" and df.loc[4, "Score"] is None and df.loc[4, "Note"] == "@home"
    assert type(df.loc[3, "Since"]) is dt.date and df.loc[3, "Active"] is False
    assert all(df[c].to_numpy().flags.c_contiguous for c in COLUMNS)  # the engine's passes read columns
    values = WorkbookPackage.open(book).read_sheet_values("Notes")
    assert values == [["keep me", None], [None, 42]]


def test_patch_and_save(book: Path, tmp_path: Path) -> None:
    original = book.read_bytes()
    before = entries(book)
    pkg = WorkbookPackage.open(book)
    assert patch(pkg) == [5, 6]
    pkg.save()

    assert Path(f"{book}.bak").read_bytes() == original
    after = entries(book)
    assert list(after) == list(before)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {CUSTOMERS, DASHBOARD, TABLE}
    assert after["xl/charts/chart1.xml"] == before["xl/charts/chart1.xml"]
    assert "xl/vbaProject.bin" in after

    # re-read through our own reader, after save
    df = pkg.read_table("tblCustomers")
    assert list(df.index) == [2, 3, 4, 5, 6]
    assert df.loc[3, "Score"] == 2.25 and df.loc[4, "Score"] is None
    assert df.loc[2, "Note"] == "=HYPERLINK(\"x\") & <b> _x0041_" and df.loc[3, "Note"] is None
    assert df.loc[5].tolist() == [4, "Dora", dt.date(2025, 1, 2), None, False, None, None]
    assert df.loc[6, "Name"] == "  Eve\nline2" and df.loc[6, "Score"] == 1
    assert pkg.tables()["tblCustomers"].ref == "A1:G6"

    wb = openpyxl.load_workbook(book)
    ws = wb["Customers"]
    assert ws.tables["tblCustomers"].ref == "A1:G6"
    assert ws.tables["tblCustomers"].autoFilter.ref == "A1:G6"
    assert ws["F2"].value == dt.datetime(2025, 1, 6) and ws["F2"].number_format == "yyyy-mm-dd"
    assert ws["F3"].value == dt.datetime(2025, 1, 7, 12, 0)
    assert ws["C5"].value == dt.datetime(2025, 1, 2) and ws["C5"].number_format == "yyyy-mm-dd"  # style from above
    assert ws["D4"].value is None and ws["B4"].value == "张三"
    assert ws["J1"].value == "=SUM(D2:D4)" and ws["B2"].comment.text.startswith("first customer")
    assert str(ws.data_validations.dataValidation[0].sqref) == "E2:E6"  # validation follows the table
    assert [str(r.sqref) for r in ws.conditional_formatting] == ["D2:D6"]
    assert wb["Notes"]["A1"].value == "keep me" and wb["Notes"]["B2"].value == 42
    dash = wb["Dashboard"]
    assert [[c.value for c in row] for row in dash.iter_rows(max_col=2)] == [
        ["Today", None], ["Tier", "Count"], ["A", 10], ["B", 20], ["C", 30]]
    assert dash["A1"].font.b and dash["D5"].number_format == "yyyy-mm-dd" and dash["C5"].value is None
    assert [str(m) for m in dash.merged_cells.ranges] == ["A1:B1"]
    assert dash.column_dimensions["A"].width == 18 and len(dash._charts) == 1
    assert wb["_styles"].sheet_state == "veryHidden"

    cal = python_calamine.CalamineWorkbook.from_path(str(book))
    rows = cal.get_sheet_by_name("Customers").to_python()
    assert rows[5][:3] == [5.0, "  Eve\nline2", ""] and rows[1][6].startswith("=HYPERLINK")
    assert cal.get_sheet_by_name("Dashboard").to_python()[4][:2] == ["C", 30.0]


def test_idempotent(book: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.xlsm"
    shutil.copy2(book, copy)
    for path in (book, copy):
        pkg = WorkbookPackage.open(path)
        patch(pkg)
        pkg.save(backup=False)
    assert book.read_bytes() == copy.read_bytes()
    once = book.read_bytes()
    pkg = WorkbookPackage.open(book)  # writing the same values again changes nothing
    pkg.set_column_values("tblCustomers", "Score", {3: 2.25, 4: None, 5: None, 6: 1})
    pkg.set_column_values("tblCustomers", "Name", {5: "Dora"})
    pkg.save(backup=False)
    assert book.read_bytes() == once


def test_save_elsewhere_and_backup_folder(book: Path, tmp_path: Path) -> None:
    pkg = WorkbookPackage.open(book)
    pkg.set_column_values("tblCustomers", "Score", {2: 9})
    out = tmp_path / "out" / "result.xlsm"
    out.parent.mkdir()
    pkg.save(out)
    assert not Path(f"{out}.bak").exists() and WorkbookPackage.open(out).read_table("tblCustomers").loc[2, "Score"] == 9
    pkg = WorkbookPackage.open(book)
    pkg.save(backup=tmp_path / "backups")
    assert [p.name.startswith("followup.xlsm.") for p in (tmp_path / "backups").iterdir()] == [True]


def test_placeholder_row_is_filled_first(tmp_path: Path) -> None:
    pkg = WorkbookPackage.open(build(tmp_path / "empty.xlsm", placeholder_row=True))
    assert pkg.read_table("tblCustomers").isna().all().all()
    assert pkg.append_table_rows("tblCustomers", [{"Name": "A"}, {"Name": "B"}]) == [2, 3]
    assert pkg.append_table_rows("tblCustomers", [{"Name": "C"}]) == [4]
    pkg.save()
    assert pkg.read_table("tblCustomers")["Name"].tolist() == ["A", "B", "C"]
    ws = openpyxl.load_workbook(pkg.path)["Customers"]
    assert ws.tables["tblCustomers"].ref == "A1:G4" and str(ws.data_validations.dataValidation[0].sqref) == "E2:E4"


def test_append_into_several_empty_rows(tmp_path: Path) -> None:
    pkg = WorkbookPackage.open(build(tmp_path / "empty.xlsm", placeholder_row=True))
    pkg.append_table_rows("tblCustomers", [{"Name": "A"}, {"Name": "B"}, {"Name": "C"}])
    pkg.save()
    pkg.set_column_values("tblCustomers", "Name", {3: None, 4: None})  # two empty rows left in the table
    pkg.save()
    assert pkg.append_table_rows("tblCustomers", [{"Name": "X"}]) == [3]
    assert pkg.append_table_rows("tblCustomers", [{"Name": "Y"}]) == [4]
    assert pkg.append_table_rows("tblCustomers", [{"Name": "Z"}]) == [5]
    pkg.save()
    assert pkg.read_table("tblCustomers")["Name"].tolist() == ["A", "X", "Y", "Z"]


def test_refuses_when_open_in_excel(book: Path) -> None:
    pkg = WorkbookPackage.open(book)
    owner = book.with_name("~$" + book.name)
    owner.write_bytes(b"owner")
    with pytest.raises(WorkbookOpenInExcelError, match=r"Excel.*~\$followup.xlsm"):
        WorkbookPackage.open(book)
    with pytest.raises(WorkbookOpenInExcelError):
        pkg.save()


def test_refuses_when_changed_on_disk_and_keeps_both(book: Path) -> None:
    pkg = WorkbookPackage.open(book)
    pkg.set_column_values("tblCustomers", "Score", {2: 9})
    theirs = book.read_bytes() + b"\0"
    book.write_bytes(theirs)
    with pytest.raises(ChangedOnDiskError, match="saved by another program") as refused:
        pkg.save()
    assert book.read_bytes() == theirs
    assert WorkbookPackage.open(refused.value.result).read_table("tblCustomers").loc[2, "Score"] == 9


def test_not_a_workbook(tmp_path: Path) -> None:
    text = tmp_path / "notes.xlsx"
    text.write_text("hello")
    with pytest.raises(NotAWorkbookError, match="not an xlsx/xlsm package"):
        WorkbookPackage.open(text)
    plain = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(NotAWorkbookError, match="not an Office package"):
        WorkbookPackage.open(plain)


def test_zip_bomb_guard(book: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsm"
    shutil.copy2(book, bomb)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/zeros.bin", b"\0" * (4 << 20))
    with pytest.raises(UnsafePackageError, match="zip bomb"):
        WorkbookPackage.open(bomb)


def test_dtd_is_rejected(book: Path) -> None:
    parts = entries(book)
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (_, _, data) in parts.items():
            if name == "xl/workbook.xml":
                data = data.replace(b"<workbook ", b'<!DOCTYPE workbook [<!ENTITY a "aaaa">]><workbook ', 1)
            z.writestr(name, data)
    with pytest.raises(UnsafePackageError, match="DTD"):
        WorkbookPackage.open(book)


def test_part_size_limit(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipio, "MAX_PART_BYTES", 1000)
    with pytest.raises(UnsafePackageError, match="too large"):
        WorkbookPackage.open(book)


def test_crash_mid_write_keeps_original(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = book.read_bytes()

    def broken(fh, entries) -> None:
        fh.write(b"PK partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    pkg = WorkbookPackage.open(book)
    patch(pkg)
    monkeypatch.setattr(xlsx, "write_zip", broken)
    with pytest.raises(WriteFailedError, match="the disk is full"):
        pkg.save()
    assert book.read_bytes() == original
    assert sorted(p.name for p in book.parent.iterdir()) == ["followup.xlsm", "vbaProject.bin"]


def test_overwriting_a_formula_drops_calc_chain(book: Path) -> None:
    add_calc_chain(book)
    pkg = WorkbookPackage.open(book)
    pkg.replace_sheet_content("shDashboard", [["no formulas"]])
    pkg.save()
    after = entries(book)
    assert "xl/calcChain.xml" in after  # the dashboard had no formula
    pkg.set_column_values("tblCustomers", "Score", {2: 1.0})
    pkg.save()
    after = entries(book)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["[Content_Types].xml"][2] + after["xl/_rels/workbook.xml.rels"][2]
    assert openpyxl.load_workbook(book)["Customers"]["D2"].value == 1


def add_calc_chain(path: Path) -> None:
    """Give the workbook a formula in D2 and a calcChain listing it (as Excel would)."""
    parts = entries(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (_, _, data) in parts.items():
            if name == CUSTOMERS:
                data = data.replace(b'<c r="D2"><v>4.5</v></c>', b'<c r="D2"><f>1+3.5</f><v>4.5</v></c>')
            elif name == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxml'
                                    b'formats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                                    b"</Relationships>")
            z.writestr(name, data)
        z.writestr("xl/calcChain.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns='
                   b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="D2" i="1"/><c r="J1"/></calcChain>')


def test_shared_formula_master_is_protected(book: Path) -> None:
    parts = entries(book)
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (_, _, data) in parts.items():
            if name == CUSTOMERS:
                data = data.replace(b'<c r="D2"><v>4.5</v></c>', b'<c r="D2"><f t="shared" ref="D2:D3" si="0">A2</f>'
                                    b'<v>1</v></c>').replace(b'<c r="D3"><v>3</v></c>', b'<c r="D3"><f t="shared" si="0"/>'
                                                            b'<v>2</v></c>')
            z.writestr(name, data)
    pkg = WorkbookPackage.open(book)
    pkg.set_column_values("tblCustomers", "Score", {2: 5})
    with pytest.raises(WorkbookError, match="shared formula"):
        pkg.save()
    pkg.set_column_values("tblCustomers", "Score", {3: 6})  # overwriting the whole shared range is fine
    pkg.save()
    assert WorkbookPackage.open(book).read_table("tblCustomers")["Score"].tolist() == [5, 6, None]


def test_bad_input_is_reported_with_cell(book: Path) -> None:
    pkg = WorkbookPackage.open(book)
    with pytest.raises(TypeError, match=r"Customers!D2"):
        pkg.set_column_values("tblCustomers", "Score", {2: object()})
    pkg.set_column_values("tblCustomers", "Score", {2: "x" * 5000})  # long, but not too long escaped
    for unwritable in ("\r" * 5000, dt.date(1899, 12, 1)):  # 35,000 characters escaped; before the epoch
        with pytest.raises(WorkbookError, match=r"Customers!D3"):
            pkg.set_column_values("tblCustomers", "Score", {2: "x", 3: unwritable, 4: dt.date(2024, 1, 2)})
    with pytest.raises(ValueError, match="outside the data rows"):
        pkg.set_column_values("tblCustomers", "Score", {1: 5})
    with pytest.raises(WorkbookError, match="Nope"):
        pkg.append_table_rows("tblCustomers", [{"Nope": 1}])
    with pytest.raises(KeyError, match="unknown style role"):
        pkg.replace_sheet_content("shDashboard", [[("x", "nope")]])


@pytest.mark.parametrize(("value", "date1904", "expected"), [
    (dt.date(1900, 1, 1), False, ("", "<v>1</v>")),
    (dt.date(1900, 2, 28), False, ("", "<v>59</v>")),
    (dt.date(1900, 3, 1), False, ("", "<v>61</v>")),
    (dt.date(2024, 1, 2), False, ("", "<v>45293</v>")),
    (dt.date(2024, 1, 2), True, ("", "<v>43831</v>")),
    (dt.datetime(2024, 1, 2, 6, 0), False, ("", "<v>45293.25</v>")),
    (True, False, (' t="b"', "<v>1</v>")),
    (3, False, ("", "<v>3</v>")),
    (0.1, False, ("", "<v>0.1</v>")),
    (math.inf, False, None),
    ("", False, None),
    ("=1+1", False, (' t="inlineStr"', "<is><t>=1+1</t></is>")),
    ("a_x0041_", False, (' t="inlineStr"', "<is><t>a_x005F_x0041_</t></is>")),
    ("a\r\nb\x00", False, (' t="inlineStr"', '<is><t xml:space="preserve">a_x000D_\nb</t></is>')),
])
def test_encode_value(value, date1904, expected) -> None:
    assert encode_value(value, date1904) == expected


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_converts_patched_file(book: Path, tmp_path: Path) -> None:
    pkg = WorkbookPackage.open(book)
    patch(pkg)
    pkg.save()
    for fmt in ("csv", "pdf"):
        profile = f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}"  # own profile: no lock clash
        subprocess.run(["soffice", profile, "--headless", "--convert-to", fmt, "--outdir", str(tmp_path), str(book)],
                       check=True, timeout=180, capture_output=True)
        assert (tmp_path / f"followup.{fmt}").stat().st_size > 0


def test_new_cell_in_existing_row_keeps_column_order(book: Path) -> None:
    pkg = WorkbookPackage.open(book)
    pkg.set_column_values("tblCustomers", "Score", {4: 7})  # D4 does not exist in the sheet XML
    pkg.save()
    row4 = entries(book)[CUSTOMERS][2].split(b'<row r="4"')[1].split(b"</row>")[0]
    refs = [ref.decode() for ref in re.findall(rb'<c r="([A-Z]+)4"', row4)]
    assert refs == sorted(refs) and "D" in refs
    assert openpyxl.load_workbook(book)["Customers"]["D4"].value == 7


def test_an_empty_column_write_changes_nothing(empty_book):
    book = WorkbookPackage.open(empty_book)
    settings = book.read_table(L.T_SETTINGS)
    book.set_column_values(L.T_SETTINGS, settings.columns[1], {})
    book.save(backup=False)
    assert WorkbookPackage.open(empty_book).read_table(L.T_SETTINGS).equals(settings)
