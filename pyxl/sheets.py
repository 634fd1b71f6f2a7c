"""The generated sheets (Agenda, Plan, Checks, Dashboard) as grids of (value, style role) cells.

Pure presentation: each function turns core results into rows and hands them to ``Book`` once.
Dashboard blocks sit where ``layout`` says, because native charts read those cells.
"""
from __future__ import annotations

import datetime as dt
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .book import layout as L
from .book.a1 import cell_address
from .book.base import Book, Cell
from .core import engine, messages, reports
from .core.i18n import reason_text, texts
from .core.planning import agenda, with_co_owners
from .core.playbooks import greeting_templates
from .core.schema import field, vocabulary
from .core.ids import without_unique_id
from .core.values import cell_text, plain

if TYPE_CHECKING:
    from .core.inputs import Inputs
    from .core.planning import PlanResult

STATUS_ROLE = {"overdue": "overdue", "due_today": "due_today", "in_window": "in_window"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "suggestion": 2}



def _tuples(frame: pd.DataFrame) -> Iterator[tuple]:
    """``frame.itertuples(index=False)`` from each column's ``tolist()``: the same Python values, without
    pandas 3 boxing string cells one at a time."""
    row = namedtuple("Row", frame.columns, rename=True)
    return map(row._make, zip(*(frame.iloc[:, k].tolist() for k in range(frame.shape[1]))))


def _header(t: dict, section: str, keys: list[str]) -> list[tuple[str, str]]:
    return [(t[section][k], "header") for k in keys]


def _title(t: dict, code_key: str, subtitle: str) -> list[list]:
    return [[(t["sheets"][code_key], "title")], [(subtitle, "subtitle")], []]


def _stamp(t: dict, today: dt.date) -> str:
    return t["generated"]["as_of"].format(today=today.isoformat())


# ---------------------------------------------------------------- Checks
CHECK_COLUMNS = ["severity", "rule", "cell", "customer_id", "name", "message", "suggested_tier"]


def write_checks(book: Book, inputs: Inputs, result: engine.RefreshResult, located: pd.DataFrame, *,
                 preface: Sequence[list] = ([],), appendix: Sequence[list] = (),
                 col_widths: dict[int, float] | None = None) -> None:
    """``located``: the result's flags with the Sheet!cell each points at. ``preface`` rows stand between the
    subtitle and the flags' header (default: one blank row), ``appendix`` rows after the flags."""
    t = texts(inputs.settings.language)
    flags = located
    order = flags["severity"].map(SEVERITY_ORDER)
    flags = flags.assign(_o=order).sort_values(["_o", "table", "rule"], kind="stable")
    rows_of_view = result.view.index.tolist()
    ids = dict(zip(rows_of_view, result.view["customer_id"].tolist()))
    names = dict(zip(rows_of_view, result.view["name"].tolist()))
    counts = flags["severity"].value_counts()
    summary = t["generated"]["checks_summary"].format(
        errors=int(counts.get("error", 0)), warnings=int(counts.get("warning", 0)),
        suggestions=int(counts.get("suggestion", 0)))
    rows = [*_title(t, "checks", f"{_stamp(t, result.today)} · {summary}")[:2], *preface]
    rows.append(_header(t, "checks_sheet", CHECK_COLUMNS))
    for f in _tuples(flags):
        on_ledger = f.table == "ledger"
        rows.append([(t["severity"][f.severity], f.severity), (f.rule, "muted"), (f.cell, "text"),
                     ids.get(f.row, "") if on_ledger else "", names.get(f.row, "") if on_ledger else "",
                     (f.message, "text"), f.suggested_tier or None])
    rows += appendix
    book.replace_sheet_content(L.CHECKS, rows, col_widths=col_widths or _CHECK_WIDTHS)


_CHECK_WIDTHS = {1: 8, 2: 18, 3: 16, 4: 12, 5: 18, 6: 70, 7: 10}


# ---------------------------------------------------------------- Agenda and Plan
AGENDA_COLUMNS = ["order", "block", "owner", "customer_id", "name", "tier", "status", "reason", "channel",
                  "phone", "step", "next_content", "due", "days_late", "co_owner", "message"]


