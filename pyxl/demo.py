"""``followup demo``: a fresh workbook filled with sample customers and a 90-day history, refreshed —
built and filled through the same headless path users run, so the demo exercises the product."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from . import actions, sample
from .book import layout as L
from .book.xlsx import WorkbookPackage
from .build.workbook import build_workbook
from .core.rules import preset_rules
from .core.schema import fields, vocabulary


def make_demo(path: Path, customers: int = 120, lang: str = "zh-CN", today: dt.date | None = None,
              preset: str = "maturity", owners: int = 4, touches_per_customer: int | None = None) -> actions.Outcome:
    today = today or dt.date.today()
    build_workbook(path, lang, preset)
    rules = preset_rules(preset, lang)
    ledger = sample.customers(customers, rules, lang, owners=owners, today=today)
    log = sample.history(ledger, rules, today=today, per_customer=touches_per_customer)
    ledger = sample.friday_notes(ledger, log, lang, today)
    book = WorkbookPackage.open(path)
    book.append_table_rows(L.T_CUSTOMERS, _labelled(ledger, "ledger", lang))
    book.append_table_rows(L.T_CONTACTS, _labelled(_log_labels(log, lang), "contacts", lang))
    _fill_settings(book, DEMO_COMPANY[lang])
    book.save(backup=False)
    book = WorkbookPackage.open(path)
    outcome = actions.refresh(book, today)
    book.save(backup=False)
    outcome.files.append(str(path))
    return outcome


DEMO_COMPANY = {  # what the message templates' {本公司} {公司地址} {公司规模} show in the demo
    "zh-CN": {"our_company": "金瑞贸易", "our_address": "上海市浦东新区张江路 88 号", "our_profile": "成立 12 年，员工 200 人"},
    "en": {"our_company": "Jinrui Trading", "our_address": "88 Zhangjiang Road, Shanghai",
           "our_profile": "12 years in business, 200 staff"},
}


def _fill_settings(book: WorkbookPackage, values: dict[str, str]) -> None:
    table = book.read_table(L.T_SETTINGS)
    rows = {key: row for row, key in zip(table.index, table.iloc[:, 0])}
    book.set_column_values(L.T_SETTINGS, table.columns[1], {rows[k]: v for k, v in values.items()})


def _log_labels(log: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = log.copy()
    for key, vocab in (("channel", "channel"), ("reached", "bool"), ("outcome", "outcome")):
        out[key] = [vocabulary(vocab).label(v, lang) if isinstance(v, str) else None for v in out[key]]
    return out


def _labelled(frame: pd.DataFrame, table: str, lang: str) -> list[dict]:
    labels = {f.key: f.label(lang) for f in fields(table)}
    frame = frame.astype(object).where(frame.notna(), None)
    return [{labels[k]: v for k, v in row.items() if k in labels} for row in frame.to_dict("records")]
