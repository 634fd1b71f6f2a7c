"""Playbooks (跟进流程, domain §4): named sequences of steps that say what to do when, per customer.

A step is armed by its start event (the customer's playbook start, a reply, a visit, signing, completion,
a refusal, or another step of the same playbook being done) and falls due ``offset`` units later; a
repeating step falls due again ``repeat`` units after the touch that did it, until its ``until`` event
stops it. A logged touch does the pending step it names (log column Step), else the earliest pending step
already due on its channel. The customer's next step is the pending step due first; it competes with the
tier cadence in the engine (the earlier one wins).
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from .cadence import add_interval
from .calendar import TeamCalendar
from .messages import unknown_placeholders
from .rules import UNITS
from .schema import TEMPLATES, normalise, vocabulary
from .values import cell_text

STEP_PREFIX = "step:"  # a start/until naming another step: "step:<normalised step name>"
# the cadence units, then holidays (n holidays: the working day before the n-th coming public holiday)
STEP_UNITS = (*(u for u in UNITS if u != "none"), *vocabulary("step_unit").terms)
NAT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class Step:
    playbook: str
    name: str
    start: str  # event key, or STEP_PREFIX + normalised step name
    offset: int
    repeat: int  # 0: once
    unit: str
    until: str  # "" (never), event key, or STEP_PREFIX + normalised step name
    channel: str | None  # None: any channel does it
    template: str
    row: object  # the Sequences sheet row, for flags

    @property
    def key(self) -> str:
        return STEP_PREFIX + normalise(self.name)


@dataclass(frozen=True)
class SequenceProblem:
    """A Sequences cell that cannot be used: ``rule`` sequences.invalid (``expected`` says what would do)
    or template.unknown (``expected`` names the placeholder)."""
    row: object
    field: str
    value: object
    rule: str
    expected: str


@dataclass
class Playbooks:
    steps: dict[str, tuple[Step, ...]] = field(default_factory=dict)  # normalised playbook name -> steps
    problems: list[SequenceProblem] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [steps[0].playbook for steps in self.steps.values()]

    def find(self, name: str) -> tuple[Step, ...] | None:
        return self.steps.get(normalise(name))


# ---------------------------------------------------------------- the Sequences sheet
def playbooks_from_table(table: pd.DataFrame) -> Playbooks:
    """Steps as typed on the Sequences sheet (canonical keys, index = Excel rows). A blank Playbook cell
    continues the playbook above; unusable cells are reported and their step is left out."""
    problems: list[SequenceProblem] = []
    rows: list[dict] = []
    current = ""
    for row, raw in zip(table.index, table.to_dict("records")):
        current = cell_text(raw.get("playbook")) or current
        name = cell_text(raw.get("step"))
        if not current or not name:
            problems.append(SequenceProblem(row, "step" if current else "playbook", None, "sequences.invalid",
                                            "a name"))
            continue
        rows.append({**raw, "playbook": current, "step": name, "_row": row})
    books: dict[str, list[Step]] = {}
    for key, group in _group(rows).items():
        names = {normalise(r["step"]) for r in group}
        books[key] = [s for r in group if (s := _step(r, names, problems)) is not None]
    return Playbooks({k: tuple(v) for k, v in books.items() if v}, problems)


def _group(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(normalise(r["playbook"]), []).append(r)
    return out


def _step(raw: dict, names: set[str], problems: list[SequenceProblem]) -> Step | None:
    row = raw["_row"]
    start = _event(raw.get("start"), names, default="start")
    until = _event(raw.get("until"), names, default="")
    offset, repeat = _whole(raw.get("offset"), 0), _whole(raw.get("repeat"), 0)
    unit = _unit(raw.get("unit"))
    channel_text = cell_text(raw.get("channel"))
    channel = vocabulary("channel").parse(channel_text) if channel_text else None
    events = " / ".join(vocabulary("event").labels("zh-CN") + vocabulary("event").labels("en"))
    checks = [("start", start is None, f"{events}, or a step of this playbook"),
              ("until", until is None, f"{events}, or a step of this playbook"),
              ("offset", offset is None, "a whole number ≥ 0"), ("repeat", repeat is None, "a whole number ≥ 0"),
              ("unit", unit is None, " / ".join(STEP_UNITS)),
              ("channel", bool(channel_text) and channel is None, " / ".join(vocabulary("channel").labels("zh-CN")))]
    failed = [(k, e) for k, wrong, e in checks if wrong]
    problems += [SequenceProblem(row, key, raw.get(key), "sequences.invalid", expected) for key, expected in failed]
    template = cell_text(raw.get("template"))
    problems += [SequenceProblem(row, "template", name, "template.unknown", name)
                 for name in unknown_placeholders(template)]
    if failed:
        return None
    return Step(raw["playbook"], raw["step"], start, offset, repeat, unit, until, channel, template, row)


def _event(value: object, steps: set[str], default: str) -> str | None:
    """An event label/alias -> its key; another step's name -> STEP_PREFIX + name; None when neither."""
    text = cell_text(value)
    if not text:
        return default
    if (key := vocabulary("event").parse(text)) is not None:
        return key
    return STEP_PREFIX + normalise(text) if normalise(text) in steps else None


