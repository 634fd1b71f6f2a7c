"""``followup import``: customer lists and call logs exported from other systems, merged into the workbook.

Sources: ``.xlsx``/``.xlsm``/``.xlsb``/``.xls``/``.ods`` (read with python-calamine: no XML parser of ours
touches them) and delimited text (``.csv``/``.tsv``/``.txt``: UTF-8, UTF-8 with BOM, UTF-16 with BOM,
GBK/GB18030 — what Chinese Excel writes). The sheet that looks most like a ledger (most recognised headers)
is used unless ``--sheet`` names one; title rows and notes above the header are skipped.

Each source is read as either a **customer list** (→ Customers table, merged by Customer ID, else phone,
else name) or a **contact log** (date + customer + channel/outcome → appended to the Contacts table). Cells
are typed on the way in (dates as dates, amounts as numbers, tiers as Rules codes, yes/no, channels,
outcomes and stages as the workbook's own labels). Merging fills blank workbook cells only; a source value
that differs from a non-blank workbook cell is a *conflict*, reported and left alone unless ``overwrite``.

Column mapping: header aliases of ``templates/schema.toml`` in both languages, ``--map "Source col=Field"``
overrides (Field: a field key, or a label/alias in either language; ``-`` ignores the column), and the
overrides are remembered in ``<book>.import-map.json`` next to the workbook, e.g.::

    {"version": 1, "columns": {"Sales Agent": "owner", "Close Value": "revenue", "备用号码": "-"}}

Safety: sources over ``MAX_SOURCE_BYTES`` (uncompressed) or whose zip entries expand suspiciously are
refused before anything is parsed; text is always written as text (an inline string, never a formula,
whatever it starts with); everything is built in memory and the workbook is saved once, at the end, after
a refresh — a failure anywhere leaves the file untouched, and a dry run never writes it.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import re
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import python_calamine

from . import actions, files
from .book import layout as L
from .book.a1 import cell_address, col_letter
from .book.xlsx import WorkbookPackage
from .book.zipio import expansion, size_problem
from .core import ids
from .core.contacts import parse_log
from .core.errors import FollowupError
from .core.i18n import text as _t
from .core.rules import Rules
from .core.schema import Field, HeaderMatch, fields, header_index, normalise, vocabulary
from .core.settings import Settings
from .core.values import cell_text, distinct_map, parse_datetimes, parse_numbers, phone_key

# --- limits ---------------------------------------------------------------------------------------
MAX_SOURCE_BYTES = 200 * 2**20  # uncompressed size of a source (file size for text and .xls)
MAX_RATIO = 100  # uncompressed/compressed of a zip entry above zipio.RATIO_MIN_BYTES: beyond that, a zip bomb
HEADER_SCAN_ROWS = 30  # the header is looked for in the first rows of a sheet
MAP_SUFFIX = ".import-map.json"

SPREADSHEETS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
TEXTS = (".csv", ".tsv", ".txt")
LEDGER, LOG = "ledger", "log"
IGNORE = "-"
EXTRA = "extra:"  # key prefix of a source column no field takes: it goes to a ledger column of its own header
IGNORE_WORDS = {"-", "", "ignore", "skip", "none", "忽略", "不导入"}
NAME_PARTS = {"_last": ("姓", "姓氏", "Last name", "Surname", "Family name", "Last"),
              "_first": ("名", "名字", "First name", "Given name", "First")}
LOG_CARRIED = ("agreed_date", "new_tier", "old_tier", "collected", "competitor", "next_step")  # copied as typed
IDENTITY = ("customer_id", "name", "company", "phone")  # how a log row finds its customer (in this order)
TOTAL_WORDS = {normalise(w) for w in ("合计", "总计", "小计", "Total", "Grand total", "Sum", "Subtotal")}


class ImportFailed(FollowupError):
    """The import cannot run (the message says why, in the workbook's language); nothing was written."""


# --- report ---------------------------------------------------------------------------------------
@dataclass
class Conflict:
    source_row: int
    cell: str  # Sheet!A1 of the workbook cell ("" for a row added by this import)
    field: str  # label in the workbook language
    workbook: object
    source: object


@dataclass
class SourceReport:
    path: str
    sheet: str | None = None
    header_row: int = 0
    kind: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # source header -> field label
    ignored: list[str] = field(default_factory=list)  # source headers not imported
    extra: dict[str, str] = field(default_factory=dict)  # source header -> ledger column of its own (a user column)
    rows: int = 0
    added: list[int] = field(default_factory=list)  # source rows (1-based, as in the source)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    conflicting: list[int] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> source rows
    conflicts: list[Conflict] = field(default_factory=list)
    overwritten: int = 0
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)  # field label -> value -> count (written as typed)
    lists: dict[str, str] = field(default_factory=dict)  # field label -> where its team list takes new values
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)  # (source row, field label, value)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "added": len(self.added), "updated": len(self.updated),
                "unchanged": len(self.unchanged), "conflicting": len(self.conflicting),
                "skipped": sum(len(v) for v in self.skipped.values())}


@dataclass
class ImportReport:
    book: str
    language: str
    dry_run: bool
    sources: list[SourceReport] = field(default_factory=list)
    ids_created: int = 0
    saved: bool = False
    map_file: str | None = None
    refresh: dict[str, object] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for s in self.sources:
            out.update(s.counts())
        return {k: out.get(k, 0) for k in ("rows", "added", "updated", "unchanged", "conflicting", "skipped")}

    def to_dict(self) -> dict:
        return asdict(self) | {"totals": self.totals()}


# --- reading sources ------------------------------------------------------------------------------
@dataclass
class Grid:
    """One sheet of a source: its cells from A1 (``""`` or None for empty), as python-calamine gives them."""
    name: str | None
    rows: list[list[Any]]
    hidden: bool = False  # read only when --sheet names it


