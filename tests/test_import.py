"""``followup import``: other systems' exports (xlsx/xls/csv in any encoding) into the workbook, merged without
duplicates, typed as the workbook expects, safely (no formulas, no zip bombs, nothing written on failure)."""
from __future__ import annotations

import datetime as dt
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from typer.testing import CliRunner

from conftest import TODAY
from pyxl import actions, importer
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.schema import normalise, vocabulary
from support.validate import check_package

runner = CliRunner()


# ---------------------------------------------------------------- helpers
def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1", extra_sheets: dict[str, list[list]] | None = None,
               date_format: str = "yyyy-mm-dd") -> Path:
    wb = xlsxwriter.Workbook(path)
    fmt = wb.add_format({"num_format": date_format})
    for name, data in {**(extra_sheets or {}), sheet: rows}.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(data):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, dt.datetime):
                    ws.write_datetime(r, c, v, fmt)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), fmt)
                elif isinstance(v, str):
                    ws.write_string(r, c, v)  # never a formula, whatever it starts with
                else:
                    ws.write(r, c, v)
    wb.close()
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    text = "\r\n".join(",".join(_csv_cell(v) for v in row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def _csv_cell(v) -> str:
    s = "" if v is None else str(v)
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n') else s


def ledger(book: Path) -> pd.DataFrame:
    """The Customers table as canonical keys (non-blank rows), date cells as Timestamps."""
    return _stamps(actions.load(WorkbookPackage.open(book)).ledger)


def contacts(book: Path) -> pd.DataFrame:
    return _stamps(actions.load(WorkbookPackage.open(book)).log)


def _stamps(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda col: col.map(lambda v: pd.Timestamp(v) if isinstance(v, dt.date) else v))


def run(book: Path, *sources: Path, **kw) -> importer.ImportReport:
    kw.setdefault("today", TODAY)
    return importer.run_import(book, list(sources), **kw)


MESSY_ZH = [
    ["2026年11月 客户台账（销售部导出）"],
    ["注：金额单位为元，日期格式不统一"],
    [],
    ["序号", "客户名称", "电话", "负责人", "客户类别", "是否KP", "最近跟进日期", "下次跟进日期", "销售阶段", "年度金额", "备注", "状态"],
    [1, "上海甲贸易有限公司", "138 0000 0001", "张伟", "重3", "是", "2026年11月3日", "2026/11/25", "B1", "1.5万", "老客户", "逾期"],
    [2, "北京乙科技", 13800000002, None, "VIP", "Y", 46300, "11-30", "已回合同", "¥80,000", None, None],
    [3, "广州丙建材", None, "李娜", "普4", "否", dt.date(2026, 10, 1), None, "Won", "abc", None, None],
    [4, "深圳丁电子", "13800000004", "李娜", "A类", "N", "2026.10.15", "20261201", None, "RMB 12,000.50", None, None],
    ["合计", None, None, None, None, None, None, None, None, "107000", None, None],
]


# ---------------------------------------------------------------- sources of every kind
def test_messy_chinese_ledger_with_title_rows_text_dates_and_tier_aliases(empty_book, tmp_path):
    src = write_xlsx(tmp_path / "台账.xlsx", MESSY_ZH, sheet="客户", extra_sheets={"说明": [["本文件由系统导出"]]})
    report = run(empty_book, src)
    s = report.sources[0]
    assert (s.sheet, s.header_row, s.kind) == ("客户", 4, importer.LEDGER)
    assert s.counts()["added"] == 4 and s.ignored == ["状态"]  # computed columns are not typed in
    assert s.extra == {"序号": "序号"}  # a column no field takes: a ledger column of its own
    assert s.skipped == {"no_key": [9]}  # the totals row
    assert s.unmapped["客户类别"] == {"VIP": 1, "A类": 1}  # not tiers of the maturity preset: written, listed
    assert s.unmapped["流程阶段"] == {"Won": 1}
    assert s.unreadable == [(7, "年度合作金额", "abc")]
    led = ledger(empty_book).set_index("name")
    a, b, c, d = (led.loc[n] for n in ("上海甲贸易有限公司", "北京乙科技", "广州丙建材", "深圳丁电子"))
    assert a["tier"] == "3K" and c["tier"] == "4N" and b["tier"] == "VIP"
    assert a["revenue"] == 15000 and b["revenue"] == 80000 and d["revenue"] == 12000.5 and pd.isna(c["revenue"])
    assert (a["kp"], b["kp"], c["kp"], d["kp"]) == ("是", "是", "否", "否")
    assert a["phone"] == "138 0000 0001" and b["phone"] == "13800000002"  # a number typed as a phone -> text
    assert a["stage"] == vocabulary("stage").label("B1", "zh-CN") and b["stage"] == "合同已回" and c["stage"] == "Won"
    assert a["agreed_date"] == dt.datetime(2026, 11, 25) and b["agreed_date"] == dt.datetime(TODAY.year, 11, 30)
    assert d["agreed_date"] == dt.datetime(2026, 12, 1)
    # every row got a Customer ID, and the refresh filled the computed columns
    assert led["customer_id"].str.match(r"^JRN\d{5}$").all()
    assert led["status"].notna().all() and led["due"].notna().sum() >= 3
    # typed cells, as openpyxl sees them
    ws = openpyxl.load_workbook(empty_book)["客户台账"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[header.index("客户名称")].value == "上海甲贸易有限公司")
    cell = {h: row[i] for i, h in enumerate(header)}
    assert cell["最近联系"].is_date and cell["最近联系"].value == dt.datetime(2026, 11, 3)
    assert cell["年度合作金额"].data_type == "n" and cell["客户类别"].value == "3K"
    assert report.saved and Path(str(empty_book) + ".bak").exists()


def test_english_crm_pipeline_export(empty_book, tmp_path):
    rows = [["opportunity_id", "Account", "Sales Agent", "Deal Stage", "Engage Date", "Close Value", "First Name",
             "Last Name"],
            ["1C1I7A6R", "Cancity", "Moses Frase", "Won", "2026-10-20", "$1,054.00", "Ada", "Lovelace"],
            ["Z063OYW0", "Isdom", "Darcel Schlecht", "Engaging", "10/25/2026", "", "Alan", "Turing"],
            ["EC4QE1BX", "Cancity", "Moses Frase", "Prospecting", "Oct 30, 2026", "", "", ""]]
    src = write_csv(tmp_path / "sales_pipeline.csv", rows)
    report = run(empty_book, src)
    s = report.sources[0]
    assert s.columns == {"Account": "客户名称", "Sales Agent": "业务员", "Deal Stage": "流程阶段",
                         "Engage Date": "最近联系", "Close Value": "年度合作金额", "First Name": "名",
                         "Last Name": "姓"}
    assert s.extra == {"opportunity_id": "opportunity_id"}
    # Cancity twice: one customer, the second row fills nothing new (stage and opportunity differ -> conflicts)
    assert s.counts()["added"] == 2 and len(s.conflicting) == 1
    assert {"流程阶段", "opportunity_id"} <= {c.field for c in s.conflicts}
    led = ledger(empty_book).set_index("name")
    assert led.loc["Cancity", "owner"] == "Moses Frase" and led.loc["Cancity", "revenue"] == 1054
    assert led.loc["Cancity", "contact"] == "Ada Lovelace"  # First/Last -> Contact person (Name is the Account)
    assert led.loc["Isdom", "last_contact"] == dt.datetime(2026, 10, 25)  # US month/day
    assert led.loc["Cancity", "last_contact"] == dt.datetime(2026, 10, 20)
    assert s.unmapped["流程阶段"] == {"Won": 1, "Engaging": 1, "Prospecting": 1}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings(empty_book, tmp_path, encoding):
    rows = [["客户名称", "联系电话", "业务员", "客户等级", "备注"],
            ["杭州戊家居", "13900000001", "王磊", "重4", "喜欢喝龙井，周三下午方便"],
            ["成都己餐饮", "13900000002", "王磊", "9类", "已放弃"]]
    src = write_csv(tmp_path / f"list-{encoding}.csv", rows, encoding)
    report = run(empty_book, src)
    assert report.sources[0].counts()["added"] == 2
    led = ledger(empty_book).set_index("name")
    assert led.loc["杭州戊家居", "notes"] == "喜欢喝龙井，周三下午方便" and led.loc["杭州戊家居", "tier"] == "4K"
    assert led.loc["成都己餐饮", "tier"] == "9"


def test_names_split_across_columns(empty_book, tmp_path):
    src = write_csv(tmp_path / "people.csv", [["姓", "名", "手机"], ["张", "三", "13700000001"],
                                              ["欧阳", "修", "13700000002"]])
    run(empty_book, src)
    assert sorted(ledger(empty_book)["name"]) == ["张三", "欧阳修"]


def test_xls_source(empty_book, tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="xlwt (writes legacy .xls) is not installed")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("客户")
    for c, v in enumerate(["客户名称", "电话", "负责人", "下次跟进日期"]):
        ws.write(0, c, v)
    ws.write(1, 0, "南京庚机械")
    ws.write(1, 1, "13600000001")
    ws.write(1, 2, "赵敏")
    ws.write(1, 3, dt.datetime(2026, 12, 2), xlwt.easyxf(num_format_str="yyyy-mm-dd"))
    wb.save(str(tmp_path / "old.xls"))
    report = run(empty_book, tmp_path / "old.xls")
    assert report.sources[0].counts()["added"] == 1
    row = ledger(empty_book).iloc[0]
    assert row["name"] == "南京庚机械" and row["agreed_date"] == dt.datetime(2026, 12, 2)


def test_sheet_option_and_an_english_workbook(tmp_path):
    from pyxl.build.workbook import build_workbook
    book = build_workbook(tmp_path / "en.xlsm", "en", "abc")
    src = write_xlsx(tmp_path / "two.xlsx", [["Name", "KP", "Tier"], ["Acme", "是", "VIP"]], sheet="B",
                     extra_sheets={"A": [["Customer", "Phone", "Owner", "Class"], ["Other", "1", "Bob", "B类"]]})
    report = run(book, src, sheet="b")
    assert report.sources[0].sheet == "B" and report.language == "en"
    row = ledger(book).iloc[0]
    assert (row["name"], row["kp"], row["tier"]) == ("Acme", "Yes", "A")  # the workbook's labels, the Rules' codes
    run(book, src)  # no --sheet: the sheet with the most recognised headers
    assert sorted(ledger(book)["name"]) == ["Acme", "Other"]


# ---------------------------------------------------------------- the contact log
def _customers(n: int) -> list[list]:
    return [["客户编码", "客户名称", "电话", "业务员", "客户类别"]] + [
        [f"C{i:04d}", f"客户{i:04d}", f"1380000{i:04d}", ["张伟", "李娜", "王磊"][i % 3], "4N"] for i in range(n)]


def test_call_log_maps_outcomes_and_drives_the_counters(empty_book, tmp_path):
    run(empty_book, write_csv(tmp_path / "customers.csv", _customers(3)))
    log = [["Call date", "Customer", "Type", "Disposition", "Notes"],
           ["2026-11-16 09:30", "客户0000", "Phone", "Connected", ""],
           ["2026-11-18 10:00", "客户0000", "Phone", "No Answer", ""],
           ["2026-11-19 11:15", "客户0000", "Phone", "Voicemail", ""],
           ["2026-11-19 15:00", "客户0001", "电话", "有意向", "要报价"],
           ["2026-11-20 16:45", "客户0002", "微信", "未接通", ""],
           ["2026-11-20 17:00", "客户0002", "拜访", "周末再谈", ""],
           ["2026-11-20 17:30", "不存在的客户", "Phone", "Connected", ""]]
    report = run(empty_book, write_csv(tmp_path / "calls.csv", log))
    s = report.sources[0]
    assert s.kind == importer.LOG and s.counts()["added"] == 6
    assert s.skipped == {"unknown_customer": [8]}
    assert s.unmapped["结果"] == {"周末再谈": 1}  # kept in the note, listed
    log_rows = contacts(empty_book)
    assert len(log_rows) == 6
    assert list(log_rows["reached"]) == ["是", "否", "否", "是", "否", "否"]
    assert list(log_rows["outcome"].fillna("")) == ["", "", "", "有进展", "", ""]
    assert list(log_rows["channel"]) == ["电话", "电话", "电话", "电话", "微信", "拜访"]
    assert log_rows["when"].iloc[0] == dt.datetime(2026, 11, 16, 9, 30)
    assert log_rows["notes"].iloc[5] == "周末再谈" and log_rows["notes"].iloc[3] == "要报价"
    assert set(log_rows["owner"]) == {"张伟", "李娜", "王磊"}  # owners missing in the log: the ledger's
    led = ledger(empty_book).set_index("customer_id")
    # last contact = the newest *reached* touch (domain §1); unreached = the run since it
    assert led.loc["C0000", "unreached"] == 2 and led.loc["C0000", "last_contact"] == dt.datetime(2026, 11, 16)
    assert led.loc["C0001", "last_contact"] == dt.datetime(2026, 11, 19)
    # the same export again: nothing appended twice
    again = run(empty_book, write_csv(tmp_path / "calls.csv", log))
    assert again.sources[0].counts()["added"] == 0 and len(again.sources[0].skipped["already_logged"]) == 6
    assert len(contacts(empty_book)) == 6


def test_call_log_collections_competitor_news_and_tier_changes_are_carried(empty_book, tmp_path):
    run(empty_book, write_csv(tmp_path / "customers.csv", _customers(2)))
    log = [["跟进日期", "客户名称", "方式", "结果", "回款金额", "竞争对手", "原类别", "新类别"],
           ["2026-11-19 15:00", "客户0000", "电话", "有进展", "1.2万", "对手报价低 10%", "4N", "3K"],
           ["2026-11-20 10:00", "客户0001", "电话", "未接通", None, None, None, None]]
    assert run(empty_book, write_csv(tmp_path / "calls.csv", log)).sources[0].counts()["added"] == 2
    first = contacts(empty_book).iloc[0]
    assert (first["collected"], first["competitor"], first["old_tier"], first["new_tier"]) == \
        (12000, "对手报价低 10%", "4N", "3K")


def test_call_log_of_30000_rows(empty_book, tmp_path):
    customers = 600
    run(empty_book, write_csv(tmp_path / "customers.csv", _customers(customers)))
    rng = np.random.default_rng(3)
    outcomes = ["No Answer", "Voicemail", "Connected", "未接通", "有意向", "考虑中", "拒绝"]
    start = np.datetime64("2026-05-01T08:00")
    minutes = np.sort(rng.integers(0, 200 * 24 * 60, size=30_000))
    rows = [["日期", "客户编码", "方式", "结果"]] + [
        [str(start + np.timedelta64(int(m), "m")).replace("T", " "), f"C{int(c):04d}", "电话", outcomes[int(o)]]
        for m, c, o in zip(minutes, rng.integers(0, customers, 30_000), rng.integers(0, len(outcomes), 30_000))]
    src = write_xlsx(tmp_path / "calls.xlsx", rows)
    t = time.perf_counter()
    report = run(empty_book, src)
    seconds = time.perf_counter() - t
    print(f"\n30,000-row call log imported in {seconds:.2f} s: {report.timings}")
    s = report.sources[0]
    # random calls may repeat exactly (same customer, minute, channel, result): those count once, as in the engine
    assert s.counts()["added"] + len(s.skipped.get("already_logged", [])) == 30_000 and s.counts()["added"] > 29_900
    assert len(contacts(empty_book)) == s.counts()["added"]
    led = ledger(empty_book)
    assert led["last_contact"].notna().sum() == customers
    assert seconds < 60


# ---------------------------------------------------------------- merge, conflicts, overwrite, dry run
def test_reimport_merges_without_duplicates_and_reports_conflicts(empty_book, tmp_path):
    first = [["客户编码", "客户名称", "电话", "业务员", "备注"],
             ["C0001", "甲公司", "13800000001", "张伟", None],
             ["C0002", "乙公司", "13800000002", "李娜", "老客户"],
             [None, "丙公司", "13800000003", "王磊", None]]
    run(empty_book, write_csv(tmp_path / "v1.csv", first))
    # people work in the workbook: a note typed on 甲公司, 乙公司's owner changed
    book = WorkbookPackage.open(empty_book)
    led = actions.load(book).ledger
    rows = {n: int(r) for r, n in led["name"].items()}
    book.set_column_values(L.T_CUSTOMERS, "备注", {rows["甲公司"]: "=老板姓王"})
    book.set_column_values(L.T_CUSTOMERS, "业务员", {rows["乙公司"]: "赵敏"})
    book.save(backup=False)
    updated = [["客户编码", "客户名称", "电话", "业务员", "备注", "微信"],
               ["C0001", "甲公司", "13800000001", "张伟", "新备注", "wx_jia"],  # note differs: conflict; WeChat filled
               ["C0002", "乙公司", "13800000002", "李娜", "老客户", None],  # owner differs: conflict
               [None, "丙公司", "+86 138-0000-0003", "王磊", None],  # found by phone, nothing new: unchanged
               ["C0004", "丁公司", "13800000004", "张伟", None]]  # new
    report = run(empty_book, write_csv(tmp_path / "v2.csv", updated))
    s = report.sources[0]
    assert (s.added, s.conflicting, s.unchanged) == ([5], [2, 3], [4])
    conflicts = {(c.field, c.workbook, c.source) for c in s.conflicts}
    assert conflicts == {("备注", "=老板姓王", "新备注"), ("业务员", "赵敏", "李娜")}
    assert all(c.cell.startswith("客户台账!") for c in s.conflicts)
    after = ledger(empty_book).set_index("name")
    assert len(after) == 4 and after.index.is_unique
    assert after.loc["甲公司", "notes"] == "=老板姓王" and after.loc["甲公司", "wechat"] == "wx_jia"
    assert after.loc["乙公司", "owner"] == "赵敏"
    # --overwrite: the source wins
    report = run(empty_book, write_csv(tmp_path / "v2.csv", updated), overwrite=True)
    s = report.sources[0]
    assert s.conflicting == [] and s.overwritten == 2 and sorted(s.updated) == [2, 3]
    after = ledger(empty_book).set_index("name")
    assert len(after) == 4 and after.loc["甲公司", "notes"] == "新备注" and after.loc["乙公司", "owner"] == "李娜"


def test_dry_run_leaves_the_file_byte_identical(empty_book, tmp_path):
    src = write_xlsx(tmp_path / "台账.xlsx", MESSY_ZH)
    before = empty_book.read_bytes()
    report = run(empty_book, src, dry_run=True, maps=["序号=-"])
    assert report.dry_run and not report.saved and report.sources[0].counts()["added"] == 4
    assert empty_book.read_bytes() == before
    assert not Path(str(empty_book) + ".bak").exists() and not importer.map_file(empty_book).exists()
    result = runner.invoke(app, ["import", str(src), "--into", str(empty_book), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert empty_book.read_bytes() == before


def test_formula_injection_stays_text(empty_book, tmp_path):
    nasty = ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(A1)", "\tcmd", "=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")']
    rows = [["客户名称", "备注", "微信"]] + [[f"客户{i}", v, v] for i, v in enumerate(nasty)] + [[nasty[0], "x", "y"]]
    src = write_csv(tmp_path / "nasty.csv", rows)
    run(empty_book, src)
    ws = openpyxl.load_workbook(empty_book)["客户台账"]
    header = [c.value for c in ws[1]]
    notes = {r[header.index("客户名称")].value: r[header.index("备注")] for r in ws.iter_rows(min_row=2)
             if r[header.index("客户名称")].value}
    for i, v in enumerate(nasty):
        assert notes[f"客户{i}"].value == v and notes[f"客户{i}"].data_type == "s"
    assert notes["=1+1"].value == "x"  # a name that looks like a formula, kept as text too
    with zipfile.ZipFile(empty_book) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>1+1" not in sheet and "<f>cmd" not in sheet


# ---------------------------------------------------------------- safety and failures
def test_zip_bomb_is_refused_before_reading(empty_book, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 2**20))
    before = empty_book.read_bytes()
    with pytest.raises(importer.ImportFailed, match="压缩炸弹"):
        run(empty_book, bomb)
    result = runner.invoke(app, ["import", str(bomb), "--into", str(empty_book)])
    assert result.exit_code == 2 and "bomb.xlsx" in result.output
    assert empty_book.read_bytes() == before


def test_sources_over_the_size_limit_are_refused(empty_book, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_SOURCE_BYTES", 10_000)
    big = write_csv(tmp_path / "big.csv", _customers(500))
    with pytest.raises(importer.ImportFailed, match="超过上限"):
        run(empty_book, big)
    src = write_xlsx(tmp_path / "big.xlsx", _customers(2000))  # small on disk, larger once uncompressed
    assert src.stat().st_size < 200_000
    monkeypatch.setattr(importer, "MAX_SOURCE_BYTES", 150_000)
    with pytest.raises(importer.ImportFailed, match="解压后"):
        run(empty_book, src)


def test_a_failure_midway_leaves_the_workbook_byte_identical(empty_book, tmp_path, monkeypatch):
    src = write_xlsx(tmp_path / "台账.xlsx", MESSY_ZH)
    before = empty_book.read_bytes()

    def broken_refresh(book, today=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(actions, "refresh", broken_refresh)
    with pytest.raises(RuntimeError):
        run(empty_book, src)
    assert empty_book.read_bytes() == before and not Path(str(empty_book) + ".bak").exists()
    monkeypatch.undo()
    with pytest.raises(importer.ImportFailed):  # the second source is missing: the first is not half-imported
        run(empty_book, src, tmp_path / "missing.csv")
    assert empty_book.read_bytes() == before


def test_unreadable_sources_give_clear_messages(empty_book, tmp_path):
    html = tmp_path / "report.xls"
    html.write_text("<html><table><tr><td>客户名称</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(importer.ImportFailed, match="HTML"):
        run(empty_book, html)
    nothing = write_csv(tmp_path / "nothing.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(importer.ImportFailed, match="表头"):
        run(empty_book, nothing)
    with pytest.raises(importer.ImportFailed, match="没有字段"):
        run(empty_book, nothing, maps=["a=不存在的字段"])
    with pytest.raises(importer.ImportFailed, match="没有工作表"):
        run(empty_book, write_xlsx(tmp_path / "x.xlsx", MESSY_ZH), sheet="Nope")


# ---------------------------------------------------------------- the CLI and the saved mapping
def test_cli_map_is_saved_and_reused(empty_book, tmp_path):
    rows = [["Kunde", "Rep", "Handy"], ["Müller GmbH", "Alice", "+49 170 0000001"]]
    src = write_csv(tmp_path / "de.csv", rows)
    result = runner.invoke(app, ["import", str(src), "--into", str(empty_book), "--map", "Kunde=客户名称",
                                 "--map", "Rep=Owner", "--map", "Handy=phone", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Müller GmbH" in ledger(empty_book)["name"].tolist()
    saved = json.loads(importer.map_file(empty_book).read_text(encoding="utf-8"))
    assert saved["columns"] == {"Handy": "phone", "Kunde": "name", "Rep": "owner"}
    rows.append(["Schmidt AG", "Bob", "+49 170 0000002"])
    result = runner.invoke(app, ["import", str(write_csv(tmp_path / "de.csv", rows)), "--into", str(empty_book),
                                 "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["totals"]["added"] == 1 and payload["totals"]["unchanged"] == 1
    assert ledger(empty_book).set_index("name").loc["Schmidt AG", "owner"] == "Bob"


def test_reach_vocabulary_is_unambiguous():
    seen: dict[str, str] = {}
    for name in ("reach", "outcome"):
        for key, term in vocabulary(name).terms.items():
            for alias in {normalise(a) for a in (key, term["zh"], term["en"], *term["aliases"])}:
                assert seen.setdefault(alias, key) == key, alias


# ---------------------------------------------------------------- nothing of the source is lost
def _ledger_sheet(book: Path):
    ws = next(ws for ws in openpyxl.load_workbook(book).worksheets if "tblCustomers" in ws.tables)
    header = [c.value for c in ws[1]]
    rows = {r[header.index("客户名称")].value: {h: c.value for h, c in zip(header, r)}
            for r in ws.iter_rows(min_row=2) if r[header.index("客户名称")].value}
    return ws, header, rows


def test_unknown_columns_become_ledger_columns_of_their_own(empty_book, tmp_path):
    rows = [["客户名称", "电话", "所属区域", "电话", "状态", "微信群"],
            ["苏州庚机械", "13700000001", "华东", "0512-6000001", "逾期", "苏州客户群"],
            ["无锡辛纺织", "13700000002", None, None, None, "无锡群"]]
    report = run(empty_book, write_xlsx(tmp_path / "crm.xlsx", rows))
    s = report.sources[0]
    # a second Phone column gets a number; Status is the tool's (computed), never imported
    assert s.extra == {"所属区域": "所属区域", "电话": "电话 (2)", "微信群": "微信群"} and s.ignored == ["状态"]
    ws, header, by_name = _ledger_sheet(empty_book)
    assert header[-3:] == ["所属区域", "电话 (2)", "微信群"]
    assert ws.tables["tblCustomers"].ref.split(":")[1].rstrip("0123456789") == openpyxl.utils.get_column_letter(len(header))
    assert list(ws.tables["tblCustomers"].column_names)[-3:] == header[-3:]
    first, second = by_name["苏州庚机械"], by_name["无锡辛纺织"]
    assert (first["所属区域"], first["电话 (2)"], first["微信群"]) == ("华东", "0512-6000001", "苏州客户群")
    assert (second["所属区域"], second["微信群"]) == (None, "无锡群")
    assert first["电话"] == "13700000001" and first["状态"] != "逾期"  # the tool's status, from the refresh
    assert not check_package(empty_book)
    # a second import with the same column fills the column it made (no "所属区域 (2)"), blanks only
    again = [["客户名称", "电话", "所属区域"], ["无锡辛纺织", "13700000002", "华东"],
             ["苏州庚机械", "13700000001", "华南"], ["常州壬五金", "13700000003", "华东"]]
    s = run(empty_book, write_csv(tmp_path / "again.csv", again)).sources[0]
    assert s.extra == {"所属区域": "所属区域"} and [c.field for c in s.conflicts] == ["所属区域"]
    assert s.conflicts[0].cell.startswith("客户台账!") and s.conflicts[0].workbook == "华东"
    _, header, by_name = _ledger_sheet(empty_book)
    assert header.count("所属区域") == 1
    assert [by_name[n]["所属区域"] for n in ("苏州庚机械", "无锡辛纺织", "常州壬五金")] == ["华东", "华东", "华东"]


def test_skip_leaves_a_column_out_and_is_remembered(empty_book, tmp_path):
    rows = [["客户名称", "电话", "内部编号", "所属区域"], ["镇江癸食品", "13600000001", "X-001", "华东"]]
    src = write_csv(tmp_path / "list.csv", rows)
    result = runner.invoke(app, ["import", str(src), "--into", str(empty_book), "--skip", "内部编号",
                                 "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    _, header, by_name = _ledger_sheet(empty_book)
    assert "内部编号" not in header and by_name["镇江癸食品"]["所属区域"] == "华东"
    saved = json.loads(importer.map_file(empty_book).read_text(encoding="utf-8"))
    assert saved["columns"] == {"内部编号": "-"}
    rows.append(["扬州甲酒店", "13600000002", "X-002", "华东"])
    report = run(empty_book, write_csv(tmp_path / "list.csv", rows))
    assert report.sources[0].ignored == ["内部编号"] and "内部编号" not in _ledger_sheet(empty_book)[1]


def test_unknown_list_values_are_written_as_typed_with_the_line_that_adds_them(empty_book, tmp_path):
    rows = [["客户名称", "销售阶段", "客户类别", "是否KP"],
            ["泰州乙医药", "Negotiating", "VIP", "maybe"],
            ["南通丙船舶", "B1", "重3", "是"]]
    src = write_xlsx(tmp_path / "stages.xlsx", rows)
    result = runner.invoke(app, ["import", str(src), "--into", str(empty_book), "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    _, _, by_name = _ledger_sheet(empty_book)
    typed = by_name["泰州乙医药"]
    assert (typed["流程阶段"], typed["客户类别"], typed["KP"]) == ("Negotiating", "VIP", "maybe")
    rules = next(ws for ws in openpyxl.load_workbook(empty_book).worksheets if L.T_STAGES in ws.tables)
    first_col, _, _, last_row = openpyxl.utils.cell.range_boundaries(rules.tables[L.T_STAGES].ref)
    aliases = next(c for c in rules[1] if c.value == "阶段别名").column_letter
    new_row = f"{openpyxl.utils.get_column_letter(first_col)}{last_row + 1}"
    output = " ".join(result.output.split())
    assert "Negotiating ×1" in output  # a stage: an alias of the stage table, or a new stage row
    assert f"规则!{aliases}2:{aliases}{last_row}" in output and f"规则!{new_row}" in output
    assert "VIP ×1" in output and "规则!A" in output  # a tier: an alias or a new Rules row
    checks = " ".join(str(v) for row in next(ws for ws in openpyxl.load_workbook(empty_book).worksheets
                                             if ws.title == "校验").iter_rows(values_only=True) for v in row if v)
    assert "VIP" in checks  # the refresh flags the tier it does not know, on its cell
