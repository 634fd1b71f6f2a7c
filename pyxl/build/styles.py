"""Cell styles by role. The builder registers each role once and writes the very hidden ``_styles`` sheet
(one cell per role), which is how the headless writer finds a role's style without touching styles.xml."""
from __future__ import annotations

FONT = {"font_name": "Microsoft YaHei", "font_size": 10}
HEADER = {**FONT, "bold": True, "font_color": "#FFFFFF", "bg_color": "#305496", "border": 1, "text_wrap": True,
          "valign": "vcenter"}

ROLES: dict[str, dict] = {
    "text": FONT,
    "wrap": {**FONT, "text_wrap": True, "valign": "top"},
    "title": {**FONT, "bold": True, "font_size": 14, "font_color": "#1F3864"},
    "subtitle": {**FONT, "italic": True, "font_color": "#595959"},
    "header": HEADER,
    "header_tool": {**HEADER, "bg_color": "#7F7F7F"},
    "section": {**FONT, "bold": True, "font_size": 11, "font_color": "#1F3864", "bottom": 2},
    "date": {**FONT, "num_format": "yyyy-mm-dd", "align": "left"},
    "datetime": {**FONT, "num_format": "yyyy-mm-dd hh:mm", "align": "left"},
    "time": {**FONT, "num_format": "hh:mm", "align": "left"},
    "int": {**FONT, "num_format": "0"},
    "money": {**FONT, "num_format": "#,##0"},
    "pct": {**FONT, "num_format": "0%"},
    "overdue": {**FONT, "bg_color": "#F8CBAD", "font_color": "#9C0006"},
    "due_today": {**FONT, "bg_color": "#FFE699", "font_color": "#7F6000"},
    "in_window": {**FONT, "bg_color": "#C6EFCE", "font_color": "#006100"},
    "muted": {**FONT, "font_color": "#808080"},
    "error": {**FONT, "font_color": "#C00000", "bold": True},
    "warning": {**FONT, "font_color": "#C65911"},
    "suggestion": {**FONT, "font_color": "#2F5597"},
    "total": {**FONT, "bold": True, "top": 1},
    "short": {**FONT, "bg_color": "#F8CBAD", "num_format": "0"},
}

# Conditional-format fills (dxf): the same colours as the status roles.
STATUS_FILLS = {k: {"bg_color": ROLES[k]["bg_color"], "font_color": ROLES[k]["font_color"]}
                for k in ("overdue", "due_today", "in_window")}
