"""Earliest / Due / Status from tier cadences (domain.md §2c), vectorised over the whole ledger."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calendar import DAY, NAT, TeamCalendar


def add_interval(cal: TeamCalendar, start: np.ndarray, n: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """start + n units, per row. Calendar units that land on a non-working day move to the next working day."""
    out = np.full(start.shape, NAT)
    ok = ~np.isnat(start) & ~np.isnan(n)
    steps = np.where(ok, n, 0).round().astype("int64")
    for name in pd.unique(unit[ok]):
        rows = ok & (unit == name)
        if name == "workdays":
            out[rows] = cal.add_workdays(start[rows], steps[rows])
        elif name in ("days", "weeks"):
            days = steps[rows] * (7 if name == "weeks" else 1)
            out[rows] = cal.roll_forward(start[rows] + days.astype("timedelta64[D]"))
        elif name == "months":
            out[rows] = cal.roll_forward(add_months(start[rows], steps[rows]))
    return out


def add_months(start: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar months with month-end clipping (Aug 31 + 1 month = Sep 30)."""
    month_index = start.astype("datetime64[M]")
    day = (start - month_index.astype("datetime64[D]")).astype("int64")
    target = month_index + months.astype("timedelta64[M]")
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype("int64")
    return target.astype("datetime64[D]") + np.minimum(day, month_len - 1).astype("timedelta64[D]")


def followed_up(last: np.ndarray, steps: pd.DataFrame) -> np.ndarray:
    """The day the cadence counts from: the last contact (a conversation) or, when later, the last touch that
    did a playbook step (an SMS or email sent on time is a follow-up made, answered or not)."""
    done = steps["step_done"].to_numpy("datetime64[D]")
    return np.where(np.isnat(last) | (done > last), done, last)


def schedule(tiers: pd.DataFrame, codes: pd.Series, last_contact: np.ndarray, agreed: np.ndarray,
             assigned: np.ndarray, slow_down: np.ndarray, cal: TeamCalendar, today: dt.date,
             unreadable: np.ndarray | None = None, stage: pd.DataFrame | None = None) -> pd.DataFrame:
    """Earliest, Due, Status and days overdue (working days) for each ledger row.

    ``codes`` are resolved tier codes (NA when unknown); ``slow_down`` multiplies the interval (after a
    refusal, domain §3). Never-contacted rows are due on their assignment date, or today when it is blank
    (either on a non-working day: the next working day, as every due date);
    a row whose Last contact is ``unreadable`` (typed, not a date; flagged by the checks) gets no due date
    from the cadence, so a typo never makes it overdue. An agreed date on a non-working day counts from
    the next working day (the customer asked not to be called before it).

    ``stage``: each row's stage cadence (min, max, unit; the Rules sheet's stage table). Where both the tier
    and the stage have a cadence the tighter one wins, Earliest and Due each the earlier of the two: a stage
    asks for closer follow-up than the tier (商务谈判 daily), never for less. A tier that follows no cadence
    (unit none) keeps none: it says the customer is not followed up, whatever the stage.
    """
    rule = tiers.reindex(codes.fillna("").to_numpy())
    unit = rule["unit"].fillna("").to_numpy(dtype=object)
    lo = rule["min"].to_numpy(dtype=float) * slow_down
    hi = rule["max"].to_numpy(dtype=float) * slow_down
    earliest = add_interval(cal, last_contact, lo, unit)
    due = add_interval(cal, last_contact, hi, unit)
    if stage is not None:
        earliest, due = _tighter(cal, last_contact, slow_down, stage, (unit != "none") & (unit != ""), earliest, due)

    known = codes.notna().to_numpy()
    follow = known & (unit != "none")
    never = np.isnat(last_contact) & follow
    if unreadable is not None:
        never &= ~unreadable
    first_due = cal.roll_forward(np.where(np.isnat(assigned), np.datetime64(today, "D"), assigned))
    earliest = np.where(never, first_due, earliest)
    due = np.where(never, first_due, due)

    agreed = cal.roll_forward(agreed)
    use_agreed = ~np.isnat(agreed) & (np.isnat(last_contact) | (agreed > last_contact))
    due = np.where(use_agreed, agreed, due)
    earliest = np.where(use_agreed & (np.isnat(earliest) | (agreed < earliest)), agreed, earliest)
    missed = days_overdue(cal, due, today)
    return pd.DataFrame({
        "earliest": earliest, "due": due,
        "status": status(earliest, due, np.datetime64(today, "D"), missed, known | use_agreed, follow | use_agreed),
        "days_overdue": missed,
    }, index=codes.index)


