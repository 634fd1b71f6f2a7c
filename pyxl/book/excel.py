"""``Book`` over a live workbook through xlwings (Windows/macOS with Excel).

Whole-range reads and writes only: a few calls read a table (values, formulas), a column is written in one
call per run of rows between the cells it never writes over, and replacing a generated sheet takes a clear,
one value write and a few calls per style role used, so the number of Excel round-trips per action does not
grow with the number of rows.

What is read is what the headless reader delivers:
- An Excel error value as an ``ErrorValue`` (xlwings reads errors as None by default; ``err_to_str=True``
  gives their text, main.py ``Range.options``, 0.28+ — a text cell holding "#N/A" reads the same way, so a
  second, default read of a table that has such text tells the two apart).
- The rows holding a formula, per column, in ``frame.attrs["formulas"]`` (one ``Range.formula`` read of the
  body: a cell whose formula text starts with "=" and is not its own value).

What lands in a cell is what the headless writer stores:
- Excel parses text handed to ``Range.value`` as typed input (xlwings issue #2247: ``'012'`` -> 12, ``'1/2'``
  -> a date, ``'=...'`` -> a formula), so every string is written behind an apostrophe, which Excel keeps as
  the cell's prefix and not in its value.
- Generated sheets get their style roles (number format, font, fill, wrap; borders and alignment are the
  build's) and column widths, after a ``Sheet.clear()`` that resets old contents *and* formats.
Sheets are found with ``locate.locate_sheet`` (defined names, tables, names), never ``sheet.api.CodeName``,
which an appscript reference on macOS does not have (xlwings issue #191).
"""
from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..build.styles import ROLES
from . import charts
from .base import Cell, split_cell
from .locate import TOOL_TABLES, defined_name, locate_sheet
from .a1 import cell_address, col_index, col_letter
from .tables import rows_under, share_columns
from ..core.inputs import RowBelow
from ..core.values import ErrorValue

ON_MAC = sys.platform == "darwin"
MAX_ADDRESS = 255  # Excel's Range("...") takes an address of at most 255 characters
# what xlwings' err_to_str gives for an error value (_xlwindows.py / _xlmac.py ``cell_errors``)
ERROR_TEXTS = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"))


@dataclass(frozen=True)
class LiveTable:
    name: str
    sheet: str
    first_col: int  # 1-based
    header_row: int
    columns: tuple[str, ...]


