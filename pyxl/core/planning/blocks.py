"""Time blocks of the working day: parsing a blocks table, apportioning a day's capacity to blocks,
preferred-time windows, and putting each day's touches into blocks and call slots.

A block serves the tiers it lists; ``tiers`` may also hold the keywords "new" (the Rules' new tier) and
"chase" (payment chases). The blocks come from the workbook's blocks table, which the builder fills from the
preset (``templates/presets/<preset>.toml``). An empty table gives one block for the whole working day
serving every tier (``day_block``, from ``templates/settings.toml``): the planner never guesses another
scheme's tier codes.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from ..rules import preset_blocks
from ..schema import vocabulary
from ..settings import planner_defaults
from ..values import split_list

Window = tuple[int, int]  # minutes after midnight: [from, to)


def parse_time(value: object) -> dt.time:
    """A time of day as typed: "HH:MM", a time cell or Excel's fraction of a day; ValueError otherwise."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return dt.time(*divmod(minutes, 60))
    return dt.time.fromisoformat(str(value).strip())


_SPACES = " \t\r\n\xa0\u3000"  # tiers in a block's cell are also separated by spaces


@dataclass(frozen=True)
class TimeBlock:
    """A block of the working day serving some tiers; ``tiers`` may hold the keywords "new" and "chase"."""
    start: dt.time
    end: dt.time
    label: str
    tiers: tuple[str, ...] = ()
    capacity: int | None = None  # None: a share of the day's capacity proportional to the block's length

    @classmethod
    def parse(cls, start: object, end: object, label: str, tiers: str | tuple[str, ...] = "",
              capacity: int | None = None) -> TimeBlock:
        """Times as ``parse_time`` reads them; tiers as one cell, separated by commas, 、 or spaces."""
        codes = tuple(split_list(tiers, _SPACES)) if isinstance(tiers, str) else tiers
        return cls(parse_time(start), parse_time(end), label, codes, capacity)

    @property
    def minutes(self) -> Window:
        return self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute


def blocks_from_table(table: pd.DataFrame) -> tuple[TimeBlock, ...]:
    """The blocks table (Start, End, Label, Tiers: its first four columns); rows that are not a block
    (blank, or a time that does not parse) are skipped."""
    blocks = []
    for start, end, label, tiers in table.iloc[:, :4].itertuples(index=False):
        try:
            blocks.append(TimeBlock.parse(start, end, str(label or ""), str(tiers or "")))
        except ValueError:
            continue
    return tuple(blocks)


def preset_time_blocks(preset: str, lang: str = "en") -> tuple[TimeBlock, ...]:
    """The blocks a preset ships (``templates/presets/<preset>.toml``), as the builder writes them."""
    suffix = "zh" if lang == "zh-CN" else "en"
    return tuple(TimeBlock.parse(b["start"], b["end"], b[suffix], b["tiers"]) for b in preset_blocks(preset))


def day_block(lang: str = "en") -> TimeBlock:
    """The whole working day as one block serving every tier: the plan's blocks when a workbook has none."""
    return _planner_block("day_block", lang)


def greeting_block(lang: str = "en", capacity: int | None = None) -> TimeBlock:
    """The small block of the day for birthday and holiday greetings (short messages), with its own
    capacity: greetings never take a call's slot (``templates/settings.toml`` ``[planner]``)."""
    block = _planner_block("greeting_block", lang)
    return TimeBlock(block.start, block.end, block.label, ("greeting",), capacity)


def _planner_block(key: str, lang: str) -> TimeBlock:
    block = planner_defaults()[key]
    return TimeBlock.parse(block["start"], block["end"], block["zh" if lang == "zh-CN" else "en"])


# ---------------------------------------------------------------- preferred time
_RANGE = re.compile(r"(\d{1,2})(?:[:：点时.](\d{2})?)?\s*(?:-|~|～|–|—|至|到|to)\s*(\d{1,2})(?:[:：点时.](\d{2})?)?")
_ONE = re.compile(r"(\d{1,2})(?:[:：点时](\d{2})?)")


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _word_pattern(word: str) -> str:
    """A period word as a pattern: spaces or hyphens between its parts; short Latin words whole only."""
    pattern = r"[\s-]*".join(re.escape(part) for part in re.split(r"[\s-]+", word))
    return rf"\b{pattern}\b" if re.fullmatch(r"[a-z]{1,2}", word) else pattern


