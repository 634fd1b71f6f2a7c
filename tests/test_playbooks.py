"""Playbooks on real built workbooks: each step lands on the right working day (2026 CN calendar: National
Day Oct 1–7, make-up Saturday Oct 10), a touch does the step, stop events stop it, messages render in both
languages and never fail on a blank field, escalated customers reach the co-owner's list."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pyxl import actions
from pyxl.actions import ActionError
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from support.books import book_with as _book, log as _log, refresh as _refresh
from pyxl.build.workbook import build_workbook
from pyxl.cli import app
from pyxl.core.i18n import texts
from pyxl.core.messages import render, source_of, unknown_placeholders
from pyxl.core.playbooks import STEP_PREFIX, playbooks_from_table
from pyxl.core.schema import normalise

D = dt.date
runner = CliRunner()


@pytest.fixture(scope="module")
def built_en(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("en") / "en.xlsm", lang="en")


def _ledger(path: Path) -> dict[str, dict]:
    ws = openpyxl.load_workbook(path)[texts(_lang(path))["sheets"]["customers"]]
    rows = list(ws.iter_rows(values_only=True))
    return {r[0]: dict(zip(rows[0], r)) for r in rows[1:] if r[0]}


def _agenda(path: Path) -> list[dict]:
    t = texts(_lang(path))
    rows = list(openpyxl.load_workbook(path)[t["sheets"]["agenda"]].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == t["agenda"]["order"])
    out = []
    for r in rows[at + 1:]:
        if not isinstance(r[0], int):
            break
        out.append(dict(zip(rows[at], r)))
    return out


def _checks(path: Path) -> list[dict]:
    t = texts(_lang(path))
    rows = list(openpyxl.load_workbook(path)[t["sheets"]["checks"]].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == t["checks_sheet"]["severity"])
    return [dict(zip(rows[at], r)) for r in rows[at + 1:] if r[0]]


def _lang(path: Path) -> str:
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    return "zh-CN" if texts("zh-CN")["sheets"]["customers"] in names else "en"


def _step_on(path: Path, cid: str) -> dict | None:
    return next((r for r in _agenda(path) if r["客户编码"] == cid and r["流程步骤"]), None)


WANG = {"客户编码": "JRN01001", "客户名称": "王先生", "业务员": "张三", "客户类别": "7", "KP": "是",
        "电话": "13800000001", "最近联系": D(2026, 9, 28), "跟进流程": "家装跟进", "流程开始": D(2026, 9, 29),
        "下次跟进内容": "瓷砖选购要点"}
OURS = {"our_company": "美家装饰", "our_address": "建设路 8 号", "our_profile": "设计师 40 名"}


# ---------------------------------------------------------------- the renovation playbook, day by day
def test_renovation_playbook_steps_fall_on_working_days_and_stop_on_signing(built_workbook, tmp_path):
    path = _book(built_workbook, tmp_path, [WANG], OURS)

    def next_step(day: dt.date) -> str | None:
        _refresh(path, day)
        return _ledger(path)["JRN01001"]["下一步骤"]

    assert next_step(D(2026, 9, 29)) == "公司介绍短信 2026-09-29"
    row = _step_on(path, "JRN01001")
    assert row["消息（可复制）"] == ("王先生您好，我是美家装饰的张三。公司地址：建设路 8 号；设计师 40 名。"
                                  "有任何装修问题随时联系我。")
    assert row["方式"] == "短信"
    assert _ledger(path)["JRN01001"]["到期日"].date() == D(2026, 9, 29)  # the step wins over the monthly cadence

    _log(path, "JRN01001", dt.datetime(2026, 9, 29, 10), "短信", "否")
    assert next_step(D(2026, 9, 29)) == "祝福短信 2026-09-30"
    assert _step_on(path, "JRN01001") is None  # done for today
    assert next_step(D(2026, 9, 30)) == "祝福短信 2026-09-30"
    assert _step_on(path, "JRN01001")["流程步骤"] == "祝福短信"

    _log(path, "JRN01001", dt.datetime(2026, 9, 30, 10), "短信", "否")
    # day 3 = Fri Oct 2, inside the National Day holiday: the next working day is Thu Oct 8
    assert next_step(D(2026, 9, 30)) == "家装小常识 2026-10-08"
    assert _ledger(path)["JRN01001"]["到期日"].date() == D(2026, 10, 8)

    _log(path, "JRN01001", dt.datetime(2026, 10, 8, 10), "短信", "否")
    assert next_step(D(2026, 10, 8)) == "家装小常识 2026-10-12"  # +3 = Sun Oct 11 -> Mon Oct 12

    # a visit on Fri Oct 9: the feedback call falls on the next working day, the make-up Saturday Oct 10
    _log(path, "JRN01001", dt.datetime(2026, 10, 9, 15), "拜访", "是", outcome="有进展")
    assert next_step(D(2026, 10, 9)) == "到访回馈电话 2026-10-10"
    _log(path, "JRN01001", dt.datetime(2026, 10, 10, 9), "电话", "是", outcome="有进展")
    assert next_step(D(2026, 10, 10)) == "家装小常识 2026-10-12"

    # signing on Oct 12 (a phone call, not an SMS: the tip due that day is stopped by signing, not done)
    _log(path, "JRN01001", dt.datetime(2026, 10, 12, 11), "电话", "是", outcome="成交")
    assert next_step(D(2026, 10, 12)) == "施工小常识 2026-10-15"
    _log(path, "JRN01001", dt.datetime(2026, 10, 15, 10), "短信", "否")
    assert next_step(D(2026, 10, 15)) == "施工小常识 2026-10-19"  # +3 = Sun Oct 18 -> Mon Oct 19
    _log(path, "JRN01001", dt.datetime(2026, 10, 18, 10), "短信", "否")  # before it is due: not the step
    assert next_step(D(2026, 10, 18)) == "施工小常识 2026-10-19"
    for day in (D(2026, 10, 19), D(2026, 10, 22), D(2026, 10, 26)):  # every 3 days from the touch that did it
        _log(path, "JRN01001", dt.datetime.combine(day, dt.time(10)), "短信", "否")
    assert next_step(D(2026, 10, 26)) == "施工回馈电话 2026-10-27"  # signed + 15 days; the tip is on Oct 29

    # completion stops both works steps; a call one month later, then every two months after each call
    result = runner.invoke(app, ["log", str(path), "--id", "JRN01001", "--channel", "电话", "--event", "完工",
                                 "--outcome", "有进展", "--today", "2026-11-02", "--no-backup"])
    assert result.exit_code == 0, result.output
    assert next_step(D(2026, 11, 2)) == "完工回访 2026-12-02"
    _log(path, "JRN01001", dt.datetime(2026, 12, 3, 10), "电话", "是", outcome="有进展")
    # holiday greetings since signing: the working day before New Year's Day 2027 (a Friday)
    assert next_step(D(2026, 12, 3)) == "节日祝福 2026-12-31"
    _log(path, "JRN01001", dt.datetime(2026, 12, 31, 9), "短信", "否")
    # the call every two months comes before the next greeting (Thu Feb 4, before the Spring Festival)
    assert next_step(D(2026, 12, 31)) == "完工回访 2027-02-03"


def test_post_exhibition_playbook_in_english(built_en, tmp_path):
    acme = {"Customer ID": "JRN01001", "Name": "Acme GmbH", "Contact person": "Ms Weber", "Owner": "Li",
            "Tier": "7", "KP": "Yes", "Phone": "+49 30 1234567", "Last contact": D(2026, 11, 20),
            "Playbook": "Post-exhibition", "Playbook start": D(2026, 11, 23), "Next follow-up content": "EUR 4.20/pc"}
    path = _book(built_en, tmp_path, [acme], {"our_company": "Jinrui"})

    def ledger() -> dict:
        return _ledger(path)["JRN01001"]

    _refresh(path, D(2026, 11, 23))
    assert ledger()["Next step"] == "Quote email 2026-11-23"
    row = next(r for r in _agenda(path) if r["Customer ID"] == "JRN01001")
    assert row["Playbook step"] == "Quote email" and row["Channel"] == "Email"
    assert row["Message (copy)"].startswith("Dear Ms Weber, thank you for visiting the Jinrui stand.")
    assert "EUR 4.20/pc" in row["Message (copy)"]

    _log(path, "JRN01001", dt.datetime(2026, 11, 23, 9), "email", "no")
    _refresh(path, D(2026, 11, 23))
    assert ledger()["Next step"] == "Resend quote 2026-11-23"  # no reply: send again the same day
    _log(path, "JRN01001", dt.datetime(2026, 11, 23, 16), "email", "no", step="Resend quote")
    _refresh(path, D(2026, 11, 23))
    assert ledger()["Next step"] == "Quote call 2026-11-25"  # no reply for 2 days: phone

    _log(path, "JRN01001", dt.datetime(2026, 11, 24, 8), "email", "yes", outcome="considering")
    _refresh(path, D(2026, 11, 24))
    assert ledger()["Next step"] is None  # the reply stopped the call; the tier cadence takes over
    assert ledger()["Due"].date() > D(2026, 11, 25)


# ---------------------------------------------------------------- messages
def test_blank_field_leaves_the_placeholder_and_a_check_names_the_cell(built_workbook, tmp_path):
    wang = {**WANG, "下次跟进内容": None, "流程开始": D(2026, 11, 18)}  # tip: Sat Nov 21 -> Mon Nov 23
    zhao = {**WANG, "客户编码": "JRN01002", "客户名称": "赵女士", "电话": "13800000009", "流程开始": D(2026, 11, 23)}
    path = _book(built_workbook, tmp_path, [wang, zhao], {"our_company": "美家装饰"})
    for when in (dt.datetime(2026, 11, 18, 9), dt.datetime(2026, 11, 19, 9)):
        _log(path, "JRN01001", when, "短信", "否")
    _refresh(path, D(2026, 11, 23))
    row = _step_on(path, "JRN01001")
    assert row["流程步骤"] == "家装小常识"
    assert row["消息（可复制）"] == "王先生您好，今日家装小常识：{下次跟进内容}。美家装饰 张三"
    checks = _checks(path)
    headers = list(_ledger(path)["JRN01001"])
    column = openpyxl.utils.get_column_letter(headers.index("下次跟进内容") + 1)
    missing = [c for c in checks if c["规则"] == "template.missing"]
    assert [c["位置"] for c in missing] == [f"客户台账!{column}2"]
    assert "家装小常识" in missing[0]["说明"]
    intro = _step_on(path, "JRN01002")["消息（可复制）"]  # the introduction SMS needs the address and size
    assert "美家装饰" in intro and "{公司地址}" in intro and "{公司规模}" in intro
    settings = [c for c in checks if c["规则"] == "template.missing_setting"]
    keys = {r[0]: i for i, r in enumerate(openpyxl.load_workbook(path)["设置"].iter_rows(values_only=True), 1)}
    assert {c["位置"] for c in settings} == {f"设置!B{keys['our_address']}", f"设置!B{keys['our_profile']}"}
    assert sorted("公司地址" in c["说明"] for c in settings) == [False, True] and len(settings) == 2


def test_unknown_placeholder_in_a_template_is_flagged_on_the_sequences_sheet(built_workbook, tmp_path):
    path = _book(built_workbook, tmp_path, [WANG], OURS)
    book = WorkbookPackage.open(path)
    steps = book.read_table(L.T_SEQUENCES)
    row = steps.index[steps["步骤"] == "公司介绍短信"][0]
    book.set_column_values(L.T_SEQUENCES, "消息模板", {row: "{客户名称}您好，{客户星座}"})
    book.save(backup=False)
    _refresh(path, D(2026, 9, 29))
    flag = next(c for c in _checks(path) if c["规则"] == "template.unknown")
    assert flag["位置"] == f"跟进流程!I{row}" and "{客户星座}" in flag["说明"]
    assert _step_on(path, "JRN01001")["消息（可复制）"] == "王先生您好，{客户星座}"


def test_render_both_languages_aliases_and_blanks():
    cells = {"name": "王先生", "owner": "张三", "next_content": ""}
    value = lambda s: cells.get(s.key, "") if s.table == "ledger" else {"our_company": "Jinrui"}.get(s.key, "")  # noqa: E731
    text, missing = render("{客户名称}/{Name}/{customer}/{业务员}/{Sales rep}/{Our company}/{下次跟进内容}", value)
    assert text == "王先生/王先生/王先生/张三/张三/Jinrui/{下次跟进内容}"
    assert [m.key for m in missing] == ["next_content"]
    assert source_of("公司地址").table == "settings" and source_of(" name ").key == "name"
    assert unknown_placeholders("{Name} {Star sign} {Name}") == ["Star sign"]


# ---------------------------------------------------------------- the Sequences sheet
def test_builtin_sequences_parse_clean_in_both_languages(built_workbook, built_en):
    for path, names in ((built_workbook, ["家装跟进", "展会重要客户", "问候"]),
                        (built_en, ["Renovation", "Post-exhibition", "Greetings"])):
        inputs = actions.load(WorkbookPackage.open(path))
        books = inputs.playbooks
        assert books.problems == [] and books.names == names
        assert [len(books.find(n)) for n in names] == [8, 3, 2]
        quote, resend, call = books.find(names[1])
        assert resend.start == call.start == STEP_PREFIX + normalise(quote.name)
        assert (resend.until, call.offset, call.channel) == ("reply", 2, "phone")


def test_unusable_sequence_cells_are_reported_and_the_step_left_out():
    table = pd.DataFrame([
        {"playbook": "P", "step": "ok", "start": "开始", "offset": 1, "unit": "工作日", "channel": "电话"},
        {"playbook": None, "step": "bad offset", "start": "start", "offset": "soon"},
        {"playbook": None, "step": "bad start", "start": "next week"},
        {"playbook": None, "step": "bad unit", "unit": "fortnight", "channel": "pigeon"},
        {"playbook": None, "step": "after ok", "start": "ok", "repeat": 2, "until": "完工"},
    ], index=[2, 3, 4, 5, 6])
    books = playbooks_from_table(table)
    assert [s.name for s in books.find("p")] == ["ok", "after ok"]
    assert books.find("P")[1].until == "completed" and books.find("P")[0].unit == "workdays"
    assert [(p.row, p.field) for p in books.problems] == [(3, "offset"), (4, "start"), (5, "unit"), (5, "channel")]


def test_unknown_playbook_and_unknown_logged_step_are_flagged(built_workbook, tmp_path):
    undated = {**WANG, "客户编码": "JRN01002", "电话": "13800000002", "流程开始": None}  # and no Assigned date
    path = _book(built_workbook, tmp_path, [{**WANG, "跟进流程": "装修流程"}, undated], OURS)
    with pytest.raises(ActionError, match="开场白"):  # the command refuses a step no playbook has ...
        _log(path, "JRN01001", dt.datetime(2026, 9, 29, 9), "短信", "否", step="开场白")
    book = WorkbookPackage.open(path)  # ... and one typed into the log is flagged
    book.append_table_rows(L.T_CONTACTS, [{"日期": dt.datetime(2026, 9, 29, 9), "客户编码": "JRN01001",
                                           "方式": "短信", "接通": "否", "步骤": "开场白"}])
    book.save(backup=False)
    _refresh(path, D(2026, 9, 29))
    rules = {c["规则"]: c for c in _checks(path)}
    assert "家装跟进" in rules["playbook.unknown"]["说明"]
    assert rules["log.unknown_step"]["位置"].startswith("跟进记录!")
    assert rules["playbook.no_start"]["客户编码"] == "JRN01002"


# ---------------------------------------------------------------- rejection rule per tier
def test_after_a_refusal_the_interval_doubles_and_the_channel_switches(built_workbook, tmp_path):
    li = {"客户编码": "JRN01002", "客户名称": "李总", "业务员": "张三", "客户类别": "3N", "KP": "是",
          "电话": "13800000002"}
    path = _book(built_workbook, tmp_path, [li])
    _log(path, "JRN01002", dt.datetime(2026, 11, 9, 10), "电话", "是", outcome="拒绝")
    _refresh(path, D(2026, 11, 23))
    # 3N: 2–5 working days; after a refusal x2 = 10 working days from Mon Nov 9 -> Mon Nov 23
    assert _ledger(path)["JRN01002"]["到期日"].date() == D(2026, 11, 23)
    row = next(r for r in _agenda(path) if r["客户编码"] == "JRN01002")
    rules = actions.load(WorkbookPackage.open(path)).rules.tiers
    assert row["方式"] == {"sms": "短信", "email": "邮件"}[rules.at["3N", "refusal_channel"]]


# ---------------------------------------------------------------- escalation (seed 003)
def test_co_owner_stage_and_hard_call_reach_the_co_owners_list(built_workbook, tmp_path):
    base = {"业务员": "张三", "客户类别": "3K", "KP": "是", "最近联系": D(2026, 11, 16)}
    path = _book(built_workbook, tmp_path, [
        {**base, "客户编码": "JRN01003", "客户名称": "甲公司", "电话": "13800000003", "流程阶段": "B2",
         "协同负责人": "王经理"},
        {**base, "客户编码": "JRN01004", "客户名称": "乙公司", "电话": "13800000004", "流程阶段": "B3"},
        {**base, "客户编码": "JRN01005", "客户名称": "丙公司", "电话": "13800000005", "流程阶段": "A",
         "协同负责人": "王经理"},
        {**base, "客户编码": "JRN01006", "客户名称": "丁公司", "电话": "13800000006", "流程阶段": "A"},
    ])
    for cid in ("JRN01005", "JRN01006"):
        _log(path, cid, dt.datetime(2026, 11, 17, 10), "电话", "是", outcome="考虑中", hard_call=True)
    _refresh(path, D(2026, 11, 23))
    agenda = _agenda(path)
    on_list = lambda owner: {r["客户编码"]: r for r in agenda if r["业务员"] == owner}  # noqa: E731
    assert set(on_list("王经理")) == {"JRN01003", "JRN01005"}
    assert {r["原因"] for r in on_list("王经理").values()} == {"协同（张三）"}
    assert on_list("张三")["JRN01003"]["协同"] == "王经理"
    assert set(on_list("张三")) == {"JRN01003", "JRN01004", "JRN01005", "JRN01006"}
    flagged = {(c["客户编码"], c["规则"]) for c in _checks(path) if c["规则"].startswith("escalation.")}
    assert flagged == {("JRN01004", "escalation.stage"), ("JRN01006", "escalation.hard_call")}

    # a later touch without the flag ends the hard call
    _log(path, "JRN01005", dt.datetime(2026, 11, 23, 9), "电话", "是", outcome="有进展")
    _refresh(path, D(2026, 11, 30))
    assert "JRN01005" not in {r["客户编码"] for r in _agenda(path) if r["业务员"] == "王经理"}


def test_a_touch_with_blank_cells_does_no_step_and_breaks_nothing(built_workbook, tmp_path):
    path = _book(built_workbook, tmp_path, [WANG], OURS)
    book = WorkbookPackage.open(path)
    book.append_table_rows(L.T_CONTACTS, [{"日期": dt.datetime(2026, 9, 29, 9), "客户编码": "JRN01001"}])
    book.save(backup=False)
    _refresh(path, D(2026, 9, 29))
    assert _ledger(path)["JRN01001"]["下一步骤"] == "公司介绍短信 2026-09-29"
