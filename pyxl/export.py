"""The manager copy: a macro-free .xlsx made from the refreshed workbook by zip surgery.

Values, native conditional formats and charts are kept; the VBA project, the ribbon, the xlwings
configuration and the form sheet are removed; worksheet functions that need Python are replaced by
their last values; the as-of date is frozen so colours match the computed statuses. A masked copy has every
personal value of the ledger and the log masked wherever it appears in the package (core/masking.py):
every sheet, shared string, message, chart cache, comment, defined name and document property.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pandas as pd

from . import actions, files
from .book import layout as L
from .book import opc
from .book.base import language
from .book.xlsx import WorkbookPackage
from .book.xmltext import attr, escape
from .book.zipio import Archive, repack
from .core.calendar import week_start
from .core.errors import FollowupError
from .core.i18n import text
from .core.masking import Masker, table_personal

MACRO_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DROP_SHEETS = (L.XLWINGS_CONF, L.FORM)
UDF_FORMULA = re.compile(rb"<f>[^<]*\b(?:FU_\w+|xlwings\w*)\([^<]*</f>", re.IGNORECASE)
TEXT_PARTS = (".xml", ".rels", ".vml")
# attributes that hold text people read (hyperlinks, validation prompts): masked like character data
TEXT_ATTRIBUTES = frozenset({"display", "tooltip", "prompt", "promptTitle", "error", "errorTitle"})
# a number cell whose value may be a phone (7 digits or more)
NUMBER_CELL = re.compile(r"<c\b([^>]*?)>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?<v>(\d{7,}[^<]*)</v></c>")
TYPE_ATTRIBUTE = re.compile(r'\st="[^"]*"')
XML_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


def manager_copy(source: Path, out: Path | None = None, *, mask: bool = False, mask_names: bool = False,
                 pdf: bool = False, today: dt.date | None = None, force: bool = False) -> actions.Outcome:
    """The copy at ``out`` (default: beside the source, named by owner and week), written atomically; an
    output that is the source, or exists without ``force``, is refused before anything is written. ``mask`` (or
    the Settings' mask_copy): phone, email, WeChat and the Settings' personal columns masked; ``mask_names``
    also names."""
    book = WorkbookPackage.open(source)
    inputs = actions.load(book)
    lang = language(book)
    as_of = inputs.settings.today(today)
    out = Path(out or source.with_name(_copy_name(source, inputs.ledger, as_of)))
    for path in [out, out.with_suffix(".pdf")] if pdf else [out]:
        files.refuse_output(path, [source], force=force, lang=lang)
    mask = mask or mask_names or inputs.settings.mask_copy
    masker = _masker(book, inputs.settings.personal_columns, mask_names) if mask else None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work.xlsm"
        _freeze(book, as_of, work)
        package = strip_macros(work.read_bytes())
        files.write_atomic(out, mask_package(package, masker) if masker else package, lang=lang)
    outcome = actions.Outcome(as_of, {"copy": str(out), "masked": mask}, files=[str(out)],
                              lang=inputs.settings.language)
    if pdf:
        outcome.files += render_pdf(out, lang)
    return outcome


def _copy_name(source: Path, ledger: pd.DataFrame, day: dt.date) -> str:
    owners = ledger.get("owner", pd.Series(dtype=object)).dropna().astype(str).str.strip()
    owners = sorted(set(owners) - {""})
    who = owners[0] if len(owners) == 1 else "team"
    iso = week_start(day).isocalendar()
    return f"{source.stem}-{who}-{iso.year}-W{iso.week:02d}.xlsx"


def _freeze(book: WorkbookPackage, as_of: dt.date, work: Path) -> None:
    settings = book.read_table(L.T_SETTINGS)
    rows = [r for r, key in settings.iloc[:, 0].items() if str(key).strip() == "as_of_date"]
    if rows:
        book.set_column_values(L.T_SETTINGS, settings.columns[1], {rows[0]: as_of})
    book.save(work, backup=False)


# ---------------------------------------------------------------- masking
def _masker(book: WorkbookPackage, marked: tuple[str, ...], names: bool) -> Masker:
    """A masker of every personal value of the ledger and the log, as XML character data writes them."""
    personal = (table_personal("ledger", book.read_table(L.T_CUSTOMERS), marked, names)
                | table_personal("contacts", book.read_table(L.T_CONTACTS), marked, names))
    return Masker(personal, encode=escape, decode=_xml_unescape)


def mask_package(package: bytes, masker: Masker) -> bytes:
    """Every personal value masked in every text part of the package: character data and the attributes
    people read, everywhere (sheets, shared strings, comments, charts, drawings, document properties, external
    hyperlink targets); a number cell holding one becomes a text cell with the masked value."""
    src = Archive(package, "package")

    def edit(name: str, read: Callable[[], Iterator[bytes]]) -> bytes | None:
        if not name.endswith(TEXT_PARTS):
            return None
        xml = _text(read)
        masked = masker.mask(_number_cells_masked(xml, masker), _readable)
        return None if masked == xml else masked.encode("utf-8")

    return repack(src, (), edit)


def _number_cells_masked(xml: str, masker: Masker) -> str:
    """Number cells whose value is personal (a phone typed as a number) as text cells holding the masked value:
    masking the number in place would leave a number cell that is no number."""

    def as_text(m: re.Match) -> str:
        attrs, value = m[1], m[2]
        if attr(f"<c{attrs}>", "t") not in (None, "n") or (masked := masker.mask(value)) == value:
            return m[0]
        return f'<c{TYPE_ATTRIBUTE.sub("", attrs)} t="inlineStr"><is><t>{masked}</t></is></c>'

    return NUMBER_CELL.sub(as_text, xml) if "<sheetData" in xml else xml


def _readable(xml: str, start: int) -> bool:
    """Whether ``start`` lies in character data, in an attribute people read, or in an external target."""
    if xml.rfind(">", 0, start) >= xml.rfind("<", 0, start):
        return True
    tag = xml[xml.rfind("<", 0, start): xml.find(">", start) + 1]
    name = re.search(r'([\w:]+)="[^"]*$', xml[xml.rfind("<", 0, start): start])
    if name is None:
        return False
    return name[1] in TEXT_ATTRIBUTES or (name[1] == "Target" and 'TargetMode="External"' in tag)


def _xml_unescape(text: str) -> str:
    return re.sub(r"&(?:amp|lt|gt|quot|apos);", lambda m: XML_ENTITIES[m[0]], text)


def strip_macros(package: bytes) -> bytes:
    """An .xlsm package -> a macro-free .xlsx package (no VBA, no ribbon, no Python-only formulas).
    Parts it does not change are copied as compressed, so big sheets are never deflated again."""
    src = Archive(package, "package")
    workbook = opc.office_document(src)
    sheets = opc.sheets(src, workbook)
    dropped = [sheet for sheet in (opc.by_code_name(sheets, code) for code in DROP_SHEETS) if sheet]
    drop = {"xl/vbaProject.bin", opc.rels_part("xl/vbaProject.bin"), "xl/vbaData.xml"}
    drop |= {n for n in src.infos if n.startswith("customUI/")}
    drop |= {part for sheet in dropped for part in (sheet.part, opc.rels_part(sheet.part))}
    drop_rids = [sheet.rel_id for sheet in dropped]

    def edit(name: str, read: Callable[[], Iterator[bytes]]) -> bytes | None:
        if name == opc.CONTENT_TYPES:
            return _content_types(_text(read), drop).encode("utf-8")
        if name == workbook:
            return _drop_sheets(_text(read), drop_rids).encode("utf-8")
        if name == opc.rels_part(""):
            return _drop_relationships(_text(read), ()).encode("utf-8")
        if name == opc.rels_part(workbook):
            return _drop_relationships(_text(read), drop_rids).encode("utf-8")
        if name.startswith("xl/worksheets/sheet") and _has_udf(read()):
            return UDF_FORMULA.sub(b"", b"".join(read()))
        return None

    return repack(src, drop, edit)


def _has_udf(chunks: Iterator[bytes]) -> bool:
    """Whether a sheet holds a Python-only formula, looking a few MiB at a time (a formula is under 8 KiB)."""
    tail = b""
    for chunk in chunks:
        if UDF_FORMULA.search(tail + chunk):
            return True
        tail = chunk[-16384:]
    return False


def _text(read: Callable[[], Iterator[bytes]]) -> str:
    return b"".join(read()).decode("utf-8")


def _content_types(text: str, dropped: set[str]) -> str:
    text = re.sub(r'<Default Extension="bin"[^>]*/>', "", text.replace(MACRO_TYPE, XLSX_TYPE))
    return opc.drop_overrides(text, dropped)


def _drop_relationships(text: str, drop_rids: Collection[str]) -> str:
    """Relationships to the VBA project, the ribbon and the dropped sheets removed."""

    def unwanted(tag: str) -> bool:
        target = attr(tag, "Target") or ""
        return target.endswith("vbaProject.bin") or "customUI" in target or attr(tag, "Id") in drop_rids

    return opc.drop_relationships(text, unwanted)


def _drop_sheets(workbook: str, drop_rids: list[str]) -> str:
    for rid in drop_rids:
        workbook = re.sub(rf'<sheet [^>]*r:id="{rid}"[^>]*/>', "", workbook)
    return workbook


def render_pdf(xlsx: Path, lang: str) -> list[str]:
    """Dashboard and Plan as PDF through LibreOffice, when it is installed."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise FollowupError(text(lang, "errors", "no_libreoffice", copy=xlsx.name))
    with tempfile.TemporaryDirectory() as tmp:
        only = Path(tmp) / f"{xlsx.stem}.xlsx"
        only.write_bytes(_only_sheets(xlsx.read_bytes(), (L.DASHBOARD, L.PLAN)))
        subprocess.run([office, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(only)],
                       check=True, capture_output=True, timeout=180)
        pdf = files.write_atomic(xlsx.with_suffix(".pdf"), (Path(tmp) / f"{xlsx.stem}.pdf").read_bytes(), lang=lang)
    return [str(pdf)]


def _only_sheets(package: bytes, codes: tuple[str, ...]) -> bytes:
    """The same package with every other sheet hidden (LibreOffice prints visible sheets only)."""
    src = Archive(package, "package")
    workbook_part = opc.office_document(src)
    keep = {sheet.rel_id for sheet in opc.sheets(src, workbook_part) if sheet.code_name in codes}

    def hide(m: re.Match) -> str:
        tag = m.group(0)
        rid = re.search(r'r:id="([^"]+)"', tag).group(1)
        tag = re.sub(r'\sstate="[^"]*"', "", tag)
        return tag if rid in keep else tag.replace("<sheet ", '<sheet state="hidden" ', 1)

    workbook = re.sub(r"<sheet [^>]*/>", hide, src.read(workbook_part).decode("utf-8"))
    first = next(i for i, rid in enumerate(re.findall(r'<sheet [^>]*r:id="([^"]+)"', workbook)) if rid in keep)
    workbook = re.sub(r'\sactiveTab="\d+"', "", workbook).replace("<workbookView ", f'<workbookView activeTab="{first}" ')

    def edit(name: str, read: Callable[[], Iterator[bytes]]) -> bytes | None:
        if name == workbook_part:
            return workbook.encode("utf-8")
        if name.startswith("xl/worksheets/sheet"):
            data = b"".join(read())
            return data.replace(b' tabSelected="1"', b"") if b' tabSelected="1"' in data else None
        return None

    return repack(src, (), edit)
