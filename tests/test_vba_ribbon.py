"""vbaProject writer, ribbon parts and the structural checker (pyxl.build.vba/ribbon/structure)."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import struct
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import olefile
import openpyxl
import pytest
import xlsxwriter
import xlwings
from oletools.olevba import VBA_Parser, decompress_stream, filter_vba

from pyxl.book import zipio
from pyxl.build import ribbon, vba
from pyxl.build.structure import check_workbook

CODENAMES = ["shCustomers", "shContacts", "shRules", "shSettings", "shAgenda", "shPlan", "shChecks",
             "shDashboard", "shStyles", "shForm", "shXlwingsConf"]
CALLBACKS = {"FU_Refresh", "FU_WeeklyPlan", "FU_CheckTiers", "FU_LogContact", "FU_NewIds",
             "FU_ManagerCopy", "FU_EndOfDay", "FU_ImportUdfs", "FU_Help", "FU_RestartPython", "FU_Doctor"}
XLWINGS_DIR = Path(xlwings.__file__).parent
RIBBON_BAS = vba.VBA_TEMPLATES / "FollowupRibbon.bas"


def build_package(lang: str = "en", modules: list[vba.VbaModule] | None = None,
                  codenames: list[str] = CODENAMES) -> bytes:
    """A small real .xlsm: XlsxWriter + our vbaProject + our ribbon."""
    data = vba.build_vba_project(modules if modules is not None else vba.workbook_modules(codenames))
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({"created": dt.datetime(2024, 1, 1)})
    book.set_vba_name("ThisWorkbook")
    for code in codenames:
        sheet = book.add_worksheet("xlwings.conf" if code == "shXlwingsConf" else code[2:])
        sheet.set_vba_name(code)
    book.define_name("FU_LANG", f'="{lang}"')
    book.add_vba_project(io.BytesIO(data), is_stream=True)
    book.close()
    return ribbon.add_custom_ui(out.getvalue(), lang)


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "followup.xlsm"
    path.write_bytes(build_package())
    return path


def _write(tmp_path: Path, data: bytes, name: str = "x.xlsm") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _replace(package: bytes, edits: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edits.get(info.filename, zin.read(info)))
    return out.getvalue()


def _olevba(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n")


# --- the whole workbook ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_built_workbook_passes_checker(tmp_path: Path, lang: str) -> None:
    assert check_workbook(_write(tmp_path, build_package(lang))) == []


def test_olevba_extracts_every_module_as_written(xlsm: Path) -> None:
    modules = vba.workbook_modules(CODENAMES)
    extracted = _olevba(xlsm)
    assert sorted(extracted) == sorted(m.name for m in modules)
    for module in modules:
        assert _lf(extracted[module.name]) == _lf(module.source), module.name


def test_module_code_equals_repo_and_xlwings_sources(xlsm: Path) -> None:
    extracted = {name: _lf(filter_vba(code)) for name, code in _olevba(xlsm).items()}
    for path in vba.VBA_TEMPLATES.glob("*.bas"):
        text = path.read_text("cp1252")
        name = re.match(r'Attribute VB_Name = "(\w+)"', text).group(1)  # type: ignore[union-attr]
        assert extracted[name] == _lf(filter_vba(text.replace("\r\n", "\n")))
    bas = (XLWINGS_DIR / "xlwings.bas").read_text("cp1252").replace("\r\n", "\n")
    assert extracted["xlwings"] == _lf(filter_vba(bas))
    cls = (XLWINGS_DIR / "addin" / "Dictionary.cls").read_text("cp1252").replace("\r\n", "\n")
    body = cls.split("\nEND\n", 1)[1]  # after VERSION 1.0 CLASS / BEGIN ... END
    assert extracted["Dictionary"] == _lf(filter_vba(body))
    for code in ["ThisWorkbook", *CODENAMES]:
        assert extracted[code] == ""


def test_build_is_deterministic() -> None:
    modules = vba.workbook_modules(CODENAMES)
    assert vba.build_vba_project(modules) == vba.build_vba_project(vba.workbook_modules(CODENAMES))
    assert build_package("zh-CN") == build_package("zh-CN")


def test_openpyxl_opens_with_vba(xlsm: Path) -> None:
    book = openpyxl.load_workbook(xlsm, keep_vba=True)
    assert book.sheetnames[0] == "Customers"
    assert "xl/vbaProject.bin" in book.vba_archive.namelist()
    assert book["Form"].sheet_properties.codeName == "shForm"


# --- xlwings module --------------------------------------------------------------------------

def test_xlwings_version_mismatch_raises(tmp_path: Path) -> None:
    text = (XLWINGS_DIR / "xlwings.bas").read_text("cp1252")
    fake = _write(tmp_path, text.replace(f"'Version: {xlwings.__version__}", "'Version: 0.0.1").encode(), "x.bas")
    with pytest.raises(vba.VbaBuildError, match="0.0.1"):
        vba.workbook_modules(CODENAMES, xlwings_bas=fake)
    with pytest.raises(vba.VbaBuildError):
        vba.check_xlwings_version("Attribute VB_Name = \"xlwings\"\n", xlwings.__version__)
    vba.check_xlwings_version(text, xlwings.__version__)


# --- the checker can fail --------------------------------------------------------------------

def test_checker_flags_onaction_without_sub(tmp_path: Path) -> None:
    package = build_package()
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        ui = zf.read(ribbon.PART_2009).decode()
    ui = ui.replace('onAction="FU_Help"', 'onAction="FU_Missing"')
    problems = check_workbook(_write(tmp_path, _replace(package, {ribbon.PART_2009: ui.encode()})))
    assert any("FU_Missing" in p for p in problems)


def test_checker_flags_broken_parts(tmp_path: Path) -> None:
    package = build_package()
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        types = zf.read("[Content_Types].xml").decode()
    xlsx_types = types.replace("ms-excel.sheet.macroEnabled.main+xml",
                               "openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
    problems = check_workbook(_write(tmp_path, _replace(package, {"[Content_Types].xml": xlsx_types.encode()})))
    assert any("content type" in p for p in problems)
    broken_ui = _replace(package, {ribbon.PART_2006: b"<customUI"})
    assert any("well-formed" in p for p in check_workbook(_write(tmp_path, broken_ui)))
    no_ui = _write(tmp_path, build_package_without_ribbon())
    assert any("ui/extensibility" in p for p in check_workbook(no_ui))


def build_package_without_ribbon() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.add_worksheet().set_vba_name("shCustomers")
    book.add_vba_project(io.BytesIO(vba.build_vba_project(vba.workbook_modules(["shCustomers"]))),
                         is_stream=True)
    book.close()
    return out.getvalue()


def test_checker_flags_missing_document_module_and_wrong_xlwings(tmp_path: Path) -> None:
    modules = [m for m in vba.workbook_modules(CODENAMES) if m.name != "shForm"]
    problems = check_workbook(_write(tmp_path, build_package(modules=modules)))
    assert problems == ["codeName 'shForm' has no document module"]
    text = (XLWINGS_DIR / "xlwings.bas").read_text("cp1252")
    fake = _write(tmp_path, text.replace(f"'Version: {xlwings.__version__}", "'Version: 0.0.1").encode(), "x.bas")
    old = vba.workbook_modules(CODENAMES, xlwings_bas=fake, xlwings_version="0.0.1")
    problems = check_workbook(_write(tmp_path, build_package(modules=old)))
    assert any("0.0.1" in p for p in problems)


# --- ribbon ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_ribbon_parts(lang: str) -> None:
    labels = ribbon.ribbon_labels(lang)
    for namespace in (ribbon.NS_2006, ribbon.NS_2009):
        root = ET.fromstring(ribbon.render_custom_ui(lang, namespace))
        assert root.tag == f"{{{namespace}}}customUI"
        tabs = root.findall(f".//{{{namespace}}}tab")
        groups = root.findall(f".//{{{namespace}}}group")
        buttons = root.findall(f".//{{{namespace}}}button")
        assert len(tabs) == 1 and tabs[0].get("label") == labels["tab"]
        assert [g.get("label") for g in groups] == [labels["group_daily"], labels["group_tools"], labels["group_help"]]
        assert {b.get("onAction") for b in buttons} == CALLBACKS and len(buttons) == 11
        assert all(b.get("size") == "large" and b.get("imageMso") and b.get("supertip") for b in buttons)
        assert buttons[0].get("label") == labels["refresh"] and buttons[0].get("supertip") == labels["refresh_tip"]


def test_ribbon_labels_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    nasty = 'A & <B> "C"'
    real = ribbon.ribbon_labels
    monkeypatch.setattr(ribbon, "ribbon_labels", lambda lang: real(lang) | {"refresh": nasty})
    root = ET.fromstring(ribbon.render_custom_ui("en"))
    assert root.find(f".//{{{ribbon.NS_2009}}}button").get("label") == nasty  # type: ignore[union-attr]


def test_callbacks_match_vba_sources() -> None:
    text = RIBBON_BAS.read_text("cp1252")
    subs = set(re.findall(r"^Public Sub (FU_\w+)\(control As IRibbonControl\)", text, re.M))
    assert subs == CALLBACKS


def test_add_custom_ui_keeps_other_entries(tmp_path: Path) -> None:
    package = build_package()
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        plain = _replace(package, {n: zf.read(n) for n in zf.namelist()})
    again = ribbon.add_custom_ui(package, "zh-CN")  # replaces, does not duplicate
    with zipfile.ZipFile(io.BytesIO(package)) as before, zipfile.ZipFile(io.BytesIO(again)) as after:
        names = before.namelist()
        assert after.namelist() == names
        for name in names:
            if name not in ("_rels/.rels", ribbon.PART_2006, ribbon.PART_2009):
                assert after.read(name) == before.read(name)
        assert all(i.date_time == zipio.FIXED_DATE and i.compress_type == zipfile.ZIP_DEFLATED
                   for i in after.infolist())
        rels = after.read("_rels/.rels").decode()
        assert rels.count("ui/extensibility") == 2
    assert plain  # the input itself stays readable


# --- vbaProject internals --------------------------------------------------------------------

def _records(raw: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(raw):
        rid, size = struct.unpack_from("<HI", raw, i)
        if rid == 0x0009:  # PROJECTVERSION: Size is 4 but 6 bytes follow
            size = 6
        out.append((rid, raw[i + 6:i + 6 + size]))
        i += 6 + size
    return out


def test_project_streams() -> None:
    data = vba.build_vba_project(vba.workbook_modules(CODENAMES))
    ole = olefile.OleFileIO(data)
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("cc61ffff000100")  # version 0xFFFF
    records = _records(bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read()))))
    libids = [body for rid, body in records if rid == 0x000D]
    assert any(b"{00020430-0000-0000-C000-000000000046}" in b for b in libids)  # stdole
    assert any(b"{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in b for b in libids)  # Office
    assert {body for rid, body in records if rid == 0x0031} == {bytes(4)}  # every MODULEOFFSET is 0
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert "Document=shForm/&H00000000" in project and "Module=FollowupRibbon" in project
    values = dict(re.findall(r'^(CMG|DPB|GC)="([0-9A-F]+)"', project, re.M))
    assert vba.decrypt(values["CMG"]) == bytes(4) and vba.decrypt(values["DPB"]) == b"\x00"
    assert vba.decrypt(values["GC"]) == b"\xff"


def test_references_cover_xlwings_quickstart() -> None:
    """Our references are xlwings' own, bar MSForms (a control reference xlwings.bas does not use)."""
    with zipfile.ZipFile(XLWINGS_DIR / "quickstart_standalone.xlsm") as zf:
        ole = olefile.OleFileIO(zf.read("xl/vbaProject.bin"))
    raw = bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
    theirs = set(re.findall(rb"\{[0-9A-F-]{36}\}", raw)) - {b"{0D452EE1-E08F-101A-852E-02608C4D0BB4}",
                                                             b"{25A06F1F-CB74-4EA9-99E8-704B89FB01D7}",
                                                             b"{00000000-0000-0000-0000-000000000000}"}
    ours = {re.search(r"\{[0-9A-F-]{36}\}", libid).group().encode() for _, libid in vba.REFERENCES}  # type: ignore[union-attr]
    assert theirs <= ours
    assert not re.search(r"\bMSForms\.", (XLWINGS_DIR / "xlwings.bas").read_text("cp1252"))


