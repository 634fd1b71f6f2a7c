"""A1 addresses: column letters, ranges, and sheet names quoted as Excel (and XlsxWriter) quote them."""
from __future__ import annotations

import pytest
from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from pyxl.book.a1 import (cell_address, col_index, col_letter, parse_ref, quote_sheet, range_ref, rows_address,
                          unquote_sheet)

SHEET_NAMES = ["Customers", "客户台账", "周计划", "_styles", "xlwings.conf", "Plan_2026", "Rules", "XFE1", "A0",
               "My Customers", "客户 台账", "O'Brien", "2026", ".hidden", "A1", "xfd1048576", "R1", "R2C3x", "C12",
               "RC", "R", "c", "Q&A", "a-b"]


def test_column_letters_round_trip_over_every_excel_column() -> None:
    for col in range(1, 16_385):
        assert col_letter(col) == xl_col_to_name(col - 1)
        assert col_index(col_letter(col)) == col
    assert col_index("xfd") == 16_384


def test_ranges_parse_and_format() -> None:
    assert parse_ref("$B$2:$D$9") == (2, 2, 9, 4)
    assert parse_ref("AA10") == (10, 27, 10, 27)
    assert range_ref(*parse_ref("b2:d9")) == "B2:D9"
    with pytest.raises(ValueError, match="bad cell range"):
        parse_ref("B2:D9:E1")


@pytest.mark.parametrize("name", SHEET_NAMES)
def test_sheet_names_are_quoted_where_excel_needs_it(name: str) -> None:
    assert quote_sheet(name) == quote_sheetname(name)
    assert unquote_sheet(quote_sheet(name)) == name


def test_cell_and_row_addresses() -> None:
    assert cell_address("客户台账", 3, 12) == "客户台账!C12"
    assert cell_address("客户 台账", 28, 5) == "'客户 台账'!AB5"
    assert cell_address("O'Brien", 1, 2) == "'O''Brien'!A2"
    assert rows_address("Contacts log", 2, 40) == "'Contacts log'!2:40"
