"""``followup rollup``: three owners' workbooks -> one macro-free team workbook, checked with openpyxl."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.demo import make_demo
from bench.team import owner_name, retag_book
from pyxl.rollup import duplicates, merge, read_book

from conftest import TODAY

runner = CliRunner()
SIZES = (30, 40, 50)
PLANTED = "13912345678"


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> dict:
    """Three owners' books (IDs all numbered from JRN01001, as when each owner numbers from 001), one
    customer of 王磊 typed with the phone of one of 张伟's (撞单), daily capacity 33 in the first book."""
    folder = tmp_path_factory.mktemp("rollup")
    books = []
    for i, n in enumerate(SIZES):
        path = folder / f"{owner_name(i)}.xlsm"
        make_demo(path, customers=n, today=TODAY, owners=1)
        retag_book(path, i + 1, owner_name(i))
        books.append(path)
    _set_phone(books[0], 5, PLANTED)
    _set_phone(books[2], 2, "139-1234-5678")  # typed differently, same number once normalised
    first = WorkbookPackage.open(books[0])
    settings = first.read_table(L.T_SETTINGS)
    row = next(r for r, k in settings.iloc[:, 0].items() if k == "daily_capacity")
    first.set_column_values(L.T_SETTINGS, settings.columns[1], {row: 33})
    first.save(backup=False)
    out = folder / "team.xlsx"
    result = runner.invoke(app, ["rollup", *map(str, books), "-o", str(out), "--today", TODAY.isoformat()],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    sources = [actions.load(WorkbookPackage.open(p)) for p in books]
    return {"books": books, "out": out, "output": result.output, "sources": sources,
            "wb": openpyxl.load_workbook(out)}


def _set_phone(path: Path, row: int, phone: str) -> None:
    book = WorkbookPackage.open(path)
    header = actions.load(book).ledger_headers.header_of("phone")
    book.set_column_values(L.T_CUSTOMERS, header, {row: phone})
    book.save(backup=False)


def _rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]