def _entry_rows(entries: pd.DataFrame, view: pd.DataFrame, phones: dict[int, object], cells: dict[int, str], lang: str,
                t: dict, greetings: dict[tuple[int, str], str] | None = None) -> list[list]:
    """Agenda/Plan rows; ``view`` (the refreshed customers by ledger row) adds status, playbook step, message,
    co-owner; ``cells`` names the customers without a unique ID by their ID cell (``_id_cells``); ``greetings``:
    (ledger row, greeting) -> its message, shown when no playbook step's message is."""
    listed = view.index.isin(entries["ledger_row"])  # only the customers listed
    rows_listed = view.index[listed].tolist()
    look = {k: dict(zip(rows_listed, view[k][listed].tolist()))
            for k in ("status", "step", "step_due", "step_channel", "message", "co_owner", "escalated") if k in view}
    get = lambda key, row, default="": look.get(key, {}).get(row, default)  # noqa: E731
    channel = vocabulary("channel")
    rows = []
    for e in _tuples(entries):
        st, row = get("status", e.ledger_row), e.ledger_row
        step_due = get("step_due", row, None)
        step_now = step_due is not None and not pd.isna(step_due) and pd.Timestamp(step_due).date() <= e.date
        helper = getattr(e, "for_owner", "")
        reason = reason_text(e.reason, e.greeting, lang, helper)
        how = (get("step_channel", row, None) if step_now else None) or e.channel  # the step's channel when shown
        rows.append([int(e.order), e.block, e.owner, e.customer_id, _listed_name(e.name, row, cells), e.tier,
                     (vocabulary("status").label(st, lang), STATUS_ROLE.get(st, "text")),
                     reason, channel.label(how, lang) or how, phones.get(row, ""),
                     get("step", row) if step_now else None, e.next_content, (plain(e.due), "date"),
                     int(e.days_late) if e.days_late else None,
                     get("co_owner", row) if get("escalated", row, False) and not helper else None,
                     (get("message", row), "wrap") if step_now else _greeting_cell(greetings, row, e.greeting)])
    return rows


def _listed_name(name: str, row: int, cells: dict[int, str]) -> str:
    """A listed customer's name, followed by its ID cell when the ID is blank or shared: 张三 (客户台账!A14)."""
    return f"{name} ({cells[row]})" if row in cells else name


def _id_cells(book: Book, inputs: Inputs) -> dict[int, str]:
    """Ledger row -> its ID cell, for the rows whose ID is blank or typed on another row too (they are listed
    by name and cell: an ID would not tell them apart)."""
    ledger = inputs.ledger
    ids = ledger["customer_id"].map(cell_text) if "customer_id" in ledger else pd.Series("", index=ledger.index)
    listed = ids[without_unique_id(ids)]
    info = book.tables()[L.T_CUSTOMERS]
    header = inputs.ledger_headers.header_of("customer_id")
    col = info.first_col + (list(info.columns).index(header) if header is not None else 0)
    return {row: cell_address(info.sheet, col, row) for row in listed.index.tolist()}


def _greeting_cell(greetings: dict[tuple[int, str], str] | None, row: int, greeting: str) -> tuple | None:
    text = (greetings or {}).get((row, greeting))
    return (text, "wrap") if text else None


def _greeting_messages(entries: pd.DataFrame, inputs: Inputs) -> dict[tuple[int, str], str]:
    """(ledger row, greeting) -> the greeting's message rendered for that customer (templates from the
    Sequences sheet, ``playbooks.greeting_templates``; the first greeting of the entry decides)."""
    greet = entries[entries["greeting"].astype(str).ne("")].drop_duplicates(["ledger_row", "greeting"])
    templates = greeting_templates(inputs.playbooks)
    if greet.empty or not any(templates.values()):
        return {}
    out = {}
    for row, greeting in zip(greet["ledger_row"], greet["greeting"]):
        template = templates.get(greeting.split("; ")[0].partition(": ")[0], "")
        if template and row in inputs.ledger.index:
            text, _ = messages.render_rows(pd.Series([template], index=[row], dtype=object),
                                           inputs.ledger, vars(inputs.settings))
            out[(row, greeting)] = text.iloc[0]
    return out