def check_source(path: Path, lang: str = "zh-CN") -> None:
    """Refuse a source that is missing, too large once uncompressed, or a zip bomb — before parsing it."""
    if not path.is_file():
        raise ImportFailed(_t(lang, "import", "not_found", path=path))
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise ImportFailed(_t(lang, "import", "too_large", path=path.name, size=_mib(size), limit=_mib(MAX_SOURCE_BYTES)))
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":
        return
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _refuse_oversized(infos, path, lang)
            # the declared sizes are only claims: inflate each entry once, never beyond what it declares
            # (zipfile stops there and checks the CRC), so what the reader sees is what was checked above
            for info in infos:
                with zf.open(info) as member:
                    while member.read(1 << 20):
                        pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, RuntimeError) as exc:
        raise ImportFailed(_t(lang, "import", "unreadable_file", path=path.name, error=exc)) from None


def _refuse_oversized(infos: list[zipfile.ZipInfo], path: Path, lang: str) -> None:
    """The package's zip-bomb guard (``zipio.size_problem``) with a source's tighter limits."""
    found = size_problem(infos, MAX_SOURCE_BYTES, MAX_SOURCE_BYTES, MAX_RATIO)
    if found is None:
        return
    problem, info, total = found
    if problem == "encrypted":
        raise ImportFailed(_t(lang, "import", "encrypted", path=path.name))
    if problem == "too_large":
        raise ImportFailed(_t(lang, "import", "too_large", path=path.name, size=_mib(total),
                              limit=_mib(MAX_SOURCE_BYTES)))
    raise ImportFailed(_t(lang, "import", "zip_bomb", path=path.name, part=info.filename,
                          ratio=round(expansion(info)), limit=MAX_RATIO))


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def read_grids(path: Path, lang: str = "zh-CN") -> list[Grid]:
    """Every sheet of a workbook source (hidden ones flagged), or the one grid of a text source."""
    check_source(path, lang)
    with open(path, "rb") as fh:
        head = fh.read(8)
    suffix = path.suffix.casefold()
    if head[:4] == b"PK\x03\x04" or head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or (
            suffix in SPREADSHEETS and suffix != ".xls"):
        return _read_workbook(path, lang)
    data = path.read_bytes()
    if suffix in SPREADSHEETS and data.lstrip()[:1] == b"<":  # an HTML/XML page saved as .xls by a web system
        raise ImportFailed(_t(lang, "import", "html_xls", path=path.name))
    return [Grid(None, read_delimited(data))]


def _read_workbook(path: Path, lang: str) -> list[Grid]:
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        grids = []
        for meta in book.sheets_metadata:
            hidden = str(getattr(meta, "visible", "Visible")).rsplit(".", 1)[-1].casefold() != "visible"
            grids.append(Grid(meta.name, book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False), hidden))
        book.close()
        return grids
    except ImportFailed:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged or unsupported files
        raise ImportFailed(_t(lang, "import", "unreadable_file", path=path.name, error=exc)) from None


def decode_text(data: bytes) -> str:
    """Bytes of a text export -> str: BOMs first (UTF-8, UTF-16), then UTF-8, then GB18030 (⊃ GBK, GB2312)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("gb18030", errors="replace")


_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.S)  # Excel's CSV trick to keep leading zeros: ="00123"


def read_delimited(data: bytes) -> list[list[str]]:
    text = decode_text(data)
    lines = text.splitlines()[:50]
    delimiter = max(",;\t|", key=lambda d: _mode([line.count(d) for line in lines if line.strip()]))
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [[_EXCEL_TEXT.sub(r"\1", c) if c.startswith('="') else c for c in row] for row in rows]


def _mode(counts: list[int]) -> tuple[int, int]:
    """The delimiter count most lines share, then the largest — what a table's delimiter looks like."""
    common = Counter(c for c in counts if c).most_common(1)
    return (common[0][1], common[0][0]) if common else (0, 0)


# --- header mapping -------------------------------------------------------------------------------
def _candidate_index(kind: str) -> dict[str, str]:
    """Normalised header -> key for a ledger or a log source (a log also knows the customer's name/phone)."""
    if kind == LEDGER:
        index = {k: v for k, v in header_index("ledger").items()}
    else:
        index = header_index("contacts")
        for name, key in header_index("ledger").items():
            if key in IDENTITY:
                index.setdefault(name, key)
    for key, names in NAME_PARTS.items():
        for name in names:
            index.setdefault(normalise(name), key)
    return index


def resolve_field(name: str) -> str | None:
    """A field key, label or alias in either language -> its key (``-`` to ignore); None when unknown."""
    if normalise(name) in IGNORE_WORDS:
        return IGNORE
    keys = {f.key for t in ("ledger", "contacts") for f in fields(t)}
    if name.strip() in keys:
        return name.strip()
    wanted = normalise(name)
    for table in ("ledger", "contacts"):
        key = header_index(table).get(wanted)
        if key is not None:
            return key
    return None


def parse_map_options(options: Sequence[str], lang: str = "zh-CN") -> dict[str, str]:
    """``["Source col=Field", ...]`` -> {source header: key or "-"}; a clear error for a bad one."""
    out: dict[str, str] = {}
    for option in options:
        source, sep, target = option.rpartition("=")
        if not sep or not source.strip():
            raise ImportFailed(_t(lang, "import", "bad_map", option=option))
        key = resolve_field(target)
        if key is None:
            raise ImportFailed(_t(lang, "import", "unknown_field", field=target, option=option))
        out[source.strip()] = key
    return out


def map_file(book: Path) -> Path:
    return book.with_name(book.name + MAP_SUFFIX)


def load_saved_map(book: Path) -> dict[str, str]:
    path = map_file(book)
    if not path.is_file():
        return {}
    try:
        columns = json.loads(path.read_text(encoding="utf-8")).get("columns", {})
    except (ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in columns.items() if isinstance(v, str)}


