"""Issue 6 for managers, on real workbooks: the Dashboard holds every owner with its charts reading exactly
the rows written.

Expected figures are worked out here from the rows the test types (ledger and log), not taken from the tool.
"""
from __future__ import annotations

import collections
import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl import actions
from pyxl.book import charts
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core import reports
from pyxl.core.schema import field
from pyxl.demo import make_demo

from conftest import TODAY


# ---------------------------------------------------------------- chart ranges
def test_resize_refs_moves_only_the_last_row_of_ranges_starting_at_a_given_cell():
    formula = "=SERIES(\"t\",看板!$A$29:$A$58,'看板'!$C$29:$C$58,'Other'!$A$29:$A$58,1)"
    out = charts.resize_refs(formula, "看板", {(29, 1): 3, (29, 3): 3})
    assert out == "=SERIES(\"t\",看板!$A$29:$A$31,'看板'!$C$29:$C$31,'Other'!$A$29:$A$58,1)"
    assert charts.resize_refs("'It''s'!$B$5:$B$24", "It's", {(5, 2): 0}) == "'It''s'!$B$5:$B$5"  # never empty
    assert charts.resize_refs("看板!$B$5:$B$24", "看板", {(6, 2): 4}) == "看板!$B$5:$B$24"


def _refresh(path: Path, today: dt.date) -> actions.Outcome:
    book = WorkbookPackage.open(path)
    outcome = actions.refresh(book, today)
    book.save(backup=False)
    return outcome


def _chart_refs(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as z:
        return [re.findall(r"<c:f>([^<]*)</c:f>", z.read(n).decode()) for n in sorted(z.namelist())
                if n.startswith("xl/charts/chart")]


def _last_row(ref: str) -> int:
    return int(ref.rsplit("$", 1)[1])


@pytest.fixture(scope="module")
def big_team(tmp_path_factory) -> Path:
    """More owners than the Dashboard's 30 rows used to hold."""
    path = tmp_path_factory.mktemp("team") / "team.xlsm"
    make_demo(path, customers=240, owners=37, today=TODAY)
    return path


def test_owner_block_and_overdue_chart_hold_every_owner(big_team):
    wb = openpyxl.load_workbook(big_team)
    ledger = list(wb["客户台账"].iter_rows(values_only=True))
    col = {h: i for i, h in enumerate(ledger[0])}
    rows = [r for r in ledger[1:] if r[col["客户编码"]]]
    customers = collections.Counter(r[col["业务员"]] for r in rows)
    overdue = collections.Counter(r[col["业务员"]] for r in rows if r[col["状态"]] == "逾期")
    assert len(customers) > L.OWNERS.rows

    ws = wb["看板"]
    block = {}
    for r in range(L.OWNERS.row + 1, L.OWNERS.row + 1 + len(customers) + 1):
        owner = ws.cell(r, 1).value
        if owner:
            block[owner] = (ws.cell(r, 2).value, ws.cell(r, 3).value)
    assert {o: c for o, (c, _) in block.items()} == dict(customers)
    assert {o: n for o, (_, n) in block.items() if n} == dict(overdue)

    refs = _chart_refs(big_team)
    owner_chart = next(r for r in refs if r[0].endswith(f"$A${L.OWNERS.row + 1}:$A${L.OWNERS.row + len(customers)}"))
    assert all(_last_row(ref) == L.OWNERS.row + len(customers) for ref in owner_chart)
    tiers = [r for r in wb["规则"].iter_rows(min_row=2, values_only=True) if r[0]]
    funnel_chart = next(r for r in refs if f"$A${L.FUNNEL.row + 1}:" in r[0])
    assert all(_last_row(ref) == L.FUNNEL.row + len(tiers) for ref in funnel_chart)
    per_day_chart = next(r for r in refs if f"$Q${L.PER_DAY.row + 1}:" in r[0])
    assert all(_last_row(ref) == L.PER_DAY.row + reports.DAYS_SHOWN for ref in per_day_chart)


def test_charts_follow_when_owners_leave_and_the_export_keeps_them(big_team, tmp_path):
    path = Path(tmp_path / "two.xlsm")
    path.write_bytes(big_team.read_bytes())
    book = WorkbookPackage.open(path)
    owner_header = field("ledger", "owner").zh
    ledger = book.read_table(L.T_CUSTOMERS)
    book.set_column_values(L.T_CUSTOMERS, owner_header, {r: ("甲" if i % 2 else "乙") for i, r in enumerate(ledger.index)})
    book.save(backup=False)
    _refresh(path, TODAY)
    copy = tmp_path / "copy.xlsx"
    result = CliRunner().invoke(app, ["export", str(path), "-o", str(copy)])
    assert result.exit_code == 0, result.output
    for target in (path, copy):
        owner_chart = next(r for r in _chart_refs(target) if f"$A${L.OWNERS.row + 1}:" in r[0])
        assert [_last_row(ref) for ref in owner_chart] == [L.OWNERS.row + 2] * 2
    ws = openpyxl.load_workbook(copy)["看板"]
    assert {ws.cell(L.OWNERS.row + i, 1).value for i in (1, 2)} == {"甲", "乙"}
    assert ws.cell(L.OWNERS.row + 3, 1).value is None
