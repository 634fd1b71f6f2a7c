"""Issue 6 for managers, on real workbooks: the Dashboard holds every owner with its charts reading exactly
the rows written, and the weekly report lists this week's customers with their Friday columns.

Expected figures are worked out here from the rows the test types (ledger and log), not taken from the tool.
"""
from __future__ import annotations

import collections
import datetime as dt
import io
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
from pyxl.core.calendar import TeamCalendar, week_start
from pyxl.core.i18n import texts
from pyxl.core.schema import field, fields
from pyxl.demo import make_demo

from conftest import TODAY

LEDGER = {f.key: f.zh for f in fields("ledger")}
LOG = {f.key: f.zh for f in fields("contacts")}
ZH = texts("zh-CN")
D = dt.date
MONDAY = week_start(TODAY)  # 2026-11-23
THURSDAY, FRIDAY = MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=4)


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


# ---------------------------------------------------------------- the Friday columns
def test_friday_is_the_last_working_day_of_the_week():
    cal = TeamCalendar("CN")
    assert not reports.friday_is_due(cal, THURSDAY) and reports.friday_is_due(cal, FRIDAY)
    assert reports.friday_is_due(cal, FRIDAY + dt.timedelta(days=2))  # the weekend after still counts
    day_off = TeamCalendar("CN", extra_holidays=[FRIDAY])
    assert reports.friday_is_due(day_off, THURSDAY)
    saturday_worked = TeamCalendar("CN", extra_workdays=[FRIDAY + dt.timedelta(days=1)])
    assert not reports.friday_is_due(saturday_worked, FRIDAY)


# who, touched how, Friday columns: (week_followup, next_actions)
CUSTOMERS = [
    dict(customer_id="JRN01001", name="甲公司", owner="张伟", tier="3K", kp="是", last_contact=D(2026, 11, 16),
         week_followup="报价已发", next_actions="周三前回访"),
    dict(customer_id="JRN01002", name="乙公司", owner="张伟", tier="4N", kp="是", last_contact=D(2026, 11, 2)),
    dict(customer_id="JRN01003", name="丙公司", owner="张伟", tier="0", last_contact=MONDAY + dt.timedelta(days=1),
         week_followup="初次沟通"),  # no log: the last contact typed this week
    dict(customer_id="JRN02001", name="丁公司", owner="李娜", tier="3N", kp="是", last_contact=D(2026, 11, 12),
         week_followup="上周写的", next_actions="上周写的"),  # touched last week only
    dict(customer_id="JRN02002", name="戊公司", owner="李娜", tier="5", last_contact=D(2026, 11, 20)),
    dict(customer_id="JRN02003", name="己公司", owner="李娜", tier="2", kp="是", stage="CS",
         last_contact=D(2026, 11, 18), week_followup="合同已寄", next_actions="催回签"),
]
TOUCHES = [  # (customer, day, reached)
    ("JRN01001", MONDAY, "是"), ("JRN01002", MONDAY + dt.timedelta(days=2), "否"),
    ("JRN02001", D(2026, 11, 19), "是"), ("JRN02003", MONDAY + dt.timedelta(days=2), "是"),
]


def _team_book(path: Path) -> None:
    book = WorkbookPackage.open(path)
    book.append_table_rows(L.T_CUSTOMERS, [{LEDGER[k]: v for k, v in c.items()} for c in CUSTOMERS])
    book.append_table_rows(L.T_CONTACTS, [{LOG["when"]: dt.datetime.combine(day, dt.time(10)), LOG["customer_id"]: cid,
                                           LOG["channel"]: "电话", LOG["reached"]: reached}
                                          for cid, day, reached in TOUCHES])
    book.save(backup=False)


