"""The one zip writer and the repacker: entries kept as compressed, edited, dropped, added, never doubled."""
from __future__ import annotations

import io
import zipfile

import pytest

from pyxl.book.errors import WorkbookError
from pyxl.book.zipio import FIXED_DATE, Archive, new_entry, repack, write_zip


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def test_writer_refuses_duplicate_entry_names() -> None:
    with pytest.raises(WorkbookError, match="duplicate zip entry a.xml"):
        write_zip(io.BytesIO(), [new_entry("a.xml", b"<a/>"), new_entry("b.xml", b"<b/>"), new_entry("a.xml", b"")])


def test_repack_adding_a_part_the_package_has_is_refused() -> None:
    src = Archive(_zip({"a.xml": b"<a/>"}), "src")
    with pytest.raises(WorkbookError, match="duplicate"):
        repack(src, (), lambda name, read: None, add={"a.xml": b"<other/>"})


def test_repack_keeps_edits_drops_and_adds_in_order() -> None:
    big = b"<row>" + b"x" * 100_000 + b"</row>"
    src = Archive(_zip({"keep.xml": big, "edit.xml": b"<old/>", "drop.xml": b"<gone/>", "名字.xml": b"<u/>"}), "src")
    seen = []

    def edit(name, read):
        seen.append(name)
        return b"<new/>" if name == "edit.xml" and b"".join(read()) == b"<old/>" else None

    out = zipfile.ZipFile(io.BytesIO(repack(src, {"drop.xml"}, edit, add={"added.xml": b"<added/>"})))
    assert out.testzip() is None  # every CRC checks
    assert out.namelist() == ["keep.xml", "edit.xml", "名字.xml", "added.xml"]
    assert seen == ["keep.xml", "edit.xml", "名字.xml"]
    assert [out.read(n) for n in out.namelist()] == [big, b"<new/>", b"<u/>", b"<added/>"]
    assert out.getinfo("added.xml").date_time == FIXED_DATE
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in out.infolist())


def test_repack_copies_untouched_parts_as_compressed() -> None:
    raw = _zip({"keep.xml": b"<keep>" + b"y" * 50_000 + b"</keep>"})
    src = Archive(raw, "src")
    again = Archive(repack(src, (), lambda name, read: None), "again")
    assert again.packed("keep.xml") == src.packed("keep.xml")


def test_stored_parts_come_back_deflated() -> None:
    src = Archive(_zip({"s.bin": b"\0" * 10_000}, zipfile.ZIP_STORED), "src")
    out = zipfile.ZipFile(io.BytesIO(repack(src, (), lambda name, read: None)))
    assert out.getinfo("s.bin").compress_type == zipfile.ZIP_DEFLATED
    assert out.read("s.bin") == b"\0" * 10_000
