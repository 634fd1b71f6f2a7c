"""Manager views (domain.md §6): funnel by tier, per-owner figures, touches per day, the weekly
progress report (周进度) with each customer's Friday columns, and tier conversions. Pure pandas over the
refreshed view and the log."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import TeamCalendar, week_start
from .rules import Rules
from .settings import Settings
from .values import is_blank, split_list

DAYS_SHOWN = 14
CONVERSION_WEEKS = 4


@dataclass
class Dashboard:
    funnel: pd.DataFrame
    owners: pd.DataFrame
    per_day: pd.DataFrame
    weekly: pd.DataFrame
    conversions: pd.DataFrame
    friday: pd.DataFrame  # this week's follow-up per customer: see ``friday_columns``


def dashboard(view: pd.DataFrame, touches: pd.DataFrame, rules: Rules, settings: Settings,
              cal: TeamCalendar, today: dt.date) -> Dashboard:
    monday = week_start(today)
    touches = _tier_codes(touches, rules)
    week = touches[(touches["day"] >= np.datetime64(monday)) & (touches["day"] <= np.datetime64(today))]
    return Dashboard(funnel(view, rules), owners(view, week, rules, settings, cal, today),
                     per_day(touches, today), weekly(view, week, settings, cal, today, rules, used_fields(touches)),
                     conversions(touches, today), friday_columns(view, touches, rules, cal, today))


def funnel(view: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Customers per tier against the team's target stock (target per owner × owners)."""
    counts = Counter(view["tier"].tolist())
    n_owners = max(len({o for o in view["owner"].tolist() if o == o and o != ""}), 1)  # o == o: not NaN
    customers = np.array([counts.get(code, 0) for code in rules.tiers.index], dtype=np.int64)
    target = rules.tiers["target_stock"].to_numpy(dtype=float) * n_owners
    return pd.DataFrame({"tier": rules.tiers.index, "name": rules.tiers["name"].to_numpy(), "customers": customers,
                         "target": target, "shortfall": np.maximum(target - customers, 0)})


def owners(view: pd.DataFrame, week: pd.DataFrame, rules: Rules, settings: Settings, cal: TeamCalendar,
           today: dt.date) -> pd.DataFrame:
    """Per owner (a blank owner shown as '-'; the owners the Settings list, with or without customers): their
    customers, overdue, due today and this week, late payments, and this week's touches against the target."""
    day, sunday = np.datetime64(today, "D"), np.datetime64(week_start(today), "D") + np.timedelta64(6, "D")
    owner = view["owner"].to_numpy(dtype=object)
    owner = np.where(owner == "", "-", owner)
    codes, names = pd.factorize(owner, sort=True)  # as a groupby: sorted, NaN left out
    status, due = view["status"].to_numpy(dtype=object), view["due"].to_numpy("datetime64[D]")
    rows = _owner_rows(names.tolist(), settings.owners)
    position = {name: i for i, name in enumerate(names.tolist())}
    at = np.array([position.get(name, -1) for name in rows], dtype=np.int64)  # -1: the appended 0

    def customers(mask: np.ndarray) -> np.ndarray:
        return np.append(np.bincount(codes[mask & (codes >= 0)], minlength=len(names)), 0)[at]

    owner_of = dict(zip(view["customer_id"].tolist(), owner.tolist()))
    touch_owner = [owner_of.get(c) for c in week["customer_id"].tolist()]

    def touches(mask: np.ndarray) -> np.ndarray:
        counts = Counter(o for o, hit in zip(touch_owner, mask.tolist()) if hit and o is not None)
        return np.array([counts.get(name, 0) for name in rows], dtype=np.int64)

    workdays = len(cal.workdays_between(week_start(today), today))
    return pd.DataFrame({
        "owner": pd.array(rows, dtype="str"), "customers": customers(np.ones(len(owner), dtype=bool)),
        "overdue": customers(status == "overdue"), "due_today": customers(status == "due_today"),
        "due_week": customers((due >= day) & (due <= sunday)),
        "touches_week": touches(np.ones(len(touch_owner), dtype=bool)),
        "effective_week": touches(week["reached"].to_numpy(dtype=bool)),
        "effective_target": np.full(len(rows), settings.effective_target * workdays, dtype=np.int64),
        "new_key_week": touches(week["new_tier"].isin(_key_tiers(rules)).to_numpy()),
        "payment_late": customers(view["payment_deadline"].to_numpy("datetime64[D]") < day)})


def _owner_rows(with_customers: list[str], owners_table: pd.DataFrame) -> list[str]:
    """The owners with customers (sorted) and those the Settings list: the sorted union; the listed ones in
    their order when no owner has a customer."""
    listed = owners_table.get("owner", pd.Series(dtype=object))
    listed = list(dict.fromkeys(listed[~is_blank(listed)].astype(str).str.strip().tolist()))
    if not with_customers or not listed:
        return with_customers or listed
    return sorted(set(with_customers) | set(listed))


