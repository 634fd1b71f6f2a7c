"""Sheet XML outside the rows: a sheet part streamed as head / rows / tail, and the edits of its head
(dimension, column widths) and tail (merged cells, ranges of conditional formats and validations)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from .a1 import col_index, parse_ref, range_ref
from .errors import WorkbookError
from .xmltext import set_attr

_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData\b[^>]*>")
_SHEET_DATA_BYTES = re.compile(_SHEET_DATA.pattern.encode())
_AFTER_MERGES = re.compile(
    r"<(?:phoneticPr|conditionalFormatting|dataValidations|hyperlinks|printOptions|pageMargins|pageSetup"
    r"|headerFooter|rowBreaks|colBreaks|customProperties|cellWatches|ignoredErrors|smartTags|drawing"
    r"|legacyDrawing|legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts"
    r"|extLst)\b|</worksheet>"
)


class SheetStream:
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


def set_code_name(head: str, code: str) -> str:
    """The sheet head with ``<sheetPr codeName=...>`` (sheetPr is the worksheet's first child)."""
    m = re.search(r"<(?:\w+:)?sheetPr\b[^>]*>", head)
    if m:
        return head[: m.start()] + set_attr(m.group(), "codeName", code) + head[m.end():]
    root = re.search(r"<(\w+:)?worksheet\b[^>]*>", head)
    prefix = root.group(1) or ""
    return head[: root.end()] + f'<{prefix}sheetPr codeName="{code}"/>' + head[root.end():]


def set_dimension(head: str, ref: str) -> str:
    if "<dimension" in head:
        return re.sub(r"<dimension\b[^>]*>", f'<dimension ref="{ref}"/>', head, count=1)
    return head  # optional element; Excel computes it


def grow_dimension(head: str, max_row: int, max_col: int) -> str:
    m = re.search(r'<dimension\s+ref="([^"]*)"', head)
    if not m:
        return head
    r1, c1, r2, c2 = parse_ref(m.group(1))
    return set_dimension(head, range_ref(r1, c1, max(r2, max_row), max(c2, max_col)))


def extend_sqrefs(tail: str, grow: Sequence[tuple[int, int, int, int]]) -> str:
    """Extend conditional formats/validations that end on a table's last row down to its new last row."""

    def fix(ranges: str) -> str:
        out = []
        for part in ranges.split():
            r1, c1, r2, c2 = parse_ref(part)
            for lo, hi, old, new in grow:  # in order: one table may grow several times
                if r2 == old and lo <= c1 and c2 <= hi:
                    r2, part = new, range_ref(r1, c1, new, c2)
            out.append(part)
        return " ".join(out)

    tail = re.sub(r'(\ssqref=")([^"]*)"', lambda m: f'{m.group(1)}{fix(m.group(2))}"', tail)
    return re.sub(r"(<xm:sqref>)([^<]*)(</xm:sqref>)", lambda m: m.group(1) + fix(m.group(2)) + m.group(3), tail)


def set_merges(tail: str, merges: Sequence[str]) -> str:
    tail = re.sub(r"<mergeCells\b[^>]*?(?:/>|>.*?</mergeCells>)", "", tail, flags=re.S)
    if not merges:
        return tail
    xml = f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + "</mergeCells>"
    at = _AFTER_MERGES.search(tail).start()
    return tail[:at] + xml + tail[at:]


def cols_xml(widths: Mapping[int | str, float]) -> str:
    """<cols> with the given widths; keys are 1-based column numbers or letters."""
    items = sorted((k if isinstance(k, int) else col_index(k), float(w)) for k, w in widths.items())
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in items)
    return f"<cols>{cols}</cols>" if cols else ""


def set_cols(head: str, cols: str) -> str:
    head = re.sub(r"<cols\b[^>]*?(?:/>|>.*?</cols>)", "", head, flags=re.S)
    at = _SHEET_DATA.search(head).start()
    return head[:at] + cols + head[at:]


_FORMULA = re.compile(rb"<f[ />]")
_ERROR_TYPE = re.compile(rb't="e"')  # a literal: found by a fast scan; the space before it is checked after
_SPACE = b" \t\n\r\f\v"
_REF = re.compile(rb'\sr="([A-Z]+)(\d+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def marked_cells(xml: bytes) -> tuple[dict[tuple[int, int], str], set[tuple[int, int]]]:
    """(row, column) of the cells holding an Excel error value (-> its text, e.g. "#N/A") and of those
    holding a formula, found by searching for the markers only (a sheet without them costs one scan)."""
    # the sheetData element's span, searched in place: a copy of it would double a big sheet's XML in memory
    lo, hi, _ = slice(xml.find(b"<sheetData"), xml.rfind(b"</sheetData>")).indices(len(xml))
    errors, formulas = {}, set()
    for marker, found in ((_ERROR_TYPE, "error"), (_FORMULA, "formula")):
        for m in marker.finditer(xml, lo, hi):
            at = m.start() - (found == "error")  # an error marker starts at the space before t="e"
            if found == "error" and xml[at] not in _SPACE:  # e.g. an attribute ending in t="e"
                continue
            start = xml.rfind(b"<c ", lo, at + 1)  # + 1: the space before t= may be the one after <c
            ref = _REF.search(xml, start, xml.index(b">", start, hi)) if start >= 0 else None
            if ref is None:  # a cell without r= (rare; Excel always writes it): not located
                continue
            cell = (int(ref.group(2)), col_index(ref.group(1).decode()))
            if found == "formula":
                formulas.add(cell)
            else:
                value = _VALUE.search(xml, m.end(), xml.find(b"</c>", m.end(), hi))
                errors[cell] = value.group(1).decode() if value else "#N/A"
    return errors, formulas
