"""The xlwings door against the faithful stand-in of xlwings + Excel (tests/xlwings_standin.py), on both
platform flavours: every action writes the cell values *and* formats the headless path writes, text stays
text, sheets are found without code names, Log contact acts on the selected customer."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

import xlwings_standin as xs
from pyxl import actions, macros
from pyxl.book import excel
from pyxl.book import layout as L
from pyxl.book.a1 import parse_ref
from pyxl.book.excel import ExcelBook, addresses
from pyxl.book.xlsx import WorkbookPackage
from pyxl.build.workbook import build_workbook
from pyxl.core.values import ErrorValue
from pyxl.demo import make_demo

from conftest import TODAY
from support import people

WHEN = dt.datetime.combine(TODAY, dt.time(9, 30))


@pytest.fixture(params=["windows", "mac"])
def flavour(request, monkeypatch) -> str:
    monkeypatch.setattr(excel, "ON_MAC", request.param == "mac")
    return request.param


def _demo(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"demo{n}.xlsm"
    if not path.exists():
        make_demo(path, customers=n, today=TODAY)
    return path


def _first_id(path: Path) -> str:
    return str(WorkbookPackage.open(path).read_table(L.T_CUSTOMERS).iloc[0, 0])


ACTIONS = {
    "refresh": lambda book, cid: actions.refresh(book, TODAY),
    "check": lambda book, cid: actions.check(book, TODAY),
    "weekly_plan": lambda book, cid: actions.weekly_plan(book, today=TODAY),
    "end_of_day": lambda book, cid: actions.end_of_day(book, TODAY),
    "new_customer_ids": lambda book, cid: actions.new_customer_ids(book),
    "log_contact": lambda book, cid: actions.log_contact(book, cid, "电话", "是", "considering", note="=SUM(1)",
                                                         today=TODAY, when=WHEN),
}


def _headless(path: Path, tmp_path: Path, action: str) -> openpyxl.Workbook:
    copy = shutil.copy(path, tmp_path / f"headless-{action}.xlsm")
    book = WorkbookPackage.open(copy)
    ACTIONS[action](book, _first_id(path))
    book.save(backup=False)
    return openpyxl.load_workbook(copy)


def _same(a: object, b: object) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == pytest.approx(float(b), abs=1e-6)
    return a == b


def _content(sheet: xs.Sheet, r: int, c: int) -> object:
    """What a cell holds, as openpyxl gives it: a formula's text, an error value's text, else the value read."""
    cell = sheet.cell(r, c)
    return cell.formula or cell.error or sheet.read(r, c)


def _differences(live: xs.Book, want: openpyxl.Workbook) -> list[tuple]:
    """Every non-empty cell of every sheet: content, number format, bold, italic, font colour, fill (font
    name/size and borders are left to the cell's default in both)."""
    differences = []
    for sheet in live.sheets:
        ws = want[sheet._name]
        cells = {k for k, c in sheet.cells_.items() if c.value is not None or c.formula or c.error}
        cells |= {(c.row, c.column) for row in ws.iter_rows() for c in row if c.value is not None}
        for r, c in sorted(cells):
            got, exp = _content(sheet, r, c), ws.cell(r, c).value
            got_fmt, exp_fmt = sheet.fmt(r, c), xs.fmt_of(ws.cell(r, c))
            facets = ("number_format", "bold", "italic", "font_color", "fill")
            if not _same(got, exp) or any(getattr(got_fmt, f) != getattr(exp_fmt, f) for f in facets):
                differences.append((sheet._name, r, c, got, exp, got_fmt, exp_fmt))
    return differences


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_writes_the_values_and_formats_the_headless_path_writes(tmp_path, flavour, action):
    path = _demo(tmp_path, 30)
    live = xs.Book(path, flavour)
    ACTIONS[action](ExcelBook(live), _first_id(path))
    want = _headless(path, tmp_path, action)
    differences = _differences(live, want)
    assert differences == [], differences[:5]
    today = want.defined_names[L.TODAY_NAME].attr_text  # the day the row colours compare with
    assert live.names[L.TODAY_NAME].refers_to == "=" + today


@pytest.fixture(scope="module")
def people_base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("people") / "base.xlsm"
    make_demo(path, customers=30, today=TODAY)
    return path


PEOPLE_EDITS = ["formula_in_last_contact", "error_values", "text_in_date_column", "duplicated_id",
                "customer_without_id"]


@pytest.mark.parametrize("action", ["refresh", "end_of_day"])
@pytest.mark.parametrize("edit", PEOPLE_EDITS)
def test_edits_people_make_are_written_around_live_as_headless(tmp_path, people_base, flavour, edit, action):
    """A formula, an error value or text in a synced column, a duplicated or missing ID: the live path writes
    the cells the headless one writes, and every typed cell keeps what was typed."""
    path = shutil.copy(people_base, tmp_path / "edited.xlsm")
    typed = people.EDITS[edit](path)
    live = xs.Book(path, flavour)
    ACTIONS[action](ExcelBook(live), None)
    want = _headless(path, tmp_path, action)
    assert _differences(live, want) == []
    for cell in typed:
        r, c, *_ = parse_ref(cell.cell + ":" + cell.cell)
        assert _content(next(s for s in live.sheets if s._name == cell.sheet), r, c) == cell.value, cell


def test_round_trips_do_not_grow_with_rows(tmp_path):
    """Each action makes the same reads and writes at 200 and 2,000 customers. Styling the generated sheets is a
    fixed number of calls per style role and address: it follows which situations a sheet shows (who does not fit
    the week, warnings, ...) and how its cells group, not the number of rows."""
    runs = {"refresh": lambda book: actions.refresh(book, TODAY), "check": lambda book: actions.check(book, TODAY),
            "plan": lambda book: actions.weekly_plan(book, None, TODAY)}

    def trips(n: int) -> dict[str, xs.RoundTrips]:
        path = _demo(tmp_path, n)
        books = {name: ExcelBook(xs.Book(path)) for name in runs}
        return {name: xs.round_trips(lambda: run(books[name])) for name, run in runs.items()}

    small, large = trips(200), trips(2000)
    assert {n: t.data for n, t in small.items()} == {n: t.data for n, t in large.items()}
    assert small["refresh"].data < 200
    most = max(2 + len(props) for props in excel.ROLES.values())  # apply_role: one call per property (+ font)
    for t in (*small.values(), *large.values()):
        assert 0 < t.styling <= most * t.areas
    assert all(large[n].areas <= small[n].areas + 10 for n in runs)


def test_mac_finds_every_sheet_without_code_names(tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "ON_MAC", True)
    live = xs.Book(_demo(tmp_path, 20), "mac")
    with pytest.raises(AttributeError):
        live.sheets[0].api.CodeName
    book = ExcelBook(live)
    for code in L.SHEETS:
        assert book.sheet_by_codename(code) is live.sheet(code), code
    actions.refresh(book, TODAY)
    assert live.sheet(L.AGENDA).read(1, 1) == "今日"


def test_a_renamed_sheet_is_found_by_its_defined_name_and_an_old_workbook_by_table_or_name(tmp_path, flavour):
    live = xs.Book(_demo(tmp_path, 20), flavour)
    agenda = live.sheet(L.AGENDA)
    agenda._name = "Heute"  # Excel rewrites the defined name's reference on rename
    live.names._names[f"FU_Sheet_{L.AGENDA}"] = "='Heute'!$A$1"
    assert ExcelBook(live).sheet_by_codename(L.AGENDA) is agenda
    live.names._names.clear()  # a workbook built before the names: the table's sheet, else the built-in name
    live.sheet(L.CUSTOMERS)._name = "Kunden"
    book = ExcelBook(live)
    assert book.sheet_by_codename(L.CUSTOMERS) is live.sheet(L.CUSTOMERS)
    assert book.sheet_by_codename(L.PLAN) is live.sheet(L.PLAN)


RISKY = {"formula": "=HYPERLINK(\"http://x\")", "plus": "+86 138 0000 1234", "minus": "-5 days",
         "at": "@home", "leading zeros": "0123", "date-like": "2026-01-02", "slash date": "1/2",
         "number": "12%", "boolean": "TRUE", "apostrophe": "'quoted", "long": "长" * 32767}


@pytest.mark.parametrize("shape", list(RISKY))
def test_text_is_written_as_text(tmp_path, flavour, shape):
    text = RISKY[shape]
    live = xs.Book(build_workbook(tmp_path / "b.xlsm"), flavour)
    book = ExcelBook(live)
    name = book.tables()[L.T_CUSTOMERS].columns[1]
    book.set_column_values(L.T_CUSTOMERS, name, {2: text})
    book.replace_sheet_content(L.CHECKS, [[text, (text, "text")]])
    book.append_table_rows(L.T_CONTACTS, [{book.tables()[L.T_CONTACTS].columns[-1]: text}])
    fresh = ExcelBook(live)
    assert fresh.read_table(L.T_CUSTOMERS).loc[2, name] == text
    assert [live.sheet(L.CHECKS).read(1, c) for c in (1, 2)] == [text, text]
    assert fresh.read_table(L.T_CONTACTS).iloc[0, -1] == text
    assert live.sheet(L.CHECKS).cell(1, 1).formula is None


def test_the_first_logged_touch_fills_the_contacts_tables_blank_first_row(tmp_path, flavour):
    path = build_workbook(tmp_path / "b.xlsm")
    live = xs.Book(path, flavour)
    book = ExcelBook(live)
    assert len(book.read_table(L.T_CONTACTS)) == 1  # a new table has one blank data row
    first = book.tables()[L.T_CONTACTS].columns[0]
    assert book.append_table_rows(L.T_CONTACTS, [{first: WHEN}]) == [2]
    assert book.append_table_rows(L.T_CONTACTS, [{first: WHEN}]) == [3]
    assert live.sheet(L.CONTACTS).tables[0].r2 == 3
    assert live.sheet(L.CONTACTS).fmt(3, 1).number_format == live.sheet(L.CONTACTS).fmt(2, 1).number_format


def test_generated_sheets_get_roles_widths_merges_and_lose_old_formats(tmp_path, flavour):
    live = xs.Book(build_workbook(tmp_path / "b.xlsm"), flavour)
    sheet = live.sheet(L.PLAN)
    sheet.write(9, 3, dt.date(2026, 1, 1))  # an old date: its format must not meet the new number below
    book = ExcelBook(live)
    book.replace_sheet_content(L.PLAN, [[("T", "title")], [], [0.25, (0.25, "pct"), (dt.date(2026, 1, 2), "date")]]
                               + [[]] * 5 + [[None, None, 7]], merges=["A1:C1"], col_widths={1: 6, "C": 30})
    assert sheet.fmt(3, 2).number_format == "0%" and sheet.fmt(3, 1).number_format == "General"
    assert sheet.fmt(3, 3).number_format == "yyyy-mm-dd" and sheet.read(3, 3) == dt.datetime(2026, 1, 2)
    assert sheet.fmt(1, 1).bold and sheet.fmt(1, 1).font_color == "#1F3864"
    assert sheet.read(9, 3) == 7.0 and sheet.fmt(9, 3).number_format == "General"
    assert (sheet.widths[1], sheet.widths[3], sheet.merges) == (6.0, 30.0, ["A1:C1"])


def test_one_column_table_header_is_one_label(tmp_path, flavour):
    live = xs.Book(build_workbook(tmp_path / "b.xlsm"), flavour)
    sheet = live.sheet(L.FORM)
    sheet.write(20, 1, "only")
    sheet.tables.append(xs.Table(sheet, "tblOne", "A20:A21"))
    assert ExcelBook(live).tables()["tblOne"].columns == ("only",)


def test_addresses_cover_exactly_the_cells_under_excels_limit():
    cells = [(r, c) for r in range(5, 400) for c in (2, 3, 7) if r % 3]
    got = addresses(cells)
    assert all(len(a) <= 255 for a in got)
    areas = [xs._area(ref) for address in got for ref in address.split(",")]
    covered = {(r, c) for r1, c1, r2, c2 in areas for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    assert covered == set(cells)


def test_live_charts_read_every_owner(tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "ON_MAC", False)
    live = xs.Book(_demo(tmp_path, 40), "windows")
    book = ExcelBook(live)
    ledger = book.read_table(L.T_CUSTOMERS)
    owner = actions.load(book).ledger_headers.header_of("owner")
    book.set_column_values(L.T_CUSTOMERS, owner, {int(ledger.index[0]): "新来的"})
    owners = ledger[owner].nunique() + 1
    actions.refresh(ExcelBook(live), TODAY)
    dashboard = live.sheet(L.DASHBOARD)
    first = f"$A${L.OWNERS.row + 1}:"
    overdue = next(c.Chart.series[0].Formula for c in dashboard.api.charts if first in c.Chart.series[0].Formula)
    assert [int(r) for r in re.findall(r":\$[A-Z]+\$(\d+)", overdue)] == [L.OWNERS.row + owners] * 2
    with zipfile.ZipFile(_demo(tmp_path, 40)) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())


# --- the ribbon entry points (pyxl.macros) ---------------------------------------------------------------
def _ribbon(tmp_path: Path, flavour: str, monkeypatch) -> xs.Book:
    path = _demo(tmp_path, 20)
    live = xs.Book(path, flavour)
    monkeypatch.setattr(macros.xw.Book, "caller", staticmethod(lambda: live))
    form = live.sheet(L.FORM)
    for r, value in enumerate(["电话", "yes", "considering", "2026-11-27", "=想让总监一起谈", "yes"], start=1):
        form.formats[(r, 2)] = xs.Fmt(number_format="@")  # the VBA form writes its answers as text
        form.write(r, 2, value)
    return live


def _logged(live: xs.Book) -> tuple[str, str, str]:
    log = actions.load(ExcelBook(live)).log
    return log.iloc[-1]["customer_id"], log.iloc[-1]["hard_call"], log.iloc[-1]["notes"]


def test_log_contact_acts_on_the_selected_ledger_row(tmp_path, flavour, monkeypatch):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    ledger = live.sheet(L.CUSTOMERS)
    ledger.range((5, 3)).select()
    macros.log_contact()
    assert _logged(live) == (ledger.read(5, 1), "是", "=想让总监一起谈")
    assert live.app.alerts[-1][0] == "Log" and live.app.status_bar is False


def test_log_contact_on_the_agenda_logs_the_customer_on_that_agenda_row(tmp_path, flavour, monkeypatch):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    actions.refresh(ExcelBook(live), TODAY)
    agenda = live.sheet(L.AGENDA)
    row = next(r for r in range(5, 40) if agenda.read(r, 4) and agenda.read(r, 4) != live.sheet(L.CUSTOMERS).read(r, 1))
    customer = agenda.read(row, 4)
    agenda.range((row, 2)).select()
    macros.log_contact()
    assert _logged(live)[0] == customer


@pytest.mark.parametrize("where", ["checks", "ledger header"])
def test_log_contact_elsewhere_asks_what_to_select_and_logs_nothing(tmp_path, flavour, monkeypatch, where):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    before = len(ExcelBook(live).read_table(L.T_CONTACTS))
    target = live.sheet(L.CHECKS) if where == "checks" else live.sheet(L.CUSTOMERS)
    target.range((1, 1)).select()
    macros.log_contact()
    assert len(ExcelBook(live).read_table(L.T_CONTACTS)) == before
    title, prompt = live.app.alerts[-1]
    assert title == "Log" and "客户台账" in prompt and "今日" in prompt


def test_ribbon_buttons_run_on_both_flavours(tmp_path, flavour, monkeypatch):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    for entry in (macros.refresh, macros.check_tiers, macros.weekly_plan, macros.new_customer_ids,
                  macros.end_of_day):
        entry()
        assert live.app.status_bar is False
    assert [t for t, _ in live.app.alerts] == ["Refresh", "Check", "Plan", "IDs", "End of day"]
    assert live.active_sheet is live.sheet(L.REPORT)


def test_ribbon_manager_copy_leaves_the_copy_path_for_the_draft_mail(tmp_path, flavour, monkeypatch):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    macros.manager_copy()
    copy = Path(live.sheet(L.FORM).read(8, 2))
    assert live.saved == 1 and copy.suffix == ".xlsx" and copy.exists()


@pytest.mark.parametrize("edit", ["formula_in_last_contact", "error_values"])
def test_the_live_reader_delivers_error_values_and_formulas_as_the_headless_reader(tmp_path, people_base, flavour,
                                                                                  edit):
    path = shutil.copy(people_base, tmp_path / "edited.xlsm")
    typed = people.EDITS[edit](path)
    live = xs.Book(path, flavour)
    live.sheet(L.CUSTOMERS).write(4, 2, "'#N/A")  # text that reads like an error value stays text
    got, want = ExcelBook(live).read_table(L.T_CUSTOMERS), WorkbookPackage.open(path).read_table(L.T_CUSTOMERS)
    errors = lambda frame: {(r, c, v) for c in frame for r, v in frame[c].items() if type(v) is ErrorValue}  # noqa: E731
    assert got.attrs["formulas"] == want.attrs["formulas"] and errors(got) == errors(want)
    formula = edit == "formula_in_last_contact"
    assert (len(got.attrs["formulas"]), len(errors(got))) == ((1, 0) if formula else (0, len(typed)))
    assert type(got.iloc[2, 1]) is str and got.iloc[2, 1] == "#N/A"


def test_a_column_is_written_at_the_given_rows_in_round_trips_that_do_not_grow_with_rows(tmp_path, flavour):
    def calls(n: int) -> tuple[int, xs.Sheet]:
        live = xs.Book(_demo(tmp_path, n), flavour)
        book = ExcelBook(live)
        ledger = live.sheet(L.CUSTOMERS)
        ledger.cells_[(5, 3)] = xs.Cell(None, formula="=B5")
        ledger.cells_[(9, 3)] = xs.Cell(error="#REF!")
        column = book.tables()[L.T_CUSTOMERS].columns[2]
        book.read_table(L.T_CUSTOMERS)
        xs.Calls.count = 0
        book.set_column_values(L.T_CUSTOMERS, column, {r: f"v{r}" for r in range(2, n + 2, 2)})
        return xs.Calls.count, ledger

    small, _ = calls(20)
    large, ledger = calls(200)
    assert small == large == 3  # rows 2-4, 6-8, 10-200: the formula and the error split the column
    assert (ledger.cell(5, 3).formula, ledger.cell(9, 3).error, ledger.read(6, 3)) == ("=B5", "#REF!", "v6")


def test_a_refusal_on_the_ribbon_is_an_alert_naming_why_and_nothing_is_written(tmp_path, flavour, monkeypatch):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    live.sheet(L.FORM).write(1, 2, "飞鸽传书")  # a channel the workbook does not know
    live.sheet(L.CUSTOMERS).range((5, 3)).select()
    before = len(ExcelBook(live).read_table(L.T_CONTACTS))
    macros.log_contact()
    assert len(ExcelBook(live).read_table(L.T_CONTACTS)) == before
    title, prompt = live.app.alerts[-1]
    assert (title, live.app.modes[-1], live.app.status_bar) == ("Log", "critical", False)
    assert "飞鸽传书" in prompt and macros.log_contact.__name__ == "log_contact"


def test_the_doctor_button_reports_in_the_workbooks_language_and_still_reports_when_checks_fail(
        tmp_path, flavour, monkeypatch):
    from pyxl.core.i18n import text

    live = _ribbon(tmp_path, flavour, monkeypatch)  # a zh-CN workbook, open in "Excel" (no ~$ file needed)
    macros.doctor()
    title, report = live.app.alerts[-1]
    assert (title, live.app.status_bar) == ("Doctor", False)
    assert report.splitlines()[0] == "全部 5 项检查通过"  # Linux: the Excel checks are skipped with the reason
    assert f"✔ {text('zh-CN', 'doctor', 'xlwings')}" in report
    assert f"– {text('zh-CN', 'doctor', 'locked')}: {text('zh-CN', 'doctor', 'locked_in_excel')}" in report
    Path(live.fullname).write_bytes(b"")  # the file behind the open workbook is unreadable
    macros.doctor()
    lines = live.app.alerts[-1][1].splitlines()
    assert lines[0].startswith("5 项检查中有 2 项未通过")
    assert lines[2].startswith(f"✘ {text('zh-CN', 'doctor', 'workbook')}: ")
    assert lines[3] == f"    → {text('zh-CN', 'doctor', 'workbook_fix')}"
    assert lines[4:6] == [f"✘ {text('zh-CN', 'doctor', 'xlwings')}: {text('zh-CN', 'doctor', 'xlwings_missing')}",
                          f"    → {text('zh-CN', 'doctor', 'workbook_fix')}"]


def test_the_doctor_button_on_a_workbook_opened_from_onedrive_names_its_url(tmp_path, flavour, monkeypatch):
    from pyxl import doctor
    from pyxl.core.i18n import text

    live = _ribbon(tmp_path, flavour, monkeypatch)
    live.fullname = "https://d.docs.live.net/4f2a/Documents/team.xlsm"  # Excel's FullName for such a workbook
    windows_pc = doctor.System
    monkeypatch.setattr(doctor, "System", lambda: windows_pc(
        platform="win32", env={}, home=tmp_path, exists=lambda p: False, registry=lambda key, name: None,
        stream=lambda path, name: None))
    macros.doctor()
    expected = f"✘ {text('zh-CN', 'doctor', 'onedrive')}: https://d.docs.live.net/4f2a/Documents/team.xlsm"
    report = live.app.alerts[-1][1].splitlines()
    assert expected in report
    assert f"– {text('zh-CN', 'doctor', 'workbook')}: {text('zh-CN', 'doctor', 'web_address')}" in report


def test_the_doctor_button_speaks_english_in_a_workbook_without_its_language_name(tmp_path, flavour, monkeypatch):
    live = _ribbon(tmp_path, flavour, monkeypatch)
    del live.names._names["FU_LANG"]  # a workbook built before the name existed
    macros.doctor()
    assert live.app.alerts[-1][1].splitlines()[0] == "All 5 checks pass"
