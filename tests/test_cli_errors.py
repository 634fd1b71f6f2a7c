"""The command's refusals on real workbooks: the documented exit code, one line in the workbook's language,
and the file untouched."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pyxl import actions
from pyxl.cli import app, help_language
from pyxl.core.i18n import texts
from pyxl.core.errors import BUSY, INTERNAL, REFUSED

from conftest import TODAY

runner = CliRunner()
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def en_workbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("en") / "team.xlsm"
    assert runner.invoke(app, ["demo", str(path), "--customers", "20", "--lang", "en",
                               "--today", TODAY.isoformat()]).exit_code == 0
    return path


@pytest.fixture
def en_book(en_workbook: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(en_workbook, tmp_path / "team.xlsm"))


def _refused(args: list[str], book: Path | None, code: int = REFUSED) -> str:
    """Run the command; assert the exit code, one line on stderr, no traceback and the book's bytes kept."""
    before = book.read_bytes() if book else None
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("followup: "), result.stderr
    assert "Traceback" not in result.output
    if book is not None:
        assert book.read_bytes() == before, "a refused command changed the workbook"
        assert not book.with_name(book.name + ".bak").exists()
    return lines[0]


def _chinese(line: str) -> bool:
    return bool(HAN.search(line))


BAD_ARGUMENTS = [
    (["refresh", "{book}", "--today", "2026-13-01"], "2026-13-01"),
    (["check", "{book}", "--today", "yesterday"], "yesterday"),
    (["plan", "{book}", "--ics-per", "nonsense"], "nonsense"),
    (["plan", "{book}", "--week", "week 48"], "week 48"),
    (["log", "{book}", "--id", "JRN01001", "--agreed", "soon"], "soon"),
    (["log", "{book}", "--id", "JRN01001", "--tier", "Z"], "Z"),
    (["log", "{book}", "--id", "JRN01001", "--channel", "fax"], "fax"),
    (["log", "{book}", "--id", "JRN01001", "--outcome", "whatever"], "whatever"),
    (["log", "{book}", "--id", "JRN01001", "--event", "party"], "party"),
    (["log", "{book}", "--id", "JRN01001", "--step", "Dance lesson"], "Dance lesson"),
    (["log", "{book}", "--id", "NOPE1"], "NOPE1"),
    (["import", "{other}", "--into", "{book}", "--kind", "people"], "people"),
    (["rollup", "{book}", "-o", "{out}", "--workers", "0"], "--workers"),
]


