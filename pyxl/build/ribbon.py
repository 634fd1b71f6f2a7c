"""The Follow-up ribbon: render customUI parts from one template and add them to an .xlsm.

Public API: :func:`render_custom_ui`, :func:`ribbon_labels`, :func:`add_custom_ui`.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

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

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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


def _root_rels(rels: bytes) -> bytes:
    """``_rels/.rels`` without old customUI relationships and with ours appended."""
    text = rels.decode("utf-8")
    for _, rel_type, _ in PARTS.values():
        text = re.sub(rf'<Relationship\b[^>]*Type="{re.escape(rel_type)}"[^>]*/>', "", text)
    ours = "".join(f'<Relationship Id="{rid}" Type="{rel_type}" Target="{part}"/>'
                   for part, (_, rel_type, rid) in PARTS.items())
    return text.replace("</Relationships>", ours + "</Relationships>", 1).encode("utf-8")


def _content_types(types: bytes) -> bytes:
    """Make sure the customUI parts have a content type (the xml Default, application/xml)."""
    text = types.decode("utf-8")
    if re.search(r'<Default\b[^>]*Extension="xml"', text, re.I):
        return types
    default = '<Default Extension="xml" ContentType="application/xml"/>'
    return re.sub(r"(<Types\b[^>]*>)", lambda m: m.group(1) + default, text, count=1).encode("utf-8")


def add_custom_ui(package: bytes, lang: str) -> bytes:
    """``package`` (an .xlsm zip) with both customUI parts and their root relationships.

    Other entries keep their content and order; timestamps are fixed and every entry is
    deflated, so the same input gives the same bytes. Existing customUI parts are replaced.
    """
    parts = {part: render_custom_ui(lang, ns) for part, (ns, _, _) in PARTS.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in parts:
                continue
            data = zin.read(info)
            if info.filename == "_rels/.rels":
                data = _root_rels(data)
            elif info.filename == "[Content_Types].xml":
                data = _content_types(data)
            _write(zout, info.filename, data)
        for name, data in parts.items():
            _write(zout, name, data)
    return out.getvalue()


def _write(zout: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    zout.writestr(info, data, compresslevel=6)
