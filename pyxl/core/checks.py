"""Rules that flag a ledger row (domain.md §3). Each rule is one small function over the parsed ledger
returning flags: rule id, severity, the row and field, and a suggested tier where one follows.
Flags are data, never exceptions; messages are rendered per language by ``i18n.py``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .cadence import add_months
from .ledger import ParsedLedger
from .rules import Rules
from .settings import Settings
from .values import company_keys, member, phone_keys, split_list

FLAG_COLUMNS = ["rule", "severity", "table", "row", "field", "value", "suggested_tier", "args"]
SEVERITIES = ("error", "warning", "suggestion")


@dataclass
class CheckContext:
    ledger: ParsedLedger
    rules: Rules
    settings: Settings
    today: dt.date
    schedule: pd.DataFrame  # earliest, due, status, …
    last_contact: np.ndarray  # effective (typed or logged), datetime64[D]
    unreached: np.ndarray
    no_progress: np.ndarray
    last_outcome: pd.Series
    hard_call: np.ndarray  # the newest touch asks for a colleague

    @cached_property
    def co_owner_stage(self) -> np.ndarray:
        """Rows at a stage listed in the Rules parameter ``co_owner_stages`` (seed 003: B2 and on)."""
        return member(self.ledger.stage, split_list(self.rules.param("co_owner_stages", "")))

    @property
    def escalated(self) -> np.ndarray:
        """Rows the co-owner (manager/director) works on too: a co-owner stage, or a hard call."""
        return self.co_owner_stage | self.hard_call

    def tier_rule(self, column: str) -> pd.Series:
        """A Rules column looked up for each row's tier (NaN/'' where the tier is unknown)."""
        return self.rules.tiers[column].reindex(self.ledger.tier.fillna("").to_numpy()).set_axis(self.ledger.index)


def flags(rule: str, severity: str, mask: np.ndarray, ctx: CheckContext, field: str,
          suggested: object = "", args: dict | None = None) -> pd.DataFrame:
    rows = ctx.ledger.index[np.asarray(mask, dtype=bool)]
    values = ctx.ledger.raw.loc[rows, field] if field in ctx.ledger.raw else None
    if isinstance(suggested, pd.Series):
        suggested = suggested.loc[rows].to_numpy()
    return pd.DataFrame({"rule": rule, "severity": severity, "table": "ledger", "row": rows, "field": field,
                         "value": values.to_numpy() if values is not None else None,
                         "suggested_tier": suggested, "args": [args or {}] * len(rows)}, columns=FLAG_COLUMNS)


Check = Callable[[CheckContext], list[pd.DataFrame]]


def check_unreadable(ctx: CheckContext) -> list[pd.DataFrame]:
    out = [flags("tier.unknown", "error", ctx.ledger.bad["tier"], ctx, "tier",
                 args={"codes": ", ".join(ctx.rules.codes)})]
    out += [flags("cell.unreadable", "error", bad, ctx, key) for key, bad in ctx.ledger.bad.items() if key != "tier"]
    out.append(flags("tier.missing", "warning", ctx.ledger.blank("tier") & ~ctx.ledger.blank("name"), ctx, "tier"))
    return out


def check_dates(ctx: CheckContext) -> list[pd.DataFrame]:
    today = np.datetime64(ctx.today, "D")
    return [flags("last_contact.future", "error", ctx.ledger.dates["last_contact"] > today, ctx, "last_contact")]


def check_contact_details(ctx: CheckContext) -> list[pd.DataFrame]:
    led = ctx.ledger
    missing = led.blank("phone") & led.blank("email") & led.blank("wechat") & ~led.blank("name")
    return [flags("contact.missing", "warning", missing, ctx, "phone")]


def check_ids(ctx: CheckContext) -> list[pd.DataFrame]:
    ids = ctx.ledger.text("customer_id")
    present = ids.to_numpy(dtype=object) != ""
    dupes = present & ids.duplicated(keep=False).to_numpy()
    pattern = re.compile(rf"{re.escape(ctx.settings.id_prefix)}[A-Z]\d{{2}}\d{{3,}}")
    malformed = present & np.array([pattern.fullmatch(i) is None for i in ids], dtype=bool)
    missing = ~present & ~ctx.ledger.blank("name")
    return [flags("id.duplicate", "error", dupes, ctx, "customer_id"),
            flags("id.malformed", "warning", malformed, ctx, "customer_id",
                  args={"example": f"{ctx.settings.id_prefix}{ctx.settings.id_market}01001"}),
            flags("id.missing", "suggestion", missing, ctx, "customer_id")]