class ExcelBook:
    """``mac``: whether Excel runs on macOS (its object model has no charts' SERIES formulas through xlwings)."""

    def __init__(self, book: Any, mac: bool | None = None):
        self.book = book
        self.mac = ON_MAC if mac is None else mac
        self._tables: dict[str, tuple[Any, LiveTable]] | None = None
        self._values: dict[str, list[list[Any]]] = {}  # table -> body values as last read or written
        self._formulas: dict[str, set[tuple[int, int]]] = {}  # table -> (body row, column) holding a formula
        self._sheets: dict[str, Any] = {}  # codeName -> xlwings Sheet
        self._sheet_names: tuple[list[Any], list[str]] | None = None  # the workbook's sheets and their names

    # -- discovery -------------------------------------------------------------------------
    def tables(self) -> dict[str, LiveTable]:
        return {name: info for name, (_, info) in self._all_tables().items()}

    def _all_tables(self) -> dict[str, tuple[Any, LiveTable]]:
        if self._tables is None:
            self._tables = {}
            for sheet in self.book.sheets:
                for table in sheet.tables:
                    header = table.header_row_range
                    labels = header.options(ndim=1).value
                    self._tables[table.name] = (table, LiveTable(
                        table.name, sheet.name, header.column, header.row, tuple(labels)))
        return self._tables

    def sheet_by_codename(self, code: str) -> Any:
        """The xlwings sheet of a tool sheet (codeName as in ``layout``), found by ``locate.locate_sheet``."""
        if code not in self._sheets:
            sheets, names = self._listed_sheets()
            tables = {t: info.sheet for t, info in self.tables().items()} if code in TOOL_TABLES else {}
            found = locate_sheet(code, names, defined_names=self._defined_name(code), table_sheets=tables)
            self._sheets[code] = sheets[names.index(found)]
        return self._sheets[code]

    def _listed_sheets(self) -> tuple[list[Any], list[str]]:
        """The sheets and their names, read once: an action adds, renames or removes no sheet."""
        if self._sheet_names is None:
            sheets = list(self.book.sheets)
            self._sheet_names = sheets, [s.name for s in sheets]
        return self._sheet_names

    def _defined_name(self, code: str) -> dict[str, str]:
        name = defined_name(code)
        try:
            return {name: self.book.names[name].refers_to}
        except Exception:  # noqa: BLE001 - a missing name raises pywintypes.com_error / appscript errors
            return {}

    def set_defined_name(self, name: str, refers_to: str) -> None:
        """Names.Add replaces a name that exists (xlwings ``Names.add`` → COM ``Names.Add``); skipped when unchanged."""
        current = self._defined_name_text(name)
        if current != refers_to:
            self.book.names.add(name, refers_to)

    def _defined_name_text(self, name: str) -> str | None:
        try:
            return self.book.names[name].refers_to
        except Exception:  # noqa: BLE001 - a missing name raises pywintypes.com_error / appscript errors
            return None

    # -- reading ---------------------------------------------------------------------------
    def read_table(self, table: str) -> pd.DataFrame:
        tbl, info = self._all_tables()[table]
        rows = self._read(table, tbl)
        index = range(info.header_row + 1, info.header_row + 1 + len(rows))
        frame = pd.DataFrame(rows, columns=list(info.columns), index=pd.Index(list(index)), dtype=object)
        by_column: dict[str, list[int]] = {}
        for i, j in sorted(self._formulas[table], key=lambda cell: (cell[1], cell[0])):
            by_column.setdefault(info.columns[j], []).append(info.header_row + 1 + i)
        frame.attrs["formulas"] = by_column
        return frame

    def rows_below(self, table: str) -> list[RowBelow]:
        """Non-blank rows under a table after blank rows, up to the sheet's used range or the next table below
        (one read). Excel itself grows a table over rows typed directly below it."""
        tbl, info = self._all_tables()[table]
        body = tbl.range
        last = body.row + body.shape[0] - 1
        used = tbl.range.sheet.used_range
        end = min([used.row + used.shape[0] - 1] + [t.header_row - 1 for _, t in self._all_tables().values()
                   if t.sheet == info.sheet and t.header_row > last and share_columns(t, info)])
        if end <= last + 1:
            return []
        grid = tbl.range.sheet.range((last + 1, info.first_col),
                                     (end, info.first_col + len(info.columns) - 1)).options(ndim=2).value
        filled = [True] * last + [any(_filled(v) for v in row) for row in grid]
        _, below = rows_under(filled, last)
        return [RowBelow(info.name, cell_address(info.sheet, info.first_col + next(
            j for j, v in enumerate(grid[r - last - 1]) if _filled(v)), r), gap) for r, gap in below]

    def _read(self, table: str, tbl: Any) -> list[list[Any]]:
        """The body's values (error values as ``ErrorValue``), remembering them and its formula cells."""
        body = tbl.data_body_range
        rows: list[list[Any]] = [] if body is None else [list(r) for r in body.options(ndim=2, err_to_str=True).value]
        suspects = [(i, j) for i, row in enumerate(rows) for j, v in enumerate(row) if v in ERROR_TEXTS]
        if suspects:  # an error value, or text that reads like one: only the default read gives None for errors
            plain = body.options(ndim=2).value
            for i, j in suspects:
                if plain[i][j] is None:
                    rows[i][j] = ErrorValue(rows[i][j])
        self._values[table] = rows
        self._formulas[table] = set() if body is None else _formula_cells(body.formula, rows)
        return rows

    def _body(self, table: str) -> list[list[Any]]:
        if table not in self._values:
            self._read(table, self._all_tables()[table][0])
        return self._values[table]

    # -- writing ---------------------------------------------------------------------------
    def set_column_values(self, table: str, column: str, values: Mapping[int, Any]) -> None:
        """Write the given rows of one column, as the headless writer does, never touching a formula or an
        error value among the rows not given: one write per run of rows from the first given row to the
        last, split at such cells; the other rows of a run are written back as read, i.e. unchanged."""
        tbl, info = self._all_tables()[table]
        current = self._body(table)
        j = info.columns.index(column)
        given = {row - info.header_row - 1 for row in values}
        for row, value in values.items():
            current[row - info.header_row - 1][j] = value
        self._formulas[table] -= {(i, j) for i in given}
        fixed = {i for i, c in self._formulas[table] if c == j} | {
            i for i, r in enumerate(current) if type(r[j]) is ErrorValue and i not in given}
        sheet, top, col = tbl.range.sheet, info.header_row + 1, info.first_col + j
        span = range(min(given, default=0), max(given, default=-1) + 1)
        for first, last in _runs([i for i in span if i not in fixed]):
            cells = sheet.range((top + first, col), (top + last, col))
            cells.options(transpose=True).value = [as_typed(current[i][j]) for i in range(first, last + 1)]

    def append_table_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Rows go after the last row holding a value (a new table's blank first row is filled, as the
        headless writer does); the table grows when they reach below it."""
        tbl, info = self._all_tables()[table]
        current = self._body(table)
        start = next((i + 1 for i in range(len(current) - 1, -1, -1) if any(_filled(v) for v in current[i])), 0)
        grid = [[row.get(col) for col in info.columns] for row in rows]
        if start + len(rows) > len(current):
            tbl.resize(tbl.range.resize(start + len(rows) + 1, len(info.columns)))
            current.extend([None] * len(info.columns) for _ in range(start + len(rows) - len(current)))
        first = info.header_row + 1 + start
        if grid:
            tbl.range.sheet.range((first, info.first_col)).value = [[as_typed(v) for v in r] for r in grid]
        current[start: start + len(grid)] = grid
        return list(range(first, first + len(rows)))

    def replace_sheet_content(self, code: str, rows: Sequence[Sequence[Cell]], *, merges: Iterable[str] = (),
                              col_widths: Mapping[int | str, float] | None = None) -> None:
        """Clear the sheet (contents and formats), write the values from A1, then each style role used, the
        column widths and the merges: a constant number of round-trips per role, width and merge."""
        sheet = self.sheet_by_codename(code)
        width = max((len(r) for r in rows), default=0)
        grid = [[as_typed(split_cell(c)[0]) for c in r] + [None] * (width - len(r)) for r in rows]
        sheet.clear()
        if grid and width:
            sheet.range("A1").value = grid
        for role, cells in _cells_by_role(rows).items():
            if role not in ROLES:
                raise KeyError(f"unknown style role {role!r}; known: {sorted(ROLES)}")
            for address in addresses(cells):
                apply_role(sheet.range(address), ROLES[role])
        for width_, letters in _columns_by_width(col_widths or {}).items():
            for address in _chunks([f"{c}:{c}" for c in letters]):
                sheet.range(address).column_width = width_
        for merge in merges:
            sheet.range(merge).merge()

    def resize_chart_ranges(self, code: str, starts: charts.Starts) -> None:
        """Through each series' =SERIES() formula (Excel's object model on Windows; on macOS the charts keep
        the ranges of the last refresh made on Windows or headless, see docs/excel.md)."""
        if self.mac:
            return
        sheet = self.sheet_by_codename(code)
        for chart in sheet.api.ChartObjects():
            for series in chart.Chart.SeriesCollection():
                old = series.Formula
                new = charts.resize_refs(old, sheet.name, starts)
                if new != old:
                    series.Formula = new


def as_typed(value: Any) -> Any:
    """The value to hand to ``Range.value`` so that the cell holds exactly ``value``: text behind an
    apostrophe (else Excel parses it as typed input), an empty string as an empty cell."""
    if isinstance(value, str):
        return "'" + value if value else None
    return value


def _formula_cells(formulas: Any, values: list[list[Any]]) -> set[tuple[int, int]]:
    """(row, column) of the body cells holding a formula, from ``Range.formula`` (a str for one cell, else
    rows of texts: tuples from COM, lists from AppleScript): formula text starts with "=" and is not the
    cell's value (a text cell "=x" gives "=x" as its formula too)."""
    if isinstance(formulas, str):
        grid = [[formulas]]
    elif formulas and not isinstance(formulas[0], (list, tuple)):  # AppleScript flattens one row or column
        grid = [list(formulas)] if len(values) == 1 else [[text] for text in formulas]
    else:
        grid = [list(r) for r in formulas]
    return {(i, j) for i, row in enumerate(grid) for j, text in enumerate(row)
            if isinstance(text, str) and text.startswith("=") and values[i][j] != text}


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def _cells_by_role(rows: Sequence[Sequence[Cell]]) -> dict[str, list[tuple[int, int]]]:
    """Role -> (row, col), 1-based, of the cells that name it."""
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r, row in enumerate(rows, start=1):
        for c, cell in enumerate(row, start=1):
            role = split_cell(cell)[1]
            if role is not None:
                out[role].append((r, c))
    return out


