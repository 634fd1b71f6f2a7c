"""Every check the tool runs, in one registry (domain.md §3). A check is one small function over the
``CheckContext`` returning flags built by ``flags.flag`` for rules declared next to it, with their severity;
``run`` calls every registered check in order. Adding a check = one function here, its test, and its message in
both locales (``templates/locales/*.toml`` ``[checks]``).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from itertools import groupby
from operator import attrgetter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from . import reports
from .cadence import add_months, followed_up
from .calendar import DAY, TeamCalendar
from .contacts import DerivedLog
from .flags import RULES as RULES_BY_ID, concat, flag, no_flags, rule
from .i18n import texts
from .ids import shared
from .inputs import RowBelow
from .ledger import ParsedLedger
from .messages import Source
from .playbooks import Playbooks, start_days
from .rules import Rules
from .schema import HeaderMatch, fields, normalise, vocabulary
from .settings import Settings
from .values import company_keys, member, phone_keys, split_list


@dataclass
class CheckContext:
    """Everything a check may look at: the parsed ledger and log, the rules, settings and calendar, and what
    the engine computed from them."""
    ledger: ParsedLedger
    rules: Rules
    settings: Settings
    today: dt.date
    calendar: TeamCalendar
    log: DerivedLog
    books: Playbooks
    schedule: pd.DataFrame  # earliest, due, status, …
    steps: pd.DataFrame  # each row's next playbook step: step, step_due, template, …
    blanks: list[tuple[object, Source]]  # blank values a message due this week needs: (ledger row, source)
    last_contact: np.ndarray  # effective (typed or logged), datetime64[D]
    unreached: np.ndarray
    no_progress: np.ndarray
    last_outcome: pd.Series
    hard_call: np.ndarray  # the newest touch asks for a colleague
    renamed_ids: frozenset[str] = frozenset()  # IDs a roll-up suffixed with their book's number (by design)
    headers: Mapping[str, HeaderMatch] = field(default_factory=dict)  # "ledger"/"contacts": how headers matched
    below: list[RowBelow] = field(default_factory=list)  # rows under the tables after blank rows, not read
    kept: Mapping[str, pd.Series] = field(default_factory=dict)  # synced key -> {row: the log's value not written}

    @cached_property
    def co_owner_stage(self) -> np.ndarray:
        """Rows at a co-owner stage (seed 003: B2 and on; ``Rules.co_owner_stages``)."""
        return member(self.ledger.stage, self.rules.co_owner_stages())

    @property
    def escalated(self) -> np.ndarray:
        """Rows the co-owner (manager/director) works on too: a co-owner stage, or a hard call."""
        return self.co_owner_stage | self.hard_call

    def tier_rule(self, column: str) -> pd.Series:
        """A Rules column looked up for each row's tier (NaN/'' where the tier is unknown)."""
        return self.rules.tiers[column].reindex(self.ledger.tier.fillna("").to_numpy()).set_axis(self.ledger.index)

    def missing_columns(self, table: str) -> frozenset[str]:
        """Required fields of ``table`` ("ledger"/"contacts") whose header is not in the workbook."""
        return self._missing_columns.get(table, frozenset())

    @cached_property
    def _missing_columns(self) -> dict[str, frozenset[str]]:
        return {table: frozenset(f.key for f in fields(table) if f.required and f.key not in match.columns.values())
                for table, match in self.headers.items()}

    def at(self, rule_: object, mask: np.ndarray, field: str, suggested: object = "",
           args: dict | list[dict] | None = None) -> pd.DataFrame:
        """Flags of a ledger rule on the rows where ``mask`` holds, with the cells' typed values; none on a
        required column that is missing (its header is flagged once instead)."""
        mask = np.asarray(mask, dtype=bool) & (field not in self.missing_columns("ledger"))
        if not mask.any():
            return no_flags()
        rows = self.ledger.index[mask]
        values = self.ledger.raw[field].iloc[np.flatnonzero(mask)] if field in self.ledger.raw else None
        if isinstance(suggested, pd.Series):
            suggested = suggested.loc[rows].to_numpy()
        return flag(rule_, rows, field, values, suggested, args)


Check = Callable[[CheckContext], list[pd.DataFrame]]
CHECKS: list[Check] = []


def check(func: Check) -> Check:
    """Register a check; checks run, and their messages join a row's Checks cell, in registration order."""
    CHECKS.append(func)
    return func


