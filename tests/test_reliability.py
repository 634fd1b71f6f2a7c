"""The file-level promises under faults (docs/reliability.md): one writer at a time, atomic writes, outputs
that never name an input, damaged or hostile packages refused. Small counts here; ``python -m bench
--reliability`` runs the same scenarios (bench/reliability.py) with full counts."""
from __future__ import annotations

import io
import os
import shutil
import stat
import threading
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import reliability
from pyxl import files
from pyxl.book.errors import WorkbookBusyError
from pyxl.book.xlsx import WorkbookPackage
from pyxl.cli import app

TODAY = reliability.TODAY


def followup(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} - {p.name for p in folder.glob(".*.lock")}


def refused(result, *, says: str) -> None:
    """Exit 2, one message (no traceback), naming the reason."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and says in " ".join(result.output.split()), result.output


@pytest.fixture(scope="module")
def english_workbook(tmp_path_factory) -> Path:
    from pyxl.build.workbook import build_workbook
    return build_workbook(tmp_path_factory.mktemp("en") / "book.xlsm", "en")


@pytest.fixture
def empty_book(english_workbook: Path, tmp_path: Path) -> Path:
    """An English workbook without customers (its messages are checked in English)."""
    return Path(shutil.copy(english_workbook, tmp_path / "book.xlsm"))


# --- kill -9, concurrent writers, another program saving ------------------------------------------------
@pytest.fixture
def small_book(demo_workbook: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    return Path(shutil.copy(demo_workbook, folder / "book.xlsm"))


@pytest.mark.parametrize("command", ["refresh", "log", "export"])
def test_kill_9_at_random_moments_leaves_whole_files_only(small_book: Path, command: str) -> None:
    tally = reliability.kill_trials(small_book, command, tries=2, seed=7)
    assert (tally.corrupt, tally.stray, tally.bad_backups) == (0, 0, 0), tally.row()


def test_concurrent_logs_lose_nothing(small_book: Path) -> None:
    tally = reliability.concurrent_logs(small_book, writers=3)
    assert (tally.lost, tally.corrupt, tally.stray) == (0, 0, 0), tally.row()
    assert len(reliability.touches(small_book, "touch-")) == 3 and not tally.notes


def test_a_save_by_another_program_during_refresh_is_never_overwritten(small_book: Path) -> None:
    tally = reliability.saves_during_refresh(small_book, tries=1, seed=5)
    assert (tally.lost, tally.corrupt, tally.stray) == (0, 0, 0), tally.row()


def test_a_save_between_read_and_replace_is_kept_and_the_result_put_beside(small_book: Path) -> None:
    """The narrowest moment, made certain: the other program saves right before followup's final check."""
    theirs = reliability.their_save(small_book)
    real_stage = files.stage

    def stage_then_their_save(*args, **kwargs):
        staged = real_stage(*args, **kwargs)
        if Path(args[0]) == small_book:
            os.replace(theirs, small_book)
        return staged

    mp = pytest.MonkeyPatch()
    mp.setattr(files, "stage", stage_then_their_save)
    try:
        result = followup("refresh", small_book, "--today", TODAY)
    finally:
        mp.undo()
    refused(result, says="已被其他程序保存")  # the demo workbook speaks zh-CN
    assert reliability.has_marker(small_book)
    beside = small_book.with_name("book.followup-1.xlsm")
    assert str(beside.name) in result.output.replace("\n", "") and reliability.opens(beside)
    assert not reliability.has_marker(beside)


def test_disk_full_is_one_message_and_the_workbook_intact(small_book: Path) -> None:
    tally = reliability.disk_full(small_book)
    if isinstance(tally, str):
        pytest.skip(tally)
    assert (tally.corrupt, tally.stray, tally.bad_backups) == (0, 0, 0), tally.row()


