"""Every file the tool writes passes independent validation: a strict XML parse of every part, openxml-audit
(the Open XML SDK's rules), the VBA project parsed by olevba, and LibreOffice converts it to PDF.

Each action runs once on a small workbook (``followup`` in-process); the PDFs are made in one LibreOffice run.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from pyxl.cli import app
from pyxl.demo import make_demo
from support.cells import load, sheet_by_role
from support.libreoffice import soffice
from support.validate import check_package, check_pdfs

TODAY = "2026-11-23"
CALLS = "客户编码,日期,方式,接通,结果\n{id},2026-11-20 10:00,电话,是,有意向\n"
IMPORTED = "客户名称,电话,业务员\n新客户甲,13900000001,{owner}\n"


def _first(book: Path, column: int) -> str:
    return str(sheet_by_role(load(book), "shCustomers").cell(2, column).value)


def _in_place(*args: str) -> Callable[[Path, Path], tuple[list[str], Path]]:
    return lambda book, work: ([args[0], str(book), *args[1:]], book)


def _built(book: Path, work: Path) -> tuple[list[str], Path]:
    return ["new", str(work / "built.xlsm")], work / "built.xlsm"


def _logged(book: Path, work: Path) -> tuple[list[str], Path]:
    return ["log", str(book), "--id", _first(book, 1), "--channel", "phone", "--reached", "yes", "--today", TODAY], book


def _exported(book: Path, work: Path) -> tuple[list[str], Path]:
    return ["export", str(book), "-o", str(work / "exported.xlsx")], work / "exported.xlsx"


def _rolled_up(book: Path, work: Path) -> tuple[list[str], Path]:
    other = Path(shutil.copy(book, work / "other.xlsm"))
    return ["rollup", str(book), str(other), "-o", str(work / "team.xlsx"), "--today", TODAY], work / "team.xlsx"


def _imported(book: Path, work: Path) -> tuple[list[str], Path]:
    header = [c.value for c in sheet_by_role(load(book), "shCustomers")[1]]
    source = work / "old.csv"
    source.write_text(IMPORTED.format(owner=_first(book, header.index("业务员") + 1)), encoding="utf-8")
    calls = work / "calls.csv"
    calls.write_text(CALLS.format(id=_first(book, 1)), encoding="utf-8")
    return ["import", str(source), str(calls), "--into", str(book), "--today", TODAY], book


WRITERS: dict[str, Callable[[Path, Path], tuple[list[str], Path]]] = {
    "built": _built,
    "refreshed": _in_place("refresh", "--today", TODAY),
    "planned": _in_place("plan", "--today", TODAY),
    "logged": _logged,
    "ids": _in_place("ids"),
    "end_of_day": _in_place("endofday", "--today", TODAY),
    "exported": _exported,
    "rolled_up": _rolled_up,
    "imported": _imported,
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """Each action's written file (named after the action) and LibreOffice's PDF problems with it."""
    root = tmp_path_factory.mktemp("written")
    base = root / "base.xlsm"
    make_demo(base, customers=8, today=dt.date.fromisoformat(TODAY))
    files = {}
    for name, writer in WRITERS.items():
        work = root / name
        work.mkdir()
        args, path = writer(Path(shutil.copy(base, work / "book.xlsm")), work)
        result = CliRunner().invoke(app, args)
        assert result.exit_code in (0, 1), f"{name}: exit {result.exit_code}\n{result.output[-800:]}"
        files[name] = Path(shutil.copy(path, root / f"{name}{path.suffix}"))
    pdfs = check_pdfs(list(files.values()), root / "pdf") if soffice() else {}
    return {name: (path, pdfs.get(path, [])) for name, path in files.items()}


@pytest.mark.parametrize("action", list(WRITERS))
def test_every_written_file_validates(written: dict[str, tuple[Path, list[str]]], action: str) -> None:
    path, pdf_problems = written[action]
    assert check_package(path) == []
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: no PDF check")
    assert pdf_problems == []