def run(ctx: CheckContext) -> pd.DataFrame:
    return concat(f for c in CHECKS for f in c(ctx))


# ---------------------------------------------------------------- headers
HEADER_MISSING = rule("header.missing", "error")
LOG_HEADER_MISSING = rule("log.header_missing", "error", "contacts")


@check
def check_headers(ctx: CheckContext) -> list[pd.DataFrame]:
    """A required column whose header was renamed or deleted: one flag naming it and the labels it may have
    (the row is None: the cell is the table's header row, found by whoever knows where the table is)."""
    out = []
    for table, rule_ in (("ledger", HEADER_MISSING), ("contacts", LOG_HEADER_MISSING)):
        missing = [f for f in fields(table) if f.key in ctx.missing_columns(table)]
        out.append(flag(rule_, [None] * len(missing), [f.key for f in missing],
                        args=[{"expected": " / ".join(dict.fromkeys((f.zh, f.en, *f.aliases)))} for f in missing]))
    return out


# ---------------------------------------------------------------- ledger rows
TIER_UNKNOWN = rule("tier.unknown", "error")
CELL_UNREADABLE = rule("cell.unreadable", "error")
TIER_MISSING = rule("tier.missing", "warning")
CELL_ERROR = rule("cell.error", "error")


@check
def check_unreadable(ctx: CheckContext) -> list[pd.DataFrame]:
    """Cells that cannot be read: an unknown tier, unreadable dates and numbers, Excel error values (named as
    the error they are, never as a blank), and a blank tier."""
    out = [ctx.at(TIER_UNKNOWN, ctx.ledger.bad["tier"], "tier", args={"codes": ", ".join(ctx.rules.codes)})]
    out += [ctx.at(CELL_UNREADABLE, bad, key) for key, bad in ctx.ledger.bad.items() if key != "tier"]
    out += [ctx.at(CELL_ERROR, errors, key) for key, errors in ctx.ledger.errors.items() if errors.any()]
    out.append(ctx.at(TIER_MISSING, ctx.ledger.blank("tier") & ~ctx.ledger.blank("name"), "tier"))
    return out


SYNCED_KEPT = rule("synced.kept", "warning")
SYNCED_FORMULA = rule("synced.formula", "warning")


@check
def check_kept(ctx: CheckContext) -> list[pd.DataFrame]:
    """Synced cells (Last contact, Agreed date, counters, Tier, Tier since) the tool does not write over
    although the log moved them — text it cannot read, an error value, a formula: the log's value is shown and
    used; and every formula there, which keeps the column from following the log."""
    out = []
    for key, values in ctx.kept.items():
        logged = [{"logged": _logged(v)} for v in values.to_numpy(dtype=object)]
        out.append(ctx.at(SYNCED_KEPT, ctx.ledger.index.isin(values.index), key, args=logged))
        formulas = ctx.ledger.formulas.get(key, np.zeros(len(ctx.ledger.index), dtype=bool))
        out.append(ctx.at(SYNCED_FORMULA, formulas & ~ctx.ledger.index.isin(values.index), key))
    return out


def _logged(value: object) -> str:
    """A value the log moved, as a message shows it: a date as 2026-11-20."""
    return str(np.datetime64(value, "D")) if isinstance(value, (np.datetime64, pd.Timestamp)) else str(value)


LAST_CONTACT_FUTURE = rule("last_contact.future", "error")


@check
def check_dates(ctx: CheckContext) -> list[pd.DataFrame]:
    today = np.datetime64(ctx.today, "D")
    return [ctx.at(LAST_CONTACT_FUTURE, ctx.ledger.dates["last_contact"] > today, "last_contact")]


AGREED_NON_WORKING = rule("agreed.non_working", "warning")


@check
def check_agreed_day(ctx: CheckContext) -> list[pd.DataFrame]:
    """An agreed date (typed or logged) on a non-working day, still to come: Due and the plan take the next
    working day, since calling before the day the customer named would be too soon."""
    typed = ctx.ledger.dates["agreed_date"]
    logged = ctx.log.per_ledger_row["agreed"].to_numpy("datetime64[D]")
    agreed = np.where(np.isnat(typed) | (logged > typed), logged, typed)
    moved = ctx.calendar.roll_forward(agreed)
    hit = ~np.isnat(agreed) & (moved != agreed) & (moved >= np.datetime64(ctx.today, "D"))
    args = [{"day": str(moved[i]), "agreed": str(agreed[i])} for i in np.flatnonzero(hit)]
    return [ctx.at(AGREED_NON_WORKING, hit, "agreed_date", args=args)]


