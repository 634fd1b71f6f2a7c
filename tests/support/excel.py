"""A workbook built by the tool, re-serialised the way Excel serialises it when a person saves it.

``serialise_like_excel(src, out, formula=...)`` rewrites the ledger and log sheets (found by their tables):
  * inline strings become shared strings (appended to xl/sharedStrings.xml);
  * every row gets ``spans`` and ``x14ac:dyDescent``, the worksheet ``mc:Ignorable`` and an ``xr:uid``;
  * each worksheet ends with an extLst (an x14 data validation, as Excel writes one naming another sheet);
  * tables get ``xr:uid`` (table, autoFilter) and ``xr3:uid`` (columns) under ``mc:Ignorable``;
  * an optional formula a person typed (sheet role, A1, formula, cached value) is written with its cached
    value and listed in a new xl/calcChain.xml (content type and workbook relationship added).
The attribute and namespace forms are copied from tests/fixtures/excel-saved/engines.xlsm (saved by Excel).
Cell values are unchanged; tests check that with openpyxl and LibreOffice.
"""
from __future__ import annotations

import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
XR2 = "http://schemas.microsoft.com/office/spreadsheetml/2015/revision2"
XR3 = "http://schemas.microsoft.com/office/spreadsheetml/2016/revision3"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
SHEET_NS = {None: MAIN, "r": REL, "mc": MC, "x14ac": X14AC, "xr": XR, "xr2": XR2, "xr3": XR3}
TABLE_NS = {None: MAIN, "mc": MC, "xr": XR, "xr3": XR3}
CALC_CHAIN_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
REWRITTEN_TABLES = ("tblCustomers", "tblContacts")


@dataclass(frozen=True)
class TypedFormula:
    table: str   # the table whose sheet holds it: tblCustomers or tblContacts
    a1: str
    formula: str  # without '='
    cached: str   # the value Excel computed, as stored in <v>
    style_like: str | None = None  # copy the s= of this cell (e.g. the cell below: a date format)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def _col_number(a1: str) -> int:
    n = 0
    for ch in re.match(r"[A-Z]+", a1).group(0):
        n = n * 26 + ord(ch) - 64
    return n


def _rebuild(root: etree._Element, nsmap: dict, ignorable: str) -> etree._Element:
    """The same element under Excel's namespace declarations (lxml cannot add them in place)."""
    new = etree.Element(root.tag, nsmap=nsmap)
    new.set(_q(MC, "Ignorable"), ignorable)
    for key, value in root.attrib.items():
        new.set(key, value)
    new.extend(list(root))
    return new


class _SharedStrings:
    def __init__(self, data: bytes) -> None:
        self.root = etree.fromstring(data)
        self.index = {self._text(si): i for i, si in enumerate(self.root.findall(_q(MAIN, "si")))}

    @staticmethod
    def _text(si: etree._Element) -> str:
        return "".join(t.text or "" for t in si.iter(_q(MAIN, "t")))

    def add(self, text: str) -> int:
        if text not in self.index:
            si = etree.SubElement(self.root, _q(MAIN, "si"))
            t = etree.SubElement(si, _q(MAIN, "t"))
            t.text = text
            if text != text.strip():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            self.index[text] = len(self.index)
        return self.index[text]

    def to_bytes(self, uses: int) -> bytes:
        self.root.set("count", str(uses))
        self.root.set("uniqueCount", str(len(self.index)))
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _sheet_tables(zf: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """table name -> (sheet part, table part)."""
    found = {}
    for name in zf.namelist():
        m = re.fullmatch(r"xl/worksheets/_rels/(sheet\d+\.xml)\.rels", name)
        if not m:
            continue
        for rel in etree.fromstring(zf.read(name)):
            if rel.get("Type").endswith("/table"):
                part = "xl/tables/" + rel.get("Target").rsplit("/", 1)[1]
                table = etree.fromstring(zf.read(part)).get("name")
                found[table] = ("xl/worksheets/" + m.group(1), part)
    return found


def _rewrite_sheet(data: bytes, strings: _SharedStrings, formula: TypedFormula | None) -> tuple[bytes, int]:
    root = _rebuild(etree.fromstring(data), SHEET_NS, "x14ac xr xr2 xr3")
    root.set(_q(XR, "uid"), _guid())
    uses = 0
    fmt = root.find(_q(MAIN, "sheetFormatPr"))
    if fmt is not None:
        fmt.set(_q(X14AC, "dyDescent"), "0.25")
    for row in root.iter(_q(MAIN, "row")):
        cols = [_col_number(c.get("r")) for c in row]
        if cols:
            row.set("spans", f"{min(cols)}:{max(cols)}")
        row.set(_q(X14AC, "dyDescent"), "0.25")
        for c in row:
            if c.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(_q(MAIN, "t")))
                for child in list(c):
                    c.remove(child)
                c.set("t", "s")
                etree.SubElement(c, _q(MAIN, "v")).text = str(strings.add(text))
            if c.get("t") == "s":
                uses += 1
            if formula is not None and c.get("r") == formula.a1:
                _put_formula(root, c, formula)
    root.append(_ext_list())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True), uses


