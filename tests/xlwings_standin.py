"""An in-memory stand-in for the part of xlwings 0.37.8 + Excel the live door uses, per platform flavour.

Loaded from a real workbook file (values, number formats, fonts, fills, column widths, tables, defined
names, charts), it counts every Excel round-trip and behaves as xlwings and Excel are documented or sourced
to behave, not as the adapter assumes:

- Reads give ``float`` for every number and ``datetime`` for every date-formatted cell; empty cells and
  error values give None (xlwings/_xlwindows.py ``_clean_value_data_element`` l.455-469: COM time ->
  datetime, error codes -> None; conversion/standard.py l.241: ``dates`` default ``datetime.datetime``).
  ``Range.options(err_to_str=True)`` reads an error value as its text (``'#N/A'``) instead (main.py
  l.2235-2237 "will include cell errors such as #N/A as strings. By default, they will be converted to None";
  _xlwindows.py l.465-467 maps COM error codes through ``cell_errors``; _xlmac.py l.1094-1101 takes them from
  ``string_value``). A text cell holding ``'#N/A'`` reads the same way with the option: only the default
  read (None) tells them apart.
- A cell holds a constant or a formula. ``Range.formula`` reads COM ``Range.Formula`` / AppleScript
  ``formula`` (_xlwindows.py l.1533-1537, _xlmac.py l.1276-1279; main.py l.2577 returns it unconverted): a
  cell's formula text, else its constant as text (``''`` when empty, the error's text for an error value);
  one cell gives a ``str``, several a row-major grid (tuples of tuples from COM on Windows, lists of lists
  from AppleScript on macOS). A formula the stand-in cannot evaluate (no cached value) reads as None.
- Writing ``Range.value`` (one cell or a 2-D block) replaces what each cell of the block held, a formula
  too (_xlwindows.py l.1378-1380 ``self.xl.Value = data``; _xlmac.py l.1105-1107 ``self.xl.value.set``:
  Excel's Range.Value assignment sets constants); a typed error text such as ``'#N/A'`` becomes the error
  value, as typing it does.
- ``Range.value = ...`` hands Python strings to Excel unchanged (_xlwindows.py ``prepare_xl_data_element``
  l.486-498 returns them as they are, ``raw_value`` setter l.1379 ``self.xl.Value = data``; _xlmac.py
  l.107-135 and l.1105 ``self.xl.value.set``), and Excel parses them as typed input (xlwings issue #2247):
  numbers (``'012'`` -> 12.0, ``'12%'`` -> 0.12), TRUE/FALSE, dates (``'2026-01-02'``, ``'1/2'``), and
  formulas for text starting with ``=``, ``+``, ``-`` or ``@`` (a formula the stand-in cannot evaluate reads
  back as an error, i.e. None). A leading apostrophe (kept as the cell's prefix, not in its value) or the
  text number format ``@`` protects the text. Text over 32,767 characters is refused (Excel's cell limit).
  A date written into a General cell gets a date format, as typing one does.
- ``sheet.api`` on Windows is the COM Worksheet (``CodeName``, ``ChartObjects()``); on macOS an appscript
  reference on which COM names raise AttributeError (xlwings issue #191; no code-name API, issue #1231).
- ``book.selection`` is the selection of the active sheet of the active window, whatever book or sheet the
  caller means (main.py l.1345-1351 -> App.selection; _xlmac.py l.237-243 uses ``books.active.sheets.active``).
- Number formats, fonts, fills and column widths exist and persist; ``Range.clear()`` / ``Sheet.clear()``
  reset contents *and* formats, ``clear_contents()`` keeps formats (main.py l.1689-1691, l.2309-2311;
  _xlwindows.py l.1382-1391). A multi-area address ("A1:B2,D4") is one range, as Excel's Range("...")
  accepts up to 255 characters.
- A table built with no rows has one blank data row (a ListObject's DataBodyRange is never empty in a
  workbook written with a blank row, and main.py l.5761-5767 returns it); growing a table with
  ``Table.resize`` extends each column's format to the new rows (Excel's table auto-format).
- Defined names are read through ``book.names[name].refers_to`` (main.py ``Name.refers_to``), raising
  KeyError-like errors for a missing name as the COM call does; ``book.names.add`` creates or redefines one.
"""
from __future__ import annotations