ID_DUPLICATE = rule("id.duplicate", "error")
ID_MALFORMED = rule("id.malformed", "warning")
ID_MISSING = rule("id.missing", "suggestion")


@check
def check_ids(ctx: CheckContext) -> list[pd.DataFrame]:
    ids = ctx.ledger.text("customer_id")
    present = ids.to_numpy(dtype=object) != ""
    dupes = shared(ids)
    pattern = re.compile(rf"{re.escape(ctx.settings.id_prefix)}[A-Z]\d{{2}}\d{{3,}}")
    malformed = present & np.array([pattern.fullmatch(i) is None and i not in ctx.renamed_ids for i in ids], dtype=bool)
    missing = ~present & ~ctx.ledger.blank("name")
    return [ctx.at(ID_DUPLICATE, dupes, "customer_id"),
            ctx.at(ID_MALFORMED, malformed, "customer_id",
                   args={"example": f"{ctx.settings.id_prefix}{ctx.settings.id_market}01001"}),
            ctx.at(ID_MISSING, missing, "customer_id")]


SAME_PHONE = rule("customer.same_phone", "warning")
SAME_NAME = rule("customer.same_name", "warning")


@check
def check_duplicates(ctx: CheckContext) -> list[pd.DataFrame]:
    phone = pd.Index(phone_keys(ctx.ledger.text("phone").to_numpy(dtype=object)), dtype=object)
    name = pd.Index(company_keys(ctx.ledger.text("name").to_numpy(dtype=object)), dtype=object)
    return [ctx.at(SAME_PHONE, (phone != "") & phone.duplicated(keep=False), "phone"),
            ctx.at(SAME_NAME, (name != "") & name.duplicated(keep=False), "name")]


CONTACT_MISSING = rule("contact.missing", "warning")


@check
def check_contact_details(ctx: CheckContext) -> list[pd.DataFrame]:
    led = ctx.ledger
    missing = led.blank("phone") & led.blank("email") & led.blank("wechat") & ~led.blank("name")
    return [ctx.at(CONTACT_MISSING, missing, "phone")]


KP_REQUIRED = rule("tier.kp_required", "warning")
KP_ABSENT = rule("tier.kp_absent", "warning")
TIER_STAGE = rule("tier.stage", "warning")


@check
def check_tier_consistency(ctx: CheckContext) -> list[pd.DataFrame]:
    led, rules = ctx.ledger, ctx.rules
    kp_rule = ctx.tier_rule("kp").fillna("").to_numpy()
    no_kp_tier = next((c for c, r in rules.tiers["kp"].items() if r == "absent"), "")
    stages = ctx.tier_rule("stages").fillna("")
    wrong_stage = stages.ne("").to_numpy() & ~_stage_allowed(led, rules)
    return [ctx.at(KP_REQUIRED, (kp_rule == "required") & ~led.kp, "kp", no_kp_tier),
            ctx.at(KP_ABSENT, (kp_rule == "absent") & led.kp, "kp"),
            ctx.at(TIER_STAGE, wrong_stage, "stage", args=[{"stages": s} for s in stages[wrong_stage]])]


def _stage_allowed(led: ParsedLedger, rules: Rules) -> np.ndarray:
    """Whether each row's stage is one its tier allows; stages typed as a label or alias count as their code."""
    typed = led.text("stage")
    stage = led.stage.fillna(typed).to_numpy(dtype=object)
    allowed = {f"{code}\x1f{s}" for code, stages in rules.tiers["stages"].items() for s in split_list(stages)}
    pairs = pd.Series(led.tier.fillna("").to_numpy(dtype=object) + "\x1f" + stage)
    return pairs.isin(allowed).to_numpy()


TIER_REVENUE = rule("tier.revenue", "suggestion")


@check
def check_revenue(ctx: CheckContext) -> list[pd.DataFrame]:
    revenue = ctx.ledger.numbers["revenue"]
    lo, hi = ctx.tier_rule("revenue_min").to_numpy(float), ctx.tier_rule("revenue_max").to_numpy(float)
    outside = ~np.isnan(revenue) & ((revenue < np.nan_to_num(lo, nan=-np.inf)) | (revenue >= np.nan_to_num(hi, nan=np.inf)))
    return [ctx.at(TIER_REVENUE, outside, "revenue", _tier_for_revenue(ctx.rules, revenue, ctx.ledger.index))]


