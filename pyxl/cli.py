"""The ``followup`` command: every ribbon action headless on the .xlsm file, on any OS, without Excel.

Each command parses its options, calls one function of ``actions``/``build``/``export`` and prints a
summary. ``_Followup.invoke`` (and its ``parse_args``, for a parsing error before the command is chosen)
is the one place errors become a one-line message and an exit code (``core.errors``): 0 done, 1 checks
found errors, 2 refused or bad input, 3 busy, 4 internal error.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import traceback
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Mapping, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from . import actions, cli_words, files
from .book.base import language
from .book.xlsx import WorkbookPackage
from .core.calendar import parse_week
from .core.errors import CHECK_ERRORS, DONE, INTERNAL, REFUSED, FollowupError
from .core.i18n import text, texts
from .core.ical import plan_to_ics
from .core.rules import PRESETS
from .core.schema import LANGS, vocabulary

if TYPE_CHECKING:  # export (the masked copy's reader) and the importer are imported by their commands only
    from . import importer

DEFAULT_LANG = LANGS[0]
_BOOK, _LANG = "followup.book", "followup.lang"  # ctx.meta keys: what a message's language is taken from


class Refusal(FollowupError):
    """A bad argument; the CLI tells it in the language of the workbook it is about."""

    def __init__(self, key: str, **args: object) -> None:
        self.key, self.values = key, args
        super().__init__(self.message(DEFAULT_LANG))

    def message(self, lang: str) -> str:
        return text(lang, "cli", self.key, **self.values)


class _Followup(TyperGroup):
    """Runs a command; the one place a refusal or a crash becomes one line on stderr and an exit code.
    Its help and each command's are the locale's (``[cli_help]``) in ``help_language``; a command's
    docstring is its example."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lang = help_language(os.environ)
        t = texts(lang)["cli_help"]
        self.help = t["app"]
        for name, command in self.commands.items():
            example = (command.help or "").removeprefix("Example: ")
            command.help = f"{t[name]}\n\n{t['example']} {example}"
        cli_words.localize(self, lang)  # options' help, usage line, panels and parsing errors

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args:  # `followup` alone: its help (no_args_is_help)
            return super().parse_args(ctx, args)
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # before a command is chosen: `followup --bogus`
            _fail(cli_words.parsing_error(exc), REFUSED)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            _fail(cli_words.unknown_command(args[0]), REFUSED)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except typer.TyperException as exc:  # parsing: an unknown option, a missing argument, not a number
            _fail(cli_words.parsing_error(exc), REFUSED)
        except Refusal as exc:
            _fail(exc.message(_language(ctx)), exc.exit_code)
        except FollowupError as exc:
            _fail(str(exc), exc.exit_code)
        except Exception:  # noqa: BLE001 - a bug: keep the traceback in a report, say one line
            _fail(text(_language(ctx), "cli", "internal", error=_last_line(), report=_write_report()), INTERNAL)