# The "does not fit" columns, each under the Agenda column of the same meaning or width (1-based, AGENDA_COLUMNS):
# both the Agenda and the Plan sheet keep the Agenda's column widths
_NOT_FITTING_AT = {"owner": 3, "customer_id": 4, "name": 5, "tier": 6, "why": 8, "best_day": 12, "due": 13,
                   "late_at_best": 14, "extra_needed": 15}
_AGENDA_NOT_FITTING = ("owner", "customer_id", "name", "tier", "why", "best_day", "due")  # the Plan has them all
_AGENDA_WIDE = len(AGENDA_COLUMNS)


def _unplaced_rows(unplaced: pd.DataFrame, cells: dict[int, str], t: dict) -> list[list]:
    """The Plan sheet's "does not fit" section: every customer the week cannot hold, why, and what would place it."""
    if unplaced.empty:
        return [[(t["generated"]["all_fit"], "in_window")]]
    rows = [[(t["generated"]["not_fitting"].format(n=len(unplaced)), "section")],
            _not_fitting_header(_NOT_FITTING_AT, t)]
    for u in _tuples(unplaced):
        rows.append(_placed({**_not_fitting_cells(u, cells, t), "late_at_best": plain(u.late_at_best),
                             "extra_needed": plain(u.extra_needed)}))
    return rows


def _not_fitting_header(keys: Iterable[str], t: dict) -> list[Cell]:
    """The header row of a "does not fit" list: each column's name over its column."""
    return _placed({k: (t["unplaced"][k], "header") for k in keys}, (None, "header"))


def _not_fitting_cells(u: tuple, cells: dict[int, str], t: dict) -> dict[str, Cell]:
    """A customer that does not fit, as the Agenda shows it (``_AGENDA_NOT_FITTING``)."""
    return {"owner": u.owner, "customer_id": u.customer_id, "name": _listed_name(u.name, u.ledger_row, cells),
            "tier": u.tier, "why": (t["why_unplaced"].get(u.why, u.why), "warning"),
            "best_day": (plain(u.best_day), "date"), "due": (plain(u.due), "date")}


def _not_fitting_by_owner(unplaced: pd.DataFrame, cells: dict[int, str], t: dict, shown: int,
                          plan_sheet: str) -> list[list]:
    """The Agenda's "does not fit" section: the total, then per owner how many do not fit and the extra capacity
    that would place them, that owner's first ``shown`` customers in the Plan sheet's order (``plan.unplaced``:
    by due date, then ID; greetings last) and how many more the Plan sheet (``plan_sheet``) lists."""
    if unplaced.empty:
        return [[(t["generated"]["all_fit"], "in_window")]]
    g = t["generated"]
    theirs: dict[str, list[int]] = {}  # owner -> positions in ``unplaced``
    for i, owner in enumerate(unplaced["owner"].tolist()):
        theirs.setdefault(owner, []).append(i)
    firsts = [i for positions in theirs.values() for i in positions[:shown]]
    listed = dict(zip(firsts, _tuples(unplaced.iloc[firsts])))
    groups = _extra_groups(unplaced)
    rows = [[(g["not_fitting"].format(n=len(unplaced)), "section")]]
    if shown:
        rows.append(_not_fitting_header(_AGENDA_NOT_FITTING, t))
    for owner, positions in theirs.items():
        summary = _owner_summary(len(positions), [groups[i] for i in positions if i in groups], t)
        rows.append(_placed({"owner": (owner, "total"), "customer_id": (summary, "total")}, (None, "total")))
        for u in (listed[i] for i in positions[:shown]):
            rows.append(_placed(_not_fitting_cells(u, cells, t)))
        if shown and len(positions) > shown:
            more = g["not_fitting_more"].format(n=len(positions) - shown, sheet=plan_sheet)
            rows.append(_placed({"customer_id": (more, "muted")}))
    return rows