def _whole(value: object, default: int) -> int | None:
    text = cell_text(value)
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number >= 0 and number.is_integer() else None


def _unit(value: object) -> str | None:
    text = cell_text(value)
    if not text:
        return "days"
    unit = vocabulary("unit").parse(text) or vocabulary("step_unit").parse(text)
    return unit if unit in STEP_UNITS else None


# ---------------------------------------------------------------- per customer
NEXT_COLUMNS = ["playbook", "step", "step_due", "step_channel", "template"]  # + step_done


def next_steps(books: Playbooks, playbook: pd.Series, start: np.ndarray, customer_ids: pd.Series,
               touches: pd.DataFrame, cal: TeamCalendar) -> pd.DataFrame:
    """The next pending step of every ledger row (index as ``playbook``); blank where none. ``step_done``:
    the day of the last touch that did a step (a follow-up made, reached or not; NaT when none).

    ``playbook``: typed playbook names ('' when none); ``start``: each row's start day (datetime64[D]);
    ``touches``: the applied contact log (customer_id, when, day, channel, reached, outcome, event, step)."""
    n = len(playbook)
    out = {"playbook": np.full(n, "", dtype=object), "step": np.full(n, "", dtype=object),
           "step_due": np.full(n, NAT), "step_channel": np.full(n, None, dtype=object),
           "template": np.full(n, "", dtype=object), "step_done": np.full(n, NAT)}
    rows = [(i, steps) for i, name in enumerate(playbook.to_numpy()) if name and (steps := books.find(name))]
    ids = customer_ids.to_numpy()
    by_customer = _touches_by_customer(touches, {ids[i] for i, _ in rows})
    add = _adder(cal)
    for i, steps in rows:
        found, out["step_done"][i] = _run(steps, start[i], by_customer.get(ids[i], []), add)
        if found is not None:
            step, due = found
            for key, value in zip(NEXT_COLUMNS, (step.playbook, step.name, due, step.channel, step.template)):
                out[key][i] = value
    return pd.DataFrame(out, index=playbook.index)


class Touch(NamedTuple):
    day: np.datetime64
    reached: bool
    channel: str | None
    outcome: str | None
    event: str | None
    step: str | None


def _touches_by_customer(touches: pd.DataFrame, customers: set) -> dict[str, list[Touch]]:
    """The touches of ``customers`` as plain tuples in time order, grouped by customer (one pass, no
    per-customer frames: replaying thousands of customers must not pay pandas overhead for each)."""
    mine = touches[touches["customer_id"].isin(customers)].sort_values("when", kind="stable")
    columns = [mine["day"].to_numpy("datetime64[D]"), mine["reached"].to_numpy(bool).tolist(),
               *(mine[k].to_numpy(dtype=object, na_value=None) for k in ("channel", "outcome", "event", "step"))]
    grouped: dict[str, list[Touch]] = {}
    for cid, touch in zip(mine["customer_id"].to_numpy(dtype=object), map(Touch._make, zip(*columns))):
        grouped.setdefault(cid, []).append(touch)
    return grouped


def _adder(cal: TeamCalendar) -> Callable[[np.datetime64, int, str], np.datetime64]:
    @lru_cache(maxsize=4096)
    def add(day: np.datetime64, n: int, unit: str) -> np.datetime64:
        if unit == "holidays":
            return _holiday_greeting(cal, day, n)
        return add_interval(cal, np.array([day]), np.array([float(n)]), np.array([unit], dtype=object))[0]
    return add


