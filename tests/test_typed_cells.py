"""Rows and typed cells as people leave them (issue 17, items 4 and 5): a customer without an ID or with a
duplicated one is still scheduled and listed; text, an Excel error value or a formula in a synced column
(Last contact …) stays as typed, is flagged with the log's value, and the due date follows the log."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.values import ErrorValue

from conftest import TODAY

runner = CliRunner()
LEDGER = "客户台账"


def _edit(path: Path, **cells: object) -> None:
    """Type values into ledger cells (A1 -> value) as a spreadsheet saves them (openpyxl: errors as t="e")."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    for a1, value in cells.items():
        wb[LEDGER][a1] = value
    wb.save(path)


def _column(path: Path, label: str) -> str:
    ws = openpyxl.load_workbook(path)[LEDGER]
    return next(c.column_letter for c in ws[1] if c.value == label)


def _row_with(path: Path, label: str, value: object) -> int:
    ws = openpyxl.load_workbook(path)[LEDGER]
    col = next(c.column for c in ws[1] if c.value == label)
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col).value == value)


def _cell(path: Path, a1: str, sheet: str = LEDGER, data_only: bool = False) -> object:
    return openpyxl.load_workbook(path, data_only=data_only)[sheet][a1].value


def _flags(path: Path) -> list[dict]:
    result = runner.invoke(app, ["check", str(path), "--today", TODAY.isoformat(), "--json", "--no-backup"])
    return json.loads(result.output)["flags"]


def _run(*args: str) -> object:
    return runner.invoke(app, [*args, "--today", TODAY.isoformat(), "--no-backup"])


def _sheet_text(path: Path, title: str) -> str:
    ws = openpyxl.load_workbook(path)[title]
    return "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)


# ---------------------------------------------------------------- 17.4: no row disappears
def test_customer_without_id_is_planned_and_listed_by_name_and_cell(demo_book):
    row = _row_with(demo_book, "状态", "逾期")
    id_col = _column(demo_book, "客户编码")
    name = _cell(demo_book, f"{_column(demo_book, '客户名称')}{row}")
    _edit(demo_book, **{f"{id_col}{row}": None})
    assert _run("refresh", str(demo_book)).exit_code == 0
    assert _run("plan", str(demo_book)).exit_code == 0
    listed = f"{name} ({LEDGER}!{id_col}{row})"
    assert listed in _sheet_text(demo_book, "今日") + _sheet_text(demo_book, "周计划")
    assert _cell(demo_book, f"{_column(demo_book, '状态')}{row}") == "逾期"  # still scheduled


def test_duplicated_id_is_flagged_on_both_cells_and_stops_nobody(demo_book):
    id_col = _column(demo_book, "客户编码")
    overdue = _row_with(demo_book, "状态", "逾期")
    other = 2 if overdue != 2 else 3
    _edit(demo_book, **{f"{id_col}{overdue}": _cell(demo_book, f"{id_col}{other}")})
    for action in ("refresh", "plan", "endofday"):
        result = _run(action, str(demo_book))
        assert result.exit_code == 0, (action, result.output, result.exception)
    dupes = {f["cell"] for f in _flags(demo_book) if f["rule"] == "id.duplicate"}
    assert dupes == {f"{LEDGER}!{id_col}{other}", f"{LEDGER}!{id_col}{overdue}"}
    assert f"({LEDGER}!{id_col}{overdue})" in _sheet_text(demo_book, "周计划") + _sheet_text(demo_book, "今日")


def test_log_to_a_duplicated_id_is_refused_naming_both_cells(demo_book):
    id_col = _column(demo_book, "客户编码")
    first = _cell(demo_book, f"{id_col}2")
    _edit(demo_book, **{f"{id_col}5": first})
    before = demo_book.read_bytes()
    result = _run("log", str(demo_book), "--id", first, "--channel", "phone", "--reached", "yes")
    assert result.exit_code == 2
    assert f"{LEDGER}!{id_col}2" in result.output and f"{LEDGER}!{id_col}5" in result.output
    assert "客户编码" in result.output  # in the workbook's language
    assert demo_book.read_bytes() == before


# ---------------------------------------------------------------- 17.5: typed cells are never overwritten
def _overdue_last_contact(path: Path) -> tuple[str, str]:
    """(Last contact cell, Due cell) of the first overdue customer, whose Last contact the log filled."""
    row = _row_with(path, "状态", "逾期")
    return f"{_column(path, '最近联系')}{row}", f"{_column(path, '到期日')}{row}"


