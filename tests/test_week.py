"""The salesperson's day and week on real built workbooks, dates worked out by hand on the 2026 CN calendar
(Spring Festival Feb 15–23 with make-up Saturdays Feb 14 and 28; National Day Oct 1–7 with make-up Saturday
Oct 10): which day the Agenda and the weekly plan are for, the load by working-day position, blocks and
greetings, playbook steps as follow-ups, birthdays, agreed dates on holidays, unreadable Last contact and
one count of days overdue."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import openpyxl
import pandas as pd

from pyxl import actions
from pyxl.book.xlsx import WorkbookPackage
from support.books import book_with as _book, log as _log, refresh as _refresh
from pyxl.core.i18n import texts
from pyxl.core.ical import plan_to_ics

D = dt.date
T = texts("zh-CN")


def _plan(path: Path, day: dt.date, week: str | None = None):
    book = WorkbookPackage.open(path)
    outcome, plan = actions.weekly_plan(book, week, day)
    book.save(backup=False)
    return outcome, plan


def _rows(path: Path, sheet: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[T["sheets"][sheet]].iter_rows(values_only=True))


def _table(rows: list[tuple], start: int = 0) -> list[dict]:
    """The rows under the first Agenda-style header at or after ``start``."""
    at = next(i for i, r in enumerate(rows) if i >= start and r[0] == T["agenda"]["order"])
    out = []
    for r in rows[at + 1:]:
        if not isinstance(r[0], int):
            break
        out.append(dict(zip(rows[at], r)))
    return out


def _agenda(path: Path) -> list[dict]:
    return _table(_rows(path, "agenda"))


def _ledger(path: Path) -> dict[str, dict]:
    rows = _rows(path, "customers")
    return {r[0]: dict(zip(rows[0], r)) for r in rows[1:] if r[0]}


def _checks(path: Path) -> list[dict]:
    rows = _rows(path, "checks")
    at = next(i for i, r in enumerate(rows) if r[0] == T["checks_sheet"]["severity"])
    return [dict(zip(rows[at], r)) for r in rows[at + 1:] if r[0]]


def _customer(cid: str, tier: str, **cells) -> dict:
    return {"客户编码": cid, "客户名称": f"客户{cid[-3:]}", "业务员": "张三", "客户类别": tier, "KP": "是",
            "电话": f"1380000{cid[-4:]}", **cells}


# ---------------------------------------------------------------- 1. which day, which week
def test_sunday_evening_plans_the_coming_week_and_the_agenda_shows_monday(built_workbook, tmp_path):
    sunday = D(2026, 11, 29)
    path = _book(built_workbook, tmp_path, [_customer("JRN01001", "3N", 最近联系=D(2026, 11, 23))])
    _refresh(path, sunday)  # 3N from Mon Nov 23: +5 working days = Mon Nov 30
    head = _rows(path, "agenda")[1][0]
    assert "2026-11-30 周一" in head and T["generated"]["agenda_next_day"] in head
    assert [r["客户编码"] for r in _agenda(path)] == ["JRN01001"]
    outcome, plan = _plan(path, sunday)
    assert outcome.summary["week"] == "2026-11-30"
    assert plan.days[0] == D(2026, 11, 30) and plan.unplaced.empty
    outcome, plan = _plan(path, sunday, "2026-W48")  # --week still wins: the week that ended, nothing left
    assert outcome.summary["week"] == "2026-11-23" and plan.entries.empty


def test_working_saturday_keeps_its_week_and_a_holiday_shows_the_next_working_day(built_workbook, tmp_path):
    path = _book(built_workbook, tmp_path, [_customer("JRN01001", "3N", 最近联系=D(2026, 9, 23))])
    outcome, plan = _plan(path, D(2026, 2, 28))  # make-up Saturday after the Spring Festival: a working day
    assert outcome.summary["week"] == "2026-02-23" and plan.days == (D(2026, 2, 28),)
    outcome, plan = _plan(path, D(2026, 10, 1))  # National Day (Thu): the next working day is Thu Oct 8
    assert outcome.summary["week"] == "2026-10-05"
    assert plan.days == (D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10))
    _refresh(path, D(2026, 10, 3))
    assert "2026-10-08 周四" in _rows(path, "agenda")[1][0]
    # 3N from Wed Sep 23: +5 working days = Sep 24, (Mid-Autumn Sep 25) 28, 29, 30, Oct 8 -> due Oct 8
    assert [r["客户编码"] for r in _agenda(path)] == ["JRN01001"]


# ---------------------------------------------------------------- 2. the load by working-day position
def test_the_week_after_national_day_opens_the_load_pattern(built_workbook, tmp_path):
    rows = [_customer(f"JRN01{i:03d}", "3N", 最近联系=D(2026, 9, 24)) for i in range(1, 61)]
    path = _book(built_workbook, tmp_path, rows, {"daily_capacity": 60})
    _, plan = _plan(path, D(2026, 10, 8))
    # Thu Oct 8, Fri Oct 9, make-up Sat Oct 10 are the 1st, 2nd and 3rd working days: 55, 35, 25
    assert plan.day_totals["capacity"].tolist() == [55, 35, 25]
    totals = _rows(path, "plan")
    assert [r[3] for r in totals if r[0] == "张三"][:3] == [55, 35, 25]
    (tmp_path / "by_name").mkdir()
    path = _book(built_workbook, tmp_path / "by_name", rows, {"daily_capacity": 60, "load_by": "星期"})
    _, plan = _plan(path, D(2026, 10, 8))
    assert plan.day_totals["capacity"].tolist() == [15, 10, 5]  # by name: Thu, Fri, Sat


# ---------------------------------------------------------------- 3. blocks, greetings, .ics
def test_blocks_serve_their_tiers_and_greetings_have_their_own_block(built_workbook, tmp_path):
    monday = D(2026, 11, 23)
    tiers = ["4K", "5", "7", "2", "3K", "0", "4N", "3N"]
    rows = [_customer(f"JRN01{i:03d}", tier, 最近联系=D(2026, 10, 1), 分配日期=D(2026, 11, 2))
            for i, tier in enumerate(tiers * 3, start=1)]
    rows += [_customer(f"JRN02{i:03d}", "7", 最近联系=D(2026, 11, 20), 生日=D(1980, 11, 23)) for i in range(1, 4)]
    path = _book(built_workbook, tmp_path, rows, {"greeting_capacity": 2})
    _, plan = _plan(path, monday)
    served = {"新客户": {"0"}, "催办 1–2类": {"1", "2"}, "3–4类": {"3K", "3N", "4K", "4N"}, "3类": {"3K", "3N"},
              "4类": {"4K", "4N", "5", "6", "7"}}
    monday_rows = [r for r in plan.entries.itertuples() if r.date == monday]
    calls = [r for r in monday_rows if r.reason != "birthday"]
    assert calls and all(r.tier in served[r.block] for r in calls)
    greet = [r for r in monday_rows if r.reason == "birthday"]
    assert len(greet) == 2 and {r.block for r in greet} == {"问候短信"}
    assert all(r.start.time() >= dt.time(13) and r.end.time() <= dt.time(13, 30) for r in greet)
    left = plan.unplaced[plan.unplaced["why"] == "greetings"]
    assert len(left) == 1 and left.iloc[0]["best_day"] == monday and left.iloc[0]["extra_needed"] == 1
    day = plan.day_totals.set_index("date").loc[monday]
    assert day["planned"] <= day["capacity"]  # greetings are not counted as calls
    sheet_day = next(r for r in _rows(path, "plan") if r[0] == "张三" and r[1] and r[1].date() == monday)
    left_row = next(r for r in _rows(path, "plan") if left.iloc[0]["customer_id"] in r)
    assert "问候时段已满" in left_row and "greetings" not in left_row  # why, in the workbook's language
    assert sheet_day[2:6] == (day["planned"], day["capacity"], 30, 2)  # planned, capacity, target, greetings
    events = [c for c in icalendar.Calendar.from_ical(plan_to_ics(plan.entries, "zh-CN")).walk("VEVENT")]
    assert len(events) == len(plan.entries)
    starts = sorted((e.decoded("dtstart").replace(tzinfo=None)) for e in events)
    assert starts == sorted(pd.Timestamp(s).to_pydatetime() for s in plan.entries["start"])


# ---------------------------------------------------------------- 4. a playbook step done is a follow-up
def test_an_unanswered_sms_step_counts_as_a_follow_up_not_as_a_conversation(built_workbook, tmp_path):
    # 3N from Mon Nov 9: due Mon Nov 16 (overdue on Nov 20); the renovation playbook starts Fri Nov 20
    wang = _customer("JRN01001", "3N", 最近联系=D(2026, 11, 9), 跟进流程="家装跟进", 流程开始=D(2026, 11, 20))
    path = _book(built_workbook, tmp_path, [wang], {"pool_enabled": "是", "our_company": "美家装饰",
                                                    "our_address": "建设路 8 号", "our_profile": "设计师 40 名"})
    _refresh(path, D(2026, 11, 20))
    row = _ledger(path)["JRN01001"]
    assert row["状态"] == "逾期" and row["逾期天数"] == 4  # Nov 17, 18, 19, 20
    agenda = _agenda(path)[0]
    assert agenda["流程步骤"] == "公司介绍短信" and agenda["方式"] == "短信"  # the step's channel, not the last one
    _log(path, "JRN01001", dt.datetime(2026, 11, 20, 10), "短信", "否")
    row = _ledger(path)["JRN01001"]
    # the SMS did the step: the cadence counts from Nov 20 (due Nov 27), the greeting step is due Mon Nov 23
    assert row["到期日"].date() == D(2026, 11, 23) and row["状态"] != "逾期" and row["逾期天数"] is None
    assert row["距回公海"] == 18  # Nov 23 + 15 days - Nov 20
    assert row["最近联系"].date() == D(2026, 11, 9)  # not a conversation: Last contact stays
    assert not row["连续未接通"]  # an unanswered SMS is not an unreached call


def test_greetings_and_birthdays_carry_a_message_next_to_any_other_reason(built_workbook, tmp_path):
    monday = D(2026, 11, 23)
    rows = [_customer("JRN01001", "3N", 最近联系=D(2026, 11, 9), 生日=D(1975, 11, 23)),  # overdue + birthday
            _customer("JRN01002", "7", 最近联系=D(2026, 11, 16), 生日=D(1980, 11, 22))]  # Sunday: on the Friday
    path = _book(built_workbook, tmp_path, rows, {"our_company": "美家装饰"})
    _refresh(path, monday)
    by_id = {r["客户编码"]: r for r in _agenda(path)}
    assert by_id["JRN01001"]["原因"] == "逾期 · 生日关怀"
    assert by_id["JRN01001"]["消息（可复制）"] == "客户001您好，祝您生日快乐，身体健康，万事如意！美家装饰 张三"
    assert "JRN01002" not in by_id  # its birthday falls on Sun Nov 22: greeted on Fri Nov 20
    _refresh(path, D(2026, 9, 30))  # the working day before National Day: tier 7 is a greeting tier
    greeted = {r["客户编码"]: r for r in _agenda(path)}["JRN01002"]
    assert greeted["原因"].startswith("节日祝福 ") and greeted["时段"] == "问候短信" and greeted["方式"] == "短信"
    assert greeted["消息（可复制）"] == "客户002您好，美家装饰全体同仁祝您和家人节日快乐！张三"
    _, plan = _plan(path, monday)
    plan_rows = _table(_rows(path, "plan"))
    assert any(r["客户编码"] == "JRN01001" and "生日关怀" in r["原因"] for r in plan_rows)


# ---------------------------------------------------------------- 6. dates
def test_agreed_date_on_a_holiday_is_flagged_and_planned_on_the_next_working_day(built_workbook, tmp_path):
    rows = [_customer("JRN01001", "4N", 最近联系=D(2026, 9, 21), 约定日期=D(2026, 10, 3))]
    path = _book(built_workbook, tmp_path, rows)
    _refresh(path, D(2026, 9, 28))
    assert _ledger(path)["JRN01001"]["到期日"].date() == D(2026, 10, 8)
    flag = next(c for c in _checks(path) if c["规则"] == "agreed.non_working")
    assert "2026-10-03" in flag["说明"] and "2026-10-08" in flag["说明"] and flag["位置"].startswith("客户台账!")
    _, plan = _plan(path, D(2026, 10, 8))
    entry = plan.entries.set_index("customer_id").loc["JRN01001"]
    assert entry["date"] == D(2026, 10, 8) and entry["reason"] == "agreed"


def test_unreadable_last_contact_is_flagged_and_never_pushed_to_overdue_or_the_pool(built_workbook, tmp_path):
    rows = [_customer("JRN01001", "3N", 最近联系="上周三", 分配日期=D(2026, 11, 2))]
    path = _book(built_workbook, tmp_path, rows, {"pool_enabled": "是"})
    _refresh(path, D(2026, 11, 23))
    row = _ledger(path)["JRN01001"]
    assert row["到期日"] is None and row["状态"] in (None, "") and row["逾期天数"] is None and row["距回公海"] is None
    rules = {c["规则"] for c in _checks(path) if c["客户编码"] == "JRN01001"}
    assert "cell.unreadable" in rules and "pool.returned" not in rules
    assert not _agenda(path)


def test_days_overdue_are_working_days_on_the_ledger_and_the_agenda(built_workbook, tmp_path):
    # 3N from Thu Feb 5: due Thu Feb 12. On Mon Mar 2: Feb 13, 14 (make-up Sat), 24, 25, 26, 27, 28 (make-up
    # Sat) and Mar 2 = 8 working days (18 calendar days)
    path = _book(built_workbook, tmp_path, [_customer("JRN01001", "3N", 最近联系=D(2026, 2, 5))])
    _refresh(path, D(2026, 3, 2))
    assert _ledger(path)["JRN01001"]["逾期天数"] == 8
    assert _agenda(path)[0]["延后天数"] == 8


def test_on_a_weekend_after_a_friday_due_status_and_days_overdue_agree(built_workbook, tmp_path):
    # 3N from Fri Nov 13: due Fri Nov 20. On Saturday Nov 21 Friday is the one working day missed: overdue,
    # 1 day on the ledger, and 1 day late on the Agenda, which on a weekend is Monday Nov 23's list
    path = _book(built_workbook, tmp_path, [_customer("JRN01001", "3N", 最近联系=D(2026, 11, 13))])
    _refresh(path, D(2026, 11, 21))
    row = _ledger(path)["JRN01001"]
    assert row["到期日"].date() == D(2026, 11, 20) and (row["状态"], row["逾期天数"]) == ("逾期", 1)
    assert "2026-11-23 周一" in _rows(path, "agenda")[1][0] and _agenda(path)[0]["延后天数"] == 1
