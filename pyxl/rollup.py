"""``followup rollup``: many owners' workbooks -> one macro-free team workbook for the manager (每周汇总).

How it is made, in one pass over the sources:
1. Each source book is opened headless and loaded once (``actions.load``: python-calamine under the
   hood); on several cores the books are read in a process pool.
2. Customer IDs that occur in more than one book (each owner numbering from 001) are made distinct by
   suffixing the book number, ``JRN01001`` -> ``JRN01001-02``, in the ledger *and* that book's contact log,
   so every touch stays with its own customer. The ledger lists both rows; the Checks sheet maps every
   team ID back to its original ID and file.
3. A fresh workbook is built (``build_workbook``) in the first book's language; the Rules, rule
   parameters, Settings, team calendar and time blocks of the **first** book are copied into it, the
   Owners table is the union of every book's. The ledgers and logs are appended as they are, book after
   book, so the table schemas stay exactly the builder's.
4. ``actions.refresh`` runs on it; the merged tables are handed to it from memory (a thin ``Book``
   wrapper), so the million-row log is written once and never parsed back.
5. The Checks sheet starts with the rollup: duplicate customers across owners (撞单: the same phone or
   the same name, normalised as ``checks.check_duplicates`` does) with both source files and cells, the
   ID collisions, one line per source (file, owner, rows, figures); then the usual flags; then
   "customer ID -> source file" for every customer.
6. The as-of date is frozen in Settings and the package is made macro-free (``export.strip_macros``).
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import actions, export, files, sheets
from .book import layout as L
from .book.a1 import cell_address, quote_sheet, rows_address
from .book.xlsx import WorkbookPackage
from .build.workbook import build_workbook
from .core.errors import FollowupError
from .core.i18n import texts
from .core.inputs import non_blank
from .core.schema import fields, vocabulary
from .core.values import clean_text, company_keys, phone_keys, plain

COPIED_TABLES = (L.T_RULES, L.T_PARAMS, L.T_STAGES, L.T_SETTINGS, L.T_HOLIDAYS, L.T_WORKDAYS, L.T_BLOCKS)
FILL_BATCH = 100_000  # cells handed to the package per call when the team tables are filled
_CHECKS_WIDTHS = {1: 8, 2: 18, 3: 16, 4: 14, 5: 20, 6: 40, 7: 10, 8: 12, 9: 16, 10: 10}


class RollupError(FollowupError):
    """The rollup cannot run (no books, the output is one of the sources, ...)."""


# ---------------------------------------------------------------- reading the sources
@dataclass
class SourceBook:
    """One owner's workbook as loaded: canonical ledger/log (index = the source's Excel rows) and where
    its ledger columns sit, for cell references back into it."""
    number: int  # 1-based, in command-line order
    path: Path
    language: str
    ledger: pd.DataFrame
    log: pd.DataFrame
    owners: pd.DataFrame  # Settings' owners table: owner, code, capacity, manager
    ledger_sheet: str
    ledger_cols: dict[str, int]  # canonical key -> column number in the source ledger
    log_sheet: str
    as_of: dt.date | None  # the Settings' as-of date (blank: None)
    unknown_columns: list[str]  # ledger headers that are no known field (not carried over)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # raw COPIED_TABLES (first book only)

    @property
    def name(self) -> str:
        return self.path.name

    def cell(self, key: str, row: int) -> str:
        col = self.ledger_cols.get(key)
        return quote_sheet(self.ledger_sheet) if col is None else cell_address(self.ledger_sheet, col, row)


def read_book(number: int, path: Path) -> SourceBook:
    """Open and load one book (top-level, so a process pool can run it)."""
    book = WorkbookPackage.open(path)
    inputs = actions.load(book)
    info = book.tables()[L.T_CUSTOMERS]
    cols = {key: info.first_col + info.columns.index(header) for header, key in inputs.ledger_headers.columns.items()}
    tables = {name: book.read_table(name) for name in COPIED_TABLES if name in book.tables()} if number == 1 else {}
    return SourceBook(number, Path(path), inputs.settings.language, _shared_text(inputs.ledger),
                      _shared_text(inputs.log), inputs.settings.owners, info.sheet, cols,
                      book.tables()[L.T_CONTACTS].sheet, inputs.settings.as_of_date,
                      [str(h) for h in inputs.ledger_headers.unknown if h is not None], tables)


def _shared_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with equal texts of a column held once (owner, channel, outcome... repeat on every row): a
    hundred books' logs are millions of cells."""
    out = {}
    for key, column in frame.items():
        values = column.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) == "string":
            codes, uniques = pd.factorize(values)
            empty = codes < 0
            values = np.append(uniques, None)[codes]
            values[empty] = column.to_numpy(dtype=object)[empty]  # None stays None, NaN stays NaN
        out[key] = values
    return pd.DataFrame(out, index=frame.index, columns=frame.columns, dtype=object)


