"""What an action works on: the tool's tables as read from a workbook, turned into the core's objects once —
the ledger and log under canonical keys, the Rules, Settings, playbooks and the team calendar (built once and
handed to the engine, the planner and the reports)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .calendar import TeamCalendar
from .planning.blocks import parse_time
from .playbooks import Playbooks, playbooks_from_table
from .rules import Rules, rules_from_table, with_stages
from .schema import HeaderMatch, match_headers
from .settings import SettingProblem, Settings, calendar_for, settings_from_pairs
from .values import cell_text, is_blank, parse_dates, parse_numbers

NO_HEADERS = HeaderMatch({}, [], [])
# The Settings sheet's tables and the Rules parameters are read by position: their columns' keys, in order
# (a flag on one of their cells names its column by these keys).
POSITIONAL_COLUMNS = {"settings": ("key", "value", "description"), "params": ("key", "value", "description"),
                      "owners": ("owner", "code", "capacity", "manager"), "holidays": ("day", "note"),
                      "workdays": ("day", "note"), "blocks": ("start", "end", "label", "tiers")}


@dataclass(frozen=True)
class RowBelow:
    """A non-blank row under one of the tool's tables with blank rows between: not part of the table, so not
    read (a row directly below is: the table grows to it as Excel grows a table)."""
    table: str  # the table's name
    cell: str  # Sheet!A1 of its first non-blank cell
    blank_rows: tuple[int, int]  # the blank rows between it and the table, first and last


@dataclass
class Tables:
    """The tool's tables as a workbook holds them: header labels as columns, Excel rows as index."""
    ledger: pd.DataFrame
    log: pd.DataFrame
    rules: pd.DataFrame
    params: pd.DataFrame
    settings: pd.DataFrame
    holidays: pd.DataFrame
    workdays: pd.DataFrame
    owners: pd.DataFrame
    blocks: pd.DataFrame
    sequences: pd.DataFrame | None = None  # absent in workbooks built before the Sequences sheet
    stages: pd.DataFrame | None = None  # the Rules sheet's stage table; absent in workbooks built before it
    below: list[RowBelow] = field(default_factory=list)  # non-blank rows under the tables after blank rows


@dataclass
class Inputs:
    ledger: pd.DataFrame  # canonical keys, index = Excel rows
    ledger_headers: HeaderMatch
    log: pd.DataFrame
    log_headers: HeaderMatch
    rules: Rules
    settings: Settings
    blocks: pd.DataFrame
    playbooks: Playbooks = field(default_factory=Playbooks)
    sequence_headers: HeaderMatch = NO_HEADERS
    rules_headers: HeaderMatch = NO_HEADERS
    stage_headers: HeaderMatch = NO_HEADERS
    calendar: TeamCalendar | None = None  # the team's working days (built from settings when not given)
    below: list[RowBelow] = field(default_factory=list)  # rows under the tables, not read (see RowBelow)
    ledger_formulas: dict[str, list[int]] = field(default_factory=dict)  # field key -> rows holding a formula

    def __post_init__(self) -> None:
        if self.calendar is None:
            self.calendar = calendar_for(self.settings)

    def with_touch(self, touch: pd.DataFrame) -> Inputs:
        """These inputs with touches appended to the log (canonical keys, index = their Excel rows)."""
        return replace(self, log=pd.concat([self.log, touch]))


def inputs_from_tables(t: Tables) -> Inputs:
    ledger_headers = match_headers("ledger", list(t.ledger.columns))
    log_headers = match_headers("contacts", list(t.log.columns))
    rules_headers = match_headers("rules", list(t.rules.columns))
    rules = rules_from_table(canonical(t.rules, rules_headers), pairs(t.params), key_rows(t.params))
    stage_headers = NO_HEADERS
    if t.stages is not None:
        stage_headers = match_headers("stages", list(t.stages.columns))
        rules = with_stages(rules, canonical(t.stages, stage_headers))
    problems: list[SettingProblem] = []
    settings = settings_from_pairs(pairs(t.settings), key_rows(t.settings),
                                   extra_holidays=_dates(t.holidays, "holidays", problems),
                                   extra_workdays=_dates(t.workdays, "workdays", problems),
                                   owners=_owners(t.owners, problems))
    blocks = _blocks(t.blocks, problems)
    settings.problems += problems
    books, sequence_headers = Playbooks(), NO_HEADERS
    if t.sequences is not None:
        sequence_headers = match_headers("sequences", list(t.sequences.columns))
        books = playbooks_from_table(canonical(non_blank(t.sequences), sequence_headers))
    formulas = {ledger_headers.columns[h]: rows for h, rows in t.ledger.attrs.get("formulas", {}).items()
                if h in ledger_headers.columns}  # a reader that knows formulas says where they are
    return Inputs(canonical(non_blank(t.ledger), ledger_headers), ledger_headers,
                  canonical(non_blank(t.log), log_headers), log_headers, rules, settings, blocks, books,
                  sequence_headers, rules_headers, stage_headers, below=t.below, ledger_formulas=formulas)


