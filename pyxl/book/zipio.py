"""Zip I/O of a package: entries read safely (zip-bomb guards, never inflating past a declared size), parts
packed as they stream, and the one zip writer (untouched entries keep their compressed bytes)."""
from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import BinaryIO, TypeAlias

from ..core.i18n import text
from .errors import DamagedPackageError, NotAWorkbookError, UnsafePackageError, WorkbookError

MAX_PART_BYTES = 1 << 30  # uncompressed size of one part
MAX_TOTAL_BYTES = 2 << 30  # uncompressed size of all parts
MAX_RATIO = 200  # uncompressed/compressed, checked for parts above RATIO_MIN_BYTES
RATIO_MIN_BYTES = 1 << 20
COMPRESS_LEVEL = 5  # zlib level of packages made once (built, exported): ~1% larger than level 6 (Excel-like)
SAVE_LEVEL = 2  # zlib level of the parts a save rewrites, on every press: ~22% larger than level 5, ~55% faster
STREAM_CHUNK = 1 << 22  # bytes of a part inflated at a time (big sheets are rewritten as they stream)
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # timestamp of added entries, so the same input gives the same bytes
METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # the only compressions Office writes
XML_PART = re.compile(r".*\.(xml|rels|vml)$", re.IGNORECASE)
DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
ZH_LEDGER = "客户台账".encode("utf-8")  # the zh-CN ledger sheet's name, as workbook.xml holds it

Packed: TypeAlias = tuple[int, bytes, int, int]  # method, packed bytes, crc, size
Entry: TypeAlias = tuple[zipfile.ZipInfo, int, bytes, int, int]  # info, method, packed bytes, crc, size


