"""Build ``followup.xlsm`` from the sources in the repo: XlsxWriter writes the sheets, tables, validations
and conditional formats; ``vba.py`` writes vbaProject.bin; ``ribbon.py`` adds the customUI parts.
The result is reproducible byte for byte from the same sources and pinned dependencies.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from ..book import layout as L
from ..book.locate import defined_name
from ..core import playbooks
from ..core import rules as presets
from ..core.i18n import texts
from ..core.schema import fields, vocabulary
from ..core.settings import default, defaults
from ..files import write_atomic
from . import ribbon, vba
from .styles import ROLES, STATUS_FILLS

FIXED_TIME = dt.datetime(2026, 1, 1)
TABLE_STYLE = "Table Style Light 9"
# Only the settings the workbook needs: a row on the xlwings.conf sheet wins over the user's own
# xlwings.conf even when its value is empty (xlwings.bas GetConfig: "An entry in xlwings.conf sheet overrides
# the config file"), so the interpreter, Conda and PYTHONPATH rows are left out; docs/excel.md says how to set
# them (`xlwings config create`, or a row added here by hand).
# "Use UDF Server": the ribbon's RunPython runs in the Python process Excel keeps for the worksheet functions
# (xlwings.bas RunPython: XLPy.Exec) instead of a new interpreter per press (ExecuteWindows: cmd.exe /C python),
# so imports are paid once per Excel session. Windows only (macOS ignores it); False switches back.
XLWINGS_CONF = [("UDF Modules", "pyxl.udfs"), ("ADD_WORKBOOK_TO_PYTHONPATH", True), ("Use UDF Server", True)]


def header_lines(label: str, width: float) -> int:
    """Lines a bold header wraps to in a column ``width`` wide: CJK characters count two, Latin a little over
    one; the filter button takes ~2."""
    needed = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1.15 for ch in label) + 2
    return math.ceil(needed / max(width, 1))


class Builder:
    """One workbook build. ``lang`` picks the labels; ``preset`` the tier scheme loaded into the Rules sheet."""

    def __init__(self, lang: str = "zh-CN", preset: str = "maturity"):
        self.lang, self.preset = lang, preset
        self.t = texts(lang)
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "strings_to_formulas": False,
                                                    "strings_to_numbers": False, "strings_to_urls": False})
        self.wb.set_properties({"title": "followup", "created": FIXED_TIME, "author": "followup"})
        self.fmt = {role: self.wb.add_format(props) for role, props in ROLES.items()}
        self.sheets: dict[str, xlsxwriter.worksheet.Worksheet] = {}
        self.header_lines: dict[str, int] = {}  # per sheet: lines its tables' wrapped headers need

    def name(self, code: str) -> str:
        key = L.SHEETS[code]
        return L.FIXED_NAMES[code] if key is None else self.t["sheets"][key]

    def ref(self, code: str, first_row: int, col: int, last_row: int) -> str:
        """An absolute, quoted range on another sheet, e.g. ='规则'!$A$2:$A$61."""
        c = xl_col_to_name(col)
        return f"='{self.name(code)}'!${c}${first_row + 1}:${c}${last_row + 1}"

    def build(self) -> bytes:
        for code in L.SHEETS:
            sheet = self.wb.add_worksheet(self.name(code))
            sheet.set_vba_name(code)
            self.sheets[code] = sheet
            quoted = self.name(code).replace("'", "''")
            self.wb.define_name(defined_name(code), f"='{quoted}'!$A$1")  # follows renames; pyxl/book/locate.py
        self.wb.set_vba_name("ThisWorkbook")
        self.wb.add_vba_project(io.BytesIO(vba.build_vba_project(vba.workbook_modules(list(L.SHEETS)))),
                                is_stream=True)
        self.wb.define_name("FU_LANG", f'="{self.lang}"')
        self._rules()
        self._sequences()
        self._settings()
        self._customers()
        self._contacts()
        self._generated()
        self._xlwings_conf()
        self._styles()
        self._form()
        self.sheets[L.CUSTOMERS].activate()
        self.wb.close()
        return ribbon.add_custom_ui(self.buffer.getvalue(), self.lang)

    # -- helpers -----------------------------------------------------------------------------
    def table(self, code: str, name: str, row: int, col: int, headers: list[str], data: list[list],
              formats: list[str] | None = None, widths: list[float] | None = None) -> None:
        sheet = self.sheets[code]
        rows = data or [[None] * len(headers)]
        columns = [{"header": h, "format": self.fmt[(formats or ["text"] * len(headers))[i]],
                    "header_format": self.fmt["header"]} for i, h in enumerate(headers)]
        sheet.add_table(row, col, row + len(rows), col + len(headers) - 1,
                        {"name": name, "columns": columns, "data": rows, "style": TABLE_STYLE})
        for i, width in enumerate(widths or []):
            sheet.set_column(col + i, col + i, width, self.fmt[(formats or ["text"] * len(headers))[i]])
        lines = max([header_lines(h, w) for h, w in zip(headers, widths or [])], default=1)
        if lines > self.header_lines.get(code, 1):  # headers wrap (text_wrap): a row tall enough to show them
            self.header_lines[code] = lines
            sheet.set_row(row, 15 * lines)

    def dropdown(self, code: str, col: int, source: str, last_row: int = L.LAST_ROW - 1) -> None:
        self.sheets[code].data_validation(1, col, last_row, col, {
            "validate": "list", "source": source, "error_type": "warning", "ignore_blank": True})

    # -- sheets ------------------------------------------------------------------------------
    def _rules(self) -> None:
        table = _labelled(presets.preset_table(self.preset, self.lang),
                          {"unit": ("unit",), "kp": ("kp",), "refusal_channel": ("channel",)}, self.lang)
        rule_fields = fields("rules")
        self.table(L.RULES, L.T_RULES, 0, 0, [f.label(self.lang) for f in rule_fields],
                   _rows(table[[f.key for f in rule_fields]]),
                   [_role(f.type) for f in rule_fields], [f.width for f in rule_fields])
        self.wb.define_name("FU_Tiers", self.ref(L.RULES, 1, 0, L.LIST_ROWS))
        params = presets.preset_params(self.preset)
        params.pop("co_owner_stages", None)  # the stage table's Co-owner column says it
        col = len(rule_fields) + 1
        headers = self.t["tables"]["params"]  # key, value, description: as the Settings table
        described = self.t["param_descriptions"]
        self.table(L.RULES, L.T_PARAMS, 0, col, headers, [[k, v, described[k]] for k, v in params.items()],
                   widths=[22, 10, 40])
        self._stages(col + len(headers) + 1)
        sheet = self.sheets[L.RULES]
        sheet.freeze_panes(1, 1)
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.write_comment(0, 0, self.t["notes"]["rules"], {"x_scale": 3, "y_scale": 2})

    def _stages(self, col: int) -> None:
        """The stage table (seed 003's stages unless the preset has its own); ``FU_Stages`` lists its names in
        the workbook language for the ledger's Stage drop-down."""
        table = _labelled(presets.preset_stages(self.preset), {"unit": ("unit",), "co_owner": ("bool",)}, self.lang)
        stage_fields = fields("stages")
        self.table(L.RULES, L.T_STAGES, 0, col, [f.label(self.lang) for f in stage_fields],
                   _rows(table[[f.key for f in stage_fields]]), [_role(f.type) for f in stage_fields],
                   [f.width for f in stage_fields])
        name = 1 if self.lang == "zh-CN" else 2
        self.wb.define_name("FU_Stages", self.ref(L.RULES, 1, col + name, L.LIST_ROWS))
        self.dropdown(L.RULES, col + [f.key for f in stage_fields].index("co_owner"), "=FU_YesNo")
        self.sheets[L.RULES].write_comment(0, col, self.t["notes"]["stages"], {"x_scale": 3, "y_scale": 2})

    def _sequences(self) -> None:
        steps = fields("sequences")
        self.table(L.SEQUENCES, L.T_SEQUENCES, 0, 0, [f.label(self.lang) for f in steps],
                   playbook_rows(self.lang), widths=[f.width for f in steps])
        col = {f.key: i for i, f in enumerate(steps)}
        for key, source in (("start", "=FU_Events"), ("until", "=FU_Events"), ("channel", "=FU_Channels")):
            self.dropdown(L.SEQUENCES, col[key], source)
        sheet = self.sheets[L.SEQUENCES]
        sheet.set_column(col["template"], col["template"], steps[col["template"]].width, self.fmt["wrap"])
        sheet.freeze_panes(1, 2)
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.write_comment(0, 0, self.t["notes"]["sequences"], {"x_scale": 3, "y_scale": 3})

    def _setting_default(self, key: str, value: object) -> object:
        """A Settings default as this workbook's language writes it (settings.toml's are shared by both)."""
        parsed = default(key)
        if key == "language":
            return self.lang
        if isinstance(parsed, bool):
            return vocabulary("bool").label("yes" if parsed else "no", self.lang)
        if key == "load_by":
            return self.t["settings_values"][parsed]
        return value

    def _settings(self) -> None:
        sheet = self.sheets[L.SETTINGS]
        desc = 1 if self.lang == "zh-CN" else 2
        rows = [[key, self._setting_default(key, v[0]), v[desc]] for key, v in defaults().items()]
        self.table(L.SETTINGS, L.T_SETTINGS, 0, 0, self.t["tables"]["settings"], rows, widths=[18, 18, 40])
        self.wb.define_name(L.AS_OF_NAME, self.ref(L.SETTINGS, 1, 1, 1))
        self.wb.define_name(L.TODAY_NAME, L.today_formula())
        self.table(L.SETTINGS, L.T_OWNERS, 0, 4, self.t["tables"]["owners"], [], widths=[10, 6, 8, 10])
        self.wb.define_name("FU_Owners", self.ref(L.SETTINGS, 1, 4, L.LIST_ROWS))
        self.table(L.SETTINGS, L.T_HOLIDAYS, 0, 9, self.t["tables"]["holidays"], [], ["date", "text"], [11, 16])
        self.table(L.SETTINGS, L.T_WORKDAYS, 0, 12, self.t["tables"]["workdays"], [], ["date", "text"], [11, 16])
        self._lists(15)
        self._blocks(22)
        sheet.set_column(1, 1, 18, self.fmt["text"])
        sheet.set_landscape()

    def _lists(self, col: int) -> None:
        names = ("bool", "channel", "outcome", "stage", "event")
        lists = {n: vocabulary(n).labels(self.lang) for n in names}
        sources = self.t["lists"]["sources"]
        longest = max(len(v) for v in [*lists.values(), sources])
        rows = [[(lists[n] + [None] * longest)[i] for n in names] + [(sources + [None] * longest)[i]]
                for i in range(longest)]
        self.table(L.SETTINGS, L.T_LISTS, 0, col, self.t["tables"]["lists"], rows, widths=[8, 8, 10, 14, 10, 10])
        for i, key in enumerate(("FU_YesNo", "FU_Channels", "FU_Outcomes", None, "FU_Events", "FU_Sources")):
            if key:  # FU_Stages: the stage table's names (Rules sheet)
                self.wb.define_name(key, self.ref(L.SETTINGS, 1, col + i, L.LIST_ROWS))

    def _blocks(self, col: int) -> None:
        rows = [[b["start"], b["end"], b["zh" if self.lang == "zh-CN" else "en"], b["tiers"]]
                for b in presets.preset_blocks(self.preset)]
        self.table(L.SETTINGS, L.T_BLOCKS, 0, col, self.t["tables"]["blocks"], rows, widths=[7, 7, 12, 14])

    def _customers(self) -> None:
        ledger = fields("ledger")
        code = L.CUSTOMERS
        headers = [f.label(self.lang) for f in ledger]
        self.table(code, L.T_CUSTOMERS, 0, 0, headers, [], [_role(f.type) for f in ledger],
                   [f.width for f in ledger])
        sheet = self.sheets[code]
        sheet.freeze_panes(1, 2)
        sheet.set_landscape()
        sheet.repeat_rows(0)
        sheet.repeat_columns(0, 1)
        col = {f.key: i for i, f in enumerate(ledger)}
        for key, source in (("tier", "=FU_Tiers"), ("kp", "=FU_YesNo"), ("owner", "=FU_Owners"),
                            ("co_owner", "=FU_Owners"), ("source", "=FU_Sources"), ("stage", "=FU_Stages")):
            self.dropdown(code, col[key], source)
        note = self.t["notes"]["computed"]
        for f in ledger:
            if f.computed:
                i = col[f.key]
                sheet.write(0, i, f.label(self.lang), self.fmt["header_tool"])
                sheet.write_comment(0, i, note)
                sheet.data_validation(1, i, L.LAST_ROW - 1, i, {
                    "validate": "custom", "value": "=FALSE", "error_title": self.t["notes"]["computed_title"],
                    "error_message": note, "ignore_blank": False})
        self._status_colours(code, len(ledger) - 1, xl_col_to_name(col["earliest"]), xl_col_to_name(col["due"]))

    def _status_colours(self, code: str, last_col: int, earliest: str, due: str, first_row: int = 1) -> None:
        """Whole-row colours from Due/Earliest against FU_Today: native, so they stay right without Python."""
        r = first_row + 1
        rules = [("overdue", f"=AND(ISNUMBER(${due}{r}),${due}{r}<FU_Today)"),
                 ("due_today", f"=AND(ISNUMBER(${due}{r}),${due}{r}=FU_Today)"),
                 ("in_window", f"=AND(ISNUMBER(${due}{r}),ISNUMBER(${earliest}{r}),${earliest}{r}<=FU_Today)")]
        for role, formula in rules:
            self.sheets[code].conditional_format(first_row, 0, L.LAST_ROW - 1, last_col, {
                "type": "formula", "criteria": formula, "format": self.wb.add_format(STATUS_FILLS[role]),
                "stop_if_true": True})

    def _contacts(self) -> None:
        log = fields("contacts")
        code = L.CONTACTS
        self.table(code, L.T_CONTACTS, 0, 0, [f.label(self.lang) for f in log], [], [_role(f.type) for f in log],
                   [f.width for f in log])
        col = {f.key: i for i, f in enumerate(log)}
        for key, source in (("channel", "=FU_Channels"), ("reached", "=FU_YesNo"), ("outcome", "=FU_Outcomes"),
                            ("owner", "=FU_Owners"), ("new_tier", "=FU_Tiers"), ("event", "=FU_Events"),
                            ("hard_call", "=FU_YesNo")):
            self.dropdown(code, col[key], source)
        self.sheets[code].freeze_panes(1, 0)

    def _generated(self) -> None:
        for code in L.GENERATED:
            sheet = self.sheets[code]
            sheet.write(0, 0, self.name(code), self.fmt["title"])
            sheet.write(1, 0, self.t["notes"]["generated"], self.fmt["subtitle"])
            sheet.set_column(0, 30, 12, self.fmt["text"])
            sheet.hide_gridlines(2)
            sheet.set_landscape()
            sheet.fit_to_pages(1, 0)
        self._dashboard_charts()

    def _dashboard_charts(self) -> None:
        name = self.name(L.DASHBOARD)
        t = self.t["dashboard"]
        charts = [(L.FUNNEL, 0, 2, "bar", t["chart_funnel"], L.CHARTS["funnel"]),
                  (L.OWNERS, 0, 2, "column", t["chart_overdue"], L.CHARTS["overdue"]),
                  (L.PER_DAY, 0, 1, "line", t["chart_touches"], L.CHARTS["touches"])]
        for block, cat, val, kind, title, anchor in charts:
            chart = self.wb.add_chart({"type": kind})
            r0, c0, r1, _ = block.cell_range(cat)
            _, c1, _, _ = block.cell_range(val)
            chart.add_series({"categories": [name, r0, c0, r1, c0], "values": [name, r0, c1, r1, c1],
                              "name": title})
            chart.set_title({"name": title, "name_font": {"size": 11}})
            chart.set_legend({"none": True})
            chart.show_blanks_as("gap")
            if kind == "bar":
                chart.set_y_axis({"reverse": True})
            if kind == "line":
                chart.set_x_axis({"num_format": "mm-dd", "date_axis": True})
            self.sheets[L.DASHBOARD].insert_chart(anchor, chart, {"x_scale": 1.0, "y_scale": 1.2})

    def _xlwings_conf(self) -> None:
        sheet = self.sheets[L.XLWINGS_CONF]
        for i, (key, value) in enumerate(XLWINGS_CONF):
            sheet.write(i, 0, key)
            sheet.write(i, 1, value)
        sheet.write(0, 3, self.t["notes"]["xlwings_conf"], self.fmt["wrap"])
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 1, 40)
        sheet.set_column(3, 3, 70)

    def _styles(self) -> None:
        sheet = self.sheets[L.STYLES]
        for i, role in enumerate(ROLES):
            sheet.write_string(i, 0, role, self.fmt[role])
        sheet.very_hidden()

    def _form(self) -> None:
        sheet = self.sheets[L.FORM]
        for i, key in enumerate(("channel", "reached", "outcome", "agreed", "note", "hard_call")):
            sheet.write_string(i, 0, key)
        sheet.very_hidden()


