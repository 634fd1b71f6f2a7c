"""Every ribbon action, written once against the ``Book`` interface. The CLI runs them on the file,
the xlwings macros on the live workbook; neither holds any logic of its own."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import sheets
from .book import layout as L
from .book.a1 import cell_address
from .book.base import Book, language
from .core import engine, planning, reports
from .core import ids as ids_core
from .core.calendar import parse_week, plan_week_start, week_start, working_day_from
from .core.errors import FollowupError
from .core.i18n import text
from .core.inputs import POSITIONAL_COLUMNS, Inputs, Tables, inputs_from_tables
from .core.schema import HeaderMatch, expected_position, normalise, vocabulary
from .core.values import cell_text, plain


class ActionError(FollowupError):
    """An action cannot run on this workbook; the message names the sheet and cell."""


@dataclass
class Outcome:
    """What an action did: counts for the summary, flags, and files written beside the workbook."""
    today: dt.date
    summary: dict[str, object] = field(default_factory=dict)
    flags: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)
    lang: str = "zh-CN"

    @property
    def errors(self) -> int:
        return 0 if self.flags is None else int((self.flags["severity"] == "error").sum())


# ---------------------------------------------------------------- reading
class NotAFollowupWorkbook(ActionError):
    """The workbook has no customer ledger table: it is not one of the tool's workbooks."""


READ_TABLES = (L.T_CUSTOMERS, L.T_CONTACTS, L.T_RULES, L.T_PARAMS, L.T_STAGES, L.T_SEQUENCES, L.T_SETTINGS,
               L.T_HOLIDAYS, L.T_WORKDAYS, L.T_OWNERS, L.T_BLOCKS)


def load(book: Book) -> Inputs:
    """The tool's tables of the workbook as the core's inputs."""
    tables = book.tables()
    if L.T_CUSTOMERS not in tables:
        raise NotAFollowupWorkbook(text(language(book), "errors", "not_followup", table=L.T_CUSTOMERS))
    read = book.read_table
    inputs = inputs_from_tables(Tables(  # the tables of one sheet one after the other: each sheet is read once
        ledger=read(L.T_CUSTOMERS), log=read(L.T_CONTACTS), rules=read(L.T_RULES), params=read(L.T_PARAMS),
        stages=read(L.T_STAGES) if L.T_STAGES in tables else None,
        sequences=read(L.T_SEQUENCES) if L.T_SEQUENCES in tables else None,
        settings=read(L.T_SETTINGS), holidays=read(L.T_HOLIDAYS), workdays=read(L.T_WORKDAYS),
        owners=read(L.T_OWNERS), blocks=read(L.T_BLOCKS),
        below=[row for name in READ_TABLES if name in tables for row in book.rows_below(name)]))
    if inputs.rules.tiers.empty:  # every cadence, check and plan needs the tiers: nothing to compute
        info = tables[L.T_RULES]
        raise ActionError(text(inputs.settings.language, "errors", "no_tiers",
                               cell=cell_address(info.sheet, info.first_col, info.header_row + 1)))
    return inputs


# ---------------------------------------------------------------- writing helpers
def address(book: Book, table: str, header: str | None, row: object) -> str:
    """Sheet!A1 of a table cell, for messages; the sheet alone when the cell is unknown."""
    info = book.tables()[table]
    if header is None or not isinstance(row, (int, np.integer)):
        return info.sheet
    col = info.first_col + list(info.columns).index(header)
    return cell_address(info.sheet, col, row)


def _write_column(book: Book, headers: HeaderMatch, key: str, values: dict[int, object], table: str) -> bool:
    header = headers.header_of(key)
    if header is None or not values:
        return False
    book.set_column_values(table, header, values)
    return True



# ---------------------------------------------------------------- actions
def refresh(book: Book, today: dt.date | None = None, inputs: Inputs | None = None) -> Outcome:
    """Derive from the log, write the tool's ledger columns and the Agenda, Checks and Dashboard sheets.
    ``inputs``: what was read, plus changes this action made that the book does not show yet."""
    return refreshed(book, today, inputs).outcome


@dataclass
class Refreshed:
    """A refresh and what it was computed from, for actions that go on from it (end of day, roll-up)."""
    outcome: Outcome
    inputs: Inputs
    result: engine.RefreshResult
    plan: planning.PlanResult


