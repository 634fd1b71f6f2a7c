"""Structural checks of a built followup.xlsm (macros, ribbon, codeNames, xlwings version).

Public API: :func:`check_workbook` (returns a list of problems; empty means OK).
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from pyxl.book import opc
from pyxl.book.xmltext import parse
from pyxl.book.zipio import Archive
from pyxl.build.ribbon import NS_2006, NS_2009, REL_2006, REL_2009

MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_CONTENT = "application/vnd.ms-office.vbaProject"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CUSTOM_UI = {REL_2006: NS_2006, REL_2009: NS_2009}
_CALLBACK = r"^[ \t]*(?:Public[ \t]+)?Sub[ \t]+{name}[ \t]*\([ \t]*(?:ByVal[ \t]+|ByRef[ \t]+)?\w+[ \t]+As[ \t]+(?:Office\.)?IRibbonControl[ \t]*\)"


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


def _code_names(archive: Archive, workbook: str) -> list[str]:
    names = re.findall(r'<(?:\w+:)?workbookPr\b[^>]*\bcodeName="([^"]+)"', archive.read(workbook).decode("utf-8"))
    return names + [sheet.code_name for sheet in opc.sheets(archive, workbook) if sheet.code_name]


def _rels_of_type(archive: Archive, part: str, rel_type: str) -> list[str]:
    return [target for kind, target in opc.relationships(archive, part).values() if kind == rel_type]


def _check_custom_ui(archive: Archive) -> tuple[list[str], list[str]]:
    """Problems, and every onAction callback of the customUI parts."""
    problems, actions = [], []
    for rel_type, namespace in CUSTOM_UI.items():
        parts = _rels_of_type(archive, "", rel_type)
        if len(parts) != 1:
            problems.append(f"expected one root relationship of type {rel_type}, found {len(parts)}")
            continue
        if parts[0] not in archive:
            problems.append(f"customUI part {parts[0]} is missing")
            continue
        try:
            root = parse(archive.read(parts[0]), parts[0])
        except etree.XMLSyntaxError as exc:
            problems.append(f"customUI part {parts[0]} is not well-formed: {exc}")
            continue
        if root.tag != f"{{{namespace}}}customUI":
            problems.append(f"customUI part {parts[0]} has root {root.tag}, expected namespace {namespace}")
        actions += [el.get("onAction", "") for el in root.iter() if el.get("onAction")]
    return problems, actions


def _check_package(archive: Archive) -> tuple[list[str], str | None, str | None]:
    """Problems, the workbook part and the vbaProject part."""
    problems = []
    main = opc.related(archive, "", "officeDocument")
    workbook = main[0] if main and main[0] in archive else None
    if workbook is None:
        return ["no officeDocument (workbook) part"], None, None
    if opc.content_type(archive, workbook) != MACRO_MAIN:
        problems.append(f"{workbook} content type is {opc.content_type(archive, workbook)}, expected {MACRO_MAIN}")
    vba = _rels_of_type(archive, workbook, VBA_REL)
    if len(vba) != 1 or vba[0] not in archive:
        problems.append("no vbaProject relationship to an existing part")
        return problems, workbook, None
    if opc.content_type(archive, vba[0]) != VBA_CONTENT:
        problems.append(f"{vba[0]} content type is {opc.content_type(archive, vba[0])}, expected {VBA_CONTENT}")
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
    archive = Archive(Path(path).read_bytes(), path)
    problems, workbook, vba_part = _check_package(archive)
    ui_problems, actions = _check_custom_ui(archive)
    problems += ui_problems
    if workbook is None or vba_part is None:
        return problems
    try:
        modules = _vba_modules(archive.read(vba_part))
    except Exception as exc:  # olevba raises many types on a damaged project
        return problems + [f"VBA project unreadable: {exc}"]
    code_names = _code_names(archive, workbook)
    sources = "\n".join(modules.values())
    for action in actions:
        if not re.search(_CALLBACK.format(name=re.escape(action)), sources, re.M | re.I):
            problems.append(f"ribbon onAction {action!r} has no Sub {action}(control As IRibbonControl)")
    documents = {name.casefold() for name, code in modules.items() if _is_document(code)}
    for name in code_names:
        if name.casefold() not in documents:
            problems.append(f"codeName {name!r} has no document module")
    return problems + _check_xlwings(modules)
