"""The Agenda's "does not fit" section on real workbooks with more due work than capacity: per owner how many
do not fit and the extra capacity that would place them, that owner's first N customers of the Plan sheet's
list (N: Settings ``agenda_not_fitting``, typed the way a person types it), and a pointer to the Plan sheet,
which keeps the whole list. Expected texts come from ``templates/locales``, not from ``pyxl``."""
from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pyxl.cli import app
from pyxl.demo import make_demo
from support.cells import TEMPLATES, load, sheet_by_role

TODAY = "2026-11-25"  # a Wednesday: the Agenda's plan and `followup plan` are for the same week
LOCALES = {lang: tomllib.loads((TEMPLATES / "locales" / f"{lang}.toml").read_text("utf-8"))
           for lang in ("zh-CN", "en")}
KEY = "agenda_not_fitting"
DEFAULT = 10  # templates/settings.toml


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per language: 400 customers on two owners (about 150 do not fit the week), refreshed, then planned."""
    folder = tmp_path_factory.mktemp("crowded")
    paths = {}
    for lang in ("zh-CN", "en"):
        paths[lang] = folder / f"{lang}.xlsm"
        make_demo(paths[lang], customers=400, owners=2, lang=lang, today=dt.date.fromisoformat(TODAY))
        _run("plan", str(paths[lang]), "--today", TODAY)
    return paths


def _run(*args: str) -> None:
    result = CliRunner().invoke(app, [*args, "--no-backup"])
    assert result.exit_code == 0, result.output


def _copy(crowded: dict[str, Path], lang: str, tmp_path: Path, shown: object = DEFAULT) -> Path:
    """A copy of the crowded book with Settings agenda_not_fitting typed as ``shown`` (None: the row removed, as
    in a workbook built before the setting), refreshed."""
    path = Path(shutil.copy(crowded[lang], tmp_path / "book.xlsm"))
    if shown != DEFAULT:
        wb = openpyxl.load_workbook(path, keep_vba=True)
        ws = sheet_by_role(wb, "shSettings")
        table = ws.tables["tblSettings"]
        row = next(c.row for c in ws["A"] if c.value == KEY)
        if shown is None:
            assert row == ws.max_row or ws.cell(row + 1, 1).value is None  # the last row: the table shrinks
            for col in "ABC":
                ws[f"{col}{row}"] = None
            first, _, last = table.ref.partition(":")
            table.ref = f"{first}:{last.rstrip('0123456789')}{row - 1}"
        else:
            ws[f"B{row}"] = shown
        wb.save(path)
    _run("refresh", str(path), "--today", TODAY)
    return path


def _plan_list(path: Path, lang: str) -> dict[str, list[dict]]:
    """The Plan sheet's "does not fit" rows by owner, in its order."""
    t = LOCALES[lang]
    rows = list(sheet_by_role(load(path), "shPlan").iter_rows(values_only=True))
    header = set(t["unplaced"].values())
    at = next(i for i, r in enumerate(rows) if set(r) - {None} == header)  # not the day lists' headers
    column = {name: i for i, name in enumerate(rows[at]) if name is not None}
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows[at + 1:]:
        if r[2] is None:
            break
        out[r[2]].append({key: r[column[t["unplaced"][key]]] for key in ("customer_id", "why", "best_day",
                                                                          "extra_needed")})
    return out


def _agenda_section(path: Path, lang: str) -> tuple[str, list[tuple]]:
    """The Agenda's "does not fit" section line and the rows after it (columns C onwards)."""
    prefix = LOCALES[lang]["generated"]["not_fitting"].split("{")[0]
    rows = list(sheet_by_role(load(path), "shAgenda").iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith(prefix))
    return rows[at][0], [r[2:] for r in rows[at + 1:]]


def _by_owner(section: list[tuple], t: dict) -> dict[str, dict]:
    """Owner -> its line (owner and text, no name), the customer IDs listed and the "… and K more" line."""
    out: dict[str, dict] = {}
    for owner, second, name, *_ in section:
        if owner == t["unplaced"]["owner"]:
            continue  # the header
        if owner is not None and name is None:
            current = out[owner] = {"line": second, "ids": [], "more": None}
        elif owner is not None:
            assert out and owner == list(out)[-1], f"{second} listed without its owner's line"
            current["ids"].append(second)
        elif second is not None:
            current["more"] = second
    return out


