"""A minimal, deterministic vbaProject.bin writer following [MS-OVBA] and [MS-CFB].

The project is written as source only: the ``_VBA_PROJECT`` stream carries version
0xFFFF and no performance cache, every MODULEOFFSET is 0, so Office compiles the
modules from their source on open (MS-OVBA 2.3.4.1), as xlwings' own
``quickstart_standalone.xlsm`` ships its xlwings module.

Public API: :class:`VbaModule`, :func:`build_vba_project`, :func:`workbook_modules`; reading back:
:func:`module_sources`, :func:`declared_xlwings_version`.
"""

from __future__ import annotations

import re
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..core.schema import TEMPLATES

ModuleKind = Literal["standard", "class", "document"]

CODE_PAGE = 1252
ENCODING = "cp1252"
VBA_TEMPLATES = TEMPLATES / "vba"

#: VB_Base of a workbook / worksheet document module and of a class module, as Excel writes them.
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"

#: (name, libid) of the registered type libraries the project references. These are the two an
#: Excel-authored project lists (VBA and Excel themselves are implicit), and the ones xlwings'
#: own add-in (addin/xlwings.xlam) lists; Office gives IRibbonControl/IRibbonUI.
REFERENCES: tuple[tuple[str, str], ...] = (
    ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
               "C:\\Windows\\System32\\stdole2.tlb#OLE Automation"),
    ("Office", "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
               "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL"
               "#Microsoft Office 16.0 Object Library"),
)

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")


class VbaBuildError(ValueError):
    """A module set that cannot be written as a VBA project."""


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class VbaModule:
    """One module as stored in the project: ``source`` holds the Attribute header and the code."""

    name: str
    kind: ModuleKind
    source: str

    @classmethod
    def from_bas(cls, text: str) -> VbaModule:
        """A standard module from the text of an exported .bas file."""
        source = _crlf(text)
        return cls(_vb_name(source), "standard", source)

    @classmethod
    def from_cls(cls, text: str) -> VbaModule:
        """A class module from an exported .cls file, with the header the VBE stores for it."""
        lines = _crlf(text).split("\r\n")
        if lines and lines[0].upper().startswith("VERSION "):  # drop VERSION / BEGIN ... END
            end = next(i for i, line in enumerate(lines) if line.strip().upper() == "END")
            lines = lines[end + 1:]
        attrs = [line for line in lines if line.startswith("Attribute VB_")]
        body = lines[len(attrs):] if lines[:len(attrs)] == attrs else lines
        have = {line.split("=")[0].split()[1] for line in attrs}
        header: list[str] = []
        for line in attrs:
            header.append(line)
            key = line.split("=")[0].split()[1]
            if key == "VB_Name" and "VB_Base" not in have:
                header.append(f'Attribute VB_Base = "{CLASS_BASE}"')
            if key == "VB_Exposed":
                header += [f"Attribute {k} = False" for k in ("VB_TemplateDerived", "VB_Customizable")
                           if k not in have]
        source = "\r\n".join(header + body)
        return cls(_vb_name(source), "class", source)

    @classmethod
    def document(cls, name: str, base: str = WORKSHEET_BASE, code: str = "") -> VbaModule:
        """A document module (ThisWorkbook or a sheet's codeName) with Excel's header."""
        header = (f'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = "{base}"\r\n'
                  "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
                  "Attribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\n"
                  "Attribute VB_TemplateDerived = False\r\nAttribute VB_Customizable = True\r\n")
        return cls(name, "document", header + _crlf(code))


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def _vb_name(source: str) -> str:
    found = re.match(r'Attribute VB_Name = "([^"]+)"', source)
    if not found:
        raise VbaBuildError("module source does not start with 'Attribute VB_Name = \"...\"'")
    return found.group(1)


# ---------------------------------------------------------------------------
# Assembling the workbook's modules
# ---------------------------------------------------------------------------