def test_a_second_writer_waits_visibly_then_is_refused_as_busy(small_book: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with files.writer_lock(small_book):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    told: list[str] = []
    try:
        with pytest.raises(WorkbookBusyError, match="仍由另一个 followup 命令写入") as busy:
            with files.writer_lock(small_book, on_wait=told.append, timeout=0.3):
                pass
    finally:
        release.set()
        thread.join()
    assert busy.value.exit_code == 3 and len(told) == 1 and "最多等待" in told[0]
    with files.writer_lock(small_book, timeout=0.3):  # free again once the holder is done
        pass


# --- atomic writes, backups, read-only ---------------------------------------------------------------------
def test_the_last_backups_are_kept_newest_first(empty_book: Path) -> None:
    for n in range(5):
        files.keep_backup(empty_book, f"v{n}".encode(), 3, lang="en")
    kept = files.backup_paths(empty_book, 3)
    assert [p.read_bytes() for p in kept] == [b"v4", b"v3", b"v2"]
    files.keep_backup(empty_book, b"v5", 1, lang="en")
    assert [p.name for p in reliability.backups(empty_book)] == ["book.xlsm.bak"]


def test_refresh_keeps_the_settings_number_of_backups(empty_book: Path) -> None:
    for _ in range(4):
        assert followup("refresh", empty_book, "--today", TODAY).exit_code == 0
    assert sorted(p.name for p in reliability.backups(empty_book)) == ["book.xlsm.1.bak", "book.xlsm.2.bak",
                                                                       "book.xlsm.bak"]
    assert all(reliability.opens(p) for p in reliability.backups(empty_book))


def test_a_read_only_workbook_is_refused_not_replaced(empty_book: Path) -> None:
    before, listed = empty_book.read_bytes(), listing(empty_book.parent)
    empty_book.chmod(0o444)
    refused(followup("refresh", empty_book, "--today", TODAY), says="is read-only")
    assert empty_book.read_bytes() == before and listing(empty_book.parent) == listed
    assert stat.S_IMODE(empty_book.stat().st_mode) == 0o444


def test_a_write_that_fails_leaves_no_temp_file(tmp_path: Path) -> None:
    def broken(fh) -> None:
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(files.WriteFailedError, match="the disk is full"):
        files.write_atomic(target, broken)
    assert target.read_bytes() == b"old" and listing(tmp_path) == {"out.bin"}


def test_staging_without_o_tmpfile_links_uses_a_hidden_temp_removed_on_failure(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    target = tmp_path / "out.bin"
    files.write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and listing(tmp_path) == {"out.bin"}


# --- outputs never name an input ----------------------------------------------------------------------
def test_export_onto_the_workbook_or_a_link_to_it_is_refused(empty_book: Path) -> None:
    before = empty_book.read_bytes()
    link = empty_book.with_name("link.xlsx")
    link.symlink_to(empty_book)
    for out in (empty_book, link, empty_book.parent / ".." / empty_book.parent.name / empty_book.name):
        refused(followup("export", empty_book, "-o", out, "--force"), says="is an input of this command")
    assert empty_book.read_bytes() == before


def test_plan_ics_onto_the_workbook_is_refused(empty_book: Path) -> None:
    before = empty_book.read_bytes()
    refused(followup("plan", empty_book, "--ics", empty_book, "--today", TODAY), says="is an input")
    assert empty_book.read_bytes() == before


def test_an_existing_output_is_replaced_only_with_force(empty_book: Path) -> None:
    out = empty_book.with_name("copy.xlsx")
    assert followup("export", empty_book, "-o", out).exit_code == 0
    first = out.read_bytes()
    refused(followup("export", empty_book, "-o", out), says="add --force")
    assert out.read_bytes() == first
    assert followup("export", empty_book, "-o", out, "--force").exit_code == 0
    ics = empty_book.with_name("week.ics")
    ics.write_text("mine")
    refused(followup("plan", empty_book, "--ics", ics, "--today", TODAY), says="add --force")
    assert ics.read_text() == "mine"
    assert followup("plan", empty_book, "--ics", ics, "--today", TODAY, "--force").exit_code == 0
    assert ics.read_text().startswith("BEGIN:VCALENDAR")


def test_a_missing_output_folder_is_one_message(empty_book: Path) -> None:
    refused(followup("export", empty_book, "-o", empty_book.parent / "nope" / "copy.xlsx"), says="does not exist")
    assert not (empty_book.parent / "nope").exists()


# --- damaged or hostile packages -------------------------------------------------------------------------
def rewrite(book: Path, edit: Callable[[str, bytes], tuple[bytes, int] | None], add: dict[str, bytes] = {}) -> None:
    """The package rewritten entry by entry: ``edit`` returns (data, compression) or None to drop it."""
    with zipfile.ZipFile(book) as z:
        parts = [(i.filename, z.read(i), i.compress_type) for i in z.infolist()]
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as z:
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name: that is the point
        for name, data, method in parts:
            new = edit(name, data)
            if new is not None:
                z.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), new[0], compress_type=new[1])
        for name, data in add.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    book.write_bytes(out.getvalue())


