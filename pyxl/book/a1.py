"""A1 addresses: column letters <-> numbers, cell ranges, and ``Sheet!B5`` with the sheet quoted as Excel
quotes it."""
from __future__ import annotations

import re

_LETTERS: dict[int, str] = {}
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_PLAIN_SHEET = re.compile(r"[^\W\d][\w.]*")  # letters, digits, "_" and ".", not starting with a digit or "."
_A1_CELL = re.compile(r"([A-Z]{1,3})(\d+)")
_RC_START = re.compile(r"R(\d+)|R?C(\d+)")
MAX_ROW, MAX_COL = 1_048_576, 16_384


def col_letter(col: int) -> str:
    """1 -> "A", 27 -> "AA"."""
    if col not in _LETTERS:
        n, s = col, ""
        while n:
            n, rem = divmod(n - 1, 26)
            s = chr(65 + rem) + s
        _LETTERS[col] = s
    return _LETTERS[col]


def col_index(letters: str) -> int:
    """"A" -> 1, "AA" -> 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def parse_ref(ref: str) -> tuple[int, int, int, int]:
    """"B2:D9" -> (row1, col1, row2, col2); a single cell gives a 1x1 range."""
    cells = [_REF.fullmatch(p) for p in ref.split(":")]
    if not cells or len(cells) > 2 or not all(cells):
        raise ValueError(f"bad cell range {ref!r}")
    (c1, r1), (c2, r2) = cells[0].groups(), cells[-1].groups()
    return int(r1), col_index(c1), int(r2), col_index(c2)


def range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    """(2, 2, 9, 4) -> "B2:D9"."""
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


def quote_sheet(name: str) -> str:
    """The sheet name as a formula reference spells it: quoted ('' for ') unless it is a plain word that
    cannot be read as a cell reference ("Customers", "客户台账" stay bare; "My sheet", "2026", "A1" do not)."""
    if _PLAIN_SHEET.fullmatch(name) and not _reads_as_ref(name.upper()):
        return name
    return "'" + name.replace("'", "''") + "'"


def _reads_as_ref(upper: str) -> bool:
    """Whether Excel would read the (upper-cased) name as an A1 cell or the start of an R1C1 reference."""
    cell = _A1_CELL.fullmatch(upper)
    if cell:
        return col_index(cell[1]) <= MAX_COL and 0 < int(cell[2]) <= MAX_ROW
    rc = _RC_START.match(upper)
    if rc:
        return 0 < int(rc[1]) <= MAX_ROW if rc[1] else 0 < int(rc[2]) <= MAX_COL
    return upper in ("R", "C", "RC")


def unquote_sheet(ref_sheet: str) -> str:
    """The sheet name of a reference's sheet part, quoted or not."""
    return ref_sheet[1:-1].replace("''", "'") if ref_sheet.startswith("'") else ref_sheet


def cell_address(sheet: str, col: int, row: int) -> str:
    """"Sheet!B5" (row and column 1-based)."""
    return f"{quote_sheet(sheet)}!{col_letter(col)}{row}"


def rows_address(sheet: str, first: int, last: int) -> str:
    """"Sheet!5:9": whole rows."""
    return f"{quote_sheet(sheet)}!{first}:{last}"
