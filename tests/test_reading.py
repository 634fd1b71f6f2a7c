"""What reading a workbook costs: each sheet parsed once per action, error and formula cells found by a scan."""
from __future__ import annotations

from pathlib import Path
from unittest import mock

from pyxl import actions
from pyxl.book import xlsx
from pyxl.book.sheetxml import marked_cells
from pyxl.book.xlsx import WorkbookPackage


def test_load_parses_each_sheet_of_the_tool_tables_once(demo_book: Path) -> None:
    """The Rules sheet holds three tables and the Settings sheet five: each such sheet is parsed by calamine
    and scanned for error and formula cells once, not once per table."""
    book = WorkbookPackage.open(demo_book)
    with mock.patch.object(WorkbookPackage, "_grid", autospec=True, side_effect=WorkbookPackage._grid) as grid, \
            mock.patch.object(xlsx, "marked_cells", side_effect=marked_cells) as marked:
        inputs = actions.load(book)
    parsed = [call.args[1] for call in grid.call_args_list]
    sheets = {info.sheet for name, info in book.tables().items() if name in actions.READ_TABLES}
    assert sorted(parsed) == sorted(sheets) and marked.call_count == len(sheets)
    assert len(inputs.ledger) == 80 and not inputs.rules.tiers.empty and inputs.settings.owners is not None


def test_marked_cells_finds_error_values_after_any_space_only() -> None:
    xml = (b'<worksheet><sheetData><row r="2"><c r="A2" t="e"><v>#N/A</v></c><c r="B2"\tt="e"><f>1/0</f>'
           b'<v>#DIV/0!</v></c><c r="C2" xt="e"><v>1</v></c><c r="D2"><f/><v>2</v></c><c r="E2"><is><r><rPr>'
           b'<family val="2"/></rPr><t>x</t></r></is></c></row></sheetData></worksheet>')
    errors, formulas = marked_cells(xml)
    assert errors == {(2, 1): "#N/A", (2, 2): "#DIV/0!"} and formulas == {(2, 2), (2, 4)}


def test_marked_cells_whatever_the_order_of_a_cells_attributes() -> None:
    """A writer may put t= before r= (XML attribute order carries no meaning): the error is that cell's."""
    xml = (b'<worksheet><sheetData><row r="3"><c r="A3"><v>1</v></c><c t="e" r="B3"><v>#REF!</v></c>'
           b'<c s="1" t="e" r="C3"><v>#N/A</v></c></row></sheetData></worksheet>')
    assert marked_cells(xml) == ({(3, 2): "#REF!", (3, 3): "#N/A"}, set())