def ledger_part(book: Path) -> str:
    return WorkbookPackage.open(book).sheet_by_codename("shCustomers").part


def with_dtd(data: bytes) -> bytes:
    head, rest = data.split(b"?>", 1)
    return head + b'?><!DOCTYPE x [<!ENTITY e "eeeeeeeeee"><!ENTITY f "&e;&e;&e;">]>' + rest


def bad_deflate(book: Path) -> None:
    raw = bytearray(book.read_bytes())
    info = zipfile.ZipFile(book).getinfo(ledger_part(book))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + 2: start + 40] = b"\xff" * 38
    book.write_bytes(bytes(raw))


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "bad deflate data": (bad_deflate, "corrupt compressed data"),
    "duplicate entry": (lambda b: rewrite(b, lambda n, d: (d, zipfile.ZIP_DEFLATED),
                                          add={ledger_part(b): b"<worksheet/>"}), "two entries named"),
    "DTD in sheet XML": (lambda b: (part := ledger_part(b), rewrite(
        b, lambda n, d: (with_dtd(d) if n == part else d, zipfile.ZIP_DEFLATED))), "declares a DTD"),
    "entities in sharedStrings": (lambda b: rewrite(b, lambda n, d: (
        with_dtd(d) if n == "xl/sharedStrings.xml" else d, zipfile.ZIP_DEFLATED)), "declares a DTD"),
    "bzip2 part": (lambda b: rewrite(b, lambda n, d: (d, zipfile.ZIP_BZIP2 if n == "docProps/app.xml"
                                                      else zipfile.ZIP_DEFLATED)), "(bzip2)"),
    "lzma part": (lambda b: rewrite(b, lambda n, d: (d, zipfile.ZIP_LZMA if n.endswith(".rels")
                                                     else zipfile.ZIP_DEFLATED)), "(lzma)"),
    "missing sheet part": (lambda b: (part := ledger_part(b), rewrite(
        b, lambda n, d: None if n == part else (d, zipfile.ZIP_DEFLATED))), "is missing"),
    "a zip that is not a workbook": (lambda b: rewrite(b, lambda n, d: None, add={"readme.txt": b"hi"}),
                                     "not an Office package"),
    "not a zip": (lambda b: b.write_bytes(b"hello, not a workbook"), "not an xlsx/xlsm package"),
    "truncated": (lambda b: b.write_bytes(b.read_bytes()[: b.stat().st_size // 2]), "not an xlsx/xlsm package"),
    "zip bomb": (lambda b: rewrite(b, lambda n, d: (d, zipfile.ZIP_DEFLATED),
                                   add={"xl/media/zeros.bin": b"\0" * (4 << 20)}), "possible zip bomb"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_or_hostile_package_is_one_message_and_nothing_written(empty_book: Path, damage: str) -> None:
    make, says = DAMAGES[damage]
    make(empty_book)
    before, listed = empty_book.read_bytes(), listing(empty_book.parent)
    for args in (("refresh", empty_book, "--today", TODAY), ("export", empty_book, "-o",
                                                           empty_book.with_name("copy.xlsx"))):
        refused(followup(*args), says=says)
    assert empty_book.read_bytes() == before and listing(empty_book.parent) == listed


def test_damage_is_reported_in_the_workbook_language(tmp_path: Path) -> None:
    from pyxl.build.workbook import build_workbook
    book = build_workbook(tmp_path / "zh.xlsm", "zh-CN")
    part = ledger_part(book)
    rewrite(book, lambda n, d: (with_dtd(d) if n == part else d, zipfile.ZIP_DEFLATED))
    refused(followup("refresh", book), says="已损坏或不是工作簿")


def test_an_anonymous_temp_that_cannot_be_linked_is_copied_into_place(tmp_path: Path, monkeypatch) -> None:
    if not hasattr(os, "O_TMPFILE"):
        pytest.skip("no O_TMPFILE on this system")

    class NoLinkat:
        def linkat(self, *args) -> int:
            return -1

    def no_link(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(files.ctypes, "CDLL", lambda *a, **k: NoLinkat())
    monkeypatch.setattr(files.os, "link", no_link)
    target = tmp_path / "out.bin"
    files.write_atomic(target, b"x" * 300_000)
    assert target.read_bytes() == b"x" * 300_000 and listing(tmp_path) == {"out.bin"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
