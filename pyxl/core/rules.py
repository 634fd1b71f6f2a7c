"""Tier schemes as data: presets from ``templates/presets``, or the Rules sheet a team has edited.

The engine never branches on a tier code: cadence, payment deadline, KP rule, allowed stages, revenue
band, quotas and suggestions are columns of the tier table or rule parameters.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from collections.abc import Iterator
from functools import cache

import pandas as pd

from .errors import FollowupError
from .i18n import text
from .schema import LANGS, TEMPLATES, normalise, vocabulary
from .values import cell_text, distinct_texts, parse_vocab, split_list

UNITS = tuple(vocabulary("unit").terms)  # cadence units (templates/schema.toml), "none" last
NUMERIC = ("min", "max", "payment_days", "target_stock", "quota", "priority", "weight",
           "revenue_min", "revenue_max", "refusal_factor")
TEXT = ("code", "name", "definition", "aliases", "unit", "kp", "stages", "refusal_channel")


@dataclass(frozen=True)
class RuleProblem:
    """A Rules cell that could not be used as typed: ``row`` is the tier's row label (the Excel row when read
    from a workbook), ``field`` its column; in the parameters table (``table`` "params") ``field`` is the
    parameter. ``expected``: a key of the locales' ``[input]``, else plain text."""
    row: int | None
    field: str
    value: object
    expected: str
    table: str = "rules"


@dataclass
class Rules:
    """The active tier table (index = tier code) and scheme parameters."""
    tiers: pd.DataFrame
    params: dict[str, object]
    problems: list[RuleProblem] = field(default_factory=list)
    stages: pd.DataFrame = field(default_factory=lambda: empty_stages())  # the stage table (index = stage code)

    @property
    def codes(self) -> list[str]:
        return list(self.tiers.index)

    def param(self, key: str, default=None):
        value = self.params.get(key, default)
        if value is None or value == "":
            return default
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def tier_of(self, values: pd.Series) -> pd.Series:
        """Typed tier cells -> tier codes (aliases and the code itself, tolerant); NA when unknown."""
        index = _alias_index(tuple(self.tiers.index), tuple(self.tiers["aliases"]))
        return distinct_texts(values, lambda v: index.get(_tier_key(v)))

    def stage_rows(self, codes: pd.Series) -> pd.DataFrame:
        """The stage table's row for each stage code (all NaN for NA or a code without a row): what
        ``cadence.schedule`` takes as ``stage``."""
        return self.stages.reindex(codes.fillna("").to_numpy())

    def stage_of(self, values: pd.Series) -> pd.Series:
        """Typed stage cells -> stage codes (code, either name or an alias of the stage table; without a stage
        table the built-in stage list); NA when blank or unknown."""
        if self.stages.empty:
            return parse_vocab(values, "stage")[0]
        s = self.stages
        names = tuple(", ".join(n) for n in zip(s["name_zh"], s["name_en"], s["aliases"]))
        index = _alias_index(tuple(s.index), names)
        return distinct_texts(values, lambda v: index.get(_tier_key(v)))

    def co_owner_stages(self) -> list[str]:
        """Stages from which the co-owner works the customer too (seed 003: B2 and on): the stage table's
        Co-owner column, else (no stage table, an empty one, or one without that column) the Rules parameter
        ``co_owner_stages``."""
        co_owner = self.stages["co_owner"]
        if not self.stages.empty and co_owner.notna().all():
            return list(self.stages.index[co_owner.eq(True)])
        return split_list(self.param("co_owner_stages", ""))


def _tier_key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalise(value)


@cache
def _alias_index(codes: tuple[str, ...], aliases: tuple[str, ...]) -> dict[str, str]:
    index = {normalise(c): c for c in codes}
    for code, names in zip(codes, aliases):
        for name in split_list(names):
            index.setdefault(normalise(name), code)
    return index


# ---------------------------------------------------------------- presets
PRESETS = ("maturity", "abc", "pipeline")


@cache
def _preset_file(key: str) -> dict:
    if key not in PRESETS:
        raise FollowupError(text(LANGS[0], "errors", "unknown_preset", preset=key, choices=" / ".join(PRESETS)))
    return tomllib.loads((TEMPLATES / "presets" / f"{key}.toml").read_text(encoding="utf-8"))