def _extra_groups(unplaced: pd.DataFrame) -> dict[int, tuple[bool, dt.date, int]]:
    """Position -> (greetings?, best day, extra_needed) of the rows that more room would place. ``extra_needed``
    is the size of the owner's group of such customers on that day (calls, or the greetings block), written on
    each row of the group: a group counts once, not once per row."""
    extra = unplaced["extra_needed"].tolist()
    days, why = unplaced["best_day"].tolist(), unplaced["why"].tolist()
    return {i: (why[i] == "greetings", days[i], n) for i, n in enumerate(extra) if n}


def _owner_summary(n: int, groups: list[tuple[bool, dt.date, int]], t: dict) -> str:
    """"12 do not fit; extra capacity needed: 9 (2026-11-30 Mon +6, ...)": each (greetings?, day) group once."""
    g = t["generated"]
    by_day = {(greeting, day): extra for greeting, day, extra in groups}
    line = g["not_fitting_owner"].format(n=n, extra=sum(by_day.values()))
    if not by_day:
        return line
    days = [g["not_fitting_greetings_day" if greeting else "not_fitting_day"].format(
        day=f"{day.isoformat()} {g['weekdays'][day.weekday()]}", n=extra)
        for (greeting, day), extra in sorted(by_day.items())]
    return line + g["not_fitting_days"].format(days=t["punctuation"]["list"].join(days))


def _placed(cells: dict[str, Cell], fill: Cell = None) -> list[Cell]:
    """A row of the Agenda's width with each "does not fit" cell in its column (``_NOT_FITTING_AT``), ``fill``
    elsewhere."""
    row = [fill] * _AGENDA_WIDE
    for key, cell in cells.items():
        row[_NOT_FITTING_AT[key] - 1] = cell
    return row


def write_agenda(book: Book, inputs: Inputs, result: engine.RefreshResult, plan: PlanResult,
                 day: dt.date) -> None:
    """The touches of ``day``: today, or the next working day when today is not one (the header says so)."""
    lang = inputs.settings.language
    t = texts(lang)
    today = with_co_owners(agenda(plan, day), result.view)
    phones, cells = _phones(inputs), _id_cells(book, inputs)
    weekday = t["generated"]["weekdays"][day.weekday()]
    head = t["generated"]["agenda_summary"].format(n=len(today), day=f"{day.isoformat()} {weekday}")
    if day != result.today:
        head += t["generated"]["agenda_next_day"]
    rows = _title(t, "agenda", f"{_stamp(t, result.today)} · {head}")
    rows.append(_header(t, "agenda", AGENDA_COLUMNS))
    rows += _entry_rows(today, result.view, phones, cells, lang, t, _greeting_messages(today, inputs))
    rows.append([])
    rows += _not_fitting_by_owner(plan.unplaced, cells, t, inputs.settings.agenda_not_fitting,
                                  book.sheet_by_codename(L.PLAN).name)
    book.replace_sheet_content(L.AGENDA, rows, col_widths=_AGENDA_WIDTHS)


_AGENDA_WIDTHS = {1: 6, 2: 12, 3: 8, 4: 12, 5: 18, 6: 9, 7: 9, 8: 10, 9: 7, 10: 14, 11: 14, 12: 24, 13: 11,
                  14: 8, 15: 8, 16: 60}
_PLAN_WIDTHS = {**_AGENDA_WIDTHS, 14: 18, 15: 14}  # the "does not fit" list's last two headers on one line


