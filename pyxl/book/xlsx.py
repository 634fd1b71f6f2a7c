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

Reads (``read_table``, ``read_sheet_values``, ...) show the package as opened or last saved; pending
patches become visible after ``save()``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import numbers
import os
import posixpath
import re
import shutil
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import numpy as np
import pandas as pd
import python_calamine
from lxml import etree

from . import charts

# --- limits (zip-bomb guard) -------------------------------------------------------------------
MAX_PART_BYTES = 1 << 30  # uncompressed size of one part
MAX_TOTAL_BYTES = 2 << 30  # uncompressed size of all parts
MAX_RATIO = 200  # uncompressed/compressed, checked for parts above RATIO_MIN_BYTES
RATIO_MIN_BYTES = 1 << 20
COMPRESS_LEVEL = 5  # zlib level for rewritten parts: ~1% larger than level 6 (Excel-like), ~40% faster
MAX_CELL_TEXT = 32767  # Excel's limit on characters in a cell
STREAM_CHUNK = 1 << 22  # bytes of a part inflated at a time (big sheets are rewritten as they stream)
NEW_ROWS_AT_ONCE = 10_000  # appended rows rendered per piece of the streamed sheet

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

Cell: TypeAlias = Any  # a value, or (value, role) with role naming a style in style_roles()


class WorkbookError(Exception):
    """The workbook cannot be read or written headless."""


class WorkbookOpenInExcelError(WorkbookError):
    """An Excel owner file ``~$<name>`` exists: the workbook is open in Excel."""


class NotAWorkbookError(WorkbookError):
    """The file is not an xlsx/xlsm zip package."""


class UnsafePackageError(WorkbookError):
    """A part is suspiciously large, compressed too well, or uses a DTD."""


@dataclass(frozen=True)
class SheetInfo:
    name: str
    code_name: str | None
    part: str  # zip path, e.g. "xl/worksheets/sheet1.xml"
    state: str  # visible | hidden | veryHidden
    sheet_id: int


@dataclass(frozen=True)
class TableInfo:
    name: str  # displayName (the name used in formulas)
    sheet: str  # sheet name
    part: str  # zip path of the table part
    ref: str  # e.g. "A1:Z120"
    header_row: int  # Excel row of the header (first row of ref)
    first_col: int  # 1-based
    last_row: int
    columns: tuple[str, ...]
    header_rows: int = 1
    totals_rows: int = 0

    @property
    def data_rows(self) -> range:
        return range(self.header_row + self.header_rows, self.last_row - self.totals_rows + 1)


@dataclass
class _SheetPatch:
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


# --- cell references ---------------------------------------------------------------------------
_LETTERS: dict[int, str] = {}


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


_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def parse_ref(ref: str) -> tuple[int, int, int, int]:
    """"B2:D9" -> (row1, col1, row2, col2); a single cell gives a 1x1 range."""
    cells = [_REF.fullmatch(p) for p in ref.split(":")]
    if not cells or len(cells) > 2 or not all(cells):
        raise ValueError(f"bad cell range {ref!r}")
    (c1, r1), (c2, r2) = cells[0].groups(), cells[-1].groups()
    return int(r1), col_index(c1), int(r2), col_index(c2)


def _range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


# --- value encoding ----------------------------------------------------------------------------
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff&<>]|_x[0-9A-Fa-f]{4}_")
_ALWAYS_ENCODABLE = frozenset({float, int, bool, type(None)})
_ALWAYS_FITS = MAX_CELL_TEXT // 7  # escaping grows text at most 7-fold ("\r" -> "_x000D_")
_DAYS = frozenset({dt.date, dt.datetime})
_EPOCH = {False: dt.date(1899, 12, 31).toordinal(), True: dt.date(1904, 1, 1).toordinal()}


def _text_xml(text: str) -> str:
    if _SPECIAL.search(text):
        text = _ILLEGAL_XML.sub("", text)
        text = _XESCAPE.sub(r"_x005F_\1", text)  # keep a literal "_x0041_" from being decoded by Excel
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "_x000D_")
    if len(text) > MAX_CELL_TEXT:
        raise ValueError(f"text longer than Excel's {MAX_CELL_TEXT} characters: {text[:40]!r}...")
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<is><t{space}>{text}</t></is>"


def _after_epoch(day: dt.date, date1904: bool) -> bool:
    """Whether the date system can hold the day (1900: from 1900-01-01, 1904: from 1904-01-01)."""
    return day.toordinal() - _EPOCH[date1904] >= (0 if date1904 else 1)


def _serial(value: dt.date | dt.time, date1904: bool) -> float:
    """Excel serial number of a date/datetime/time (1900 or 1904 date system)."""
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not _after_epoch(value, date1904):
        raise ValueError(f"date {value} is before Excel's epoch")
    days = value.toordinal() - _EPOCH[date1904]
    if not date1904 and days >= 60:
        days += 1  # Excel's phantom 1900-02-29
    return days + (_serial(value.time(), date1904) if isinstance(value, dt.datetime) else 0)