def refreshed(book: Book, today: dt.date | None = None, inputs: Inputs | None = None,
              renamed_ids: frozenset[str] = frozenset()) -> Refreshed:
    """``refresh``, keeping what it computed. ``renamed_ids``: IDs a roll-up suffixed on purpose."""
    inputs = inputs or load(book)
    result = _run_engine(inputs, today, renamed_ids)
    written = _write_ledger(book, inputs, result)
    day = working_day_from(inputs.calendar, result.today)
    plan = _plan(inputs, result, week_start(day))
    sheets.write_agenda(book, inputs, result, plan, day)
    located = _located(book, inputs, result.flags)
    sheets.write_checks(book, inputs, result, located)
    sheets.write_dashboard(book, inputs, result)
    book.set_defined_name(L.TODAY_NAME, L.today_formula(today if today not in (None, inputs.settings.as_of_date)
                                                        else None))
    outcome = Outcome(result.today, {**_counts(result), "cells_written": written}, located,
                      lang=inputs.settings.language)
    return Refreshed(outcome, inputs, result, plan)


def end_of_day(book: Book, today: dt.date | None = None) -> Outcome:
    """Refresh, then the daily report (日报): today's touches vs plan and targets, carried-over customers,
    tomorrow's first calls. Works from the contact log alone."""
    done = refreshed(book, today)
    outcome, inputs, result, plan = done.outcome, done.inputs, done.result, done.plan
    day = outcome.today
    still_due = planning.agenda(plan, day)
    tomorrow = inputs.calendar.add_workdays([day], 1)[0].astype(dt.date)
    ahead = _run_engine(inputs, tomorrow)
    first = planning.agenda(_plan(inputs, ahead, week_start(tomorrow)), tomorrow)
    report = reports.daily(result.log.touches, still_due, first, inputs.rules, inputs.settings, day)
    sheets.write_report(book, inputs, report, day, tomorrow)
    outcome.summary.update({"carried": len(report.carried), "tomorrow": len(report.tomorrow)})
    return outcome


def flags(book: Book, today: dt.date | None = None) -> pd.DataFrame:
    """Every flag with its Sheet!cell, writing nothing (for worksheet functions)."""
    inputs = load(book)
    return _located(book, inputs, _run_engine(inputs, today).flags)


def check(book: Book, today: dt.date | None = None) -> Outcome:
    """Check tiers and data only: the Checks sheet, every flag with its Sheet!cell."""
    inputs = load(book)
    result = _run_engine(inputs, today)
    located = _located(book, inputs, result.flags)
    sheets.write_checks(book, inputs, result, located)
    return Outcome(result.today, _counts(result), located, lang=inputs.settings.language)


def weekly_plan(book: Book, week: str | None = None, today: dt.date | None = None) -> tuple[Outcome, planning.PlanResult]:
    inputs = load(book)
    result = _run_engine(inputs, today)
    monday = parse_week(week) if week else plan_week_start(inputs.calendar, result.today)
    plan = _plan(inputs, result, monday)
    sheets.write_plan(book, inputs, result, plan, monday)
    summary = {"week": monday.isoformat(), "planned": len(plan.entries), "not_fitting": len(plan.unplaced)}
    flags = result.flags
    unread = flags[(flags["severity"] == "error") | flags["rule"].str.startswith("synced.")]
    # what the plan could not read (a row below a table is an error too) or took from the log
    # instead of a cell, for the summary
    return Outcome(result.today, summary, _located(book, inputs, unread), lang=inputs.settings.language), plan