import datetime as dt
import numbers
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from collections.abc import Callable

import openpyxl
from openpyxl.utils import get_column_letter

from pyxl.book.a1 import col_index, parse_ref

MAX_TEXT = 32_767
DATE_FORMAT, DATETIME_FORMAT = "m/d/yyyy", "m/d/yyyy h:mm"


class Calls:
    """Excel round-trips made through the stand-in."""
    count = 0


@dataclass(frozen=True)
class RoundTrips:
    """The round-trips of one action: ``styling``, the calls of ``excel.apply_role`` (a fixed number per style
    role per address of its cells on a generated sheet: how many depends on which situations the sheet shows and
    how its cells group, not on the rows), in ``areas`` addresses; ``data``, every other call."""
    data: int
    styling: int
    areas: int


def round_trips(action: Callable[[], object]) -> RoundTrips:
    """Count the round-trips ``action`` makes through the stand-in."""
    from pyxl.book import excel

    apply_role, styling = excel.apply_role, [0, 0]

    def counted(rng: Any, props: Any) -> None:
        before = Calls.count
        apply_role(rng, props)
        styling[0] += Calls.count - before
        styling[1] += 1

    excel.apply_role, Calls.count = counted, 0
    try:
        action()
    finally:
        excel.apply_role = apply_role
    return RoundTrips(Calls.count - styling[0], *styling)


class ExcelError(Exception):
    """What a failing COM / AppleScript call raises."""


@dataclass(frozen=True)
class Fmt:
    number_format: str = "General"
    bold: bool = False
    italic: bool = False
    font_color: str | None = None
    font_name: str | None = None
    font_size: float | None = None
    fill: str | None = None
    wrap: bool = False


ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")  # _xlmac.py ``cell_errors``


@dataclass
class Cell:
    value: Any = None
    formula: str | None = None
    prefix: str = ""
    error: str | None = None  # an Excel error value (#N/A, #REF!, ...)


# --- Excel's parsing of typed input -------------------------------------------------------------------
_NUMBER = re.compile(r"^\s*[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?\s*%?\s*$")
_ISO = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?\s*$")
_MDY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\s*$")


def typed(text: str, number_format: str) -> tuple[Cell, str | None]:
    """What Excel stores when ``text`` arrives as typed input: the cell and a number format it sets (or None)."""
    if len(text) > MAX_TEXT + (text[:1] == "'"):
        raise ExcelError(f"text of {len(text)} characters is longer than a cell holds")
    if text.startswith("'"):
        return Cell(text[1:], prefix="'"), None
    if number_format == "@" or not text.strip():
        return Cell(text or None), None
    if text.strip().upper() in ERRORS:
        return Cell(error=text.strip().upper()), None
    if text[0] in "=+-@" and len(text) > 1 and not _NUMBER.match(text):
        return Cell(None, formula=text if text[0] == "=" else "=" + text, error="#NAME?"), None
    if _NUMBER.match(text) and any(ch.isdigit() for ch in text):
        number = float(text.replace(",", "").replace("%", ""))
        return (Cell(number / 100), "0%") if "%" in text else (Cell(number), None)
    if text.strip().upper() in ("TRUE", "FALSE"):
        return Cell(text.strip().upper() == "TRUE"), None
    day = _date(text)
    if day is not None:
        return Cell(day), DATETIME_FORMAT if day.time() != dt.time() else DATE_FORMAT
    return Cell(text), None


def _date(text: str) -> dt.datetime | None:
    try:
        if m := _ISO.match(text):
            y, mo, d, h, mi = m.groups()
            return dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0))
        if m := _MDY.match(text):
            mo, d, y = m.groups()
            year = dt.date.today().year if y is None else int(y) + (2000 if len(y) == 2 else 0)
            return dt.datetime(year, int(mo), int(d))
    except ValueError:
        return None
    return None


def _is_date_format(number_format: str) -> bool:
    plain = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format).lower()
    return any(ch in plain for ch in "dy") or ("m" in plain and "0" not in plain) or "h" in plain