def encode_value(value: Any, date1904: bool = False) -> tuple[str, str] | None:
    """Python value -> (t attribute, inner XML) of a cell, or None for an empty cell.

    Text is always an inline string (never a formula, even when it starts with "=")."""
    kind = type(value)
    if kind is float:  # fast paths for the common exact types
        return ("", f"<v>{value!r}</v>") if math.isfinite(value) else None
    if kind is int:
        return "", f"<v>{value}</v>"
    if kind is dt.date:
        return "", f"<v>{int(_serial(value, date1904))}</v>"
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, str) and not value):
        return None
    if isinstance(value, str):
        return ' t="inlineStr"', _text_xml(value)
    if isinstance(value, (bool, np.bool_)):
        return ' t="b"', f"<v>{int(value)}</v>"
    if isinstance(value, numbers.Integral):
        return "", f"<v>{int(value)}</v>"
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return None
    if isinstance(value, (dt.date, dt.time)):
        serial = _serial(value, date1904)
        return "", f"<v>{int(serial) if serial == int(serial) else repr(serial)}</v>"
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        number = float(value)
        return ("", f"<v>{repr(number)}</v>") if math.isfinite(number) else None
    raise TypeError(f"cannot write a {type(value).__name__} to a cell: {value!r}")


# --- XML helpers -------------------------------------------------------------------------------
def _parse(data: bytes, part: str) -> etree._Element:
    root = etree.fromstring(data, _SAFE_PARSER)
    if root.getroottree().docinfo.doctype:
        raise UnsafePackageError(f"{part}: XML with a DTD is not accepted")
    return root


def _xpath(root: etree._Element, name: str) -> list[etree._Element]:
    return root.xpath(f"//*[local-name()='{name}']")


def _rel_id(el: etree._Element) -> str:
    return next(v for k, v in el.attrib.items() if k == f"{{{_REL_NS}}}id" or k.endswith("}id"))


def _set_attr(tag: str, name: str, value: str) -> str:
    """Set attribute `name` in a start tag given as text."""
    pattern = re.compile(rf'(\s{name}=)("[^"]*"|\'[^\']*\')')
    if pattern.search(tag):
        return pattern.sub(lambda m: f'{m.group(1)}"{value}"', tag, count=1)
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'


def _attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\s{name}=(?:"([^"]*)"|\'([^\']*)\')', tag)
    return None if m is None else m.group(1) if m.group(1) is not None else m.group(2)


