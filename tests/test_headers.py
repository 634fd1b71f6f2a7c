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
