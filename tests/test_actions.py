"""Every action headless on real built workbooks, checked by opening the result with openpyxl."""
from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
from typer.testing import CliRunner

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.schema import fields

from conftest import TODAY

runner = CliRunner()
LEDGER = {f.key: f.zh for f in fields("ledger")}
LOG = {f.key: f.zh for f in fields("contacts")}


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _ledger(path: Path) -> list[dict]:
    ws = openpyxl.load_workbook(path, keep_vba=True)["客户台账"]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def _run(*args: str) -> object:
    return runner.invoke(app, [*map(str, args)], catch_exceptions=False)


def _add_customers(path: Path, rows: list[dict]) -> None:
    book = WorkbookPackage.open(path)
    book.append_table_rows(L.T_CUSTOMERS, [{LEDGER[k]: v for k, v in r.items()} for r in rows])
    book.save(backup=False)


def test_refresh_writes_computed_columns_that_match_the_engine(demo_book):
    book = WorkbookPackage.open(demo_book)
    inputs = actions.load(book)
    from pyxl.core import engine
    expected = engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, TODAY)
    rows = _ledger(demo_book)
    assert len(rows) == len(expected.view) == 80
    for row, (_, comp) in zip(rows, expected.computed.iterrows()):
        due = row["到期日"].date() if isinstance(row["到期日"], dt.datetime) else row["到期日"]
        assert due == (None if pd.isna(comp["due"]) else comp["due"])
        assert (row["状态"] or "") == comp["status"]
    statuses = {r["状态"] for r in rows}
    assert {"逾期", "可跟进"} <= statuses


def test_refresh_twice_changes_nothing(demo_book):
    before = _parts(demo_book)
    assert _run("refresh", demo_book, "--today", TODAY, "--no-backup").exit_code == 0
    assert _parts(demo_book) == before


def test_refresh_keeps_every_part_it_does_not_own(demo_book):
    book = WorkbookPackage.open(demo_book)
    sheets = {s.code_name: s.part for s in book.sheets()}
    before = _parts(demo_book)
    _add_customers(demo_book, [{"name": "新来的客户", "tier": "普3", "kp": "是", "phone": "13911112222",
                                "last_contact": "2026/11/20", "owner": "张伟"}])
    after_add = _parts(demo_book)
    assert _run("refresh", demo_book, "--today", TODAY).exit_code == 0
    after = _parts(demo_book)
    owned = {sheets[c] for c in (L.CUSTOMERS, *L.GENERATED)}
    for name, data in after_add.items():
        if name not in owned and not name.startswith("xl/tables/"):
            assert after[name] == data, f"{name} changed"
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["customUI/customUI14.xml"] == before["customUI/customUI14.xml"]
    new = [r for r in _ledger(demo_book) if r["客户名称"] == "新来的客户"][0]
    assert new["最早跟进"] is not None and new["状态"] in ("可跟进", "未到期", "今日到期")
    assert Path(str(demo_book) + ".bak").exists()


def test_check_lists_cells_and_exits_1_on_errors(demo_book):
    _add_customers(demo_book, [{"customer_id": "JRN01001", "name": "重复编码", "tier": "不存在", "phone": "1"}])
    result = _run("check", demo_book, "--today", TODAY, "--json")
    assert result.exit_code == 1
    flags = json.loads(result.stdout)["flags"]
    unknown = [f for f in flags if f["rule"] == "tier.unknown"]
    assert unknown and unknown[0]["cell"].startswith("客户台账!") and "不存在" in unknown[0]["message"]
    assert any(f["rule"] == "id.duplicate" for f in flags)
    ws = openpyxl.load_workbook(demo_book)["校验"]
    assert any("不存在" in str(c.value) for row in ws.iter_rows() for c in row)


def test_check_exits_0_on_a_clean_ledger(empty_book):
    _add_customers(empty_book, [{"customer_id": "JRN01001", "name": "干净客户", "tier": "重3", "kp": "是",
                                 "phone": "13800001111", "owner": "张伟", "last_contact": dt.date(2026, 11, 20)}])
    assert _run("check", empty_book, "--today", TODAY).exit_code == 0