@pytest.mark.parametrize(("args", "named"), BAD_ARGUMENTS, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_bad_argument_is_one_line_in_the_workbooks_language(args, named, lang, demo_book, en_book, tmp_path):
    book = demo_book if lang == "zh-CN" else en_book
    other = tmp_path / "calls.csv"
    other.write_text("Customer,Phone\nA,13800000000\n", encoding="utf-8")
    line = _refused([a.format(book=book, other=other, out=tmp_path / "team.xlsx") for a in args], book)
    assert named in line
    assert _chinese(line) == (lang == "zh-CN"), line
    assert not (tmp_path / "team.xlsx").exists()


def test_log_names_the_workbooks_own_tiers_and_steps(en_book):
    line = _refused(["log", en_book, "--id", "JRN01001", "--tier", "Z"], en_book)
    assert "Rules" in line and "3K" in line
    line = _refused(["log", en_book, "--id", "JRN01001", "--step", "Dance lesson"], en_book)
    assert "Sequences" in line


def test_log_accepts_a_tier_by_its_alias(demo_book):
    result = runner.invoke(app, ["log", str(demo_book), "--id", "JRN01001", "--tier", "3k",
                                 "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "named"), [
    (["demo", "{new}", "--customers", "0"], "--customers"),
    (["new", "{new}", "--lang", "fr"], "fr"),
    (["new", "{new}", "--preset", "xyz"], "xyz"),
    (["build-workbook", "-o", "{new}", "--preset", "xyz"], "xyz"),
    (["demo", "{new}", "--today", "someday"], "someday"),
])
def test_commands_that_make_a_workbook_refuse_bad_options_in_chinese_by_default(args, named, tmp_path):
    new = tmp_path / "fresh.xlsm"
    line = _refused([a.format(new=new) for a in args], None)
    assert named in line and _chinese(line)
    assert not new.exists()


def test_a_new_english_workbook_refuses_in_english(tmp_path):
    line = _refused(["new", tmp_path / "x.xlsm", "--lang", "en", "--preset", "xyz"], None)
    assert "xyz" in line and not _chinese(line)


def test_new_refuses_to_overwrite_without_force(en_book):
    line = _refused(["new", en_book], None)
    assert "--force" in line


def test_a_parsing_error_is_one_line_too(demo_book, tmp_path):
    _refused(["refresh", demo_book, "--bogus"], demo_book)
    _refused(["refresh", tmp_path / "missing.xlsm"], None)
    _refused(["demo", tmp_path / "x.xlsm", "--customers", "many"], None)
    _refused(["refresh", demo_book, "extra"], demo_book)


@pytest.mark.parametrize("lang, said", [("zh-CN", "没有选项 --bogus"), ("en", "No such option: --bogus")])
def test_an_error_before_the_command_is_one_line_in_the_help_language(monkeypatch, lang, said):
    """`followup --bogus`: typer fails while no command is chosen yet, worded as the commands' errors are."""
    monkeypatch.setenv("FOLLOWUP_LANG", lang)
    assert _refused(["--bogus"], None) == f"followup: {said}"
    assert _refused(["--bogus", "refresh"], None) == f"followup: {said}"
    assert _chinese(_refused(["--help=3"], None)) == (lang == "zh-CN")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_workbook_open_in_excel_is_busy_in_its_language(lang, demo_book, en_book):
    book = demo_book if lang == "zh-CN" else en_book
    (book.parent / f"~${book.name}").write_bytes(b"owner")
    line = _refused(["log", book, "--id", "JRN01001"], book, BUSY)
    assert book.name in line and _chinese(line) == (lang == "zh-CN"), line


def test_an_unexpected_error_is_exit_4_with_a_report(demo_book, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("an invariant broke")
    monkeypatch.setattr(actions, "refresh", broken)
    line = _refused(["refresh", demo_book], demo_book, INTERNAL)
    assert "RuntimeError: an invariant broke" in line and _chinese(line)
    report = Path(line.rsplit(" ", 1)[-1])
    assert report.is_file() and "Traceback" in report.read_text(encoding="utf-8")
    assert "broken" in report.read_text(encoding="utf-8")
    report.unlink()


def test_every_command_has_a_runnable_example_in_its_help():
    commands = list(typer.main.get_command(app).commands)
    assert len(commands) >= 11
    for name in commands:
        result = runner.invoke(app, [name, "--help"], terminal_width=200)
        assert result.exit_code == 0, name
        example = re.search(r"(Example|示例): (followup .*)", result.output)
        assert example, f"{name} --help has no example"
        assert example.group(2).split()[1] == name, example.group(2)


@pytest.mark.parametrize("env, lang", [({"FOLLOWUP_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
                                       ({"LANG": "zh_CN.UTF-8"}, "zh-CN"), ({"LC_ALL": "en_GB.UTF-8"}, "en"),
                                       ({"LANG": "C.UTF-8"}, "zh-CN"), ({}, "zh-CN")])
def test_help_language_follows_followup_lang_then_the_locale(env, lang):
    assert help_language(env) == lang


@pytest.mark.parametrize("lang, other", [("zh-CN", re.compile(r"\b[a-z]{4,}\b")), ("en", re.compile(r"[\u4e00-\u9fff]"))])
def test_command_list_and_summaries_in_the_help_language(monkeypatch, lang, other):
    """Every command's one-line summary in the list and on its own help page is in the chosen language
    (lower-case English words outside option names and examples are what today's English help had)."""
    monkeypatch.setenv("FOLLOWUP_LANG", lang)
    listing = runner.invoke(app, ["--help"]).output
    commands = typer.main.get_command(app).commands
    summaries = texts(lang)["cli_help"]
    for name in commands:
        summary = summaries[name]
        assert summary[:8] in listing, name  # the list wraps and cuts the rest
        assert not other.search(re.sub(r"--[\w-]+|Outlook|Excel|JRN\d+|\.xlsx", "", summary)), summary
        page = runner.invoke(app, [name, "--help"]).output
        assert summary[:8] in page and summaries["example"] in page, name


ENGLISH_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{3,}(?![A-Za-z])")
NOT_WORDS = re.compile(r"--?[\w-]+|\b(?:root|followup)\b|\bJSON\b|\.(?:xlsm|xlsx|bak)\b|Excel|Outlook|JRN\d+|FOLLOWUP_LANG")


@pytest.mark.parametrize("args", [["refresh", "--help"], ["--help"], ["refresh", "--bogus"], ["refresh", "--tod"],
                                  ["refresh"], ["refresh", "no-such.xlsm"], ["demo", "--customers", "x"],
                                  ["plan", "book.xlsm", "--week"], ["bogus"], ["--bogus"], ["--help=3"],
                                  ["refresh", "--help=3"], ["demo", "book.xlsm", "extra"]])
def test_zh_cn_help_and_parsing_errors_have_no_english_word_but_option_and_command_names(monkeypatch, args):
    """Usage line, panel titles, the help option, each option's help, value types, argument names and typer's
    parsing errors in Chinese; what is left in Latin letters is option and command names, the examples and what
    was typed."""
    monkeypatch.setenv("FOLLOWUP_LANG", "zh-CN")
    result = runner.invoke(app, args)
    assert result.exit_code == (0 if "--help" in args else REFUSED), result.output
    shown = re.sub(r"示例: .*|" + "|".join(map(re.escape, args)), " ", result.output)  # examples, what was typed
    shown = NOT_WORDS.sub(" ", re.sub(r"\b(?:{})\b".format("|".join(texts("zh-CN")["cli_help"])), " ", shown))
    assert not ENGLISH_WORD.findall(shown), result.output
    assert HAN.search(result.output)


def test_en_help_and_parsing_errors_stay_english(monkeypatch):
    monkeypatch.setenv("FOLLOWUP_LANG", "en")
    page = " ".join(runner.invoke(app, ["refresh", "--help"]).output.split())
    for words in ("Usage:", "[OPTIONS]", "Arguments", "Options", "Show this message and exit.",
                  "The workbook (.xlsm) to work on.", "As-of date YYYY-MM-DD"):
        assert words in page
    assert not HAN.search(page)
    bad = runner.invoke(app, ["refresh", "--bogus"])
    assert bad.exit_code == REFUSED and "No such option: --bogus" in bad.output and not HAN.search(bad.output)
    missing = runner.invoke(app, ["demo", "--customers", "x"])
    assert "Invalid value for '--customers': not a valid integer" in missing.output
    for args, said in ((["--bogus"], "No such option: --bogus"), (["--help=3"], "Option '--help' does not take a value."),
                       (["demo", "book.xlsm", "extra"], "Got unexpected extra arguments: extra")):
        assert runner.invoke(app, args).output == f"followup: {said}\n"