def _holiday_greeting(cal: TeamCalendar, day: np.datetime64, n: int) -> np.datetime64:
    """The greeting day (working day before a public holiday) of the n-th holiday after ``day``;
    n = 0: the first greeting day on or after ``day``."""
    first = day.astype(dt.date)
    greetings = cal.greeting_days(first, first + dt.timedelta(days=800))
    coming = [g for g in greetings if g > first or (n == 0 and g == first)]
    k = max(n, 1) - 1
    return np.datetime64(coming[k], "D") if k < len(coming) else NAT


def _run(steps: tuple[Step, ...], start: np.datetime64, touches: list[Touch],
         add: Callable[[np.datetime64, int, str], np.datetime64]
         ) -> tuple[tuple[Step, np.datetime64] | None, np.datetime64]:
    """Replay one customer's touches through the playbook: the pending step due first (or None), and the
    day of the last touch that did a step (NaT when none)."""
    due: list[np.datetime64 | None] = [None] * len(steps)
    done_day = NAT

    def fire(event: str, day: np.datetime64) -> None:
        for i, s in enumerate(steps):
            if s.until == event:
                due[i] = None
        for i, s in enumerate(steps):
            if s.start == event:
                due[i] = add(day, s.offset, s.unit)

    if not np.isnat(start):
        fire("start", start)
        touches = [t for t in touches if t.day >= start]
    for t in touches:
        done = _done_step(steps, due, t)
        if done is not None:
            done_day = t.day
            due[done] = add(t.day, steps[done].repeat, steps[done].unit) if steps[done].repeat else None
            fire(steps[done].key, t.day)
        for event in touch_events(t):
            fire(event, t.day)
    pending = [(d, i) for i, d in enumerate(due) if d is not None]
    if not pending:
        return None, done_day
    day, i = min(pending)
    return (steps[i], day), done_day


def _done_step(steps: tuple[Step, ...], due: list, touch: Touch) -> int | None:
    """The pending step this touch does: the one it names, else the earliest due on its channel."""
    named = normalise(touch.step) if touch.step else ""
    if named:
        return next((i for i, s in enumerate(steps) if due[i] is not None and normalise(s.name) == named), None)
    ready = [(due[i], i) for i, s in enumerate(steps)
             if due[i] is not None and due[i] <= touch.day and (s.channel is None or s.channel == touch.channel)]
    return min(ready)[1] if ready else None


def touch_events(touch: Touch) -> list[str]:
    """The events a touch records: typed in its Event cell, or following from it (a reached touch is a
    reply; a reached visit a visit; Deal means signed; Refused a refusal)."""
    events = []
    if touch.reached:
        events.append("reply")
        if touch.channel == "visit":
            events.append("visit")
    events += {"deal": ["signed"], "refused": ["refused"]}.get(touch.outcome, [])
    if touch.event and touch.event not in events:
        events.append(touch.event)
    return events


def start_days(typed: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """A playbook starts on its typed start date, else on the customer's assigned date."""
    return np.where(np.isnat(typed), assigned, typed)


GREETING_STEPS = {"birthday": "birthday", "holiday greeting": "holiday_greeting"}  # plan greeting -> step key


def greeting_templates(books: Playbooks) -> dict[str, str]:
    """The message of each plan greeting ("birthday", "holiday greeting"): the template of the first
    Sequences step named as the built-in step (生日祝福 / Birthday greeting, 节日祝福 / Holiday greeting, in
    either language), so a team edits it on the Sequences sheet; '' when no step has that name."""
    names = {kind: {normalise(s[lang]) for p in builtin() for s in p["step"] if s["key"] == key
                    for lang in ("zh", "en")} for kind, key in GREETING_STEPS.items()}
    steps = [s for playbook in books.steps.values() for s in playbook]
    return {kind: next((s.template for s in steps if normalise(s.name) in wanted), "")
            for kind, wanted in names.items()}


@cache
def builtin() -> list[dict]:
    """The playbooks a new workbook's Sequences sheet starts with (``templates/playbooks.toml``)."""
    return tomllib.loads((TEMPLATES / "playbooks.toml").read_text(encoding="utf-8"))["playbook"]