def write_plan(book: Book, inputs: Inputs, result: engine.RefreshResult, plan: PlanResult,
               monday: dt.date) -> None:
    lang = inputs.settings.language
    t = texts(lang)
    phones, cells = _phones(inputs), _id_cells(book, inputs)
    iso = monday.isocalendar()
    head = t["generated"]["plan_summary"].format(week=f"{iso.year}-W{iso.week:02d}", n=len(plan.entries),
                                                 late=len(plan.unplaced))
    rows = _title(t, "plan", f"{_stamp(t, result.today)} · {head}")
    rows.append(_header(t, "plan_totals", ["owner", "date", "planned", "capacity", "effective_target", "greetings"]))
    for d in plan.day_totals.itertuples(index=False):
        over = d.planned > d.capacity
        rows.append([d.owner, (plain(d.date), "date"), (int(d.planned), "overdue" if over else "int"),
                     int(d.capacity), int(d.effective_target), int(d.greetings)])
    rows.append([])
    greetings = _greeting_messages(plan.entries, inputs)
    for day, entries in with_co_owners(plan.entries, result.view).groupby("date", sort=True):
        weekday = t["generated"]["weekdays"][pd.Timestamp(day).weekday()]
        rows.append([(f"{pd.Timestamp(day).date().isoformat()} {weekday}", "section")])
        rows.append(_header(t, "agenda", AGENDA_COLUMNS))
        rows += _entry_rows(entries, result.view, phones, cells, lang, t, greetings)
        rows.append([])
    rows += _unplaced_rows(plan.unplaced, cells, t)
    book.replace_sheet_content(L.PLAN, rows, col_widths=_PLAN_WIDTHS)


def _phones(inputs: Inputs) -> dict[int, object]:
    """Ledger row -> phone cell."""
    if "phone" not in inputs.ledger:
        return {}
    return dict(zip(inputs.ledger.index.tolist(), inputs.ledger["phone"].map(plain).tolist()))


# ---------------------------------------------------------------- Dashboard
def write_dashboard(book: Book, inputs: Inputs, result: engine.RefreshResult) -> None:
    lang = inputs.settings.language
    t = texts(lang)
    board = reports.dashboard(result.view, result.log.touches, inputs.rules, inputs.settings,
                              inputs.calendar, result.today)
    grid: dict[tuple[int, int], object] = {(0, 0): (t["sheets"]["dashboard"], "title"),
                                           (1, 0): (_stamp(t, result.today), "subtitle")}
    short = [(None, "int") if pd.isna(v) else (int(v), "short" if v else "int") for v in board.funnel["shortfall"]]
    _block(grid, L.FUNNEL, board.funnel.assign(shortfall=short), t, "funnel", {})
    _block(grid, L.OWNERS, board.owners, t, "owners", {"overdue": "int"})
    _block(grid, L.PER_DAY, board.per_day.assign(date=board.per_day["date"].map(plain)), t, "per_day",
           {"date": "date"})
    weekly = board.weekly.assign(value=[_figure(m, v) for m, v in zip(board.weekly["metric"], board.weekly["value"])],
                                 metric=board.weekly["metric"].map(t["weekly"]),
                                 met=board.weekly["met"].map({True: "✓", False: "✗", None: None}))
    _block(grid, L.WEEKLY, weekly, t, "weekly_cols", {})
    _block(grid, L.CONVERSIONS, board.conversions, t, "conversions", {})
    _friday(grid, L.friday_block(len(board.owners)), board.friday, t, lang, result.today)
    rows = [[grid.get((r, c)) for c in range(max(c for _, c in grid) + 1)] for r in range(max(r for r, _ in grid) + 1)]
    widths = {**_FRIDAY_WIDTHS, L.FUNNEL.col + 2: 14, L.WEEKLY.col + 1: 16, L.PER_DAY.col + 1: 11}
    book.replace_sheet_content(L.DASHBOARD, rows, col_widths=widths)
    book.resize_chart_ranges(L.DASHBOARD, _chart_rows(len(board.funnel), len(board.owners)))


_METRIC_ROLES = {"effective_rate": "pct", "deal_rate": "pct", "collected": "money"}  # other figures: as written
def _figure(metric: str, value: object) -> Cell:
    """A report figure with its number format: rates as %, amounts as money, counts as they are."""
    role = _METRIC_ROLES.get(metric)
    return (plain(value), role) if role else plain(value)


_FRIDAY_WIDTHS = {L.FRIDAY_COLUMNS.index(key) + 1: width for key, width in
                  (("name", 16), ("last_contact", 11), ("week_followup", 14), ("next_actions", 14))}


def _chart_rows(tiers: int, owners: int) -> dict[tuple[int, int], int]:
    """Each chart reads exactly the rows written: the funnel's tiers, every owner, the days shown."""
    sizes = {L.FUNNEL: min(tiers, L.FUNNEL.rows), L.OWNERS: owners, L.PER_DAY: L.PER_DAY.rows}
    return {block.chart_start(j): n for block, n in sizes.items() for j in range(len(block.columns))}


