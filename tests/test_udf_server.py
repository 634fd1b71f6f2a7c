"""The ribbon with "Use UDF Server" on (what the workbook ships) and off: each press acts on the workbook
whose button was pressed, whether Python is started per press or kept by Excel for the whole session
(the stand-in's ``Session`` models both, after xlwings.bas RunPython)."""
from __future__ import annotations

import shutil
import sys

import pytest
import xlwings

import xlwings_standin as xs
from pyxl.book.xlsx import WorkbookPackage
from pyxl.build.workbook import XLWINGS_CONF
from pyxl.demo import make_demo

from conftest import TODAY

REFRESH = "import pyxl.macros as m; m.refresh()"
CHECK = "import pyxl.macros as m; m.check_tiers()"


@pytest.fixture(params=[True, False], ids=["udf-server", "process-per-press"])
def session(request, monkeypatch) -> xs.Session:
    excel = xs.Session(udf_server=request.param)
    monkeypatch.setattr(xlwings.Book, "caller", staticmethod(excel.caller))
    return excel


def _two_books(tmp_path) -> tuple[xs.Book, xs.Book]:
    first = tmp_path / "alice.xlsm"
    make_demo(first, customers=15, today=TODAY)
    second = shutil.copy(first, tmp_path / "bob.xlsm")
    return xs.Book(first), xs.Book(second)


def test_each_press_acts_on_the_workbook_whose_button_was_pressed(tmp_path, session):
    alice, bob = _two_books(tmp_path)
    session.press(alice, REFRESH)
    assert [t for t, _ in alice.app.alerts] == ["Refresh"] and bob.app.alerts == []
    session.press(bob, CHECK)
    session.press(alice, CHECK)
    assert [t for t, _ in alice.app.alerts] == ["Refresh", "Check"]
    assert [t for t, _ in bob.app.alerts] == ["Check"]
    assert session.processes == (1 if session.udf_server else 3)


def test_the_udf_server_keeps_the_package_imported_and_a_process_per_press_does_not(tmp_path, session):
    alice, _ = _two_books(tmp_path)
    before = sys.modules.get("pyxl.macros")
    seen: list[object] = []
    sys.modules["__main__"].seen = seen  # the pressed command reports the module object it ran
    try:
        for _ in range(2):
            session.press(alice, "import sys, pyxl.macros as m; sys.modules['__main__'].seen.append(m); m.refresh()")
    finally:
        del sys.modules["__main__"].seen
    if session.udf_server:
        assert seen[0] is seen[1]  # imported once: the second press pays no imports
    else:
        assert seen[0] is not seen[1] and sys.modules.get("pyxl.macros") is before
    assert [t for t, _ in alice.app.alerts] == ["Refresh", "Refresh"]


def test_the_workbook_ships_with_the_udf_server_on(tmp_path):
    """One row of the xlwings.conf sheet switches the mode; the built workbook has it on."""
    assert ("Use UDF Server", True) in XLWINGS_CONF
    from pyxl.build.workbook import build_workbook
    rows = WorkbookPackage.open(build_workbook(tmp_path / "b.xlsm")).read_sheet_values("xlwings.conf")
    assert {r[0]: r[1] for r in rows if r and r[0]}["Use UDF Server"] is True