class Archive:
    """A zip package held in memory. Declared sizes and compression ratios are checked on opening; parts are
    inflated never beyond their declared size, and their size and CRC are checked when used up."""

    def __init__(self, raw: bytes, name: str | os.PathLike[str]) -> None:
        self.raw, self.name = raw, name
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(raw))
        except zipfile.BadZipFile as exc:
            hint = " (encrypted workbook or legacy .xls?)" if raw[:4] == b"\xd0\xcf\x11\xe0" else ""
            raise NotAWorkbookError(f"{name} is not an xlsx/xlsm package{hint}: {exc}") from exc
        self.infos = {i.filename: i for i in self._zip.infolist()}
        self.verified = False
        self._check_entries()
        self._check_sizes()

    def __contains__(self, part: str) -> bool:
        return part in self.infos

    @property
    def language(self) -> str:
        """The language of messages about this package (see ``language_of``)."""
        return language_of(self._zip)

    def damaged(self, key: str, **args: object) -> DamagedPackageError:
        """The one error for a damaged or hostile package, in its language."""
        lang = self.language
        detail = text(lang, "files", key, **args)
        return DamagedPackageError(text(lang, "files", "damaged", name=os.path.basename(self.name), detail=detail))

    def verify(self) -> None:
        """Inflate every part once (declared size and CRC checked, corrupt data refused) and refuse a DTD or
        entity declaration in any XML part; before any reader (calamine, lxml) sees the package."""
        if self.verified:
            return
        for part in self.infos:
            tail = b""
            for data in self.inflate(part):
                if XML_PART.match(part) and DTD.search(tail + data):
                    lang = self.language
                    raise UnsafePackageError(text(lang, "files", "damaged", name=os.path.basename(self.name),
                                                  detail=text(lang, "files", "dtd", part=part)))
                tail = data[-16:]
        self.verified = True

    def read(self, part: str) -> bytes:
        """Uncompressed bytes of a part (once the package is verified: inflated in one piece, not checked again)."""
        if not self.verified:
            return b"".join(self.inflate(part))
        info = self._info(part)
        if info.compress_type == zipfile.ZIP_STORED:
            return self.packed(part)
        try:
            return zlib.decompress(self.packed(part), -15, info.file_size)
        except zlib.error:
            raise self.damaged("bad_data", part=part) from None

    def inflate(self, part: str) -> Iterator[bytes]:
        """Uncompressed bytes of a part a few MiB at a time (size and CRC checked until the package is verified)."""
        info = self._info(part)
        if self.verified:  # the same bytes as when they were checked
            yield from self._inflate_raw(info)
            return
        size = crc = 0
        for data in self._inflate_raw(info):
            size, crc = size + len(data), zlib.crc32(data, crc)
            if size > info.file_size:
                break
            yield data
        if size != info.file_size or crc != info.CRC:
            raise self.damaged("bad_data", part=part)

    def head(self, part: str, size: int = 4096) -> bytes:
        """The first bytes of a part (e.g. a sheet's sheetPr), without inflating all of it."""
        if self._info(part).compress_type == zipfile.ZIP_DEFLATED:
            try:
                return zlib.decompressobj(-15).decompress(self.packed(part), size)
            except zlib.error:
                raise self.damaged("bad_data", part=part) from None
        return self.read(part)[:size]

    def packed(self, part: str) -> bytes:
        """The compressed bytes of an entry."""
        info = self._info(part)
        try:
            sig, *_, name_len, extra_len = struct.unpack_from("<IHHHHHIIIHH", self.raw, info.header_offset)
        except struct.error:
            sig = None
        if sig != 0x04034B50:
            raise self.damaged("bad_data", part=part)
        start = info.header_offset + 30 + name_len + extra_len
        return self.raw[start: start + info.compress_size]

    def kept(self, part: str) -> Entry:
        """The entry as it is, to be written again without inflating it."""
        info = self._info(part)
        return info, info.compress_type, self.packed(part), info.CRC, info.file_size

    def _info(self, part: str) -> zipfile.ZipInfo:
        info = self.infos.get(part)
        if info is None:
            raise self.damaged("missing", part=part)
        return info

    def _inflate_raw(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        if info.compress_type == zipfile.ZIP_DEFLATED:
            z, pending = zlib.decompressobj(-15), self.packed(info.filename)
            while not z.eof:
                try:
                    data = z.decompress(pending, STREAM_CHUNK)
                except zlib.error:
                    raise self.damaged("bad_data", part=info.filename) from None
                pending = z.unconsumed_tail
                if not data and not pending:
                    break  # truncated stream: the size check reports it
                yield data
        else:
            yield self.packed(info.filename)

    def _check_entries(self) -> None:
        """One entry per name (which of two copies is real is unknowable), Office's compressions only."""
        seen: set[str] = set()
        for info in self._zip.infolist():
            if info.filename in seen:
                raise self.damaged("duplicate", part=info.filename)
            seen.add(info.filename)
            if info.compress_type not in METHODS:
                method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}.get(info.compress_type,
                                                                                   str(info.compress_type))
                raise self.damaged("compression", part=info.filename, method=method)

    def _check_sizes(self) -> None:
        found = size_problem(self.infos.values(), MAX_PART_BYTES, MAX_TOTAL_BYTES, MAX_RATIO)
        if found is None:
            return
        problem, info, _ = found
        if problem == "encrypted":
            raise UnsafePackageError(f"{self.name}: entry {info.filename} is encrypted")
        if problem == "too_large":
            raise UnsafePackageError(
                f"{self.name}: part {info.filename} is too large ({info.file_size:,} bytes uncompressed; "
                f"limits {MAX_PART_BYTES:,} per part, {MAX_TOTAL_BYTES:,} in all)")
        raise UnsafePackageError(
            f"{self.name}: part {info.filename} expands {expansion(info):.0f}x (limit {MAX_RATIO}x): possible zip bomb")


def size_problem(infos: Iterable[zipfile.ZipInfo], max_part: int, max_total: int,
                 max_ratio: int) -> tuple[str, zipfile.ZipInfo, int] | None:
    """The zip-bomb guard on declared sizes: the first entry that is encrypted, too large (alone or with the
    entries before it) or compressed suspiciously well, as ("encrypted" | "too_large" | "zip_bomb", entry,
    uncompressed total so far); None when every entry is within the limits."""
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            return "encrypted", info, total
        if info.file_size > max_part or total > max_total:
            return "too_large", info, total
        if info.file_size > RATIO_MIN_BYTES and expansion(info) > max_ratio:
            return "zip_bomb", info, total
    return None


