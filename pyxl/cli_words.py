"""The command line's own words in the help language (``cli.help_language``): each option's help text, the
value types and argument names, the usage line, the help option, typer's panel titles and the parsing errors
(locale sections ``[cli_options]``, ``[cli_words]``, ``[cli_types]``, ``[cli_arguments]``).

typer 0.28 (pinned: 0.29 converts every parameter through pydantic, ~0.15 s of each run's start) carries its
own copy of click whose words are plain strings, not gettext messages (only typer's panel titles are, read once
when ``typer.rich_utils`` is imported), so there is no catalogue to install.
The words are set where click and typer let an application set them: the context class and its formatter
class, the commands' metavars, each parameter's help and metavar, an argument's value type's name,
rich_utils' module constants; a parsing error is worded again from the exception's fields where
``cli._Followup`` reports it (``invoke`` for a command's, ``parse_args`` for one before the command is
chosen: ``followup --bogus``).
"""
from __future__ import annotations

import copy
import re

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.models import TyperPath

from .core.i18n import texts
from .core.rules import PRESETS

# [cli_words] and [cli_types] of the help language, set by localize() when the command starts
_words: dict[str, str] = {}
_kinds: dict[str, str] = {}
_PANELS = {"ARGUMENTS_PANEL_TITLE": "arguments", "OPTIONS_PANEL_TITLE": "options", "COMMANDS_PANEL_TITLE": "commands",
           "ERRORS_PANEL_TITLE": "error", "DEFAULT_STRING": "default", "REQUIRED_LONG_STRING": "required",
           "RICH_HELP": "try_help", "ABORTED_TEXT": "aborted"}
_CLICK_TYPES = {"boolean": "bool"}  # typer's value types named otherwise than the Python type ([cli_types] keys)

# These two have no field to tell them by, only click's message (typer's own copy of click, pinned with typer)
_NO_VALUE = "does not take a value."  # a flag given a value (parser._match_long_opt)
_EXTRA = re.compile(r"Got unexpected extra argument\(s\) \((.*)\)", re.S)  # Command.parse_args


class _Formatter(typer.Context.formatter_class):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{_words['usage']} " if prefix is None else prefix)


class LocalContext(typer.Context):
    """A context whose help is in the help language: the usage line, the help option, typer's panels."""
    formatter_class = _Formatter

    def __init__(self, command, *args, **kwargs) -> None:
        super().__init__(command, *args, **kwargs)
        option = command.get_help_option(self)
        if option is not None:
            option.help, option.metavar = _words["help_option"], ""

    def get_help(self) -> str:
        from typer import rich_utils  # only when help is printed
        for constant, key in _PANELS.items():
            setattr(rich_utils, constant, _words[key])
        return super().get_help()


def localize(group: TyperGroup, lang: str) -> None:
    """The group's and its commands' words in ``lang``."""
    t = texts(lang)
    _words.clear()
    _words.update(t["cli_words"])
    _kinds.clear()
    _kinds.update(t["cli_types"])
    group.context_class = LocalContext
    group.options_metavar, group.subcommand_metavar = _words["options_metavar"], _words["subcommand_metavar"]
    for name, command in group.commands.items():
        command.context_class = LocalContext
        command.options_metavar = _words["options_metavar"]
        for param in command.params:
            help = t["cli_options"].get(f"{name}.{param.name}", t["cli_options"].get(param.name))
            if help is not None:
                param.help = help.format(presets=" / ".join(PRESETS))
            kind = _kinds.get(_type_name(param))
            if isinstance(param, TyperArgument):
                param.metavar = t["cli_arguments"].get(param.name, param.metavar)
                # typer shows an argument's type by the type's name (<file>): the word of the help language
                param.type = copy.copy(param.type)
                param.type.name = kind
                if param.nargs != 1:  # several values: `{books}...` on the usage line (typer adds the dots
                    pieces = param.get_usage_pieces  # only to an argument without a metavar)
                    param.get_usage_pieces = lambda ctx, pieces=pieces: [f"{piece}..." for piece in pieces(ctx)]
            elif kind is not None:
                param.metavar = f"<{kind}>" if kind else ""


def parsing_error(exc: typer.TyperException) -> str:
    """An error of typer's command-line parsing (worded in English by typer) in the help language, from its
    fields: an unknown option, an option without its value or a flag given one, extra arguments, a missing or
    unusable argument or option."""
    if hasattr(exc, "possibilities"):  # an unknown option
        found = _words["no_such_option"].format(name=exc.option_name)
        return found + (_words["possible"].format(options=", ".join(sorted(exc.possibilities)))
                        if exc.possibilities else "")
    if hasattr(exc, "option_name"):  # an option without its value, or a flag given one (--force=1)
        word = "takes_no_value" if exc.message.endswith(_NO_VALUE) else "needs_value"
        return _words[word].format(name=f"'{exc.option_name}'")
    extra = _EXTRA.fullmatch(getattr(exc, "message", ""))
    if extra:
        return _words["extra"].format(args=extra[1])
    param = getattr(exc, "param", None)
    if not isinstance(exc, typer.BadParameter) or param is None:
        return exc.format_message()
    name = param.get_error_hint(exc.ctx)
    if hasattr(exc, "param_type"):  # missing
        return _words[f"missing_{param.param_type_name}"].format(name=name)
    kind = _type_name(param)
    if "Path" in kind:  # an argument or option that names an existing file
        return _words["not_file"].format(name=name)
    return _words["bad_value"].format(name=name, kind=_kinds.get(kind) or kind)


def _type_name(param: TyperArgument | TyperOption) -> str:
    """The parameter's type as its annotation names it (``[cli_types]``): str, int, float, bool, Path,
    list[...] for a parameter given more than once or taking several values."""
    name = "Path" if isinstance(param.type, TyperPath) else _CLICK_TYPES.get(param.type.name, param.type.name)
    return f"list[{name}]" if param.multiple or param.nargs == -1 else name


def unknown_command(name: str) -> str:
    return _words["no_such_command"].format(name=f"'{name}'")
