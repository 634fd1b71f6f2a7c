"""The row patcher on sheets laid out as other programs lay them out: written cells found among the cells
kept, whatever their attribute order, missing ones created in column order, formulas given up."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import xlsxwriter

from pyxl.book import rows
from pyxl.book.xlsx import WorkbookPackage

SHEET = "xl/worksheets/sheet1.xml"
COLUMNS = ["ID", "Written", "Kept", "Due", "Note"]


def build(path: Path) -> Path:
    """A table whose written columns (Written, Due) have a person's column (Kept) between them."""
    wb = xlsxwriter.Workbook(str(path))
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    text = wb.add_format({"font_color": "#336699"})
    ws = wb.add_worksheet("Customers")
    ws.add_table(0, 0, 4, len(COLUMNS) - 1, {
        "name": "tblCustomers",
        "data": [[1, "old", "keep me", dt.date(2025, 1, 1), "n1"],
                 [2, "old", "keep me too", dt.date(2025, 1, 2), "n2"],
                 [3, "old", "mine", None, "n3"],  # Due has no format: no D4 cell at all
                 [4, "old", "=1+1", dt.date(2025, 1, 4), "n4"]],
        "columns": [{"header": "ID"}, {"header": "Written", "format": text}, {"header": "Kept"},
                    {"header": "Due", "format": date}, {"header": "Note"}]})
    styles = wb.add_worksheet("_styles")  # the tool's style swatch: a date written where none shows takes "date"
    styles.write(0, 0, "date", date)
    wb.close()
    return path


