"""Issue 19.10: cadence and rules by stage — the Rules sheet's stage table (tblStages).

Dates hand-computed on the 2026 Chinese calendar: Spring Festival off Sun 15 – Mon 23 February, make-up
workdays Sat 14 and Sat 28 February. From a last contact on Thu 12 February the working days are Fri 13,
Sat 14, Tue 24, Wed 25, Thu 26: 1 working day → 13 Feb, 2 → 14 Feb, 3 → 24 Feb, 5 → 26 Feb.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl import actions, importer
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.build.workbook import build_workbook
from pyxl.cli import app

LAST = dt.date(2026, 2, 12)
runner = CliRunner()


def _ledger_rows(path: Path, rows: list[dict[str, object]]) -> None:
    """Rows typed under the Customers header (the table grows to them), by header label."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb.worksheets[0]
    col = {c.value: c.column for c in ws[1]}
    for r, row in enumerate(rows, start=2):
        for header, value in row.items():
            ws.cell(r, col[header], value)
    wb.save(path)


def _set_stage_cell(path: Path, code: str, header: str, value: object) -> None:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = next(ws for ws in wb.worksheets if L.T_STAGES in ws.tables)
    ref = ws.tables[L.T_STAGES].ref
    first = openpyxl.utils.cell.range_boundaries(ref)
    cols = {ws.cell(first[1], c).value: c for c in range(first[0], first[2] + 1)}
    row = next(r for r in range(first[1] + 1, first[3] + 1) if ws.cell(r, first[0]).value == code)
    ws.cell(row, cols[header], value)
    wb.save(path)


def _refresh(path: Path, today: dt.date) -> dict[str, dict]:
    result = runner.invoke(app, ["refresh", str(path), "--today", today.isoformat()])
    assert result.exit_code in (0, 1), result.output
    inputs = actions.load(WorkbookPackage.open(path))
    return {row["name"]: row for row in inputs.ledger.to_dict("records")}


def _book(tmp_path: Path, preset: str, rows: list[dict]) -> Path:
    path = build_workbook(tmp_path / f"{preset}.xlsm", "zh-CN", preset)
    _ledger_rows(path, [{"客户名称": r[0], "客户类别": r[1], "流程阶段": r[2], "最近联系": LAST, "业务员": "王磊"}
                        for r in rows])
    return path