def _decode_xstring(text: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


# --- sheet XML streaming -----------------------------------------------------------------------
_ROW_TAG = re.compile(r"<row\b[^>]*>")
_CELL = re.compile(r"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
_CELL_REF = re.compile(r'\sr="([A-Z]+)\d+"')
_S_ATTR = re.compile(r'\ss="(\d+)"')
_ROW_R = re.compile(r'\sr="(\d+)"')
_SPANS = re.compile(r'\sspans="[^"]*"')
_SHARED_MASTER = re.compile(r'<f\b(?=[^>]*\bt="shared")(?=[^>]*\bref=)[^>]*\bsi="(\d+)"')
_COL_TAG = re.compile(r"<col\b[^>]*>")
_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData\b[^>]*>")
_SHEET_DATA_BYTES = re.compile(_SHEET_DATA.pattern.encode())
_SHARED_USE = re.compile(r'<f\b[^>]*\bsi="(\d+)"')
_AFTER_MERGES = re.compile(
    r"<(?:phoneticPr|conditionalFormatting|dataValidations|hyperlinks|printOptions|pageMargins|pageSetup"
    r"|headerFooter|rowBreaks|colBreaks|customProperties|cellWatches|ignoredErrors|smartTags|drawing"
    r"|legacyDrawing|legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts"
    r"|extLst)\b|</worksheet>"
)


_SHEET_DATA_BYTES = re.compile(rb"<sheetData\s*/>|<sheetData\b[^>]*>")


class _SheetStream:
    """Sheet XML read a few MiB at a time: ``head`` (ending with <sheetData>), ``rows()`` (whole rows per
    piece), then ``tail`` (from </sheetData>). Cuts fall on ASCII tags, so UTF-8 characters stay whole."""

    def __init__(self, chunks: Iterable[bytes], part: str) -> None:
        self._chunks, self._buf, self._part = iter(chunks), b"", part
        for chunk in self._chunks:
            self._buf += chunk
            m = _SHEET_DATA_BYTES.search(self._buf)
            if m is None:
                continue
            if m.group().endswith(b"/>"):  # an empty <sheetData/>
                self.head = self._buf[: m.start()].decode("utf-8") + "<sheetData>"
                self._buf = b"</sheetData>" + self._buf[m.end():]
            else:
                self.head, self._buf = self._buf[: m.end()].decode("utf-8"), self._buf[m.end():]
            return
        raise WorkbookError(f"{part}: no <sheetData> (not a worksheet, or an unsupported XML prefix)")

    def rows(self) -> Iterator[str]:
        while True:
            end = self._buf.find(b"</sheetData>")
            cut = end if end >= 0 else self._buf.rfind(b"</row>") + 6 if b"</row>" in self._buf else 0
            if cut:
                yield self._buf[:cut].decode("utf-8")
                self._buf = self._buf[cut:]
            if end >= 0:
                return
            chunk = next(self._chunks, None)
            if chunk is None:
                raise WorkbookError(f"{self._part}: the sheet XML ends inside <sheetData>")
            self._buf += chunk

    @property
    def tail(self) -> str:
        return (self._buf + b"".join(self._chunks)).decode("utf-8")


class _RowPatcher:
    """One streaming pass over a sheet's rows applying buffered cell writes."""

    def __init__(self, head: str, patch: _SheetPatch, date1904: bool) -> None:
        self.patch, self.date1904 = patch, date1904
        self.col_styles = [(int(_attr(t, "min")), int(_attr(t, "max")), _attr(t, "style"))
                           for t in _COL_TAG.findall(head)]
        self.templates: dict[int, tuple[str, dict[int, str]]] = {}  # row -> (row attrs, col -> s)
        self.formats: dict[int | None, tuple[str, dict[int, str | None]]] = {}  # see _new_row_format
        self.lost_formula = False
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
                    self.templates[r] = (tag, {c: _cell_style(x) for c, x in _cells(inner, r).items()})
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
        """Column -> encoded value of the i-th row written."""
        a, b = self._starts[i], self._starts[i + 1]
        cells = zip(self._cols[a:b].tolist(), self._values[a:b].tolist())
        return {c: encode_value(v, self.date1904) for c, v in cells}

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
            style = _S_ATTR.search(inner, a, b)
            if inner.find("<f", b, end) >= 0:
                self._lose_formula(inner[a:end])
            pieces += [inner[pos:a], _cell_xml(ref, style and style.group(1), puts[c])]
            pos = end
        pieces += [inner[pos:], "</row>"]
        return "".join(pieces)

    def _patch_row_slow(self, tag: str, inner: str, r: int, puts: dict[int, tuple[str, str] | None]) -> str:
        """Re-lay the row's cells in column order (used when a target cell is missing)."""
        cells = _cells(inner, r)
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
            cells.append(_cell_xml(f"{col_letter(c)}{r}", styles[c], enc))
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
        return _cell_xml(ref, _cell_style(old) if old is not None else self._default_style(c, row_tag), enc)

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
        if _attr(row_tag, "customFormat") in ("1", "true"):
            return _attr(row_tag, "s")
        return next((s for lo, hi, s in self.col_styles if lo <= c <= hi), None)

    def _check_shared(self, used: set[str]) -> None:
        dead = self.dead_shared & used
        if dead:
            raise WorkbookError(
                f"cannot overwrite the master cell of shared formula #{min(dead)}: other cells still use it")


def _cells(inner: str, r: int) -> dict[int, str]:
    """Column -> cell XML of every cell in a row (cells without r= follow their predecessor)."""
    out: dict[int, str] = {}
    col = 0
    for xml in _CELL.findall(inner):
        m = _CELL_REF.search(xml[: xml.index(">")])
        col = col_index(m.group(1)) if m else col + 1
        out[col] = xml if m else xml.replace("<c", f'<c r="{col_letter(col)}{r}"', 1)
    return out


def _cell_xml(ref: str, style: str | None, enc: tuple[str, str] | None) -> str:
    s = f' s="{style}"' if style is not None else ""
    if enc is None:
        return f'<c r="{ref}"{s}/>' if s else ""
    return f'<c r="{ref}"{s}{enc[0]}>{enc[1]}</c>'


def _cell_style(cell: str) -> str | None:
    m = _S_ATTR.search(cell, 0, cell.index(">"))
    return m.group(1) if m else None


def _set_dimension(head: str, ref: str) -> str:
    if "<dimension" in head:
        return re.sub(r"<dimension\b[^>]*>", f'<dimension ref="{ref}"/>', head, count=1)
    return head  # optional element; Excel computes it


def _grow_dimension(head: str, max_row: int, max_col: int) -> str:
    m = re.search(r'<dimension\s+ref="([^"]*)"', head)
    if not m:
        return head
    r1, c1, r2, c2 = parse_ref(m.group(1))
    return _set_dimension(head, _range_ref(r1, c1, max(r2, max_row), max(c2, max_col)))


def _extend_sqrefs(tail: str, grow: Sequence[tuple[int, int, int, int]]) -> str:
    """Extend conditional formats/validations that end on a table's last row down to its new last row."""

    def fix(ranges: str) -> str:
        out = []
        for part in ranges.split():
            r1, c1, r2, c2 = parse_ref(part)
            for lo, hi, old, new in grow:  # in order: one table may grow several times
                if r2 == old and lo <= c1 and c2 <= hi:
                    r2, part = new, _range_ref(r1, c1, new, c2)
            out.append(part)
        return " ".join(out)

    tail = re.sub(r'(\ssqref=")([^"]*)"', lambda m: f'{m.group(1)}{fix(m.group(2))}"', tail)
    return re.sub(r"(<xm:sqref>)([^<]*)(</xm:sqref>)", lambda m: m.group(1) + fix(m.group(2)) + m.group(3), tail)


def _set_merges(tail: str, merges: Sequence[str]) -> str:
    tail = re.sub(r"<mergeCells\b[^>]*?(?:/>|>.*?</mergeCells>)", "", tail, flags=re.S)
    if not merges:
        return tail
    xml = f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + "</mergeCells>"
    at = _AFTER_MERGES.search(tail).start()
    return tail[:at] + xml + tail[at:]


def _cols_xml(widths: Mapping[int | str, float]) -> str:
    """<cols> with the given widths; keys are 1-based column numbers or letters."""
    items = sorted((k if isinstance(k, int) else col_index(k), float(w)) for k, w in widths.items())
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in items)
    return f"<cols>{cols}</cols>" if cols else ""


def _set_cols(head: str, cols: str) -> str:
    head = re.sub(r"<cols\b[^>]*?(?:/>|>.*?</cols>)", "", head, flags=re.S)
    at = _SHEET_DATA.search(head).start()
    return head[:at] + cols + head[at:]


# --- zip I/O -----------------------------------------------------------------------------------
def _local_data_offset(raw: bytes, info: zipfile.ZipInfo) -> int:
    sig, *_, name_len, extra_len = struct.unpack_from("<IHHHHHIIIHH", raw, info.header_offset)
    if sig != 0x04034B50:
        raise NotAWorkbookError(f"corrupt zip entry {info.filename}")
    return info.header_offset + 30 + name_len + extra_len


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    y = max(y, 1980)
    return h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d


_Packed: TypeAlias = tuple[int, bytes, int, int]  # method, packed bytes, crc, size
_Entry: TypeAlias = tuple[zipfile.ZipInfo, int, bytes, int, int]  # info, method, packed bytes, crc, size


def _packed_data(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    """The compressed bytes of a zip entry."""
    start = _local_data_offset(raw, info)
    return raw[start: start + info.compress_size]


def _inflate_entry(archive: zipfile.ZipFile, raw: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A zip entry's uncompressed bytes, a few MiB at a time."""
    if info.compress_type == zipfile.ZIP_DEFLATED:
        z, pending = zlib.decompressobj(-15), _packed_data(raw, info)
        while not z.eof:
            data = z.decompress(pending, STREAM_CHUNK)
            pending = z.unconsumed_tail
            if not data and not pending:
                break  # truncated stream: a size check reports it
            yield data
    elif info.compress_type == zipfile.ZIP_STORED:
        yield _packed_data(raw, info)
    else:
        yield archive.read(info.filename)


def _deflated(data: bytes) -> bytes:
    z = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush()


def repack(raw: bytes, drop: Collection[str], edit: Callable[[str, Callable[[], Iterator[bytes]]], bytes | None]
           ) -> bytes:
    """A copy of the zip package ``raw`` without the ``drop`` parts. ``edit(part, read)`` returns a part's new
    bytes, or None to keep it (``read()`` streams its current bytes); kept parts are copied as compressed,
    never deflated again, and entries stay in their order."""
    archive = zipfile.ZipFile(io.BytesIO(raw))
    entries: list[_Entry] = []
    for info in archive.infolist():
        if info.filename in drop:
            continue
        new = edit(info.filename, lambda: _inflate_entry(archive, raw, info))
        if new is None and info.compress_type == zipfile.ZIP_DEFLATED:
            entries.append((info, zipfile.ZIP_DEFLATED, _packed_data(raw, info), info.CRC, info.file_size))
        else:
            data = archive.read(info.filename) if new is None else new
            entries.append((info, zipfile.ZIP_DEFLATED, _deflated(data), zlib.crc32(data), len(data)))
    out = io.BytesIO()
    _write_zip(out, entries)
    return out.getvalue()




def _write_zip(fh: BinaryIO, entries: Iterable[_Entry]) -> None:
    """Write zip entries; local and central headers are rebuilt, packed data is written as given."""
    central, offset = [], 0
    for info, method, data, crc, size in entries:
        try:
            name, flags = info.filename.encode("ascii"), 0
        except UnicodeEncodeError:
            name, flags = info.filename.encode("utf-8"), 0x800
        dtime, ddate = _dos_time(info.date_time)
        fields = (20, flags, method, dtime, ddate, crc, len(data), size, len(name))
        fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name)
        fh.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0,
                                   info.internal_attr, info.external_attr, offset) + name)
        offset += 30 + len(name) + len(data)
    directory = b"".join(central)
    if offset > 0xFFFFFFFF or len(central) > 0xFFFF:
        raise WorkbookError("package too large to write (zip64 is not supported)")
    fh.write(directory)
    fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), offset, 0))


