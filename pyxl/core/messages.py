"""Message templates with placeholders, rendered per customer (issue 9).

A placeholder is a ledger column in either language or any alias ({客户名称}, {Name}, {业务员}, {Owner}…)
or a Settings value ({本公司}, {公司地址}, {Our company}…). A blank value or an unknown name leaves the
placeholder visible in the message, and the caller reports it: a message is never silently wrong.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from .schema import header_index, normalise, vocabulary
from .values import cell_text

PLACEHOLDER = re.compile(r"\{([^{}\n]+)\}")


@dataclass(frozen=True)
class Source:
    """Where a placeholder's value comes from: a ledger field or a Settings key."""
    table: str  # "ledger" | "settings"
    key: str


@cache
def source_of(name: str) -> Source | None:
    wanted = normalise(name)
    if (key := vocabulary("placeholder").parse(wanted)) is not None:
        return Source("settings", key)
    key = header_index("ledger").get(wanted)
    return Source("ledger", key) if key is not None else None


def unknown_placeholders(template: str) -> list[str]:
    return [m for m in dict.fromkeys(PLACEHOLDER.findall(template)) if source_of(m) is None]


def render(template: str, values: Callable) -> tuple[str, list[Source]]:
    """The template with every placeholder whose value is known filled in, and the sources left blank.
    ``values(source)`` returns the text for a source ('' when blank)."""
    missing: list[Source] = []

    def fill(match: re.Match) -> str:
        source = source_of(match[1])
        text = values(source) if source is not None else ""
        if not text:
            if source is not None and source not in missing:
                missing.append(source)
            return match[0]
        return text
    return PLACEHOLDER.sub(fill, template), missing


def render_rows(templates: pd.Series, ledger: pd.DataFrame, settings: Mapping[str, object]
                ) -> tuple[pd.Series, list[tuple[object, Source]]]:
    """Each row's template rendered with that row's ledger cells; (row, source) of every blank value used."""
    out = pd.Series("", index=templates.index, dtype=object)
    missing: list[tuple[object, Source]] = []
    wanted = templates[templates.ne("")]
    for (row, template), cells in zip(wanted.items(), ledger.loc[wanted.index].to_dict("records")):

        def value(source: Source) -> str:
            return show(settings.get(source.key) if source.table == "settings" else cells.get(source.key))
        out[row], blanks = render(template, value)
        missing += [(row, s) for s in blanks]
    return out, missing


def show(value: object) -> str:
    """A cell as message text: dates as YYYY-MM-DD, whole numbers without '.0'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value.astype("datetime64[D]"))
    return cell_text(value)