def log_contact(book: Book, customer_id: str, channel: str, reached: str, outcome: str | None = None,
                agreed: dt.date | None = None, note: str = "", when: dt.datetime | None = None,
                new_tier: str | None = None, owner: str | None = None, today: dt.date | None = None,
                step: str | None = None, event: str | None = None, hard_call: bool = False,
                collected: float | None = None, competitor: str = "") -> Outcome:
    """Append one touch to the contact log, then refresh so the ledger follows it. ``step`` names the
    playbook step it does, ``event`` a milestone it records, ``hard_call`` asks for a colleague next time;
    a tier change records the tier it replaces (Old tier); ``collected`` and ``competitor`` feed the reports."""
    inputs = load(book)
    ids = inputs.ledger.get("customer_id", pd.Series(dtype=object)).astype("string").str.strip()
    match = ids[ids == customer_id.strip()]
    if match.empty:
        raise ActionError(text(inputs.settings.language, "errors", "unknown_customer", id=customer_id,
                               sheet=book.tables()[L.T_CUSTOMERS].sheet))
    if len(match) > 1:  # the touch would belong to no one knows which customer
        header = inputs.ledger_headers.header_of("customer_id")
        cells = ", ".join(address(book, L.T_CUSTOMERS, header, int(r)) for r in match.index)
        raise ActionError(text(inputs.settings.language, "errors", "duplicate_customer", id=customer_id, cells=cells))
    lang = inputs.settings.language
    _refuse_unknown_tier(book, inputs, new_tier)
    _refuse_unknown_step(book, inputs, step, match.index[0])
    now = dt.datetime.now().replace(microsecond=0)
    when = when or (dt.datetime.combine(today, now.time()) if today else now)
    row = {"when": when, "customer_id": customer_id.strip(),
           "owner": owner if owner is not None else plain(inputs.ledger.at[match.index[0], "owner"])
           if "owner" in inputs.ledger else None,
           "channel": _label("channel", channel, lang), "reached": _label("bool", reached, lang),
           "outcome": _label("outcome", outcome, lang) if outcome else None, "agreed_date": agreed,
           "new_tier": new_tier, "old_tier": _current_tier(inputs, match.index[0]) if new_tier else None,
           "collected": collected, "competitor": competitor or None, "notes": note or None, "step": step or None,
           "event": _label("event", event, lang) if event else None,
           "hard_call": _label("bool", "yes", lang) if hard_call else None}
    labels = {inputs.log_headers.header_of(k): v for k, v in row.items() if inputs.log_headers.header_of(k)}
    [excel_row] = book.append_table_rows(L.T_CONTACTS, [labels])
    touch = pd.DataFrame([{k: v for k, v in row.items() if k in inputs.log.columns}], index=[excel_row])
    out = refresh(book, today, inputs.with_touch(touch))
    out.summary["logged"] = customer_id
    return out


def _refuse_unknown_tier(book: Book, inputs: Inputs, tier: str | None) -> None:
    """A tier the Rules sheet knows (its code, name or an alias), else refused naming the codes."""
    if tier and inputs.rules.tier_of(pd.Series([tier], dtype=object)).isna().iloc[0]:
        raise ActionError(text(inputs.settings.language, "errors", "unknown_tier", value=tier,
                               sheet=book.tables()[L.T_RULES].sheet, choices=" / ".join(inputs.rules.codes)))


def _refuse_unknown_step(book: Book, inputs: Inputs, step: str | None, row: int) -> None:
    """A step of the customer's playbook (of any playbook when it follows none), else refused naming them."""
    if not step:
        return
    own = inputs.playbooks.find(cell_text(inputs.ledger.at[row, "playbook"])) if "playbook" in inputs.ledger else None
    steps = own or [s for steps in inputs.playbooks.steps.values() for s in steps]
    if normalise(step) not in {normalise(s.name) for s in steps}:
        sheet = book.tables()[L.T_SEQUENCES].sheet if L.T_SEQUENCES in book.tables() else L.T_SEQUENCES
        raise ActionError(text(inputs.settings.language, "errors", "unknown_step", value=step, sheet=sheet,
                               choices=" / ".join(dict.fromkeys(s.name for s in steps)) or "-"))


def _current_tier(inputs: Inputs, row: int) -> str | None:
    return plain(inputs.ledger.at[row, "tier"]) or None if "tier" in inputs.ledger else None


def _label(vocab: str, value: str, lang: str) -> str:
    key = vocabulary(vocab).parse(value)
    if key is None:
        raise ActionError(text(lang, "errors", "bad_choice", value=value,
                               choices=" / ".join(vocabulary(vocab).labels(lang))))
    return vocabulary(vocab).label(key, lang)


def new_customer_ids(book: Book) -> Outcome:
    """IDs for rows without one: prefix + market letter + 2-digit owner code + 3-digit sequence."""
    inputs = load(book)
    s = inputs.settings
    ledger = inputs.ledger
    ids = ledger.get("customer_id", pd.Series(index=ledger.index, dtype=object)).astype("string").str.strip().fillna("")
    owners = ledger.get("owner", pd.Series(index=ledger.index, dtype=object)).astype("string").str.strip().fillna("")
    rows = ledger.index[ids.eq("").to_numpy() & _named(ledger)]
    fresh = ids_core.allocate([owners[r] for r in rows], owners, set(ids), s.owners, s.id_prefix, s.id_market)
    new = {int(r): cid for r, cid in zip(rows, fresh)}
    _write_column(book, inputs.ledger_headers, "customer_id", new, L.T_CUSTOMERS)
    return Outcome(s.today(), {"ids_created": len(new)}, lang=s.language)