def _tier_for_revenue(rules: Rules, revenue: np.ndarray, index: pd.Index) -> pd.Series:
    banded = rules.tiers[rules.tiers["revenue_min"].notna() | rules.tiers["revenue_max"].notna()]
    out = np.full(len(revenue), "", dtype=object)
    for code, t in banded.iloc[::-1].iterrows():
        inside = (revenue >= np.nan_to_num(t["revenue_min"], nan=-np.inf)) & (revenue < np.nan_to_num(t["revenue_max"], nan=np.inf))
        out[inside] = code
    return pd.Series(out, index=index)


PAYMENT_LATE = rule("payment.late", "error")


@check
def check_payment(ctx: CheckContext) -> list[pd.DataFrame]:
    days = ctx.tier_rule("payment_days").to_numpy(float)
    since = ctx.ledger.dates["tier_since"]
    deadline = since + np.nan_to_num(days, nan=0).astype("timedelta64[D]")
    late = ~np.isnan(days) & ~np.isnat(since) & (deadline < np.datetime64(ctx.today, "D"))
    return [ctx.at(PAYMENT_LATE, late, "tier_since",
                   args=[{"days": int(d), "deadline": str(x)} for d, x in zip(days[late], deadline[late])])]


ABANDON_UNREACHED = rule("abandon.unreached", "suggestion")
ABANDON_CONSIDERING = rule("abandon.considering", "suggestion")
ABANDON_REFUSED = rule("abandon.refused", "suggestion")
ABANDON_NON_KP = rule("abandon.non_kp", "suggestion")


@check
def check_abandon(ctx: CheckContext) -> list[pd.DataFrame]:
    p, kp, out = ctx.rules.param, ctx.ledger.kp, []
    following = ~ctx.ledger.tier.isin(_no_follow_codes(ctx.rules)).to_numpy() & ctx.ledger.tier.notna().to_numpy()
    refused = ctx.last_outcome.eq("refused").fillna(False).to_numpy()
    rules = [
        (ABANDON_UNREACHED, kp & (ctx.unreached >= p("unreached_limit", 3)), "unreached", "unreached_limit"),
        (ABANDON_CONSIDERING, kp & ~refused & (ctx.no_progress >= p("considering_limit", 3)), "no_progress",
         "considering_limit"),
        (ABANDON_REFUSED, kp & refused & (ctx.no_progress >= p("refused_limit", 3)), "no_progress", "refused_limit"),
        (ABANDON_NON_KP, ~kp & (ctx.no_progress >= p("non_kp_refused_limit", 2)), "no_progress",
         "non_kp_refused_limit"),
    ]
    for rule_, mask, column, limit in rules:
        suggest = str(p(limit.replace("limit", "suggest"), ""))
        out.append(ctx.at(rule_, mask & following & (ctx.ledger.tier != suggest).to_numpy(), column, suggest,
                          {"n": p(limit)}))
    return out


DORMANT = rule("dormant", "suggestion")


@check
def check_dormant(ctx: CheckContext) -> list[pd.DataFrame]:
    months = int(ctx.rules.param("dormant_months", 3))
    suggest = str(ctx.rules.param("dormant_suggest", ""))
    last = ctx.last_contact
    limit = add_months(np.array([np.datetime64(ctx.today, "D")]), np.array([-months]))[0]
    skip = ctx.ledger.tier.isin([suggest, *_no_follow_codes(ctx.rules)]).to_numpy() | ctx.ledger.tier.isna().to_numpy()
    return [ctx.at(DORMANT, ~np.isnat(last) & (last < limit) & ~skip, "last_contact", suggest, {"months": months})]


POOL_SOON = rule("pool.soon", "warning")
POOL_RETURNED = rule("pool.returned", "error")


@check
def check_pool(ctx: CheckContext) -> list[pd.DataFrame]:
    if not ctx.settings.pool_enabled:
        return []
    left = pool_days_left(ctx.schedule["due"].to_numpy("datetime64[D]"), ctx.settings, ctx.today)
    warn = ~np.isnan(left) & (left >= 0) & (left <= ctx.settings.pool_warn_days)
    return [ctx.at(POOL_SOON, warn, "due"), ctx.at(POOL_RETURNED, left < 0, "due")]


