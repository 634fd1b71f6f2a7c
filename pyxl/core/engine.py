"""Refresh = the whole engine in one pure function: ledger + log + rules + settings + today -> results.

Order: parse the typed ledger, derive the contact log, sync what the log moved forward (last contact,
counters, agreed date, tier changes), compute the schedule, run the checks, render computed columns.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import cadence, checks, messages, playbooks
from .calendar import TeamCalendar, plan_week_start
from .contacts import DerivedLog, derive
from .i18n import render_flags, status_label
from .ids import shared
from .inputs import RowBelow
from .ledger import ParsedLedger, parse_ledger
from .playbooks import Playbooks
from .rules import Rules
from .schema import HeaderMatch
from .settings import Settings, calendar_for


@dataclass
class RefreshResult:
    today: dt.date
    view: pd.DataFrame  # one row per customer: canonical keys, effective values, schedule (for planner/reports)
    computed: pd.DataFrame  # the tool-owned ledger columns, ready to write (index = ledger rows)
    synced: dict[str, pd.Series]  # synced ledger fields the log moved, to write: key -> {row: new value}
    flags: pd.DataFrame  # every flag, with ``message`` in the workbook language
    log: DerivedLog

    @property
    def errors(self) -> pd.DataFrame:
        return self.flags[self.flags["severity"] == "error"]


def refresh(ledger: pd.DataFrame, log: pd.DataFrame, rules: Rules, settings: Settings, today: dt.date,
            cal: TeamCalendar | None = None, books: Playbooks | None = None,
            renamed_ids: frozenset[str] = frozenset(), headers: Mapping[str, HeaderMatch] | None = None,
            below: Sequence[RowBelow] = (), formulas: Mapping[str, Collection[int]] | None = None) -> RefreshResult:
    """``renamed_ids``: IDs a roll-up suffixed with their book's number, which break the ID pattern by design;
    ``headers``: how the ledger's and log's headers matched ("ledger"/"contacts"), to flag missing columns;
    ``below``: rows under the tables after blank rows, not read (flagged);
    ``formulas``: ledger field key -> rows whose cell holds a formula (never written over)."""
    cal = cal or calendar_for(settings)
    books = books or Playbooks()
    parsed = parse_ledger(ledger, rules, today, formulas)
    ids = parsed.text("customer_id")
    derived = derive(log, ids.to_numpy(dtype=object), today)
    per = _without_shared_ids(derived.per_ledger_row, ids)
    moved = _sync(parsed, per, rules)
    synced, kept = _split_kept(parsed, moved)
    if not moved["tier"].empty:  # a tier change from the log counts at once, as if already written back
        parsed = parsed.with_tiers(moved["tier"], _effective(parsed, moved, "tier_since"))
    last = _effective(parsed, moved, "last_contact")
    agreed = _effective(parsed, moved, "agreed_date")
    counters = {k: np.where(per["touches"].notna(), per[k].to_numpy(float), parsed.numbers[k]) for k in
                ("unreached", "no_progress")}
    last_outcome = pd.Series(per["last_outcome"].to_numpy(), index=parsed.index, dtype="string")
    slow_down = np.where(last_outcome.eq("refused").fillna(False),
                         rules.tiers["refusal_factor"].reindex(parsed.tier.fillna("").to_numpy()).fillna(1), 1.0)
    steps = playbooks.next_steps(books, parsed.text("playbook"), checks.playbook_start(parsed), ids, derived.touches,
                                 cal)
    followed_up = cadence.followed_up(last, steps)
    plan = cadence.schedule(rules.tiers, parsed.tier, followed_up, agreed, parsed.dates["assigned"], slow_down, cal,
                            today, unreadable=parsed.bad["last_contact"] & np.isnat(followed_up),
                            stage=rules.stage_rows(parsed.stage))
    plan = cadence.with_steps(plan, steps["step_due"].to_numpy("datetime64[D]"), today, cal)
    texts, blanks = messages.render_rows(steps["template"], parsed.raw, vars(settings))
    hard_call = per["hard_call"].fillna(False).to_numpy(dtype=bool)
    ctx = checks.CheckContext(parsed, rules, settings, today, cal, derived, books, plan, steps,
                              _due_this_week(blanks, steps, plan_week_start(cal, today)), last,
                              np.nan_to_num(counters["unreached"]),
                              np.nan_to_num(counters["no_progress"]), last_outcome, hard_call, renamed_ids,
                              headers or {}, list(below), kept)
    all_flags = checks.run(ctx)
    all_flags["message"] = render_flags(all_flags, settings.language)
    computed = _computed(parsed, plan, steps, all_flags, settings, today)
    view = _view(parsed, plan, last, agreed, last_outcome, per, rules, computed)
    view = _with_playbook(view, plan, steps, texts, ctx.escalated)
    return RefreshResult(today, view, computed, synced, all_flags, derived)


def _due_this_week(blanks: list[tuple[object, messages.Source]], steps: pd.DataFrame, monday: dt.date) -> list:
    """Blank values of the messages due by the end of the week planned from ``monday`` (the Agenda's and
    Plan's horizon: the coming week once this one's last working day is over)."""
    sunday = np.datetime64(monday + dt.timedelta(days=6), "D")
    due = steps["step_due"]
    return [(row, source) for row, source in blanks if due[row] <= sunday]


def _with_playbook(view: pd.DataFrame, plan: pd.DataFrame, steps: pd.DataFrame, texts: pd.Series,
                   escalated: np.ndarray) -> pd.DataFrame:
    """The next playbook step, its due day and message; its channel when it drives the next touch; whether
    the co-owner joins in."""
    step_channel = steps["step_channel"].to_numpy(dtype=object)
    use_channel = plan["by_step"].to_numpy() & pd.notna(step_channel)
    return view.assign(step=steps["step"].to_numpy(dtype=object), step_due=steps["step_due"].to_numpy(),
                       step_channel=step_channel, message=texts.to_numpy(dtype=object),
                       channel=np.where(use_channel, step_channel, view["channel"].to_numpy(dtype=object)),
                       escalated=escalated & (view["co_owner"] != "").to_numpy())


def _sync(parsed: ParsedLedger, per: pd.DataFrame, rules: Rules) -> dict[str, pd.Series]:
    """The synced fields the log moves forward: newest touch, newer agreed date, counters, newer tier change."""
    index = parsed.index
    out: dict[str, pd.Series] = {}
    logged = per["touches"].notna().to_numpy()
    _later(out, "last_contact", parsed.dates["last_contact"], per["last_touch"].to_numpy("datetime64[D]"), index)
    _later(out, "agreed_date", parsed.dates["agreed_date"], per["agreed"].to_numpy("datetime64[D]"), index)
    for key in ("unreached", "no_progress"):
        new = per[key].to_numpy(float)
        change = logged & (new != parsed.numbers[key])
        out[key] = pd.Series(new[change].astype("int64"), index=index[change])
    tier_day = per["new_tier_day"].to_numpy("datetime64[D]")
    since = parsed.dates["tier_since"]
    new_code = rules.tier_of(pd.Series(per["new_tier"].to_numpy(), index=index))
    newer = ~np.isnat(tier_day) & (np.isnat(since) | (tier_day > since)) & new_code.notna().to_numpy()
    out["tier"] = new_code[newer]
    out["tier_since"] = pd.Series(tier_day[newer], index=index[newer])
    return out


def _without_shared_ids(per: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """The log's summary per ledger row, none for rows whose ID is typed on another row too: whose touches
    they are cannot be told (the ID is flagged on both cells), and every other row goes on."""
    rows = shared(ids)
    if not rows.any():
        return per
    return per.reindex(np.where(rows, -1, np.arange(len(per)))).reset_index(drop=True)


def _split_kept(parsed: ParsedLedger, moved: dict[str, pd.Series]) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """The values the log moved, split into those to write and those kept out of cells the tool never writes
    over (unreadable text, an Excel error value, a formula: ``ParsedLedger.kept``). A tier change moves Tier
    and Tier since together: where either cell is kept, neither is written (the next run still sees it)."""
    pair = parsed.kept("tier") | parsed.kept("tier_since")
    synced, kept = {}, {}
    for key, values in moved.items():
        mask = pair if key in ("tier", "tier_since") else parsed.kept(key)
        locked = pd.Series(mask, index=parsed.index).loc[values.index].to_numpy()
        synced[key], kept[key] = values[~locked], values[locked]
    return synced, kept


def _later(out: dict, key: str, typed: np.ndarray, logged: np.ndarray, index: pd.Index) -> None:
    later = ~np.isnat(logged) & (np.isnat(typed) | (logged > typed))
    out[key] = pd.Series(logged[later], index=index[later])


def _effective(parsed: ParsedLedger, synced: dict[str, pd.Series], key: str) -> np.ndarray:
    values = parsed.dates[key].copy()
    change = synced[key]
    values[parsed.index.get_indexer(change.index)] = change.to_numpy("datetime64[D]")
    return values


def _computed(parsed: ParsedLedger, plan: pd.DataFrame, steps: pd.DataFrame, all_flags: pd.DataFrame,
              settings: Settings, today: dt.date) -> pd.DataFrame:
    index = parsed.index
    on_ledger = (all_flags["table"] == "ledger").to_numpy(dtype=bool)
    joined: dict = {}  # one cell per row, messages in check order
    suggested: dict = {}  # the first suggestion per row
    for row, message, tier in zip(*(all_flags[key].to_numpy(dtype=object)[on_ledger].tolist()
                                    for key in ("row", "message", "suggested_tier"))):
        joined[row] = message if row not in joined else f"{joined[row]}\n{message}"
        if str(tier) != "":
            suggested.setdefault(row, tier)
    pool = (checks.pool_days_left(plan["due"].to_numpy("datetime64[D]"), settings, today)
            if settings.pool_enabled else np.full(len(index), np.nan))
    return pd.DataFrame({
        "earliest": _dates(plan["earliest"]), "due": _dates(plan["due"]),
        "status": status_label(plan["status"].to_numpy(), settings.language),
        "days_overdue": np.where(plan["days_overdue"] > 0, plan["days_overdue"], None),
        "next_step": _step_cells(steps),
        "suggested_tier": _by_row(suggested, index),
        "pool_days_left": _whole(pool),
        "checks": _by_row(joined, index),
    }, index=index)


def _step_cells(steps: pd.DataFrame) -> np.ndarray:
    """'<step> <date>' of each row's next playbook step, blank when none."""
    out = np.full(len(steps), None, dtype=object)
    named = steps["step"].ne("").to_numpy()
    due = steps["step_due"].to_numpy("datetime64[D]")[named].astype(str).astype(object)
    out[named] = steps["step"].to_numpy(dtype=object)[named] + " " + due
    return out


