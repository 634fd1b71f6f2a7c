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
from .book.base import Book
from .core import engine, planning, reports
from .core import ids as ids_core
from .core.calendar import parse_week, week_start
from .core.i18n import text
from .core.playbooks import Playbooks, playbooks_from_table
from .core.rules import Rules, rules_from_table
from .core.schema import HeaderMatch, match_headers, vocabulary
from .core.settings import Settings, settings_from_pairs
from .core.values import is_blank, parse_dates


class ActionError(Exception):
    """An action cannot run on this workbook; the message names the sheet and cell."""


@dataclass
class Inputs:
    ledger: pd.DataFrame  # canonical keys, index = Excel rows
    ledger_headers: HeaderMatch
    log: pd.DataFrame
    log_headers: HeaderMatch
    rules: Rules
    settings: Settings
    blocks: pd.DataFrame
    playbooks: Playbooks = field(default_factory=Playbooks)
    sequence_headers: HeaderMatch = field(default_factory=lambda: HeaderMatch({}, [], []))


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
def load(book: Book) -> Inputs:
    ledger_raw = book.read_table(L.T_CUSTOMERS)
    ledger_headers = match_headers("ledger", list(ledger_raw.columns))
    log_raw = book.read_table(L.T_CONTACTS)
    log_headers = match_headers("contacts", list(log_raw.columns))
    rules_raw = book.read_table(L.T_RULES)
    rules = rules_from_table(_canonical(rules_raw, match_headers("rules", list(rules_raw.columns))),
                             _pairs(book.read_table(L.T_PARAMS)))
    settings = settings_from_pairs(
        _pairs(book.read_table(L.T_SETTINGS)),
        extra_holidays=_dates(book.read_table(L.T_HOLIDAYS)), extra_workdays=_dates(book.read_table(L.T_WORKDAYS)),
        owners=_owners(book.read_table(L.T_OWNERS)))
    books, sequence_headers = _playbooks(book)
    return Inputs(_canonical(_non_blank(ledger_raw), ledger_headers), ledger_headers,
                  _canonical(_non_blank(log_raw), log_headers), log_headers, rules, settings,
                  book.read_table(L.T_BLOCKS), books, sequence_headers)


def _playbooks(book: Book) -> tuple[Playbooks, HeaderMatch]:
    """The Sequences sheet's playbooks (none in a workbook built before the sheet existed)."""
    if L.T_SEQUENCES not in book.tables():
        return Playbooks(), HeaderMatch({}, [], [])
    raw = book.read_table(L.T_SEQUENCES)
    headers = match_headers("sequences", list(raw.columns))
    return playbooks_from_table(_canonical(_non_blank(raw), headers)), headers


def _canonical(frame: pd.DataFrame, headers: HeaderMatch) -> pd.DataFrame:
    return frame[list(headers.columns)].rename(columns=headers.columns)