def _block(grid: dict, block: L.Block, frame: pd.DataFrame, t: dict, section: str, roles: dict[str, str]) -> None:
    grid[(block.row - 2, block.col)] = (t["blocks_title"][section], "section")
    for j, key in enumerate(block.columns):
        grid[(block.row - 1, block.col + j)] = (t[section][key], "header")
    for i, row in enumerate(_tuples(frame if block.grows else frame.head(block.rows))):
        for j, key in enumerate(block.columns):
            value = getattr(row, key)
            cell = value if isinstance(value, tuple) else (plain(value), roles.get(key, "text"))
            grid[(block.row + i, block.col + j)] = cell


def _friday(grid: dict, block: L.Block, friday: pd.DataFrame, t: dict, lang: str, today: dt.date) -> None:
    """This week's follow-up per customer; blank Friday columns are marked once the week's last working day
    has come. Headers are the ledger's own column labels."""
    iso = today.isocalendar()
    title = t["friday"]["title"].format(week=f"{iso.year}-W{iso.week:02d}", n=len(friday))
    missing = int(friday["missing"].sum())
    grid[(block.row - 2, block.col)] = (title + (t["friday"]["missing"].format(missing=missing) if missing else ""),
                                        "section")
    for j, key in enumerate(block.columns):
        grid[(block.row - 1, block.col + j)] = (None if key is None else field("ledger", key).label(lang), "header")
    if friday.empty:
        grid[(block.row, block.col)] = (t["friday"]["none"], "muted")
    blank = (t["friday"]["blank"], "warning")
    for i, row in enumerate(friday.to_dict("records")):
        for j, key in enumerate(block.columns):
            if key in reports.FRIDAY_FIELDS and not row[key]:
                grid[(block.row + i, block.col + j)] = blank if row["missing"] else None
            elif key is not None:
                grid[(block.row + i, block.col + j)] = (plain(row[key]), "date" if key == "last_contact" else "text")


# ---------------------------------------------------------------- Daily report (日报)
def write_report(book: Book, inputs: Inputs, report: reports.DailyReport, today: dt.date,
                 tomorrow: dt.date) -> None:
    t = texts(inputs.settings.language)
    lang = inputs.settings.language
    rows = _title(t, "report", _stamp(t, today))
    rows.append(_header(t, "daily_cols", ["metric", "value", "target", "met"]))
    for f in report.figures.itertuples(index=False):
        met = None if f.met is None else ("✓", "in_window") if f.met else ("✗", "overdue")
        rows.append([t["daily"][f.metric], _figure(f.metric, f.value), plain(f.target), met])
    rows += [[], [(t["daily"]["outcomes"], "section")]]
    outcome = vocabulary("outcome")
    for o in report.outcomes.itertuples(index=False):
        rows.append([outcome.label(o.outcome, lang) or t["daily"].get(o.outcome, o.outcome), int(o.count)])
    if not report.news.empty:
        rows += [[], [(t["daily"]["news"].format(n=len(report.news)), "section")]]
        rows += [[n.customer_id, n.competitor] for n in report.news.itertuples(index=False)]
    rows += [[], [(t["daily"]["carried"].format(n=len(report.carried)), "section")],
             _header(t, "agenda", ["owner", "customer_id", "name", "tier"])]
    cells = _id_cells(book, inputs)
    rows += [[c.owner, c.customer_id, _listed_name(c.name, c.ledger_row, cells), c.tier]
             for c in report.carried.itertuples(index=False)]
    rows += [[], [(t["daily"]["tomorrow"].format(day=tomorrow.isoformat()), "section")],
             _header(t, "agenda", AGENDA_COLUMNS)]
    rows += _entry_rows(report.tomorrow, pd.DataFrame(columns=["status"]), _phones(inputs), cells, lang, t)
    book.replace_sheet_content(L.REPORT, rows, col_widths=_AGENDA_WIDTHS)