# --- the object model ---------------------------------------------------------------------------------
class Font:
    def __init__(self, rng: Range):
        self._rng = rng

    def _set(self, **change: Any) -> None:
        Calls.count += 1
        self._rng._set_fmt(**change)

    bold = property(lambda self: self._rng._fmt().bold, lambda self, v: self._set(bold=bool(v)))
    italic = property(lambda self: self._rng._fmt().italic, lambda self, v: self._set(italic=bool(v)))
    color = property(lambda self: self._rng._fmt().font_color, lambda self, v: self._set(font_color=_hex(v)))
    name = property(lambda self: self._rng._fmt().font_name, lambda self, v: self._set(font_name=v))
    size = property(lambda self: self._rng._fmt().font_size, lambda self, v: self._set(font_size=float(v)))


def _hex(color: Any) -> str | None:
    if color is None:
        return None
    if isinstance(color, tuple):
        return "#{:02X}{:02X}{:02X}".format(*color)
    return str(color).upper()


class Range:
    def __init__(self, sheet: Sheet, areas: list[tuple[int, int, int, int]], ndim: int | None = None,
                 transpose: bool = False, err_to_str: bool = False):
        self.sheet, self.areas, self.ndim, self.transpose = sheet, areas, ndim, transpose
        self.err_to_str = err_to_str
        self.row, self.column, self.last_row, self.last_col = areas[0]

    def __repr__(self) -> str:
        return f"<Range {self.address}>"

    @property
    def address(self) -> str:
        return ",".join(_ref(*a) for a in self.areas)

    def options(self, ndim: int | None = None, transpose: bool = False, err_to_str: bool = False,
                **_: Any) -> Range:
        return Range(self.sheet, self.areas, ndim, transpose, err_to_str)

    @property
    def shape(self) -> tuple[int, int]:
        return self.last_row - self.row + 1, self.last_col - self.column + 1

    @property
    def columns(self) -> list[Range]:
        return [Range(self.sheet, [(self.row, c, self.last_row, c)]) for c in range(self.column, self.last_col + 1)]

    def resize(self, rows: int, cols: int) -> Range:
        return Range(self.sheet, [(self.row, self.column, self.row + rows - 1, self.column + cols - 1)])

    def _cells(self):
        for r1, c1, r2, c2 in self.areas:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    yield r, c

    # values
    @property
    def value(self) -> Any:
        Calls.count += 1
        grid = [[self.sheet.read(r, c, self.err_to_str) for c in range(self.column, self.last_col + 1)]
                for r in range(self.row, self.last_row + 1)]
        if self.transpose:
            grid = [list(col) for col in zip(*grid)]
        if self.ndim == 2:
            return grid
        if self.ndim == 1:
            return [v for r in grid for v in r]
        if len(grid) == 1:
            return grid[0] if len(grid[0]) > 1 else grid[0][0]
        return [r[0] for r in grid] if len(grid[0]) == 1 else grid

    @value.setter
    def value(self, data: Any) -> None:
        Calls.count += 1
        if not isinstance(data, (list, tuple)):
            data = [[data]]
        elif self.transpose:
            data = [[v] for v in data]
        elif data and not isinstance(data[0], (list, tuple)):
            data = [list(data)]
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                self.sheet.write(self.row + i, self.column + j, v)

    @property
    def formula(self) -> Any:
        """One cell: its formula text; several: a row-major grid (tuples on Windows, lists on macOS)."""
        Calls.count += 1
        grid = [[self.sheet.formula_text(r, c) for c in range(self.column, self.last_col + 1)]
                for r in range(self.row, self.last_row + 1)]
        if len(grid) == 1 and len(grid[0]) == 1:
            return grid[0][0]
        return tuple(map(tuple, grid)) if self.sheet.flavour == "windows" else grid

    @formula.setter
    def formula(self, text: str) -> None:
        Calls.count += 1
        self.sheet.cells_[(self.row, self.column)] = Cell(None, formula=text)

    # formats
    def _fmt(self) -> Fmt:
        return self.sheet.fmt(self.row, self.column)

    def _set_fmt(self, **change: Any) -> None:
        for r, c in self._cells():
            self.sheet.formats[(r, c)] = replace(self.sheet.fmt(r, c), **change)

    @property
    def number_format(self) -> str:
        Calls.count += 1
        return self._fmt().number_format

    @number_format.setter
    def number_format(self, value: str) -> None:
        Calls.count += 1
        self._set_fmt(number_format=value)

    @property
    def color(self) -> str | None:
        Calls.count += 1
        return self._fmt().fill

    @color.setter
    def color(self, value: Any) -> None:
        Calls.count += 1
        self._set_fmt(fill=_hex(value))

    @property
    def wrap_text(self) -> bool:
        Calls.count += 1
        return self._fmt().wrap

    @wrap_text.setter
    def wrap_text(self, value: bool) -> None:
        Calls.count += 1
        self._set_fmt(wrap=bool(value))

    @property
    def font(self) -> Font:
        return Font(self)

    @property
    def column_width(self) -> float:
        Calls.count += 1
        return self.sheet.widths.get(self.column, self.sheet.default_width)

    @column_width.setter
    def column_width(self, width: float) -> None:
        Calls.count += 1
        for _, c1, _, c2 in self.areas:
            for c in range(c1, c2 + 1):
                self.sheet.widths[c] = float(width)

    def merge(self) -> None:
        Calls.count += 1
        self.sheet.merges.extend(_ref(*a) for a in self.areas)

    # clearing
    def clear_contents(self) -> None:
        Calls.count += 1
        for key in list(self._cells()):
            self.sheet.cells_.pop(key, None)

    def clear(self) -> None:
        Calls.count += 1
        for key in list(self._cells()):
            self.sheet.cells_.pop(key, None)
            self.sheet.formats.pop(key, None)

    def select(self) -> None:
        self.sheet.book.active_sheet = self.sheet
        self.sheet.selected = self


