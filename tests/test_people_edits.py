"""The corpus of issue 17: workbooks as people edit them, each followed by every action of the CLI.

Each case edits a refreshed demo workbook the way a person does (through openpyxl, which does not grow
tables; through a real LibreOffice save; serialised the way Excel serialises), runs one ``followup`` command
in-process and asserts:
  * the exit code is 0, 1 or 2, never a traceback;
  * after a command that computes (refresh, check, plan, log, endofday) every typed row was read or a flag
    names its cell; a refused run (exit 2) must leave the file as it was;
  * no typed cell changed (synced columns may follow the log only from a value the tool writes);
  * the written file adds no finding to those of its input (strict XML, openxml-audit, olevba).
Combinations that fail today are strict xfails naming the issue item, so a fix turns them into failures
that ask for the mark to be removed.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl.actions import load as load_inputs
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.demo import make_demo
from support import people
from support.cells import Cell, changed_cells, ledger_headers, load, role_of, sheet_by_role, typed_cells
from support.excel import TypedFormula, serialise_like_excel
from support.libreoffice import save_as_libreoffice, soffice
from support.validate import check_package

TODAY = "2026-11-23"
LOGGED_ID_ROW = 9  # a customer no edit touches; `log` writes a touch for it
COMPUTING = {"refresh", "check", "plan", "log", "endofday"}
LEDGER_WRITERS = {"refresh", "log", "endofday"}


@dataclass
class Case:
    path: Path
    typed: list[people.Typed]
    cells: dict[tuple[str, str], Cell]
    findings: set[str]


@pytest.fixture(scope="session")
def base_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("people") / "base.xlsm"
    make_demo(path, customers=12, today=dt.date.fromisoformat(TODAY))
    return path


def _by_libreoffice(edit: people.Edit) -> Callable[[Path], list[people.Typed]]:
    def edit_then_save(path: Path) -> list[people.Typed]:
        typed = edit(path) if edit else []
        save_as_libreoffice(path, path)
        return typed
    return edit_then_save


def _excel_formula(path: Path) -> list[people.Typed]:
    """Excel-serialised, with =DATE(2026,11,20) typed in the first customer's Last contact (cached, calcChain)."""
    serialise_like_excel(path, path, TypedFormula("tblCustomers", "U2", "DATE(2026,11,20)", "46346", "U3"))
    return [people.Typed(sheet_by_role(load(path), "shCustomers").title, "U2", "=DATE(2026,11,20)",
                         "flag")]


EDITS: dict[str, Callable[[Path], list[people.Typed]]] = {
    **people.EDITS,
    "excel_serialised": lambda path: serialise_like_excel(path, path) and [],
    "excel_formula_in_last_contact": _excel_formula,
    "libreoffice_saved": _by_libreoffice(None),
    "libreoffice_customers_below_ledger": _by_libreoffice(people.customers_below_ledger),
}
NEEDS_SOFFICE = {name for name in EDITS if name.startswith("libreoffice")}

_cases: dict[str, Case] = {}


