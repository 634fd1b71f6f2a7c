"""The planner's inputs from the core objects: the tier table from the Rules (which tiers are touched every
working day, which get holiday greetings), the PlanSettings from the Settings and the blocks table."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..calendar import TeamCalendar
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
    """The week of ``monday`` planned from ``today`` on, for the customers of the refreshed ``view`` that
    have an ID."""
    customers = view[view["customer_id"] != ""]
    return plan_week(customers, plan_tiers(rules), calendar, monday, today, plan_settings(rules, settings, blocks_table))