def expansion(info: zipfile.ZipInfo) -> float:
    """Uncompressed / compressed size of an entry as declared."""
    return info.file_size / max(info.compress_size, 1)


def language_of(zf: zipfile.ZipFile | None) -> str:
    """zh-CN when the package's ledger sheet has its zh-CN name, en when it has another, else the
    environment's (LANG zh* -> zh-CN): damaged packages are spoken about in the language most likely."""
    try:
        info = zf.getinfo("xl/workbook.xml")
        if info.file_size < 1 << 20 and info.compress_type in METHODS:
            return "zh-CN" if ZH_LEDGER in zf.read(info) else "en"
    except Exception:  # noqa: BLE001 - a damaged workbook part: the environment decides
        pass
    return "zh-CN" if os.environ.get("LANG", "").lower().startswith("zh") else "en"


def pack(pieces: Iterable[str | bytes], stored: bool = False, level: int = COMPRESS_LEVEL) -> Packed:
    """A part given in pieces (text is written as UTF-8) packed as a zip entry holds it: deflated at ``level``,
    or stored."""
    z = None if stored else zlib.compressobj(level, zlib.DEFLATED, -15)
    packed: list[bytes] = []
    crc = size = 0
    for piece in pieces:
        data = piece.encode("utf-8") if isinstance(piece, str) else piece
        crc, size = zlib.crc32(data, crc), size + len(data)
        packed.append(data if z is None else z.compress(data))
    if z is not None:
        packed.append(z.flush())
    return zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED, b"".join(packed), crc, size


def new_entry(name: str, data: bytes) -> Entry:
    """An added part: deflated, with a fixed timestamp."""
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.external_attr = 0o600 << 16
    return (info, *pack([data]))


def repack(src: Archive, drop: Collection[str], edit: Callable[[str, Callable[[], Iterator[bytes]]], bytes | None],
           add: Mapping[str, bytes] | None = None) -> bytes:
    """A copy of the package without the ``drop`` parts and with the ``add`` parts at the end. ``edit(part,
    read)`` returns a part's new bytes, or None to keep it (``read()`` streams its current bytes); kept
    deflated parts are copied as compressed, never deflated again, and entries stay in their order."""
    entries: list[Entry] = []
    for name, info in src.infos.items():
        if name in drop:
            continue
        new = edit(name, lambda: src.inflate(name))
        if new is None and info.compress_type == zipfile.ZIP_DEFLATED:
            entries.append(src.kept(name))
        else:
            entries.append((info, *pack([src.read(name) if new is None else new])))
    entries += [new_entry(name, data) for name, data in (add or {}).items()]
    out = io.BytesIO()
    write_zip(out, entries)
    return out.getvalue()


def write_zip(fh: BinaryIO, entries: Iterable[Entry]) -> None:
    """Write zip entries; local and central headers are rebuilt, packed data is written as given."""
    central, offset, names = [], 0, set()
    for info, method, data, crc, size in entries:
        if info.filename in names:
            raise WorkbookError(f"duplicate zip entry {info.filename}")
        names.add(info.filename)
        try:
            name, flags = info.filename.encode("ascii"), 0
        except UnicodeEncodeError:
            name, flags = info.filename.encode("utf-8"), 0x800
        dtime, ddate = _dos_time(info.date_time)
        fields = (20, flags, method, dtime, ddate, crc, len(data), size, len(name))
        fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name)
        fh.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0,
                                   info.internal_attr, info.external_attr, offset) + name)
        offset += 30 + len(name) + len(data)
    directory = b"".join(central)
    if offset > 0xFFFFFFFF or len(central) > 0xFFFF:
        raise WorkbookError("package too large to write (zip64 is not supported)")
    fh.write(directory)
    fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), offset, 0))


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    y = max(y, 1980)
    return h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d