def per_day(touches: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Touches and reached touches on each of the last ``DAYS_SHOWN`` days, today last."""
    first = np.datetime64(today, "D") - (DAYS_SHOWN - 1)
    offset = (touches["day"].to_numpy("datetime64[D]") - first).astype("int64")  # NaT: far below 0
    shown = (offset >= 0) & (offset < DAYS_SHOWN)
    reached = touches["reached"].to_numpy(dtype=bool)
    return pd.DataFrame({"date": first + np.arange(DAYS_SHOWN),
                         "touches": np.bincount(offset[shown], minlength=DAYS_SHOWN).astype(np.int64),
                         "effective": np.bincount(offset[shown & reached], minlength=DAYS_SHOWN).astype(np.int64)})


def weekly(view: pd.DataFrame, week: pd.DataFrame, settings: Settings, cal: TeamCalendar, today: dt.date,
           rules: Rules, used: frozenset[str] = frozenset()) -> pd.DataFrame:
    """The seed's 周进度: metric key, value, target, met (None where there is no target). Collections and
    competitor news are blank unless the team's log has ever used them (``used``, see ``used_fields``)."""
    workdays = len(cal.workdays_between(week_start(today), today))
    effective = int(week["reached"].sum())
    touches = len(week)
    deals = int(week["outcome"].eq("deal").sum())
    new_key = int(week["new_tier"].isin(_key_tiers(rules)).sum())
    abnormal = int(view["status"].eq("overdue").sum())
    collected, news = _collected_and_news(week, used)
    rows = [
        ("customers", len(view), None), ("touches", touches, None),
        ("effective", effective, settings.effective_target * workdays),
        ("effective_rate", effective / touches if touches else 0.0, None),
        ("new_key", new_key, settings.new_key_target * workdays),
        ("deals", deals, None), ("deal_rate", deals / effective if effective else 0.0, None),
        ("overdue", abnormal, 0),
        ("payment_late", int((view["payment_deadline"].to_numpy("datetime64[D]") < np.datetime64(today)).sum()), 0),
        ("collected", collected, None), ("competitor_news", news, None),
    ]
    out = pd.DataFrame(rows, columns=["metric", "value", "target"])
    met = [None if t is None else (v <= t if m in ("overdue", "payment_late") else v >= t)
           for m, v, t in rows]
    return out.assign(met=met)


def conversions(touches: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Tier changes logged in the last four weeks, counted: from → to. From is the Old tier the log
    recorded with the change, else the customer's previous logged change, else '–' (not known)."""
    changed = touches["new_tier"].notna().to_numpy()
    if not changed.any():  # most weeks: no tier change logged, no frame to group
        return pd.DataFrame({"from_tier": pd.array([], dtype="string"), "to_tier": touches["new_tier"].iloc[:0].array,
                             "count": np.zeros(0, dtype=np.int64)}, index=pd.RangeIndex(0))
    changes = touches[changed].sort_values(["customer_id", "when"])
    previous = changes.groupby("customer_id")["new_tier"].shift()
    changes = changes.assign(from_tier=changes["old_tier"].fillna(previous).fillna("–"))
    since = np.datetime64(today) - np.timedelta64(7 * CONVERSION_WEEKS, "D")
    recent = changes[changes["day"].to_numpy("datetime64[D]") >= since]
    counted = recent.groupby(["from_tier", "new_tier"]).size().rename("count").reset_index()
    return counted.rename(columns={"new_tier": "to_tier"}).sort_values("count", ascending=False, kind="stable")


FRIDAY_FIELDS = ("week_followup", "next_actions")  # typed by salespeople every Friday (seed 001 §6.2.2)


def touched_this_week(customer_ids: pd.Series, last_contact: np.ndarray, touches: pd.DataFrame,
                      today: dt.date) -> np.ndarray:
    """Customers contacted from Monday to today: a last contact this week (typed or logged) or any touch
    logged this week, reached or not (a week of unanswered calls is news too)."""
    monday, day = np.datetime64(week_start(today), "D"), np.datetime64(today, "D")
    logged = touches["day"].to_numpy("datetime64[D]")
    ids_this_week = touches["customer_id"][(logged >= monday) & (logged <= day)]
    return ((last_contact >= monday) & (last_contact <= day)) | customer_ids.isin(ids_this_week).to_numpy()


def friday_is_due(cal: TeamCalendar, today: dt.date) -> bool:
    """Whether today is on or after the week's last working day (Friday, or the day a holiday or a
    make-up workday makes last), when the Friday columns should be filled in."""
    monday = week_start(today)
    workdays = cal.workdays_between(monday, monday + dt.timedelta(days=6))
    return bool(workdays) and today >= workdays[-1]


def friday_columns(view: pd.DataFrame, touches: pd.DataFrame, rules: Rules, cal: TeamCalendar,
                   today: dt.date) -> pd.DataFrame:
    """The customers contacted this week with their Friday columns, by owner and tier. ``missing``: the
    columns are blank although the week's last working day has come."""
    touched = touched_this_week(view["customer_id"], view["last_contact"].to_numpy("datetime64[D]"), touches, today)
    rows = view.loc[touched, ["owner", "customer_id", "name", "tier", "stage", "last_contact", *FRIDAY_FIELDS]]
    if rows.empty:  # nobody contacted yet this week (a Monday morning): nothing to sort
        return rows.assign(missing=np.zeros(0, dtype=bool))
    rows = rows.assign(missing=blank_friday(rows) & friday_is_due(cal, today),
                       _tier=rows["tier"].map({c: i for i, c in enumerate(rules.codes)}))
    return rows.sort_values(["owner", "_tier", "customer_id"], kind="stable").drop(columns="_tier")


def blank_friday(frame: pd.DataFrame) -> np.ndarray:
    return (frame["week_followup"].eq("") | frame["next_actions"].eq("")).to_numpy(dtype=bool)


OPTIONAL_FIELDS = ("collected", "competitor")  # log columns a team may or may not fill


def used_fields(touches: pd.DataFrame) -> frozenset[str]:
    """The optional log fields with a value anywhere in the log: a team that never fills them sees blanks."""
    return frozenset(key for key in OPTIONAL_FIELDS if touches[key].notna().any())


def _collected_and_news(touches: pd.DataFrame, used: frozenset[str]) -> tuple[float | None, int | None]:
    """The amount collected and the number of competitor-news entries in ``touches`` (None: never used)."""
    collected = float(touches["collected"].sum()) if "collected" in used else None
    news = int(touches["competitor"].notna().sum()) if "competitor" in used else None
    return collected, news


def _tier_codes(touches: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """New and old tiers typed as alias or label -> tier codes."""
    return touches.assign(new_tier=rules.tier_of(touches["new_tier"]), old_tier=rules.tier_of(touches["old_tier"]))


def _key_tiers(rules: Rules) -> list[str]:
    return split_list(rules.param("key_tiers", ""))


@dataclass
class DailyReport:
    """每日销售报告: today's touches against the plan and targets, and what carries over to tomorrow."""
    figures: pd.DataFrame  # metric, value, target, met
    outcomes: pd.DataFrame  # outcome, count
    carried: pd.DataFrame  # planned today, not reached: owner, customer_id, name, tier, ledger_row
    tomorrow: pd.DataFrame  # the next working day's first calls
    news: pd.DataFrame  # today's competitor news: customer_id, competitor (seed 001's 竞争者的市场信息)


def daily(touches: pd.DataFrame, still_due: pd.DataFrame, tomorrow: pd.DataFrame, rules: Rules,
          settings: Settings, today: dt.date, first_calls: int = 20) -> DailyReport:
    """``still_due``: today's agenda as it stands at the end of the day. A reached customer leaves it (its
    cadence restarts), so the day's plan is what is still due plus everyone reached today."""
    day = touches[touches["day"] == np.datetime64(today)]
    day = _tier_codes(day, rules)
    reached_ids = set(day.loc[day["reached"], "customer_id"])
    touched_ids = set(day["customer_id"])
    due_rows = still_due.drop_duplicates("ledger_row")  # a customer without an ID is a row of its own
    reached_elsewhere = reached_ids - set(due_rows["customer_id"])
    planned = len(due_rows) + len(reached_elsewhere)
    touched_planned = int(due_rows["customer_id"].isin(touched_ids).sum()) + len(reached_elsewhere)
    effective = int(day["reached"].sum())
    new_key = int(day["new_tier"].isin(_key_tiers(rules)).sum())
    rows = [("planned", planned, None), ("touched_planned", touched_planned, planned),
            ("touches", len(day), None), ("effective", effective, settings.effective_target),
            ("new_key", new_key, settings.new_key_target), ("deals", int(day["outcome"].eq("deal").sum()), None),
            ("collected", _collected_and_news(day, used_fields(touches))[0], None)]
    figures = pd.DataFrame(rows, columns=["metric", "value", "target"])
    figures["met"] = [None if t is None else v >= t for _, v, t in rows]
    outcome = day["outcome"].where(day["reached"], "unreached").fillna("reached")
    outcomes = outcome.value_counts().rename_axis("outcome").reset_index(name="count")
    carried = still_due[~still_due["customer_id"].isin(reached_ids)]
    carried = carried.drop_duplicates("ledger_row")[["owner", "customer_id", "name", "tier", "ledger_row"]]
    first = tomorrow.sort_values(["owner", "order"]).groupby("owner", sort=True).head(first_calls)
    news = day.loc[day["competitor"].notna(), ["customer_id", "competitor"]].reset_index(drop=True)
    return DailyReport(figures, outcomes, carried.reset_index(drop=True), first.reset_index(drop=True), news)