def help_language(env: Mapping[str, str]) -> str:
    """The language of the command's help: FOLLOWUP_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG): zh… is
    zh-CN, another language en; nothing set (or C/POSIX): zh-CN."""
    for key in ("FOLLOWUP_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "").strip()
        if value and value.split(".")[0] not in ("C", "POSIX"):
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return DEFAULT_LANG


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"followup: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def _language(ctx: typer.Context) -> str:
    """The language of the workbook the command is about (its Settings), else the --lang given, else zh-CN."""
    if ctx.meta.get(_LANG) in LANGS:
        return ctx.meta[_LANG]
    path = ctx.meta.get(_BOOK)
    if path is not None and Path(path).is_file():
        try:
            return language(WorkbookPackage.open(path))
        except Exception:  # noqa: BLE001 - an unreadable workbook is told about in the default language
            pass
    return DEFAULT_LANG


def _last_line() -> str:
    return traceback.format_exc().strip().splitlines()[-1][:200]


def _write_report() -> str:
    """The traceback in a file under the temp folder; its path (or why there is none)."""
    try:
        folder = Path(tempfile.gettempdir()) / "followup-reports"
        folder.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{dt.datetime.now():%Y%m%d-%H%M%S}-", suffix=".txt", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"followup {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}")
        return name
    except OSError as exc:
        return f"- ({exc})"


def _remember(key: str):
    """A parameter callback noting the workbook (or language) the command's messages are told in."""
    def callback(ctx: typer.Context, value: object) -> object:
        if value:
            ctx.meta.setdefault(key, value[0] if isinstance(value, list) else value)
        return value
    return callback


app = typer.Typer(cls=_Followup, add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)

# Help texts of options and arguments: [cli_options] of the locales (cli_words.localize).
Book = Annotated[Path, typer.Argument(exists=True, dir_okay=False, callback=_remember(_BOOK))]
Today = Optional[str]
AsJson = Annotated[bool, typer.Option("--json")]
NoBackup = Annotated[bool, typer.Option("--no-backup")]
Lang = Annotated[str, typer.Option(callback=_remember(_LANG))]
Preset = str
Force = Annotated[bool, typer.Option("--force")]


def _date(value: str | None, option: str = "--today") -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Refusal("bad_date", option=option, value=value) from None


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise Refusal("bad_choice", option=option, value=value, choices=" / ".join(choices))
    return value


@contextmanager
def _headless(path: Path, no_backup: bool = False, save: bool = True) -> Iterator[WorkbookPackage]:
    """Open the file, run the action, save atomically only when it succeeded; from read to replace the
    workbook's lock file is held (a second writer waits, then is refused)."""
    with err.status(f"{path.name} …"), files.writer_lock(path, on_wait=err.print):
        book = WorkbookPackage.open(path)
        yield book
        if save:
            book.save(backup=not no_backup)


ICS_PER = ("customer", "block")
IMPORT_KINDS = ("auto", "ledger", "log")


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
        shown = vocabulary("bool").label("yes" if value else "no", outcome.lang) if isinstance(value, bool) else value
        table.add_row(labels.get(key, key), str(shown))
    console.print(table)
    for path in outcome.files:
        console.print(labels["wrote"].format(path=path))


def _flags_table(outcome: actions.Outcome, limit: int = 40) -> None:
    flags = outcome.flags
    if flags is None or flags.empty:
        return
    t = texts(outcome.lang)
    table = Table(show_lines=False)
    for col in ("severity", "cell", "message"):
        table.add_column(t["checks_sheet"][col])
    colour = {"error": "red", "warning": "yellow", "suggestion": "cyan"}
    for f in flags.sort_values("severity", key=lambda s: s.map({"error": 0, "warning": 1, "suggestion": 2}),
                               kind="stable").head(limit).itertuples():
        table.add_row(f"[{colour[f.severity]}]{t['severity'][f.severity]}[/]", f.cell, f.message)
    console.print(table)
    if len(flags) > limit:
        console.print(t["summary"]["more_flags"].format(n=len(flags) - limit))


@app.command()
def new(path: Path, lang: Lang = DEFAULT_LANG, preset: Preset = "maturity",
        force: bool = False) -> None:
    """Example: followup new team.xlsm --lang en --preset abc"""
    _workbook_options(lang, preset)
    if path.exists() and not force:
        raise Refusal("exists", path=path)
    from .build.workbook import build_workbook  # the builder's imports only where a workbook is built
    with files.writer_lock(path, on_wait=err.print) if path.exists() else nullcontext():
        console.print(f"wrote {build_workbook(path, lang, preset)}")


def _workbook_options(lang: str, preset: str) -> None:
    _choice(lang, LANGS, "--lang")
    _choice(preset, PRESETS, "--preset")


@app.command("build-workbook")
def build(out: Annotated[Path, typer.Option("-o")] = Path("workbook/followup.xlsm"),
          lang: Lang = DEFAULT_LANG, preset: Preset = "maturity") -> None:
    """Example: followup build-workbook -o workbook/followup.xlsm"""
    _workbook_options(lang, preset)
    from .build.workbook import build_workbook
    console.print(f"wrote {build_workbook(out, lang, preset)}")


@app.command()
def demo(path: Annotated[Path, typer.Argument()] = Path("demo/followup-demo.xlsm"), customers: int = 120,
         lang: Lang = DEFAULT_LANG, today: Today = None) -> None:
    """Example: followup demo demo.xlsm --customers 300"""
    _choice(lang, LANGS, "--lang")
    if customers < 1:
        raise Refusal("too_few", option="--customers", value=customers, minimum=1)
    from . import demo as demo_mod
    outcome = demo_mod.make_demo(path, customers, lang, _date(today))
    _summary(outcome, False, f"demo: {path}")
    _flags_table(outcome, limit=10)


@app.command()
def refresh(book: Book, today: Today = None, as_json: AsJson = False, no_backup: NoBackup = False) -> None:
    """Example: followup refresh team.xlsm --today 2026-11-23"""
    with _headless(book, no_backup) as wb:
        outcome = actions.refresh(wb, _date(today))
    _summary(outcome, as_json, f"refresh {book.name}")


@app.command()
def check(book: Book, today: Today = None, as_json: AsJson = False, no_backup: NoBackup = False) -> None:
    """Example: followup check team.xlsm --json"""
    with _headless(book, no_backup) as wb:
        outcome = actions.check(wb, _date(today))
    if as_json:
        _summary(outcome, True, "")
    else:
        _flags_table(outcome)
        _summary(outcome, False, f"check {book.name}")
    raise typer.Exit(CHECK_ERRORS if outcome.errors else DONE)


@app.command()
def plan(book: Book, week: Optional[str] = None, today: Today = None, ics: Optional[Path] = None,
         ics_per: str = "customer",
         no_backup: NoBackup = False, force: Force = False) -> None:
    """Example: followup plan team.xlsm --week 2026-W48 --ics week.ics"""
    _choice(ics_per, ICS_PER, "--ics-per")
    day = _date(today)
    if week:
        try:
            parse_week(week)
        except ValueError:
            raise Refusal("bad_week", value=week) from None
    with _headless(book, no_backup) as wb:
        if ics:
            files.refuse_output(ics, [book], force=force, lang=language(wb))
        outcome, result = actions.weekly_plan(wb, week, day)
        if ics:
            files.write_atomic(ics, plan_to_ics(result.entries, language(wb), per=ics_per), lang=language(wb))
            outcome.files.append(str(ics))
    _summary(outcome, False, f"plan {book.name}")
    _flags_table(outcome)


@app.command()
def log(book: Book, id: Annotated[str, typer.Option("--id")], channel: str = "phone", reached: str = "yes",
        outcome: Optional[str] = None, agreed: Optional[str] = None, note: str = "", tier: Optional[str] = None,
        step: Optional[str] = None, event: Optional[str] = None,
        hard_call: Annotated[bool, typer.Option("--hard-call")] = False, collected: Optional[float] = None,
        competitor: str = "",
        today: Today = None, no_backup: NoBackup = False) -> None:
    """Example: followup log team.xlsm --id JRN01001 --channel phone --reached no"""
    agreed_on, day = _date(agreed, "--agreed"), _date(today)
    with _headless(book, no_backup) as wb:
        result = actions.log_contact(wb, id, channel, reached, outcome, agreed_on, note, new_tier=tier,
                                     today=day, step=step, event=event, hard_call=hard_call,
                                     collected=collected, competitor=competitor)
    _summary(result, False, f"log {book.name}")


@app.command()
def endofday(book: Book, today: Today = None, no_backup: NoBackup = False) -> None:
    """Example: followup endofday team.xlsm --today 2026-11-23"""
    with _headless(book, no_backup) as wb:
        outcome = actions.end_of_day(wb, _date(today))
    _summary(outcome, False, f"endofday {book.name}")


@app.command()
def ids(book: Book, no_backup: NoBackup = False) -> None:
    """Example: followup ids team.xlsm"""
    with _headless(book, no_backup) as wb:
        outcome = actions.new_customer_ids(wb)
    _summary(outcome, False, f"ids {book.name}")


@app.command()
def export(book: Book,
           mask: bool = False, mask_names: bool = False, pdf: bool = False,
           out: Annotated[Optional[Path], typer.Option("-o")] = None,
           force: Force = False) -> None:
    """Example: followup export team.xlsm --mask -o manager.xlsx"""
    from . import export as export_mod
    outcome = export_mod.manager_copy(book, out, mask=mask, mask_names=mask_names, pdf=pdf, force=force)
    _summary(outcome, False, f"export {book.name}")


@app.command()
def rollup(books: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, callback=_remember(_BOOK))],
           out: Annotated[Path, typer.Option("-o", "--out")], today: Today = None, as_json: AsJson = False,
           workers: Optional[int] = None,
           force: Force = False) -> None:
    """Example: followup rollup 张伟.xlsm 李娜.xlsm 王磊.xlsm -o team.xlsx"""
    from . import rollup as rollup_mod
    if workers is not None and workers < 1:
        raise Refusal("too_few", option="--workers", value=workers, minimum=1)
    outcome = rollup_mod.rollup(books, out, today=_date(today), workers=workers, force=force)
    _summary(outcome, as_json, f"rollup → {out.name}")