def _xlwings_files() -> tuple[Path, Path, str]:
    import xlwings  # the installed package is the source of truth for its VBA module

    root = Path(xlwings.__file__).parent
    return root / "xlwings.bas", root / "addin" / "Dictionary.cls", xlwings.__version__


def check_xlwings_version(bas_text: str, expected: str) -> None:
    """Raise VbaBuildError unless the module's ``'Version: X`` line says ``expected``."""
    found = re.search(r"^'Version:\s*(\S+)\s*$", bas_text, re.MULTILINE)
    if found is None:
        raise VbaBuildError("xlwings.bas has no 'Version: line")
    if found.group(1) != expected:
        raise VbaBuildError(f"xlwings.bas is version {found.group(1)} but the installed xlwings is "
                            f"{expected}: reinstall xlwings so the VBA module and the package match")


def _read(path: Path) -> str:
    return path.read_bytes().decode(ENCODING)


def workbook_modules(sheet_codenames: list[str], *, xlwings_bas: Path | None = None,
                     xlwings_version: str | None = None) -> list[VbaModule]:
    """ThisWorkbook and one document module per sheet codeName, the repo's templates/vba sources,
    and xlwings' module (+ its Mac Dictionary class) from the installed xlwings package.

    ``xlwings_bas``/``xlwings_version`` override the installed package (for tests).
    """
    bas, dictionary, version = _xlwings_files()
    bas = xlwings_bas or bas
    bas_text = _read(bas)
    check_xlwings_version(bas_text, xlwings_version or version)
    modules = [VbaModule.document("ThisWorkbook", WORKBOOK_BASE)]
    modules += [VbaModule.document(code) for code in sheet_codenames]
    modules += [VbaModule.from_bas(_read(p)) for p in sorted(VBA_TEMPLATES.glob("*.bas"))]
    modules += [VbaModule.from_cls(_read(p)) for p in sorted(VBA_TEMPLATES.glob("*.cls"))]
    modules += [VbaModule.from_bas(bas_text), VbaModule.from_cls(_read(dictionary))]
    return modules


# ---------------------------------------------------------------------------
# MS-OVBA 2.4.1 compression
# ---------------------------------------------------------------------------

def compress(data: bytes) -> bytes:
    """A CompressedContainer for ``data`` (deterministic)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        out += _compress_chunk(data[start:start + 4096])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    body = bytearray()
    heads: dict[bytes, list[int]] = {}  # 3-byte prefix -> earlier positions in the chunk
    i, n = 0, len(chunk)
    while i < n:
        flag_at, flags = len(body), 0
        body.append(0)
        for bit in range(8):
            if i >= n:
                break
            offset, length, bit_count = _match(chunk, i, heads.get(chunk[i:i + 3], []))
            step = length or 1
            for p in range(i, min(i + step, n - 2)):
                heads.setdefault(chunk[p:p + 3], []).append(p)
            if length:
                body += struct.pack("<H", ((offset - 1) << (16 - bit_count)) | (length - 3))
                flags |= 1 << bit
            else:
                body.append(chunk[i])
            i += step
        body[flag_at] = flags
    if len(body) <= 4096:
        return struct.pack("<H", 0xB000 | (len(body) - 1)) + bytes(body)  # size-3 incl. header
    if n == 4096:
        return struct.pack("<H", 0x3FFF) + chunk  # raw chunk
    raise VbaBuildError("incompressible partial chunk")  # cannot happen for text


def _match(chunk: bytes, i: int, candidates: list[int]) -> tuple[int, int, int]:
    """Longest earlier match at ``i`` (nearest wins ties), clamped to CopyTokenHelp's maximum."""
    bit_count = max(4, (i - 1).bit_length()) if i else 4
    max_len = (0xFFFF >> bit_count) + 3
    best_len, best_pos, n = 0, 0, len(chunk)
    for pos in reversed(candidates):
        length = 0
        while i + length < n and length < max_len and chunk[pos + length] == chunk[i + length]:
            length += 1
        if length > best_len:
            best_len, best_pos = length, pos
            if length == max_len:
                break
    if best_len < 3:
        return 0, 0, bit_count
    return i - best_pos, best_len, bit_count