@pytest.fixture
def case(request: pytest.FixtureRequest, base_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """The base workbook after one edit, made once per session (LibreOffice saves are slow)."""
    name = request.param
    if name in NEEDS_SOFFICE and soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    if name not in _cases:
        path = Path(shutil.copy(base_book, tmp_path_factory.mktemp(name) / "book.xlsm"))
        typed = EDITS[name](path)
        _cases[name] = Case(path, typed, typed_cells(path), set(check_package(path)))
    return _cases[name]


def _args(action: str, book: Path, out: Path) -> list[str]:
    logged = sheet_by_role(load(book), "shCustomers").cell(LOGGED_ID_ROW, 1).value
    return {"refresh": ["refresh", str(book), "--today", TODAY],
            "check": ["check", str(book), "--today", TODAY],
            "plan": ["plan", str(book), "--today", TODAY],
            "log": ["log", str(book), "--id", str(logged), "--channel", "phone", "--reached", "yes", "--today", TODAY],
            "ids": ["ids", str(book)],
            "endofday": ["endofday", str(book), "--today", TODAY],
            "export": ["export", str(book), "-o", str(out)]}[action]


# ---- what proves a typed row was seen ------------------------------------------------------------

def _text(ws) -> str:
    return "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)


def _named(cell: str, text: str) -> bool:
    return re.search(rf"(?<![A-Z]){re.escape(cell)}(?!\d)", text) is not None


def _read(typed: people.Typed, book: Path) -> bool:
    """Whether the reader every action shares (actions.load) reads the typed row."""
    inputs = load_inputs(WorkbookPackage.open(book))
    row = int(re.sub(r"\D", "", typed.cell))
    if typed.kind == "owner_row":
        return str(typed.value) in set(inputs.settings.owners["owner"].astype(str))
    return row in (inputs.ledger if typed.kind == "ledger_row" else inputs.log).index


def _seen(typed: people.Typed, wb: openpyxl.Workbook, flags: str, action: str, book: Path) -> bool:
    row = int(re.sub(r"\D", "", typed.cell))
    ws = wb[typed.sheet]
    row_cells = [f"{c.column_letter}{row}" for c in ws[row] if c.value is not None]
    if typed.kind == "flag":
        return _named(typed.cell, flags)
    if any(_named(cell, flags) for cell in row_cells):
        return True
    if action not in LEDGER_WRITERS and typed.kind in {"ledger_row", "contact_row", "owner_row"}:
        return _read(typed, book)  # check and plan write no ledger cell that could show the row was read
    ledger = sheet_by_role(wb, "shCustomers")
    header = {c.value: c.column for c in ledger[1]}
    if typed.kind == "ledger_row":
        return ledger.cell(row, header.get("状态", header.get("Status"))).value is not None
    if typed.kind == "listed_row":
        listed = "\n".join(_text(ws) for ws in wb.worksheets if role_of(ws) in {"shAgenda", "shPlan", "shReport"})
        return str(typed.value) in listed
    if typed.kind == "contact_row":
        customer = ws.cell(row, 2).value
        ledger_row = next(r for r in range(2, ledger.max_row + 1) if ledger.cell(r, 1).value == customer)
        last = ledger.cell(ledger_row, header.get("最近联系", header.get("Last contact"))).value
        return isinstance(last, dt.datetime) and last.date() >= typed.value.date()
    if typed.kind == "owner_row":
        return str(typed.value) in _text(sheet_by_role(wb, "shDashboard"))
    return True


def _unseen(case: Case, book: Path, output: str, action: str) -> list[str]:
    wb = load(book)
    flags = _text(sheet_by_role(wb, "shChecks")) + "\n" + output
    return [f"{t.sheet}!{t.cell} ({t.kind}) {t.value!r}" for t in case.typed
            if t.kind != "part" and not _seen(t, wb, flags, action, book)]


# ---- the corpus ----------------------------------------------------------------------------------

ACTIONS = ["refresh", "check", "plan", "log", "ids", "endofday", "export"]
# Today's failures: (edits, actions, reason), each an item of issue 17.
KNOWN: list[tuple[set[str], set[str], str]] = [
]


def _xfail(edit: str, action: str) -> str | None:
    for edits, actions, reason in KNOWN:
        if edit in edits and action in actions:
            return reason
    return None


def _params() -> list:
    params = []
    for edit in EDITS:
        for action in ACTIONS:
            reason = _xfail(edit, action)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(edit, action, marks=marks, id=f"{edit}-{action}"))
    return params


@pytest.mark.parametrize(("case", "action"), _params(), indirect=["case"])
def test_edit_then_action(case: Case, action: str, tmp_path: Path) -> None:
    book = Path(shutil.copy(case.path, tmp_path / "book.xlsm"))
    out = tmp_path / "copy.xlsx"
    result = CliRunner().invoke(app, _args(action, book, out))
    output = result.output
    assert result.exit_code in (0, 1, 2) and not (result.exception and not isinstance(result.exception, SystemExit)), \
        f"exit {result.exit_code}: {result.exception!r}\n{output[-1500:]}"
    if result.exit_code == 2:
        assert book.read_bytes() == case.path.read_bytes(), "a refused run changed the file"
        pytest.fail(f"refused: {output.strip()[-400:]}")
    written = out if action == "export" else book
    if action in COMPUTING:
        unseen = _unseen(case, book, output, action)
        assert not unseen, "typed but neither read nor flagged:\n" + "\n".join(unseen)
    before = case.cells
    if action == "export":  # the macro-free copy has no xlwings settings sheet, by design
        before = {key: cell for key, cell in before.items() if key[0] != "xlwings.conf"}
    changed = changed_cells(before, typed_cells(written), ledger_headers(written), formulas=action != "export")
    assert not changed, f"{len(changed)} typed cell(s) changed:\n" + "\n".join(changed[:15])
    new = sorted(set(check_package(written)) - case.findings)
    assert not new, f"{len(new)} new validation finding(s):\n" + "\n".join(new[:10])