def addresses(cells: Iterable[tuple[int, int]]) -> list[str]:
    """A1-style multi-area addresses (each under Excel's 255 characters) covering exactly the cells:
    runs along a row, stacked into rectangles over consecutive rows with the same run."""
    by_row: dict[int, list[int]] = defaultdict(list)
    for r, c in cells:
        by_row[r].append(c)
    open_: dict[tuple[int, int], list[int]] = {}  # (c1, c2) -> [first row, last row]
    areas: list[tuple[int, int, int, int]] = []
    for r in sorted(by_row):
        runs = _runs(sorted(set(by_row[r])))
        for key in [k for k, (_, last) in open_.items() if last != r - 1 or k not in runs]:
            first, last = open_.pop(key)
            areas.append((first, key[0], last, key[1]))
        for run in runs:
            open_.setdefault(run, [r, r])[1] = r
    areas += [(first, c1, last, c2) for (c1, c2), (first, last) in open_.items()]
    refs = [f"{col_letter(c1)}{r1}" + ("" if (r1, c1) == (r2, c2) else f":{col_letter(c2)}{r2}")
            for r1, c1, r2, c2 in sorted(areas)]
    return _chunks(refs)


def _runs(cols: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for c in cols:
        if runs and runs[-1][1] == c - 1:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return runs


def _chunks(refs: list[str]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        if out and len(out[-1]) + 1 + len(ref) <= MAX_ADDRESS:
            out[-1] += "," + ref
        else:
            out.append(ref)
    return out


def _columns_by_width(widths: Mapping[int | str, float]) -> dict[float, list[str]]:
    out: dict[float, list[str]] = defaultdict(list)
    for key, width in widths.items():
        out[float(width)].append(col_letter(key if isinstance(key, int) else col_index(key)))
    return out


def apply_role(rng: Any, props: Mapping[str, Any]) -> None:
    """A style role's number format, font, fill and wrap on a range (one call each)."""
    rng.number_format = props.get("num_format", "General")
    font = rng.font
    for key, attr in (("font_name", "name"), ("font_size", "size"), ("font_color", "color")):
        if key in props:
            setattr(font, attr, props[key])
    for key in ("bold", "italic"):
        if props.get(key):
            setattr(font, key, True)
    if "bg_color" in props:
        rng.color = props["bg_color"]
    if props.get("text_wrap"):
        rng.wrap_text = True