# --- the package -------------------------------------------------------------------------------
class WorkbookPackage:
    """An xlsx/xlsm file held in memory; reads values and buffers surgical patches until save()."""

    def __init__(self, path: Path, raw: bytes, stat: os.stat_result) -> None:
        self.path, self._raw, self._stat = path, raw, stat
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(raw))
        except zipfile.BadZipFile as exc:
            hint = " (encrypted workbook or legacy .xls?)" if raw[:4] == b"\xd0\xcf\x11\xe0" else ""
            raise NotAWorkbookError(f"{path} is not an xlsx/xlsm package{hint}: {exc}") from exc
        self._infos = {i.filename: i for i in self._zip.infolist()}
        self._check_sizes()
        self._workbook_part = self._office_document()
        self._load_workbook()
        self._patches: dict[str, _SheetPatch] = {}
        self._table_last: dict[str, int] = {}  # pending last row of each appended table
        self._table_next: dict[str, int] = {}  # pending first free row of each appended table
        self._charts: dict[str, bytes] = {}  # chart part -> rewritten XML
        self._filled: dict[str, np.ndarray] = {}  # table -> whether each sheet row has a value in its columns
        self._calamine: python_calamine.CalamineWorkbook | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> WorkbookPackage:
        path = Path(path)
        _refuse_if_open_in_excel(path)
        with open(path, "rb") as fh:
            stat = os.fstat(fh.fileno())
            return cls(path, fh.read(), stat)

    # --- reading ---------------------------------------------------------------------------
    def sheets(self) -> list[SheetInfo]:
        return list(self._sheets)

    def sheet_by_codename(self, code: str) -> SheetInfo:
        for sheet in self._sheets:
            if sheet.code_name == code:
                return sheet
        raise KeyError(f"no sheet with codeName {code!r}; have {[s.code_name for s in self._sheets]}")

    def sheet(self, code_or_name: str) -> SheetInfo:
        """A sheet by codeName, else by (case-insensitive) sheet name."""
        for sheet in self._sheets:
            if sheet.code_name == code_or_name:
                return sheet
        for sheet in self._sheets:
            if sheet.name.casefold() == code_or_name.casefold():
                return sheet
        raise KeyError(f"no sheet with codeName or name {code_or_name!r}")

    def tables(self) -> dict[str, TableInfo]:
        return dict(self._tables)

    def read_table(self, table: str) -> pd.DataFrame:
        """Data rows of a table: header labels as columns, Excel row numbers as index, Python scalars."""
        info = self._table(table)
        cells = self._table_cells(info)
        rows = info.data_rows
        # column-major: each column's cells lie together, so the engine's passes over a column read one
        # contiguous array instead of every len(columns)-th pointer of the rows
        data = np.full((len(rows), len(info.columns)), None, dtype=object, order="F")
        typed = cells[rows.start - 1: rows.stop - 1]
        data[: len(typed)] = typed
        data[: len(typed)][typed == ""] = None
        return pd.DataFrame(data, columns=list(info.columns), index=pd.Index(list(rows)), dtype=object, copy=False)

    def read_sheet_values(self, code_or_name: str) -> list[list[Any]]:
        """The sheet's values as a grid from A1 (None for empty cells)."""
        return [[None if v == "" else v for v in row] for row in self._grid(self.sheet(code_or_name).name)]

    def style_roles(self) -> dict[str, int]:
        """Role name -> cellXfs index, from the very hidden style swatch sheet (codeName shStyles)."""
        sheet = self.sheet_by_codename("shStyles")
        grid = self._grid(sheet.name)
        roles = {}
        for cell in _xpath(_parse(self._read(sheet.part), sheet.part), "c"):
            row, col, *_ = parse_ref(cell.get("r"))
            text = grid[row - 1][0] if col == 1 and row <= len(grid) else ""
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
        xml_rows, max_col = [], 0
        for r, row in enumerate(rows, start=1):
            cells = "".join(self._generated_cell(sheet.name, r, c, cell, roles) for c, cell in enumerate(row, 1))
            if cells:
                xml_rows.append(f'<row r="{r}">{cells}</row>')
                max_col = max(max_col, len(row))
        dimension = _range_ref(1, 1, len(rows), max_col) if xml_rows else "A1"
        cols = None if col_widths is None else _cols_xml(col_widths)
        merges = [_range_ref(*parse_ref(m)) for m in merges]
        patch = self._patches.setdefault(sheet.part, _SheetPatch())
        if patch.writes:
            raise WorkbookError(f"sheet {sheet.name} already has cell writes; cannot also replace its content")
        patch.generated = ("".join(xml_rows), dimension, merges, cols)

    def resize_chart_ranges(self, code: str, starts: charts.Starts) -> None:
        """Make the series ranges of the sheet's charts that start at (row, col) read that many rows."""
        sheet = self.sheet_by_codename(code)
        for drawing in (t for kind, t in self._rels(sheet.part).values() if kind.endswith("/drawing")):
            for part in (t for kind, t in self._rels(drawing).values() if kind.endswith("/chart")):
                xml = self._read(part).decode("utf-8")
                resized = charts.resize_chart_xml(xml, sheet.name, starts)
                if resized != xml:
                    self._charts[part] = resized.encode("utf-8")

    def save(self, path: str | os.PathLike[str] | None = None, *, backup: bool | str | os.PathLike[str] = True,
             recalc_on_load: bool = True) -> None:
        """Write the patched package atomically (temp file + os.replace), keeping a backup of the old file.

        backup: True -> "<name>.bak" next to the file; a folder -> "<folder>/<name>.<timestamp>.bak"."""
        target = Path(path) if path is not None else self.path
        _refuse_if_open_in_excel(target)
        if target.resolve() == self.path.resolve():
            self._refuse_if_changed_on_disk()
        entries = self._entries(recalc_on_load)
        fd, tmp = tempfile.mkstemp(prefix=f".~{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_zip(fh, entries)
                fh.flush()
                os.fsync(fh.fileno())
            if target.exists():
                shutil.copymode(target, tmp)
                if backup:
                    shutil.copy2(target, _backup_path(target, backup))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with open(target, "rb") as fh:
            self.__init__(target, fh.read(), os.fstat(fh.fileno()))

    # --- internals: package structure ----------------------------------------------------------
    def _check_sizes(self) -> None:
        total = 0
        for info in self._infos.values():
            total += info.file_size
            if info.flag_bits & 0x1:
                raise UnsafePackageError(f"{self.path}: entry {info.filename} is encrypted")
            if info.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES:
                raise UnsafePackageError(
                    f"{self.path}: part {info.filename} is too large ({info.file_size:,} bytes uncompressed; "
                    f"limits {MAX_PART_BYTES:,} per part, {MAX_TOTAL_BYTES:,} in all)")
            if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UnsafePackageError(
                    f"{self.path}: part {info.filename} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                    f"(limit {MAX_RATIO}x): possible zip bomb")

    def _compressed(self, part: str) -> bytes:
        return _packed_data(self._raw, self._infos[part])

    def _read(self, part: str) -> bytes:
        """Uncompressed bytes of a part, never inflating beyond its declared size."""
        return b"".join(self._inflate(part))

    def _inflate(self, part: str) -> Iterator[bytes]:
        """Uncompressed bytes of a part a few MiB at a time, never beyond its declared size; the size and CRC
        are checked when the part is used up."""
        info = self._infos.get(part)
        if info is None:
            raise WorkbookError(f"{self.path}: missing part {part}")
        size = crc = 0
        for data in self._inflate_raw(info):
            size, crc = size + len(data), zlib.crc32(data, crc)
            if size > info.file_size:
                break
            yield data
        if size != info.file_size or crc != info.CRC:
            raise UnsafePackageError(f"{self.path}: part {part} does not match its declared size/CRC")

    def _inflate_raw(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        return _inflate_entry(self._zip, self._raw, info)

    def _head(self, part: str, size: int = 4096) -> bytes:
        """The first bytes of a part (for sheetPr), without inflating all of it."""
        if self._infos[part].compress_type == zipfile.ZIP_DEFLATED:
            return zlib.decompressobj(-15).decompress(self._compressed(part), size)
        return self._read(part)[:size]

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part) of a part."""
        folder, name = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", name + ".rels")
        if rels_part not in self._infos:
            return {}
        out = {}
        for rel in _xpath(_parse(self._read(rels_part), rels_part), "Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id")] = (rel.get("Type"), path)
        return out

    def _office_document(self) -> str:
        if "[Content_Types].xml" not in self._infos:
            raise NotAWorkbookError(f"{self.path} is a zip file but not an Office package")
        for rel_type, target in self._rels("").values():
            if rel_type.endswith("/officeDocument") and target in self._infos:
                return target
        raise NotAWorkbookError(f"{self.path} has no workbook part (not an xlsx/xlsm)")

    def _load_workbook(self) -> None:
        root = _parse(self._read(self._workbook_part), self._workbook_part)
        pr = _xpath(root, "workbookPr")
        self.date1904 = bool(pr) and pr[0].get("date1904") in ("1", "true")
        rels = self._rels(self._workbook_part)
        self._sheets, self._tables = [], {}
        for el in _xpath(root, "sheet"):
            part = rels[_rel_id(el)][1]
            code = re.search(rb'<sheetPr\b[^>]*?\scodeName="([^"]*)"', self._head(part))
            sheet = SheetInfo(el.get("name"), code.group(1).decode() if code else None, part,
                              el.get("state", "visible"), int(el.get("sheetId")))
            self._sheets.append(sheet)
            for rel_type, target in self._rels(part).values():
                if rel_type.endswith("/table"):
                    table = self._load_table(target, sheet.name)
                    self._tables[table.name] = table

    def _load_table(self, part: str, sheet: str) -> TableInfo:
        root = _parse(self._read(part), part)
        r1, c1, r2, _ = parse_ref(root.get("ref"))
        columns = tuple(_decode_xstring(c.get("name")) for c in _xpath(root, "tableColumn"))
        return TableInfo(root.get("displayName") or root.get("name"), sheet, part, root.get("ref"), r1, c1, r2,
                         columns, int(root.get("headerRowCount", "1")), int(root.get("totalsRowCount", "0")))

    def _table(self, name: str) -> TableInfo:
        found = self._tables.get(name) or next((t for k, t in self._tables.items() if k.casefold() == name.casefold()),
                                               None)
        if found is None:
            raise KeyError(f"no table {name!r}; have {sorted(self._tables)}")
        return found

    @staticmethod
    def _column_pos(info: TableInfo, label: str) -> int:
        try:
            return info.columns.index(label)
        except ValueError:
            raise KeyError(f"table {info.name} has no column {label!r}; columns: {list(info.columns)}") from None

    def _grid(self, sheet_name: str) -> list[list[Any]]:
        """The sheet's values from A1, "" for empty cells (parsed on each call: big grids are not kept)."""
        if self._calamine is None:
            for part in self._infos:  # real sizes/CRCs checked before calamine inflates the package
                for _ in self._inflate(part):
                    pass
            self._calamine = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self._raw))
        return self._calamine.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)

    def _table_cells(self, info: TableInfo) -> np.ndarray:
        """The sheet's cells within the table's columns, one row per sheet row from row 1 ("" when empty);
        notes which rows hold a value there (for appends)."""
        grid, c0, width = self._grid(info.sheet), info.first_col - 1, len(info.columns)
        cells = np.full((len(grid), width), "", dtype=object)
        if grid and len(grid[0]) > c0:
            block = np.array(grid, dtype=object)[:, c0: c0 + width]
            cells[:, : block.shape[1]] = block
        self._filled[info.name] = (cells != "").any(axis=1)
        return cells

    def _first_free_row(self, info: TableInfo) -> int:
        """First row after the table's last non-empty data row."""
        r = info.last_row
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

    def _sheet_patch(self, part: str) -> _SheetPatch:
        patch = self._patches.setdefault(part, _SheetPatch())
        if patch.generated is not None:
            raise WorkbookError(f"{part} content is being replaced; cell writes are not allowed")
        return patch

    def _checked(self, values: Iterable[Any], rows: np.ndarray, sheet: str, c: int) -> np.ndarray:
        """The values as an array, having raised now what encoding them at save would raise."""
        out = np.fromiter(values, dtype=object, count=len(rows))
        for r, value in zip(rows.tolist(), out.tolist()):
            kind = type(value)
            if not (kind in _ALWAYS_ENCODABLE or (kind is str and len(value) <= _ALWAYS_FITS)
                    or (kind in _DAYS and _after_epoch(value, self.date1904))):
                self._encode(value, sheet, r, c)
        return out

    def _encode(self, value: Any, sheet: str, r: int, c: int) -> tuple[str, str] | None:
        try:
            return encode_value(value, self.date1904)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{sheet}!{col_letter(c)}{r}: {exc}") from None

    def _generated_cell(self, sheet: str, r: int, c: int, cell: Cell, roles: Mapping[str, int]) -> str:
        value, role = cell if isinstance(cell, tuple) else (cell, None)
        if role is not None and role not in roles:
            raise KeyError(f"unknown style role {role!r}; the _styles sheet has {sorted(roles)}")
        style = str(roles[role]) if role is not None else None
        return _cell_xml(f"{col_letter(c)}{r}", style, self._encode(value, sheet, r, c))

    # --- internals: save -----------------------------------------------------------------------
    def _refuse_if_changed_on_disk(self) -> None:
        now = os.stat(self.path)
        if (now.st_size, now.st_mtime_ns) != (self._stat.st_size, self._stat.st_mtime_ns):
            raise WorkbookError(f"{self.path} changed on disk since it was opened; open it again and retry")

    def _new_parts(self, recalc_on_load: bool) -> tuple[dict[str, _Packed], set[str]]:
        """Rewritten parts, packed as their zip entries will hold them, and removed parts."""
        parts: dict[str, _Packed] = {}
        lost_formula = False
        for part, patch in self._patches.items():
            parts[part], lost = self._render_sheet(part, patch)
            lost_formula |= lost
        for name, last in self._table_last.items():
            info = self._tables[name]
            parts[info.part] = self._pack(info.part, [_retarget_table(self._read(info.part).decode("utf-8"), last)])
        parts.update({part: self._pack(part, [xml]) for part, xml in self._charts.items()})
        removed: set[str] = set()
        if lost_formula and "xl/calcChain.xml" in self._infos:
            removed.add("xl/calcChain.xml")
            rels = posixpath.join(posixpath.dirname(self._workbook_part), "_rels",
                                  posixpath.basename(self._workbook_part) + ".rels")
            parts[rels] = self._pack(rels, [re.sub(rb"<Relationship\b[^>]*calcChain\.xml\"[^>]*/>", b"",
                                                   self._read(rels))])
            parts["[Content_Types].xml"] = self._pack("[Content_Types].xml", [re.sub(
                rb"<Override\b[^>]*/xl/calcChain\.xml\"[^>]*/>", b"", self._read("[Content_Types].xml"))])
        if self._patches and recalc_on_load:
            parts[self._workbook_part] = self._pack(
                self._workbook_part, [_full_calc_on_load(self._read(self._workbook_part).decode("utf-8"))])
        return parts, removed

    def _render_sheet(self, part: str, patch: _SheetPatch) -> tuple[_Packed, bool]:
        """The patched sheet part, packed as it streams (the XML is never whole in memory), and whether a
        formula cell was overwritten."""
        sheet = _SheetStream(self._inflate(part), part)
        if patch.generated is not None:
            body, dimension, merges, cols = patch.generated
            head = _set_dimension(sheet.head if cols is None else _set_cols(sheet.head, cols), dimension)
            lost = False
            for rows in sheet.rows():
                lost = lost or "<f" in rows
            return self._pack(part, [head, body, _set_merges(sheet.tail, merges)]), lost
        head = sheet.head
        if patch.writes:
            head = _grow_dimension(head, max(int(rows.max()) if len(rows) else 1 for _, rows, _ in patch.writes),
                                   max(c for c, *_ in patch.writes))
        patcher = _RowPatcher(head, patch, self.date1904)

        def pieces() -> Iterator[str]:
            yield head
            yield from patcher.run(sheet.rows())
            yield _extend_sqrefs(sheet.tail, patch.grow) if patch.grow else sheet.tail

        packed = self._pack(part, pieces())
        return packed, patcher.lost_formula

    def _pack(self, part: str, pieces: Iterable[str | bytes]) -> _Packed:
        """(method, packed bytes, crc, size) of a rewritten part given in pieces (text is written as UTF-8):
        deflated, unless the original entry was stored."""
        stored = self._infos[part].compress_type == zipfile.ZIP_STORED
        z = None if stored else zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
        packed: list[bytes] = []
        crc = size = 0
        for piece in pieces:
            data = piece.encode("utf-8") if isinstance(piece, str) else piece
            crc, size = zlib.crc32(data, crc), size + len(data)
            packed.append(data if z is None else z.compress(data))
        if z is not None:
            packed.append(z.flush())
        return zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED, b"".join(packed), crc, size

    def _entries(self, recalc_on_load: bool) -> list[_Entry]:
        """Zip entries in the original order: untouched ones as their original compressed bytes."""
        parts, removed = self._new_parts(recalc_on_load)
        out: list[_Entry] = []
        for name, info in self._infos.items():
            if name in removed:
                continue
            if name in parts:
                out.append((info, *parts[name]))
            else:
                out.append((info, info.compress_type, self._compressed(name), info.CRC, info.file_size))
        return out


