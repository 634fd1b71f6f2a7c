"""Chart series that grow with their data: the ranges a chart reads, rewritten to the rows just written.

Both edges use the same rewrite: the headless patcher on a chart part's ``<c:f>`` references (and the
point count of their caches), the xlwings adapter on each series' ``=SERIES(...)`` formula.
A range is picked by the cell it starts at, which never moves; only its last row changes.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from .a1 import col_index, unquote_sheet

Starts = Mapping[tuple[int, int], int]  # (first row, column), both 1-based -> number of rows to read

# Sheet!$A$29:$A$58, the sheet quoted or not; a single cell reads as a one-row range.
_RANGE = re.compile(r"(?P<sheet>'(?:[^']|'')+'|[^\s'!,()=]+)!\$(?P<col>[A-Z]{1,3})\$(?P<r1>\d+)"
                    r"(?::\$(?P=col)\$(?P<r2>\d+))?")
_REF_WITH_CACHE = re.compile(r"<c:f>(?P<ref>[^<]*)</c:f>(?P<cache>\s*<c:(?:num|str)Cache>.*?</c:(?:num|str)Cache>)?",
                             re.S)


def resize_refs(text: str, sheet: str, starts: Starts) -> str:
    """Every range of ``sheet`` in ``text`` that starts at a key of ``starts`` made that many rows long."""

    def fix(m: re.Match[str]) -> str:
        rows = starts.get((int(m["r1"]), col_index(m["col"])))
        if rows is None or unquote_sheet(m["sheet"]) != sheet:
            return m.group()
        col, first = m["col"], int(m["r1"])
        return f"{m['sheet']}!${col}${first}:${col}${first + max(rows, 1) - 1}"

    return _RANGE.sub(fix, text)


def resize_chart_xml(xml: str, sheet: str, starts: Starts) -> str:
    """A chart part with its series ranges resized; a resized range's cache is emptied to the new point
    count (the cells are the truth: Excel and LibreOffice read them on open)."""

    def fix(m: re.Match[str]) -> str:
        ref = resize_refs(m["ref"], sheet, starts)
        if ref == m["ref"] or m["cache"] is None:
            return m.group() if ref == m["ref"] else f"<c:f>{ref}</c:f>"
        first, last = (int(r) for r in re.findall(r"\$(\d+)", ref)[:2])
        kind = "num" if "<c:numCache>" in m["cache"] else "str"
        code = re.search(r"<c:formatCode>.*?</c:formatCode>", m["cache"])
        return (f"<c:f>{ref}</c:f><c:{kind}Cache>{code.group() if code else ''}"
                f'<c:ptCount val="{last - first + 1}"/></c:{kind}Cache>')

    return _REF_WITH_CACHE.sub(fix, xml)
