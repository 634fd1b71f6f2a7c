"""``Book`` over a live workbook through xlwings (Windows/macOS with Excel).

Whole-range reads and writes only: one call reads a table, one writes a column, two replace a generated
sheet, so the number of Excel round-trips per action does not grow with the number of rows.
Formatting of generated sheets is left to the build (column formats, conditional formats).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import charts
from .base import Cell


@dataclass(frozen=True)
class LiveTable:
    name: str
    sheet: str
    first_col: int  # 1-based
    header_row: int
    columns: tuple[str, ...]


class ExcelBook:
    def __init__(self, book: Any):
        self.book = book
        self._tables: dict[str, tuple[Any, LiveTable]] | None = None
        self._values: dict[str, list[list[Any]]] = {}  # table -> body values as last read or written

    # -- discovery -------------------------------------------------------------------------
    def tables(self) -> dict[str, LiveTable]:
        return {name: info for name, (_, info) in self._all_tables().items()}

    def _all_tables(self) -> dict[str, tuple[Any, LiveTable]]:
        if self._tables is None:
            self._tables = {}
            for sheet in self.book.sheets:
                for table in sheet.tables:
                    header = table.header_row_range
                    self._tables[table.name] = (table, LiveTable(
                        table.name, sheet.name, header.column, header.row, tuple(header.value)))
        return self._tables

    def sheet_by_codename(self, code: str) -> Any:
        for sheet in self.book.sheets:
            if sheet.api.CodeName == code:
                return sheet
        raise KeyError(f"no sheet with codeName {code!r}")

    # -- reading ---------------------------------------------------------------------------
    def read_table(self, table: str) -> pd.DataFrame:
        tbl, info = self._all_tables()[table]
        body = tbl.data_body_range
        rows = [] if body is None else body.options(ndim=2).value
        self._values[table] = [list(r) for r in rows]
        index = range(info.header_row + 1, info.header_row + 1 + len(rows))
        return pd.DataFrame(rows, columns=list(info.columns), index=pd.Index(list(index)), dtype=object)

    # -- writing ---------------------------------------------------------------------------
    def set_column_values(self, table: str, column: str, values: Mapping[int, Any]) -> None:
        """Write the whole column in one call, with the rows not given kept as read."""
        tbl, info = self._all_tables()[table]
        current = self._values.get(table) or [list(r) for r in tbl.data_body_range.options(ndim=2).value]
        j = info.columns.index(column)
        for row, value in values.items():
            current[row - info.header_row - 1][j] = value
        self._values[table] = current
        tbl.data_body_range.columns[j].options(transpose=True).value = [r[j] for r in current]

    def append_table_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        tbl, info = self._all_tables()[table]
        current = self._values.get(table) or self.read_table(table).to_numpy().tolist()
        first = info.header_row + 1 + len(current)
        grid = [[row.get(col) for col in info.columns] for row in rows]
        tbl.resize(tbl.range.resize(len(current) + len(rows) + 1, len(info.columns)))
        tbl.range.sheet.cells(first, info.first_col).value = grid
        self._values[table] = current + grid
        return list(range(first, first + len(rows)))

    def replace_sheet_content(self, code: str, rows: Sequence[Sequence[Cell]], *, merges=(),
                              col_widths: Mapping[int | str, float] | None = None) -> None:
        sheet = self.sheet_by_codename(code)
        width = max((len(r) for r in rows), default=1)
        grid = [[_plain(c) for c in r] + [None] * (width - len(r)) for r in rows]
        sheet.used_range.clear_contents()
        if grid:
            sheet.range("A1").value = grid

    def resize_chart_ranges(self, code: str, starts: charts.Starts) -> None:
        """Through each series' =SERIES() formula (Excel's object model on Windows; on macOS the charts keep
        the ranges of the last refresh made on Windows or headless, see docs/excel.md)."""
        if sys.platform == "darwin":
            return
        sheet = self.sheet_by_codename(code)
        for chart in sheet.api.ChartObjects():
            for series in chart.Chart.SeriesCollection():
                old = series.Formula
                new = charts.resize_refs(old, sheet.name, starts)
                if new != old:
                    series.Formula = new


def _plain(cell: Cell) -> Any:
    return cell[0] if isinstance(cell, tuple) else cell