def _retarget_table(xml: str, last_row: int) -> str:
    """Move the last row of the table's ref, autoFilter ref and sortState ref."""

    def fix(m: re.Match[str]) -> str:
        ref = _attr(m.group(), "ref")
        if ref is None:
            return m.group()
        r1, c1, _, c2 = parse_ref(ref)
        return _set_attr(m.group(), "ref", _range_ref(r1, c1, last_row, c2))

    return re.sub(r"<(?:table|autoFilter|sortState)\b[^>]*>", fix, xml)


def _full_calc_on_load(xml: str) -> str:
    m = re.search(r"<calcPr\b[^>]*>", xml)
    if m:
        return xml[: m.start()] + _set_attr(m.group(), "fullCalcOnLoad", "1") + xml[m.end():]
    at = re.search(r"<(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|webPublishing"
                   r"|fileRecoveryPr|webPublishObjects|extLst)\b|</workbook>", xml).start()
    return xml[:at] + '<calcPr fullCalcOnLoad="1"/>' + xml[at:]


def _refuse_if_open_in_excel(path: Path) -> None:
    owner = path.with_name("~$" + path.name)
    if owner.exists():
        raise WorkbookOpenInExcelError(
            f"{path.name} is open in Excel (owner file {owner.name} exists); close it in Excel and retry")


def _backup_path(target: Path, backup: bool | str | os.PathLike[str]) -> Path:
    if backup is True:
        return target.with_name(target.name + ".bak")
    folder = Path(backup)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{target.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak"