def _section(ws, title_start: str) -> list[tuple]:
    """The rows of a Checks section: after its title and header, up to the next blank row."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith(title_start))
    out = []
    for r in rows[start + 2:]:
        if all(v is None for v in r):
            break
        out.append(r)
    return out


def test_ledger_and_log_hold_every_source_row(team):
    wb = team["wb"]
    ledger, log = _rows(wb["客户台账"])[1:], _rows(wb["跟进记录"])[1:]
    assert len(ledger) == sum(SIZES) == sum(len(s.ledger) for s in team["sources"])
    assert len(log) == sum(len(s.log) for s in team["sources"])
    header = _rows(wb["客户台账"])[0]
    owners = [r[header.index("业务员")] for r in ledger]
    assert owners == [owner_name(i) for i, n in enumerate(SIZES) for _ in range(n)]  # book after book


def test_team_workbook_is_macro_free_with_charts(team):
    with zipfile.ZipFile(team["out"]) as z:
        names = z.namelist()
        types = z.read("[Content_Types].xml").decode()
    assert not [n for n in names if "vbaProject" in n or n.startswith("customUI")]
    assert "macroEnabled" not in types
    assert len([n for n in names if n.startswith("xl/charts/chart")]) == 3
    assert len(team["wb"]["看板"]._charts) == 3
    assert "xlwings.conf" not in team["wb"].sheetnames


def test_dashboard_owner_block_lists_every_owner(team):
    ws = team["wb"]["看板"]
    owners = [ws.cell(L.OWNERS.row + 1 + i, L.OWNERS.col + 1).value for i in range(L.OWNERS.rows)]
    counts = [ws.cell(L.OWNERS.row + 1 + i, L.OWNERS.col + 2).value for i in range(len(SIZES))]
    assert {o for o in owners if o} == {owner_name(i) for i in range(len(SIZES))}
    assert sorted(counts) == sorted(SIZES)


def test_duplicate_across_owners_is_flagged_with_both_sources(team):
    ws = team["wb"]["校验"]
    dupes = _section(ws, "撞单")
    header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "组")
    col = {h: i for i, h in enumerate(header) if h}
    planted = [r for r in dupes if "13912345678" in str(r[col["相同"]]) or "139-1234-5678" in str(r[col["相同"]])]
    assert len(planted) == 2 and len({r[col["组"]] for r in planted}) == 1
    assert {r[col["来源工作簿"]] for r in planted} == {team["books"][0].name, team["books"][2].name}
    assert {r[col["业务员"]] for r in planted} == {owner_name(0), owner_name(2)}
    phone_col = "F"  # 电话 in the built ledger and in the demo books
    assert {r[col["原位置"]] for r in planted} == {f"客户台账!{phone_col}5", f"客户台账!{phone_col}2"}
    team_rows = {int(r[col["位置"]].split(phone_col)[-1]) for r in planted}
    assert team_rows == {5, 2 + SIZES[0] + SIZES[1]}  # book 3's row 2 comes after books 1 and 2
    # the ledger's own duplicate flag is there too
    assert "撞单" in (team["wb"]["客户台账"].cell(5, _ledger_col(team, "校验")).value or "")


def _ledger_col(team, label: str) -> int:
    return _rows(team["wb"]["客户台账"])[0].index(label) + 1


def test_colliding_ids_are_kept_distinct_with_their_own_touches(team):
    wb = team["wb"]
    header, *ledger = _rows(wb["客户台账"])
    ids = [r[header.index("客户编码")] for r in ledger]
    assert len(set(ids)) == len(ids)
    assert {"JRN01001-01", "JRN01001-02", "JRN01001-03"} <= set(ids)
    assert "JRN01045" in ids  # only book 3 has 45+ customers: nothing to rename
    log_header, *log = _rows(wb["跟进记录"])
    logged = pd.Series([r[log_header.index("客户编码")] for r in log]).value_counts()
    for number, source in enumerate(team["sources"], start=1):
        own = (source.log["customer_id"] == "JRN01001").sum()
        assert logged.get(f"JRN01001-{number:02d}", 0) == own
    # the suffix is reported, not flagged as a malformed ID
    checks = [str(v) for r in _rows(wb["校验"]) for v in r]
    assert "id.malformed" not in checks and "id.duplicate" not in checks
    assert not any("格式不对" in str(r[header.index("校验")] or "") for r in ledger)
    mapping = _section(wb["校验"], "客户来源")
    row = next(r for r in mapping if r[1] == "JRN01001-02")
    assert row[4] == team["books"][1].name and row[5] == "JRN01001"


def test_sources_and_first_book_settings(team):
    wb = team["wb"]
    sources = _section(wb["校验"], "来源工作簿")
    assert [r[5] for r in sources] == [p.name for p in team["books"]]
    assert [r[3] for r in sources] == list(SIZES)
    assert sources[1][2] == f"客户台账!{2 + SIZES[0]}:{1 + SIZES[0] + SIZES[1]}"
    settings = {r[0]: r[1] for r in _rows(wb["设置"])}
    assert settings["daily_capacity"] == 33  # from the first book
    owners = [r[4] for r in _rows(wb["设置"])[1:] if r[4]]
    assert owners == [owner_name(i) for i in range(len(SIZES))]
    assert "规则与设置取自第一个工作簿" in str(wb["校验"]["A3"].value)
    assert "规则与设置取自" in team["output"] and "rules_and_settings_from" not in team["output"]  # in its language


def test_merge_suffixes_only_ids_shared_between_books(team):
    books = [read_book(i + 1, p) for i, p in enumerate(team["books"][:2])]
    merged = merge(books)
    assert merged.shared_ids == SIZES[0]  # book 1's IDs all reappear in book 2
    ids = merged.ledger["customer_id"]
    assert ids.is_unique
    assert ids.iloc[SIZES[0] + SIZES[0]] == f"JRN01{SIZES[0] + 1:03d}"  # book 2's 31st customer: not shared


def test_duplicates_need_two_owners():
    ledger = pd.DataFrame({"owner": ["A", "A", "B", "C", None], "phone": ["138 0000 1111", "13800001111", None,
                                                                         "+86 13800001111", "021-5555-6666"],
                           "name": ["甲公司", "乙", "乙有限公司", "丙", "丁"], "_book": [1, 1, 2, 3, 4]})
    found = duplicates(ledger)
    phone = found[found["match"] == "phone"]
    assert sorted(phone.index) == [0, 1, 3]  # A's two rows and C's
    name = found[found["match"] == "name"]
    assert sorted(name.index) == [1, 2]  # 乙 (A) and 乙有限公司 (B)
    assert found["group"].nunique() == 2
    assert duplicates(ledger.iloc[:2]).empty  # one owner's own duplicate is not 撞单


def test_refuses_a_macro_output(team, tmp_path):
    result = runner.invoke(app, ["rollup", str(team["books"][0]), "-o", str(tmp_path / "team.xlsm")])
    assert result.exit_code == 2 and ".xlsx" in result.output
    assert not (tmp_path / "team.xlsm").exists()


def test_refuses_to_overwrite_a_source(team, tmp_path):
    copy = tmp_path / "same.xlsx"
    copy.write_bytes(team["books"][0].read_bytes())
    result = runner.invoke(app, ["rollup", str(copy), "-o", str(copy)])
    assert result.exit_code == 2
    assert copy.read_bytes() == team["books"][0].read_bytes()
