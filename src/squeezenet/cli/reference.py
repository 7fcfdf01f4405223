"""The command line as one reference page: every command's options with their defaults and
meanings, read off the parser (so off the options records its flags are made from), as
Ultralytics keeps one table of every setting. ``make options-docs`` writes it to
docs/guide/options.md; tests/test_docs.py fails when the page and the parser differ."""

from __future__ import annotations

import argparse

from . import build_parser

INTRO = (
    "Every option of every command, with its default and meaning: generated from the parser by "
    "`make options-docs`, so it is what `squeezenet COMMAND --help` says. A default left blank is "
    "decided at run time (by the recipe, the weight file or the data), or the flag is a switch."
)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if isinstance(action, argparse.BooleanOptionalAction):
        return "on" if action.default else "off"
    if action.default in (None, argparse.SUPPRESS) or isinstance(action.default, bool):
        return ""
    return f"`{action.default}`"


def _row(action: argparse.Action) -> str:
    names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.metavar or action.dest}`"
    meaning = action.help or ""
    if action.choices and not all(str(c) in meaning for c in action.choices):
        meaning += f" (one of {', '.join(map(str, action.choices))})"
    return f"| {names} | {_cell(_default(action))} | {_cell(meaning)} |"


def options_page() -> str:
    """The page, in the order ``squeezenet --help`` lists the commands."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    summary = {a.dest: a.help for a in sub._choices_actions}
    lines = ["# Every option", "", INTRO]
    for name, command in sub.choices.items():
        lines += [
            "",
            f"## {name}",
            "",
            _cell(summary.get(name) or ""),
            "",
            "| option | default | meaning |",
            "|---|---|---|",
        ]
        lines += [
            _row(a) for a in command._actions if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(options_page(), end="")
