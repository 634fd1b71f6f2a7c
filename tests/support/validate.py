"""Independent validation of a written workbook: not the tool's own checker.

``check_package(path)`` returns a list of problems (empty = valid):
  * every XML part (and .rels/.vml) parses with lxml, strictly: no DTD, no entities, no network;
  * ``openxml-audit`` (a pure-Python port of the Open XML SDK validator) finds no error;
  * a VBA project, when the file has one, parses with oletools' olevba and holds the project's modules.
``check_pdf(path, out_dir)`` (slower, LibreOffice) converts the workbook to PDF.
"""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from lxml import etree
from oletools.olevba import VBA_Parser
from functools import cache

from openxml_audit import FileFormat, OpenXmlValidator

from .libreoffice import soffice_command

XML_SUFFIXES = (".xml", ".rels", ".vml")
VBA_MODULES = {"ThisWorkbook", "FollowupRibbon", "xlwings", "Dictionary", "shCustomers", "shContacts",
               "shRules", "shSequences", "shSettings", "shAgenda", "shPlan", "shChecks", "shDashboard",
               "shReport", "shStyles", "shForm", "shXlwingsConf"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def xml_problems(path: Path) -> list[str]:
    problems = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith(XML_SUFFIXES) and name != "[Content_Types].xml":
                continue
            try:
                tree = etree.fromstring(zf.read(name), _PARSER)
            except etree.XMLSyntaxError as exc:
                problems.append(f"{name}: not well-formed XML: {exc}")
                continue
            if tree.getroottree().docinfo.doctype:
                problems.append(f"{name}: has a DTD")
    return problems


@cache
def _validator(file_format: FileFormat) -> OpenXmlValidator:
    """One validator per format: building one loads the schemas (~0.4 s)."""
    return OpenXmlValidator(file_format=file_format, max_errors=0)


def audit_findings(path: Path, file_format: FileFormat = FileFormat.OFFICE_2019) -> list[str]:
    """openxml-audit's errors as 'part: id: description' lines (warnings left out)."""
    result = _validator(file_format).validate(path)
    return [f"{e.part_uri}: {e.id}: {e.description}" for e in result.errors
            if e.severity.name == "ERROR"]


def vba_modules(path: Path) -> set[str]:
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1] for _, stream, _, _ in parser.extract_macros()}
    finally:
        parser.close()


def vba_problems(path: Path, expected: set[str] = VBA_MODULES) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        if "xl/vbaProject.bin" not in zf.namelist():
            return [] if path.suffix.lower() == ".xlsx" else ["no xl/vbaProject.bin in a macro workbook"]
    try:
        missing = expected - vba_modules(path)
    except Exception as exc:  # olevba raises many kinds on a damaged project
        return [f"olevba cannot parse the VBA project: {exc!r}"]
    return [f"VBA project lacks modules {sorted(missing)}"] if missing else []


def check_package(path: Path) -> list[str]:
    return xml_problems(path) + audit_findings(path) + vba_problems(path)


def check_pdf(path: Path, out_dir: Path, timeout: float = 120) -> list[str]:
    """LibreOffice converts the workbook to PDF (exit 0 and a non-empty .pdf)."""
    return check_pdfs([path], out_dir, timeout)[path]


def check_pdfs(paths: list[Path], out_dir: Path, timeout: float = 300) -> dict[Path, list[str]]:
    """``check_pdf`` of several workbooks (distinct names) in one LibreOffice run, which starts once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(soffice_command(out_dir) + ["--convert-to", "pdf", "--outdir", str(out_dir),
                                                     *map(str, paths)], capture_output=True, text=True, timeout=timeout)
    out = {}
    for path in paths:
        pdf = out_dir / (path.stem + ".pdf")
        ok = not run.returncode and pdf.exists() and pdf.stat().st_size > 0
        out[path] = [] if ok else [f"soffice --convert-to pdf failed ({run.returncode}): {run.stderr.strip()[-300:]}"]
    return out
