"""The planner's inputs from the core objects: the tier table from the Rules (which tiers are touched every
working day, which get holiday greetings), the PlanSettings from the Settings and the blocks table."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from ..calendar import TeamCalendar
from ..ids import without_unique_id
from ..rules import Rules
from ..settings import Settings
from ..values import split_list
from .blocks import blocks_from_table, day_block, greeting_block
from .model import PlanResult, PlanSettings
from .week import plan_week


def plan_tiers(rules: Rules) -> pd.DataFrame:
    """Quota, priority and weight of each tier; ``daily_every_workday``: a cadence of at most one working day
    (a touch every working day); ``holiday_greeting``: a tier of the ``greeting_tiers`` parameter."""
    tiers = rules.tiers
    every_day = (tiers["unit"] == "workdays") & (tiers["max"] <= 1)
    greeting = tiers.index.isin(split_list(rules.param("greeting_tiers", "")))
    return tiers[["quota", "priority", "weight"]].assign(daily_every_workday=every_day, holiday_greeting=greeting)


def owner_capacity(owners: pd.DataFrame) -> dict[str, int]:
    """Owner -> daily capacity, for the owners whose Capacity cell is filled (Settings owners table)."""
    owners = owners.dropna(subset=["owner"]) if "owner" in owners else owners
    return {str(o).strip(): int(float(c)) for o, c in zip(owners.get("owner", []), owners.get("capacity", []))
            if c is not None and str(c).strip() and str(o).strip()}


def plan_settings(rules: Rules, settings: Settings, blocks_table: pd.DataFrame) -> PlanSettings:
    """Capacity, load pattern and targets from the Settings; the new tiers from the Rules; the blocks of the
    workbook's blocks table, or one all-day block when it has none (``blocks.day_block``)."""
    return PlanSettings(
        capacity=settings.daily_capacity, owner_capacity=owner_capacity(settings.owners),
        load_pattern=settings.load_pattern, load_by=settings.load_by,
        blocks=blocks_from_table(blocks_table) or (day_block(settings.language),),
        new_tiers=frozenset(split_list(rules.param("new_tier", ""))),
        greetings=greeting_block(settings.language, settings.greeting_capacity),
        effective_target=settings.effective_target, new_key_target=settings.new_key_target)


def plan_for(rules: Rules, settings: Settings, blocks_table: pd.DataFrame, view: pd.DataFrame,
             calendar: TeamCalendar, monday: dt.date, today: dt.date) -> PlanResult:
    """The week of ``monday`` planned from ``today`` on, for every customer of the refreshed ``view`` (index =
    ledger row), with or without a (unique) ID: entries and unplaced rows name their ``ledger_row``."""
    keys = row_keys(view["customer_id"]).to_numpy()
    plan = plan_week(view.assign(customer_id=keys), plan_tiers(rules), calendar, monday, today,
                     plan_settings(rules, settings, blocks_table))
    by_key = pd.DataFrame({"customer_id": view["customer_id"].to_numpy(), "ledger_row": view.index}, index=keys)

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        found = by_key.reindex(frame["customer_id"].to_numpy())
        return frame.assign(customer_id=found["customer_id"].to_numpy(), ledger_row=found["ledger_row"].to_numpy())
    return replace(plan, entries=keyed(plan.entries), unplaced=keyed(plan.unplaced))


def row_keys(ids: pd.Series) -> pd.Series:
    """A unique planning key per ledger row: the customer ID where it is typed once, else the ID (or nothing)
    followed by a NUL and the row (a NUL cannot be typed in a cell, so a key never equals a typed ID)."""
    text = ids.astype(str)
    rows = pd.Series(ids.index, index=ids.index).astype(str).str.zfill(7)
    return text.where(~without_unique_id(text), text + "\x00" + rows)
