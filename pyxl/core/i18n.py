"""UI text in zh-CN and en from ``templates/locales``; code never branches on a language."""
from __future__ import annotations

import tomllib
from functools import cache

import numpy as np
import pandas as pd

from .errors import FollowupError
from .schema import LANGS, TEMPLATES, field, vocabulary
from .values import cell_text


@cache
def texts(lang: str) -> dict:
    if lang not in LANGS:
        raise FollowupError(text(LANGS[0], "errors", "unknown_language", lang=lang, choices=" / ".join(LANGS)))
    return tomllib.loads((TEMPLATES / "locales" / f"{lang}.toml").read_text(encoding="utf-8"))


def text(lang: str, section: str, key: str, **args) -> str:
    return texts(lang)[section][key].format(**args)


def reason_text(reason: str, greeting: str, lang: str, for_owner: str = "") -> str:
    """Why a plan entry is listed, with a birthday or holiday greeting the same day next to it ("overdue ·
    birthday"); ``greeting`` as the planner writes it ("birthday; holiday greeting: 国庆节"); an entry copied to
    a co-owner (``for_owner``: the owner it helps) says whose customer it is."""
    reasons = texts(lang)["reasons"]
    if for_owner:
        return reasons["co_owner"].format(owner=for_owner)
    parts = [reasons.get(reason, reason)]
    for g in filter(None, (greeting or "").split("; ")):
        kind, _, name = g.partition(": ")
        label = reasons.get(kind, kind) + (f" {name}" if name else "")
        if label not in parts and kind != reason:
            parts.append(label)
        elif kind == reason and name:
            parts[0] = label
    return " · ".join(parts)


class _Keep(dict):
    """format_map mapping that leaves unknown placeholders visible."""
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_flags(flags: pd.DataFrame, lang: str) -> list[str]:
    """Every flag of a flags table as a sentence in ``lang`` (the table column picks the field labels; a list
    argument is joined with the language's list separator)."""
    templates, separator = texts(lang)["checks"], texts(lang)["punctuation"]["list"]
    out = []
    for rule, table, key, value, suggested, args in zip(flags["rule"], flags["table"], flags["field"], flags["value"],
                                                          flags["suggested_tier"], flags["args"]):
        values = _Keep({k: separator.join(v) if isinstance(v, list) else v for k, v in (args or {}).items()})
        values.setdefault("field", _field_label(_LABEL_TABLES.get(table, "ledger"), key or "", lang))
        values.setdefault("value", cell_text(value))
        values.setdefault("suggested", suggested or "")
        out.append(templates[rule].format_map(values))
    return out


_LABEL_TABLES = {"contacts": "contacts", "rules": "rules", "sequences": "sequences", "stages": "stages"}


@cache
def _field_label(table: str, key: str, lang: str) -> str:
    try:
        return field(table, key).label(lang)
    except StopIteration:
        return key




def status_label(keys: np.ndarray, lang: str) -> np.ndarray:
    vocab = vocabulary("status")
    labels = {k: vocab.label(k, lang) for k in vocab.terms}
    return np.array([labels.get(k, "") for k in keys], dtype=object)
