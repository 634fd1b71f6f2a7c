"""Package plumbing (Open Packaging Conventions): relationships, content types, the workbook part and its
sheets with their codeNames. Reads go through a ``zipio.Archive``; edits of ``.rels`` and
``[Content_Types].xml`` are made on their text, so everything else in them keeps its bytes."""
from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from lxml import etree

from .errors import NotAWorkbookError
from .xmltext import attr, parse, rel_id, xpath
from .zipio import Archive

CONTENT_TYPES = "[Content_Types].xml"
_CODE_NAME = re.compile(rb'<(?:\w+:)?sheetPr\b[^>]*?\scodeName="([^"]*)"')
_REL_TAG = re.compile(r"<Relationship\b[^>]*/>")
_OVERRIDE_TAG = re.compile(r"<Override\b[^>]*/>")


@dataclass(frozen=True)
class SheetInfo:
    name: str
    code_name: str | None
    part: str  # zip path, e.g. "xl/worksheets/sheet1.xml"
    state: str  # visible | hidden | veryHidden
    sheet_id: int
    rel_id: str  # the workbook relationship that points at the part


def rels_part(part: str) -> str:
    """The relationships part of a part ("" = the package): "xl/workbook.xml" -> "xl/_rels/workbook.xml.rels"."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def relationships(archive: Archive, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a part ("" = the package); external targets are left out."""
    folder, rels = posixpath.dirname(part), rels_part(part)
    if rels not in archive:
        return {}
    out = {}
    for rel in xpath(parse(archive.read(rels), rels), "Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id")] = (rel.get("Type"), path)
    return out


def related(archive: Archive, part: str, kind: str) -> list[str]:
    """Target parts of a part's relationships whose type ends with ``/kind``."""
    return [target for rel_type, target in relationships(archive, part).values() if rel_type.endswith("/" + kind)]


def office_document(archive: Archive) -> str:
    """The workbook part the package's root relationship points at."""
    if CONTENT_TYPES not in archive:
        raise NotAWorkbookError(f"{archive.name} is a zip file but not an Office package")
    for target in related(archive, "", "officeDocument"):
        if target in archive:
            return target
    raise NotAWorkbookError(f"{archive.name} has no workbook part (not an xlsx/xlsm)")


def sheets(archive: Archive, workbook_part: str, workbook: etree._Element | None = None) -> list[SheetInfo]:
    """The workbook's sheets in tab order, each with its part and codeName (from the part's first bytes);
    ``workbook`` is the workbook part already parsed, if it is."""
    if workbook is None:
        workbook = parse(archive.read(workbook_part), workbook_part)
    rels = relationships(archive, workbook_part)
    out = []
    for el in xpath(workbook, "sheet"):
        rid = rel_id(el)
        part = rels[rid][1]
        out.append(SheetInfo(el.get("name"), code_name(archive.head(part)), part, el.get("state", "visible"),
                             int(el.get("sheetId")), rid))
    return out


def code_name(head: bytes) -> str | None:
    """The codeName of a sheet part, given its first bytes (sheetPr comes first)."""
    found = _CODE_NAME.search(head)
    return found.group(1).decode() if found else None


def by_code_name(found: Iterable[SheetInfo], code: str) -> SheetInfo | None:
    return next((sheet for sheet in found if sheet.code_name == code), None)


def content_type(archive: Archive, part: str) -> str | None:
    """A part's content type: its Override, else the Default of its extension."""
    types = parse(archive.read(CONTENT_TYPES), CONTENT_TYPES)
    for override in xpath(types, "Override"):
        if override.get("PartName", "").lstrip("/") == part:
            return override.get("ContentType")
    ext = part.rsplit(".", 1)[-1].lower()
    for default in xpath(types, "Default"):
        if default.get("Extension", "").lower() == ext:
            return default.get("ContentType")
    return None


def drop_relationships(xml: str, unwanted: Callable[[str], bool]) -> str:
    """A .rels part without the relationships whose tag (e.g. ``attr(tag, "Target")``) is unwanted."""
    return _REL_TAG.sub(lambda m: "" if unwanted(m.group()) else m.group(), xml)


def add_relationships(xml: str, rels: Iterable[tuple[str, str, str]]) -> str:
    """A .rels part with (id, type, target) relationships appended."""
    ours = "".join(f'<Relationship Id="{rid}" Type="{rel_type}" Target="{target}"/>' for rid, rel_type, target in rels)
    return xml.replace("</Relationships>", ours + "</Relationships>", 1)


def drop_overrides(xml: str, parts: Collection[str]) -> str:
    """[Content_Types].xml without the Overrides of ``parts``."""
    return _OVERRIDE_TAG.sub(lambda m: "" if (attr(m.group(), "PartName") or "").lstrip("/") in parts
                             else m.group(), xml)


def ensure_default(xml: str, extension: str, content_type: str) -> str:
    """[Content_Types].xml with a Default for ``extension`` (the one it has, if any)."""
    if re.search(rf'<Default\b[^>]*Extension="{re.escape(extension)}"', xml, re.I):
        return xml
    default = f'<Default Extension="{extension}" ContentType="{content_type}"/>'
    return re.sub(r"(<Types\b[^>]*>)", lambda m: m.group(1) + default, xml, count=1)
