"""Cell writes of a sheet buffered until save, then applied in one streaming pass over its ``<row>``
elements as text (no DOM of big sheets): existing cells keep their style, new rows copy a template row."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .a1 import col_letter
from .cells import S_ATTR, cell_style, cell_xml, encode_value, row_cells
from .errors import WorkbookError
from .xmltext import attr

NEW_ROWS_AT_ONCE = 10_000  # appended rows rendered per piece of the streamed sheet

_ROW_TAG = re.compile(r"<row\b[^>]*>")
_ROW_R = re.compile(r'\sr="(\d+)"')
_SPANS = re.compile(r'\sspans="[^"]*"')
_SHARED_MASTER = re.compile(r'<f\b(?=[^>]*\bt="shared")(?=[^>]*\bref=)[^>]*\bsi="(\d+)"')
_SHARED_USE = re.compile(r'<f\b[^>]*\bsi="(\d+)"')
_COL_TAG = re.compile(r"<col\b[^>]*>")


@dataclass
class SheetPatch:
    # cell writes as given, batch by batch: (column, Excel rows, values). Values are checked when given and
    # encoded only as the sheet streams out at save, so even a million appended rows hold no XML.
    writes: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    templates: list[tuple[int, int, int]] = field(default_factory=list)  # (first, last new row, template row)
    grow: list[tuple[int, int, int, int]] = field(default_factory=list)  # (col1, col2, old_last, new_last)
    generated: tuple[str, str, list[str], str | None] | None = None  # (rows xml, dimension, merges, cols xml)

    def template_of(self, r: int) -> int | None:
        return next((t for first, last, t in self.templates if first <= r <= last), None)

    def by_row(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The writes in sheet order, the last write of a cell winning: the rows written, where each row's
        cells start in the columns/values arrays (plus the end), the columns, the values."""
        if not any(len(rows) for _, rows, _ in self.writes):
            return (np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32),
                    np.zeros(0, dtype=object))
        rows = np.concatenate([rows.astype(np.int32) for _, rows, _ in self.writes])  # Excel: < 2**20 rows
        cols = np.concatenate([np.full(len(rows), c, dtype=np.int32) for c, rows, _ in self.writes])
        values = np.concatenate([values for *_, values in self.writes])
        order = np.lexsort((np.arange(len(rows)), cols, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        final = np.r_[(rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1]), True]
        rows, cols, values = rows[final], cols[final], values[final]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        return rows[starts], np.r_[starts, len(rows)], cols, values



class RowPatcher:
    """One streaming pass over a sheet's rows applying buffered cell writes."""

    def __init__(self, head: str, patch: SheetPatch, date1904: bool,
                 date_styles: tuple[frozenset[str], str | None] = (frozenset(), None)) -> None:
        """``date_styles``: the styles that show a date, and the one a date gets in a cell whose style does
        not (a bare serial such as 46349 would show otherwise); None keeps every cell's style."""
        self.patch, self.date1904 = patch, date1904
        self.date_styles, self.date_style = date_styles
        self.col_styles = [(int(attr(t, "min")), int(attr(t, "max")), attr(t, "style"))
                           for t in _COL_TAG.findall(head)]
        self.templates: dict[int, tuple[str, dict[int, str]]] = {}  # row -> (row attrs, col -> s)
        self.formats: dict[int | None, tuple[str, dict[int, str | None]]] = {}  # see _new_row_format
        self.lost_formula = False
        self._dated: set[int] = set()  # columns of the row being written that get a date
        self.dead_shared: set[str] = set()

    def run(self, pieces: Iterable[str]) -> Iterator[str]:
        """The patched rows, piece by piece (each input piece holds whole rows)."""
        wanted = {t for *_, t in self.patch.templates}
        pending, self._starts, self._cols, self._values = self.patch.by_row()
        used_shared: set[str] = set()
        i = last = 0
        for rows in pieces:
            out: list[str] = []
            pos = 0
            for m in _ROW_TAG.finditer(rows):
                tag = m.group()
                m_r = _ROW_R.search(tag)
                r = int(m_r.group(1)) if m_r else last + 1
                end = m.end() if tag.endswith("/>") else rows.index("</row>", m.end()) + 6
                inner = "" if tag.endswith("/>") else rows[m.end(): end - 6]
                if r in wanted:
                    self.templates[r] = (tag, {c: cell_style(x) for c, x in row_cells(inner, r).items()})
                while i < len(pending) and pending[i] < r:
                    out += [rows[pos: m.start()], self._new_row(int(pending[i]), i)]
                    pos, i = m.start(), i + 1
                if i < len(pending) and pending[i] == r:
                    out += [rows[pos: m.start()], self._patch_row(tag, inner, r, self._puts(i))]
                    pos, i = end, i + 1
                last = r
            out.append(rows[pos:])
            yield self._note_shared("".join(out), used_shared)
        for start in range(i, len(pending), NEW_ROWS_AT_ONCE):  # rows appended below the last one, in pieces
            stop = min(start + NEW_ROWS_AT_ONCE, len(pending))
            yield self._note_shared("".join(self._new_row(int(pending[k]), k) for k in range(start, stop)), used_shared)
        self._check_shared(used_shared)

    @staticmethod
    def _note_shared(xml: str, used: set[str]) -> str:
        if "<f" in xml:
            used.update(_SHARED_USE.findall(xml))
        return xml

    def _puts(self, i: int) -> dict[int, tuple[str, str] | None]:
        """Column -> encoded value of the i-th row written (noting the columns that get a date)."""
        a, b = self._starts[i], self._starts[i + 1]
        cells = list(zip(self._cols[a:b].tolist(), self._values[a:b].tolist()))
        self._dated = {c for c, v in cells if isinstance(v, (dt.date, np.datetime64, pd.Timestamp))}
        return {c: encode_value(v, self.date1904) for c, v in cells}

    def _style(self, c: int, style: str | None) -> str | None:
        """The style a written cell keeps, unless it gets a date and its style shows none."""
        if c in self._dated and self.date_style is not None and style not in self.date_styles:
            return self.date_style
        return style

    def _patch_row(self, tag: str, inner: str, r: int, puts: dict[int, tuple[str, str] | None]) -> str:
        if " spans=" in tag:  # spans is an optional hint that may no longer hold
            tag = _SPANS.sub("", tag)
        if tag.endswith("/>"):
            tag = tag[:-2].rstrip() + ">"
        pieces, pos = [tag], 0
        for c in sorted(puts):  # fast path: target cells exist as <c r="REF"...>, in column order
            ref = f"{col_letter(c)}{r}"
            a = inner.find(f'<c r="{ref}"', pos)
            if a < 0:
                return self._patch_row_slow(tag, inner, r, puts)
            b = inner.index(">", a)
            end = b + 1 if inner[b - 1] == "/" else inner.index("</c>", b) + 4
            style = S_ATTR.search(inner, a, b)
            if inner.find("<f", b, end) >= 0:
                self._lose_formula(inner[a:end])
            pieces += [inner[pos:a], cell_xml(ref, self._style(c, style and style.group(1)), puts[c])]
            pos = end
        pieces += [inner[pos:], "</row>"]
        return "".join(pieces)

    def _patch_row_slow(self, tag: str, inner: str, r: int, puts: dict[int, tuple[str, str] | None]) -> str:
        """Re-lay the row's cells in column order (used when a target cell is missing)."""
        cells = row_cells(inner, r)
        for c, enc in puts.items():
            cells[c] = self._rewrite(cells.get(c), c, f"{col_letter(c)}{r}", enc, tag)
        return tag + "".join(cells[c] for c in sorted(cells)) + "</row>"

    def _new_row(self, r: int, i: int) -> str:
        attrs, styles = self._new_row_format(self.patch.template_of(r))
        tag = f'<row r="{r}"{attrs}>'
        cells = []
        for c, enc in self._puts(i).items():
            if c not in styles:
                styles[c] = self._default_style(c, tag)
            cells.append(cell_xml(f"{col_letter(c)}{r}", self._style(c, styles[c]), enc))
        return f"{tag}{''.join(cells)}</row>"

    def _new_row_format(self, template_row: int | None) -> tuple[str, dict[int, str | None]]:
        """Row attributes and (filled as met) cell styles of new rows copying a template row; shared by all
        rows appended under the same template."""
        if template_row not in self.formats:
            template = self.templates.get(template_row)
            attrs = ""
            if template:  # copy the template row's attributes (height, style...) except position/visibility
                attrs = re.sub(r'\s(?:r|spans|hidden|collapsed)="[^"]*"', "", template[0][4:].rstrip("/>"))
            self.formats[template_row] = (attrs.rstrip(), {})
        return self.formats[template_row]

    def _rewrite(self, old: str | None, c: int, ref: str, enc: tuple[str, str] | None, row_tag: str) -> str:
        """XML of cell `ref` (column c) holding `enc`, keeping the old cell's style."""
        if old is not None and "<f" in old:
            self._lose_formula(old)
        return cell_xml(ref, self._style(c, cell_style(old) if old is not None else self._default_style(c, row_tag)),
                        enc)

    def _lose_formula(self, old: str) -> None:
        self.lost_formula = True
        master = _SHARED_MASTER.search(old)
        if master:
            self.dead_shared.add(master.group(1))

    def _default_style(self, c: int, row_tag: str) -> str | None:
        """Style of a new cell: the template row's cell, else the row style, else the column style."""
        m_r = _ROW_R.search(row_tag)
        template = self.templates.get(self.patch.template_of(int(m_r.group(1))))
        if template and c in template[1]:
            return template[1][c]
        if attr(row_tag, "customFormat") in ("1", "true"):
            return attr(row_tag, "s")
        return next((s for lo, hi, s in self.col_styles if lo <= c <= hi), None)

    def _check_shared(self, used: set[str]) -> None:
        dead = self.dead_shared & used
        if dead:
            raise WorkbookError(
                f"cannot overwrite the master cell of shared formula #{min(dead)}: other cells still use it")

