"""``followup doctor BOOK``: what makes the Excel door fail on this computer, each finding with a one-line fix.

Every check reads the machine through ``System`` (paths, environment, the Windows registry, the workbook's
alternate data stream), so the Windows and macOS checks run in tests on a stand-in of what they read. On
Linux the Excel checks are skipped with the reason; the file checks run everywhere.
"""
from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePath, PureWindowsPath

from .book import opc
from .book.xlsx import WorkbookPackage
from .book.zipio import Archive
from .build.vba import declared_xlwings_version
from .core.i18n import text

OK, FAIL, SKIP = "ok", "FAIL", "skip"


@dataclass
class Finding:
    check: str
    verdict: str  # OK, FAIL or SKIP
    detail: str = ""
    fix: str = ""


def _registry_value(key: str, name: str) -> str | None:
    import winreg  # Windows only
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as handle:
            return str(winreg.QueryValueEx(handle, name)[0])
    except OSError:
        return None


def _stream(path: Path, name: str) -> str | None:
    """An NTFS alternate data stream of the file (``file:Zone.Identifier``), None when absent."""
    try:
        return Path(f"{path}:{name}").read_text(errors="replace")
    except OSError:
        return None


@dataclass
class System:
    """What the checks read; the defaults read this computer."""
    platform: str = sys.platform
    executable: str = sys.executable
    pointer_bits: int = struct.calcsize("P") * 8
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    home: Path = field(default_factory=Path.home)
    exists: Callable[[PurePath], bool] = Path.exists
    registry: Callable[[str, str], str | None] = _registry_value
    stream: Callable[[Path, str], str | None] = _stream
    xlwings_version: str = field(default_factory=lambda: metadata.version("xlwings"))

    @property
    def windows(self) -> bool:
        return self.platform.startswith("win")

    @property
    def mac(self) -> bool:
        return self.platform == "darwin"

    def path(self, text: str) -> PurePath:
        """A path of that system (a Windows path is understood on any OS)."""
        return PureWindowsPath(text) if self.windows else Path(text)


CLICK_TO_RUN = r"SOFTWARE\Microsoft\Office\ClickToRun\Configuration"


def diagnose(where: str | Path, system: System | None = None, lang: str = "en", *,
             in_excel: bool = False) -> list[Finding]:
    """Every check on the workbook at ``where`` (a path, or the URL Excel reports for a workbook opened from
    OneDrive/SharePoint); ``in_excel``: run from the workbook's own ribbon, where it is open by design."""
    book, s = Path(where), system or System()
    t = lambda name, **kw: text(lang, "doctor", name, **kw)  # noqa: E731
    web = "://" in str(where)  # no file to read: the local-path check below says what to do
    unread = lambda name: Finding(t(name), SKIP, t("web_address"))  # noqa: E731
    found = [unread("workbook") if web else _workbook(book, t),
             Finding(t("locked"), SKIP, t("locked_in_excel")) if in_excel else _locked(book, s, t),
             unread("xlwings") if web else _xlwings(book, s, t), _interpreter(book, s, t)]
    if s.windows:
        found += [_store_python(s, t), _bitness(s, t), _dll(s, t), _onedrive(str(where), s, t), _web_mark(book, s, t)]
    elif s.mac:
        found += [_applescript(s, t), _onedrive(str(where), s, t)]
    else:
        found.append(Finding(t("excel"), SKIP, t("no_excel", platform=s.platform)))
    return found


MARKS = {FAIL: "✘", OK: "✔", SKIP: "–"}


def message(findings: list[Finding], lang: str) -> str:
    """The report as plain text for a message box: the verdict, each failure with its fix, then the rest."""
    failed = [f for f in findings if f.verdict == FAIL]
    head = (text(lang, "doctor", "report_failed", failed=len(failed), total=len(findings)) if failed
            else text(lang, "doctor", "report_passed", total=len(findings)))
    lines = [head, ""]
    for f in failed:
        lines += [f"{MARKS[FAIL]} {f.check}" + (f": {f.detail}" if f.detail else ""), f"    → {f.fix}"]
    lines += [f"{MARKS[f.verdict]} {f.check}" + (f": {f.detail}" if f.verdict == SKIP else "")
              for f in findings if f.verdict != FAIL]
    return "\n".join(lines)


def _workbook(book: Path, t) -> Finding:
    try:
        WorkbookPackage.open(book).read_sheet_values("xlwings.conf")
    except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
        return Finding(t("workbook"), FAIL, str(exc), t("workbook_fix"))
    return Finding(t("workbook"), OK, str(book))


def _locked(book: Path, s: System, t) -> Finding:
    owner = book.with_name("~$" + book.name)
    if s.exists(owner):
        return Finding(t("locked"), FAIL, owner.name, t("locked_fix"))
    return Finding(t("locked"), OK)