def _non_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with at least one non-blank cell (tables often end in empty rows)."""
    filled = np.zeros(len(frame), dtype=bool)
    for _, column in frame.items():
        unknown = ~filled  # a row found filled is not looked at again: most are after the first column
        filled[unknown] = ~is_blank(column[unknown]).to_numpy()
    return frame[filled]


def _pairs(frame: pd.DataFrame) -> dict[str, object]:
    keys, values = frame.iloc[:, 0], frame.iloc[:, 1]
    return {str(k).strip(): v for k, v in zip(keys, values) if k is not None and str(k).strip()}


def _dates(frame: pd.DataFrame) -> list[dt.date]:
    days, _ = parse_dates(frame.iloc[:, 0], dt.date.today())
    return [d.astype(dt.date) for d in days if not np.isnat(d)]


def _owners(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _non_blank(frame).iloc[:, :4]
    frame.columns = ["owner", "code", "capacity", "manager"][: frame.shape[1]]
    return frame


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


def _cell_value(value: object) -> object:
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).date()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return value


def _today(inputs: Inputs, today: dt.date | None) -> dt.date:
    return inputs.settings.today(today)


# ---------------------------------------------------------------- actions
def refresh(book: Book, today: dt.date | None = None, inputs: Inputs | None = None) -> Outcome:
    """Derive from the log, write the tool's ledger columns and the Agenda, Checks and Dashboard sheets.
    ``inputs``: what was read, plus changes this action made that the book does not show yet."""
    return _refresh(book, today, inputs)[0]


def _refresh(book: Book, today: dt.date | None, inputs: Inputs | None
             ) -> tuple[Outcome, Inputs, engine.RefreshResult, planning.PlanResult]:
    inputs = inputs or load(book)
    result = _run_engine(inputs, today)
    written = _write_ledger(book, inputs, result)
    plan = _plan(inputs, result, week_start(result.today))
    sheets.write_agenda(book, inputs, result, plan)
    located = _located(book, inputs, result)
    sheets.write_checks(book, inputs, result, located)
    sheets.write_dashboard(book, inputs, result)
    outcome = Outcome(result.today, {**_counts(result), "cells_written": written}, located,
                      lang=inputs.settings.language)
    return outcome, inputs, result, plan


def end_of_day(book: Book, today: dt.date | None = None) -> Outcome:
    """Refresh, then the daily report (日报): today's touches vs plan and targets, carried-over customers,
    tomorrow's first calls. Works from the contact log alone."""
    outcome, inputs, result, plan = _refresh(book, today, None)
    day = outcome.today
    still_due = planning.agenda(plan, day)
    tomorrow = engine.calendar_for(inputs.settings).add_workdays([day], 1)[0].astype(dt.date)
    ahead = engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, tomorrow,
                           books=inputs.playbooks)
    first = planning.agenda(_plan(inputs, ahead, week_start(tomorrow)), tomorrow)
    report = reports.daily(result.log.touches, still_due, first, inputs.rules, inputs.settings, day)
    sheets.write_report(book, inputs, report, day, tomorrow)
    outcome.summary.update({"carried": len(report.carried), "tomorrow": len(report.tomorrow)})
    return outcome


def flags(book: Book, today: dt.date | None = None) -> pd.DataFrame:
    """Every flag with its Sheet!cell, writing nothing (for worksheet functions)."""
    inputs = load(book)
    return _located(book, inputs, _run_engine(inputs, today))


def check(book: Book, today: dt.date | None = None) -> Outcome:
    """Check tiers and data only: the Checks sheet, every flag with its Sheet!cell."""
    inputs = load(book)
    result = _run_engine(inputs, today)
    located = _located(book, inputs, result)
    sheets.write_checks(book, inputs, result, located)
    return Outcome(result.today, _counts(result), located, lang=inputs.settings.language)


def weekly_plan(book: Book, week: str | None = None, today: dt.date | None = None) -> tuple[Outcome, planning.PlanResult]:
    inputs = load(book)
    result = _run_engine(inputs, today)
    monday = parse_week(week) if week else week_start(result.today)
    plan = _plan(inputs, result, monday)
    sheets.write_plan(book, inputs, result, plan, monday)
    summary = {"week": monday.isoformat(), "planned": len(plan.entries), "not_fitting": len(plan.unplaced)}
    return Outcome(result.today, summary, lang=inputs.settings.language), plan


def log_contact(book: Book, customer_id: str, channel: str, reached: str, outcome: str | None = None,
                agreed: dt.date | None = None, note: str = "", when: dt.datetime | None = None,
                new_tier: str | None = None, owner: str | None = None, today: dt.date | None = None,
                step: str | None = None, event: str | None = None, hard_call: bool = False) -> Outcome:
    """Append one touch to the contact log, then refresh so the ledger follows it. ``step`` names the
    playbook step it does, ``event`` a milestone it records, ``hard_call`` asks for a colleague next time."""
    inputs = load(book)
    ids = inputs.ledger.get("customer_id", pd.Series(dtype=object)).astype("string").str.strip()
    match = ids[ids == customer_id.strip()]
    if match.empty:
        raise ActionError(text(inputs.settings.language, "errors", "unknown_customer", id=customer_id,
                               sheet=book.tables()[L.T_CUSTOMERS].sheet))
    lang = inputs.settings.language
    now = dt.datetime.now().replace(microsecond=0)
    when = when or (dt.datetime.combine(today, now.time()) if today else now)
    row = {"when": when, "customer_id": customer_id.strip(),
           "owner": owner if owner is not None else _cell_value(inputs.ledger.at[match.index[0], "owner"])
           if "owner" in inputs.ledger else None,
           "channel": _label("channel", channel, lang), "reached": _label("bool", reached, lang),
           "outcome": _label("outcome", outcome, lang) if outcome else None, "agreed_date": agreed,
           "new_tier": new_tier, "notes": note or None, "step": step or None,
           "event": _label("event", event, lang) if event else None,
           "hard_call": _label("bool", "yes", lang) if hard_call else None}
    labels = {inputs.log_headers.header_of(k): v for k, v in row.items() if inputs.log_headers.header_of(k)}
    [excel_row] = book.append_table_rows(L.T_CONTACTS, [labels])
    touch = pd.DataFrame([{k: v for k, v in row.items() if k in inputs.log.columns}], index=[excel_row])
    inputs.log = pd.concat([inputs.log, touch])
    out = refresh(book, today, inputs)
    out.summary["logged"] = customer_id
    return out


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
def _run_engine(inputs: Inputs, today: dt.date | None) -> engine.RefreshResult:
    return engine.refresh(inputs.ledger, inputs.log, inputs.rules, inputs.settings, _today(inputs, today),
                          books=inputs.playbooks)


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
    return {r: v if type(v) in _PLAIN else _cell_value(v)
            for r, v in zip(column.index.tolist(), column.to_numpy(dtype=object).tolist())}