def pool_days_left(due: np.ndarray, settings: Settings, today: dt.date) -> np.ndarray:
    left = (due + np.timedelta64(settings.pool_grace_days, "D")) - np.datetime64(today, "D")
    return np.where(np.isnat(left), np.nan, left.astype("timedelta64[D]").astype("int64"))  # NaT casts to -2**63


ESCALATION_STAGE = rule("escalation.stage", "warning")
ESCALATION_HARD_CALL = rule("escalation.hard_call", "warning")


@check
def check_escalation(ctx: CheckContext) -> list[pd.DataFrame]:
    """Seed 003: from stage B2 on a manager or director co-owns the customer; a hard call asks for one."""
    alone = ctx.ledger.blank("co_owner")
    stage = ctx.co_owner_stage
    return [ctx.at(ESCALATION_STAGE, stage & alone, "co_owner", args={"stages": ",".join(ctx.rules.co_owner_stages())}),
            ctx.at(ESCALATION_HARD_CALL, ctx.hard_call & ~stage & alone, "co_owner")]


STAGE_IDLE = rule("stage.idle", "warning")


@check
def check_stage_idle(ctx: CheckContext) -> list[pd.DataFrame]:
    """A customer whose stage allows at most N working days without a touch (the stage table's idle days) and
    whose last follow-up (Last contact, or a playbook step done since) is N or more working days ago (to be
    explained at the weekly meeting). Flagged on Last contact."""
    limit = ctx.rules.stages["idle_days"].reindex(ctx.ledger.stage.fillna("").to_numpy()).to_numpy(dtype=float)
    last = followed_up(ctx.last_contact, ctx.steps)
    rows = ~np.isnan(limit) & ~np.isnat(last) & (last < np.datetime64(ctx.today, "D"))
    idle = np.zeros(len(last), dtype="int64")
    idle[rows] = ctx.calendar.networkdays(last[rows] + DAY, np.full(rows.sum(), np.datetime64(ctx.today, "D")))
    late = rows & (idle >= np.nan_to_num(limit, nan=np.inf))
    return [ctx.at(STAGE_IDLE, late, "last_contact",
                   args=[{"stage": s, "days": int(d), "limit": int(n)}
                         for s, d, n in zip(ctx.ledger.stage[late], idle[late], limit[late])])]


def _no_follow_codes(rules: Rules) -> list[str]:
    return list(rules.tiers.index[rules.tiers["unit"] == "none"])


# ---------------------------------------------------------------- playbooks and messages
PLAYBOOK_UNKNOWN = rule("playbook.unknown", "error")
PLAYBOOK_NO_START = rule("playbook.no_start", "warning")
TEMPLATE_MISSING = rule("template.missing", "warning")
TEMPLATE_MISSING_SETTING = rule("template.missing_setting", "warning", "settings")


@check
def check_playbooks(ctx: CheckContext) -> list[pd.DataFrame]:
    """Ledger rows naming an unknown playbook or lacking a start day, and blank values a message needs
    (ledger cells per row; a Settings value once, with the number of messages waiting for it)."""
    typed = ctx.ledger.text("playbook")
    names = typed[typed.ne("")]
    unknown = [r for r, name in names.items() if ctx.books.find(name) is None]
    no_day = pd.Series(np.isnat(playbook_start(ctx.ledger)), index=typed.index)
    starts = {k for k, v in ctx.books.steps.items() if any(s.start == "start" for s in v)}
    no_start = [r for r, name in names.items() if no_day[r] and normalise(name) in starts]
    on_ledger = [(r, src) for r, src in ctx.blanks if src.table == "ledger"]
    waiting = pd.Series([src.key for _, src in ctx.blanks if src.table == "settings"], dtype=object).value_counts()
    placeholder = vocabulary("placeholder")
    return [flag(PLAYBOOK_UNKNOWN, unknown, "playbook", names[unknown], args={"names": " / ".join(ctx.books.names)}),
            flag(PLAYBOOK_NO_START, no_start, "playbook_start"),
            flag(TEMPLATE_MISSING, [r for r, _ in on_ledger], [src.key for _, src in on_ledger],
                 args=[{"step": ctx.steps["step"][r]} for r, _ in on_ledger]),
            flag(TEMPLATE_MISSING_SETTING, [ctx.settings.rows.get(key) for key in waiting.index], "value",
                 args=[{"key": key, "n": int(n), "placeholder": placeholder.label(key, ctx.settings.language)}
                       for key, n in waiting.items()])]


