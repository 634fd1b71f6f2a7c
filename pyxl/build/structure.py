"""Structural checks of a built followup.xlsm (macros, ribbon, codeNames, xlwings version).

Public API: :func:`check_workbook` (returns a list of problems; empty means OK).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from pyxl.build.ribbon import NS_2006, NS_2009, REL_2006, REL_2009

MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_CONTENT = "application/vnd.ms-office.vbaProject"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CUSTOM_UI = {REL_2006: NS_2006, REL_2009: NS_2009}
_CALLBACK = r"^[ \t]*(?:Public[ \t]+)?Sub[ \t]+{name}[ \t]*\([ \t]*(?:ByVal[ \t]+|ByRef[ \t]+)?\w+[ \t]+As[ \t]+(?:Office\.)?IRibbonControl[ \t]*\)"


def _rels(zf: zipfile.ZipFile, part: str) -> list[dict[str, str]]:
    """Relationships of ``part`` ("" = package) with Target resolved to a part name."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_name not in zf.namelist():
        return []
    found = []
    for rel in ET.fromstring(zf.read(rels_name)).iter(f"{REL_NS}Relationship"):
        target = rel.get("Target", "")
        resolved = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found.append({**rel.attrib, "Part": resolved})
    return found


def _content_type(types: ET.Element, part: str) -> str | None:
    for override in types.iter(f"{CT_NS}Override"):
        if override.get("PartName", "").lstrip("/") == part:
            return override.get("ContentType")
    ext = part.rsplit(".", 1)[-1].lower()
    for default in types.iter(f"{CT_NS}Default"):
        if default.get("Extension", "").lower() == ext:
            return default.get("ContentType")
    return None


def _vba_modules(data: bytes) -> dict[str, str]:
    """Module name -> stored source (with Attribute lines), via oletools' olevba."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser("vbaProject.bin", data=data)
    try:
        return {stream.rsplit("/", 1)[-1]: code.replace("\r\n", "\n")
                for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


def _is_document(code: str) -> bool:
    """A document module: Excel's workbook/worksheet/chart VB_Base and a predeclared instance."""
    return bool(re.search(r'^Attribute VB_Base = "0\{000208(?:19|20|21)-0000-0000-C000-000000000046\}"', code, re.M)
                and re.search(r"^Attribute VB_PredeclaredId = True", code, re.M))


def _code_names(zf: zipfile.ZipFile, workbook: str) -> list[str]:
    names = re.findall(r'<(?:\w+:)?workbookPr\b[^>]*\bcodeName="([^"]+)"', zf.read(workbook).decode("utf-8"))
    for rel in _rels(zf, workbook):
        if rel["Type"].endswith(("/worksheet", "/chartsheet")) and rel["Part"] in zf.namelist():
            text = zf.read(rel["Part"]).decode("utf-8")
            names += re.findall(r'<(?:\w+:)?sheetPr\b[^>]*\bcodeName="([^"]+)"', text)
    return names


def _check_custom_ui(zf: zipfile.ZipFile) -> tuple[list[str], list[str]]:
    """Problems, and every onAction callback of the customUI parts."""
    problems, actions = [], []
    rels = _rels(zf, "")
    for rel_type, namespace in CUSTOM_UI.items():
        parts = [rel["Part"] for rel in rels if rel.get("Type") == rel_type]
        if len(parts) != 1:
            problems.append(f"expected one root relationship of type {rel_type}, found {len(parts)}")
            continue
        if parts[0] not in zf.namelist():
            problems.append(f"customUI part {parts[0]} is missing")
            continue
        try:
            root = ET.fromstring(zf.read(parts[0]))
        except ET.ParseError as exc:
            problems.append(f"customUI part {parts[0]} is not well-formed: {exc}")
            continue
        if root.tag != f"{{{namespace}}}customUI":
            problems.append(f"customUI part {parts[0]} has root {root.tag}, expected namespace {namespace}")
        actions += [el.get("onAction", "") for el in root.iter() if el.get("onAction")]
    return problems, actions


def _check_package(zf: zipfile.ZipFile) -> tuple[list[str], str | None, str | None]:
    """Problems, the workbook part and the vbaProject part."""
    problems = []
    types = ET.fromstring(zf.read("[Content_Types].xml"))
    main = [r["Part"] for r in _rels(zf, "") if r.get("Type", "").endswith("/officeDocument")]
    workbook = main[0] if main and main[0] in zf.namelist() else None
    if workbook is None:
        return ["no officeDocument (workbook) part"], None, None
    if _content_type(types, workbook) != MACRO_MAIN:
        problems.append(f"{workbook} content type is {_content_type(types, workbook)}, expected {MACRO_MAIN}")
    vba = [r["Part"] for r in _rels(zf, workbook) if r.get("Type") == VBA_REL]
    if len(vba) != 1 or vba[0] not in zf.namelist():
        problems.append("no vbaProject relationship to an existing part")
        return problems, workbook, None
    if _content_type(types, vba[0]) != VBA_CONTENT:
        problems.append(f"{vba[0]} content type is {_content_type(types, vba[0])}, expected {VBA_CONTENT}")
    return problems, workbook, vba[0]


def _check_xlwings(modules: dict[str, str]) -> list[str]:
    import xlwings

    code = modules.get("xlwings")
    if code is None:
        return ["no xlwings module in the VBA project"]
    found = re.search(r"^'Version:\s*(\S+)", code, re.M)
    if not found or found.group(1) != xlwings.__version__:
        return [f"xlwings module version {found.group(1) if found else '?'} != installed {xlwings.__version__}"]
    return []


def check_workbook(path: str | Path) -> list[str]:
    """Every structural problem found in the .xlsm at ``path`` ([] = OK)."""
    with zipfile.ZipFile(path) as zf:
        problems, workbook, vba_part = _check_package(zf)
        ui_problems, actions = _check_custom_ui(zf)
        problems += ui_problems
        if workbook is None or vba_part is None:
            return problems
        try:
            modules = _vba_modules(zf.read(vba_part))
        except Exception as exc:  # olevba raises many types on a damaged project
            return problems + [f"VBA project unreadable: {exc}"]
        code_names = _code_names(zf, workbook)
    sources = "\n".join(modules.values())
    for action in actions:
        if not re.search(_CALLBACK.format(name=re.escape(action)), sources, re.M | re.I):
            problems.append(f"ribbon onAction {action!r} has no Sub {action}(control As IRibbonControl)")
    documents = {name.casefold() for name, code in modules.items() if _is_document(code)}
    for name in code_names:
        if name.casefold() not in documents:
            problems.append(f"codeName {name!r} has no document module")
    return problems + _check_xlwings(modules)