def _expected(today: dt.date) -> tuple[set[str], set[str]]:
    """Contacted this week (a log touch or a last contact from Monday to today), and of those the ones with a
    blank Friday column."""
    monday = week_start(today)
    logged = {cid for cid, day, _ in TOUCHES if monday <= day <= today}
    touched = {c["customer_id"] for c in CUSTOMERS if monday <= c["last_contact"] <= today} | logged
    blank = {c["customer_id"] for c in CUSTOMERS if c["customer_id"] in touched
             and not (c.get("week_followup") and c.get("next_actions"))}
    return touched, blank


def _friday_section(path: Path) -> tuple[str, list[dict]]:
    ws = openpyxl.load_workbook(path)["看板"]
    rows = list(ws.iter_rows(values_only=True))
    title_at = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("本周跟进情况与下一步"))
    header = rows[title_at + 1]
    body = [dict(zip(header, r)) for r in rows[title_at + 2:] if r[0]]
    return rows[title_at][0], body


@pytest.mark.parametrize("today", [THURSDAY, FRIDAY])
def test_weekly_report_lists_this_weeks_customers_with_their_friday_columns(empty_book, today):
    _team_book(empty_book)
    outcome = _refresh(empty_book, today)
    touched, blank = _expected(today)
    title, body = _friday_section(empty_book)
    week_label, next_label = field("ledger", "week_followup").zh, field("ledger", "next_actions").zh
    assert {r["客户编码"] for r in body} == touched
    assert f"本周联系 {len(touched)} 位客户" in title
    by_id = {c["customer_id"]: c for c in CUSTOMERS}
    for r in body:
        typed = by_id[r["客户编码"]]
        assert r["业务员"] == typed["owner"] and r["客户类别"] == typed["tier"]
        for key, label in (("week_followup", week_label), ("next_actions", next_label)):
            if typed.get(key):
                assert r[label] == typed[key]
            else:  # marked only once the week's last working day has come
                assert r[label] == (ZH["friday"]["blank"] if today >= FRIDAY else None)
    assert [r["业务员"] for r in body] == sorted(r["业务员"] for r in body)

    flagged = outcome.flags[outcome.flags["rule"] == "week.friday_blank"]
    ledger_rows = {c["customer_id"]: i + 2 for i, c in enumerate(CUSTOMERS)}
    if today < FRIDAY:
        assert flagged.empty and "未填" not in title
        return
    assert set(flagged["row"]) == {ledger_rows[c] for c in blank}
    assert f"{len(blank)} 位未填周五两栏" in title
    checks = [r for r in openpyxl.load_workbook(empty_book)["校验"].iter_rows(values_only=True)
              if r[1] == "week.friday_blank"]
    assert {r[3] for r in checks} == blank
    next_col = openpyxl.utils.get_column_letter(list(LEDGER).index("next_actions") + 1)
    assert f"客户台账!{next_col}{ledger_rows['JRN01003']}" in {r[2] for r in checks}  # only Next actions is blank


def test_english_labels_and_an_empty_week(empty_book):
    book = WorkbookPackage.open(empty_book)
    settings = book.read_table(L.T_SETTINGS)
    row = next(r for r, k in settings.iloc[:, 0].items() if k == "language")
    book.set_column_values(L.T_SETTINGS, settings.columns[1], {row: "en"})
    book.save(backup=False)
    _refresh(empty_book, FRIDAY)
    rows = list(openpyxl.load_workbook(empty_book)["看板"].iter_rows(values_only=True))
    title_at = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("This week's follow-up"))
    assert "0 customers contacted" in rows[title_at][0]
    assert rows[title_at + 1][6] == "This week's follow-up" and rows[title_at + 1][10] == "Next actions"
    assert rows[title_at + 2][0] == texts("en")["friday"]["none"]