def _cfb_dir(data: bytes) -> list[tuple[str, int, int, int, int, int]]:
    """(name, type, color, left, right, child) of every directory entry (unused ones empty)."""
    ole = olefile.OleFileIO(data)
    return [(e.name, e.entry_type, e.color, e.sid_left, e.sid_right, e.sid_child) if e else ("", 0, 1, 0, 0, 0)
            for e in ole.direntries]


@pytest.mark.parametrize("sheets", range(0, len(CODENAMES) + 1))
def test_cfb_directory_is_a_valid_red_black_tree(sheets: int) -> None:
    entries = _cfb_dir(vba.build_vba_project(vba.workbook_modules(CODENAMES[:sheets])))
    nil = 0xFFFFFFFF

    def key(i: int) -> tuple[int, str]:
        return len(entries[i][0]), entries[i][0].upper()

    def walk(i: int, lo: tuple | None, hi: tuple | None) -> int:  # returns black height
        if i == nil:
            return 1
        name, _, color, left, right, _ = entries[i]
        assert (lo is None or lo < key(i)) and (hi is None or key(i) < hi), name
        if color == 0:  # red: children black
            assert all(c == nil or entries[c][2] == 1 for c in (left, right))
        lh, rh = walk(left, lo, key(i)), walk(right, key(i), hi)
        assert lh == rh, name
        return lh + color

    storages = [e for e in entries if e[1] in (1, 5)]
    assert len(storages) == 2
    for storage in storages:
        assert entries[storage[5]][2] == 1  # root of each tree is black
        walk(storage[5], None, None)
    # Root, VBA, _VBA_PROJECT, dir, one stream per module, PROJECT, PROJECTwm: all reachable.
    assert sum(1 for e in entries if e[1]) == 6 + len(vba.workbook_modules(CODENAMES[:sheets]))