def save_map(book: Path, overrides: dict[str, str]) -> Path:
    path = map_file(book)
    columns = {**load_saved_map(book), **overrides}
    payload = {"version": 1, "columns": dict(sorted(columns.items()))}
    return files.write_atomic(path, (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


@dataclass
class Layout:
    """Where a source's table is and how its columns map: ``columns`` source column index -> key."""
    grid: Grid
    header_row: int  # 0-based row of the header in the grid
    kind: str
    columns: dict[int, str]
    headers: list[str]

    @property
    def score(self) -> int:
        return len({k for k in self.columns.values() if k != IGNORE})


def map_row(headers: Sequence[str], kind: str, overrides: dict[str, str]) -> dict[int, str]:
    """Column index -> key for a header row: overrides first, then aliases; each key once (name parts aside)."""
    index = _candidate_index(kind)
    allowed = set(index.values())
    by_norm = {normalise(k): v for k, v in overrides.items()}
    out: dict[int, str] = {}
    taken: set[str] = set()
    computed = {f.key for f in fields("ledger") if f.computed}
    for pass_overrides in (True, False):
        for i, header in enumerate(headers):
            if not header or i in out:
                continue
            norm = normalise(header)
            if pass_overrides:
                key = by_norm.get(norm)
                if key is None or (key != IGNORE and key not in allowed):
                    continue
            else:
                key = index.get(norm)
                if key is None or (kind == LEDGER and key in computed):
                    continue
            if key != IGNORE and key in taken:
                continue
            out[i] = key
            taken.add(key)
    return out


def find_layout(grids: Sequence[Grid], overrides: dict[str, str], kind: str = "auto",
                sheet: str | None = None) -> Layout | None:
    """The sheet and header row with the most recognised headers, and whether it is a ledger or a log."""
    if sheet is not None and any(g.name is not None for g in grids):
        grids = [_pick_sheet(grids, sheet)]
    else:
        grids = [g for g in grids if not g.hidden]
    best: Layout | None = None
    for grid in grids:
        for r, row in enumerate(grid.rows[:HEADER_SCAN_ROWS]):
            headers = [cell_text(v) for v in row]
            if sum(1 for h in headers if h) < 1:
                continue
            if kind == "auto":
                ledger = Layout(grid, r, LEDGER, map_row(headers, LEDGER, overrides), headers)
                log = Layout(grid, r, LOG, map_row(headers, LOG, overrides), headers)
                layout = log if _looks_like_log(log.columns.values()) and log.score >= ledger.score else ledger
            else:
                layout = Layout(grid, r, kind, map_row(headers, kind, overrides), headers)
            if best is None or layout.score > best.score:
                best = layout
    if best is None or best.score < (1 if kind != "auto" else 2):
        return None
    return best


def _looks_like_log(keys: Iterable[str]) -> bool:
    keys = set(keys)
    return "when" in keys and bool(keys & {"channel", "outcome", "reached"}) and bool(keys & set(IDENTITY))


class _SheetMissing(Exception):
    pass


def _pick_sheet(grids: Sequence[Grid], sheet: str) -> Grid:
    for g in grids:
        if g.name is not None and g.name.casefold() == sheet.strip().casefold():
            return g
    if sheet.strip().isdigit() and 1 <= int(sheet) <= len(grids):
        return grids[int(sheet) - 1]
    raise _SheetMissing(", ".join(str(g.name) for g in grids))


def source_frame(layout: Layout) -> pd.DataFrame:
    """The data rows under the header as a frame of canonical keys (index = source row, 1-based)."""
    rows = layout.grid.rows[layout.header_row + 1:]
    cols = sorted(layout.columns)
    keys = [layout.columns[c] for c in cols]
    data, index = [], []
    first = layout.header_row + 2
    for n, row in enumerate(rows):
        values = [row[c] if c < len(row) else None for c in cols]
        values = [None if v == "" or v is None else v for v in values]
        if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in values):
            data.append(values)
            index.append(first + n)
    frame = pd.DataFrame(data, columns=range(len(cols)), index=pd.Index(index), dtype=object)
    out = pd.DataFrame(index=frame.index)
    for i, key in enumerate(keys):
        if key != IGNORE:
            out[key] = frame[i]
    return _join_name_parts(out)


def _join_name_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """姓 + 名 -> 张伟; First + Last -> "Ada Lovelace"; into Name, else Contact person when Name is taken."""
    if "_first" not in frame and "_last" not in frame:
        return frame
    empty = pd.Series(None, index=frame.index, dtype=object)
    first = frame.get("_first", empty).map(cell_text)
    last = frame.get("_last", empty).map(cell_text)
    cjk = (first + last).str.contains(r"[\u3400-\u9fff]", regex=True)
    joined = pd.Series(np.where(cjk, last + first, (first + " " + last).str.strip()), index=frame.index)
    target = "name" if "name" not in frame else "contact" if "contact" not in frame else None
    frame = frame.drop(columns=[c for c in ("_first", "_last") if c in frame])
    if target:
        frame[target] = joined.where(joined.ne(""), None)
    return frame


# --- typing values ----------------------------------------------------------------------------------
@dataclass
class Typed:
    """Canonical values (Python scalars, None when blank) and what could not be typed."""
    values: pd.DataFrame
    unreadable: list[tuple[int, str, object]] = field(default_factory=list)
    unmapped: dict[str, Counter] = field(default_factory=dict)


_SPACES = " \u3000\r\n"  # a leading tab is content (and what injection strings start with): kept


def _text_value(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip(_SPACES)
        return text if text.strip() else None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ", timespec="minutes") if value.time() != dt.time() else value.date().isoformat()
    elif isinstance(value, dt.date):
        value = value.isoformat()
    text = str(value).strip(_SPACES)
    return text if text.strip() else None


def _blank(series: pd.Series) -> np.ndarray:
    return distinct_map(series, lambda v: _text_value(v) is None, bool, True)


def _texts(series: pd.Series) -> np.ndarray:
    return distinct_map(series, _text_value)


_TIME = re.compile(r"[\sT](\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?")
_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")


def parse_when(series: pd.Series, today: dt.date, keep_time: bool) -> tuple[np.ndarray, np.ndarray]:
    """Dates as the workbook reads them (``values.parse_datetimes``) plus what exports also write: the time of
    text date-times, US/European ``3/5/2026`` (day first when some day is > 12), month names, serials as text."""
    stamps, bad = parse_datetimes(series, today)
    if not (keep_time or bad.any()):
        return stamps, bad
    values = series.to_numpy(dtype=object)
    texts = np.array([isinstance(v, str) for v in values])
    if keep_time:
        at = np.flatnonzero(texts & ~bad)
        if len(at):  # the time of day of text date-times, vectorised (call logs are long)
            parts = pd.Series(values[at], dtype="string").str.strip().str.extract(_TIME).astype("float")
            seconds = (parts[0] * 3600 + parts[1] * 60 + parts[2].fillna(0)).to_numpy()
            ok = ~np.isnan(seconds) & (parts[0].to_numpy() < 24) & (parts[1].to_numpy() < 60)
            stamps[at[ok]] = stamps[at[ok]] + seconds[ok].astype("int64").astype("timedelta64[s]")
        for i in np.flatnonzero(~bad & ~texts):  # Excel serials with a time of day (46000.5 = noon)
            v = values[i]
            if isinstance(v, float) and not v.is_integer() and 1 <= v < 2958466 and not np.isnat(stamps[i]):
                stamps[i] = stamps[i] + np.timedelta64(int(round((v % 1) * 86400)), "s")
    if bad.any():
        rows = np.flatnonzero(bad)
        day_first = any((m := _DMY.match(str(values[i]))) and int(m.group(1)) > 12 for i in rows)
        cache: dict[str, np.datetime64] = {}
        for i in rows:
            raw = str(values[i]).strip()
            if raw not in cache:
                cache[raw] = _fallback_date(raw, day_first, keep_time)
            stamps[i] = cache[raw]
        bad = bad & np.isnat(stamps)
    return stamps, bad


def _fallback_date(raw: str, day_first: bool, keep_time: bool) -> np.datetime64:
    nat = np.datetime64("NaT", "s")
    text = raw.replace("T", " ")
    if re.fullmatch(r"\d{5}(\.\d+)?", text):  # an Excel serial number exported as text
        serial = float(text)
        if 20000 <= serial <= 80000:
            return (np.datetime64("1899-12-30", "s") + np.timedelta64(int(round(serial * 86400)), "s")
                    if keep_time else np.datetime64("1899-12-30", "s") + np.timedelta64(int(serial) * 86400, "s"))
        return nat
    m = _DMY.match(text.split(" ")[0])
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        y += 2000 if y < 100 else 0
        day, month = (a, b) if day_first else (b, a)
        try:
            stamp = np.datetime64(dt.date(y, month, day), "s")
        except ValueError:
            return nat
        t = _TIME.search(text) if keep_time else None
        return stamp + np.timedelta64(int(t.group(1)) * 3600 + int(t.group(2)) * 60, "s") if t else stamp
    if not re.search(r"[A-Za-z]{3}", text):  # month names only: no guessing on other digit soups
        return nat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, errors="coerce", dayfirst=day_first)
    if parsed is pd.NaT or pd.isna(parsed):
        return nat
    return np.datetime64(parsed.to_pydatetime() if keep_time else parsed.normalize().to_pydatetime(), "s")


def type_values(frame: pd.DataFrame, table: str, rules: Rules, lang: str, today: dt.date,
                keep_unreadable: bool = False) -> Typed:
    """Cells -> the values the workbook should hold, by each field's type.

    ``keep_unreadable``: keep a cell that cannot be typed as its text (used for the workbook's own cells,
    so a comparison sees what people typed); otherwise it becomes blank and is reported."""
    out = pd.DataFrame(index=frame.index)
    typed = Typed(out)
    specs = {f.key: f for f in fields(table)}
    specs.update({f.key: f for f in fields("ledger") if f.key in IDENTITY and f.key not in specs})
    for key in frame.columns:
        spec = specs.get(key)
        if key.startswith(EXTRA):
            out[key] = frame[key].map(_as_typed)
            continue
        if spec is None:
            continue
        column = frame[key]
        blank = _blank(column)
        values, bad, unmapped = _type_column(column, spec, rules, lang, today)
        if bad.any():
            idx = frame.index[bad]
            if keep_unreadable:
                values = values.copy()
                values[bad] = [_text_value(v) for v in column[bad]]
            elif unmapped:
                typed.unmapped[key] = Counter(_text_value(v) for v in column[bad])
            else:
                typed.unreadable += [(int(r), key, column[r]) for r in idx]
        values = np.where(blank, None, values)
        out[key] = pd.Series(values, index=frame.index, dtype=object)
    return typed


def _as_typed(value: object) -> object:
    """A cell of a column no field takes, as the workbook will hold it: text trimmed, None when blank."""
    if _text_value(value) is None:
        return None
    return value.strip(_SPACES) if isinstance(value, str) else value


def _type_column(column: pd.Series, spec: Field, rules: Rules, lang: str,
                 today: dt.date) -> tuple[np.ndarray, np.ndarray, bool]:
    """(values, bad mask, whether bad means 'not in a vocabulary' rather than 'unreadable'). A value no
    vocabulary or tier knows (a CRM's own stage, a tier name) is kept as typed: written, and listed."""
    blank = _blank(column)
    kind = spec.type
    if kind in ("date", "datetime"):
        stamps, bad = parse_when(column, today, keep_time=kind == "datetime")
        if kind == "date":
            values = stamps.astype("datetime64[D]").astype(object)  # datetime.date, None for NaT
        else:
            values = stamps.astype("datetime64[s]").astype(object)  # datetime.datetime, None for NaT
        return values, bad, False
    if kind in ("int", "number", "money"):
        numbers, bad = parse_numbers(column)
        values = np.array([None if math.isnan(n) else int(n) if (kind == "int" or n.is_integer()) else float(n)
                           for n in numbers], dtype=object)
        return values, bad & ~blank, False
    if kind == "tier":
        codes = rules.tier_of(column)
        bad = ~blank & codes.isna().to_numpy()
        values = np.where(bad, _texts(column), codes.astype(object).where(codes.notna(), None).to_numpy(dtype=object))
        return values, bad, True
    if kind == "stage" and not rules.stages.empty:  # through the stage table: written as its name
        codes = rules.stage_of(column)
        names = rules.stages["name_zh" if lang == "zh-CN" else "name_en"]
        bad = ~blank & codes.isna().to_numpy()
        values = np.array([None if pd.isna(c) else names.get(c) or c for c in codes], dtype=object)
        return np.where(bad, _texts(column), values), bad, True
    if kind in ("bool", "channel", "outcome", "stage", "event"):
        vocab = vocabulary("bool" if kind == "bool" else kind)
        labels = {k: vocab.label(k, lang) for k in vocab.terms}
        keys = distinct_map(column, lambda v: None if _text_value(v) is None else vocab.parse(v))
        values = np.array([labels.get(k) if k else None for k in keys], dtype=object)
        bad = ~blank & np.array([k is None for k in keys], dtype=bool)
        return np.where(bad, _texts(column), values), bad, True
    return _texts(column), np.zeros(len(column), dtype=bool), False


# --- matching keys --------------------------------------------------------------------------------


def text_key(value: object) -> str | None:
    text = _text_value(value)
    return normalise(text) if text else None


class _Index:
    """Ledger rows by Customer ID, phone, name and company (first occurrence wins)."""

    def __init__(self) -> None:
        self.by: dict[str, dict[str, object]] = {"customer_id": {}, "phone": {}, "name": {}, "company": {}}

    def add(self, row: object, values: dict[str, object]) -> None:
        for key, table in self.by.items():
            k = (phone_key if key == "phone" else text_key)(values.get(key))
            if k:
                table.setdefault(k, row)

    def find(self, values: dict[str, object], id_of: Callable[[object], object]) -> object | None:
        """The row this source row is: by ID; else by phone/name/company when the ID is missing or new and
        the candidate has no ID of its own (a different ID is a different customer)."""
        cid = text_key(values.get("customer_id"))
        if cid and cid in self.by["customer_id"]:
            return self.by["customer_id"][cid]
        for key in ("phone", "name", "company"):
            k = (phone_key if key == "phone" else text_key)(values.get(key))
            row = self.by[key].get(k) if k else None
            if row is not None and (not cid or not text_key(id_of(row))):
                return row
        return None


# --- the merge ------------------------------------------------------------------------------------
@dataclass
class _State:
    """The ledger as it will be after the import: existing rows by Excel row, new rows appended."""
    book: WorkbookPackage
    inputs: actions.Inputs
    lang: str
    rules: Rules
    settings: Settings
    today: dt.date
    rows: dict[object, dict[str, object]] = field(default_factory=dict)  # row -> canonical values
    raw: dict[object, dict[str, object]] = field(default_factory=dict)  # row -> cells as typed (existing rows)
    index: _Index = field(default_factory=_Index)
    new: list[object] = field(default_factory=list)  # keys ("new", n) of rows to append, in order
    updates: dict[str, dict[int, object]] = field(default_factory=dict)  # key -> {Excel row: value}
    log_rows: list[dict] = field(default_factory=list)  # contact-log rows to append (canonical keys)
    ids_created: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # EXTRA key -> the ledger column it goes to

    def id_of(self, row: object) -> object:
        return self.rows[row].get("customer_id")

    def header(self, key: str) -> str | None:
        """The ledger column of a field key or of a source column of its own."""
        return self.extra.get(key) or self.inputs.ledger_headers.header_of(key)

    def label(self, key: str) -> str:
        return self.extra.get(key) or next(f.label(self.lang) for f in fields("ledger") if f.key == key)

    def extra_column(self, header: str, taken: set[str]) -> str:
        """The EXTRA key of a source column no field takes: the ledger's user column of the same header (its
        cells read into the rows), or the column an earlier source of this import made, else a new column; a
        header a field already has, or one ``taken`` by another column of the same source, gets a number."""
        ledger = self.book.tables()[L.T_CUSTOMERS].columns
        known = {normalise(h) for h in ledger} | set(header_index("ledger"))
        users = {normalise(h): h for h in self.inputs.ledger_headers.unknown}
        users.update({normalise(h): h for k, h in self.extra.items() if k not in taken})
        label = users.get(normalise(header)) or header
        n = 1
        while (normalise(label) in known and normalise(label) not in users) or EXTRA + label in taken:
            n += 1
            label = f"{header} ({n})"
        key = EXTRA + label
        taken.add(key)
        if label in users.values() and key not in self.extra:
            cells = self.book.read_table(L.T_CUSTOMERS)[label]
            for row, value in cells.items():
                if int(row) in self.rows:
                    self.rows[int(row)][key] = _as_typed(value)
        self.extra[key] = label
        return key


def _open_state(book: WorkbookPackage, today: dt.date | None) -> _State:
    inputs = actions.load(book)
    settings = inputs.settings
    lang = settings.language
    state = _State(book, inputs, lang, inputs.rules, settings, settings.today(today))
    ledger = inputs.ledger
    typed = type_values(ledger, "ledger", inputs.rules, lang, state.today, keep_unreadable=True).values
    for row, values, raw in zip(ledger.index, typed.to_dict("records"), ledger.to_dict("records")):
        state.rows[int(row)] = values
        state.raw[int(row)] = raw
        state.index.add(int(row), values)
    return state


def _same(key: str, old: object, new: object) -> bool:
    if key == "phone":
        return phone_key(old) == phone_key(new)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool):
        return abs(float(old) - float(new)) < 0.005
    if isinstance(old, dt.date) and isinstance(new, dt.date):
        return old == new if type(old) is type(new) else pd.Timestamp(old) == pd.Timestamp(new)
    return _text_value(old) == _text_value(new)