def _expected_line(t: dict, theirs: list[dict]) -> str:
    """The owner's line as the locale words it: how many, and the extra capacity by day. ``extra_needed`` is the
    size of the owner's group needing room on its best day, written on each row of the group: once per group."""
    groups = {(u["best_day"], u["why"] == t["why_unplaced"]["greetings"]): u["extra_needed"]
              for u in theirs if u["extra_needed"]}
    g = t["generated"]
    days = [g["not_fitting_greetings_day" if greeting else "not_fitting_day"].format(
        day=f"{day:%Y-%m-%d} {g['weekdays'][day.weekday()]}", n=n) for (day, greeting), n in sorted(
            groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    line = g["not_fitting_owner"].format(n=len(theirs), extra=sum(groups.values()))
    return line + g["not_fitting_days"].format(days=t["punctuation"]["list"].join(days)) if days else line


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_each_owner_gets_a_count_the_extra_capacity_and_the_first_ten_of_the_plan_list(lang, crowded):
    t = LOCALES[lang]
    path = crowded[lang]
    plan = _plan_list(path, lang)
    total, section = _agenda_section(path, lang)
    assert total == t["generated"]["not_fitting"].format(n=sum(map(len, plan.values())))
    owners = _by_owner(section, t)
    assert list(owners) == list(plan) and len(plan) == 2
    plan_sheet = sheet_by_role(load(path), "shPlan").title
    for owner, theirs in plan.items():
        shown = owners[owner]
        assert len(theirs) > DEFAULT
        assert shown["line"] == _expected_line(t, theirs)
        assert shown["ids"] == [u["customer_id"] for u in theirs[:DEFAULT]]
        assert shown["more"] == t["generated"]["not_fitting_more"].format(n=len(theirs) - DEFAULT, sheet=plan_sheet)


def test_the_extra_capacity_counts_each_days_group_once(crowded):
    """The Plan's extra_needed column summed would count a day's group of k customers k times."""
    plan = _plan_list(crowded["en"], "en")
    owners = _by_owner(_agenda_section(crowded["en"], "en")[1], LOCALES["en"])
    for owner, theirs in plan.items():
        line = owners[owner]["line"]
        assert line == _expected_line(LOCALES["en"], theirs)
        assert str(sum(u["extra_needed"] for u in theirs)) not in line


@pytest.mark.parametrize("lang, shown", [("en", 3), ("zh-CN", 0)])
def test_how_many_are_shown_is_a_team_setting(lang, shown, crowded, tmp_path):
    t = LOCALES[lang]
    path = _copy(crowded, lang, tmp_path, shown)
    plan = _plan_list(crowded[lang], lang)
    _, section = _agenda_section(path, lang)
    owners = _by_owner(section, t)
    assert list(owners) == list(plan)
    for owner, theirs in plan.items():
        assert owners[owner]["line"] == _expected_line(t, theirs)
        assert owners[owner]["ids"] == [u["customer_id"] for u in theirs[:shown]]
        assert (owners[owner]["more"] is None) == (shown == 0)
    assert (t["unplaced"]["owner"] in {r[0] for r in section}) == bool(shown)  # no header without customers


def test_a_workbook_without_the_setting_row_shows_the_default(crowded, tmp_path):
    path = _copy(crowded, "en", tmp_path, None)
    settings = sheet_by_role(load(path), "shSettings")
    assert KEY not in {c.value for c in settings["A"]}
    checks = sheet_by_role(load(path), "shChecks")
    assert not [r for r in checks.iter_rows(values_only=True) if r[2] and str(r[2]).startswith(settings.title)]
    plan = _plan_list(crowded["en"], "en")
    owners = _by_owner(_agenda_section(path, "en")[1], LOCALES["en"])
    assert {o: v["ids"] for o, v in owners.items()} == {o: [u["customer_id"] for u in v[:DEFAULT]] for o, v in plan.items()}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_plan_lists_every_customer_under_the_day_lists_columns_of_the_same_meaning(crowded, lang):
    """The Plan sheet keeps the day lists' column widths: its "does not fit" list puts owner, ID, name and tier
    under the day lists' own columns (not a 6-wide "#" column and a name cut at 8)."""
    t = LOCALES[lang]
    rows = list(sheet_by_role(load(crowded[lang]), "shPlan").iter_rows(values_only=True))
    day_header = next(r for r in rows if t["agenda"]["name"] in r)
    list_header = next(r for r in rows if set(r) - {None} == set(t["unplaced"].values()))
    for key in ("owner", "customer_id", "name", "tier"):
        assert list_header.index(t["unplaced"][key]) == day_header.index(t["agenda"][key]), key
    assert sum(len(v) for v in _plan_list(crowded[lang], lang).values()) > 100
