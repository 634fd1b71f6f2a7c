"""Issue 19.8: the row colours agree with the Status the last refresh wrote.

The ledger's conditional formats compare Due with the defined name FU_Today. A refresh run for another day
(``--today``) makes FU_Today that day; a refresh for today (no ``--today``, no Settings as-of date) gives it back
to TODAY(), so a workbook opened later recolours. LibreOffice evaluates the name, independently of our code.
"""
from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl.book import layout as L
from pyxl.cli import app
from pyxl.demo import make_demo

AS_OF = dt.date(2026, 11, 23)
PROBE = "BZ1"  # a cell outside every table of the ledger sheet


def _fu_today(path: Path) -> str:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    return "=" + wb.defined_names[L.TODAY_NAME].attr_text


def _evaluated_by_libreoffice(path: Path, tmp_path: Path) -> str:
    """FU_Today as LibreOffice computes it: typed as a formula in a free cell of the first sheet, exported to CSV."""
    probe = tmp_path / "probe.xlsm"
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb.worksheets[0]
    ws[PROBE] = f"=TEXT({L.TODAY_NAME},\"yyyy-mm-dd\")"
    wb.save(probe)
    subprocess.run(["soffice", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                    "--outdir", str(tmp_path), str(probe)], check=True, capture_output=True, timeout=240)
    rows = list(csv.reader((tmp_path / "probe.csv").open(encoding="utf-8")))
    return rows[0][openpyxl.utils.column_index_from_string("BZ") - 1]


def test_a_refresh_for_another_day_colours_for_that_day_and_a_refresh_for_today_gives_colours_back(tmp_path):
    path = tmp_path / "book.xlsm"
    make_demo(path, customers=12, today=AS_OF)  # refreshed with --today: Settings' as-of date stays blank
    assert _fu_today(path) == "=DATE(2026,11,23)"
    runner = CliRunner()
    assert runner.invoke(app, ["refresh", str(path)]).exit_code in (0, 1)  # for today
    assert _fu_today(path) == L.today_formula()  # Settings' as-of date, else TODAY()
    before = zipfile.ZipFile(path).read("xl/workbook.xml")
    assert runner.invoke(app, ["refresh", str(path)]).exit_code in (0, 1)
    assert zipfile.ZipFile(path).read("xl/workbook.xml") == before  # an unchanged name is not rewritten


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_computes_the_colour_day_the_refresh_used(tmp_path):
    path = tmp_path / "book.xlsm"
    make_demo(path, customers=12, today=AS_OF)
    assert _evaluated_by_libreoffice(path, tmp_path) == "2026-11-23"
    assert CliRunner().invoke(app, ["refresh", str(path)]).exit_code in (0, 1)
    assert _evaluated_by_libreoffice(path, tmp_path) == dt.date.today().isoformat()