def merge_ledger(state: _State, typed: Typed, report: SourceReport, overwrite: bool) -> None:
    """Customer rows into the ledger state: add, fill blanks, report (or overwrite) conflicts."""
    specs = {f.key: f for f in fields("ledger")}
    keys = [k for k in typed.values.columns if (k in specs and not specs[k].computed) or k.startswith(EXTRA)]
    missing = [state.label(k) for k in keys if state.header(k) is None]
    if missing:
        report.notes.append(_t(state.lang, "import", "no_column", fields=", ".join(missing)))
    keys = [k for k in keys if state.header(k) is not None]
    for src_row, values in zip(typed.values.index, typed.values[keys].to_dict("records")):
        values = {k: v for k, v in values.items() if v is not None}
        src_row = int(src_row)
        if not any(values.get(k) for k in IDENTITY):
            report.skipped.setdefault("no_key", []).append(src_row)
            continue
        if text_key(values.get("name")) in TOTAL_WORDS or text_key(values.get("customer_id")) in TOTAL_WORDS:
            report.skipped.setdefault("total_row", []).append(src_row)
            continue
        target = state.index.find(values, state.id_of)
        if target is None:
            target = ("new", len(state.new))
            state.new.append(target)
            state.rows[target] = dict(values)
            state.index.add(target, values)
            report.added.append(src_row)
            continue
        current = state.rows[target]
        filled = conflicted = False
        for key, new in values.items():
            old = current.get(key)
            if old is None or _text_value(old) is None:
                current[key] = new
                filled = True
            elif not _same(key, old, new):
                if overwrite:
                    current[key] = new
                    filled = True
                    report.overwritten += 1
                else:
                    conflicted = True
                    cell = _ledger_cell(state, key, target)
                    pending = isinstance(target, tuple) or target in state.updates.get(key, {})
                    shown = old if pending else state.raw[target].get(key, old)  # as typed in the workbook
                    report.conflicts.append(Conflict(src_row, cell, state.label(key),
                                                     cell_text(shown), cell_text(new)))
                    continue
            else:
                continue
            if isinstance(target, int):
                state.updates.setdefault(key, {})[target] = new
        state.index.add(target, current)
        if conflicted:
            report.conflicting.append(src_row)
        elif filled:
            report.updated.append(src_row)
        elif isinstance(target, tuple) and target[0] == "new":
            report.skipped.setdefault("duplicate", []).append(src_row)
        else:
            report.unchanged.append(src_row)



