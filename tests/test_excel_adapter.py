"""The xlwings edge against a faithful in-memory stand-in of the few xlwings calls it uses.

The stand-in is loaded from a real built workbook, every Excel round-trip (a value read or write, a
clear, a resize) is counted, and the results are compared with the headless path on the same file.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.a1 import parse_ref
from pyxl.book.excel import ExcelBook
from pyxl.book.xlsx import WorkbookPackage
from pyxl.demo import make_demo

from conftest import TODAY


class Calls:
    count = 0


class FakeRange:
    def __init__(self, sheet: "FakeSheet", r1: int, c1: int, r2: int, c2: int, transpose: bool = False,
                 ndim: int | None = None):
        self.sheet, self.row, self.column, self.last_row, self.last_col = sheet, r1, c1, r2, c2
        self.transpose, self.ndim = transpose, ndim

    def options(self, ndim: int | None = None, transpose: bool = False) -> "FakeRange":
        return FakeRange(self.sheet, self.row, self.column, self.last_row, self.last_col, transpose, ndim)

    @property
    def columns(self) -> list["FakeRange"]:
        return [FakeRange(self.sheet, self.row, c, self.last_row, c) for c in range(self.column, self.last_col + 1)]

    def resize(self, rows: int, cols: int) -> "FakeRange":
        return FakeRange(self.sheet, self.row, self.column, self.row + rows - 1, self.column + cols - 1)

    @property
    def value(self):
        Calls.count += 1
        grid = [[self.sheet.cells_.get((r, c)) for c in range(self.column, self.last_col + 1)]
                for r in range(self.row, self.last_row + 1)]
        if self.ndim == 2:
            return grid
        if self.row == self.last_row:
            return grid[0] if self.column != self.last_col else grid[0][0]
        return [r[0] for r in grid] if self.column == self.last_col else grid

    @value.setter
    def value(self, data) -> None:
        Calls.count += 1
        if not isinstance(data, (list, tuple)):  # a scalar fills the one cell, as in xlwings
            data = [[data]]
        if self.transpose:
            data = [[v] for v in data]
        elif data and not isinstance(data[0], list):
            data = [data]
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                self.sheet.cells_[(self.row + i, self.column + j)] = v


class FakeTable:
    def __init__(self, sheet: "FakeSheet", name: str, ref: str):
        self.sheet, self.name = sheet, name
        self.r1, self.c1, self.r2, self.c2 = parse_ref(ref)

    @property
    def range(self) -> FakeRange:
        return FakeRange(self.sheet, self.r1, self.c1, self.r2, self.c2)

    @property
    def header_row_range(self) -> FakeRange:
        return FakeRange(self.sheet, self.r1, self.c1, self.r1, self.c2)

    @property
    def data_body_range(self) -> FakeRange | None:
        return None if self.r2 == self.r1 else FakeRange(self.sheet, self.r1 + 1, self.c1, self.r2, self.c2)

    def resize(self, rng: FakeRange) -> None:
        Calls.count += 1
        self.r2, self.c2 = rng.last_row, rng.last_col


class FakeSeries:
    def __init__(self, formula: str):
        self._formula = formula

    @property
    def Formula(self) -> str:  # noqa: N802 (Excel's name)
        Calls.count += 1
        return self._formula

    @Formula.setter
    def Formula(self, value: str) -> None:  # noqa: N802
        Calls.count += 1
        self._formula = value


class FakeChart:
    def __init__(self, series: list[FakeSeries]):
        self.series = series

    def SeriesCollection(self) -> list[FakeSeries]:  # noqa: N802
        return self.series


class FakeChartObject:
    def __init__(self, refs: list[str]):
        self.Chart = FakeChart([FakeSeries(f"=SERIES(,{cat},{val},1)") for cat, val in zip(refs[::2], refs[1::2])])


class FakeApi:
    def __init__(self, code: str):
        self.CodeName = code
        self.charts: list[FakeChartObject] = []

    def ChartObjects(self) -> list[FakeChartObject]:  # noqa: N802
        Calls.count += 1
        return self.charts


class FakeSheet:
    def __init__(self, name: str, code: str):
        self.name, self.api, self.cells_, self.tables = name, FakeApi(code), {}, []

    @property
    def used_range(self) -> "FakeSheet":
        return self

    def clear_contents(self) -> None:
        Calls.count += 1
        self.cells_.clear()

    def range(self, address: str) -> FakeRange:
        r1, c1, r2, c2 = parse_ref(address if ":" in address else f"{address}:{address}")
        return FakeRange(self, r1, c1, r2, c2)

    def cells(self, row: int, col: int) -> FakeRange:
        return FakeRange(self, row, col, row, col)


class FakeBook:
    def __init__(self, path: Path):
        package = WorkbookPackage.open(path)
        self.sheets = []
        by_name = {}
        for info in package.sheets():
            sheet = FakeSheet(info.name, info.code_name)
            for r, row in enumerate(package.read_sheet_values(info.name), start=1):
                for c, v in enumerate(row, start=1):
                    if v is not None:
                        sheet.cells_[(r, c)] = v
            self.sheets.append(sheet)
            by_name[info.name] = sheet
        for table in package.tables().values():
            sheet = by_name[table.sheet]
            sheet.tables.append(FakeTable(sheet, table.name, table.ref))
        with zipfile.ZipFile(path) as z:  # every chart of the product sits on one sheet and reads only that sheet
            for part in sorted(n for n in z.namelist() if n.startswith("xl/charts/chart")):
                refs = re.findall(r"<c:f>([^<]*)</c:f>", z.read(part).decode())
                by_name[refs[0].split("!")[0].strip("'")].api.charts.append(FakeChartObject(refs))


def _demo(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"demo{n}.xlsm"
    make_demo(path, customers=n, today=TODAY)
    return path


def _refresh_calls(path: Path) -> int:
    Calls.count = 0
    actions.refresh(ExcelBook(FakeBook(path)), TODAY)
    return Calls.count


def test_round_trips_do_not_grow_with_rows(tmp_path):
    small, large = _refresh_calls(_demo(tmp_path, 20)), _refresh_calls(_demo(tmp_path, 200))
    assert small == large
    assert small < 40


def test_live_refresh_writes_what_the_headless_refresh_writes(tmp_path):
    path = _demo(tmp_path, 40)
    fake = FakeBook(path)
    actions.refresh(ExcelBook(fake), TODAY)
    headless = shutil.copy(path, tmp_path / "headless.xlsm")
    book = WorkbookPackage.open(headless)
    actions.refresh(book, TODAY)
    book.save(backup=False)
    expected = WorkbookPackage.open(headless).read_table(L.T_CUSTOMERS)
    live = ExcelBook(fake).read_table(L.T_CUSTOMERS)
    inputs = actions.load(ExcelBook(fake))
    for key in ("due", "earliest", "status", "checks"):
        header = inputs.ledger_headers.header_of(key)
        got = [v.date() if isinstance(v, dt.datetime) else v for v in live[header]]
        want = [v.date() if isinstance(v, dt.datetime) else v for v in expected[header]]
        assert got == want, key
    agenda = next(s for s in fake.sheets if s.api.CodeName == L.AGENDA)
    assert agenda.cells_[(1, 1)] == "今日"
    dashboard = next(s for s in fake.sheets if s.api.CodeName == L.DASHBOARD)
    live_refs = [re.findall(r"[^,(]+![$A-Z0-9:]+", s.Formula) for c in dashboard.api.charts for s in c.Chart.series]
    with zipfile.ZipFile(headless) as z:
        headless_refs = [re.findall(r"<c:f>([^<]*)</c:f>", z.read(n).decode()) for n in sorted(z.namelist())
                         if n.startswith("xl/charts/chart")]
    assert live_refs == headless_refs  # the charts read the rows written, in Excel as on the file


def test_log_contact_appends_to_the_live_table(tmp_path):
    fake = FakeBook(_demo(tmp_path, 20))
    book = ExcelBook(fake)
    before = len(book.read_table(L.T_CONTACTS))
    cid = str(book.read_table(L.T_CUSTOMERS).iloc[0, 0])
    actions.log_contact(ExcelBook(fake), cid, "电话", "否", today=TODAY,
                        when=dt.datetime.combine(TODAY, dt.time(9, 30)))
    log = ExcelBook(fake).read_table(L.T_CONTACTS)
    assert len(log) == before + 1 and log.iloc[-1, 1] == cid
    assert isinstance(pd.Timestamp(log.iloc[-1, 0]), pd.Timestamp)


def test_live_charts_read_every_owner(tmp_path):
    fake = FakeBook(_demo(tmp_path, 40))
    book = ExcelBook(fake)
    ledger = book.read_table(L.T_CUSTOMERS)
    owner = actions.load(book).ledger_headers.header_of("owner")
    book.set_column_values(L.T_CUSTOMERS, owner, {int(ledger.index[0]): "新来的"})
    owners = ledger[owner].nunique() + 1
    actions.refresh(ExcelBook(fake), TODAY)
    dashboard = next(s for s in fake.sheets if s.api.CodeName == L.DASHBOARD)
    first = f"$A${L.OWNERS.row + 1}:"
    overdue = next(c.Chart.series[0].Formula for c in dashboard.api.charts if first in c.Chart.series[0].Formula)
    assert [int(r) for r in re.findall(r":\$[A-Z]+\$(\d+)", overdue)] == [L.OWNERS.row + owners] * 2


def test_ribbon_log_contact_reads_the_vba_form_including_the_hard_call(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from pyxl import macros
    fake = FakeBook(_demo(tmp_path, 20))
    form = next(s for s in fake.sheets if s.api.CodeName == L.FORM)
    for r, value in enumerate(["电话", "yes", "considering", "", "想让总监一起谈", "yes"], start=1):
        form.cells_[(r, 2)] = value
    alerts = []
    fake.selection = SimpleNamespace(row=2)
    fake.app = SimpleNamespace(alert=lambda text, title: alerts.append(title), status_bar="")
    monkeypatch.setattr(macros, "_book", lambda: ExcelBook(fake))
    macros.log_contact()
    log = actions.load(ExcelBook(fake)).log
    cid = str(ExcelBook(fake).read_table(L.T_CUSTOMERS).loc[2].iloc[0])
    assert alerts == ["Log"]
    assert (log.iloc[-1]["customer_id"], log.iloc[-1]["hard_call"], log.iloc[-1]["notes"]) == (cid, "是", "想让总监一起谈")


def test_ribbon_manager_copy_leaves_the_copy_path_for_the_draft_mail(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from pyxl import macros
    path = _demo(tmp_path, 20)
    fake = FakeBook(path)
    fake.save, fake.fullname = (lambda: None), str(path)
    fake.app = SimpleNamespace(alert=lambda text, title: None)
    monkeypatch.setattr(macros.xw.Book, "caller", staticmethod(lambda: fake))
    macros.manager_copy()
    form = next(s for s in fake.sheets if s.api.CodeName == L.FORM)
    copy = Path(form.cells_[(8, 2)])
    assert copy.parent == path.parent and copy.suffix == ".xlsx" and copy.exists()
