"""Which sheet of a workbook is a tool sheet: one lookup for every path that opens a workbook.

Excel on macOS has no code-name API (xlwings issue #1231; its ``sheet.api`` is an appscript reference
on which unknown COM names such as ``CodeName`` raise, xlwings issue #191), so a sheet is found from data
every platform can read, most stable first:

1. the workbook-level defined name ``FU_Sheet_<codeName>`` (refers to A1 of the sheet; Excel rewrites it
   when the sheet is renamed);
2. the sheet's code name, when the caller knows it (the headless reader does; live paths pass None);
3. the sheet holding the tool's table (tables keep their names when their sheet is renamed);
4. the sheet's built-in name in any language of the workbook.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache

from ..core.i18n import LANGS, texts
from . import layout as L
from .errors import WorkbookError

NAME_PREFIX = "FU_Sheet_"

# the table that marks each tool sheet holding one
TOOL_TABLES = {L.CUSTOMERS: L.T_CUSTOMERS, L.CONTACTS: L.T_CONTACTS, L.RULES: L.T_RULES,
               L.SEQUENCES: L.T_SEQUENCES, L.SETTINGS: L.T_SETTINGS}

_SHEET_OF = re.compile(r"^=?\s*(?:'((?:[^']|'')+)'|([^'!#]+))!")


def defined_name(code: str) -> str:
    """The workbook-level name that marks the sheet with this code name."""
    return NAME_PREFIX + code


def sheet_of_reference(refers_to: str) -> str | None:
    """The sheet name in a reference such as ``='It''s'!$A$1`` or ``=Agenda!$A$1`` (None for ``#REF!``)."""
    m = _SHEET_OF.match(refers_to or "")
    if not m:
        return None
    return m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2).strip()


@cache
def builtin_names(code: str) -> tuple[str, ...]:
    """The names the builder gives the sheet, in every language."""
    key = L.SHEETS.get(code)
    if code not in L.SHEETS:
        return ()
    if key is None:
        return (L.FIXED_NAMES[code],)
    return tuple(dict.fromkeys(texts(lang)["sheets"][key] for lang in LANGS))


def locate_sheet(code: str, sheet_names: Sequence[str], *, code_names: Sequence[str | None] | None = None,
                 defined_names: Mapping[str, str] | None = None,
                 table_sheets: Mapping[str, str] | None = None) -> str:
    """The name of the sheet with this code name (e.g. ``shAgenda``), by the rules of the module docstring.

    ``defined_names``: workbook-level name -> refers-to text; ``table_sheets``: table name -> sheet name."""
    present = {name.casefold(): name for name in sheet_names}
    by_name = sheet_of_reference((defined_names or {}).get(defined_name(code), ""))
    if by_name is not None and by_name.casefold() in present:
        return present[by_name.casefold()]
    for name, known in zip(sheet_names, code_names or ()):
        if known == code:
            return name
    table = TOOL_TABLES.get(code)
    if table is not None and table in (table_sheets or {}):
        return table_sheets[table]
    for name in builtin_names(code):
        if name.casefold() in present:
            return present[name.casefold()]
    raise WorkbookError(f"no sheet {code!r}: no defined name {defined_name(code)}, table or sheet named "
                   f"{' / '.join(builtin_names(code))}")
