"""Headless workbook package reader/patcher.

The workbook is never re-saved through openpyxl: the zip is patched surgically. Only the sheet parts
and table parts that change are rewritten; every other entry keeps its compressed bytes, name, order
and compression method. Values are read with python-calamine; sheet XML is patched by streaming over
its ``<row>`` elements as text (no DOM of big sheets). Small parts are parsed with a non-resolving lxml
parser that rejects DTDs.

Side effects of a save with patches (besides the patched sheet/table parts):
- ``xl/workbook.xml`` gets ``<calcPr fullCalcOnLoad="1">`` so Excel recomputes formulas that depend on
  the written cells (``save(recalc_on_load=False)`` skips it).
- If a written cell held a formula, ``xl/calcChain.xml`` is dropped together with its relationship and
  content-type override; Excel rebuilds it silently.
- A table read with rows typed directly below it grows to them (ref, autoFilter, and the validations and
  conditional formats ending on its last row), as Excel grows a table.
- A tool sheet that lost its codeName (LibreOffice drops them) gets it back: the VBA document modules are
  tied to it.

Reads (``read_table``, ``read_sheet_values``, ...) show the package as opened or last saved; pending
patches become visible after ``save()``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import python_calamine

from .. import files
from ..core.inputs import RowBelow
from ..core.settings import settings_from_pairs
from . import charts, layout as L, opc
from .a1 import cell_address, col_letter, parse_ref, range_ref
from .cells import EMPTY, cell_tail, cell_xml, date_style_ids, styled_cell_tails, surely_encodable
from .locate import locate_sheet
from .errors import ChangedOnDiskError, NotAWorkbookError, UnsafePackageError, WorkbookError, WorkbookOpenInExcelError
from .base import Cell, language, split_cell
from ..core.values import ErrorValue
from .opc import SheetInfo
from .rows import RowPatcher, SheetPatch
from .sheetxml import (SheetStream, cols_xml, extend_sqrefs, grow_dimension, marked_cells, set_code_name, set_cols,
                       set_dimension, set_merges)
from .tables import TableInfo, add_table_columns, retarget_table, rows_under, share_columns, table_info
from .xmltext import attr, escape, parse, set_attr, xpath
from .zipio import SAVE_LEVEL, Archive, Entry, Packed, pack, write_zip
from ..core.i18n import text

__all__ = ["WorkbookPackage", "WorkbookError", "WorkbookOpenInExcelError", "NotAWorkbookError",
           "UnsafePackageError", "SheetInfo", "TableInfo", "Cell"]

CALC_CHAIN = "xl/calcChain.xml"


class WorkbookPackage:
    """An xlsx/xlsm file held in memory; reads values and buffers surgical patches until save()."""

    def __init__(self, path: Path, raw: bytes, stat: os.stat_result, *, written_by_us: bool = False) -> None:
        """``written_by_us``: the package is this tool's own output of verified parts (not checked again)."""
        self.path, self._stat = path, stat
        self._archive = Archive(raw, path)
        self._archive.verified = written_by_us
        self._archive.verify()
        self._workbook_part = opc.office_document(self._archive)
        self._load_workbook()
        self._patches: dict[str, SheetPatch] = {}
        self._table_last: dict[str, int] = {}  # pending last row of each appended table
        self._table_next: dict[str, int] = {}  # pending first free row of each appended table
        self._table_added: dict[str, list[str]] = {}  # pending new columns of each table (header labels)
        self._charts: dict[str, bytes] = {}  # chart part -> rewritten XML
        self._names: dict[str, str] = {}  # workbook-level defined name -> new formula (without "=")
        self._filled: dict[str, np.ndarray] = {}  # table -> whether each sheet row has a value in its columns
        self._below: dict[str, list[RowBelow]] = {}  # table -> rows under it after blank rows
        self._calamine: python_calamine.CalamineWorkbook | None = None
        self._last_read: SheetValues | None = None  # the sheet read last (tables of one sheet are read together)
        self._marks: dict[str, tuple[dict[tuple[int, int], str], set[tuple[int, int]]]] = {}  # sheet -> marked_cells

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> WorkbookPackage:
        path = Path(path)
        with open(path, "rb") as fh:
            stat = os.fstat(fh.fileno())
            book = cls(path, fh.read(), stat)
        book._refuse_if_open_in_excel(path)
        return book

    # --- reading ---------------------------------------------------------------------------
    def sheets(self) -> list[SheetInfo]:
        return list(self._sheets)

    def sheet_by_codename(self, code: str) -> SheetInfo:
        """A tool sheet (codeName as in ``layout``), found by ``locate.locate_sheet``: a file saved by another
        program (LibreOffice drops codeNames) is found by its defined name, table or sheet name."""
        names = [s.name for s in self._sheets]
        found = locate_sheet(code, names, code_names=[s.code_name for s in self._sheets],
                             defined_names=self._defined_names,
                             table_sheets={t: info.sheet for t, info in self._tables.items()})
        return self._sheets[names.index(found)]

    def _missing_code_names(self) -> dict[str, str]:
        """Sheet part -> the codeName a tool sheet lost (restored on save: VBA document modules need it)."""
        have = {s.code_name for s in self._sheets}
        missing = {}
        for code in L.SHEETS:
            if code in have:
                continue
            try:
                sheet = self.sheet_by_codename(code)
            except WorkbookError:
                continue
            if sheet.code_name is None and sheet.part not in missing:
                missing[sheet.part] = code
        return missing

    def sheet(self, code_or_name: str) -> SheetInfo:
        """A sheet by codeName, else by (case-insensitive) sheet name."""
        for sheet in self._sheets:
            if sheet.code_name == code_or_name:
                return sheet
        for sheet in self._sheets:
            if sheet.name.casefold() == code_or_name.casefold():
                return sheet
        raise self._missing("no_sheet", sheet=code_or_name)

    def tables(self) -> dict[str, TableInfo]:
        return dict(self._tables)

    def read_table(self, table: str) -> pd.DataFrame:
        """Data rows of a table: header labels as columns, Excel row numbers as index, Python scalars.

        Rows typed directly below the table are part of it, as Excel grows a table when a person types under
        it (LibreOffice and scripts do not): the next save moves its ref, autoFilter, validations and
        conditional formats down to them. Non-blank rows further down, after blank rows, are ``rows_below``."""
        info = self._table(table)
        cells, blank = self._table_cells(info)
        last = self._extent(info, blank)
        rows = range(info.data_rows.start, info.data_rows.stop + last - info.last_row)
        # column-major: each column's cells lie together, so the engine's passes over a column read one
        # contiguous array instead of every len(columns)-th pointer of the rows
        data = np.full((len(rows), len(info.columns)), None, dtype=object, order="F")
        typed = cells[rows.start - 1: rows.stop - 1]
        data[: len(typed)] = typed
        data[: len(typed)][blank[rows.start - 1: rows.stop - 1]] = None
        formulas = self._mark_errors_and_formulas(info, data)
        frame = pd.DataFrame(data, columns=list(info.columns), index=pd.Index(list(rows)), dtype=object, copy=False)
        frame.attrs["formulas"] = formulas
        return frame

    def _mark_errors_and_formulas(self, info: TableInfo, data: np.ndarray) -> dict[str, list[int]]:
        """Put each Excel error value of the table's data cells into ``data`` as an ``ErrorValue`` (calamine
        reads them as blank); return the rows holding a formula, per column header."""
        if info.sheet not in self._marks:
            self._marks[info.sheet] = marked_cells(self._archive.read(self.sheet(info.sheet).part))
        errors, formulas = self._marks[info.sheet]
        rows, c0, width = info.data_rows, info.first_col, len(info.columns)
        inside = lambda r, c: r in rows and c0 <= c < c0 + width  # noqa: E731
        for (r, c), code in errors.items():
            if inside(r, c):
                data[r - rows.start, c - c0] = ErrorValue(code)
        by_column: dict[str, list[int]] = {}
        for r, c in sorted(formulas):
            if inside(r, c):
                by_column.setdefault(info.columns[c - c0], []).append(r)
        return by_column

    def rows_below(self, table: str) -> list[RowBelow]:
        """The non-blank rows under a table after blank rows (not part of it, so not read)."""
        info = self._table(table)
        if info.name not in self._below:
            self.read_table(info.name)
        return self._below[info.name]

    def read_sheet_values(self, code_or_name: str) -> list[list[Any]]:
        """The sheet's values as a grid from A1 (None for empty cells)."""
        cells = self._sheet_values(self.sheet(code_or_name).name).cells
        return [[None if v == "" else v for v in row] for row in cells.tolist()]

    def style_roles(self) -> dict[str, int]:
        """Role name -> cellXfs index, from the very hidden style swatch sheet (codeName shStyles)."""
        sheet = self.sheet_by_codename("shStyles")
        cells = self._sheet_values(sheet.name).cells
        roles = {}
        for cell in xpath(parse(self._archive.read(sheet.part), sheet.part), "c"):
            row, col, *_ = parse_ref(cell.get("r"))
            text = cells[row - 1, 0] if col == 1 and row <= len(cells) else ""
            if isinstance(text, str) and text:
                roles[text] = int(cell.get("s", "0"))
        return roles

    # --- patching (buffered) -----------------------------------------------------------------
    def set_column_values(self, table: str, column: str, values: Mapping[int, Any]) -> None:
        """Write values into a table column at the given Excel rows (cell styles are kept)."""
        info = self._table(table)
        col = info.first_col + self._column_pos(info, column)
        first, last = info.data_rows.start, self._table_last.get(info.name, info.data_rows.stop - 1)
        patch = self._sheet_patch(self.sheet(info.sheet).part)
        rows = np.fromiter(values.keys(), dtype=np.int64, count=len(values))
        outside = (rows < first) | (rows > last)
        if outside.any():
            raise ValueError(f"row {rows[outside][0]} is outside the data rows {first}-{last} of table {info.name}")
        patch.writes.append((col, rows, self._checked(values.values(), rows, info.sheet, col)))

    def add_table_columns(self, table: str, labels: Sequence[str]) -> None:
        """New columns at the right of a table, headed ``labels`` (unstyled; the cells there must be empty)."""
        info = self._table(table)
        first, last = info.first_col + len(info.columns), self._table_last.get(info.name, info.last_row)
        blank = self._sheet_values(info.sheet).blank
        for c in range(first, first + len(labels)):
            filled = [r for r in range(info.header_row, min(last, len(blank)) + 1)
                      if c <= blank.shape[1] and not blank[r - 1, c - 1]]
            if filled:
                raise WorkbookError(f"cannot add column {labels[c - first]!r} to table {info.name}: "
                                    f"{cell_address(info.sheet, c, filled[0])} is not empty")
        patch = self._sheet_patch(self.sheet(info.sheet).part)
        for c, label in enumerate(labels, first):
            at = np.array([info.header_row], dtype=np.int64)
            patch.writes.append((c, at, self._checked([label], at, info.sheet, c)))
        r1, c1, r2, c2 = parse_ref(info.ref)
        self._tables[info.name] = dataclasses.replace(info, columns=(*info.columns, *labels),
                                                      ref=range_ref(r1, c1, r2, c2 + len(labels)))
        self._table_added.setdefault(info.name, []).extend(labels)

    def append_table_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Append rows (dicts keyed by header label) under a table; returns their Excel row numbers.

        Trailing empty data rows of the table are filled first; the table ref grows as needed."""
        info = self._table(table)
        if info.totals_rows:
            raise WorkbookError(f"table {info.name} has a totals row; appending under it is not supported")
        positions = {label: self._column_pos(info, label) for row in rows for label in row}
        old_last = self._table_last.get(info.name, info.last_row)
        start = self._table_next.get(info.name) or self._first_free_row(info)
        self._table_next[info.name] = start + len(rows)
        new_rows = list(range(start, start + len(rows)))
        new_last = max(old_last, start + len(rows) - 1)
        self._check_free_below(info, old_last, new_last)
        part = self.sheet(info.sheet).part
        patch = self._sheet_patch(part)
        template = patch.template_of(start - 1) or max(start - 1, info.data_rows.start)
        if rows:
            patch.templates.append((start, new_rows[-1], template))
        for label, pos in positions.items():
            at = np.array([r for r, row in zip(new_rows, rows) if label in row], dtype=np.int64)
            col = info.first_col + pos
            patch.writes.append((col, at, self._checked((row[label] for row in rows if label in row), at,
                                                         info.sheet, col)))
        if new_last > old_last:
            self._table_last[info.name] = new_last
            patch.grow.append((info.first_col, info.first_col + len(info.columns) - 1, old_last, new_last))
        return new_rows

    def replace_sheet_content(self, code: str, rows: Sequence[Sequence[Cell]], *, merges: Iterable[str] = (),
                              col_widths: Mapping[int | str, float] | None = None) -> None:
        """Rewrite a generated sheet's cells (row i of `rows` -> Excel row i+1, from column A).

        A cell is a value or (value, role); role names a style of style_roles(). The rest of the
        sheet part (views, conditional formats, drawings, page setup...) is kept."""
        sheet = self.sheet_by_codename(code)
        roles = self.style_roles() if any(isinstance(c, tuple) for row in rows for c in row) else {}
        xml_rows, max_col = self._generated_rows(sheet.name, rows, roles)
        dimension = range_ref(1, 1, len(rows), max_col) if xml_rows else "A1"
        cols = None if col_widths is None else cols_xml(col_widths)
        merges = [range_ref(*parse_ref(m)) for m in merges]
        patch = self._patches.setdefault(sheet.part, SheetPatch())
        if patch.writes:
            raise WorkbookError(f"sheet {sheet.name} already has cell writes; cannot also replace its content")
        patch.generated = ("".join(xml_rows), dimension, merges, cols)

    def defined_names(self) -> dict[str, str]:
        """Workbook-level defined names as saved: name -> "=formula" (sheet-level names left out)."""
        root = parse(self._archive.read(self._workbook_part), self._workbook_part)
        return {d.get("name"): "=" + (d.text or "") for d in xpath(root, "definedName")
                if d.get("localSheetId") is None}

    def set_defined_name(self, name: str, refers_to: str) -> None:
        """Create or redefine a workbook-level name on save; nothing changes when it already says so."""
        if self.defined_names().get(name) != refers_to:
            self._names[name] = refers_to.removeprefix("=")

    def resize_chart_ranges(self, code: str, starts: charts.Starts) -> None:
        """Make the series ranges of the sheet's charts that start at (row, col) read that many rows."""
        sheet = self.sheet_by_codename(code)
        for drawing in opc.related(self._archive, sheet.part, "drawing"):
            for part in opc.related(self._archive, drawing, "chart"):
                xml = self._text(part)
                resized = charts.resize_chart_xml(xml, sheet.name, starts)
                if resized != xml:
                    self._charts[part] = resized.encode("utf-8")

    def save(self, path: str | os.PathLike[str] | None = None, *, backup: bool | str | os.PathLike[str] = True,
             recalc_on_load: bool = True, expect: files.Fingerprint | None = None) -> None:
        """Write the patched package atomically (temp file in the folder, fsync, rename), keeping backups.

        backup: True -> the last N as the Settings say (``BOOK.bak``, ``BOOK.1.bak`` …, see files.keep_backup);
        a folder -> "<folder>/<name>.<timestamp>.bak". Immediately before the replace, the file on disk must
        still be the one read (``expect``; by default this package's own file when saving over it): if another
        program saved it meanwhile, nothing of it is overwritten, the result is written beside it and
        ``ChangedOnDiskError`` names where. A read-only file is refused."""
        target = Path(path) if path is not None else self.path
        lang = language(self)
        self._refuse_if_open_in_excel(target)
        files.refuse_read_only(target, lang)
        if expect is None and target.exists() and _same_file(target, self.path):
            expect = files.Fingerprint.of(self._archive.raw, self._stat)
        entries = self._entries(recalc_on_load)
        with files.stage(target, lambda fh: write_zip(fh, entries), lang=lang, mode_of=target) as staged:
            if target.exists() and backup:
                self._backup(target, backup, lang)
            if expect is not None and files.Fingerprint.on_disk(target) != expect:
                beside = files.conflict_path(target)
                staged.commit(beside)
                raise ChangedOnDiskError(files.message(lang, "changed", name=target.name, result=beside), str(beside))
            staged.commit(target)
        with open(target, "rb") as fh:
            self.__init__(target, fh.read(), os.fstat(fh.fileno()), written_by_us=True)

    def fingerprint(self) -> files.Fingerprint:
        """Size, mtime and content hash of the file as read."""
        return files.Fingerprint.of(self._archive.raw, self._stat)

    def _backup(self, target: Path, backup: bool | str | os.PathLike[str], lang: str) -> None:
        data = target.read_bytes()
        if backup is True:
            settings = settings_from_pairs({k: self._setting(k) for k in ("backup", "backups_kept")})
            files.keep_backup(target, data, settings.backups_kept if settings.backup else 0, lang=lang)
        else:
            folder = Path(backup)
            folder.mkdir(parents=True, exist_ok=True)
            files.write_atomic(folder / f"{target.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak", data, lang=lang)

    def _setting(self, key: str) -> object:
        """A value of the Settings table (None when the workbook has no such table or key)."""
        if L.T_SETTINGS not in self._tables:
            return None
        table = self.read_table(L.T_SETTINGS)
        found = table[table.iloc[:, 0].astype(str).str.strip() == key]
        return None if found.empty else found.iloc[0, 1]

    # --- internals: package structure ----------------------------------------------------------
    def _load_workbook(self) -> None:
        root = parse(self._archive.read(self._workbook_part), self._workbook_part)
        pr = xpath(root, "workbookPr")
        self.date1904 = bool(pr) and pr[0].get("date1904") in ("1", "true")
        self._sheets, self._tables = opc.sheets(self._archive, self._workbook_part, root), {}
        self._defined_names = {el.get("name"): el.text or "" for el in xpath(root, "definedName")
                               if el.get("localSheetId") is None}
        for sheet in self._sheets:
            for part in opc.related(self._archive, sheet.part, "table"):
                table = table_info(self._archive.read(part), part, sheet.name)
                self._tables[table.name] = table

    def _table(self, name: str) -> TableInfo:
        found = self._tables.get(name) or next((t for k, t in self._tables.items() if k.casefold() == name.casefold()),
                                               None)
        if found is None:
            raise self._missing("no_table", table=name)
        return found

    def _column_pos(self, info: TableInfo, label: str) -> int:
        try:
            return info.columns.index(label)
        except ValueError:
            raise self._missing("no_column", table=info.name, column=label) from None

    def _missing(self, key: str, **args: object) -> WorkbookError:
        """A sheet, table or column the tool needs is not in the workbook."""
        return WorkbookError(text(language(self), "errors", key, **args))

    def _sheet_values(self, sheet_name: str) -> SheetValues:
        """The sheet's values, parsed once for the tables read from it one after the other; only the sheet read
        last is kept (big grids are not)."""
        if self._last_read is None or self._last_read.name != sheet_name:
            self._last_read = None  # the previous grid is let go before the next is parsed
            self._last_read = SheetValues.of(sheet_name, self._grid(sheet_name))
        return self._last_read

    def _grid(self, sheet_name: str) -> list[list[Any]]:
        """The sheet's values from A1, "" for empty cells."""
        try:
            if self._calamine is None:
                self._calamine = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self._archive.raw))
            return self._calamine.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except python_calamine.CalamineError as exc:
            raise self._archive.damaged("unreadable", detail=exc) from None

    def _table_cells(self, info: TableInfo) -> tuple[np.ndarray, np.ndarray]:
        """The sheet's cells within the table's columns, one row per sheet row from row 1 ("" when empty), and
        which of them are empty; notes which rows hold a value there (for appends)."""
        sheet, c0, width = self._sheet_values(info.sheet), info.first_col - 1, len(info.columns)
        cells, blank = sheet.cells[:, c0: c0 + width], sheet.blank[:, c0: c0 + width]
        if cells.shape[1] < width:  # the sheet's values end before the table's last columns: those are empty
            missing = (len(cells), width - cells.shape[1])
            cells = np.hstack([cells, np.full(missing, "", dtype=object)])
            blank = np.hstack([blank, np.ones(missing, dtype=bool)])
        self._filled[info.name] = ~blank.all(axis=1)
        return cells, blank

    def _extent(self, info: TableInfo, blank: np.ndarray) -> int:
        """The table's last row counting the rows typed directly below it (growth pending until save); notes the
        non-blank rows further down (``rows_below``). Another table below ends the search."""
        filled = self._filled[info.name]
        end = min([len(filled)] + [t.header_row - 1 for t in self._tables.values() if t.sheet == info.sheet
                                   and t.header_row > info.last_row and share_columns(t, info)])
        last, below = rows_under(filled[:end], info.last_row) if not info.totals_rows else (info.last_row, [])
        if last > info.last_row and info.name not in self._table_last:
            self._grow(info, last)
        first_value = [info.first_col + int(np.flatnonzero(~blank[r - 1])[0]) for r, _ in below]
        self._below[info.name] = [RowBelow(info.name, cell_address(info.sheet, c, r), gap)
                                  for c, (r, gap) in zip(first_value, below)]
        return last

    def _grow(self, info: TableInfo, last: int) -> None:
        """Make rows typed directly below a table part of it on save: its ref, and the validations and conditional
        formats that end on its last row; tool cells written there take the style of the table's last row."""
        self._table_last[info.name] = last
        patch = self._sheet_patch(self.sheet(info.sheet).part)
        patch.grow.append((info.first_col, info.first_col + len(info.columns) - 1, info.last_row, last))
        patch.templates.append((info.last_row + 1, last, max(info.last_row, info.data_rows.start)))

    def _first_free_row(self, info: TableInfo) -> int:
        """First row after the table's last non-empty data row."""
        r = self._table_last.get(info.name, info.last_row)
        while r >= info.data_rows.start and not self._row_filled(info, r):
            r -= 1
        return r + 1

    def _row_filled(self, info: TableInfo, r: int) -> bool:
        """Whether a sheet row has a value within the table's columns."""
        if info.name not in self._filled:
            self._table_cells(info)
        filled = self._filled[info.name]
        return r <= len(filled) and bool(filled[r - 1])

    def _check_free_below(self, info: TableInfo, old_last: int, new_last: int) -> None:
        for r in range(old_last + 1, new_last + 1):
            if self._row_filled(info, r):
                raise WorkbookError(f"cannot grow table {info.name}: {info.sheet}!row {r} below it is not empty")

    def _sheet_patch(self, part: str) -> SheetPatch:
        patch = self._patches.setdefault(part, SheetPatch())
        if patch.generated is not None:
            raise WorkbookError(f"{part} content is being replaced; cell writes are not allowed")
        return patch

    def _checked(self, values: Iterable[Any], rows: np.ndarray, sheet: str, c: int) -> np.ndarray:
        """The values as an array, having raised now what encoding them at save would raise."""
        out = np.fromiter(values, dtype=object, count=len(rows))
        if not surely_encodable(out.tolist(), self.date1904):
            for r, value in zip(rows.tolist(), out.tolist()):
                self._encode(value, sheet, r, c)
        return out

    def _encode(self, value: Any, sheet: str, r: int, c: int) -> str:
        """The value's cell tail; a value that cannot be written is named by its cell."""
        try:
            return cell_tail(value, self.date1904)
        except ValueError as exc:  # text too long, a date before Excel's epoch
            raise WorkbookError(text(language(self), "errors", "bad_cell", cell=cell_address(sheet, c, r),
                                     problem=exc)) from None
        except TypeError as exc:
            raise TypeError(f"{cell_address(sheet, c, r)}: {exc}") from None

    def _generated_cell(self, sheet: str, r: int, c: int, cell: Cell, roles: Mapping[str, int]) -> str:
        value, role = split_cell(cell)
        if role is not None and role not in roles:
            raise KeyError(f"unknown style role {role!r}; the _styles sheet has {sorted(roles)}")
        style = str(roles[role]) if role is not None else None
        return cell_xml(f"{col_letter(c)}{r}", style, self._encode(value, sheet, r, c))

    def _generated_rows(self, sheet: str, rows: Sequence[Sequence[Cell]],
                        roles: Mapping[str, int]) -> tuple[list[str], int]:
        """The XML of each row of a generated sheet that has cells, and the widest of them. The cells are
        encoded all at once; if one cannot be written, ``_generated_cell`` names the first such."""
        attrs = {None: "", **{role: f' s="{i}"' for role, i in roles.items()}}
        try:
            contents = styled_cell_tails(chain.from_iterable(rows), attrs, self.date1904)
        except (KeyError, ValueError, TypeError):
            for r, row in enumerate(rows, start=1):
                for c, cell in enumerate(row, start=1):
                    self._generated_cell(sheet, r, c, cell, roles)
            raise
        starts = [f'<c r="{col_letter(c)}' for c in range(1, max(map(len, rows), default=0) + 1)]
        xml_rows, max_col, k = [], 0, 0
        for r, row in enumerate(rows, start=1):
            ref, n = f'{r}"', len(row)
            xml = "".join([f"{start}{ref}{content}" for start, content in zip(starts, contents[k: k + n])
                           if content != EMPTY])
            k += n
            if xml:
                xml_rows.append(f'<row r="{r}">{xml}</row>')
                max_col = max(max_col, n)
        return xml_rows, max_col

    # --- internals: save -----------------------------------------------------------------------
    def _refuse_if_open_in_excel(self, path: Path) -> None:
        owner = path.with_name("~$" + path.name)  # Excel's owner file: the workbook is open in Excel
        if owner.exists():
            raise WorkbookOpenInExcelError(text(language(self), "errors", "open_in_excel", book=path.name,
                                                owner=owner.name))

    def _new_parts(self, recalc_on_load: bool) -> tuple[dict[str, Packed], set[str]]:
        """Rewritten parts, packed as their zip entries will hold them, and removed parts."""
        parts: dict[str, Packed] = {}
        lost_formula = False
        code_names = self._missing_code_names()
        for part in {**self._patches, **code_names}:
            parts[part], lost = self._render_sheet(part, self._patches.get(part, SheetPatch()), code_names.get(part))
            lost_formula |= lost
        for name in {**self._table_added, **self._table_last}:
            info, xml = self._tables[name], self._text(self._tables[name].part)
            xml = add_table_columns(xml, self._table_added[name]) if name in self._table_added else xml
            xml = retarget_table(xml, self._table_last[name]) if name in self._table_last else xml
            parts[info.part] = self._pack(info.part, [xml])
        parts.update({part: self._pack(part, [xml]) for part, xml in self._charts.items()})
        removed: set[str] = set()
        if lost_formula and CALC_CHAIN in self._archive:
            removed.add(CALC_CHAIN)
            rels = opc.rels_part(self._workbook_part)
            parts[rels] = self._pack(rels, [opc.drop_relationships(
                self._text(rels), lambda tag: (attr(tag, "Target") or "").endswith("calcChain.xml"))])
            parts[opc.CONTENT_TYPES] = self._pack(opc.CONTENT_TYPES, [opc.drop_overrides(
                self._text(opc.CONTENT_TYPES), {CALC_CHAIN})])
        if self._names or (self._patches and recalc_on_load):
            xml = self._text(self._workbook_part)
            for name, formula in self._names.items():
                xml = _set_defined_name(xml, name, formula)
            parts[self._workbook_part] = self._pack(
                self._workbook_part, [_full_calc_on_load(xml) if self._patches and recalc_on_load else xml])
        return parts, removed

    def _render_sheet(self, part: str, patch: SheetPatch, code_name: str | None = None) -> tuple[Packed, bool]:
        """The patched sheet part, packed as it streams (the XML is never whole in memory), and whether a
        formula cell was overwritten; ``code_name``: the codeName to restore."""
        sheet = SheetStream(self._archive.inflate(part), part)
        head = sheet.head if code_name is None else set_code_name(sheet.head, code_name)
        if patch.generated is not None:
            body, dimension, merges, cols = patch.generated
            head = set_dimension(head if cols is None else set_cols(head, cols), dimension)
            lost = False
            for rows in sheet.rows():
                lost = lost or "<f" in rows
            return self._pack(part, [head, body, set_merges(sheet.tail, merges)]), lost
        if patch.writes:
            head = grow_dimension(head, max(int(rows.max()) if len(rows) else 1 for _, rows, _ in patch.writes),
                                   max(c for c, *_ in patch.writes))
        patcher = RowPatcher(head, patch, self.date1904, self._date_styles)

        def pieces() -> Iterator[str]:
            yield head
            yield from patcher.run(sheet.rows())
            yield extend_sqrefs(sheet.tail, patch.grow) if patch.grow else sheet.tail

        packed = self._pack(part, pieces())
        return packed, patcher.lost_formula

    @cached_property
    def _date_styles(self) -> tuple[frozenset[str], str | None]:
        """The cell styles that show a date, and the tool's date style (role ``date`` of the _styles sheet)
        for a date written into a cell whose style shows none."""
        styles = opc.related(self._archive, self._workbook_part, "styles")
        try:
            fallback = self.style_roles().get("date")
        except KeyError:  # no style swatch sheet: not the tool's workbook; cells keep their styles
            fallback = None
        if not styles or fallback is None:
            return frozenset(), None
        root = parse(self._archive.read(styles[0]), styles[0])
        formats = {int(f.get("numFmtId")): f.get("formatCode", "") for f in xpath(root, "numFmt")}
        xfs = [xf for group in xpath(root, "cellXfs") for xf in group if xf.tag.rsplit("}", 1)[-1] == "xf"]
        return date_style_ids([(i, int(xf.get("numFmtId", "0"))) for i, xf in enumerate(xfs)], formats), str(fallback)

    def _pack(self, part: str, pieces: Iterable[str | bytes]) -> Packed:
        """A rewritten part packed as its entry will hold it: deflated (fast), unless the original entry was stored."""
        return pack(pieces, stored=self._archive.infos[part].compress_type == zipfile.ZIP_STORED, level=SAVE_LEVEL)

    def _text(self, part: str) -> str:
        return self._archive.read(part).decode("utf-8")

    def _entries(self, recalc_on_load: bool) -> list[Entry]:
        """Zip entries in the original order: untouched ones as their original compressed bytes."""
        parts, removed = self._new_parts(recalc_on_load)
        return [(info, *parts[name]) if name in parts else self._archive.kept(name)
                for name, info in self._archive.infos.items() if name not in removed]