def test_text_in_last_contact_is_kept_flagged_with_the_logs_date_and_due_follows_the_log(demo_book):
    last, due = _overdue_last_contact(demo_book)
    logged, due_before = _cell(demo_book, last), _cell(demo_book, due)
    _edit(demo_book, **{last: "昨天下午"})
    assert _run("refresh", str(demo_book)).exit_code == 0
    assert _cell(demo_book, last) == "昨天下午"
    assert _cell(demo_book, due) == due_before
    [kept] = [f for f in _flags(demo_book) if f["rule"] == "synced.kept"]
    assert kept["cell"] == f"{LEDGER}!{last}" and logged.date().isoformat() in kept["message"]
    assert "昨天下午" in kept["message"] and "清空" in kept["message"]


def test_formula_in_last_contact_stays_a_formula_and_is_flagged(demo_book):
    last, _ = _overdue_last_contact(demo_book)
    _edit(demo_book, **{last: "=DATE(2026,11,20)"})
    for action in ("refresh", "endofday"):
        assert _run(action, str(demo_book)).exit_code == 0
    assert _cell(demo_book, last) == "=DATE(2026,11,20)"
    assert f"{LEDGER}!{last}" in {f["cell"] for f in _flags(demo_book) if f["rule"].startswith("synced.")}


def test_error_values_are_errors_naming_the_error_never_blanks(demo_book):
    last, _ = _overdue_last_contact(demo_book)
    tier = f"{_column(demo_book, '客户类别')}{_row_with(demo_book, '状态', '今日到期')}"
    _edit(demo_book, **{last: "#N/A", tier: "#REF!"})
    table = WorkbookPackage.open(demo_book).read_table(L.T_CUSTOMERS)
    assert type(table.loc[int(last[1:]), "最近联系"]) is ErrorValue
    assert _run("refresh", str(demo_book)).exit_code == 0
    flags = _flags(demo_book)
    errors = {f["cell"]: f["message"] for f in flags if f["rule"] == "cell.error"}
    assert "#N/A" in errors[f"{LEDGER}!{last}"] and "#REF!" in errors[f"{LEDGER}!{tier}"]
    assert not [f for f in flags if f["cell"] == f"{LEDGER}!{tier}" and f["rule"] in ("tier.missing", "tier.unknown")]
    wb = openpyxl.load_workbook(demo_book)
    assert wb[LEDGER][last].data_type == "e" and wb[LEDGER][tier].value == "#REF!"  # both kept as typed


def test_a_date_written_into_a_general_cell_gets_a_date_format_not_a_bare_serial(demo_book):
    """A date typed as text in a General cell is readable: when the log is newer, refresh writes the log's
    date there with a date format (a bare serial such as 46349 would show otherwise)."""
    last, _ = _overdue_last_contact(demo_book)
    logged = _cell(demo_book, last)
    wb = openpyxl.load_workbook(demo_book, keep_vba=True)
    wb[LEDGER][last] = "2026/1/5"
    wb[LEDGER][last].number_format = "General"
    wb.save(demo_book)
    assert _run("refresh", str(demo_book)).exit_code == 0
    cell = openpyxl.load_workbook(demo_book)[LEDGER][last]
    assert cell.value == logged and cell.is_date and "y" in cell.number_format.lower()


def test_date_formats_are_told_from_times_and_numbers():
    from pyxl.book.cells import date_style_ids, is_date_format
    assert all(map(is_date_format, ["yyyy-mm-dd", 'yyyy"年"m"月"d"日"', "m/d", "[$-804]yyyy/m/d", "mmm"]))
    assert not any(map(is_date_format, ["General", "hh:mm", "0.00", '"days"0', "#,##0"]))
    assert date_style_ids([(0, 0), (1, 14), (2, 164), (3, 165)], {164: "yyyy-mm-dd", 165: "#,##0"}) == {"1", "2"}


def test_customers_without_an_id_get_an_event_each_in_the_ics(demo_book, tmp_path):
    """Two customers without an ID planned for the same owner and day are two events, not one UID."""
    id_col, owner_col = _column(demo_book, "客户编码"), _column(demo_book, "业务员")
    overdue = _row_with(demo_book, "状态", "逾期")
    owner = _cell(demo_book, f"{owner_col}{overdue}")
    ws = openpyxl.load_workbook(demo_book)[LEDGER]
    status_col = next(c.column for c in ws[1] if c.value == "状态")
    second = next(r for r in range(overdue + 1, ws.max_row + 1)
                  if ws.cell(r, status_col).value == "逾期" and ws[f"{owner_col}{r}"].value == owner)
    _edit(demo_book, **{f"{id_col}{overdue}": None, f"{id_col}{second}": None})
    ics = tmp_path / "week.ics"
    assert _run("plan", str(demo_book), "--ics", str(ics)).exit_code == 0
    names = [_cell(demo_book, f"{_column(demo_book, '客户名称')}{r}") for r in (overdue, second)]
    text = ics.read_text("utf-8").replace("\r\n ", "")
    uids = [line for line in text.splitlines() if line.startswith("UID:")]
    assert len(uids) == len(set(uids)) and all(name in text for name in names)