def _tighter(cal: TeamCalendar, last_contact: np.ndarray, slow_down: np.ndarray, stage: pd.DataFrame,
             tier_follows: np.ndarray, earliest: np.ndarray, due: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and Due, each the earlier of the tier's and the stage's (rows whose stage has a cadence)."""
    unit = stage["unit"].fillna("none").to_numpy(dtype=object)
    lo = add_interval(cal, last_contact, stage["min"].to_numpy(dtype=float) * slow_down, unit)
    hi = add_interval(cal, last_contact, stage["max"].to_numpy(dtype=float) * slow_down, unit)
    use = tier_follows & ~np.isnat(hi)
    return (np.where(use & (np.isnat(earliest) | (lo < earliest)), lo, earliest),
            np.where(use & (np.isnat(due) | (hi < due)), hi, due))


def with_steps(plan: pd.DataFrame, step_due: np.ndarray, today: dt.date, cal: TeamCalendar) -> pd.DataFrame:
    """A playbook step due before the cadence's due date drives the next touch (the earlier one wins);
    ``by_step`` marks those rows. A tier with no follow-up keeps none; a row without a known tier follows
    its playbook."""
    st = plan["status"].to_numpy(dtype=object)
    due, earliest = plan["due"].to_numpy("datetime64[D]"), plan["earliest"].to_numpy("datetime64[D]")
    by_step = (st != "no_follow_up") & ~np.isnat(step_due) & (np.isnat(due) | (step_due <= due))
    due = np.where(by_step, step_due, due)
    earliest = np.where(by_step & (np.isnat(earliest) | (step_due < earliest)), step_due, earliest)
    known = (st != "") | by_step
    missed = days_overdue(cal, due, today)
    return pd.DataFrame({
        "earliest": earliest, "due": due,
        "status": status(earliest, due, np.datetime64(today, "D"), missed, known, known & (st != "no_follow_up")),
        "days_overdue": missed, "by_step": by_step,
    }, index=plan.index)


def status(earliest: np.ndarray, due: np.ndarray, today: np.datetime64, missed: np.ndarray, known: np.ndarray,
           follow: np.ndarray) -> np.ndarray:
    """Status keys; blank where the tier is unknown (a check names the cell). Overdue is ``missed`` (days
    overdue) ≥ 1: a working day from Due on has passed without the touch. Due dates are working days, so on a
    working day that is today > Due (domain.md §2c) and the row colours (Due < FU_Today) agree."""
    conditions = [~known, ~follow, np.isnat(due), missed >= 1, due <= today, earliest <= today]
    choices = ["", "no_follow_up", "", "overdue", "due_today", "in_window"]
    return np.select(conditions, choices, default="not_yet").astype(object)


def days_overdue(cal: TeamCalendar, due: np.ndarray, today: dt.date) -> np.ndarray:
    """The working days missed: working days from ``due`` (included) up to today (excluded), 0 when Due is
    today or later. The one count of the ledger, the Agenda, the Plan, the reports and the worksheet functions;
    on a weekend after a Friday Due it is 1 (Friday), as the Agenda then says for Monday."""
    late = due < np.datetime64(today, "D")
    out = np.zeros(due.shape, dtype="int64")
    out[late] = cal.networkdays(due[late], np.full(late.sum(), np.datetime64(today, "D") - DAY)).astype("int64")
    return out