def playbook_start(ledger: ParsedLedger) -> np.ndarray:
    """Each row's playbook start day: the Playbook start cell, else the Assigned date."""
    return start_days(ledger.dates["playbook_start"], ledger.dates["assigned"])


# ---------------------------------------------------------------- per owner
STOCK_SHORT = rule("stock.short", "suggestion", "owners")


@check
def check_stock(ctx: CheckContext) -> list[pd.DataFrame]:
    """Customers per owner and tier against the tier's target stock: one line per owner that is short,
    naming each tier below target with what the owner has and the target (owner-level, not row-level)."""
    owners = ctx.ledger.text("owner").to_numpy(dtype=object)
    counts = Counter(zip(np.where(owners == "", "-", owners).tolist(), ctx.ledger.tier.fillna("?").tolist()))
    by_name = sorted({owner for owner, _ in counts})
    short: dict[str, list[tuple[str, int, int]]] = {}
    for code, target in ctx.rules.tiers["target_stock"].dropna().items():
        for owner in by_name:
            if (n := counts[owner, code]) < target:
                short.setdefault(owner, []).append((code, n, int(target)))
    return [flag(STOCK_SHORT, list(short), "tier", [",".join(c for c, _, _ in s) for s in short.values()],
                 args=[{"owner": o, "short": [f"{c} {n}/{t}" for c, n, t in s], "tiers": len(s)}
                       for o, s in short.items()])]


# ---------------------------------------------------------------- the contact log
LOG_INVALID = rule("log.invalid", "error", "contacts")
LOG_UNKNOWN_CUSTOMER = rule("log.unknown_customer", "error", "contacts")
LOG_FUTURE = rule("log.future", "warning", "contacts")
LOG_DUPLICATE = rule("log.duplicate", "warning", "contacts")
LOG_UNKNOWN_STEP = rule("log.unknown_step", "warning", "contacts")


@check
def check_log(ctx: CheckContext) -> list[pd.DataFrame]:
    """Log cells that could not be read or applied (found while deriving the log), in the order found; no
    touch is an unknown customer while the ledger's ID column is missing (its header is flagged once)."""
    no_ids = "customer_id" in ctx.missing_columns("ledger")
    return _problem_flags([p for p in ctx.log.problems if not (no_ids and p.rule == "log.unknown_customer")])


@check
def check_log_steps(ctx: CheckContext) -> list[pd.DataFrame]:
    """Touches naming a step that is not in the customer's playbook."""
    named = ctx.log.touches[ctx.log.touches["step"].notna()]
    if named.empty:
        return []
    playbook_of = dict(zip(ctx.ledger.text("customer_id"), ctx.ledger.text("playbook")))
    unknown = [(row, step) for row, cid, step in zip(named.index, named["customer_id"], named["step"])
               if normalise(step) not in {normalise(s.name) for s in ctx.books.find(playbook_of.get(cid, "")) or ()}]
    return [flag(LOG_UNKNOWN_STEP, [r for r, _ in unknown], "step", [s for _, s in unknown])]


# ---------------------------------------------------------------- the Sequences, Rules and Settings sheets
SEQUENCES_INVALID = rule("sequences.invalid", "error", "sequences")
TEMPLATE_UNKNOWN = rule("template.unknown", "error", "sequences")
RULES_INVALID = rule("rules.invalid", "error", "rules")
STAGES_INVALID = rule("stages.invalid", "error", "stages")
SETTINGS_INVALID = rule("settings.invalid", "error", "settings")
# cells of the Rules parameters and of the Settings sheet's other tables a typo made unusable
PARAMS_INVALID = rule("params.invalid", "error", "params")
HOLIDAY_INVALID = rule("holiday.invalid", "error", "holidays")
WORKDAY_INVALID = rule("workday.invalid", "error", "workdays")
OWNER_CAPACITY_INVALID = rule("owner.capacity_invalid", "error", "owners")
BLOCK_INVALID = rule("block.invalid", "error", "blocks")
_SETTINGS_SHEET_RULES = {"settings": SETTINGS_INVALID, "holidays": HOLIDAY_INVALID, "workdays": WORKDAY_INVALID,
                         "owners": OWNER_CAPACITY_INVALID, "blocks": BLOCK_INVALID}