def edit_sheet(path: Path, edit) -> None:
    """Rewrite the sheet part as another program would have written it."""
    with zipfile.ZipFile(path) as z:
        parts = {i: z.read(i) for i in z.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts.items():
            z.writestr(info, edit(data.decode()).encode() if info.filename == SHEET else data)


def row_xml(path: Path, r: int) -> str:
    with zipfile.ZipFile(path) as z:
        return re.search(rf'<row r="{r}"[^>]*>.*?</row>', z.read(SHEET).decode()).group()


def serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


def test_written_cells_found_among_kept_ones_in_any_layout(tmp_path: Path) -> None:
    book = build(tmp_path / "book.xlsx")
    edit_sheet(book, lambda xml: re.sub(r'<c r="D4"[^>]*/>', "", re.sub(  # Due missing in row 4
        r'<c r="B3" s="(\d+)" t="s">', r'<c r="B3" t="s" s="\1">', re.sub(  # style after the type in B3
            r'(<c r="D5" s="\d+">)', r"\1<f>TODAY()</f>", xml))))  # a formula in D5
    before = {r: row_xml(book, r) for r in range(1, 6)}
    style = {ref: re.search(rf'<c r="{ref}"[^>]*\ss="(\d+)"', before[int(ref[1])]).group(1)
             for ref in ("B2", "B3", "D2", "D3")}
    kept = {r: re.search(rf'<c r="C{r}".*?</c>', before[r]).group() for r in range(2, 6)}
    pkg = WorkbookPackage.open(book)
    pkg.set_column_values("tblCustomers", "Written", {2: "new", 3: None, 4: 7, 5: dt.date(2026, 3, 6)})
    pkg.set_column_values("tblCustomers", "Due", {2: dt.date(2026, 3, 1), 3: None, 4: dt.date(2026, 3, 4),
                                                  5: dt.date(2026, 3, 5)})
    pkg.save(backup=False)

    after = {r: row_xml(book, r) for r in range(1, 6)}
    assert after[1] == before[1] and "spans=" in after[1]  # a row not written is kept as it was
    assert after[2] == (f'<row r="2">{re.search(r"<c r=.A2.*?</c>", before[2]).group()}'
                        f'<c r="B2" s="{style["B2"]}" t="inlineStr"><is><t>new</t></is></c>{kept[2]}'
                        f'<c r="D2" s="{style["D2"]}"><v>{serial(dt.date(2026, 3, 1))}</v></c>'
                        f'{re.search(r"<c r=.E2.*?</c>", before[2]).group()}</row>')
    assert f'<c r="B3" s="{style["B3"]}"/>{kept[3]}<c r="D3" s="{style["D3"]}"/>' in after[3]  # emptied, styled
    assert re.findall(r'<c r="([A-Z]+)4"', after[4]) == ["A", "B", "C", "D", "E"] and kept[4] in after[4]
    assert "<f>" in kept[5] and kept[5] in after[5]  # a formula between written cells is kept...
    assert "TODAY()" not in after[5]  # ...one in a written cell is given up for the value
    ws = openpyxl.load_workbook(book)["Customers"]
    assert [ws[f"{c}2"].value for c in "ABCDE"] == [1, "new", "keep me", dt.datetime(2026, 3, 1), "n1"]
    assert [ws["B3"].value, ws["D3"].value, ws["B4"].value] == [None, None, 7]
    for ref, day in (("D4", dt.date(2026, 3, 4)), ("D5", dt.date(2026, 3, 5)), ("B5", dt.date(2026, 3, 6))):
        assert (ws[ref].value, ws[ref].number_format) == (dt.datetime.combine(day, dt.time()), "yyyy-mm-dd"), ref


def test_cells_encoded_a_block_of_rows_at_a_time_give_the_same_sheet(tmp_path: Path, monkeypatch) -> None:
    """Rows written and appended are encoded NEW_ROWS_AT_ONCE rows at a time; blocks of 2 rows change nothing."""
    def patched(path: Path) -> bytes:
        pkg = WorkbookPackage.open(build(path))
        pkg.set_column_values("tblCustomers", "Written", {r: f"w{r}" for r in range(2, 6)})
        pkg.set_column_values("tblCustomers", "Due", {r: dt.date(2026, 4, r) for r in range(2, 6)})
        pkg.append_table_rows("tblCustomers", [{"ID": i, "Due": dt.date(2026, 5, i), "Note": f"n{i}"}
                                               for i in range(5, 10)])
        pkg.save(backup=False)
        with zipfile.ZipFile(path) as z:
            return z.read(SHEET)

    whole = patched(tmp_path / "whole.xlsx")
    monkeypatch.setattr(rows, "NEW_ROWS_AT_ONCE", 2)
    assert patched(tmp_path / "blocks.xlsx") == whole
    ws = openpyxl.load_workbook(tmp_path / "blocks.xlsx")["Customers"]
    assert [ws[f"B{r}"].value for r in range(2, 6)] == ["w2", "w3", "w4", "w5"]
    assert [(ws[f"A{r}"].value, ws[f"D{r}"].value, ws[f"E{r}"].value) for r in (6, 10)] == [
        (5, dt.datetime(2026, 5, 5), "n5"), (9, dt.datetime(2026, 5, 9), "n9")]


def test_rows_already_holding_the_values_written_are_kept_byte_for_byte(tmp_path: Path) -> None:
    """Saving the values a sheet already holds leaves it as it was, except a date in a cell whose style shows a
    number (a person typed the serial), which still gets the date style; a row with another value is rewritten."""
    book = build(tmp_path / "book.xlsx")
    due = {r: dt.date(2026, 4, r) for r in range(2, 6)}
    edit_sheet(book, lambda xml: re.sub(r'<c r="D(\d)"[^>]*?(?:/>|>.*?</c>)', lambda m: (
        f'<c r="D{m[1]}" s="0"><v>{serial(due[int(m[1])])}</v></c>' if int(m[1]) in due else m[0]),
        re.sub(r' spans="[^"]*"', "", xml)))  # as Excel writes rows when it leaves spans out

    def write() -> bytes:
        pkg = WorkbookPackage.open(book)
        pkg.set_column_values("tblCustomers", "Due", due)
        pkg.save(backup=False)
        with zipfile.ZipFile(book) as z:
            return z.read(SHEET)

    first = write()
    styles = {r: re.search(rf'<c r="D{r}" s="(\d+)"><v>{serial(day)}</v></c>', row_xml(book, r)).group(1)
              for r, day in due.items()}
    assert len(set(styles.values())) == 1 and styles[2] != "0"  # every row: the date style, none kept "0"
    assert write() == first
    due[4] = dt.date(2026, 5, 4)
    assert write() == first.replace(f"<v>{serial(dt.date(2026, 4, 4))}</v>".encode(),
                                    f"<v>{serial(due[4])}</v>".encode())


def test_rows_saved_again_with_spans_lose_them_and_keep_their_cells(tmp_path: Path) -> None:
    """Excel writes spans on every row: rows whose written cells already hold the values lose only the spans."""
    book = build(tmp_path / "book.xlsx")

    def write() -> bytes:
        pkg = WorkbookPackage.open(book)
        pkg.set_column_values("tblCustomers", "Written", {r: f"w{r}" for r in range(2, 6)})
        pkg.save(backup=False)
        with zipfile.ZipFile(book) as z:
            return z.read(SHEET)

    first = write()
    assert b"spans=" not in first.split(b'<row r="2"')[1]
    edit_sheet(book, lambda xml: re.sub(r'<row r="(\d+)">', r'<row r="\1" spans="1:5">', xml))
    assert write() == first