def _ledger_cell(state: _State, key: str, target: object) -> str:
    """Sheet!A1 of a ledger cell; "" for a row or a column this import adds."""
    if not isinstance(target, int) or state.header(key) not in state.book.tables()[L.T_CUSTOMERS].columns:
        return ""
    return actions.address(state.book, L.T_CUSTOMERS, state.header(key), target)


def _customer_rows(state: _State, frame: pd.DataFrame) -> list[object | None]:
    """The ledger row of each log row (by ID, else phone, name, company); None when not found."""
    cols = [k for k in IDENTITY if k in frame]
    cache: dict[tuple, object | None] = {}
    out = []
    for values in frame[cols].itertuples(index=False, name=None):
        if values not in cache:
            cache[values] = state.index.find(dict(zip(cols, values)), state.id_of)
        out.append(cache[values])
    return out


def _reach_and_outcome(frame: pd.DataFrame, typed: Typed) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """(reached yes/no/None, outcome key or None, text of an outcome cell no vocabulary knows)."""
    n = len(frame)
    outcome_vocab, reach_vocab, yes_no = vocabulary("outcome"), vocabulary("reach"), vocabulary("bool")
    reached = np.full(n, None, dtype=object)
    outcome = np.full(n, None, dtype=object)
    leftover: list[str | None] = [None] * n
    if "outcome" in frame:
        cache: dict[object, tuple] = {}
        for i, v in enumerate(frame["outcome"].to_numpy(dtype=object)):
            if v not in cache:
                text = _text_value(v)
                key = outcome_vocab.parse(v) if text else None
                reach = reach_vocab.parse(v) if text and not key else None
                answer = yes_no.parse(v) if text and not key and not reach else None
                cache[v] = (key, "yes" if key else {"reached": "yes", "unreached": "no"}.get(reach) or answer,
                            text if text and not (key or reach or answer) else None)
            outcome[i], reached[i], leftover[i] = cache[v]
        typed.unmapped.pop("outcome", None)
        unknown = Counter(x for x in leftover if x)
        if unknown:
            typed.unmapped["outcome"] = unknown
    if "reached" in frame:
        cache = {}
        for i, v in enumerate(frame["reached"].to_numpy(dtype=object)):
            if v not in cache:
                text = _text_value(v)
                reach = reach_vocab.parse(v) if text else None
                cache[v] = {"reached": "yes", "unreached": "no"}.get(reach) or (yes_no.parse(v) if text else None)
            if cache[v] is not None:
                reached[i] = cache[v]
    return reached, outcome, leftover