def _day(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def test_the_tighter_of_tier_and_stage_sets_due_and_no_stage_keeps_the_tier(tmp_path):
    path = _book(tmp_path, "pipeline", [("谈判中", "P", "商务谈判"), ("接触", "P", "初步接触"),
                                         ("无阶段", "P", None), ("已丢", "L", "商务谈判")])
    _set_stage_cell(path, "LEAD", "阶段最长间隔", 10)  # a stage looser than the tier
    _ledger_rows(path, [{}, {}, {}, {}, {"客户名称": "线索客户", "客户类别": "P", "流程阶段": "新线索", "最近联系": LAST,
                                        "业务员": "王磊"}])
    rows = _refresh(path, dt.date(2026, 2, 13))
    due = {name: _day(row["due"]) for name, row in rows.items()}
    assert due["谈判中"] == dt.date(2026, 2, 13)  # stage: 1 working day, tighter than the tier's 5
    assert due["接触"] == dt.date(2026, 2, 24)  # stage: 3 working days over the Spring Festival
    assert due["无阶段"] == dt.date(2026, 2, 26)  # no stage: the tier's 5 working days
    assert due["线索客户"] == dt.date(2026, 2, 26)  # the tier's 5 is tighter than the stage's 10 (alias 新线索)
    assert due["已丢"] is None  # a tier that is not followed up stays so, whatever the stage


def test_the_default_stage_table_keeps_todays_due_dates(tmp_path):
    path = _book(tmp_path, "maturity", [("有阶段", "2", "B2 总监介入"), ("无阶段", "2", None)])
    rows = _refresh(path, dt.date(2026, 2, 13))
    assert _day(rows["有阶段"]["due"]) == _day(rows["无阶段"]["due"]) is not None
    result = runner.invoke(app, ["check", str(path), "--json", "--today", "2026-02-13"])
    flags = json.loads(result.output)
    assert any(f["rule"] == "escalation.stage" for f in flags["flags"])  # B2: co-owner stage from the table


def _flags(path: Path, today: dt.date) -> list[dict]:
    result = runner.invoke(app, ["check", str(path), "--json", "--today", today.isoformat()])
    return json.loads(result.output)["flags"]


def test_no_touch_for_n_working_days_is_flagged_on_the_last_contact_cell(tmp_path):
    path = _book(tmp_path, "pipeline", [("演示客户", "P", "方案演示")])
    assert not [f for f in _flags(path, dt.date(2026, 2, 25)) if f["rule"] == "stage.idle"]  # 4 working days
    idle = [f for f in _flags(path, dt.date(2026, 2, 26)) if f["rule"] == "stage.idle"]  # 5 working days
    assert [f["cell"] for f in idle] == ["客户台账!" + _last_contact_cell(path, 2)]
    assert "5 个工作日" in idle[0]["message"]


def _last_contact_cell(path: Path, row: int) -> str:
    ws = openpyxl.load_workbook(path, keep_vba=True).worksheets[0]
    col = next(c.column_letter for c in ws[1] if c.value == "最近联系")
    return f"{col}{row}"


def test_a_stage_table_typo_is_flagged_on_its_cell(tmp_path):
    path = _book(tmp_path, "pipeline", [("演示客户", "P", "方案演示")])
    _set_stage_cell(path, "DEMO", "阶段最长间隔", "两天")
    bad = [f for f in _flags(path, dt.date(2026, 2, 13)) if f["rule"] == "stages.invalid"]
    assert {f["cell"] for f in bad} == {bad[0]["cell"]} and bad[0]["cell"].startswith("规则!")  # one cell
    assert "阶段最长间隔" in bad[0]["message"] and "两天" in bad[0]["message"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_pipeline_preset_builds_with_its_stage_table(tmp_path, lang):
    path = build_workbook(tmp_path / "p.xlsm", lang, "pipeline")
    inputs = actions.load(WorkbookPackage.open(path))
    assert list(inputs.rules.stages.index) == ["LEAD", "FIRST", "DEMO", "NEGO"]
    assert list(inputs.rules.stages["max"]) == [3, 3, 2, 1] and inputs.rules.co_owner_stages() == ["NEGO"]
    assert inputs.rules.problems == []


def test_import_maps_a_stage_alias_and_points_at_the_stage_aliases(tmp_path):
    path = build_workbook(tmp_path / "p.xlsm", "zh-CN", "pipeline")
    src = tmp_path / "old.csv"
    src.write_text("客户名称,业务员,流程阶段\n甲公司,王磊,谈判\n乙公司,王磊,签约\n", encoding="utf-8")
    report = importer.run_import(path, [src], today=dt.date(2026, 2, 13))
    led = actions.load(WorkbookPackage.open(path)).ledger.set_index("name")
    assert led.loc["甲公司", "stage"] == "商务谈判"  # alias 谈判 -> the stage's name
    s = report.sources[0]
    assert s.unmapped["流程阶段"] == {"签约": 1}
    hint = s.lists["流程阶段"]
    assert "规则!" in hint and "阶段别名" in hint  # the stage table's Aliases column


def test_the_team_rollup_keeps_the_first_books_stage_table(tmp_path):
    from pyxl.rollup import rollup
    book = _book(tmp_path, "pipeline", [("演示客户", "P", "方案演示")])
    rollup([book], tmp_path / "team.xlsx", today=dt.date(2026, 2, 13))
    team = actions.load(WorkbookPackage.open(tmp_path / "team.xlsx"))
    assert list(team.rules.stages.index) == ["LEAD", "FIRST", "DEMO", "NEGO"]
    # the stage's 2 working days: Fri 13 and the make-up Saturday 14 February
    assert _day(team.ledger.set_index("name").loc["演示客户", "due"]) == dt.date(2026, 2, 14)


def test_a_stage_table_left_empty_schedules_by_the_tiers_alone(tmp_path):
    path = _book(tmp_path, "pipeline", [("谈判中", "P", "商务谈判")])
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = next(ws for ws in wb.worksheets if L.T_STAGES in ws.tables)
    c0, r0, c1, r1 = openpyxl.utils.cell.range_boundaries(ws.tables[L.T_STAGES].ref)
    for row in ws.iter_rows(min_row=r0 + 1, max_row=r1, min_col=c0, max_col=c1):
        for cell in row:
            cell.value = None
    wb.save(path)
    rows = _refresh(path, dt.date(2026, 2, 13))
    assert _day(rows["谈判中"]["due"]) == dt.date(2026, 2, 26)  # the tier's 5 working days
    assert not [f for f in _flags(path, dt.date(2026, 2, 26)) if f["rule"] == "stage.idle"]


def test_a_stage_table_without_a_co_owner_column_reads_the_parameter():
    from pyxl.core.rules import preset_stages, rules_from_table, preset_table, with_stages
    rules = rules_from_table(preset_table("maturity", "zh-CN"), {"co_owner_stages": "B3"})
    table = preset_stages("maturity")
    assert with_stages(rules, table).co_owner_stages() == ["B2", "B3", "CS", "CR"]  # the column says
    assert with_stages(rules, table.drop(columns="co_owner")).co_owner_stages() == ["B3"]  # the parameter
    assert with_stages(rules, table.iloc[:0]).co_owner_stages() == ["B3"]  # an emptied table: the parameter