@check
def check_sequences(ctx: CheckContext) -> list[pd.DataFrame]:
    return _problem_flags(ctx.books.problems, lambda p: {"expected": p.expected})


@check
def check_rules(ctx: CheckContext) -> list[pd.DataFrame]:
    """Rules and parameter cells that could not be used as typed (a parameter's default applies)."""
    lang = ctx.settings.language
    out = []
    for table, rule_ in (("rules", RULES_INVALID), ("params", PARAMS_INVALID), ("stages", STAGES_INVALID)):
        problems = [p for p in ctx.rules.problems if p.table == table]
        fields = [p.field if table != "params" else "value" for p in problems]  # a parameter: its value cell
        out.append(flag(rule_, [p.row for p in problems], fields, [p.value for p in problems],
                        args=[{"key": p.field, "expected": expected_text(p.expected, lang)} for p in problems]))
    return out


@check
def check_settings(ctx: CheckContext) -> list[pd.DataFrame]:
    """Settings-sheet cells that could not be used as typed, each with what is used instead: the key's
    default (templates/settings.toml), the daily capacity, or nothing (the holiday or block is left out)."""
    s, lang = ctx.settings, ctx.settings.language
    out = []
    for table, rule_ in _SETTINGS_SHEET_RULES.items():
        problems = [p for p in s.problems if p.table == table]
        out.append(flag(rule_, [p.row for p in problems], [p.field for p in problems], [p.value for p in problems],
                        args=[{"key": p.key, "expected": expected_text(p.expected, lang),
                               "default": _setting_shown(getattr(s, p.key, None) if table == "settings" else None, lang),
                               "capacity": s.daily_capacity} for p in problems]))
    return out


def expected_text(key: str, lang: str) -> str:
    """What a cell should hold, in ``lang`` (``[input]`` of the locales; other text, e.g. a list of terms, as
    it is)."""
    return texts(lang)["input"].get(key, key)


def _setting_shown(value: object, lang: str) -> str:
    """A setting's value as the Settings sheet shows it."""
    if value is None:  # the as-of date's default
        return texts(lang)["input"]["today"]
    if value == "":
        return texts(lang)["input"]["blank"]
    if isinstance(value, bool):
        return vocabulary("bool").label("yes" if value else "no", lang)
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return str(value)


# ---------------------------------------------------------------- the week
FRIDAY_BLANK = rule("week.friday_blank", "warning")


@check
def check_friday(ctx: CheckContext) -> list[pd.DataFrame]:
    """A warning on each customer contacted this week whose Friday columns are still blank once the week's
    last working day has come; the field named is the first blank one."""
    if not reports.friday_is_due(ctx.calendar, ctx.today):
        return []
    texts = pd.DataFrame({key: ctx.ledger.text(key) for key in reports.FRIDAY_FIELDS})
    touched = reports.touched_this_week(ctx.ledger.text("customer_id"), ctx.last_contact, ctx.log.touches, ctx.today)
    missing = texts[touched & reports.blank_friday(texts)]
    return [flag(FRIDAY_BLANK, missing.index, np.where(missing["week_followup"].eq(""), "week_followup",
                                                       "next_actions"))]


def _problem_flags(problems: list, args: Callable[[object], dict] = lambda p: {}) -> list[pd.DataFrame]:
    """Flags of the cells a table's reader could not use (each problem names its rule, row, field and value):
    one frame per run of problems of the same rule, so thousands of bad cells are not thousands of frames and
    their order is kept."""
    out = []
    for rule_id, run in groupby(problems, key=attrgetter("rule")):
        run = list(run)
        out.append(flag(RULES_BY_ID[rule_id], [p.row for p in run], [p.field for p in run], [p.value for p in run],
                        args=[args(p) for p in run]))
    return out


# ---------------------------------------------------------------- rows under the tables
ROW_BELOW_TABLE = rule("table.row_below", "error", "cells")


@check
def check_rows_below_tables(ctx: CheckContext) -> list[pd.DataFrame]:
    """A row typed under a table after blank rows is not part of it: named, with the blank rows to delete."""
    rows = ctx.below
    return [flag(ROW_BELOW_TABLE, [r.cell for r in rows], "", args=[
        {"table": r.table, "rows": f"{r.blank_rows[0]}" if r.blank_rows[0] == r.blank_rows[1]
         else f"{r.blank_rows[0]}–{r.blank_rows[1]}"} for r in rows])]