def _whole(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    ok = ~np.isnan(values)
    out[ok] = values[ok].astype("int64").astype(object)
    return out


def _by_row(values: dict, index: pd.Index) -> np.ndarray:
    """The value of each row of ``index`` (row -> value), None when it has none or a blank one (NaN, NA)."""
    out = np.full(len(index), None, dtype=object)
    at = index.get_indexer(list(values))  # -1: not a ledger row (a missing column's header)
    found = np.fromiter((None if v is None or pd.isna(v) else v for v in values.values()), dtype=object,
                        count=len(values))
    out[at[at >= 0]] = found[at >= 0]
    return out


def _dates(values: pd.Series) -> np.ndarray:
    return values.to_numpy("datetime64[D]").astype(object)  # datetime.date, None for NaT


def _view(parsed: ParsedLedger, plan: pd.DataFrame, last: np.ndarray, agreed: np.ndarray, last_outcome: pd.Series,
          per: pd.DataFrame, rules: Rules, computed: pd.DataFrame) -> pd.DataFrame:
    tier = parsed.tier
    since = parsed.dates["tier_since"]
    pay_days = rules.tiers["payment_days"].reindex(tier.fillna("").to_numpy()).to_numpy(float)
    deadline = np.where(np.isnan(pay_days) | np.isnat(since), np.datetime64("NaT"),
                        since + np.nan_to_num(pay_days).astype("timedelta64[D]"))
    refusal_channel = rules.tiers["refusal_channel"].reindex(tier.fillna("").to_numpy()).fillna("").to_numpy()
    last_channel = per["last_channel"].fillna("phone").to_numpy()
    channel = np.where(last_outcome.eq("refused").fillna(False) & (refusal_channel != ""), refusal_channel,
                       last_channel)
    return pd.DataFrame({
        "customer_id": parsed.text("customer_id").to_numpy(), "name": parsed.text("name").to_numpy(),
        "owner": parsed.text("owner").to_numpy(), "co_owner": parsed.text("co_owner").to_numpy(),
        "tier": tier.to_numpy(), "kp": parsed.kp, "stage": parsed.text("stage").to_numpy(),
        "revenue": parsed.numbers["revenue"], "last_contact": last, "agreed_date": agreed,
        "earliest": plan["earliest"].to_numpy(), "due": plan["due"].to_numpy(), "status": plan["status"].to_numpy(),
        "days_overdue": plan["days_overdue"].to_numpy(), "payment_deadline": deadline,
        "birthday": parsed.dates["birthday"], "preferred_time": parsed.text("preferred_time").to_numpy(),
        "next_content": parsed.text("next_content").to_numpy(), "channel": channel,
        "week_followup": parsed.text("week_followup").to_numpy(), "next_actions": parsed.text("next_actions").to_numpy(),
        "suggested_tier": computed["suggested_tier"].to_numpy(),
    }, index=parsed.index)