@cache
def _periods() -> tuple[list[tuple[re.Pattern, Window]], tuple[str, ...]]:
    """(pattern, window) per period of ``vocab.period`` in order, and the words that put a clock time
    after noon."""
    periods, after_noon = [], []
    for key, term in vocabulary("period").terms.items():
        words = dict.fromkeys(w.lower() for w in (key, term["zh"], term["en"], *term["aliases"]))
        start, end = (_clock(t) for t in term["window"])
        periods.append((re.compile("|".join(_word_pattern(w) for w in words)), (start, end)))
        after_noon += term.get("clock", [])
    return periods, tuple(after_noon)


def preferred_window(text: object) -> Window | None:
    """Free text ("上午", "afternoon", "after hours", "09:00-10:00", "10点") -> (from, to) minutes, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    low = text.strip().lower()
    periods, after_noon = _periods()
    pm = any(word in low for word in after_noon)
    if m := _RANGE.search(low):
        a, b = int(m[1]) * 60 + int(m[2] or 0), int(m[3]) * 60 + int(m[4] or 0)
        if b <= 720 and a < 720 and pm:
            a, b = a + 720, b + 720
        return (a, b) if a < b <= 1440 else None
    if m := _ONE.search(low):
        a = int(m[1]) * 60 + int(m[2] or 0) + (720 if pm and int(m[1]) < 12 else 0)
        return (a, a + 60) if a < 1440 else None
    return next((window for pattern, window in periods if pattern.search(low)), None)


# ---------------------------------------------------------------- call order
def stable_order(columns: list[list]) -> list[int]:
    """Positions sorted by the columns' values (plain Python values, no NaN), ties kept in place: the order
    of pandas' stable sort_values on those columns, without its per-call cost on small frames."""
    keys = list(zip(*columns))
    return sorted(range(len(keys)), key=keys.__getitem__)


def running_count(keys: list) -> np.ndarray:
    """1, 2, ... within each key, in order (pandas' groupby cumcount + 1)."""
    seen: Counter = Counter()
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        seen[key] += 1
        out[i] = seen[key]
    return out


# ---------------------------------------------------------------- touches into blocks
def apportion(total: int, blocks: tuple[TimeBlock, ...]) -> np.ndarray:
    """Block capacities: given ones kept, the rest of the day split by length (largest remainder)."""
    given = np.array([b.capacity if b.capacity is not None else -1 for b in blocks])
    share = np.array([(b.minutes[1] - b.minutes[0]) if b.capacity is None else 0 for b in blocks], dtype=float)
    rest = max(0, total - given[given > 0].sum())
    exact = rest * share / share.sum() if share.sum() else share
    out = np.floor(exact).astype(int)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: rest - out.sum()]] += 1 if share.sum() else 0
    return np.where(given >= 0, given, out)


def _block_choices(blocks: tuple[TimeBlock, ...], new_tiers: frozenset[str]
                   ) -> Callable[[str, bool, str], list[int]]:
    """(tier, chase, preferred text) -> the blocks serving the tier, in order of preference (memoised per
    call). A tier no block lists is served by every block; a preferred time picks among the
    tier's own blocks (the nearest in time when none overlaps it), never another tier's block."""
    cache_: dict[tuple[str, bool, str], list[int]] = {}

    def choices(tier: str, chase: bool, pref: str) -> list[int]:
        key = (tier, chase, pref)
        if key not in cache_:
            words = {tier} | ({"new"} if tier in new_tiers else set()) | ({"chase"} if chase else set())
            own = [b for b, blk in enumerate(blocks) if words & set(blk.tiers)] or list(range(len(blocks)))
            window = preferred_window(pref)
            liked = own
            if window:
                fit = [b for b in own if blocks[b].minutes[0] < window[1] and window[0] < blocks[b].minutes[1]]
                if not fit:  # the tier's block nearest in time
                    gap = [max(blocks[b].minutes[0] - window[1], window[0] - blocks[b].minutes[1]) for b in own]
                    fit = [own[int(np.argmin(gap))]]
                liked = fit + [b for b in own if b not in fit]
            cache_[key] = liked
        return cache_[key]
    return choices