@app.command("import")
def import_(sources: Annotated[list[Path], typer.Argument(dir_okay=False)],
            into: Annotated[Path, typer.Option("--into", exists=True, dir_okay=False, callback=_remember(_BOOK))],
            dry_run: Annotated[bool, typer.Option("--dry-run")] = False, sheet: Optional[str] = None,
            map_: Annotated[Optional[list[str]], typer.Option("--map")] = None,
            skip: Annotated[Optional[list[str]], typer.Option("--skip")] = None,
            overwrite: Annotated[bool, typer.Option("--overwrite")] = False, kind: str = "auto",
            today: Today = None, as_json: AsJson = False, no_backup: NoBackup = False) -> None:
    """Example: followup import crm.xlsx calls.csv --into team.xlsm --map "Sales Agent=owner" --dry-run"""
    from . import importer  # calamine and the import machinery only for an import
    _choice(kind, IMPORT_KINDS, "--kind")
    maps = [*(map_ or []), *(f"{column}=-" for column in skip or [])]
    with nullcontext() if dry_run else files.writer_lock(into, on_wait=err.print):
        report = importer.run_import(into, sources, dry_run=dry_run, sheet=sheet, maps=maps,
                                     overwrite=overwrite, kind=kind, today=_date(today), backup=not no_backup)
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        _import_report(report)