def import_log(state: _State, frame: pd.DataFrame, typed: Typed, report: SourceReport) -> list[dict]:
    """Contact-log rows, typed in the workbook's labels, for the Contacts table (duplicates dropped)."""
    lang = state.lang
    values = typed.values
    n = len(values)
    rows = _customer_rows(state, values)
    stamps = values["when"].to_numpy(dtype=object) if "when" in values else np.full(n, None, dtype=object)
    reached, outcome, leftover = _reach_and_outcome(frame, typed)
    typed.unmapped.pop("reached", None)
    channel = values["channel"].to_numpy(dtype=object) if "channel" in values else None
    channel_keys = _keys(frame["channel"], "channel") if "channel" in frame else None
    if channel is None:
        phone = vocabulary("channel").label("phone", lang)
        channel = np.full(n, phone, dtype=object)
        channel_keys = np.full(n, "phone", dtype=object)
        report.notes.append(_t(lang, "import", "assumed_phone", channel=phone))
    yes, no = (vocabulary("bool").label(k, lang) for k in ("yes", "no"))
    outcome_labels = {k: vocabulary("outcome").label(k, lang) for k in vocabulary("outcome").terms}
    seen = _existing_log_keys(state)
    out: list[dict] = []
    needs_id: set[object] = set()
    columns = {k: values[k].to_numpy(dtype=object) for k in ("owner", "notes", *LOG_CARRIED) if k in values}
    for i, src_row in enumerate(values.index.astype(int)):
        row = rows[i]
        if row is None:
            reason = "unknown_customer" if any(values.iat[i, values.columns.get_loc(k)] is not None
                                               for k in IDENTITY if k in values) else "no_key"
            report.skipped.setdefault(reason, []).append(int(src_row))
            continue
        when = stamps[i]
        if when is None:
            report.skipped.setdefault("no_date", []).append(int(src_row))
            continue
        is_reached = reached[i] == "yes" if reached[i] is not None else outcome[i] is not None
        cid = state.rows[row].get("customer_id")
        key = (text_key(cid) if cid else ("row", row), _minute(when), channel_keys[i], is_reached, outcome[i])
        if key in seen:
            report.skipped.setdefault("already_logged", []).append(int(src_row))
            continue
        seen.add(key)
        if not cid:
            needs_id.add(row)
        note = columns["notes"][i] if "notes" in columns else None
        if leftover[i]:
            note = f"{leftover[i]} · {note}" if note else leftover[i]
        owner = columns["owner"][i] if "owner" in columns else None
        out.append({"when": when, "customer_id": row, "owner": owner or state.rows[row].get("owner"),
                    "channel": channel[i], "reached": yes if is_reached else no,
                    "outcome": outcome_labels.get(outcome[i]) if outcome[i] else None,
                    "notes": note, **{k: columns[k][i] if k in columns else None for k in LOG_CARRIED}})
        report.added.append(int(src_row))
    if needs_id:
        _assign_ids(state, needs_id)
    for entry in out:  # the ledger row -> its Customer ID (generated above where it had none)
        entry["customer_id"] = state.rows[entry["customer_id"]].get("customer_id")
    return out


