"""Flags are data, never exceptions: each names its rule, severity, table, row, field, the value found, a
suggested tier and the arguments of its message. Every rule is declared once here, with its severity and the
table its flags point at; ``flag`` is the one way to build flags, and only of a declared rule.
Messages are rendered per language from ``templates/locales/*.toml`` ``[checks]`` by ``i18n.render_flags``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

FLAG_COLUMNS = ["rule", "severity", "table", "row", "field", "value", "suggested_tier", "args"]
SEVERITIES = ("error", "warning", "suggestion")
TABLES = ("ledger", "contacts", "sequences", "rules", "settings", "owners", "params", "holidays", "workdays",
          "blocks", "stages", "cells")  # cells: row = Sheet!A1


@dataclass(frozen=True)
class Rule:
    id: str  # the key of its message in the locales' [checks]
    severity: str
    table: str = "ledger"  # what its rows are: Excel rows of a table, a Rules/Settings key, an owner


RULES: dict[str, Rule] = {}


def rule(id: str, severity: str, table: str = "ledger") -> Rule:
    """Declare a rule (once)."""
    assert severity in SEVERITIES and table in TABLES and id not in RULES, id
    RULES[id] = Rule(id, severity, table)
    return RULES[id]


def flag(rule: Rule, rows: Sequence | pd.Index, field: str | Sequence[str], values: object = None,
         suggested: object = "", args: dict | Sequence[dict] | None = None) -> pd.DataFrame:
    """Flags of ``rule`` at ``rows``; ``field``, ``values``, ``suggested`` and ``args`` are one for all rows or
    one per row."""
    n = len(rows)
    if n == 0:  # most checks find nothing: no frame built for it
        return no_flags()
    per_row_args = args if isinstance(args, (list, tuple)) else [args or {}] * n
    return pd.DataFrame({"rule": rule.id, "severity": rule.severity, "table": rule.table, "row": list(rows),
                         "field": field if isinstance(field, str) else list(field),
                         "value": values if values is None or isinstance(values, str) else list(values),
                         "suggested_tier": suggested if isinstance(suggested, str) else list(suggested),
                         "args": list(per_row_args)}, columns=FLAG_COLUMNS, index=range(n))


_NO_FLAGS = pd.DataFrame(columns=FLAG_COLUMNS)


def no_flags() -> pd.DataFrame:
    return _NO_FLAGS.copy()  # a copy costs a 30th of building one


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else no_flags()