def preset_table(key: str, lang: str) -> pd.DataFrame:
    """The preset's tier table with canonical column keys, in the workbook language (for the Rules sheet)."""
    suffix = "zh" if lang == "zh-CN" else "en"
    rows = []
    for tier in _preset_file(key)["tier"]:
        row = {k: tier.get(k, "") for k in (*TEXT, *NUMERIC)}
        row["name"] = tier[suffix]
        row["definition"] = tier[f"definition_{suffix}"]
        row["aliases"] = ", ".join(tier["aliases"])
        rows.append(row)
    return pd.DataFrame(rows, columns=_RULES_ORDER)


_RULES_ORDER = ["code", "name", "definition", "aliases", "min", "max", "unit", "payment_days", "target_stock",
                "quota", "priority", "weight", "kp", "stages", "revenue_min", "revenue_max", "refusal_factor",
                "refusal_channel"]


def preset_params(key: str) -> dict[str, object]:
    return dict(_preset_file(key)["params"])


def preset_blocks(key: str) -> list[dict]:
    return list(_preset_file(key)["block"])


def preset_stages(key: str) -> pd.DataFrame:
    """The preset's stage table (``[[stage]]``), else the built-in stage list (seed 003, templates/schema.toml
    ``[vocab.stage]``) with the preset's ``co_owner_stages`` marked; canonical column keys."""
    rows = _preset_file(key).get("stage")
    if rows is None:
        co_owner = split_list(preset_params(key).get("co_owner_stages", ""))
        rows = [{"code": code, "name_zh": term["zh"], "name_en": term["en"],
                 "aliases": [a for a in term["aliases"] if a != code], "co_owner": code in co_owner}
                for code, term in vocabulary("stage").terms.items()]
    return pd.DataFrame([{**{k: row.get(k, "") for k in STAGE_COLUMNS}, "order": row.get("order", i + 1),
                          "aliases": ", ".join(row.get("aliases", [])),
                          "co_owner": "yes" if row.get("co_owner") else "no"} for i, row in enumerate(rows)],
                        columns=list(STAGE_COLUMNS))


def preset_rules(key: str, lang: str = "zh-CN") -> Rules:
    rules = rules_from_table(preset_table(key, lang), preset_params(key))
    return with_stages(rules, preset_stages(key))


# ---------------------------------------------------------------- the stage table
STAGE_COLUMNS = ("code", "name_zh", "name_en", "aliases", "order", "min", "max", "unit", "idle_days", "co_owner")
_STAGE_NUMERIC = ("order", "min", "max", "idle_days")


def empty_stages() -> pd.DataFrame:
    return pd.DataFrame(columns=list(STAGE_COLUMNS[1:]), index=pd.Index([], name="code", dtype=object))


def with_stages(rules: Rules, table: pd.DataFrame | None) -> Rules:
    """``rules`` with the stage table as typed (canonical column keys; rows without a code skipped). A cell
    that cannot be used is a problem of table "stages"; a stage without a usable cadence adds none. Co-owner
    is True/False per stage, None throughout when the table has no such column (the parameter then says)."""
    if table is None:
        return rules
    problems: list[RuleProblem] = []
    rows = []
    for pos, code, raw in _coded_rows(table):
        row = {"code": code, "_pos": pos, **{k: cell_text(raw.get(k)) for k in ("name_zh", "name_en", "aliases")}}
        row.update({k: _number(raw.get(k), pos, k, problems) for k in _STAGE_NUMERIC})
        row["unit"] = _choice(cell_text(raw.get("unit")), "unit", pos, "unit", problems, default="none")
        if "co_owner" in table.columns:
            typed = cell_text(raw.get("co_owner"))
            row["co_owner"] = bool(typed) and _choice(typed, "bool", pos, "co_owner", problems, "no") == "yes"
        rows.append(row)
    stages = pd.DataFrame(rows, columns=[*STAGE_COLUMNS, "_pos"])
    stages = _by_unique_code(stages, problems)
    stages["refusal_factor"] = math.nan  # _check_cadence checks it too; a stage has none
    _check_cadence(stages, problems)
    stages = stages.sort_values("order", kind="stable").drop(columns=["_pos", "refusal_factor"])
    problems = [replace(p, table="stages") for p in sorted(problems, key=lambda p: p.row)]
    return replace(rules, stages=stages, problems=[*rules.problems, *problems])


# ---------------------------------------------------------------- validation of a typed table
def _coded_rows(table: pd.DataFrame) -> Iterator[tuple[int, str, dict]]:
    """(row position, code, the row's cells) of each row of a typed table with a code (others are skipped)."""
    for pos, raw in zip(table.index, table.to_dict("records")):
        code = cell_text(raw.get("code"))
        if code:
            yield pos, code, raw