@dataclasses.dataclass(frozen=True)
class SheetValues:
    """A sheet's values as calamine reads them, from A1 ("" for an empty cell), and which cells are empty."""
    name: str
    cells: np.ndarray  # rows x columns, dtype object
    blank: np.ndarray  # bool, the shape of cells

    @classmethod
    def of(cls, name: str, grid: list[list[Any]]) -> SheetValues:
        shape = (len(grid), len(grid[0]) if grid else 0)
        if len(set(map(len, grid))) > 1:  # calamine fills a sheet's used range: rows of one width
            raise ValueError(f"the rows of sheet {name} as read are not all {shape[1]} cells wide")
        cells = np.fromiter(chain.from_iterable(grid), dtype=object, count=shape[0] * shape[1]).reshape(shape)
        return cls(name, cells, cells == "")


def _set_defined_name(xml: str, name: str, formula: str) -> str:
    """workbook.xml with the workbook-level ``name`` referring to ``formula`` (added if missing)."""
    element = f'<definedName name="{name}">{escape(formula)}</definedName>'
    pattern = re.compile(rf'<definedName\b(?=[^>]*\bname="{re.escape(name)}")(?![^>]*\blocalSheetId=)[^>]*'
                         rf'(?:/>|>.*?</definedName>)', re.S)
    if pattern.search(xml):
        return pattern.sub(lambda _: element, xml, count=1)
    if "</definedNames>" in xml:
        return xml.replace("</definedNames>", element + "</definedNames>", 1)
    at = re.search(r"<calcPr\b|<oleSize\b|<customWorkbookViews\b|<pivotCaches\b|<extLst\b|</workbook>", xml).start()
    return xml[:at] + f"<definedNames>{element}</definedNames>" + xml[at:]


def _full_calc_on_load(xml: str) -> str:
    m = re.search(r"<calcPr\b[^>]*>", xml)
    if m:
        return xml[: m.start()] + set_attr(m.group(), "fullCalcOnLoad", "1") + xml[m.end():]
    at = re.search(r"<(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|webPublishing"
                   r"|fileRecoveryPr|webPublishObjects|extLst)\b|</workbook>", xml).start()
    return xml[:at] + '<calcPr fullCalcOnLoad="1"/>' + xml[at:]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
