"""Issue 19.9: one language per workbook in everything the tool writes.

A demo workbook in each language goes through refresh, plan (with --ics), endofday, export and rollup; every
text cell of every sheet the tool writes (the workbook, the manager copy, the team workbook) and every
summary and description of the .ics are scanned for words of the other language. What is not the tool's
wording is taken out first: customer data (the typed columns of the ledger and the contact log, the
Settings values the demo typed), and codes — IDs, e-mails, file names, dates, Checks rule ids, Settings keys,
Rules parameter names, tier aliases and a stage's two names (both languages on purpose). The Rules and
Sequences seed rows' units, KP rules and channels are the tool's wording and scanned like the rest.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import icalendar
import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl.cli import app
from pyxl.core.i18n import texts
from pyxl.core.schema import fields
from pyxl.demo import DEMO_COMPANY, make_demo

TODAY = dt.date(2026, 9, 28)  # the Monday before National Day: holiday greetings on the plan
TOOL_INTERNAL = {"shStyles", "shForm"}  # very hidden, machine-read; xlwings.conf has no codeName
OTHER_LANGUAGE = {"zh-CN": re.compile(r"(?<![A-Za-z])[A-Za-z]{3,}(?![A-Za-z])"),  # an English word
                  "en": re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")}  # a Chinese character
CODES = re.compile(r"[\w.+-]+@[\w.-]+|\S*\.(?:xlsm|xlsx|bak|ics)\b|\bBOOK\b|\b[A-Z]{2,}\d+\b|\d{4}-W\d\d"
                   r"|\b(?:Excel|Outlook|KP|WeChat)\b")
# columns whose cells are codes or bilingual on purpose: (codeName, field key or Settings/Rules key column)
CODE_COLUMNS = {"shChecks": ("rule",), "shSettings": ("key",),
                "shRules": ("code", "aliases", "parameter", "name_zh", "name_en")}


def _run(lang: str, folder: Path) -> dict[str, Path]:
    book = folder / "book.xlsm"
    make_demo(book, customers=40, lang=lang, today=TODAY)
    out = {"book": book, "copy": folder / "copy.xlsx", "team": folder / "team.xlsx", "ics": folder / "week.ics"}
    day = ["--today", TODAY.isoformat()]
    for args in (["refresh", book, *day], ["plan", book, *day, "--ics", out["ics"]], ["endofday", book, *day],
                 ["export", book, "-o", out["copy"]], ["rollup", book, "-o", out["team"], *day]):
        result = CliRunner().invoke(app, [str(a) for a in args])
        assert result.exit_code in (0, 1), result.output
    return out


def _customer_data(book: Path, lang: str) -> re.Pattern:
    """Every value people typed (typed and synced columns of the ledger and the contact log), longest first."""
    wb = openpyxl.load_workbook(book)
    values = set(DEMO_COMPANY[lang].values())
    for table, code in (("ledger", "shCustomers"), ("contacts", "shContacts")):
        ws = next(ws for ws in wb.worksheets if ws.sheet_properties.codeName == code)
        theirs = {f.label(lang) for f in fields(table) if f.kind != "computed"}
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2, values_only=True):
            values.update(str(v) for h, v in zip(header, row) if v is not None and (h in theirs or h not in
                                                                                  _labels(table, lang)))
    values = sorted((v for v in values if len(v) >= 2), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, values)))


def _labels(table: str, lang: str) -> set[str]:
    return {f.label(lang) for f in fields(table)}


def _code_columns(ws, lang: str) -> set[int]:
    keys = CODE_COLUMNS.get(ws.sheet_properties.codeName, ())
    if not keys:
        return set()
    t = texts(lang)
    names = {"rule": t["checks_sheet"]["rule"], "key": t["tables"]["settings"][0], "parameter": t["tables"]["params"][0]}
    wanted = {names.get(k) for k in keys} - {None}
    # the Rules sheet's tier and stage tables share keys (code, aliases, unit); a stage has a name in each language
    wanted |= {f.label(lang) for table in ("rules", "stages") for f in fields(table) if f.key in keys}
    return {c.column for row in ws.iter_rows() for c in row if c.value in wanted}  # the header, wherever it is


def _foreign_words(out: dict[str, Path], lang: str) -> list[str]:
    data, other = _customer_data(out["book"], lang), OTHER_LANGUAGE[lang]
    found = []

    def scan(where: str, text: str) -> None:
        left = CODES.sub(" ", data.sub(" ", text))
        if other.search(left):
            found.append(f"{where}: {text[:90]!r}")

    for name in ("book", "copy", "team"):
        for ws in openpyxl.load_workbook(out[name]).worksheets:
            code = ws.sheet_properties.codeName
            if code in TOOL_INTERNAL or ws.title == "xlwings.conf":
                continue
            skip = _code_columns(ws, lang)
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.column not in skip:
                        scan(f"{out[name].name} {ws.title}!{cell.coordinate}", cell.value)
    for event in icalendar.Calendar.from_ical(out["ics"].read_bytes()).walk("VEVENT"):
        for part in ("SUMMARY", "DESCRIPTION"):
            scan(f"week.ics {part}", str(event.get(part, "")))
    return found


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_nothing_the_tool_writes_is_in_the_other_language(lang, tmp_path):
    out = _run(lang, tmp_path)
    found = _foreign_words(out, lang)
    assert not found, f"{len(found)} cells in the other language:\n" + "\n".join(sorted(set(found))[:40])
