"""Customer IDs in the seed 001 format: prefix + market letter + 2-digit owner code + 3-digit sequence
(e.g. ``JRN01001``). One allocator, used by the ``ids`` action and by import; which rows share an ID."""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd


def shared(ids: pd.Series) -> np.ndarray:
    """Rows whose ID (stripped text, '' when blank) is typed on another row too."""
    return (ids.ne("") & ids.duplicated(keep=False)).to_numpy()


def without_unique_id(ids: pd.Series) -> np.ndarray:
    """Rows an ID does not tell apart: blank, or shared with another row (keyed by their ledger row)."""
    return ids.eq("").to_numpy() | shared(ids)


def owner_codes(table: pd.DataFrame, owners: Iterable[str]) -> dict[str, str]:
    """Owner -> 2-digit code: the Settings owners table first, then the next free numbers in name order."""
    codes: dict[str, str] = {}
    for owner, code in zip(table.get("owner", []), table.get("code", [])):
        if owner is not None and code is not None and str(code).strip():
            codes[str(owner).strip()] = f"{int(float(code)):02d}" if str(code).replace(".0", "").isdigit() else str(code)
    taken = set(codes.values())
    number = 1
    for owner in sorted(set(owners) - set(codes)):
        while f"{number:02d}" in taken:
            number += 1
        codes[owner] = f"{number:02d}"
        taken.add(codes[owner])
    return codes


def allocate(owners: list[str], everyone: Iterable[str], used: set[str], owner_table: pd.DataFrame, prefix: str,
             market: str) -> list[str]:
    """New IDs, one per owner given (in order), each following the highest number already used for its stem.
    ``everyone``: all owners of the ledger, so an owner's code does not depend on which rows lack an ID."""
    codes = owner_codes(owner_table, everyone)
    following: dict[str, int] = {}  # stem -> next number (one scan of the used IDs per stem)
    out = []
    for owner in owners:
        stem = f"{prefix}{market}{codes[owner]}"
        if stem not in following:
            following[stem] = _highest(used, stem) + 1
        out.append(f"{stem}{following[stem]:03d}")
        following[stem] += 1
    return out


def _highest(used: set[str], stem: str) -> int:
    pattern = re.compile(re.escape(stem) + r"(\d{3,})$")
    return max((int(m.group(1)) for m in map(pattern.match, used) if m), default=0)