class WindowsApi:
    """The COM Worksheet: the two members the adapter may use."""

    def __init__(self, code: str | None):
        self.CodeName = code
        self.charts: list[Any] = []

    def ChartObjects(self) -> list[Any]:  # noqa: N802 (Excel's name)
        Calls.count += 1
        return self.charts


class MacApi:
    """An appscript reference: COM names are unknown to it (xlwings issue #191)."""

    def __init__(self, code: str | None):
        self._code, self.charts = code, []

    def __getattr__(self, name: str) -> Any:
        Calls.count += 1
        raise AttributeError(f"Unknown property, element or command: {name!r}")


class Table:
    def __init__(self, sheet: Sheet, name: str, ref: str):
        self.sheet, self._name = sheet, name
        self.r1, self.c1, self.r2, self.c2 = parse_ref(ref)

    @property
    def name(self) -> str:
        Calls.count += 1
        return self._name

    @property
    def range(self) -> Range:
        return Range(self.sheet, [(self.r1, self.c1, self.r2, self.c2)])

    @property
    def header_row_range(self) -> Range:
        return Range(self.sheet, [(self.r1, self.c1, self.r1, self.c2)])

    @property
    def data_body_range(self) -> Range | None:
        Calls.count += 1
        return None if self.r2 == self.r1 else Range(self.sheet, [(self.r1 + 1, self.c1, self.r2, self.c2)])

    def resize(self, rng: Range) -> None:
        Calls.count += 1
        old_last = self.r2
        self.r2, self.c2 = rng.last_row, rng.last_col
        for c in range(self.c1, self.c2 + 1):  # the table's column format reaches its new rows
            template = self.sheet.fmt(old_last, c)
            for r in range(old_last + 1, self.r2 + 1):
                self.sheet.formats.setdefault((r, c), template)


