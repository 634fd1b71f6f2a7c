"""The one small interface every action talks to. Two implementations: ``xlsx.WorkbookPackage``
(headless, on the file) and ``excel.ExcelBook`` (xlwings, on a live workbook)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from ..core.errors import FollowupError
from ..core.inputs import pairs
from ..core.schema import LANGS
from ..core.i18n import texts
from . import layout as L
from ..core.inputs import RowBelow

Cell = Any  # a value, or (value, style role)


def split_cell(cell: Cell) -> tuple[Any, str | None]:
    """A generated sheet's cell as (value, style role); a bare value has no role."""
    return cell if isinstance(cell, tuple) else (cell, None)


class Book(Protocol):
    def read_table(self, table: str) -> pd.DataFrame:
        """Data rows of a table: header labels as columns, Excel row numbers as index."""

    def rows_below(self, table: str) -> list[RowBelow]:
        """Non-blank rows under a table after blank rows: not part of it, so not read (rows directly below are)."""

    def set_column_values(self, table: str, column: str, values: Mapping[int, Any]) -> None:
        """Write values into one table column at the given Excel rows (cell styles kept)."""

    def append_table_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Append rows keyed by header label under a table; returns their Excel rows."""

    def replace_sheet_content(self, code: str, rows: Sequence[Sequence[Cell]], *, merges=(),
                              col_widths: Mapping[int | str, float] | None = None) -> None:
        """Rewrite a generated sheet (found by codeName) from A1."""

    def resize_chart_ranges(self, code: str, starts: Mapping[tuple[int, int], int]) -> None:
        """Make the series ranges of the sheet's charts that start at (row, col), 1-based, read that many rows."""

    def set_defined_name(self, name: str, refers_to: str) -> None:
        """Create or redefine a workbook-level name (``refers_to`` starts with "=")."""

    def sheet_by_codename(self, code: str) -> Any:
        """An object with the sheet's ``name``."""

    def tables(self) -> Mapping[str, Any]:
        """Table name -> info with ``sheet``, ``first_col`` (1-based) and ``columns``."""


def language(book: Book) -> str:
    """The workbook's language, for messages told before (or without) reading it all: its Settings' language
    cell, else by the ledger's sheet name (its zh-CN name: zh-CN, another: en), else zh-CN."""
    tables = book.tables()
    try:
        typed = pairs(book.read_table(L.T_SETTINGS)).get("language") if L.T_SETTINGS in tables else None
    except FollowupError:
        typed = None
    if str(typed).strip() in LANGS:
        return str(typed).strip()
    ledger = tables.get(L.T_CUSTOMERS)
    if ledger is not None and ledger.sheet != texts(LANGS[0])["sheets"]["customers"]:
        return "en"
    return LANGS[0]