def place_in_blocks(touches: pd.DataFrame, capacity: pd.DataFrame, blocks: tuple[TimeBlock, ...],
                    new_tiers: frozenset[str], greetings: TimeBlock) -> pd.DataFrame:
    """Each day's touches into blocks, then call slots. A call goes into a block serving its tier: a
    preferred one with room, else another of the tier's blocks with room, else (the tier's blocks are full
    while the day is not) its preferred block, whose slots then get shorter. Greetings (``uses_capacity``
    false) go into the ``greetings`` block. ``touches`` needs owner, date, tier, reason, preferred_time,
    uses_capacity and the call-order keys reason_rank, due_day, priority, revenue, customer_id;
    ``capacity``: owner, date, capacity. Adds block_index, order, start, end, block, block_start."""
    choices = _block_choices(blocks, new_tiers)
    every = (*blocks, greetings)
    mins = np.array([b.minutes for b in every])
    caps = {(o, d): np.append(apportion(cap, blocks), greetings.capacity or 0)
            for o, d, cap in capacity[["owner", "date", "capacity"]].itertuples(index=False)}
    p = touches.sort_values(["owner", "date", "reason_rank", "due_day", "priority", "revenue", "customer_id"],
                            ascending=[True, True, True, True, True, False, True], na_position="last", kind="stable")
    chosen = np.zeros(len(p), dtype=int)
    cols = [p[c].to_numpy() for c in ("owner", "date", "tier", "reason", "preferred_time", "uses_capacity")]
    free: np.ndarray | None = None
    current = None
    for r, (owner, date, tier, reason, pref, uses) in enumerate(zip(*cols)):
        if (owner, date) != current:
            current, free = (owner, date), caps[(owner, date)].copy()
        if not uses:
            chosen[r] = len(blocks)
            continue
        liked = choices(tier, reason == "payment chase", pref)
        b = next((b for b in liked if free[b] > 0), liked[0])
        chosen[r] = b
        free[b] -= 1
    p["block_index"] = chosen
    return _slots(p, caps, every, mins)


def _slots(p: pd.DataFrame, caps: dict[tuple, np.ndarray], blocks: tuple[TimeBlock, ...],
           mins: np.ndarray) -> pd.DataFrame:
    """Call order per owner and day, and each touch's slot: its block's length shared by the block's room
    (or its touches, when more)."""
    owner, date, block = p["owner"].tolist(), p["date"].tolist(), p["block_index"].tolist()
    rank = stable_order([owner, date, mins[block, 0].tolist(), block])
    p = p.iloc[rank]
    p["order"] = running_count([(owner[i], date[i]) for i in rank])
    keys = [(owner[i], date[i], block[i]) for i in rank]
    pos = running_count(keys) - 1
    in_block = Counter(keys)
    size = np.array([in_block[k] for k in keys], dtype=np.int64)
    b = p["block_index"].to_numpy()
    blk_cap = np.array([caps[(o, d)][i] for o, d, i in keys])
    length = mins[b, 1] - mins[b, 0]
    slot = length / np.maximum(np.maximum(blk_cap, size), 1)
    base = pd.to_datetime(p["date"]) + pd.to_timedelta(mins[b, 0], unit="min")
    p["start"] = (base + pd.to_timedelta(np.floor(pos * slot), unit="min")).to_numpy()
    p["end"] = (base + pd.to_timedelta(np.floor((pos + 1) * slot), unit="min")).to_numpy()
    p["block"] = [blocks[i].label for i in b]
    p["block_start"] = [blocks[i].start for i in b]
    return p
