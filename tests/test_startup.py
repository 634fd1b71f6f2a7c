"""Start-up of the ``followup`` command: ``import pyxl.cli`` (what every command pays before it runs) leaves out
what a refresh does not use, and a refresh never imports pydantic (typer 0.29 converted each parameter through
it: ~0.15 s); the XML helpers that replace ``xml.sax.saxutils`` give its bytes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape as sax_escape, quoteattr as sax_quoteattr

import pytest

from pyxl.book.xmltext import escape, quoteattr

REPO = Path(__file__).resolve().parents[1]
#: imported by one command each, never by the command line itself: the masked copy (export: ahocorasick), the
#: importer, the builder (XlsxWriter), .ics (icalendar), Excel (xlwings); xml.sax.saxutils pulls in urllib,
#: http.client, email and ssl.
NOT_AT_START = ("pyxl.export", "pyxl.core.masking", "ahocorasick_rs", "pyxl.importer", "pyxl.build.workbook",
                "xlsxwriter", "icalendar", "xlwings", "xml.sax.saxutils", "urllib.request", "http.client", "ssl")


def test_the_command_line_imports_only_what_a_refresh_needs():
    code = f"import sys, pyxl.cli; print([m for m in {NOT_AT_START!r} if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_refresh_parses_its_command_line_without_pydantic(demo_book):
    command = [sys.executable, "-X", "importtime", "-m", "pyxl.cli", "refresh", str(demo_book), "--today",
               "2026-11-23", "--no-backup"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "pyxl.actions" in imported
    assert not {name for name in imported if name.split(".")[0] in ("pydantic", "pydantic_core")}


@pytest.mark.parametrize("text", ["", "plain", "a & b < c > d", "say \"hi\"", "it's", "both \"'\" quotes",
                                  "lines\nand\r\ttabs", "客户 & 跟进", "&amp; already"])
def test_xml_escapes_give_the_bytes_of_saxutils(text):
    assert escape(text) == sax_escape(text)
    assert quoteattr(text) == sax_quoteattr(text)