def _named(ledger: pd.DataFrame) -> np.ndarray:
    if "name" not in ledger:
        return np.zeros(len(ledger), dtype=bool)
    return ledger["name"].astype("string").str.strip().fillna("").ne("").to_numpy()


# ---------------------------------------------------------------- internals
def _run_engine(inputs: Inputs, today: dt.date | None, renamed_ids: frozenset[str] = frozenset()
                ) -> engine.RefreshResult:
    return engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, inputs.settings.today(today),
                          inputs.calendar, inputs.playbooks, renamed_ids,
                          {"ledger": inputs.ledger_headers, "contacts": inputs.log_headers}, below=inputs.below,
                          formulas=inputs.ledger_formulas)


def _write_ledger(book: Book, inputs: Inputs, result: engine.RefreshResult) -> int:
    """The tool-owned columns for every row, and the synced fields the log moved forward."""
    written = 0
    columns = [*result.computed.items(), *result.synced.items()]
    for key, column in columns:
        values = _cells_by_row(column)
        written += len(values) if _write_column(book, inputs.ledger_headers, key, values, L.T_CUSTOMERS) else 0
    return written


_PLAIN = frozenset({str, int, bool, dt.date, type(None)})  # written as they are


def _cells_by_row(column: pd.Series) -> dict[int, object]:
    """Excel row -> cell value (Python scalars) of a result column."""
    return {r: v if type(v) in _PLAIN else plain(v)
            for r, v in zip(column.index.tolist(), column.to_numpy(dtype=object).tolist())}


def _plan(inputs: Inputs, result: engine.RefreshResult, monday: dt.date) -> planning.PlanResult:
    """The planner on the refreshed view, with the Rules, the Settings and the blocks table."""
    return planning.plan_for(inputs.rules, inputs.settings, inputs.blocks, result.view,
                             inputs.calendar, monday, result.today)


def _counts(result: engine.RefreshResult) -> dict[str, object]:
    status = result.view["status"].value_counts()
    severity = result.flags["severity"].value_counts()
    return {"today": result.today.isoformat(), "customers": len(result.view),
            **{f"status_{k}": int(status.get(k, 0)) for k in ("overdue", "due_today", "in_window", "not_yet")},
            **{f"flags_{k}": int(severity.get(k, 0)) for k in ("error", "warning", "suggestion")}}


# tables the core reads by position (inputs.POSITIONAL_COLUMNS): the workbook table of each
_POSITIONAL_TABLES = {"settings": L.T_SETTINGS, "params": L.T_PARAMS, "owners": L.T_OWNERS,
                      "holidays": L.T_HOLIDAYS, "workdays": L.T_WORKDAYS, "blocks": L.T_BLOCKS}


def _located(book: Book, inputs: Inputs, flags: pd.DataFrame) -> pd.DataFrame:
    """Flags with the Sheet!cell they point at."""
    headers = {"ledger": (L.T_CUSTOMERS, inputs.ledger_headers), "contacts": (L.T_CONTACTS, inputs.log_headers),
               "sequences": (L.T_SEQUENCES, inputs.sequence_headers), "rules": (L.T_RULES, inputs.rules_headers),
               "stages": (L.T_STAGES, inputs.stage_headers)}
    cells = []
    for f in flags.itertuples(index=False):
        table, match = headers.get(f.table, (None, None))
        if f.table == "cells":  # the flag's row is its Sheet!A1 already
            cells.append(f.row)
        elif f.table in ("ledger", "contacts") and f.row is None:  # a missing column: its header cell, where
            info = book.tables()[table]                            # it was expected
            at = expected_position(f.table, list(info.columns), match, f.field)
            cells.append(cell_address(info.sheet, info.first_col + at, info.header_row))
        elif table is not None:
            cells.append(address(book, table, match.header_of(f.field), f.row))
        elif f.table in _POSITIONAL_TABLES:
            cells.append(_positional_address(book, f.table, f.field, f.row))
        else:
            cells.append("")
    return flags.assign(cell=cells)


def _positional_address(book: Book, table: str, field: str, row: object) -> str:
    """Sheet!A1 of a cell of a table read by position; the sheet alone when the row is unknown (None), nothing
    when the flag is about something else than a cell (an owner's stock names the owner)."""
    info = book.tables()[_POSITIONAL_TABLES[table]]
    if not isinstance(row, (int, np.integer)):
        return info.sheet if row is None else ""
    return cell_address(info.sheet, info.first_col + POSITIONAL_COLUMNS[table].index(field), row)
