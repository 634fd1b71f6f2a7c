"""The ``followup`` command: every ribbon action headless on the .xlsm file, on any OS, without Excel.

Each command parses its options, calls one function of ``actions``/``build``/``export`` and prints a
summary; errors become a clear message and a non-zero exit code (1 = check errors, 2 = cannot run).
"""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import actions, demo as demo_mod, export as export_mod
from .book.xlsx import WorkbookPackage
from .build.workbook import build_workbook
from .core.calendar import parse_week
from .core.errors import FollowupError
from .core.i18n import texts
from .core.ical import plan_to_ics

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  help="客户跟进 followup: customer follow-up on an Excel workbook, headless.")
console = Console()
err = Console(stderr=True)

Book = Annotated[Path, typer.Argument(help="The workbook (.xlsm) to work on.", exists=True, dir_okay=False)]
Today = Annotated[Optional[str], typer.Option(help="As-of date YYYY-MM-DD (default: Settings, else today).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
NoBackup = Annotated[bool, typer.Option("--no-backup", help="Do not keep BOOK.bak.")]


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-11-23") from None


@contextmanager
def _headless(path: Path, no_backup: bool = False, save: bool = True) -> Iterator[WorkbookPackage]:
    """Open the file, run the action, save atomically only when it succeeded."""
    try:
        with err.status(f"{path.name} …"):
            book = WorkbookPackage.open(path)
            yield book
            if save:
                book.save(backup=not no_backup)
    except (FollowupError, ValueError, KeyError) as exc:
        err.print(f"[bold red]followup:[/] {exc}")
        raise typer.Exit(2) from None


def _summary(outcome: actions.Outcome, as_json: bool, title: str) -> None:
    if as_json:
        payload = {"summary": outcome.summary, "files": outcome.files}
        if outcome.flags is not None:
            payload["flags"] = outcome.flags[["severity", "rule", "cell", "message", "suggested_tier"]].to_dict("records")
        console.print_json(json.dumps(payload, ensure_ascii=False, default=str))
        return
    labels = texts(outcome.lang)["summary"]
    table = Table(title=title, show_header=False)
    for key, value in outcome.summary.items():
        table.add_row(labels.get(key, key), str(value))
    console.print(table)
    for path in outcome.files:
        console.print(f"wrote {path}")


def _flags_table(outcome: actions.Outcome, limit: int = 40) -> None:
    flags = outcome.flags
    if flags is None or flags.empty:
        return
    table = Table(show_lines=False)
    for col in ("severity", "cell", "message"):
        table.add_column(col)
    colour = {"error": "red", "warning": "yellow", "suggestion": "cyan"}
    for f in flags.sort_values("severity", key=lambda s: s.map({"error": 0, "warning": 1, "suggestion": 2}),
                               kind="stable").head(limit).itertuples():
        table.add_row(f"[{colour[f.severity]}]{f.severity}[/]", f.cell, f.message)
    console.print(table)
    if len(flags) > limit:
        console.print(f"… and {len(flags) - limit} more on the Checks sheet")


@app.command()
def new(path: Path, lang: Annotated[str, typer.Option(help="zh-CN or en")] = "zh-CN",
        preset: Annotated[str, typer.Option(help="maturity or abc")] = "maturity",
        force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False) -> None:
    """Create a fresh workbook.  Example: followup new team.xlsm --lang en --preset abc"""
    if path.exists() and not force:
        err.print(f"[bold red]followup:[/] {path} exists; use --force to overwrite")
        raise typer.Exit(2)
    console.print(f"wrote {build_workbook(path, lang, preset)}")


@app.command("build-workbook")
def build(out: Annotated[Path, typer.Option("-o", help="Where to write.")] = Path("workbook/followup.xlsm"),
          lang: str = "zh-CN", preset: str = "maturity") -> None:
    """Rebuild the product workbook from the sources (reproducible byte for byte)."""
    console.print(f"wrote {build_workbook(out, lang, preset)}")


@app.command()
def demo(path: Annotated[Path, typer.Argument(help="Where to write the demo workbook.")] = Path("demo/followup-demo.xlsm"),
         customers: int = 120, lang: str = "zh-CN", today: Today = None) -> None:
    """A fresh workbook with sample customers and a 90-day contact history, refreshed.

    Example: followup demo demo.xlsm --customers 300"""
    outcome = demo_mod.make_demo(path, customers, lang, _date(today))
    _summary(outcome, False, f"demo: {path}")
    _flags_table(outcome, limit=10)


@app.command()
def refresh(book: Book, today: Today = None, as_json: AsJson = False, no_backup: NoBackup = False) -> None:
    """Compute Earliest/Due/Status/Checks, write the Agenda, Checks and Dashboard sheets.

    Example: followup refresh team.xlsm --today 2026-11-23"""
    with _headless(book, no_backup) as wb:
        outcome = actions.refresh(wb, _date(today))
    _summary(outcome, as_json, f"refresh {book.name}")


@app.command()
def check(book: Book, today: Today = None, as_json: AsJson = False, no_backup: NoBackup = False) -> None:
    """Check tiers and data; list every flag with its Sheet!cell. Exit 1 when there are errors."""
    with _headless(book, no_backup) as wb:
        outcome = actions.check(wb, _date(today))
    if as_json:
        _summary(outcome, True, "")
    else:
        _flags_table(outcome)
        _summary(outcome, False, f"check {book.name}")
    raise typer.Exit(1 if outcome.errors else 0)


@app.command()
def plan(book: Book, week: Annotated[Optional[str], typer.Option(help="ISO week, e.g. 2026-W48.")] = None,
         today: Today = None, ics: Annotated[Optional[Path], typer.Option(help="Also write an iCalendar file.")] = None,
         ics_per: Annotated[str, typer.Option(help="customer or block")] = "customer",
         no_backup: NoBackup = False) -> None:
    """Plan the week within each owner's capacity (Plan sheet; --ics for Outlook/phones)."""
    if week:
        try:
            parse_week(week)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    with _headless(book, no_backup) as wb:
        outcome, result = actions.weekly_plan(wb, week, _date(today))
    if ics:
        ics.write_bytes(plan_to_ics(result.entries, per=ics_per))
        outcome.files.append(str(ics))
    _summary(outcome, False, f"plan {book.name}")
    _flags_table(outcome)


@app.command()
def log(book: Book, id: Annotated[str, typer.Option("--id", help="Customer ID.")],
        channel: Annotated[str, typer.Option(help="phone / sms / email / visit / wechat (or 电话 …)")] = "phone",
        reached: Annotated[str, typer.Option(help="yes / no")] = "yes",
        outcome: Annotated[Optional[str], typer.Option(help="progress / considering / refused / deal")] = None,
        agreed: Annotated[Optional[str], typer.Option(help="Agreed next date YYYY-MM-DD.")] = None,
        note: str = "", tier: Annotated[Optional[str], typer.Option(help="New tier after this touch.")] = None,
        step: Annotated[Optional[str], typer.Option(help="The playbook step this touch does.")] = None,
        event: Annotated[Optional[str], typer.Option(
            help="A milestone: visit / signed / completed / reply / refused (or 到访 …)")] = None,
        hard_call: Annotated[bool, typer.Option("--hard-call", help="Ask for a colleague on the next step.")] = False,
        today: Today = None, no_backup: NoBackup = False) -> None:
    """Log a touch, then refresh.  Example: followup log team.xlsm --id JRN01001 --reached no"""
    with _headless(book, no_backup) as wb:
        result = actions.log_contact(wb, id, channel, reached, outcome, _date(agreed), note, new_tier=tier,
                                     today=_date(today), step=step, event=event, hard_call=hard_call)
    _summary(result, False, f"log {book.name}")


@app.command()
def endofday(book: Book, today: Today = None, no_backup: NoBackup = False) -> None:
    """Refresh, then the daily report (日报): today vs plan and targets, carried-over customers, tomorrow.

    Example: followup endofday team.xlsm --today 2026-11-23"""
    with _headless(book, no_backup) as wb:
        outcome = actions.end_of_day(wb, _date(today))
    _summary(outcome, False, f"endofday {book.name}")


@app.command()
def ids(book: Book, no_backup: NoBackup = False) -> None:
    """Give a customer ID to every ledger row without one (e.g. JRN01001)."""
    with _headless(book, no_backup) as wb:
        outcome = actions.new_customer_ids(wb)
    _summary(outcome, False, f"ids {book.name}")


@app.command()
def export(book: Book, mask: Annotated[bool, typer.Option(help="Mask phone, email and WeChat.")] = False,
           pdf: Annotated[bool, typer.Option(help="Also render Dashboard and Plan to PDF (LibreOffice).")] = False,
           out: Annotated[Optional[Path], typer.Option("-o", help="Output .xlsx path.")] = None) -> None:
    """Write a macro-free .xlsx copy for a manager (values, colours and charts kept)."""
    try:
        outcome = export_mod.manager_copy(book, out, mask=mask, pdf=pdf)
    except (FollowupError, ValueError) as exc:
        err.print(f"[bold red]followup:[/] {exc}")
        raise typer.Exit(2) from None
    _summary(outcome, False, f"export {book.name}")


@app.command()
def rollup(books: Annotated[list[Path], typer.Argument(help="The owners' workbooks (.xlsm/.xlsx).", exists=True,
                                                       dir_okay=False)],
           out: Annotated[Path, typer.Option("-o", "--out", help="The team workbook to write (.xlsx).")],
           today: Today = None, as_json: AsJson = False,
           workers: Annotated[Optional[int], typer.Option(
               help="Processes reading the books (default 1: a pool did not pay on 2 cores).")] = None) -> None:
    """Merge owners' workbooks into one macro-free team workbook: ledgers and logs with their source file,
    duplicate customers across owners (撞单) flagged, one team dashboard. Rules and settings come from the
    first workbook.

    Example: followup rollup 张伟.xlsm 李娜.xlsm 王磊.xlsm -o team.xlsx"""
    from . import rollup as rollup_mod
    try:
        outcome = rollup_mod.rollup(books, out, today=_date(today), workers=workers)
    except (FollowupError, ValueError, KeyError) as exc:
        err.print(f"[bold red]followup:[/] {exc}")
        raise typer.Exit(2) from None
    _summary(outcome, as_json, f"rollup → {out.name}")


@app.command("import")
def import_(sources: Annotated[list[Path], typer.Argument(help="Files to import: .xlsx .xlsm .xls .csv (UTF-8, GBK).",
                                                         dir_okay=False)],
            into: Annotated[Path, typer.Option("--into", help="The workbook to import into.", exists=True,
                                               dir_okay=False)],
            dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
            sheet: Annotated[Optional[str], typer.Option(help="Sheet to read (name or number; default: the one "
                                                              "that looks most like a ledger).")] = None,
            map_: Annotated[Optional[list[str]], typer.Option("--map", help='"Source col=Field" (repeatable; '
                                                              "remembered in BOOK.import-map.json; Field - ignores).")] = None,
            overwrite: Annotated[bool, typer.Option("--overwrite", help="Let the source replace non-blank cells "
                                                    "(default: fill blanks only, report conflicts).")] = False,
            kind: Annotated[str, typer.Option(help="auto, ledger (customers) or log (contacts).")] = "auto",
            today: Today = None, as_json: AsJson = False, no_backup: NoBackup = False) -> None:
    """Import customers or a call log from other systems' exports, merged without duplicates, then refresh.

    Example: followup import crm.xlsx calls.csv --into team.xlsm --map "Sales Agent=owner" --dry-run"""
    from . import importer
    try:
        report = importer.run_import(into, sources, dry_run=dry_run, sheet=sheet, maps=map_ or [],
                                     overwrite=overwrite, kind=kind, today=_date(today), backup=not no_backup)
    except (FollowupError, ValueError, KeyError, OSError) as exc:
        err.print(f"[bold red]followup:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        importer.print_report(report, console)


def main() -> None:
    app()