def test_the_pdf_copy_shows_only_the_dashboard_and_plan(built_workbook):
    from pyxl.export import _only_sheets

    package = built_workbook.read_bytes()
    only = _only_sheets(package, (L.DASHBOARD, L.PLAN))
    wb = openpyxl.load_workbook(io.BytesIO(only))
    visible = [ws.sheet_properties.codeName for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == [L.PLAN, L.DASHBOARD]
    assert wb.active.sheet_properties.codeName == L.PLAN
    before, after = zipfile.ZipFile(io.BytesIO(package)), zipfile.ZipFile(io.BytesIO(only))
    assert after.namelist() == before.namelist()
    changed = {n for n in before.namelist() if before.read(n) != after.read(n)}
    assert changed <= {"xl/workbook.xml"} | {n for n in before.namelist() if n.startswith("xl/worksheets/sheet")}
    assert not any(b'tabSelected="1"' in after.read(n) for n in changed if n.startswith("xl/worksheets/"))


# ---------------------------------------------------------------- what the reports say about a logged week
def _cells(ws) -> list[tuple]:
    return [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]


def _right_of(rows: list[tuple], label: str) -> object:
    for row in rows:
        for i, value in enumerate(row):
            if value == label:
                return row[i + 1]
    raise AssertionError(f"{label!r} not on the sheet")


def test_a_logged_tier_change_collection_and_competitor_news_reach_the_reports(tmp_path):
    from support.cells import load, sheet_by_role
    path = tmp_path / "book.xlsm"
    make_demo(path, customers=12, today=TODAY)
    ledger = sheet_by_role(load(path), L.CUSTOMERS)
    header = [c.value for c in ledger[1]]
    row = next(r for r in ledger.iter_rows(min_row=2, values_only=True) if r[header.index(LEDGER["tier"])] != "2")
    cid, old = row[0], row[header.index(LEDGER["tier"])]
    runner = CliRunner()
    for args in (["--tier", "2", "--collected", "12000"], ["--competitor", "对手降价 5%", "--collected", "3000"]):
        result = runner.invoke(app, ["log", str(path), "--id", cid, "--today", TODAY.isoformat(), *args])
        assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["endofday", str(path), "--today", TODAY.isoformat()]).exit_code == 0

    wb = load(path)
    log = sheet_by_role(wb, L.CONTACTS)
    log_header = [c.value for c in log[1]]
    logged = [r for r in log.iter_rows(min_row=2, values_only=True) if r[1] == cid][-2:]
    assert logged[0][log_header.index(LOG["old_tier"])] == old  # the tier it replaced, as the ledger had it
    assert logged[1][log_header.index(LOG["competitor"])] == "对手降价 5%"

    board = _cells(sheet_by_role(wb, L.DASHBOARD))
    top = L.CONVERSIONS.row  # 1-based header row + 1 = first data row
    conversions = {(r[L.CONVERSIONS.col], r[L.CONVERSIONS.col + 1]): r[L.CONVERSIONS.col + 2]
                   for r in board[top:top + L.CONVERSIONS.rows] if r[L.CONVERSIONS.col]}
    assert conversions.get((old, "2")) == 1 and not any(f == "–" for f, _ in conversions)
    assert _right_of(board, ZH["weekly"]["collected"]) == 15000
    assert _right_of(board, ZH["weekly"]["competitor_news"]) == 1

    report = _cells(sheet_by_role(wb, L.REPORT))
    header_row = next(r for r in report if r[0] == ZH["daily_cols"]["metric"])
    assert header_row[1] == "今日"  # today's figures, not "this week"
    assert _right_of(report, ZH["daily"]["collected"]) == 15000
    news_title = ZH["daily"]["news"].format(n=1)
    at = next(i for i, r in enumerate(report) if r[0] == news_title)
    assert report[at + 1][:2] == (cid, "对手降价 5%")


def test_reports_leave_collections_and_news_blank_when_the_team_never_fills_them(tmp_path):
    from support.cells import load, sheet_by_role
    path = tmp_path / "book.xlsm"
    make_demo(path, customers=12, today=TODAY)
    board = _cells(sheet_by_role(load(path), L.DASHBOARD))
    assert _right_of(board, ZH["weekly"]["collected"]) is None
    assert _right_of(board, ZH["weekly"]["competitor_news"]) is None