def decompress(container: bytes) -> bytes:
    """Inverse of :func:`compress` for any CompressedContainer Office writes (MS-OVBA 2.4.1.3.1)."""
    if not container or container[0] != 1:
        raise VbaBuildError("not a compressed VBA container")
    out, pos = bytearray(), 1
    while pos + 2 <= len(container):
        header = struct.unpack_from("<H", container, pos)[0]
        end, pos, start = min(pos + (header & 0x0FFF) + 3, len(container)), pos + 2, len(out)
        if not header & 0x8000:  # a raw chunk: 4096 bytes as they are
            out += container[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags, pos = container[pos], pos + 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags & (1 << bit):
                    out.append(container[pos])
                    pos += 1
                    continue
                token, pos = struct.unpack_from("<H", container, pos)[0], pos + 2
                bit_count = max(4, (len(out) - start - 1).bit_length())
                offset, length = (token >> (16 - bit_count)) + 1, (token & (0xFFFF >> bit_count)) + 3
                for _ in range(length):  # may overlap its own output
                    out.append(out[-offset])
    return bytes(out)


# ---------------------------------------------------------------------------
# MS-OVBA 2.4.3 data encryption (CMG / DPB / GC), with a fixed seed for determinism
# ---------------------------------------------------------------------------

def encrypt(project_id: str, data: bytes, seed: int = 0x8D) -> str:
    """Hex of the encrypted ``data`` keyed by ``project_id`` (MS-OVBA 2.4.3.2)."""
    version, key = 2, sum(project_id.encode(ENCODING)) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ key])
    unencrypted1, encrypted1, encrypted2 = key, out[2], out[1]
    plain = bytes([0] * ((seed & 6) // 2)) + struct.pack("<I", len(data)) + data  # ignored + length + data
    for byte in plain:
        enc = byte ^ ((encrypted2 + unencrypted1) & 0xFF)
        out.append(enc)
        encrypted2, encrypted1, unencrypted1 = encrypted1, enc, byte
    return out.hex().upper()


def decrypt(hex_text: str) -> bytes:
    """Inverse of :func:`encrypt` (used by tests and the checker)."""
    raw = bytes.fromhex(hex_text)
    seed, key = raw[0], raw[2] ^ raw[0]
    unencrypted1, encrypted1, encrypted2 = key, raw[2], raw[1]
    plain = bytearray()
    for enc in raw[3:]:
        byte = enc ^ ((encrypted2 + unencrypted1) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted1 = encrypted1, enc, byte
    ignored = (seed & 6) // 2
    length = struct.unpack_from("<I", plain, ignored)[0]
    return bytes(plain[ignored + 4:ignored + 4 + length])


# ---------------------------------------------------------------------------
# Project streams
# ---------------------------------------------------------------------------

def _rec(rid: int, data: bytes = b"") -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _mbcs(text: str) -> bytes:
    try:
        return text.encode(ENCODING)
    except UnicodeEncodeError as exc:
        raise VbaBuildError(f"VBA text must be {ENCODING}-encodable (use ChrW for other "
                            f"characters): {text[max(0, exc.start - 20):exc.end + 20]!r}") from exc


def _dir_stream(modules: list[VbaModule]) -> bytes:
    """The decompressed ``dir`` stream (MS-OVBA 2.3.4.2)."""
    out = bytearray()
    out += _rec(0x0001, struct.pack("<I", 3))            # SYSKIND: 64-bit Windows, as xlwings' quickstart
    out += _rec(0x0002, struct.pack("<I", 0x0409))       # LCID
    out += _rec(0x0014, struct.pack("<I", 0x0409))       # LCIDINVOKE
    out += _rec(0x0003, struct.pack("<H", CODE_PAGE))    # CODEPAGE
    out += _rec(0x0004, b"VBAProject")                   # NAME
    out += _rec(0x0005) + _rec(0x0040)                   # DOCSTRING (+ unicode)
    out += _rec(0x0006) + _rec(0x003D)                   # HELPFILEPATH 1 and 2
    out += _rec(0x0007, struct.pack("<I", 0))            # HELPCONTEXT
    out += _rec(0x0008, struct.pack("<I", 0))            # LIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)         # VERSION (Reserved=4, major, minor)
    out += _rec(0x000C) + _rec(0x003C)                   # CONSTANTS (+ unicode)
    for name, libid in REFERENCES:
        out += _rec(0x0016, _mbcs(name)) + _rec(0x003E, name.encode("utf-16-le"))
        lib = _mbcs(libid)
        out += _rec(0x000D, struct.pack("<I", len(lib)) + lib + struct.pack("<IH", 0, 0))
    out += _rec(0x000F, struct.pack("<H", len(modules)))  # MODULES count
    out += _rec(0x0013, struct.pack("<H", 0xFFFF))        # PROJECTCOOKIE
    for m in modules:
        name, wide = _mbcs(m.name), m.name.encode("utf-16-le")
        out += _rec(0x0019, name) + _rec(0x0047, wide)    # NAME + NAMEUNICODE
        out += _rec(0x001A, name) + _rec(0x0032, wide)    # STREAMNAME (+ unicode)
        out += _rec(0x001C) + _rec(0x0048)                # DOCSTRING (+ unicode)
        out += _rec(0x0031, struct.pack("<I", 0))         # OFFSET: source starts at 0, no p-code
        out += _rec(0x001E, struct.pack("<I", 0))         # HELPCONTEXT
        out += _rec(0x002C, struct.pack("<H", 0xFFFF))    # COOKIE
        out += _rec(0x0021 if m.kind == "standard" else 0x0022)  # TYPE procedural / document+class
        out += _rec(0x002B)                               # module terminator
    out += _rec(0x0010)                                   # dir terminator (Reserved = 0)
    return bytes(out)


def _project_id(modules: list[VbaModule]) -> str:
    """A stable project GUID derived from the module names (same input, same bytes)."""
    key = "followup:" + ",".join(m.name for m in modules)
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, key)).upper() + "}"


def _project_stream(modules: list[VbaModule]) -> bytes:
    """The ``PROJECT`` stream (MS-OVBA 2.3.1): unprotected, visible, no password."""
    pid = _project_id(modules)
    keys = {"standard": "Module={}", "class": "Class={}", "document": "Document={}/&H00000000"}
    lines = [f'ID="{pid}"', *(keys[m.kind].format(m.name) for m in modules),
             'Name="VBAProject"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
             f'CMG="{encrypt(pid, bytes(4))}"', f'DPB="{encrypt(pid, bytes(1))}"',
             f'GC="{encrypt(pid, bytes([0xFF]))}"', "",
             "[Host Extender Info]", "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
             "", "[Workspace]", *(f"{m.name}=0, 0, 0, 0, C" for m in modules)]
    return _mbcs("\r\n".join(lines) + "\r\n")


def _projectwm_stream(modules: list[VbaModule]) -> bytes:
    """``PROJECTwm``: each module name in MBCS and UTF-16 (MS-OVBA 2.3.3)."""
    out = b"".join(_mbcs(m.name) + b"\x00" + m.name.encode("utf-16-le") + b"\x00\x00" for m in modules)
    return out + b"\x00\x00"


#: _VBA_PROJECT: Reserved1 0x61CC, Version 0xFFFF (cache must be ignored), Reserved2 0, Reserved3.
VBA_PROJECT_STREAM = bytes.fromhex("cc61ffff000100")


def _validate(modules: list[VbaModule]) -> None:
    seen: set[str] = set()
    for m in modules:
        if not _IDENT.match(m.name):
            raise VbaBuildError(f"invalid VBA module name {m.name!r}")
        if m.name.casefold() in seen or m.name.casefold() in {"dir", "_vba_project"}:
            raise VbaBuildError(f"duplicate or reserved module name {m.name!r}")
        seen.add(m.name.casefold())
        if _vb_name(m.source) != m.name:
            raise VbaBuildError(f"module {m.name!r} has VB_Name {_vb_name(m.source)!r}")


def build_vba_project(modules: list[VbaModule]) -> bytes:
    """The vbaProject.bin bytes for ``modules`` (deterministic)."""
    _validate(modules)
    vba = {"_VBA_PROJECT": VBA_PROJECT_STREAM, "dir": compress(_dir_stream(modules))}
    vba.update({m.name: compress(_mbcs(m.source)) for m in modules})
    tree: dict[str, bytes | dict[str, bytes]] = {
        "VBA": vba, "PROJECT": _project_stream(modules), "PROJECTwm": _projectwm_stream(modules)}
    return write_cfb(tree)


# ---------------------------------------------------------------------------
# MS-CFB writer: version 3, 512-byte sectors, 64-byte mini sectors, no timestamps
# ---------------------------------------------------------------------------

_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[int] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = 1  # black
    start: int = _END
    size: int = 0


def _flatten(tree: dict[str, bytes | dict[str, bytes]]) -> list[_Entry]:
    entries = [_Entry("Root Entry", 5, children=[])]

    def add(parent: int, items: dict) -> None:  # type: ignore[type-arg]
        for name, value in items.items():
            if len(name) > 31:
                raise VbaBuildError(f"CFB name too long: {name!r}")
            index = len(entries)
            if isinstance(value, dict):
                entries.append(_Entry(name, 1, children=[]))
                add(index, value)
            else:
                entries.append(_Entry(name, 2, data=value))
            entries[parent].children.append(index)  # type: ignore[union-attr]

    add(0, tree)
    for entry in entries:
        if entry.children:
            entry.child = _red_black(entries, entry.children)
    return entries


def _red_black(entries: list[_Entry], members: list[int]) -> int:
    """Link ``members`` as a balanced BST in CFB order; colour it as a valid red-black tree."""
    ordered = sorted(members, key=lambda i: (len(entries[i].name), entries[i].name.upper()))
    depth: dict[int, int] = {}

    def build(lo: int, hi: int, level: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        depth[node] = level
        entries[node].left = build(lo, mid, level + 1)
        entries[node].right = build(mid + 1, hi, level + 1)
        return node

    root = build(0, len(ordered), 0)
    deepest = max(depth.values())
    if len(ordered) != 2 ** (deepest + 1) - 1:  # last level incomplete: its nodes are red
        for node, level in depth.items():
            entries[node].color = 0 if level == deepest else 1
    return root


def _chain(fat: list[int], start: int, count: int) -> None:
    for k in range(count):
        fat[start + k] = start + k + 1 if k < count - 1 else _END


def _sectors(size: int, unit: int = _SECTOR) -> int:
    return -(-size // unit)


def write_cfb(tree: dict[str, bytes | dict[str, bytes]]) -> bytes:
    """A compound file holding ``tree`` (name -> stream bytes or sub-storage dict)."""
    entries = _flatten(tree)
    streams = [e for e in entries if e.kind == 2]
    small = [e for e in streams if len(e.data) < _CUTOFF]
    big = [e for e in streams if len(e.data) >= _CUTOFF]

    mini, minifat = bytearray(), []
    for e in small:
        e.start, e.size = (len(mini) // _MINI if e.data else _END), len(e.data)
        count = _sectors(len(e.data), _MINI)
        minifat += [len(minifat) + k + 1 if k < count - 1 else _END for k in range(count)]
        mini += e.data.ljust(count * _MINI, b"\x00")

    n_dir = _sectors(len(entries) * 128)
    n_minifat = _sectors(len(minifat) * 4)
    n_mini = _sectors(len(mini))
    n_big = [_sectors(len(e.data)) for e in big]
    other = n_dir + n_minifat + n_mini + sum(n_big)
    n_fat = 1
    while n_fat * 128 < other + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise VbaBuildError("project too large for a header-only DIFAT")

    fat = [_FREE] * (n_fat * 128)
    fat[:n_fat] = [_FATSECT] * n_fat
    at = n_fat
    dir_start = at
    _chain(fat, at, n_dir)
    at += n_dir
    minifat_start = at if n_minifat else _END
    _chain(fat, at, n_minifat)
    at += n_minifat
    root = entries[0]
    root.start, root.size = (at if n_mini else _END), len(mini)
    _chain(fat, at, n_mini)
    at += n_mini
    body = bytearray()
    for e, count in zip(big, n_big):
        e.start, e.size = at, len(e.data)
        _chain(fat, at, count)
        at += count
        body += e.data.ljust(count * _SECTOR, b"\x00")

    directory = b"".join(_dir_entry(e) for e in entries) + _empty_entry() * (n_dir * 4 - len(entries))
    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    minifat_bytes += struct.pack("<I", _FREE) * (n_minifat * 128 - len(minifat))

    difat = [*range(n_fat)] + [_FREE] * (109 - n_fat)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16),
                         0x003E, 3, 0xFFFE, 9, 6, bytes(6), 0, n_fat, dir_start, 0, _CUTOFF,
                         minifat_start, n_minifat, _END, 0)
    header += struct.pack("<109I", *difat)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return (header + fat_bytes + directory + minifat_bytes
            + bytes(mini).ljust(n_mini * _SECTOR, b"\x00") + bytes(body))


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le") + b"\x00\x00"
    return struct.pack("<64sHBBIII16sIQQIII", name, len(name), e.kind, e.color, e.left, e.right,
                       e.child, bytes(16), 0, 0, 0, e.start if e.kind != 1 else 0, e.size, 0)


def _empty_entry() -> bytes:
    return struct.pack("<64sHBBIII16sIQQIII", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM,
                       bytes(16), 0, 0, 0, 0, 0, 0)


# ---------------------------------------------------------------------------
# Reading a project back (any Office-saved vbaProject.bin, not only ours)
# ---------------------------------------------------------------------------

def _module_offsets(dir_stream: bytes) -> dict[str, int]:
    """Module stream name -> where its compressed source starts (MODULESTREAMNAME, MODULEOFFSET records)."""
    offsets: dict[str, int] = {}
    stream, pos = "", 0
    while pos + 6 <= len(dir_stream):
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        size = 6 if rid == 0x0009 else size  # PROJECTVERSION: its size field is a reserved 4, its data 6 bytes
        data, pos = dir_stream[pos + 6:pos + 6 + size], pos + 6 + size
        if rid == 0x001A:
            stream = data.decode(ENCODING, errors="replace")
        elif rid == 0x0031:
            offsets[stream] = struct.unpack("<I", data)[0]
    return offsets


def module_sources(vba_project: bytes) -> dict[str, str]:
    """Stream name -> source text of every module of a vbaProject.bin (Attribute lines included)."""
    import olefile  # only the doctor reads projects at run time

    with olefile.OleFileIO(vba_project) as ole:
        offsets = _module_offsets(decompress(ole.openstream("VBA/dir").read()))
        return {name: decompress(ole.openstream(f"VBA/{name}").read()[offset:]).decode(ENCODING, errors="replace")
                for name, offset in offsets.items() if ole.exists(f"VBA/{name}")}


#: The constant xlwings.bas declares its version in (``Public Const XLWINGS_VERSION As String = "0.37.8"``); its
#: RunPython, DLL name and AppleScript file name follow it.
_XLWINGS_CONSTANT = re.compile(r'^\s*Public\s+Const\s+XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', re.M | re.I)


def declared_xlwings_version(vba_project: bytes) -> str | None:
    """The xlwings version the project's xlwings module declares (``XLWINGS_VERSION``), None without one."""
    for source in module_sources(vba_project).values():
        if found := _XLWINGS_CONSTANT.search(source):
            return found.group(1)
    return None
