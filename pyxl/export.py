"""The manager copy: a macro-free .xlsx made from the refreshed workbook by zip surgery.

Values, native conditional formats and charts are kept; the VBA project, the ribbon, the xlwings
configuration and the form sheet are removed; worksheet functions that need Python are replaced by
their last values; the as-of date is frozen so colours match the computed statuses.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from . import actions
from .book import layout as L
from .book.xlsx import WorkbookPackage, repack
from .core.calendar import week_start

MACRO_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DROP_SHEETS = (L.XLWINGS_CONF, L.FORM)
UDF_FORMULA = re.compile(rb"<f>[^<]*\b(?:FU_\w+|xlwings\w*)\([^<]*</f>", re.IGNORECASE)
MASKED = ("phone", "email", "wechat")
FIXED_PARTS = ("[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/workbook.xml")


def mask_text(value: object) -> object:
    """Keep the last 4 characters, as seed 001's privacy rule asks."""
    text = "" if value is None else str(value).strip()
    return text if not text else "*" * max(len(text) - 4, 3) + text[-4:]


def manager_copy(source: Path, out: Path | None = None, *, mask: bool = False, pdf: bool = False,
                 today: dt.date | None = None) -> actions.Outcome:
    book = WorkbookPackage.open(source)
    inputs = actions.load(book)
    as_of = inputs.settings.today(today)
    out = out or source.with_name(_copy_name(source, inputs.ledger, as_of))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work.xlsm"
        _freeze(book, inputs, as_of, mask, work)
        out.write_bytes(strip_macros(work.read_bytes()))
    outcome = actions.Outcome(as_of, {"copy": str(out), "masked": mask}, files=[str(out)],
                              lang=inputs.settings.language)
    if pdf:
        outcome.files += render_pdf(out)
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
    src = zipfile.ZipFile(io.BytesIO(package))
    names = src.namelist()
    workbook_rels = src.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    workbook = src.read("xl/workbook.xml").decode("utf-8")
    drop = {"xl/vbaProject.bin", "xl/_rels/vbaProject.bin.rels", "xl/vbaData.xml"}
    drop |= {n for n in names if n.startswith("customUI/")}
    drop_rids = []
    for code in DROP_SHEETS:
        part, rid = _sheet_part(src, workbook, workbook_rels, code)
        if part:
            drop |= {part, part.replace("worksheets/", "worksheets/_rels/") + ".rels"}
            drop_rids.append(rid)

    def edit(name: str, read: Callable[[], Iterator[bytes]]) -> bytes | None:
        if name in FIXED_PARTS or (name.startswith("xl/worksheets/sheet") and _has_udf(read())):
            return _fix_part(name, b"".join(read()), drop, drop_rids)
        return None

    return repack(package, drop, edit)


def _has_udf(chunks: Iterator[bytes]) -> bool:
    """Whether a sheet holds a Python-only formula, looking a few MiB at a time (a formula is under 8 KiB)."""
    tail = b""
    for chunk in chunks:
        if UDF_FORMULA.search(tail + chunk):
            return True
        tail = chunk[-16384:]
    return False


def _sheet_part(src: zipfile.ZipFile, workbook: str, rels: str, code: str) -> tuple[str | None, str | None]:
    for rid, target in re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels):
        part = "xl/" + target.lstrip("/").removeprefix("xl/")
        if "worksheets/" in part and f'codeName="{code}"' in _head(src, part).decode("utf-8", "replace"):
            return part, rid
    return None, None


def _head(src: zipfile.ZipFile, part: str) -> bytes:
    """The first 2,000 bytes of a part, without inflating the rest of a big sheet."""
    with src.open(part) as fh:
        return fh.read(2000)


def _fix_part(name: str, data: bytes, dropped: set[str], drop_rids: list[str]) -> bytes:
    if name == "[Content_Types].xml":
        text = data.decode("utf-8").replace(MACRO_TYPE, XLSX_TYPE)
        text = re.sub(r'<Default Extension="bin"[^>]*/>', "", text)
        for part in dropped:
            text = re.sub(rf'<Override PartName="/{re.escape(part)}"[^>]*/>', "", text)
        return text.encode("utf-8")
    if name in ("_rels/.rels", "xl/_rels/workbook.xml.rels"):
        text = data.decode("utf-8")
        text = re.sub(r'<Relationship[^>]*Target="[^"]*(?:vbaProject\.bin|customUI[^"]*)"[^>]*/>', "", text)
        for rid in drop_rids:
            text = re.sub(rf'<Relationship[^>]*Id="{rid}"[^>]*/>', "", text)
        return text.encode("utf-8")
    if name == "xl/workbook.xml":
        text = data.decode("utf-8")
        for rid in drop_rids:
            text = re.sub(rf'<sheet [^>]*r:id="{rid}"[^>]*/>', "", text)
        return text.encode("utf-8")
    return UDF_FORMULA.sub(b"", data)  # a worksheet


def render_pdf(xlsx: Path) -> list[str]:
    """Dashboard and Plan as PDF through LibreOffice, when it is installed."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise ValueError("--pdf needs LibreOffice (soffice) on PATH; the .xlsx copy was written without a PDF")
    with tempfile.TemporaryDirectory() as tmp:
        only = Path(tmp) / f"{xlsx.stem}.xlsx"
        only.write_bytes(_only_sheets(xlsx.read_bytes(), (L.DASHBOARD, L.PLAN)))
        subprocess.run([office, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(only)],
                       check=True, capture_output=True, timeout=180)
        pdf = xlsx.with_suffix(".pdf")
        shutil.move(Path(tmp) / f"{xlsx.stem}.pdf", pdf)
    return [str(pdf)]


def _only_sheets(package: bytes, codes: tuple[str, ...]) -> bytes:
    """The same package with every other sheet hidden (LibreOffice prints visible sheets only)."""
    src = zipfile.ZipFile(io.BytesIO(package))
    workbook = src.read("xl/workbook.xml").decode("utf-8")
    rels = src.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    keep = {_sheet_part(src, workbook, rels, code)[1] for code in codes}

    def hide(m: re.Match) -> str:
        tag = m.group(0)
        rid = re.search(r'r:id="([^"]+)"', tag).group(1)
        tag = re.sub(r'\sstate="[^"]*"', "", tag)
        return tag if rid in keep else tag.replace("<sheet ", '<sheet state="hidden" ', 1)

    workbook = re.sub(r"<sheet [^>]*/>", hide, workbook)
    first = next(i for i, rid in enumerate(re.findall(r'<sheet [^>]*r:id="([^"]+)"', workbook)) if rid in keep)
    workbook = re.sub(r'\sactiveTab="\d+"', "", workbook).replace("<workbookView ", f'<workbookView activeTab="{first}" ')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = workbook.encode("utf-8") if info.filename == "xl/workbook.xml" else src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b' tabSelected="1"', b"")
            dst.writestr(info, data)
    return out.getvalue()
