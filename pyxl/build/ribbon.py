"""The Follow-up ribbon: render customUI parts from one template and add them to an .xlsm.

Public API: :func:`render_custom_ui`, :func:`ribbon_labels`, :func:`add_custom_ui`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape

from ..book import opc
from ..book.xmltext import attr
from ..book.zipio import Archive, repack
from ..core.i18n import texts
from ..core.schema import TEMPLATES

TEMPLATE = TEMPLATES / "ribbon" / "customUI.xml"

NS_2006 = "http://schemas.microsoft.com/office/2006/01/customui"
NS_2009 = "http://schemas.microsoft.com/office/2009/07/customui"
#: Root relationship types: the 2006 part (Office 2007) and the 2009 part (Office 2010+).
REL_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
REL_2009 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
PART_2006 = "customUI/customUI.xml"
PART_2009 = "customUI/customUI14.xml"
#: part name -> (namespace, relationship type, relationship id)
PARTS = {PART_2006: (NS_2006, REL_2006, "rIdFuCustomUI"), PART_2009: (NS_2009, REL_2009, "rIdFuCustomUI14")}


def ribbon_labels(lang: str) -> dict[str, str]:
    """The ``[ribbon]`` table of ``templates/locales/<lang>.toml``."""
    return dict(texts(lang)["ribbon"])


def render_custom_ui(lang: str, namespace: str = NS_2009) -> bytes:
    """customUI XML for ``namespace`` with XML-escaped labels of ``lang``."""
    labels = ribbon_labels(lang)
    text = re.sub(r"<!--.*?-->\s*", "", TEMPLATE.read_text("utf-8"), flags=re.S)
    values = {key: escape(value, {'"': "&quot;"}) for key, value in labels.items()} | {"ns": namespace}

    def fill(found: re.Match[str]) -> str:
        if found.group(1) not in values:
            raise KeyError(f"ribbon template placeholder {{{found.group(1)}}} has no [ribbon] label")
        return values[found.group(1)]

    return re.sub(r"\{(\w+)\}", fill, text).encode("utf-8")


def _root_rels(rels: str) -> str:
    """``_rels/.rels`` without old customUI relationships and with ours appended."""
    ours = {rel_type for _, rel_type, _ in PARTS.values()}
    text = opc.drop_relationships(rels, lambda tag: attr(tag, "Type") in ours)
    return opc.add_relationships(text, [(rid, rel_type, part) for part, (_, rel_type, rid) in PARTS.items()])


def add_custom_ui(package: bytes, lang: str) -> bytes:
    """``package`` (an .xlsm zip) with both customUI parts and their root relationships.

    Other entries keep their content and order; added entries get a fixed timestamp and every entry is
    deflated, so the same input gives the same bytes. Existing customUI parts are replaced.
    """
    parts = {part: render_custom_ui(lang, ns) for part, (ns, _, _) in PARTS.items()}

    def edit(name: str, read: Callable[[], Iterator[bytes]]) -> bytes | None:
        if name == opc.rels_part(""):
            return _root_rels(b"".join(read()).decode("utf-8")).encode("utf-8")
        if name == opc.CONTENT_TYPES:  # the customUI parts take the xml Default, application/xml
            return opc.ensure_default(b"".join(read()).decode("utf-8"), "xml", "application/xml").encode("utf-8")
        return None

    return repack(Archive(package, "package"), parts, edit, add=parts)