class Sheet:
    default_width = 8.43

    def __init__(self, book: Book, name: str, code: str | None, flavour: str):
        self.book, self._name, self.flavour = book, name, flavour
        self.api = (WindowsApi if flavour == "windows" else MacApi)(code)
        self.code = code  # for tests only: Excel's own code name
        self.cells_: dict[tuple[int, int], Cell] = {}
        self.formats: dict[tuple[int, int], Fmt] = {}
        self.column_formats: dict[int, Fmt] = {}
        self.widths: dict[int, float] = {}
        self.merges: list[str] = []
        self.tables: list[Table] = []
        self.selected = Range(self, [(1, 1, 1, 1)])

    @property
    def name(self) -> str:
        Calls.count += 1
        return self._name

    # cells
    def cell(self, r: int, c: int) -> Cell:
        return self.cells_.get((r, c), Cell())

    def fmt(self, r: int, c: int) -> Fmt:
        return self.formats.get((r, c)) or self.column_formats.get(c) or Fmt()

    def read(self, r: int, c: int, err_to_str: bool = False) -> Any:
        cell = self.cell(r, c)
        if cell.error is not None:
            return cell.error if err_to_str else None
        value = cell.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if _is_date_format(self.fmt(r, c).number_format):
                return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))
            return float(value)
        return value

    def formula_text(self, r: int, c: int) -> str:
        """What Excel's Range.Formula gives for one cell: the formula, else the constant as text."""
        cell = self.cell(r, c)
        if cell.formula is not None:
            return cell.formula
        if cell.error is not None:
            return cell.error
        if cell.value is None:
            return ""
        if isinstance(cell.value, bool):
            return str(cell.value).upper()
        if isinstance(cell.value, float) and cell.value.is_integer():
            return str(int(cell.value))
        return str(cell.value)

    def write(self, r: int, c: int, value: Any) -> None:
        fmt = self.fmt(r, c)
        number_format = None
        if value is None or value == "":
            cell = Cell()
        elif isinstance(value, str):
            cell, number_format = typed(value, fmt.number_format)
        elif isinstance(value, bool):
            cell = Cell(value)
        elif isinstance(value, (dt.date, dt.datetime)):  # xlwings sends dates as datetimes
            day = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
            cell = Cell((day - dt.datetime(1899, 12, 30)).total_seconds() / 86400)
            number_format = DATETIME_FORMAT if day.time() != dt.time() else DATE_FORMAT
        elif isinstance(value, numbers.Real):  # numpy numbers too (prepare_xl_data_element: float(x))
            cell = Cell(float(value))
        else:
            raise ExcelError(f"cannot send a {type(value).__name__} to Excel")
        if isinstance(cell.value, dt.datetime):
            cell.value = (cell.value - dt.datetime(1899, 12, 30)).total_seconds() / 86400
        if number_format is not None and fmt.number_format == "General":
            self.formats[(r, c)] = replace(fmt, number_format=number_format)
        self.cells_[(r, c)] = cell

    # xlwings' Sheet API
    def range(self, first: Any, last: Any = None) -> Range:
        if isinstance(first, tuple):
            r2, c2 = last if last is not None else first
            return Range(self, [(first[0], first[1], r2, c2)])
        return Range(self, [_area(a) for a in first.split(",")])

    def cells(self, row: int, col: int) -> Range:
        return Range(self, [(row, col, row, col)])

    @property
    def used_range(self) -> Range:
        keys = list(self.cells_) + list(self.formats)
        if not keys:
            return Range(self, [(1, 1, 1, 1)])
        return Range(self, [(1, 1, max(r for r, _ in keys), max(c for _, c in keys))])

    def clear(self) -> None:
        """Cells.Clear: contents and every cell and column format of the sheet; widths stay."""
        Calls.count += 1
        self.cells_.clear()
        self.formats.clear()
        self.column_formats.clear()
        self.merges.clear()

    def activate(self) -> None:
        Calls.count += 1
        self.book.active_sheet = self


def _area(address: str) -> tuple[int, int, int, int]:
    address = address.replace("$", "").strip()
    if re.fullmatch(r"[A-Z]+:[A-Z]+", address):
        a, b = address.split(":")
        return 1, col_index(a), 1_048_576, col_index(b)
    return parse_ref(address if ":" in address else f"{address}:{address}")


def _ref(r1: int, c1: int, r2: int, c2: int) -> str:
    one = f"{get_column_letter(c1)}{r1}"
    return one if (r1, c1) == (r2, c2) else f"{one}:{get_column_letter(c2)}{r2}"


class Names:
    def __init__(self, names: dict[str, str]):
        self._names = names

    def __getitem__(self, name: str) -> SimpleNamespace:
        Calls.count += 1
        if name not in self._names:
            raise ExcelError(f"no name {name!r}")  # pywintypes.com_error / appscript CommandError
        return SimpleNamespace(name=name, refers_to=self._names[name])

    def __iter__(self):
        return (self[n] for n in list(self._names))

    def add(self, name: str, refers_to: str) -> SimpleNamespace:
        """Creates or redefines a name: main.py ``Names.add`` -> _xlwindows.py ``self.xl.Add(name, refers_to)``
        (Excel's Names.Add replaces an existing name's RefersTo)."""
        Calls.count += 1
        self._names[name] = refers_to
        return SimpleNamespace(name=name, refers_to=refers_to)


class Sheets(list):
    @property
    def active(self) -> Sheet:
        return self[0].book.active_sheet