def _put_formula(root: etree._Element, cell: etree._Element, formula: TypedFormula) -> None:
    if formula.style_like:
        like = root.find(f".//{{{MAIN}}}c[@r='{formula.style_like}']")
        if like is not None and like.get("s"):
            cell.set("s", like.get("s"))
    for child in list(cell):
        cell.remove(child)
    cell.attrib.pop("t", None)
    etree.SubElement(cell, _q(MAIN, "f")).text = formula.formula
    etree.SubElement(cell, _q(MAIN, "v")).text = formula.cached


def _ext_list() -> etree._Element:
    """An x14 list validation naming another sheet, as Excel writes it, on an unused column."""
    ext_list = etree.Element(_q(MAIN, "extLst"))
    ext = etree.SubElement(ext_list, _q(MAIN, "ext"), nsmap={"x14": X14})
    ext.set("uri", "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}")
    dvs = etree.SubElement(ext, _q(X14, "dataValidations"), nsmap={"xm": XM})
    dvs.set("count", "1")
    dv = etree.SubElement(dvs, _q(X14, "dataValidation"), type="list", allowBlank="1",
                          showInputMessage="1", showErrorMessage="1")
    f1 = etree.SubElement(dv, _q(X14, "formula1"))
    etree.SubElement(f1, _q(XM, "f")).text = "FU_YesNo"
    etree.SubElement(dv, _q(XM, "sqref")).text = "AZ2:AZ1000"
    return ext_list


def _rewrite_table(data: bytes) -> bytes:
    root = _rebuild(etree.fromstring(data), TABLE_NS, "xr xr3")
    uid = _guid()
    root.set(_q(XR, "uid"), uid)
    auto = root.find(_q(MAIN, "autoFilter"))
    if auto is not None:
        auto.set(_q(XR, "uid"), uid)
    for col in root.iter(_q(MAIN, "tableColumn")):
        col.set(_q(XR3, "uid"), _guid())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _sheet_index(zf: zipfile.ZipFile, sheet_part: str) -> int:
    """1-based position in workbook.xml of the sheet stored in ``sheet_part`` (calcChain's i=)."""
    rels = {r.get("Id"): "xl/" + r.get("Target").lstrip("/").removeprefix("xl/")
            for r in etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))}
    sheets = etree.fromstring(zf.read("xl/workbook.xml")).find(_q(MAIN, "sheets"))
    return next(i for i, s in enumerate(sheets, 1) if rels[s.get(_q(REL, "id"))] == sheet_part)


def _add_calc_chain(parts: dict[str, bytes], sheet_id: int, a1: str) -> None:
    parts["xl/calcChain.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                 f'<calcChain xmlns="{MAIN}"><c r="{a1}" i="{sheet_id}" l="1"/></calcChain>').encode()
    types = etree.fromstring(parts["[Content_Types].xml"])
    etree.SubElement(types, "{http://schemas.openxmlformats.org/package/2006/content-types}Override",
                     PartName="/xl/calcChain.xml", ContentType=CALC_CHAIN_TYPE)
    parts["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8", standalone=True)
    rels = etree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    ids = {r.get("Id") for r in rels}
    new_id = next(f"rId{n}" for n in range(len(ids) + 1, len(ids) + 100) if f"rId{n}" not in ids)
    etree.SubElement(rels, _q(PKG_REL, "Relationship"), Id=new_id, Target="calcChain.xml",
                     Type=f"{REL}/calcChain")
    parts["xl/_rels/workbook.xml.rels"] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8",
                                                         standalone=True)


def serialise_like_excel(src: Path, out: Path, formula: TypedFormula | None = None) -> Path:
    with zipfile.ZipFile(src) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
        tables = _sheet_tables(zf)
        strings = _SharedStrings(parts["xl/sharedStrings.xml"])
        uses = 0
        for name in REWRITTEN_TABLES:
            sheet_part, table_part = tables[name]
            here = formula if formula is not None and formula.table == name else None
            parts[sheet_part], n = _rewrite_sheet(parts[sheet_part], strings, here)
            uses += n
            parts[table_part] = _rewrite_table(parts[table_part])
        other_uses = sum(p.count(b't="s"') for n, p in parts.items()
                         if n.startswith("xl/worksheets/sheet") and n not in {tables[t][0] for t in REWRITTEN_TABLES})
        parts["xl/sharedStrings.xml"] = strings.to_bytes(uses + other_uses)
        if formula is not None:
            _add_calc_chain(parts, _sheet_index(zf, tables[formula.table][0]), formula.a1)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    return out