@pytest.mark.parametrize("size", [0, 1, 3, 100, 4095, 4096, 4097, 9000, 20000])
def test_compression_round_trips(size: int) -> None:
    rng = random.Random(size)
    words = [b"Dim ", b"As String", b"\r\n", b"    ", b"End Sub", b"x", b"RunPython "]
    data = b"".join(rng.choice(words) for _ in range(size))[:size]
    assert bytes(decompress_stream(bytearray(vba.compress(data)))) == data


def test_vba_module_sources_are_safe() -> None:
    text = RIBBON_BAS.read_text("cp1252")
    assert text.isascii() and "Option Explicit" in text
    # RunPython only ever gets one literal string: user input never reaches Python code.
    code = [line for line in text.splitlines() if "RunPython" in line and not line.lstrip().startswith("'")]
    calls = [re.search(r"\bRunPython[ (](.*?)\)?$", line).group(1) for line in code]  # RunPython "..." or (...)
    assert calls and all(re.fullmatch(r'"import pyxl\.macros as m; m\.\w+\(\)"', c) for c in calls)
    with pytest.raises(vba.VbaBuildError):
        vba.build_vba_project([vba.VbaModule.document("shA"), vba.VbaModule.document("SHA")])
    with pytest.raises(vba.VbaBuildError, match="cp1252"):
        vba.build_vba_project([vba.VbaModule.from_bas('Attribute VB_Name = "M"\n\' \u4e2d')])


