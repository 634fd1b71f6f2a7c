"""Cell writes of a sheet buffered until save, then applied in one streaming pass over its ``<row>``
elements as text (no DOM of big sheets): existing cells keep their style, new rows copy a template row."""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat

import numpy as np

from .a1 import col_letter
from .cells import EMPTY, cell_style, cell_tails, cell_xml, row_cells
from .errors import WorkbookError
from .xmltext import attr

NEW_ROWS_AT_ONCE = 10_000  # appended rows rendered per piece of the streamed sheet

_ROW_TAG = re.compile(r'<row\b(?:[^>]*?\sr="(\d+)")?[^>]*>')  # its first r="..." captured
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



class _StyleAttrs(dict[tuple[bool, str | None], str]):
    """(whether a date is written, style of the cell written over) -> the ``s`` attribute of the cell written
    ("" for none), each worked out once by ``style_of``."""

    def __init__(self, style_of: Callable[[bool, str | None], str | None]) -> None:
        super().__init__()
        self.style_of = style_of

    def __missing__(self, key: tuple[bool, str | None]) -> str:
        s = self.style_of(*key)
        self[key] = attr = "" if s is None else f' s="{s}"'
        return attr


@dataclass
class _Block:
    """The cells of a block of rows written, encoded: row ``first`` + k has the cells ``starts[k]:starts[k + 1]``."""
    first: int
    starts: list[int]
    cols: list[int]
    tails: list[str]
    dated: list[bool]  # whether a date is written (it may change the cell's style)


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
        self.dead_shared: set[str] = set()
        self._attrs = _StyleAttrs(self._written_style)
        self._runs: dict[tuple[int, ...], tuple[re.Pattern[str], list[str]]] = {}  # see _new_run
        self._as_written: dict[tuple[int, ...], tuple[tuple[str, ...], str, list[bool]]] = {}  # see _note_styles

    def run(self, pieces: Iterable[str]) -> Iterator[str]:
        """The patched rows, piece by piece (each input piece holds whole rows)."""
        wanted = {t for *_, t in self.patch.templates}
        pending, *self._writes = self.patch.by_row()
        n, pending = len(pending), [*pending.tolist(), math.inf]  # the end marked
        self._block = _Block(0, [0], [], [], [])
        used_shared: set[str] = set()
        i = last = 0
        for rows in pieces:
            out: list[str] = []
            pos = 0
            for m in _ROW_TAG.finditer(rows):
                r = last = int(m[1] or last + 1)
                if r in wanted:
                    tag = m[0]
                    inner = rows[m.end(): _row_end(rows, m) - 6] if not tag.endswith("/>") else ""
                    self.templates[r] = (tag, {c: cell_style(x) for c, x in row_cells(inner, r).items()})
                while pending[i] < r:
                    out += [rows[pos: m.start()], self._new_row(pending[i], i)]
                    pos, i = m.start(), i + 1
                if pending[i] == r:
                    pos, i = self._patch_row(out, rows, pos, m, r, i), i + 1
            out.append(rows[pos:])
            yield self._note_shared("".join(out), used_shared)
        for start in range(i, n, NEW_ROWS_AT_ONCE):  # rows appended below the last one, in pieces
            stop = min(start + NEW_ROWS_AT_ONCE, n)
            yield self._note_shared("".join(self._new_row(pending[k], k) for k in range(start, stop)), used_shared)
        self._check_shared(used_shared)

    @staticmethod
    def _note_shared(xml: str, used: set[str]) -> str:
        if "<f" in xml:
            used.update(_SHARED_USE.findall(xml))
        return xml

    def _written(self, i: int) -> tuple[list[int], list[str], list[bool]]:
        """The columns of the cells of the i-th row written, in order, their tails and whether each is a date."""
        block = self._block
        if not block.first <= i < block.first + len(block.starts) - 1:
            block = self._block = self._encode(i)
        a, b = block.starts[i - block.first], block.starts[i - block.first + 1]
        return block.cols[a:b], block.tails[a:b], block.dated[a:b]

    def _encode(self, i: int) -> _Block:
        """The cells of the rows written from the i-th on, NEW_ROWS_AT_ONCE rows of them (so that even a million
        appended rows are never all encoded at once)."""
        starts, cols, values = self._writes
        starts = starts[i: i + NEW_ROWS_AT_ONCE + 1]
        a, b = starts[0], starts[-1]
        values = values[a:b].tolist()
        dated = (list(map(isinstance, values, repeat((dt.date, np.datetime64)))) if self.date_style is not None
                 else [False] * len(values))
        return _Block(i, (starts - a).tolist(), cols[a:b].tolist(), cell_tails(values, self.date1904), dated)

    def _written_style(self, dated: bool, style: str | None) -> str | None:
        """The style a cell of ``style`` keeps, unless it gets a date and its style shows none."""
        if dated and self.date_style is not None and style not in self.date_styles:
            return self.date_style
        return style

    def _patch_row(self, out: list[str], rows: str, pos: int, row: re.Match[str], r: int, i: int) -> int:
        """Append to ``out`` the piece's text from ``pos`` to the written cells of ``row`` (the i-th row written)
        and them; the position in ``rows`` where the text kept goes on."""
        tag, start = row[0], row.end()
        closed = tag.endswith("/>")
        end = start if closed else _row_end(rows, row)
        stop = end if closed else end - 6  # the end of the row's cells
        if " spans=" in tag:  # spans is an optional hint that may no longer hold
            tag = _SPANS.sub("", tag)
        if closed:
            tag = tag[:-2].rstrip() + ">"
        written, tails, dated = self._written(i)
        cols = tuple(written)
        run, starts = self._runs.get(cols) or self._new_run(cols)
        at = rows.find(f"{starts[0]}{r}\"", start, stop)
        if at >= 0 and self._unchanged(rows, at, stop, r, cols, tails, dated):
            if tag == row[0]:
                return pos
            out += [rows[pos: row.start()], tag]  # the tag without spans, the rest of the row as it is
            return start
        found = run.match(rows, at, stop) if at >= 0 else None
        if found is None:  # a target cell is missing: the row is laid out again
            out += [rows[pos: row.start()], self._patch_row_slow(tag, rows[start:stop], r, i)]
            return end
        out += [rows[pos:at]] if tag == row[0] else [rows[pos: row.start()], tag, rows[start:at]]
        groups = found.groups()  # the row number, the first cell's style, then (gap, style) for each further cell
        styles, gaps = groups[1::2], ("", *groups[2::2])
        if None not in styles and self._as_written.get(cols, ((),))[0] != styles:
            self._note_styles(cols, starts, styles)
        if rows.find("<f", at, found.end()) >= 0:
            self._lose_formulas(rows, at, found)
        attrs = map(self._attrs.__getitem__, zip(dated, styles))
        ref = f'{r}"'
        out += [f"{gap}{cell}{ref}{s}{tail}" if s or tail != EMPTY else gap
                for gap, cell, s, tail in zip(gaps, starts, attrs, tails)]
        return found.end()

    def _note_styles(self, cols: tuple[int, ...], starts: list[str], styles: tuple[str, ...]) -> None:
        """Note the styles of the written cells of the row patched last: the template of the cells written into a
        row that has them side by side with these styles (``str.format`` of the row number and the tails), and
        which of them a date written there would give another style."""
        template = "".join(f'{cell}{{0}}" s="{s}"{{{k}}}' for k, (cell, s) in enumerate(zip(starts, styles), 1))
        changed = [self._attrs[True, s] != f' s="{s}"' for s in styles]
        self._as_written[cols] = styles, template, changed

    def _unchanged(self, rows: str, at: int, stop: int, r: int, cols: tuple[int, ...], tails: list[str],
                   dated: list[bool]) -> bool:
        """Whether the written cells of row ``r`` lie side by side from ``at`` and already read, byte for byte,
        as they would be written, with the styles of the row patched last (as in a ledger refreshed again): the
        row's text then stays as it is, with no need to find its cells."""
        noted = self._as_written.get(cols)
        if noted is None:
            return False
        _, template, changed = noted
        if any(compress(dated, changed)):
            return False
        return rows.startswith(template.format(r, *tails), at, stop)

    def _lose_formulas(self, rows: str, at: int, found: re.Match[str]) -> None:
        """Note the formulas of the written cells ``found`` from ``at`` (not of the cells kept between them)."""
        gaps = range(3, found.re.groups + 1, 2)  # the gaps' group numbers
        for a, b in zip([at, *(found.end(g) for g in gaps)], [*(found.start(g) for g in gaps), found.end()]):
            if "<f" in rows[a:b]:
                self._lose_formula(rows[a:b])

    def _new_run(self, cols: tuple[int, ...]) -> tuple[re.Pattern[str], list[str]]:
        """The written cells of a row with these columns, from the first: each the first ``<c r="REF"`` after
        the one before, up to its first ">" ("/>" ends it, else its first "</c>"), its first s="..." captured
        (atomic groups: a cell once found is never sought further on, so a missing one costs one scan); and
        the start of each cell as written, up to its row number."""
        cell = '<c r="{}{}"(?:[^>]*?\\ss="(\\d+)")?[^>]*?(?:/>|>.*?</c>)'
        first = "(?>" + cell.format(col_letter(cols[0]), "(\\d+)") + ")"
        rest = "".join("(?>(.*?)" + cell.format(col_letter(c), "\\1") + ")" for c in cols[1:])
        self._runs[cols] = found = re.compile(first + rest, re.S), [f'<c r="{col_letter(c)}' for c in cols]
        return found

    def _patch_row_slow(self, tag: str, inner: str, r: int, i: int) -> str:
        """Re-lay the row's cells in column order (used when a target cell is missing)."""
        cells = row_cells(inner, r)
        for c, tail, dated in zip(*self._written(i)):
            cells[c] = self._rewrite(cells.get(c), c, f"{col_letter(c)}{r}", tail, dated, tag)
        return tag + "".join(cells[c] for c in sorted(cells)) + "</row>"

    def _new_row(self, r: int, i: int) -> str:
        attrs, styles = self._new_row_format(self.patch.template_of(r))
        tag = f'<row r="{r}"{attrs}>'
        cells = []
        for c, tail, dated in zip(*self._written(i)):
            if c not in styles:
                styles[c] = self._default_style(c, tag)
            cells.append(cell_xml(f"{col_letter(c)}{r}", self._written_style(dated, styles[c]), tail))
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

    def _rewrite(self, old: str | None, c: int, ref: str, tail: str, dated: bool, row_tag: str) -> str:
        """XML of cell `ref` (column c) holding `tail`, keeping the old cell's style."""
        if old is not None and "<f" in old:
            self._lose_formula(old)
        style = cell_style(old) if old is not None else self._default_style(c, row_tag)
        return cell_xml(ref, self._written_style(dated, style), tail)

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


def _row_end(rows: str, row: re.Match[str]) -> int:
    """Where a (not self-closing) row ends in the piece: after its "</row>"."""
    return rows.index("</row>", row.end()) + 6