def _keys(column: pd.Series, vocab: str) -> np.ndarray:
    parse = vocabulary(vocab).parse
    cache: dict[object, str | None] = {}
    return np.array([cache.setdefault(v, parse(v)) if v not in cache else cache[v] for v in column.to_numpy(dtype=object)],
                    dtype=object)


def _minute(when: object) -> dt.datetime:
    if isinstance(when, np.datetime64):
        when = when.astype("datetime64[s]").astype(dt.datetime)
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time())
    return when.replace(second=0, microsecond=0)


def _existing_log_keys(state: _State) -> set[tuple]:
    log = state.inputs.log
    if log.empty:
        return set()
    touches, _ = parse_log(log, state.today)
    keys = set()
    for cid, when, channel, reached, outcome in zip(touches["customer_id"], touches["when"], touches["channel"],
                                                    touches["reached"], touches["outcome"]):
        if pd.isna(cid) or pd.isna(when):
            continue
        keys.add((normalise(cid), _minute(when), None if pd.isna(channel) else channel,
                  bool(reached), None if pd.isna(outcome) else outcome))
    return keys


def _assign_ids(state: _State, rows: Iterable[object]) -> None:
    """Customer IDs (the workbook's scheme: prefix + market + owner code + sequence) for rows without one."""
    s = state.settings
    used = {str(v.get("customer_id")) for v in state.rows.values() if v.get("customer_id")}
    pending = [r for r in sorted(rows, key=lambda r: (isinstance(r, tuple), r if isinstance(r, int) else r[1]))
               if not state.rows[r].get("customer_id")]
    owners = [_text_value(state.rows[r].get("owner")) or "" for r in pending]
    everyone = [_text_value(v.get("owner")) or "" for v in state.rows.values()]
    for row, new_id in zip(pending, ids.allocate(owners, everyone, used, s.owners, s.id_prefix, s.id_market)):
        values = state.rows[row]
        values["customer_id"] = new_id
        state.index.add(row, {"customer_id": new_id})
        if isinstance(row, int):
            state.updates.setdefault("customer_id", {})[row] = new_id
        state.ids_created += 1


# --- the whole import -----------------------------------------------------------------------------
@dataclass
class _Prepared:
    path: Path
    layout: Layout
    frame: pd.DataFrame
    report: SourceReport


def _prepare(path: Path, state: _State, overrides: dict[str, str], kind: str, sheet: str | None) -> _Prepared:
    lang = state.lang
    grids = read_grids(path, lang)
    try:
        layout = find_layout(grids, overrides, kind, sheet)
    except _SheetMissing as exc:
        raise ImportFailed(_t(lang, "import", "no_sheet", path=path.name, sheet=sheet, sheets=exc)) from None
    if layout is None:
        raise ImportFailed(_t(lang, "import", "no_header", path=path.name, rows=HEADER_SCAN_ROWS))
    report = SourceReport(str(path), layout.grid.name, layout.header_row + 1, layout.kind)
    labels = _labels(lang)
    computed = {name for name, key in header_index("ledger").items() if key in _COMPUTED}
    taken: set[str] = set()
    for i, header in enumerate(layout.headers):
        key = layout.columns.get(i)
        if key is None and header and layout.kind == LEDGER and normalise(header) not in computed:
            layout.columns[i] = state.extra_column(header, taken)  # nothing of the source is lost
            report.extra[header] = state.extra[layout.columns[i]]
        elif key is None or key == IGNORE:
            if header:
                report.ignored.append(header)
        else:
            report.columns[header] = labels.get(key, key)
    frame = source_frame(layout)
    report.rows = len(frame)
    return _Prepared(path, layout, frame, report)


_COMPUTED = frozenset(f.key for f in fields("ledger") if f.computed)  # the tool writes these: never imported


def _labels(lang: str) -> dict[str, str]:
    out = {f.key: f.label(lang) for f in fields("contacts")}
    out.update({f.key: f.label(lang) for f in fields("ledger")})
    out.update({"_first": _t(lang, "import", "first_name"), "_last": _t(lang, "import", "last_name")})
    return out


