"""Sample teams for the roll-up's tests and benchmark: one demo book copied and retagged per owner, with planted
duplicates (撞单) between neighbouring books."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from pyxl import actions
from pyxl.book import layout as L
from pyxl.book.xlsx import WorkbookPackage
from pyxl.demo import make_demo
from pyxl.sample import OWNERS_EN, OWNERS_ZH, SURNAMES

GIVEN = ["芳", "军", "丽", "杰", "涛", "勇", "艳", "超", "明", "霞", "平", "刚"]  # not in sample.OWNERS_ZH


def owner_name(i: int, lang: str = "zh-CN") -> str:
    """A distinct owner name for book ``i`` (0-based)."""
    if lang != "zh-CN":
        return OWNERS_EN[i] if i < len(OWNERS_EN) else f"Owner {i + 1}"
    if i < len(OWNERS_ZH):
        return OWNERS_ZH[i]
    round_, pos = divmod(i, len(SURNAMES) * len(GIVEN))
    return SURNAMES[pos % len(SURNAMES)] + GIVEN[pos // len(SURNAMES)] + (str(round_) if round_ else "")


def retag_book(path: Path, number: int, owner: str, shared: int = 0) -> None:
    """Make a copied sample book another owner's: owner in ledger and log, book-specific phones and names
    (so copies are not all duplicates of each other). IDs are left as they are: each owner numbers from 001.
    With ``shared`` = n, the first n customers get the phones that book ``number - 1`` (retagged from the
    same sample) has on its customers n+1..2n: planted 撞单."""
    book = WorkbookPackage.open(path)
    inputs = actions.load(book)
    head = inputs.ledger_headers.header_of
    ledger = inputs.ledger
    book.set_column_values(L.T_CUSTOMERS, head("owner"), {int(r): owner for r in ledger.index})
    phones = [str(p) for p in ledger["phone"]]
    new = [f"1{number % 1000:03d}{p[-7:]}" for p in phones]
    if number > 1:
        for j in range(min(shared, len(phones) // 2)):
            new[j] = f"1{(number - 1) % 1000:03d}{phones[j + shared][-7:]}"
    book.set_column_values(L.T_CUSTOMERS, head("phone"), dict(zip(map(int, ledger.index), new)))
    book.set_column_values(L.T_CUSTOMERS, head("name"), {
        int(r): f"{n}（{number}）" for r, n in ledger["name"].items() if n is not None})
    log_owner = inputs.log_headers.header_of("owner")
    if log_owner and len(inputs.log):
        book.set_column_values(L.T_CONTACTS, log_owner, {int(r): owner for r in inputs.log.index})
    owners = book.tables()[L.T_OWNERS]
    book.set_column_values(L.T_OWNERS, owners.columns[0], {owners.data_rows.start: owner})
    book.save(backup=False)


def sample_team(folder: Path, books: int, customers: int, today: dt.date, lang: str = "zh-CN",
                shared: int = 0) -> list[Path]:
    """``books`` owners' workbooks: one demo book generated, copied and retagged per owner (each book
    shares ``shared`` customers' phones with the previous one)."""
    folder.mkdir(parents=True, exist_ok=True)
    template = folder / "_template.xlsm"
    make_demo(template, customers=customers, lang=lang, today=today, owners=1)
    paths = []
    for i in range(books):
        owner = owner_name(i, lang)
        path = folder / f"{i + 1:03d}-{owner}.xlsm"
        shutil.copy(template, path)
        retag_book(path, i + 1, owner, shared)
        paths.append(path)
    template.unlink()
    return paths