def canonical(frame: pd.DataFrame, headers: HeaderMatch) -> pd.DataFrame:
    """The recognised columns of a table under their field keys."""
    return frame[list(headers.columns)].rename(columns=headers.columns)


def non_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with at least one non-blank cell (tables often end in empty rows)."""
    filled = np.zeros(len(frame), dtype=bool)
    for _, column in frame.items():
        unknown = ~filled  # a row found filled is not looked at again: most are after the first column
        if not unknown.any():  # every row has a cell: the other columns need not be read
            break
        filled[unknown] = ~is_blank(column[unknown]).to_numpy()
    return frame[filled]


def pairs(frame: pd.DataFrame) -> dict[str, object]:
    """A key/value table (Settings, Rules parameters) as a dict; keys stripped, blank keys skipped."""
    keys, values = frame.iloc[:, 0], frame.iloc[:, 1]
    return {str(k).strip(): v for k, v in zip(keys, values) if k is not None and str(k).strip()}


def key_rows(frame: pd.DataFrame) -> dict[str, int]:
    """The Excel row of each key of a key/value table (the first, when a key is typed twice)."""
    rows: dict[str, int] = {}
    for row, key in zip(frame.index, frame.iloc[:, 0]):
        if key is not None and str(key).strip():
            rows.setdefault(str(key).strip(), int(row))
    return rows


def _dates(frame: pd.DataFrame, table: str, problems: list[SettingProblem]) -> list[dt.date]:
    """The days of a team holidays/workdays table; a cell that is not a date is reported and left out."""
    days, bad = parse_dates(frame.iloc[:, 0], dt.date.today())
    problems += [SettingProblem("day", v, "date", int(r), table, "day")
                 for r, v in zip(frame.index[bad], frame.iloc[:, 0][bad])]
    return [d.astype(dt.date) for d in days if not np.isnat(d)]


def _owners(frame: pd.DataFrame, problems: list[SettingProblem]) -> pd.DataFrame:
    """The owners table; a capacity that is not a whole number ≥ 0 is reported and left blank (the owner
    gets the Settings' daily capacity)."""
    frame = non_blank(frame).iloc[:, :4].copy()
    frame.columns = list(POSITIONAL_COLUMNS["owners"][: frame.shape[1]])
    if "capacity" in frame:
        numbers, bad = parse_numbers(frame["capacity"])
        bad = bad | (numbers < 0) | (numbers != np.floor(numbers))
        bad &= ~frame["capacity"].map(cell_text).eq("").to_numpy()
        problems += [SettingProblem("capacity", v, "whole_number", int(r), "owners", "capacity")
                     for r, v in frame["capacity"][bad].items()]
        frame.loc[bad, "capacity"] = None
    return frame


def _blocks(frame: pd.DataFrame, problems: list[SettingProblem]) -> pd.DataFrame:
    """The time-blocks table without the rows that are not a block: a start or end that is not a time of
    day, or an end not after the start, is reported and its row left out (blank rows are skipped)."""
    keep = []
    for row, (start, end) in zip(frame.index, frame.iloc[:, :2].itertuples(index=False)):
        if cell_text(start) == "" and cell_text(end) == "":
            continue
        times = {key: _time_of_day(v) for key, v in (("start", start), ("end", end))}
        bad = [(key, v) for key, v in (("start", start), ("end", end)) if times[key] is None]
        if not bad and times["end"] <= times["start"]:
            bad = [("end", end)]
        problems += [SettingProblem(key, v, "time", int(row), "blocks", key) for key, v in bad]
        keep += [row] if not bad else []
    return frame.loc[keep]


def _time_of_day(value: object) -> dt.time | None:
    try:
        return parse_time(value)
    except ValueError:
        return None