def test_xlwings_conf_sheet_has_no_empty_rows_that_would_override_the_users_config(tmp_path):
    """xlwings.bas GetConfig: a key present on the xlwings.conf sheet wins even when its value is empty, so
    an empty Interpreter_Mac row would make RunPython run plain "python" instead of the user's setting."""
    from pyxl.book.xlsx import WorkbookPackage
    from pyxl.build.workbook import build_workbook

    rows = WorkbookPackage.open(build_workbook(tmp_path / "b.xlsm")).read_sheet_values("xlwings.conf")
    settings = {r[0]: r[1] for r in rows if r and r[0]}
    assert settings == {"UDF Modules": "pyxl.udfs", "ADD_WORKBOOK_TO_PYTHONPATH": True, "Use UDF Server": True}
    keys = [r[0] for r in rows]
    assert keys[: len(settings)] == list(settings)  # contiguous from A1: GetConfigFromSheet reads A1.End(xlDown)


def test_the_smoke_test_presses_every_ribbon_entry_point():
    """pyxl.smoketest drives each pyxl.macros entry point the ribbon's VBA calls through RunPython."""
    import inspect

    from pyxl import macros, smoketest

    vba = (Path(__file__).resolve().parents[1] / "templates" / "vba" / "FollowupRibbon.bas").read_text()
    called = set(re.findall(r"m\.(\w+)\(\)", vba))
    entry_points = {n for n, f in inspect.getmembers(macros, inspect.isfunction)
                    if f.__module__ == macros.__name__ and not n.startswith("_") and n != "selected_customer"}
    assert called == entry_points
    assert called <= set(re.findall(r"macros\.(\w+)\b", inspect.getsource(smoketest)))


