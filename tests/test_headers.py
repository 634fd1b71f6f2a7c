"""A required header renamed or deleted, as a person does it in a spreadsheet: one message naming the column,
the labels it may have and the header cell — not a flag on every row, not silence."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app
from pyxl.core.schema import field

from conftest import TODAY

runner = CliRunner()


def _rename_header(path: Path, sheet: str, old: str, new: str) -> None:
    """What renaming a table's header cell in Excel saves: the cell and the table column."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb[sheet]
    cell = next(c for c in ws[1] if c.value == old)
    cell.value = new
    for table in ws.tables.values():
        for column in table.tableColumns:
            if column.name == old:
                column.name = new
    wb.save(path)


def _check(path: Path) -> tuple[int, list[dict]]:
    result = runner.invoke(app, ["check", str(path), "--today", TODAY.isoformat(), "--json", "--no-backup"])
    return result.exit_code, json.loads(result.output)["flags"]


def test_renamed_last_contact_header_is_one_message_naming_it(demo_book):
    _rename_header(demo_book, "客户台账", "最近联系", "联系日（旧）")
    code, flags = _check(demo_book)
    missing = [f for f in flags if f["rule"] == "header.missing"]
    assert code == 1 and len(missing) == 1
    info = WorkbookPackage.open(demo_book).tables()[L.T_CUSTOMERS]
    assert missing[0]["cell"].startswith("客户台账!") and missing[0]["cell"].endswith(str(info.header_row))
    message = missing[0]["message"]
    assert "最近联系" in message and "Last contact" in message
    assert not any(f["rule"] == "last_contact.future" for f in flags)


def test_renamed_customer_id_header_does_not_flag_every_row(demo_book):
    _rename_header(demo_book, "客户台账", "客户编码", "编码（旧）")
    code, flags = _check(demo_book)
    assert [f["rule"] for f in flags if f["rule"].startswith("header.")] == ["header.missing"]
    assert not any(f["rule"].startswith("id.") for f in flags)  # 80 rows without an ID would be noise
    assert field("ledger", "customer_id").zh in next(f["message"] for f in flags if f["rule"] == "header.missing")


def test_renamed_log_date_header_is_flagged_on_the_log(demo_book):
    _rename_header(demo_book, "跟进记录", "日期", "时间点")
    code, flags = _check(demo_book)
    [missing] = [f for f in flags if f["rule"] == "log.header_missing"]
    assert missing["cell"].startswith("跟进记录!") and "日期" in missing["message"]


def _header_cell(path: Path, table: str, label: str) -> str:
    info = WorkbookPackage.open(path).tables()[table]
    col = info.first_col + list(info.columns).index(label)
    return f"{info.sheet}!{openpyxl.utils.get_column_letter(col)}{info.header_row}"


def test_each_renamed_required_header_is_one_message_at_its_own_cell(demo_book, tmp_path):
    """Last contact, Status, Customer ID (ledger) and the log's date: one flag each, on the renamed cell."""
    cases = [(L.T_CUSTOMERS, "客户台账", "header.missing", key) for key in ("last_contact", "status", "customer_id")]
    cases.append((L.T_CONTACTS, "跟进记录", "log.header_missing", "when"))
    for table, sheet, rule_id, key in cases:
        path = Path(tmp_path / f"{key}.xlsm")
        path.write_bytes(demo_book.read_bytes())
        old = field("contacts" if table == L.T_CONTACTS else "ledger", key).zh
        cell = _header_cell(path, table, old)
        _rename_header(path, sheet, old, "改过的名字")
        code, flags = _check(path)
        missing = [f for f in flags if f["rule"].endswith("header_missing") or f["rule"] == "header.missing"]
        assert code == 1 and [(f["rule"], f["cell"]) for f in missing] == [(rule_id, cell)], key
        assert old in missing[0]["message"] and field("ledger" if table == L.T_CUSTOMERS else "contacts",
                                                      key).en in missing[0]["message"]
        assert len(flags) < 200, f"{key}: {len(flags)} flags"
