"""The manager copy: a macro-free .xlsx made from the refreshed workbook by zip surgery.

Values, native conditional formats and charts are kept; the VBA project, the ribbon, the xlwings
configuration and the form sheet are removed; worksheet functions that need Python are replaced by
their last values; the as-of date is frozen so colours match the computed statuses.
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
from .book.xlsx import WorkbookPackage
from .book.xmltext import attr
from .book.zipio import Archive, repack
from .core.calendar import week_start

MACRO_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DROP_SHEETS = (L.XLWINGS_CONF, L.FORM)
UDF_FORMULA = re.compile(rb"<f>[^<]*\b(?:FU_\w+|xlwings\w*)\([^<]*</f>", re.IGNORECASE)
MASKED = ("phone", "email", "wechat")


def mask_text(value: object) -> object:
    """Keep the last 4 characters, as seed 001's privacy rule asks."""
    text = "" if value is None else str(value).strip()
    return text if not text else "*" * max(len(text) - 4, 3) + text[-4:]


def manager_copy(source: Path, out: Path | None = None, *, mask: bool = False, pdf: bool = False,
                 today: dt.date | None = None, force: bool = False) -> actions.Outcome:
    """The copy at ``out`` (default: beside the source, named by owner and week), written atomically; an
    output that is the source, or exists without ``force``, is refused before anything is written."""
    book = WorkbookPackage.open(source)
    inputs = actions.load(book)
    lang = book.language
    as_of = inputs.settings.today(today)
    out = Path(out or source.with_name(_copy_name(source, inputs.ledger, as_of)))
    for path in [out, out.with_suffix(".pdf")] if pdf else [out]:
        files.refuse_output(path, [source], force=force, lang=lang)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work.xlsm"
        _freeze(book, inputs, as_of, mask, work)
        files.write_atomic(out, strip_macros(work.read_bytes()), lang=lang)
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


def _freeze(book: WorkbookPackage, inputs: actions.Inputs, as_of: dt.date, mask_contacts: bool, work: Path) -> None:
    settings = book.read_table(L.T_SETTINGS)
    rows = [r for r, key in settings.iloc[:, 0].items() if str(key).strip() == "as_of_date"]
    if rows:
        book.set_column_values(L.T_SETTINGS, settings.columns[1], {rows[0]: as_of})
    if mask_contacts:
        for key in MASKED:
            header = inputs.ledger_headers.header_of(key)
            if header:
                book.set_column_values(L.T_CUSTOMERS, header,
                                       {int(r): mask_text(v) for r, v in inputs.ledger[key].items() if v is not None})
    book.save(work, backup=False)


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


def render_pdf(xlsx: Path, lang: str = "en") -> list[str]:
    """Dashboard and Plan as PDF through LibreOffice, when it is installed."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise ValueError("--pdf needs LibreOffice (soffice) on PATH; the .xlsx copy was written without a PDF")
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
