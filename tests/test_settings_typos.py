"""Typos on the Settings and Rules sheets, typed the way a person types them (openpyxl standing in for a
spreadsheet), then the ``followup`` command: never a traceback. Each typo is a flag on the Checks sheet naming
the typed cell, in the workbook's language, with what the run used instead, and the run goes on; where
nothing can be computed (the Rules table emptied) one message naming the cell, exit code 2, the file as it was.
The expected texts come from ``templates/locales`` (``[input]``), not from ``pyxl``.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl.cli import app
from pyxl.demo import make_demo
from support.cells import TEMPLATES, changed_cells, ledger_headers, load, sheet_by_role, typed_cells

TODAY = "2026-11-23"
LOCALES = {lang: tomllib.loads((TEMPLATES / "locales" / f"{lang}.toml").read_text("utf-8"))
           for lang in ("zh-CN", "en")}


@dataclass(frozen=True)
class Typo:
    sheet: str  # the sheet's codeName
    cell: str
    value: object
    expected: str  # the [input] key of what the cell should hold
    lang: str = "en"
    also: tuple[tuple[str, object], ...] = ()  # other cells of the row typed first (e.g. the owner's name)


TYPOS = {
    "unknown_country": Typo("shSettings", "B4", "XX", "country"),
    "unknown_subdivision": Typo("shSettings", "B5", "ZZ", "subdivision", "zh-CN"),
    "text_in_number_setting": Typo("shSettings", "B8", "forty", "whole_number", "zh-CN"),
    "as_of_year_9999": Typo("shSettings", "B2", dt.datetime(9999, 12, 31), "as_of_date"),
    "negative_load": Typo("shSettings", "B9", "-5,35,25,15,10,5,0", "load_pattern", "zh-CN"),
    "negative_owner_capacity": Typo("shSettings", "G2", -3, "whole_number", also=(("E2", "Alice"),)),
    "text_owner_capacity": Typo("shSettings", "G2", "twenty", "whole_number", "zh-CN", also=(("E2", "张伟"),)),
    "time_block_25_99": Typo("shSettings", "W3", "25:99", "time"),
    "holiday_as_text": Typo("shSettings", "J2", "国庆", "date", "zh-CN"),
    "text_in_rules_number": Typo("shRules", "J5", "many", "number"),
    "min_above_max": Typo("shRules", "E5", 9, "min", "zh-CN"),
    "text_in_rule_parameter": Typo("shRules", "U2", "three", "whole_number"),
    "text_in_agenda_not_fitting": Typo("shSettings", "B24", "ten", "whole_number"),
    "negative_agenda_not_fitting": Typo("shSettings", "B24", -1, "whole_number", "zh-CN"),
}


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("typos")
    paths = {lang: folder / f"{lang}.xlsm" for lang in ("zh-CN", "en")}
    for lang, path in paths.items():
        make_demo(path, customers=12, lang=lang, today=dt.date.fromisoformat(TODAY))
    return paths


def _typed(demos: dict[str, Path], typo: Typo, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the demo with the typo typed; returns it and the typed cell as Sheet!A1."""
    path = Path(shutil.copy(demos[typo.lang], tmp_path / "book.xlsm"))
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = sheet_by_role(wb, typo.sheet)
    for cell, value in (*typo.also, (typo.cell, typo.value)):
        ws[cell] = value
    wb.save(path)
    return path, f"{ws.title}!{typo.cell}"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"traceback: {result.exception!r}\n{result.output[-1500:]}"
    return result.exit_code, result.output


def _checks_rows(path: Path) -> list[tuple]:
    ws = sheet_by_role(load(path), "shChecks")
    return [row for row in ws.iter_rows(values_only=True) if row and len(row) > 5]


@pytest.mark.parametrize("name", TYPOS)
def test_a_typo_is_a_flag_on_its_cell_and_the_run_goes_on(name: str, demos: dict[str, Path], tmp_path: Path):
    typo = TYPOS[name]
    path, cell = _typed(demos, typo, tmp_path)
    before = typed_cells(path)
    # the year-9999 as-of date is only read when no --today overrides it
    today = [] if typo.expected == "as_of_date" else ["--today", TODAY]

    code, output = _run("refresh", str(path), *today)
    assert code == 0, output
    expected = LOCALES[typo.lang]["input"][typo.expected]
    messages = [row[5] for row in _checks_rows(path) if row[2] == cell]
    assert len(messages) == 1 and expected in messages[0], (cell, messages)
    assert not changed_cells(before, typed_cells(path), ledger_headers(path))

    code, output = _run("check", str(path), *today, "--json")
    assert code == 1
    flagged = [f for f in json.loads(output)["flags"] if f["cell"] == cell]
    assert [f["severity"] for f in flagged] == ["error"] and expected in flagged[0]["message"]

    code, output = _run("plan", str(path), *today)
    assert code == 0, output
    assert not changed_cells(before, typed_cells(path), ledger_headers(path))


def test_a_setting_typo_says_which_default_is_used(demos: dict[str, Path], tmp_path: Path):
    path, cell = _typed(demos, TYPOS["text_in_number_setting"], tmp_path)
    _run("refresh", str(path), "--today", TODAY)
    [message] = [row[5] for row in _checks_rows(path) if row[2] == cell]
    assert "forty" in message and message.endswith("40")  # the default of templates/settings.toml


def test_the_run_uses_the_defaults_instead_of_the_typos(tmp_path: Path):
    """Country XX: the Chinese calendar still applies (National Day week off); a block 25:99: the other
    blocks are planned. The demo is made on the Monday of that week, so customers are due in it."""
    path = tmp_path / "book.xlsm"
    make_demo(path, customers=12, lang="en", today=dt.date(2026, 9, 28))
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = sheet_by_role(wb, "shSettings")
    ws["B4"], ws["W3"] = "XX", "25:99"
    wb.save(path)
    code, output = _run("plan", str(path), "--week", "2026-W40", "--today", "2026-09-28")
    assert code == 0, output
    plan = sheet_by_role(load(path), "shPlan")
    days = {c for row in plan.iter_rows(values_only=True) for c in row if isinstance(c, dt.datetime)}
    assert not {d.date() for d in days} & {dt.date(2026, 10, d) for d in range(1, 8)}
    blocks = {c for row in plan.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert "Chase 1–2" not in blocks and "Tiers 3–4" in blocks


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_emptied_rules_table_is_one_message_and_the_file_untouched(lang: str, demos: dict[str, Path],
                                                                      tmp_path: Path):
    path = Path(shutil.copy(demos[lang], tmp_path / "book.xlsm"))
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = sheet_by_role(wb, "shRules")
    for row in ws["A2:R12"]:
        for c in row:
            c.value = None
    wb.save(path)
    typed = path.read_bytes()
    for command in ("refresh", "plan", "check"):
        code, output = _run(command, str(path), "--today", TODAY)
        assert code == 2, output
        assert f"{ws.title}!A2" in output and output.count("followup:") == 1, output
        assert path.read_bytes() == typed
    assert ("规则表" in output) == (lang == "zh-CN")
