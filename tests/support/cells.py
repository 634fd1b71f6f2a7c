"""Every cell a person typed, read independently of the tool, and the check that none of them changed.

"Tool cells" are the ledger's computed (grey-headed) columns and the generated sheets (Agenda, Plan,
Checks, Dashboard, Daily report and the hidden _styles/_form); everything else in the workbook is typed
by people. Sheets are found by codeName, else by the tool's table, else by their name in either language,
so the functions also work on files saved by programs that drop codeNames (LibreOffice).
The field lists come from ``templates/schema.toml`` and ``templates/locales``, not from ``pyxl``.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SCHEMA = tomllib.loads((TEMPLATES / "schema.toml").read_text("utf-8"))
SHEET_NAMES = {lang: tomllib.loads((TEMPLATES / "locales" / f"{lang}.toml").read_text("utf-8"))["sheets"]
               for lang in ("zh-CN", "en")}

GENERATED = {"shAgenda": "agenda", "shPlan": "plan", "shChecks": "checks", "shDashboard": "dashboard",
             "shReport": "report", "shStyles": "_styles", "shForm": "_form"}
TOOL_TABLES = {"shCustomers": "tblCustomers", "shContacts": "tblContacts", "shRules": "tblRules",
               "shSequences": "tblSequences", "shSettings": "tblSettings"}


def _labels(section: str, kind: str) -> set[str]:
    return {f[lang] for f in SCHEMA[section] if f["kind"] == kind for lang in ("zh", "en")}


COMPUTED_HEADERS = _labels("ledger", "computed")
SYNCED_HEADERS = _labels("ledger", "synced") | {f[lang] for f in SCHEMA["ledger"] if f["key"] == "tier"
                                                for lang in ("zh", "en")}
ERROR_VALUES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}


@dataclass(frozen=True)
class Cell:
    sheet: str
    a1: str
    value: object
    formula: str | None = None


def role_of(ws: Worksheet) -> str | None:
    """The tool's codeName for this sheet (shCustomers, shAgenda …), found without relying on codeNames."""
    code = ws.sheet_properties.codeName
    if code in GENERATED or code in TOOL_TABLES or code == "shXlwingsConf":
        return code
    for code, table in TOOL_TABLES.items():
        if table in ws.tables:
            return code
    for code, key in GENERATED.items():
        if ws.title == key or any(ws.title == names.get(key) for names in SHEET_NAMES.values()):
            return code
    return None


def sheet_by_role(wb: openpyxl.Workbook, code: str) -> Worksheet:
    for ws in wb.worksheets:
        if role_of(ws) == code:
            return ws
    raise KeyError(f"no sheet for {code}; have {wb.sheetnames}")


def computed_columns(ws: Worksheet) -> set[int]:
    """Column numbers of the ledger's computed fields (by their header on row 1)."""
    return {c.column for c in ws[1] if isinstance(c.value, str) and c.value.strip() in COMPUTED_HEADERS}


def load(path: Path, data_only: bool = False) -> openpyxl.Workbook:
    """The workbook as openpyxl reads it, loaded once per version of the file (treat it as read-only)."""
    stat = Path(path).stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size, data_only)


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime: int, _size: int, data_only: bool) -> openpyxl.Workbook:
    with warnings.catch_warnings():  # openpyxl drops x14 validations it cannot read: not cells
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(path, data_only=data_only)


def typed_cells(path: Path) -> dict[tuple[str, str], Cell]:
    """Every non-blank cell a person may have typed: (sheet, A1) -> value and formula (``=…`` or None)."""
    formulas, values = load(path), load(path, data_only=True)
    cells: dict[tuple[str, str], Cell] = {}
    for ws in formulas.worksheets:
        if role_of(ws) in GENERATED:
            continue
        skip = computed_columns(ws) if role_of(ws) == "shCustomers" else set()
        shown = values[ws.title]
        for row in ws.iter_rows():
            for c in row:
                if c.value is None or c.column in skip:
                    continue
                formula = c.value if isinstance(c.value, str) and c.value.startswith("=") else None
                value = shown[c.coordinate].value if formula else c.value
                cells[(ws.title, c.coordinate)] = Cell(ws.title, c.coordinate, value, formula)
    return cells


def _tool_may_advance(before: Cell, after: Cell, header: object) -> bool:
    """A synced cell (Last contact, counters, Tier …) may follow the log: from a value the tool itself
    writes (a date, a count, a tier code) to another. Text it cannot read, an error or a formula may not."""
    if not (isinstance(header, str) and header.strip() in SYNCED_HEADERS) or before.formula:
        return False
    if isinstance(before.value, str) and (before.value in ERROR_VALUES or not re.fullmatch(r"\w{1,3}", before.value)):
        return False
    return isinstance(before.value, (dt.date, int, float, str)) and type(after.value) is type(before.value)


def changed_cells(before: dict[tuple[str, str], Cell], after: dict[tuple[str, str], Cell],
                  headers: dict[tuple[str, str], object] | None = None, formulas: bool = True) -> list[str]:
    """Typed cells that are gone or differ; ``headers`` maps a ledger cell to its column header so synced
    cells may move forward as the log says (see ``_tool_may_advance``)."""
    problems = []
    for key, old in before.items():
        new = after.get(key)
        if new is not None and new.value == old.value and (not formulas or new.formula == old.formula):
            continue
        if new is not None and headers and _tool_may_advance(old, new, headers.get(key)):
            continue
        problems.append(f"{key[0]}!{key[1]}: {old.value!r}{f' ({old.formula})' if old.formula else ''}"
                        f" -> {'gone' if new is None else repr(new.value)}"
                        f"{f' ({new.formula})' if new is not None and new.formula else ''}")
    return problems


def ledger_headers(path: Path) -> dict[tuple[str, str], object]:
    """(sheet, A1) of every ledger cell -> its column's header, for ``changed_cells``."""
    ws = sheet_by_role(load(path), "shCustomers")
    header = {c.column_letter: c.value for c in ws[1]}
    return {(ws.title, c.coordinate): header.get(c.column_letter)
            for row in ws.iter_rows(min_row=2) for c in row}


def assert_untouched(before: dict[tuple[str, str], Cell], after: dict[tuple[str, str], Cell],
                     headers: dict[tuple[str, str], object] | None = None, formulas: bool = True) -> None:
    problems = changed_cells(before, after, headers, formulas)
    assert not problems, f"{len(problems)} typed cell(s) changed:\n" + "\n".join(problems[:20])