def _role(kind: str) -> str:
    return {"date": "date", "datetime": "datetime", "money": "money", "int": "int"}.get(kind, "text")


def _label(code: str, vocabs: tuple[str, ...], lang: str) -> str | None:
    """A code as the workbook's language writes it: its label in the first of ``vocabs`` that has it (the
    readers parse labels back to codes); blank stays blank."""
    if not code:
        return None
    return next((label for v in vocabs if (label := vocabulary(v).label(code, lang))), code)


def _labelled(frame: pd.DataFrame, columns: dict[str, tuple[str, ...]], lang: str) -> pd.DataFrame:
    """``frame`` with the coded ``columns`` (column -> vocabularies) written as labels in ``lang``."""
    return frame.assign(**{c: [_label(v, vocabs, lang) for v in frame[c]] for c, vocabs in columns.items()})


def _rows(frame: pd.DataFrame) -> list[list]:
    return [[None if pd.isna(v) or v == "" else v for v in row] for row in frame.itertuples(index=False)]


def playbook_rows(lang: str) -> list[list]:
    """The built-in playbooks as Sequences rows in ``lang``: events and referenced steps by their labels."""
    suffix = "zh" if lang == "zh-CN" else "en"
    events = vocabulary("event")
    rows = []
    for book in playbooks.builtin():
        names = {step["key"]: step[suffix] for step in book["step"]}
        label = lambda ref: names.get(ref) or events.label(ref, lang) or None  # noqa: E731
        for i, step in enumerate(book["step"]):
            rows.append([book[suffix] if i == 0 else None, step[suffix], label(step["start"]), step.get("offset"),
                         step.get("repeat"), _label(step["unit"], ("unit", "step_unit"), lang),
                         label(step.get("until", "")),
                         vocabulary("channel").label(step["channel"], lang), step[f"template_{suffix}"]])
    return rows


def build_workbook(path: str | Path, lang: str = "zh-CN", preset: str = "maturity") -> Path:
    """Write a fresh workbook to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, Builder(lang, preset).build())