def _xlwings(book: Path, s: System, t) -> Finding:
    """Excel runs the workbook's copy of xlwings.bas, which must match the installed package (its DLL, its
    AppleScript file and what RunPython hands over are named after that version)."""
    declared = _declared_xlwings(book)
    if declared is None:
        return Finding(t("xlwings"), FAIL, t("xlwings_missing"), t("workbook_fix"))
    if declared != s.xlwings_version:
        return Finding(t("xlwings"), FAIL, f"{declared} != {s.xlwings_version}", t("xlwings_fix", version=declared))
    return Finding(t("xlwings"), OK, declared)


def _declared_xlwings(book: Path) -> str | None:
    """The ``XLWINGS_VERSION`` the workbook's VBA project declares; None without one or when unreadable."""
    try:
        archive = Archive(book.read_bytes(), book)
        projects = opc.related(archive, opc.office_document(archive), "vbaProject")
        return declared_xlwings_version(archive.read(projects[0])) if projects else None
    except Exception:  # noqa: BLE001 - an unreadable workbook is reported by the workbook check
        return None


def _conf(book: Path) -> dict[str, object]:
    try:
        rows = WorkbookPackage.open(book).read_sheet_values("xlwings.conf")
    except Exception:  # noqa: BLE001 - reported by the workbook check
        return {}
    return {str(r[0]).strip().upper(): r[1] for r in rows if r and r[0]}


def _interpreter(book: Path, s: System, t) -> Finding:
    if not (s.windows or s.mac):
        return Finding(t("interpreter"), SKIP, t("no_excel", platform=s.platform))
    key = "INTERPRETER_WIN" if s.windows else "INTERPRETER_MAC"
    user = (s.home / ".xlwings" / "xlwings.conf" if s.windows
            else s.home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf")
    value = _conf(book).get(key) or _user_setting(user, key)
    if not value:
        return Finding(t("interpreter"), FAIL, t("interpreter_unset", setting=key), t("interpreter_fix"))
    path = s.path(os.path.expandvars(str(value).strip('"')))
    if not s.exists(path):
        return Finding(t("interpreter"), FAIL, str(path), t("interpreter_fix"))
    return Finding(t("interpreter"), OK, str(path))


def _user_setting(conf: Path, key: str) -> str | None:
    """xlwings' user config: lines ``"KEY","value"``."""
    try:
        lines = conf.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(",")
        if name.strip().strip('"').upper() == key:
            return value.strip().strip('"') or None
    return None


def _store_python(s: System, t) -> Finding:
    if "WindowsApps" in s.executable:
        return Finding(t("store_python"), FAIL, s.executable, t("store_python_fix"))
    return Finding(t("store_python"), OK, s.executable)


def _bitness(s: System, t) -> Finding:
    office = s.registry(CLICK_TO_RUN, "Platform")  # "x86" or "x64" (Click-to-Run installs)
    if office is None:
        return Finding(t("bitness"), SKIP, t("bitness_unknown"))
    office_bits = 64 if office.lower() == "x64" else 32
    if office_bits != s.pointer_bits:
        return Finding(t("bitness"), FAIL, f"Office {office_bits}-bit, Python {s.pointer_bits}-bit",
                       t("bitness_fix", bits=office_bits))
    return Finding(t("bitness"), OK, f"{office_bits}-bit")


def _dll(s: System, t) -> Finding:
    """xlwings.bas XLPyLoadDLL looks for the DLL beside python.exe, then one folder up (a virtualenv)."""
    name = f"xlwings{s.pointer_bits}-{s.xlwings_version}.dll"
    exe = s.path(s.executable)
    places = [exe.parent / name, exe.parent.parent / name]
    if not any(s.exists(p) for p in places):
        return Finding(t("dll"), FAIL, " / ".join(map(str, places)), t("dll_fix"))
    return Finding(t("dll"), OK, name)


def _onedrive(path: str, s: System, t) -> Finding:
    roots = [s.env[k] for k in ("OneDrive", "OneDriveConsumer", "OneDriveCommercial") if s.env.get(k)]
    roots.append(str(s.home / "Library" / "CloudStorage"))
    if "://" in path or any(path.lower().startswith(r.lower()) for r in roots):
        return Finding(t("onedrive"), FAIL, path, t("onedrive_fix"))
    return Finding(t("onedrive"), OK)


def _web_mark(book: Path, s: System, t) -> Finding:
    zone = s.stream(book, "Zone.Identifier")
    if zone and any(line.strip() in ("ZoneId=3", "ZoneId=4") for line in zone.splitlines()):
        return Finding(t("web_mark"), FAIL, "Zone.Identifier", t("web_mark_fix"))
    return Finding(t("web_mark"), OK)


def _applescript(s: System, t) -> Finding:
    script = (s.home / "Library" / "Application Scripts" / "com.microsoft.Excel"
              / f"xlwings-{s.xlwings_version}.applescript")
    if not s.exists(script):
        return Finding(t("applescript"), FAIL, str(script), t("applescript_fix"))
    return Finding(t("applescript"), OK, script.name)
