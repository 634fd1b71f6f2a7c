"""Table parts: what a table holds (name, range, columns), and its ranges moved to a new last row."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .a1 import parse_ref, range_ref
from .xmltext import attr, decode_xstring, parse, quoteattr, set_attr, xpath


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


def table_info(xml: bytes, part: str, sheet: str) -> TableInfo:
    """The table a table part describes, on sheet ``sheet``."""
    root = parse(xml, part)
    r1, c1, r2, _ = parse_ref(root.get("ref"))
    columns = tuple(decode_xstring(c.get("name")) for c in xpath(root, "tableColumn"))
    return TableInfo(root.get("displayName") or root.get("name"), sheet, part, root.get("ref"), r1, c1, r2,
                     columns, int(root.get("headerRowCount", "1")), int(root.get("totalsRowCount", "0")))


def retarget_table(xml: str, last_row: int) -> str:
    """Move the last row of the table's ref, autoFilter ref and sortState ref."""

    def fix(m: re.Match[str]) -> str:
        ref = attr(m.group(), "ref")
        if ref is None:
            return m.group()
        r1, c1, _, c2 = parse_ref(ref)
        return set_attr(m.group(), "ref", range_ref(r1, c1, last_row, c2))

    return re.sub(r"<(?:table|autoFilter|sortState)\b[^>]*>", fix, xml)



def add_table_columns(xml: str, labels: list[str]) -> str:
    """The table part with columns headed ``labels`` added at its right: table and autoFilter refs widened,
    one tableColumn each (new ids)."""
    ids = [int(i) for i in re.findall(r'<tableColumn\b[^>]*?\sid="(\d+)"', xml)]
    new = "".join(f"<tableColumn id=\"{max(ids, default=0) + n}\" name={quoteattr(_escape_x(label))}/>"
                  for n, label in enumerate(labels, 1))
    xml = re.sub(r"</tableColumns>", lambda m: new + m.group(), xml, count=1)
    xml = re.sub(r"<tableColumns\b[^>]*>", lambda m: set_attr(m.group(), "count", str(len(ids) + len(labels))),
                 xml, count=1)

    def widen(m: re.Match[str]) -> str:
        ref = attr(m.group(), "ref")
        if ref is None:
            return m.group()
        r1, c1, r2, c2 = parse_ref(ref)
        return set_attr(m.group(), "ref", range_ref(r1, c1, r2, c2 + len(labels)))

    return re.sub(r"<(?:table|autoFilter)\b[^>]*>", widen, xml)


def _escape_x(text: str) -> str:
    """Characters XML cannot hold as Excel escapes them (_xHHHH_), and a literal _xHHHH_ itself."""
    text = re.sub(r"_x([0-9A-Fa-f]{4})_", r"_x005F_x\1_", text)
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", text)


def rows_under(filled: Sequence[bool], last_row: int) -> tuple[int, list[tuple[int, tuple[int, int]]]]:
    """Given whether each sheet row holds a value in a table's columns (``filled[r - 1]``, up to the last row to
    look at): the table's last row once the rows directly below it count (as Excel grows a table), and each
    non-blank row further down with the run of blank rows above its block."""
    last, end = last_row, len(filled)
    while last < end and filled[last]:
        last += 1
    below: list[tuple[int, tuple[int, int]]] = []
    gap = (last + 1, last + 1)  # row last + 1 is blank: the first block's gap starts there
    for r in range(last + 2, end + 1):
        if filled[r - 1]:
            gap = _gap_above(filled, r) if not filled[r - 2] else gap
            below.append((r, gap))
    return last, below


def _gap_above(filled: Sequence[bool], r: int) -> tuple[int, int]:
    """The run of blank rows ending just above row r."""
    first = r - 1
    while first > 1 and not filled[first - 2]:
        first -= 1
    return first, r - 1


def share_columns(a: TableInfo, b: TableInfo) -> bool:
    """Whether two tables (anything with ``first_col`` and ``columns``) share a sheet column."""
    return a.first_col < b.first_col + len(b.columns) and b.first_col < a.first_col + len(a.columns)