def _import_report(report: importer.ImportReport, limit: int = 30) -> None:
    """The import report as rich tables, in the workbook's language."""
    from .importer import LEDGER
    lang = report.language
    t = lambda key, **kw: text(lang, "import", key, **kw)  # noqa: E731
    console.print(f"[bold]{t('title', book=Path(report.book).name)}[/]")
    for s in report.sources:
        table = Table(show_header=False, title=Path(s.path).name, title_justify="left")
        table.add_row(t("sheet"), f"{s.sheet or '-'} · {t('header_row')} {s.header_row}")
        table.add_row(t("kind"), t("kind_ledger" if s.kind == LEDGER else "kind_log"))
        table.add_row(t("columns"), ", ".join(f"{h} → {f}" for h, f in s.columns.items()))
        if s.extra:
            table.add_row(t("extra"), ", ".join(h if h == c else f"{h} → {c}" for h, c in s.extra.items()))
        if s.ignored:
            table.add_row(t("ignored"), ", ".join(s.ignored))
        counts = s.counts()
        for key in ("rows", "added", "updated", "unchanged", "conflicting"):
            if counts[key] or key in ("rows", "added"):
                table.add_row(t(key), f"{counts[key]:,}" + _rows_hint(getattr(s, key, None)))
        for reason, rows in s.skipped.items():
            table.add_row(f"{t('skipped')}: {t('reason_' + reason)}", f"{len(rows):,}" + _rows_hint(rows))
        if s.overwritten:
            table.add_row(t("overwritten"), f"{s.overwritten:,}")
        for note in s.notes:
            table.add_row("", note)
        console.print(table)
        if s.conflicts:
            c = Table(title=t("conflicts"), title_justify="left")
            for key in ("conflict_row", "conflict_cell", "conflict_field", "conflict_workbook", "conflict_source"):
                c.add_column(t(key))
            for x in s.conflicts[:limit]:
                c.add_row(str(x.source_row), x.cell, x.field, str(x.workbook), str(x.source))
            console.print(c)
            if len(s.conflicts) > limit:
                console.print(f"… +{len(s.conflicts) - limit}")
        if s.unmapped:
            console.print(t("unmapped"))
            for label, values in s.unmapped.items():
                shown = ", ".join(f"{v} ×{n}" for v, n in list(values.items())[:limit])
                console.print(f"  {label}: {shown}")
                if s.lists.get(label):
                    console.print(f"    → {s.lists[label]}")
        if s.unreadable:
            console.print(t("unreadable"))
            for row, label, value in s.unreadable[:limit]:
                console.print(f"  {row}: {label} = {value!r}")
            if len(s.unreadable) > limit:
                console.print(f"  … +{len(s.unreadable) - limit}")
    if report.ids_created:
        console.print(f"{t('ids_created')}: {report.ids_created:,}")
    if report.dry_run:
        console.print(f"[yellow]{t('dry_run')}[/]")
    elif report.saved:
        console.print(f"[green]{t('saved', book=Path(report.book).name)}[/]")
    if report.map_file:
        console.print(t("map_saved", path=report.map_file))


def _rows_hint(rows: list[int] | None, shown: int = 8) -> str:
    if not rows or not isinstance(rows, list):
        return ""
    head = ", ".join(map(str, rows[:shown]))
    return f"  ({head}{', …' if len(rows) > shown else ''})"


@app.command()
def doctor(book: Book, lang: Lang = DEFAULT_LANG) -> None:
    """Example: followup doctor team.xlsm"""
    from .doctor import FAIL, MARKS, diagnose
    _choice(lang, LANGS, "--lang")
    findings = diagnose(book, lang=lang)
    t = texts(lang)["doctor"]
    table = Table(show_lines=False)
    for column in (t["column_check"], "", t["column_detail"]):
        table.add_column(column)
    for f in findings:
        table.add_row(f.check, MARKS[f.verdict], f"{f.detail}\n→ {f.fix}" if f.fix else f.detail)
    console.print(table)
    raise typer.Exit(1 if any(f.verdict == FAIL for f in findings) else 0)


def main() -> None:
    app()


if __name__ == "__main__":  # python -m pyxl.cli ... (as the installed followup command)
    main()