def test_log_updates_the_ledger_from_the_log(demo_book):
    first = _ledger(demo_book)[0]
    cid, before = first["客户编码"], int(first["连续未接通"] or 0)
    for i in range(3):  # distinct notes: identical touches in the same second would be exact duplicates
        assert _run("log", demo_book, "--id", cid, "--reached", "no", "--note", f"call {i}",
                    "--today", TODAY).exit_code == 0
    row = [r for r in _ledger(demo_book) if r["客户编码"] == cid][0]
    assert row["连续未接通"] == before + 3
    assert row["最近联系"] is None or row["最近联系"].date() < TODAY  # an unanswered call is not a contact
    assert _run("log", demo_book, "--id", cid, "--reached", "yes", "--outcome", "considering",
                "--today", TODAY).exit_code == 0
    row = [r for r in _ledger(demo_book) if r["客户编码"] == cid][0]
    assert row["连续未接通"] == 0 and row["无进展次数"] >= 1
    assert row["最近联系"].date() == TODAY
    log = openpyxl.load_workbook(demo_book)["跟进记录"]
    mine = [r for r in log.iter_rows(values_only=True) if r[1] == cid and r[4] == "否"]
    assert len(mine) >= 3


def test_log_refuses_unknown_customer(demo_book):
    before = demo_book.read_bytes()
    result = runner.invoke(app, ["log", str(demo_book), "--id", "NOPE"])
    assert result.exit_code == 2 and "NOPE" in result.output
    assert demo_book.read_bytes() == before


def test_ids_fill_missing_ids_in_the_seed_format(empty_book):
    _add_customers(empty_book, [{"name": f"客户{i}", "owner": o} for i, o in enumerate(["张伟", "李娜", "张伟"])])
    assert _run("ids", empty_book).exit_code == 0
    ids = [r["客户编码"] for r in _ledger(empty_book)]
    assert ids == ["JRN01001", "JRN02001", "JRN01002"]


def test_export_is_macro_free_masked_and_keeps_values_and_charts(demo_book, tmp_path):
    out = tmp_path / "copy.xlsx"
    assert _run("export", demo_book, "--mask", "-o", out).exit_code == 0
    parts = _parts(out)
    assert "xl/vbaProject.bin" not in parts and not any(p.startswith("customUI") for p in parts)
    assert b"macroEnabled" not in parts["[Content_Types].xml"]
    assert any(p.startswith("xl/charts/chart") for p in parts)
    wb = openpyxl.load_workbook(out)
    assert "xlwings.conf" not in wb.sheetnames and "_form" not in wb.sheetnames
    source, copy = _ledger(demo_book), [dict(zip([c.value for c in wb["客户台账"][1]], r))
                                         for r in wb["客户台账"].iter_rows(min_row=2, values_only=True)]
    for a, b in zip(source, copy):
        assert a["到期日"] == b["到期日"] and a["状态"] == b["状态"]
        assert b["电话"].endswith(str(a["电话"])[-4:]) and b["电话"].startswith("*")
    assert not any(isinstance(c.value, str) and c.value.startswith("=FU_")
                   for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_plan_writes_plan_sheet_and_ics(demo_book, tmp_path):
    import icalendar
    ics = tmp_path / "plan.ics"
    result = _run("plan", demo_book, "--today", TODAY, "--ics", ics)
    assert result.exit_code == 0, result.output
    cal = icalendar.Calendar.from_ical(ics.read_bytes())
    assert len([c for c in cal.walk("VEVENT")]) > 0
    ws = openpyxl.load_workbook(demo_book)["周计划"]
    assert ws["A1"].value == "周计划"


def test_refuses_a_workbook_open_in_excel(demo_book):
    (demo_book.parent / f"~${demo_book.name}").write_bytes(b"owner")
    result = runner.invoke(app, ["refresh", str(demo_book)])
    assert result.exit_code == 3 and "Excel" in result.stderr


def test_new_and_demo_commands(tmp_path):
    assert _run("new", tmp_path / "en.xlsm", "--lang", "en", "--preset", "abc").exit_code == 0
    assert openpyxl.load_workbook(tmp_path / "en.xlsm", keep_vba=True).sheetnames[0] == "Customers"
    result = _run("demo", tmp_path / "d.xlsm", "--customers", "30", "--today", TODAY)
    assert result.exit_code == 0 and "客户数" in result.stdout


def test_owner_codes_do_not_depend_on_which_rows_lack_an_id(empty_book):
    # codes go by owner name order over the whole ledger: 张伟 01, 李娜 02, whoever still needs an ID
    _add_customers(empty_book, [{"customer_id": "JRN01001", "name": "老客户", "owner": "张伟"},
                                {"name": "新客户", "owner": "李娜"}])
    assert _run("ids", empty_book).exit_code == 0
    assert [r["客户编码"] for r in _ledger(empty_book)] == ["JRN01001", "JRN02001"]