def check_duplicates(ctx: CheckContext) -> list[pd.DataFrame]:
    phone = pd.Index(phone_keys(ctx.ledger.text("phone").to_numpy(dtype=object)), dtype=object)
    name = pd.Index(company_keys(ctx.ledger.text("name").to_numpy(dtype=object)), dtype=object)
    same_phone = (phone != "") & phone.duplicated(keep=False)
    same_name = (name != "") & name.duplicated(keep=False)
    return [flags("customer.same_phone", "warning", same_phone, ctx, "phone"),
            flags("customer.same_name", "warning", same_name, ctx, "name")]


def check_tier_consistency(ctx: CheckContext) -> list[pd.DataFrame]:
    led, rules = ctx.ledger, ctx.rules
    kp_rule = ctx.tier_rule("kp").fillna("").to_numpy()
    no_kp_tier = next((c for c, r in rules.tiers["kp"].items() if r == "absent"), "")
    stages = ctx.tier_rule("stages").fillna("")
    wrong_stage = stages.ne("").to_numpy() & ~_stage_allowed(led, rules)
    return [flags("tier.kp_required", "warning", (kp_rule == "required") & ~led.kp, ctx, "kp", no_kp_tier),
            flags("tier.kp_absent", "warning", (kp_rule == "absent") & led.kp, ctx, "kp"),
            flags("tier.stage", "warning", wrong_stage, ctx, "stage", args={"stages": ""}).assign(
                args=[{"stages": s} for s in stages[wrong_stage]])]


def _stage_allowed(led: ParsedLedger, rules: Rules) -> np.ndarray:
    """Whether each row's stage is one its tier allows; stages typed as a label or alias count as their code."""
    typed = led.text("stage")
    stage = led.stage.fillna(typed).to_numpy(dtype=object)
    allowed = {f"{code}\x1f{s}" for code, stages in rules.tiers["stages"].items() for s in split_list(stages)}
    pairs = pd.Series(led.tier.fillna("").to_numpy(dtype=object) + "\x1f" + stage)
    return pairs.isin(allowed).to_numpy()


def check_revenue(ctx: CheckContext) -> list[pd.DataFrame]:
    revenue = ctx.ledger.numbers["revenue"]
    lo, hi = ctx.tier_rule("revenue_min").to_numpy(float), ctx.tier_rule("revenue_max").to_numpy(float)
    outside = ~np.isnan(revenue) & ((revenue < np.nan_to_num(lo, nan=-np.inf)) | (revenue >= np.nan_to_num(hi, nan=np.inf)))
    return [flags("tier.revenue", "suggestion", outside, ctx, "revenue", _tier_for_revenue(ctx.rules, revenue, ctx.ledger.index))]


def _tier_for_revenue(rules: Rules, revenue: np.ndarray, index: pd.Index) -> pd.Series:
    banded = rules.tiers[rules.tiers["revenue_min"].notna() | rules.tiers["revenue_max"].notna()]
    out = np.full(len(revenue), "", dtype=object)
    for code, t in banded.iloc[::-1].iterrows():
        inside = (revenue >= np.nan_to_num(t["revenue_min"], nan=-np.inf)) & (revenue < np.nan_to_num(t["revenue_max"], nan=np.inf))
        out[inside] = code
    return pd.Series(out, index=index)


def check_abandon(ctx: CheckContext) -> list[pd.DataFrame]:
    p, kp, out = ctx.rules.param, ctx.ledger.kp, []
    following = ~ctx.ledger.tier.isin(_no_follow_codes(ctx.rules)).to_numpy() & ctx.ledger.tier.notna().to_numpy()
    refused = ctx.last_outcome.eq("refused").fillna(False).to_numpy()
    rules = [
        ("abandon.unreached", kp & (ctx.unreached >= p("unreached_limit", 3)), "unreached", "unreached_limit"),
        ("abandon.considering", kp & ~refused & (ctx.no_progress >= p("considering_limit", 3)), "no_progress",
         "considering_limit"),
        ("abandon.refused", kp & refused & (ctx.no_progress >= p("refused_limit", 3)), "no_progress", "refused_limit"),
        ("abandon.non_kp", ~kp & (ctx.no_progress >= p("non_kp_refused_limit", 2)), "no_progress",
         "non_kp_refused_limit"),
    ]
    for rule, mask, field, limit in rules:
        suggest = str(p(limit.replace("limit", "suggest"), ""))
        out.append(flags(rule, "suggestion", mask & following & (ctx.ledger.tier != suggest).to_numpy(), ctx, field,
                         suggest, {"n": p(limit)}))
    return out


