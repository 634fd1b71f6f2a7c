"""What an action works on: the tool's tables as read from a workbook, turned into the core's objects once —
the ledger and log under canonical keys, the Rules, Settings, playbooks and the team calendar (built once and
handed to the engine, the planner and the reports)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .calendar import TeamCalendar
from .playbooks import Playbooks, playbooks_from_table
from .rules import Rules, rules_from_table
from .schema import HeaderMatch, match_headers
from .settings import Settings, calendar_for, settings_from_pairs
from .values import is_blank, parse_dates

NO_HEADERS = HeaderMatch({}, [], [])


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
    calendar: TeamCalendar | None = None  # the team's working days (built from settings when not given)
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
    rules = rules_from_table(canonical(t.rules, match_headers("rules", list(t.rules.columns))), pairs(t.params))
    settings = settings_from_pairs(pairs(t.settings), extra_holidays=_dates(t.holidays),
                                   extra_workdays=_dates(t.workdays), owners=_owners(t.owners))
    books, sequence_headers = Playbooks(), NO_HEADERS
    if t.sequences is not None:
        sequence_headers = match_headers("sequences", list(t.sequences.columns))
        books = playbooks_from_table(canonical(non_blank(t.sequences), sequence_headers))
    formulas = {ledger_headers.columns[h]: rows for h, rows in t.ledger.attrs.get("formulas", {}).items()
                if h in ledger_headers.columns}  # a reader that knows formulas says where they are
    return Inputs(canonical(non_blank(t.ledger), ledger_headers), ledger_headers,
                  canonical(non_blank(t.log), log_headers), log_headers, rules, settings, t.blocks, books,
                  sequence_headers, ledger_formulas=formulas)


def canonical(frame: pd.DataFrame, headers: HeaderMatch) -> pd.DataFrame:
    """The recognised columns of a table under their field keys."""
    return frame[list(headers.columns)].rename(columns=headers.columns)


def non_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with at least one non-blank cell (tables often end in empty rows)."""
    filled = np.zeros(len(frame), dtype=bool)
    for _, column in frame.items():
        unknown = ~filled  # a row found filled is not looked at again: most are after the first column
        filled[unknown] = ~is_blank(column[unknown]).to_numpy()
    return frame[filled]


def pairs(frame: pd.DataFrame) -> dict[str, object]:
    """A key/value table (Settings, Rules parameters) as a dict; keys stripped, blank keys skipped."""
    keys, values = frame.iloc[:, 0], frame.iloc[:, 1]
    return {str(k).strip(): v for k, v in zip(keys, values) if k is not None and str(k).strip()}


def _dates(frame: pd.DataFrame) -> list[dt.date]:
    days, _ = parse_dates(frame.iloc[:, 0], dt.date.today())
    return [d.astype(dt.date) for d in days if not np.isnat(d)]


def _owners(frame: pd.DataFrame) -> pd.DataFrame:
    frame = non_blank(frame).iloc[:, :4]
    frame.columns = ["owner", "code", "capacity", "manager"][: frame.shape[1]]
    return frame