def test_ribbon_uses_excel_icons_hides_import_functions_on_mac_and_survives_outlook_without_profile():
    root = Path(__file__).resolve().parents[1]
    ui = (root / "templates" / "ribbon" / "customUI.xml").read_text()
    vba = (root / "templates" / "vba" / "FollowupRibbon.bas").read_text()
    assert not {"ContactPictureMenu", "CreateReport", "AcceptInvitation"} & set(re.findall(r'imageMso="(\w+)"', ui))
    assert re.search(r'id="fuImportUdfs"[^>]*getVisible="FU_WindowsOnly"', ui)
    assert re.search(r'id="fuRestartPython"[^>]*getVisible="FU_WindowsOnly"', ui)
    restart = vba[vba.index("Public Sub FU_RestartPython"):]
    assert restart.index("KillPy") < restart.index('XLPy.Exec ""') < restart.index("End Sub")
    visible = vba[vba.index("Public Sub FU_WindowsOnly(control As IRibbonControl, ByRef visible)"):]
    assert visible.index("#If Mac Then\n    visible = False") < visible.index("End Sub")
    mail = vba[vba.index("Private Sub DraftMail"):]
    assert mail.index("On Error GoTo NoMail") < mail.index("outlook.CreateItem") < mail.index("NoMail:")


def test_the_help_group_has_a_doctor_button_that_says_what_to_do_when_python_cannot_start():
    root = ET.fromstring(ribbon.render_custom_ui("en"))
    group = root.find(f".//{{{ribbon.NS_2009}}}group[@id='fuHelpGroup']")
    assert group is not None and group.get("label") == "Help"
    assert [b.get("onAction") for b in group] == ["FU_Help", "FU_Doctor"]
    assert ET.fromstring(ribbon.render_custom_ui("zh-CN")).find(
        f".//{{{ribbon.NS_2009}}}button[@id='fuDoctor']").get("label") == "\u8bca\u65ad"  # 诊断
    text = RIBBON_BAS.read_text("cp1252").replace("\r\n", "\n")
    sub = text[text.index("Public Sub FU_Doctor"):]
    sub = sub[:sub.index("End Sub")]
    # RunPython raises (UDF server: XLPy cannot load the DLL or start Python) or returns a non-zero exit code
    assert sub.index("On Error GoTo NoPython") < sub.index("RunPython(") < sub.index("If status = 0 Then Exit Sub")
    assert sub.index("NoPython:") < sub.index('"followup doctor ""') and 'Msg("no_python")' in sub
    assert 'Case "no_python": Msg = U(' in text and 'Case "no_python": Msg = "Python did not start' in text