def check_dormant(ctx: CheckContext) -> list[pd.DataFrame]:
    months = int(ctx.rules.param("dormant_months", 3))
    suggest = str(ctx.rules.param("dormant_suggest", ""))
    last = ctx.last_contact
    limit = add_months(np.array([np.datetime64(ctx.today, "D")]), np.array([-months]))[0]
    skip = ctx.ledger.tier.isin([suggest, *_no_follow_codes(ctx.rules)]).to_numpy() | ctx.ledger.tier.isna().to_numpy()
    return [flags("dormant", "suggestion", ~np.isnat(last) & (last < limit) & ~skip, ctx, "last_contact", suggest,
                  {"months": months})]


def check_payment(ctx: CheckContext) -> list[pd.DataFrame]:
    days = ctx.tier_rule("payment_days").to_numpy(float)
    since = ctx.ledger.dates["tier_since"]
    deadline = since + np.nan_to_num(days, nan=0).astype("timedelta64[D]")
    late = ~np.isnan(days) & ~np.isnat(since) & (deadline < np.datetime64(ctx.today, "D"))
    return [flags("payment.late", "error", late, ctx, "tier_since").assign(
        args=[{"days": int(d), "deadline": str(x)} for d, x in zip(days[late], deadline[late])])]


def check_pool(ctx: CheckContext) -> list[pd.DataFrame]:
    if not ctx.settings.pool_enabled:
        return []
    left = pool_days_left(ctx.schedule["due"].to_numpy("datetime64[D]"), ctx.settings, ctx.today)
    warn = ~np.isnan(left) & (left >= 0) & (left <= ctx.settings.pool_warn_days)
    return [flags("pool.soon", "warning", warn, ctx, "due"), flags("pool.returned", "error", left < 0, ctx, "due")]


def pool_days_left(due: np.ndarray, settings: Settings, today: dt.date) -> np.ndarray:
    left = (due + np.timedelta64(settings.pool_grace_days, "D")) - np.datetime64(today, "D")
    return np.where(np.isnat(left), np.nan, left.astype("timedelta64[D]").astype("int64"))  # NaT casts to -2**63


def check_escalation(ctx: CheckContext) -> list[pd.DataFrame]:
    """Seed 003: from stage B2 on a manager or director co-owns the customer; a hard call asks for one."""
    alone = ctx.ledger.blank("co_owner")
    stage = ctx.co_owner_stage
    return [flags("escalation.stage", "warning", stage & alone, ctx, "co_owner",
                  args={"stages": str(ctx.rules.param("co_owner_stages", ""))}),
            flags("escalation.hard_call", "warning", ctx.hard_call & ~stage & alone, ctx, "co_owner")]


def _no_follow_codes(rules: Rules) -> list[str]:
    return list(rules.tiers.index[rules.tiers["unit"] == "none"])


CHECKS: list[Check] = [check_unreadable, check_dates, check_ids, check_duplicates, check_contact_details,
                       check_tier_consistency, check_revenue, check_payment, check_abandon, check_dormant,
                       check_pool, check_escalation]


def run_checks(ctx: CheckContext) -> pd.DataFrame:
    frames = [f for check in CHECKS for f in check(ctx) if len(f)]
    if not frames:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def stock_flags(ledger: ParsedLedger, rules: Rules) -> pd.DataFrame:
    """Customers per owner and tier against the tier's target stock (owner-level, not row-level)."""
    owners = ledger.text("owner").to_numpy(dtype=object)
    pairs = pd.DataFrame({"owner": np.where(owners == "", "-", owners),
                          "tier": ledger.tier.fillna("?").to_numpy(dtype=object)})
    counts = pairs.groupby(["owner", "tier"]).size().unstack(fill_value=0)
    rows = []
    for code, target in rules.tiers["target_stock"].dropna().items():
        have = counts[code] if code in counts else pd.Series(0, index=counts.index)
        for owner, n in have[have < target].items():
            rows.append({"rule": "stock.short", "severity": "suggestion", "table": "owners", "row": owner,
                         "field": "tier", "value": code, "suggested_tier": "",
                         "args": {"owner": owner, "tier": code, "have": int(n), "target": int(target)}})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)