def _by_unique_code(rows: pd.DataFrame, problems: list[RuleProblem]) -> pd.DataFrame:
    """Typed rows indexed by code; a code typed again is a problem on its row, and the first one counts."""
    dupes = rows["code"].duplicated()
    problems += [RuleProblem(int(p), "code", c, "unique_code")
                 for p, c in zip(rows["_pos"][dupes], rows["code"][dupes])]
    return rows[~dupes].set_index("code")


def rules_from_table(table: pd.DataFrame, params: dict[str, object], param_rows: dict[str, int] | None = None
                     ) -> Rules:
    """Validate a tier table as typed on the Rules sheet (canonical column keys, any row order) and its
    parameters (``param_rows``: the Excel row of each parameter)."""
    problems: list[RuleProblem] = []
    rows = []
    for pos, code, raw in _coded_rows(table):
        row = {"code": code, "_pos": pos}
        for key in TEXT[1:]:
            row[key] = cell_text(raw.get(key))
        for key in NUMERIC:
            row[key] = _number(raw.get(key), pos, key, problems)
        row["unit"] = _choice(row["unit"], "unit", pos, "unit", problems, default="none")
        row["kp"] = _choice(row["kp"], "kp", pos, "kp", problems, default="")
        if row["refusal_channel"]:  # blank: the last touch's channel
            row["refusal_channel"] = _choice(row["refusal_channel"], "channel", pos, "refusal_channel", problems, "")
        rows.append(row)
    tiers = pd.DataFrame(rows, columns=[*_RULES_ORDER, "_pos"])
    tiers = _by_unique_code(tiers, problems)
    _check_cadence(tiers, problems)
    problems.sort(key=lambda p: p.row)
    return Rules(tiers.drop(columns="_pos"), _counts_checked(params, param_rows or {}, problems), problems)


@cache
def _count_params() -> frozenset[str]:
    """Parameters that are counts (whole numbers in every preset): limits, months."""
    return frozenset(k for key in PRESETS for k, v in preset_params(key).items() if isinstance(v, int))


def _counts_checked(params: dict[str, object], rows: dict[str, int], problems: list[RuleProblem]
                    ) -> dict[str, object]:
    """The parameters, without a count that is not a whole number ≥ 0 (reported; its default applies)."""
    out = dict(params)
    for key in _count_params() & out.keys():
        text = cell_text(out[key])
        try:
            ok = text == "" or (float(text) >= 0 and float(text).is_integer())
        except ValueError:
            ok = False
        if not ok:
            problems.append(RuleProblem(rows.get(key), key, out.pop(key), "whole_number", "params"))
        elif text:
            out[key] = int(float(text))
    return out


def _check_cadence(tiers: pd.DataFrame, problems: list[RuleProblem]) -> None:
    """Cadence cells that cannot work: a tier without a usable max follows no cadence; min is clipped to 0..max;
    an after-refusal factor must lengthen the interval (≥ 1)."""
    for code, t in tiers.iterrows():
        pos = int(t["_pos"])
        if not t["refusal_factor"] >= 1 and not math.isnan(t["refusal_factor"]):
            problems.append(RuleProblem(pos, "refusal_factor", t["refusal_factor"], "refusal_factor"))
            tiers.at[code, "refusal_factor"] = 1.0
        if t["unit"] == "none":
            continue
        if math.isnan(t["max"]) or t["max"] < 0:
            problems.append(RuleProblem(pos, "max", t["max"], "max"))
            tiers.at[code, "unit"] = "none"
        elif math.isnan(t["min"]) or t["min"] > t["max"] or t["min"] < 0:
            problems.append(RuleProblem(pos, "min", t["min"], "min"))
            tiers.at[code, "min"] = t["max"] if math.isnan(t["min"]) or t["min"] > t["max"] else 0.0


def _number(value: object, pos: int, key: str, problems: list[RuleProblem]) -> float:
    text = cell_text(value)
    if text == "":
        return math.nan
    try:
        return float(text.replace(",", ""))
    except ValueError:
        problems.append(RuleProblem(pos, key, value, "number"))
        return math.nan


def _choice(value: str, vocab: str, pos: int, key: str, problems: list[RuleProblem], default: str) -> str:
    """A typed cell -> the term of ``vocab`` it names (tolerant); a problem and ``default`` when none."""
    choice = vocabulary(vocab).parse(value)
    if choice is None:
        problems.append(RuleProblem(pos, key, value, " / ".join(k for k in vocabulary(vocab).terms if k)))
        return default
    return choice