def _record_problems(report: SourceReport, typed: Typed, state: _State) -> None:
    labels = _labels(state.lang)
    report.unreadable += [(row, labels.get(k, k), str(v)) for row, k, v in typed.unreadable]
    for key, counts in typed.unmapped.items():
        report.unmapped[labels.get(key, key)] = dict(counts.most_common())
        report.lists[labels.get(key, key)] = _list_hint(state, key)


# the columns of the lists table (Settings sheet) in order, by the field type whose values each lists
_LIST_COLUMNS = ("bool", "channel", "outcome", "stage", "event")


def _list_hint(state: _State, key: str) -> str:
    """The one line that adds new values of a list field to the team's list: the next free cell of its column
    in the lists table (Settings sheet), or for tiers the Aliases column and the next row of the Rules table."""
    kind = next((f.type for t in ("ledger", "contacts") for f in fields(t) if f.key == key), "")
    tables = state.book.tables()
    if kind == "tier":
        return _table_hint(state, L.T_RULES, state.inputs.rules_headers, "add_tier")
    if kind == "stage" and L.T_STAGES in tables:
        return _table_hint(state, L.T_STAGES, state.inputs.stage_headers, "add_stage")
    if kind not in _LIST_COLUMNS or L.T_LISTS not in tables:
        return ""
    info, pos = tables[L.T_LISTS], _LIST_COLUMNS.index(kind)
    frame = state.book.read_table(L.T_LISTS)
    column = frame.iloc[:, pos]
    filled = column.index[column.map(cell_text).ne("")]
    row = int(filled.max()) + 1 if len(filled) else info.data_rows.start
    return _t(state.lang, "import", "add_to_list", list=info.columns[pos],
              cell=cell_address(info.sheet, info.first_col + pos, row))


def _table_hint(state: _State, table: str, headers: HeaderMatch, message: str) -> str:
    """Where a new value goes in a table with an Aliases column (Rules tiers, stages): that column's cells, or a
    new row below the table."""
    info, frame = state.book.tables()[table], state.book.read_table(table)
    col = info.first_col + list(info.columns).index(headers.header_of("aliases") or info.columns[0])
    last = _last_filled(frame, info.header_row)
    aliases = f"{cell_address(info.sheet, col, info.data_rows.start)}:{col_letter(col)}{max(info.data_rows.start, last)}"
    return _t(state.lang, "import", message, aliases=aliases, cell=cell_address(info.sheet, info.first_col, last + 1))


def _last_filled(frame: pd.DataFrame, header_row: int) -> int:
    """The Excel row of a table's last non-blank row (its header's row when every row is blank)."""
    filled = frame.index[frame.map(cell_text).ne("").any(axis=1)]
    return int(filled.max()) if len(filled) else header_row


def run_import(book_path: Path, sources: Sequence[Path], *, dry_run: bool = False, sheet: str | None = None,
               maps: Sequence[str] = (), overwrite: bool = False, kind: str = "auto", today: dt.date | None = None,
               backup: bool = True) -> ImportReport:
    """Import ``sources`` into the workbook; save once at the end (never on a dry run or a failure)."""
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 4)
        clock = now

    kind = {"auto": "auto", "ledger": LEDGER, "customers": LEDGER, "log": LOG, "contacts": LOG}.get(kind.casefold())
    if kind is None:
        raise ImportFailed("--kind: auto, ledger or log")
    book_path = Path(book_path)
    book = WorkbookPackage.open(book_path)
    opened = book.fingerprint()
    state = _open_state(book, today)
    lang = state.lang
    explicit = parse_map_options(maps, lang)
    overrides = {**load_saved_map(book_path), **explicit}
    report = ImportReport(str(book_path), lang, dry_run)
    lap("open")
    prepared = [_prepare(Path(p), state, overrides, kind, sheet) for p in sources]
    lap("read")
    # customer lists first, so a log in the same run can point at customers it adds
    for item in sorted(prepared, key=lambda p: p.layout.kind != LEDGER):
        typed = type_values(item.frame, "ledger" if item.layout.kind == LEDGER else "contacts", state.rules, lang,
                            state.today)
        if item.layout.kind == LEDGER:
            merge_ledger(state, typed, item.report, overwrite)
        else:
            state.log_rows += import_log(state, item.frame, typed, item.report)
        _record_problems(item.report, typed, state)
        report.sources.append(item.report)
    new_without_id = [r for r in state.new if not state.rows[r].get("customer_id")]
    if new_without_id:
        _assign_ids(state, new_without_id)
    report.ids_created = state.ids_created
    report.sources.sort(key=lambda s: [str(p) for p in sources].index(s.path))
    lap("merge")
    if dry_run:
        report.timings = timings
        return report
    columns = book.tables()[L.T_CUSTOMERS].columns
    new_columns = [h for h in dict.fromkeys(state.extra.values()) if h not in columns]
    if new_columns:
        book.add_table_columns(L.T_CUSTOMERS, new_columns)
    _append(state, L.T_CUSTOMERS, state.header, [state.rows[r] for r in state.new])
    for key, values in state.updates.items():
        book.set_column_values(L.T_CUSTOMERS, state.header(key), values)
    _append(state, L.T_CONTACTS, state.inputs.log_headers.header_of, state.log_rows)
    lap("write")
    with tempfile.TemporaryDirectory(prefix="followup-import-") as tmp:
        staged = Path(tmp) / book_path.name
        book.save(staged, backup=False, recalc_on_load=False)  # reads see pending writes only once saved
        lap("stage")
        outcome = actions.refresh(book, today)
        report.refresh = outcome.summary
        lap("refresh")
        book.save(book_path, backup=backup, expect=opened)
    report.saved = True
    if explicit:
        report.map_file = str(save_map(book_path, explicit))
    lap("save")
    report.timings = timings
    return report


def _append(state: _State, table: str, header_of: Callable[[str], str | None], rows: list[dict]) -> None:
    if not rows:
        return
    keys = set().union(*(r.keys() for r in rows))
    labels = {k: h for k in keys if (h := header_of(k))}
    out = [{labels[k]: v for k, v in r.items() if v is not None and k in labels} for r in rows]
    state.book.append_table_rows(table, out)
