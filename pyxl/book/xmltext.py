"""Small XML helpers: small parts parsed safely (no DTD, no entities, no network); start tags edited as text
so the rest of a part keeps its bytes."""
from __future__ import annotations

import re

from lxml import etree

from .errors import UnsafePackageError

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(data: bytes, part: str) -> etree._Element:
    root = etree.fromstring(data, _SAFE_PARSER)
    if root.getroottree().docinfo.doctype:
        raise UnsafePackageError(f"{part}: XML with a DTD is not accepted")
    return root


def escape(text: str) -> str:
    """Text as XML character data: as ``xml.sax.saxutils.escape``, whose module imports urllib, http and email."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """An attribute value with its quotes, the bytes ``xml.sax.saxutils.quoteattr`` gives."""
    data = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in data:
        return f'"{data}"'
    return f"'{data}'" if "'" not in data else '"' + data.replace('"', "&quot;") + '"'


def xpath(root: etree._Element, name: str) -> list[etree._Element]:
    """Every element named ``name``, whatever its namespace."""
    return root.xpath(f"//*[local-name()='{name}']")


def rel_id(el: etree._Element) -> str:
    """The r:id attribute of an element."""
    return next(v for k, v in el.attrib.items() if k == f"{{{REL_NS}}}id" or k.endswith("}id"))


def set_attr(tag: str, name: str, value: str) -> str:
    """Set attribute `name` in a start tag given as text."""
    pattern = re.compile(rf'(\s{name}=)("[^"]*"|\'[^\']*\')')
    if pattern.search(tag):
        return pattern.sub(lambda m: f'{m.group(1)}"{value}"', tag, count=1)
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'


def attr(tag: str, name: str) -> str | None:
    """Attribute `name` of a start tag given as text (None when absent)."""
    m = re.search(rf'\s{name}=(?:"([^"]*)"|\'([^\']*)\')', tag)
    return None if m is None else m.group(1) if m.group(1) is not None else m.group(2)


def decode_xstring(text: str) -> str:
    """Text with Excel's _xHHHH_ escapes decoded."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