def read_books(paths: Sequence[Path], workers: int | None = None) -> list[SourceBook]:
    """Every book, in order. ``workers`` > 1 reads them in a process pool: on this 2-core machine, shared
    with other work, it did not pay (bench/bench_rollup.py measures it), so the default is one process."""
    workers = min(workers or 1, len(paths))
    numbers = range(1, len(paths) + 1)
    if workers <= 1:
        return [read_book(n, p) for n, p in zip(numbers, paths)]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(read_book, numbers, paths, chunksize=max(1, len(paths) // (workers * 4))))


# ---------------------------------------------------------------- merging (pure)
@dataclass
class Merged:
    ledger: pd.DataFrame  # canonical keys + _book, _row (source row); IDs made distinct
    log: pd.DataFrame  # canonical keys + _book
    renamed: pd.DataFrame  # book, original, team: every ID that got its book number
    shared_ids: int  # IDs found in more than one book


def _column(frame: pd.DataFrame, key: str) -> pd.Series:
    """A column as stripped text: '' where blank or when the column is absent."""
    if key not in frame or not len(frame):
        return pd.Series("", index=frame.index, dtype="string")
    return clean_text(frame[key]).fillna("")


def _ids(frame: pd.DataFrame) -> pd.Series:
    return _column(frame, "customer_id")


def merge(books: Sequence[SourceBook]) -> Merged:
    """Concatenate the ledgers and logs; IDs used in more than one book get ``-<book number>``."""
    per_book = [set(_ids(b.ledger)) | set(_ids(b.log)) for b in books]
    seen = Counter(i for ids in per_book for i in ids - {""})
    shared = {i for i, n in seen.items() if n > 1}
    taken = set(seen)
    width = max(2, len(str(len(books))))
    ledgers, logs, renamed = [], [], []
    for book, ids in zip(books, per_book):
        mapping = {}
        for old in sorted(ids & shared):
            new = f"{old}-{book.number:0{width}d}"
            while new in taken:  # an ID typed like a suffixed one already exists
                new += "x"
            taken.add(new)
            mapping[old] = new
        renamed += [(book.number, old, new) for old, new in mapping.items()]
        ledgers.append(_renamed(book.ledger, mapping).assign(_book=book.number, _row=book.ledger.index))
        logs.append(_renamed(book.log, mapping).assign(_book=book.number))
    return Merged(_concat(ledgers), _concat(logs), pd.DataFrame(renamed, columns=["book", "original", "team"]),
                  len(shared))


def _renamed(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    if not mapping or "customer_id" not in frame:
        return frame
    ids = _ids(frame)
    hit = ids.isin(list(mapping)).to_numpy()
    values = frame["customer_id"].to_numpy(dtype=object).copy()
    values[hit] = ids[hit].map(mapping).to_numpy(dtype=object)
    return frame.assign(customer_id=values)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True).astype(object)
    return out.where(out.notna(), None)


def duplicates(ledger: pd.DataFrame) -> pd.DataFrame:
    """Customers typed by more than one owner (撞单): rows sharing a normalised phone or name across
    owners (an owner left blank counts as the book's own). One row per member: match, key, group."""
    owner = _column(ledger, "owner")
    who = owner.where(owner.ne(""), "#" + ledger["_book"].astype(str))
    # the keys of the ledger's duplicate check, so the 撞单 list and the ledger's duplicate flags agree
    phone = pd.Series(phone_keys(ledger.get("phone", pd.Series(index=ledger.index)).to_numpy(dtype=object)),
                      index=ledger.index)
    name = pd.Series(company_keys(ledger.get("name", pd.Series(index=ledger.index)).to_numpy(dtype=object)),
                     index=ledger.index)
    found = []
    for match, key, valid in (("phone", phone, phone.ne("")), ("name", name, name.ne(""))):
        rows = pd.DataFrame({"key": key[valid], "who": who[valid]})
        owners = rows.groupby("key")["who"].transform("nunique")
        hit = rows[owners.ge(2)]
        found.append(pd.DataFrame({"match": match, "key": hit["key"].astype(object)}, index=hit.index))
    out = pd.concat(found) if found else pd.DataFrame(columns=["match", "key"])
    if out.empty:
        return out.assign(group=pd.Series(dtype=int))
    out = out.assign(_pos=out.index).sort_values(["match", "key", "_pos"], kind="stable")
    out["group"] = (out["match"] + "\x1f" + out["key"]).ne((out["match"] + "\x1f" + out["key"]).shift()).cumsum()
    return out.drop(columns="_pos")


# ---------------------------------------------------------------- the team workbook
class _TeamBook:
    """The team package as ``actions.refresh`` sees it: the merged ledger and log are served from memory
    (they are appended but not yet saved), the Checks sheet is left to the roll-up (which adds its own
    sections), and the status column is recorded for the per-owner figures."""

    def __init__(self, package: WorkbookPackage, frames: Mapping[str, pd.DataFrame], status_header: str | None
                 ) -> None:
        self.package, self.frames = package, frames
        self.status_header = status_header
        self.status: dict[int, Any] = {}

    def read_table(self, table: str) -> pd.DataFrame:
        return self.frames[table] if table in self.frames else self.package.read_table(table)

    def set_column_values(self, table: str, column: str, values: Mapping[int, Any]) -> None:
        if table == L.T_CUSTOMERS and column == self.status_header:
            self.status = dict(values)
        self.package.set_column_values(table, column, values)

    def replace_sheet_content(self, code: str, rows: Sequence[Sequence[Any]], **kwargs) -> None:
        if code == L.CHECKS:
            return
        self.package.replace_sheet_content(code, rows, **kwargs)

    def __getattr__(self, name: str) -> Any:  # append_table_rows, tables, sheet_by_codename, ...
        return getattr(self.package, name)


def rollup(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *, today: dt.date | None = None,
           workers: int | None = None, timings: dict[str, float] | None = None,
           force: bool = False) -> actions.Outcome:
    """Merge owners' workbooks into one macro-free team workbook at ``out`` (.xlsx).

    ``timings``, when given, receives the seconds each phase took (for the benchmark)."""
    clock = _Clock(timings)
    paths, out = [Path(p) for p in paths], Path(out)
    _validate(paths, out)
    files.refuse_output(out, paths, force=force, lang=files.workbook_language(paths[0]))
    books = read_books(paths, workers)
    clock("read")
    merged = merge(books)
    for book in books:  # merged holds the rows now; the per-book copies would only add to the peak
        book.ledger, book.log = book.ledger.iloc[:0], book.log.iloc[:0]
    clock("merge")
    first = books[0]
    lang = first.language
    with tempfile.TemporaryDirectory(prefix="followup-rollup-") as tmp:
        work = build_workbook(Path(tmp) / "team.xlsm", lang)
        package = WorkbookPackage.open(work)
        as_of = today or first.as_of or dt.date.today()
        _copy_settings(package, first, books, as_of)
        package.save(backup=False)
        package = WorkbookPackage.open(work)
        clock("build")
        frames = {L.T_CUSTOMERS: _fill(package, L.T_CUSTOMERS, "ledger", merged.ledger, lang),
                  L.T_CONTACTS: _fill(package, L.T_CONTACTS, "contacts", merged.log, lang)}
        clock("append")
        team = _TeamBook(package, frames, _label("ledger", "status", lang))
        done = actions.refreshed(team, as_of, renamed_ids=frozenset(merged.renamed["team"]))
        outcome, flags = done.outcome, done.outcome.flags
        team.frames = {}  # the merged rows now live in the package's pending cells
        clock("refresh")
        dupes = duplicates(merged.ledger)
        preface, appendix = _checks_sections(team, books, merged, dupes, lang)
        sheets.write_checks(package, done.inputs, done.result, flags, preface=preface, appendix=appendix,
                            col_widths=_CHECKS_WIDTHS)
        clock("checks")
        package.save(work, backup=False)
        clock("save")
        data = export.strip_macros(work.read_bytes())
    files.write_atomic(out, data, lang=lang)
    clock("strip_macros")
    summary = {"books": len(books), "customers": len(merged.ledger), "touches": len(merged.log),
               "owners": int(_column(merged.ledger, "owner").replace("", pd.NA).nunique()),
               "duplicate_groups": int(dupes["group"].nunique()) if len(dupes) else 0,
               "duplicate_customers": int(dupes.index.nunique()),
               "ids_renamed": len(merged.renamed), "rules_and_settings_from": first.name,
               **{k: v for k, v in outcome.summary.items() if k not in ("customers", "cells_written")}}
    unknown = sorted({c for b in books for c in b.unknown_columns})
    if unknown:
        summary["columns_not_carried"] = ", ".join(unknown)
    return actions.Outcome(as_of, summary, flags, [str(out)], lang=lang)


class _Clock:
    def __init__(self, into: dict[str, float] | None) -> None:
        self.into, self.last = into, time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        if self.into is not None:
            self.into[phase] = now - self.last
        self.last = now


def _validate(paths: list[Path], out: Path) -> None:
    if not paths:
        raise RollupError("give at least one workbook to roll up")
    if out.suffix.lower() != ".xlsx":
        raise RollupError(f"{out.name}: the team workbook is a macro-free .xlsx; name it …/{out.stem}.xlsx")
    resolved = [p.resolve() for p in paths]
    twice = [p for p, n in Counter(resolved).items() if n > 1]
    if twice:
        raise RollupError(f"{twice[0]} is given more than once")
    if out.with_name("~$" + out.name).exists():
        raise RollupError(f"{out.name} is open in Excel; close it and retry")


def _label(table: str, key: str, lang: str) -> str | None:
    return next((f.label(lang) for f in fields(table) if f.key == key), None)


def _copy_settings(package: WorkbookPackage, first: SourceBook, books: Sequence[SourceBook], as_of: dt.date) -> None:
    """The first book's Rules, parameters, stages, Settings, calendar and blocks; every book's owners."""
    for table, source in first.tables.items():
        _copy_table(package, table, source)
    settings = package.read_table(L.T_SETTINGS)
    key_col, value_col = settings.columns[0], settings.columns[1]
    rows = [r for r, k in settings[key_col].items() if str(k).strip() == "as_of_date"]
    if rows:  # frozen, so the native status colours match the computed statuses
        package.set_column_values(L.T_SETTINGS, value_col, {rows[0]: as_of})
    owners = pd.concat([b.owners for b in books], ignore_index=True) if books else pd.DataFrame()
    if len(owners) and "owner" in owners:
        name = _column(owners, "owner")
        owners = owners[name.ne("").to_numpy() & ~name.duplicated().to_numpy()]
        columns = package.tables()[L.T_OWNERS].columns
        rows = [{columns[i]: plain(v) for i, v in enumerate(r) if i < len(columns) and plain(v) is not None}
                for r in owners.itertuples(index=False)]
        if rows:
            package.append_table_rows(L.T_OWNERS, rows)


def _copy_table(package: WorkbookPackage, table: str, source: pd.DataFrame) -> None:
    """Cell values of a source table over the same table of the fresh book (columns matched by header);
    rows beyond the fresh table's are appended, its surplus rows blanked."""
    target = package.read_table(table)
    source = non_blank(source)
    rows = list(target.index)
    common = [c for c in source.columns if c in target.columns]
    if table == L.T_SETTINGS:  # key/value: by key, so a source with other keys cannot misplace values
        key, value = target.columns[0], target.columns[1]
        by_key = {str(k).strip(): v for k, v in zip(source.iloc[:, 0], source.iloc[:, 1]) if k is not None}
        package.set_column_values(table, value, {r: plain(by_key[str(k).strip()]) for r, k in target[key].items()
                                                 if str(k).strip() in by_key and str(k).strip() != "as_of_date"})
        return
    for column in common:
        values = list(source[column])
        package.set_column_values(table, column, {r: plain(values[i]) if i < len(values) else None
                                                  for i, r in enumerate(rows)})
    extra = source.iloc[len(rows):]
    if len(extra):
        package.append_table_rows(table, [{c: plain(v) for c, v in zip(common, r) if plain(v) is not None}
                                          for r in extra[common].itertuples(index=False)])



def _fill(package: WorkbookPackage, table: str, schema: str, frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Append ``frame`` (canonical keys) under ``table``: rows reserved once, then filled column by
    column (a dict per column, not per row: the team log can have millions of rows). Returns the table
    as ``read_table`` would show it after a save: header labels, Excel rows as index."""
    columns = package.tables()[table].columns
    keys = {f.label(lang): f.key for f in fields(schema)}
    computed = {f.key for f in fields(schema) if f.computed}
    rows = package.append_table_rows(table, [{}] * len(frame)) if len(frame) else []
    at = np.asarray(rows, dtype=np.int64)
    out = {}
    for label in columns:
        key = keys.get(label)
        if key is None or key not in frame or key in computed:
            out[label] = np.full(len(frame), None, dtype=object)
            continue
        values = out[label] = frame[key].to_numpy(dtype=object)
        filled = np.array([v is not None for v in values], dtype=bool)
        targets, cells = at[filled].tolist(), values[filled]
        for start in range(0, len(targets), FILL_BATCH):  # batches: no dict of every row of the column at once
            end = start + FILL_BATCH
            package.set_column_values(table, label, dict(zip(targets[start:end], cells[start:end])))
    return pd.DataFrame(out, index=pd.Index(rows), columns=list(columns), dtype=object)


def _checks_sections(team: _TeamBook, books: Sequence[SourceBook], merged: Merged, dupes: pd.DataFrame,
                     lang: str) -> tuple[list[list], list[list]]:
    """The roll-up's own Checks sections: before the usual flags (summary, 撞单, ID collisions, sources) and
    after them (which customer came from which book)."""
    r = texts(lang)["rollup"]
    info = team.package.tables()[L.T_CUSTOMERS]
    cols = {f.key: info.first_col + info.columns.index(f.label(lang))
            for f in fields("ledger") if f.label(lang) in info.columns}
    log_sheet = team.package.tables()[L.T_CONTACTS].sheet
    rows: list[list] = [[(r["summary"].format(books=len(books), customers=len(merged.ledger), touches=len(merged.log),
                                              first=books[0].name), "subtitle")], []]
    ledger = merged.ledger
    original = _original_ids(merged)
    team_row = pd.Series(info.data_rows.start + np.arange(len(ledger)), index=ledger.index)
    by_number = {b.number: b for b in books}
    # 撞单
    if dupes.empty:
        rows += [[(r["no_duplicates"], "in_window")], []]
    else:
        rows.append([(r["duplicates_title"].format(groups=dupes["group"].nunique(), customers=dupes.index.nunique()),
                      "section")])
        rows.append([(r["dup"][k], "header") for k in ("group", "match", "cell", "customer_id", "name", "file",
                                                         "owner", "original_id", "source_cell")])
        for i, d in zip(dupes.index, dupes.itertuples(index=False)):
            row, book = ledger.loc[i], by_number[ledger.at[i, "_book"]]
            field_key = d.match
            rows.append([int(d.group), (f"{r['match'][d.match]} {plain(row.get(field_key))}", "warning"),
                         cell_address(info.sheet, cols[field_key], team_row[i]), plain(row.get("customer_id")),
                         plain(row.get("name")), book.name, plain(row.get("owner")), original.get(i, None),
                         book.cell(field_key, int(row["_row"]))])
        rows.append([])
    # ID collisions
    if merged.shared_ids:
        example = merged.renamed.iloc[0]
        rows += [[(r["collisions"].format(n=merged.shared_ids, renamed=len(merged.renamed),
                                          original=example["original"],
                                          team=example["team"]), "warning")], []]
    # sources
    rows.append([(r["sources_title"], "section")])
    rows.append([(r["src"][k], "header") for k in ("book", "owner", "ledger_rows", "customers", "overdue", "file",
                                                     "due_today", "touches", "log_rows", "ids_renamed")])
    rows += _source_rows(team, books, merged, info.sheet, log_sheet, lang)
    unknown = sorted({c for b in books for c in b.unknown_columns})
    if unknown:
        rows.append([(r["not_carried"].format(columns=", ".join(unknown)), "muted")])
    rows.append([])
    # the usual flags
    rows.append([(r["flags_title"], "section")])
    preface, rows = rows, [[]]
    # customer -> source
    rows.append([(r["customers_title"], "section")])
    rows.append([(r["map"][k], "header") for k in ("book", "customer_id", "name", "owner", "file", "original_id")])
    names = {b.number: b.name for b in books}
    ids = ledger["customer_id"] if "customer_id" in ledger else pd.Series(None, index=ledger.index, dtype=object)
    nm = ledger["name"] if "name" in ledger else ids.map(lambda _: None)
    ow = ledger["owner"] if "owner" in ledger else ids.map(lambda _: None)
    for i, book, cid, name, owner in zip(ledger.index, ledger["_book"], ids, nm, ow):
        rows.append([int(book), cid, name, owner, names[book], original.get(i)])
    return preface, rows


def _original_ids(merged: Merged) -> dict[int, str]:
    """Ledger position -> original ID, for rows whose ID got a book number."""
    if merged.renamed.empty:
        return {}
    back = {(b, team): orig for b, orig, team in merged.renamed.itertuples(index=False)}
    ids = merged.ledger.get("customer_id")
    return {i: back[(b, cid)] for i, b, cid in zip(merged.ledger.index, merged.ledger["_book"], ids)
            if (b, cid) in back}


def _source_rows(team: _TeamBook, books: Sequence[SourceBook], merged: Merged, ledger_sheet: str, log_sheet: str,
                 lang: str) -> list[list]:
    """One row per book and owner: rows in the team ledger and log, customers, overdue and due today (as
    the team refresh computed them), touches, renamed IDs."""
    ledger, log = merged.ledger, merged.log
    tables = team.package.tables()
    ledger_at = tables[L.T_CUSTOMERS].data_rows.start + np.arange(len(ledger))  # Excel rows in the team book
    log_at = tables[L.T_CONTACTS].data_rows.start + np.arange(len(log))
    status = pd.Series(team.status, dtype=object).reindex(ledger_at).to_numpy()
    label = vocabulary("status")
    customers = pd.DataFrame({"book": ledger["_book"].to_numpy(), "owner": _column(ledger, "owner").to_numpy(),
                              "row": ledger_at,
                              "overdue": status == label.label("overdue", lang),
                              "due_today": status == label.label("due_today", lang)})
    touches = pd.DataFrame({"book": log["_book"].to_numpy() if len(log) else np.array([], dtype=int),
                            "owner": _column(log, "owner").to_numpy(), "row": log_at})
    per_owner = customers.groupby(["book", "owner"], sort=True).agg(
        customers=("row", "size"), overdue=("overdue", "sum"), due_today=("due_today", "sum"))
    touched = touches.groupby(["book", "owner"]).size()
    book_rows = customers.groupby("book")["row"].agg(["min", "max"])
    log_rows = touches.groupby("book")["row"].agg(["min", "max"])
    renamed = merged.renamed.groupby("book").size()
    rows = []
    for book in books:
        n = book.number
        owners = per_owner.loc[n] if n in per_owner.index.get_level_values(0) else pd.DataFrame(
            {"customers": [0], "overdue": [0], "due_today": [0]}, index=[""])
        for owner, figures in owners.iterrows():
            mine = (int(touched.loc[n].sum()) if len(owners) == 1 else int(touched.get((n, owner), 0))) \
                if n in touched.index.get_level_values(0) else 0
            rows.append([n, owner or None, _span(ledger_sheet, book_rows, n), int(figures["customers"]),
                         int(figures["overdue"]), book.name, int(figures["due_today"]), mine,
                         _span(log_sheet, log_rows, n), int(renamed.get(n, 0))])
    return rows


def _span(sheet: str, spans: pd.DataFrame, book: int) -> str | None:
    """Sheet!first:last rows of a book in the team table (its rows are contiguous)."""
    return rows_address(sheet, spans.at[book, "min"], spans.at[book, "max"]) if book in spans.index else None
