"""followup doctor: the file checks on real files here, the Windows and macOS checks on a stand-in of what they
read (paths that exist, environment, registry, the workbook's Zone.Identifier stream)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

from pyxl.build.workbook import build_workbook
from pyxl.doctor import FAIL, OK, SKIP, System, diagnose

REPO = Path(__file__).resolve().parents[1]
PYTHON_WIN = r"C:\Python311\python.exe"


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("doctor") / "team.xlsm")


def _verdicts(found) -> dict[str, str]:
    return {f.check: f.verdict for f in found}


def windows(tmp_path: Path, *, files=(), registry=None, zone=None, executable=PYTHON_WIN, env=None) -> System:
    """A Windows PC as the checks see it: which files exist, Office's registry value, the workbook's stream."""
    home = tmp_path / "home"
    (home / ".xlwings").mkdir(parents=True, exist_ok=True)
    (home / ".xlwings" / "xlwings.conf").write_text(f'"INTERPRETER_WIN","{executable}"\n')
    present = {str(PureWindowsPath(f)) for f in files}
    return System(platform="win32", executable=executable, pointer_bits=64, env=env or {}, home=home,
                  exists=lambda p: str(p) in present or (Path(p).exists() and "~$" in str(p)),
                  registry=lambda key, name: (registry or {}).get(name), stream=lambda path, name: zone,
                  xlwings_version="0.37.8")


def test_file_checks_on_linux_and_the_excel_ones_skipped_with_the_reason(book):
    found = diagnose(book, System(platform="linux"))
    verdicts = _verdicts(found)
    assert verdicts["workbook readable"] == OK and verdicts["workbook not open in Excel"] == OK
    assert verdicts["Excel checks"] == SKIP and "linux" in found[-1].detail


def test_an_open_workbook_and_an_unreadable_one_fail_with_a_fix(tmp_path, book):
    copy = shutil.copy(book, tmp_path / "team.xlsm")
    (tmp_path / "~$team.xlsm").write_bytes(b"owner")
    broken = tmp_path / "broken.xlsm"
    broken.write_bytes(b"not a zip")
    locked = next(f for f in diagnose(Path(copy), System(platform="linux")) if f.check == "workbook not open in Excel")
    assert locked.verdict == FAIL and "Close the workbook" in locked.fix
    unreadable = diagnose(broken, System(platform="linux"))[0]
    assert unreadable.verdict == FAIL and "build-workbook" in unreadable.fix


def test_a_sound_windows_pc_passes_every_check(tmp_path, book):
    pc = windows(tmp_path, files=[PYTHON_WIN, r"C:\Python311\xlwings64-0.37.8.dll"], registry={"Platform": "x64"},
                 zone=None)
    assert set(_verdicts(diagnose(book, pc)).values()) == {OK}


def test_windows_failures_each_with_its_fix(tmp_path, book):
    store = r"C:\Users\a\AppData\Local\Microsoft\WindowsApps\python.exe"
    pc = windows(tmp_path, files=[store], registry={"Platform": "x86"}, executable=store,
                 zone="[ZoneTransfer]\nZoneId=3\n", env={"OneDrive": str(book.parent)})
    found = {f.check: f for f in diagnose(book, pc)}
    assert found["not the Microsoft Store Python"].verdict == FAIL
    assert found["Office and Python bitness match"].verdict == FAIL and "32-bit" in found[
        "Office and Python bitness match"].fix
    assert found["xlwings DLL present"].verdict == FAIL and "antivirus" in found["xlwings DLL present"].fix
    assert found["no Mark of the Web"].verdict == FAIL and "Unblock" in found["no Mark of the Web"].fix
    assert found["workbook on a local path"].verdict == FAIL
    assert found["Python the workbook starts"].verdict == OK  # the Store Python exists: it is found


def test_an_interpreter_set_nowhere_or_missing_fails(tmp_path, book):
    pc = windows(tmp_path, files=[], registry={"Platform": "x64"})
    assert _verdicts(diagnose(book, pc))["Python the workbook starts"] == FAIL  # set, but no such file
    (pc.home / ".xlwings" / "xlwings.conf").write_text('"CONDA PATH",""\n')
    interpreter = next(f for f in diagnose(book, pc) if f.check == "Python the workbook starts")
    assert interpreter.verdict == FAIL and "INTERPRETER_WIN" in interpreter.detail


def test_macos_needs_the_applescript_file(tmp_path, book):
    home = tmp_path / "home"
    script = home / "Library" / "Application Scripts" / "com.microsoft.Excel" / "xlwings-0.37.8.applescript"
    conf = home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('"INTERPRETER_MAC","/usr/local/bin/python3"\n')
    mac = lambda present: System(platform="darwin", home=home, xlwings_version="0.37.8",  # noqa: E731
                                 exists=lambda p: str(p) in present)
    missing = _verdicts(diagnose(book, mac({"/usr/local/bin/python3"})))
    assert missing["xlwings AppleScript installed"] == FAIL and missing["Python the workbook starts"] == OK
    installed = _verdicts(diagnose(book, mac({"/usr/local/bin/python3", str(script)})))
    assert installed["xlwings AppleScript installed"] == OK


def test_the_command_prints_the_report_and_exits_0_when_nothing_fails(book):
    run = subprocess.run([sys.executable, "-m", "pyxl.cli", "doctor", str(book), "--lang", "en"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "workbook readable" in run.stdout and "skip" in run.stdout