class App:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str]] = []
        self.modes: list[str | None] = []
        self.status_bar: Any = None

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok", mode: str | None = None,
              callback: str | None = None) -> str:
        """main.py ``App.alert`` (l.829-862): buttons "ok" | "ok_cancel" | "yes_no" | "yes_no_cancel", mode
        None | "info" | "critical" (_xlwindows.py l.741-763, _xlmac.py l.373-396 index dicts with them)."""
        if buttons not in ("ok", "ok_cancel", "yes_no", "yes_no_cancel") or mode not in (None, "info", "critical"):
            raise KeyError((buttons, mode))
        self.alerts.append((title, prompt))
        self.modes.append(mode)
        return "ok"


class Book:
    """``flavour``: "windows" or "mac"."""

    def __init__(self, path: Path, flavour: str = "windows"):
        self.flavour, self.fullname, self.app = flavour, str(path), App()
        self.saved = 0
        wb = openpyxl.load_workbook(path, keep_vba=False)
        with zipfile.ZipFile(path) as z:
            codes = dict(_code_names(z))
        self.sheets = Sheets()
        for ws in wb.worksheets:
            sheet = Sheet(self, ws.title, codes.get(ws.title), flavour)
            _load_sheet(sheet, ws)
            self.sheets.append(sheet)
        self.active_sheet = next(s for s in self.sheets if s._name == wb.active.title)
        self.names = Names({n: "=" + d.attr_text for n, d in wb.defined_names.items()})
        self._load_charts(path)

    def _load_charts(self, path: Path) -> None:
        by_name = {s._name: s for s in self.sheets}
        with zipfile.ZipFile(path) as z:  # every chart of the product sits on one sheet and reads only that sheet
            for part in sorted(n for n in z.namelist() if n.startswith("xl/charts/chart")):
                refs = re.findall(r"<(?:c:)?f>([^<]*)</(?:c:)?f>", z.read(part).decode())  # openpyxl: no prefix
                by_name[refs[0].split("!")[0].strip("'")].api.charts.append(ChartObject(refs))

    @property
    def selection(self) -> Range:
        """The active sheet's selection (xlwings: App.selection), whichever sheet the caller has in mind."""
        Calls.count += 1
        return self.active_sheet.selected

    def save(self) -> None:
        self.saved += 1

    def sheet(self, code: str) -> Sheet:
        """Test helper: the sheet with this code name (not an xlwings call)."""
        return next(s for s in self.sheets if s.code == code)


def _code_names(z: zipfile.ZipFile):
    """(sheet name, code name) of each sheet, from the package (openpyxl does not keep code names)."""
    workbook = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    attr = lambda tag, name: re.search(rf'\s{name}="([^"]*)"', tag).group(1)  # noqa: E731 (any order: openpyxl)
    targets = {attr(t, "Id"): attr(t, "Target") for t in re.findall(r"<Relationship\b[^>]*>", rels)}
    for tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name, rid = attr(tag, "name"), attr(tag, "r:id")
        part = "xl/" + targets[rid].lstrip("/").removeprefix("xl/")
        code = re.search(r'<sheetPr\b[^>]*?codeName="([^"]*)"', z.read(part).decode()[:4000])
        yield _unescape(name), code.group(1) if code else None


def _unescape(text: str) -> str:
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&apos;", "'")


def fmt_of(cell: Any) -> Fmt:
    """The Fmt of an openpyxl cell or column dimension."""
    colour = lambda c: ("#" + c.rgb[-6:].upper()) if c is not None and isinstance(c.rgb, str) else None  # noqa: E731
    fill = cell.fill.fgColor if cell.fill is not None and cell.fill.fill_type == "solid" else None
    return Fmt(cell.number_format, bool(cell.font.b), bool(cell.font.i), colour(cell.font.color),
               cell.font.name, float(cell.font.sz) if cell.font.sz else None, colour(fill),
               bool(cell.alignment.wrap_text))


