"""followup doctor: the file checks on real files here, the Windows and macOS checks on a stand-in of what they
read (paths that exist, environment, registry, the workbook's Zone.Identifier stream)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest
from typer.testing import CliRunner

from pyxl.book import layout as L
from pyxl.book.zipio import Archive, repack
from pyxl.build import vba
from pyxl.build.workbook import build_workbook
from pyxl.cli import app
from pyxl.core.i18n import texts
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


def _with_xlwings_module(book: Path, copy: Path, version: str) -> Path:
    """A copy of ``book`` whose VBA project carries xlwings.bas declaring ``version`` (as an older workbook does)."""
    import xlwings

    bas = (Path(xlwings.__file__).parent / "xlwings.bas").read_bytes().decode(vba.ENCODING)
    older = copy.with_suffix(".bas")
    older.write_bytes(bas.replace(xlwings.__version__, version).encode(vba.ENCODING))
    project = vba.build_vba_project(vba.workbook_modules(list(L.SHEETS), xlwings_bas=older, xlwings_version=version))
    swap = lambda name, read: project if name == "xl/vbaProject.bin" else None  # noqa: E731
    copy.write_bytes(repack(Archive(book.read_bytes(), book), (), swap))
    return copy


def test_xlwings_version_is_read_from_the_workbooks_vba_module(tmp_path, book):
    linux = System(platform="linux", xlwings_version="0.37.8")
    built = next(f for f in diagnose(book, linux) if f.check.startswith("xlwings version"))
    assert (built.verdict, built.detail) == (OK, "0.37.8")  # xlwings.bas: Public Const XLWINGS_VERSION = "0.37.8"
    older = _with_xlwings_module(book, tmp_path / "older.xlsm", "0.30.0")
    assert vba.declared_xlwings_version(Archive(older.read_bytes(), older).read("xl/vbaProject.bin")) == "0.30.0"
    found = next(f for f in diagnose(older, linux) if f.check.startswith("xlwings version"))
    assert found.verdict == FAIL and found.detail == "0.30.0 != 0.37.8"
    assert found.fix.startswith("pip install xlwings==0.30.0")


def test_a_workbook_without_the_xlwings_module_fails_the_version_check(tmp_path, book):
    bare = tmp_path / "bare.xlsm"
    drop_module = lambda name, read: (vba.build_vba_project(  # noqa: E731
        [m for m in vba.workbook_modules(list(L.SHEETS)) if m.name != "xlwings"]) if name == "xl/vbaProject.bin" else None)
    bare.write_bytes(repack(Archive(book.read_bytes(), book), (), drop_module))
    found = next(f for f in diagnose(bare, System(platform="linux")) if f.check.startswith("xlwings version"))
    assert found.verdict == FAIL and "no xlwings VBA module" in found.detail


def test_vba_sources_read_back_as_olevba_reads_them_from_an_excel_saved_project():
    """Excel stores compiled p-code before each module's source (MODULEOFFSET > 0): xlwings' own add-in."""
    import xlwings
    from oletools.olevba import VBA_Parser

    data = Archive((Path(xlwings.__file__).parent / "addin" / "xlwings.xlam").read_bytes(), "xlwings.xlam").read(
        "xl/vbaProject.bin")
    parser = VBA_Parser("vbaProject.bin", data=data)
    theirs = {stream.rsplit("/", 1)[-1]: code for _, stream, _, code in parser.extract_macros()}
    parser.close()
    mine = vba.module_sources(data)
    assert set(mine) == set(theirs) and len(mine) > 5
    assert all(mine[name].rstrip() == theirs[name].rstrip() for name in theirs)
    assert vba.declared_xlwings_version(data) == xlwings.__version__


def test_the_command_prints_the_report_and_exits_0_when_nothing_fails(book):
    run = subprocess.run([sys.executable, "-m", "pyxl.cli", "doctor", str(book), "--lang", "en"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "workbook readable" in run.stdout and "✔" in run.stdout and "skipped: no Excel on linux" in run.stdout


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_command_heads_its_table_in_the_language_asked(book, lang):
    result = CliRunner().invoke(app, ["doctor", str(book), "--lang", lang])
    assert result.exit_code == 0, result.output
    words = texts(lang)["doctor"]
    head = result.output.splitlines()[1]  # under the table's top border
    assert [cell.strip() for cell in head.strip("┃ ").split("┃")] == [words["column_check"], "", words["column_detail"]]
    assert words["workbook"] in result.output
    verdicts = {line.split("│")[2].strip() for line in result.output.splitlines() if line.count("│") >= 3}
    assert verdicts <= {"✔", "✘", "–", ""} and "✔" in verdicts and "–" in verdicts  # the message box's marks, no word
