"""A plan's entries as an iCalendar file (RFC 5545): one event per customer touch, or one per time block."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal
from zoneinfo import ZoneInfo

import pandas as pd

from .i18n import reason_text, texts
from .ids import without_unique_id
from .schema import vocabulary

PRODID = "-//followup//week plan//EN"


def plan_to_ics(entries: pd.DataFrame, lang: str, *, per: Literal["customer", "block"] = "customer",
                tz: str = "Asia/Shanghai", stamp: dt.datetime | None = None) -> bytes:
    """``entries`` as produced by ``planning.plan_week``, worded in ``lang`` (the workbook's language) as the
    Plan sheet is.  UIDs are stable (owner, date, customer or block); ``stamp`` (DTSTAMP, UTC) defaults to now
    — pass one for byte-identical output."""
    import icalendar  # 50 ms of imports only the plan's --ics needs

    zone = ZoneInfo(tz)
    stamp = stamp or dt.datetime.now(dt.timezone.utc)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    events = _per_customer(entries, lang) if per == "customer" else _per_block(entries, lang)
    for uid, start, end, summary, description in events:
        ev = icalendar.Event()
        ev.add("uid", uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", start.to_pydatetime().replace(tzinfo=zone))
        ev.add("dtend", end.to_pydatetime().replace(tzinfo=zone))
        ev.add("summary", summary)
        if description:
            ev.add("description", description)
        cal.add_component(ev)
    if len(entries):
        cal.add_missing_timezones()
    return cal.to_ical()


def _uid(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:24] + "@followup"


def _customer_keys(e: pd.DataFrame) -> pd.Series:
    """Each entry's customer for its UID: the ID, or the ledger row where the ID is blank or typed on several
    rows (entries of ``planning.plan_for``), so no two customers share an event."""
    if "ledger_row" not in e:
        return e["customer_id"]
    rows = e.drop_duplicates("ledger_row").set_index("ledger_row")["customer_id"]
    keyed = pd.Series(without_unique_id(rows), index=rows.index).reindex(e["ledger_row"]).to_numpy()
    return e["customer_id"].where(~keyed, "row " + e["ledger_row"].astype(str))


def _reason(r, lang: str) -> str:
    return reason_text(r.reason, r.greeting, lang, getattr(r, "for_owner", "") or "")


def _channel(r, lang: str) -> str:
    return vocabulary("channel").label(r.channel, lang) or r.channel


def _per_customer(e: pd.DataFrame, lang: str):
    owner = texts(lang)["agenda"]["owner"]
    e = e.assign(uid_key=_customer_keys(e)).sort_values(["owner", "date", "order"], kind="stable")
    for r in e.itertuples(index=False):
        title = f"{r.name} ({r.tier}) · {_reason(r, lang)}"
        detail = "\n".join(x for x in (f"{r.customer_id} · {_channel(r, lang)}", r.next_content,
                                       f"{owner}: {r.owner}") if x)
        yield _uid(r.owner, r.date, r.uid_key), pd.Timestamp(r.start), pd.Timestamp(r.end), title, detail


def _per_block(e: pd.DataFrame, lang: str):
    for (owner, date, start), g in e.sort_values(["owner", "date", "order"], kind="stable").groupby(
            ["owner", "date", "block_start"], sort=True):
        label = g["block"].iloc[0]
        lines = [f"{r.order}. {r.name} ({r.tier}) {r.customer_id} · {_reason(r, lang)} · {_channel(r, lang)}"
                 for r in g.itertuples(index=False)]
        yield (_uid(owner, date, start), pd.Timestamp(g["start"].min()), pd.Timestamp(g["end"].max()),
               f"{label}: {len(g)} · {owner}", "\n".join(lines))