def _load_sheet(sheet: Sheet, ws: Any) -> None:
    for letter, dim in ws.column_dimensions.items():
        lo, hi = dim.min or col_index(letter), dim.max or col_index(letter)
        for c in range(lo, min(hi, 200) + 1):
            if dim.customWidth and dim.width:
                sheet.widths[c] = float(dim.width)
            if dim.style_id:
                sheet.column_formats[c] = fmt_of(dim)
    for row in ws.iter_rows():
        for cell in row:
            if cell.has_style and cell.style_id:
                sheet.formats[(cell.row, cell.column)] = fmt_of(cell)
            value = cell.value
            if value is None:
                continue
            if cell.data_type == "e":
                sheet.cells_[(cell.row, cell.column)] = Cell(error=str(value))
            elif isinstance(value, str) and value.startswith("="):
                sheet.cells_[(cell.row, cell.column)] = Cell(None, formula=value)
            elif isinstance(value, (dt.datetime, dt.date)):
                day = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
                sheet.cells_[(cell.row, cell.column)] = Cell((day - dt.datetime(1899, 12, 30)).total_seconds() / 86400)
            elif isinstance(value, dt.time):
                sheet.cells_[(cell.row, cell.column)] = Cell((value.hour * 60 + value.minute) / 1440)
            else:
                sheet.cells_[(cell.row, cell.column)] = Cell(value, prefix="'" if cell.quotePrefix else "")
    for table in ws.tables.values():
        sheet.tables.append(Table(sheet, table.displayName, table.ref))


class ChartObject:
    def __init__(self, refs: list[str]):
        self.Chart = SimpleNamespace(series=[Series(f"=SERIES(,{c},{v},1)") for c, v in zip(refs[::2], refs[1::2])])
        self.Chart.SeriesCollection = lambda: self.Chart.series


class Series:
    def __init__(self, formula: str):
        self._formula = formula

    @property
    def Formula(self) -> str:  # noqa: N802 (Excel's name)
        Calls.count += 1
        return self._formula

    @Formula.setter
    def Formula(self, value: str) -> None:  # noqa: N802
        Calls.count += 1
        self._formula = value


# --- RunPython in either mode of "Use UDF Server" ---------------------------------------------------------
class Session:
    """One Excel session on Windows pressing ribbon buttons: xlwings.bas ``RunPython`` in either mode of the
    xlwings.conf setting ``Use UDF Server`` (xlwings.bas l.133 ``GetConfig("USE UDF SERVER", False)``).

    - off (l.157 ``ExecuteWindows``; command line built l.299-306): ``python -B -c "…; <command>" --wb=<name>
      --from_xl=1``, a new interpreter per press: no module and no module state survives from one press to the
      next; ``Book.caller()`` finds the workbook named on the command line (main.py l.1151-1158).
    - on (l.151-153): ``XLPy.SetAttr XLPy.Module("xlwings._xlwindows"), "BOOK_CALLER", ThisWorkbook``, then
      ``XLPy.Exec <command>`` in the one Python process Excel keeps (the UDF server, started once by
      ``XLPyCommand`` l.468: ``xlwings.utils.prepare_sys_path`` + ``xlwings.serve``) that also runs the worksheet
      functions: modules stay imported with their state, across presses and across the session's workbooks;
      ``Book.caller()`` wraps BOOK_CALLER (main.py l.1164-1166), which stays set to the last press's workbook.

    Install with ``monkeypatch.setattr(xlwings.Book, "caller", staticmethod(session.caller))``.
    """

    PACKAGE = "pyxl"

    def __init__(self, udf_server: bool):
        self.udf_server = udf_server
        self.book_caller: Book | None = None
        self.processes = 0  # Python processes started for the presses

    def caller(self) -> Book:
        if self.book_caller is None:
            raise Exception("Book.caller() must not be called directly. Call through Excel or set a mock caller "
                            "first with Book.set_mock_caller().")  # main.py l.1168-1171
        return self.book_caller

    def press(self, book: Book, command: str) -> None:
        """``RunPython command`` from a button of ``book``."""
        import sys
        if self.udf_server:
            self.processes += self.processes == 0
            self.book_caller = book
            exec(command, {})
            return
        self.processes += 1
        kept = {n: m for n, m in sys.modules.items() if n == self.PACKAGE or n.startswith(self.PACKAGE + ".")}
        for name in kept:
            del sys.modules[name]
        self.book_caller = book
        try:
            exec(command, {})
        finally:  # the process ends: its modules and its caller go with it (the test process keeps its own)
            self.book_caller = None
            for name in [n for n in sys.modules if n == self.PACKAGE or n.startswith(self.PACKAGE + ".")]:
                del sys.modules[name]
            sys.modules.update(kept)