def _plan(inputs: Inputs, result: engine.RefreshResult, monday: dt.date) -> planning.PlanResult:
    """The planner on the refreshed view, with the Rules' quotas and the Settings' capacity and blocks."""
    tiers = inputs.rules.tiers
    every_day = (tiers["unit"] == "workdays") & (tiers["max"] <= 1)
    greeting = tiers.index.isin(_codes(inputs.rules.param("greeting_tiers", "")))
    plan_tiers = tiers[["quota", "priority", "weight"]].assign(daily_every_workday=every_day,
                                                                holiday_greeting=greeting)
    s = inputs.settings
    owners = s.owners.dropna(subset=["owner"]) if "owner" in s.owners else s.owners
    capacity = {str(o).strip(): int(float(c)) for o, c in zip(owners.get("owner", []), owners.get("capacity", []))
                if c is not None and str(c).strip() and str(o).strip()}
    new_tiers = frozenset(_codes(inputs.rules.param("new_tier", "")))
    plan_settings = planning.PlanSettings(
        capacity=s.daily_capacity, owner_capacity=capacity, load_pattern=s.load_pattern,
        blocks=_blocks(inputs.blocks) or planning.DEFAULT_BLOCKS, new_tiers=new_tiers,
        effective_target=s.effective_target, new_key_target=s.new_key_target)
    view = result.view[result.view["customer_id"] != ""]
    return planning.plan_week(view, plan_tiers, engine.calendar_for(s), monday, result.today, plan_settings)


def _codes(text: object) -> list[str]:
    """A comma-separated list of tier codes from a Rules parameter."""
    return [c.strip() for c in str(text or "").replace("，", ",").split(",") if c.strip()]


def _blocks(table: pd.DataFrame) -> tuple[planning.TimeBlock, ...]:
    blocks = []
    for start, end, label, tiers in _non_blank(table).iloc[:, :4].itertuples(index=False):
        try:
            blocks.append(planning.TimeBlock.parse(str(start), str(end), str(label or ""), str(tiers or "")))
        except ValueError:
            continue
    return tuple(blocks)


def _counts(result: engine.RefreshResult) -> dict[str, object]:
    status = result.view["status"].value_counts()
    severity = result.flags["severity"].value_counts()
    return {"today": result.today.isoformat(), "customers": len(result.view),
            **{f"status_{k}": int(status.get(k, 0)) for k in ("overdue", "due_today", "in_window", "not_yet")},
            **{f"flags_{k}": int(severity.get(k, 0)) for k in ("error", "warning", "suggestion")}}


def _located(book: Book, inputs: Inputs, result: engine.RefreshResult) -> pd.DataFrame:
    """Flags with the Sheet!cell they point at."""
    headers = {"ledger": (L.T_CUSTOMERS, inputs.ledger_headers), "contacts": (L.T_CONTACTS, inputs.log_headers),
               "sequences": (L.T_SEQUENCES, inputs.sequence_headers)}
    cells = []
    for f in result.flags.itertuples(index=False):
        table, match = headers.get(f.table, (None, None))
        if table is None:
            cells.append({"rules": book.tables()[L.T_RULES].sheet, "settings": book.tables()[L.T_SETTINGS].sheet}
                         .get(f.table, ""))
        else:
            cells.append(address(book, table, match.header_of(f.field), f.row))
    return result.flags.assign(cell=cells)
