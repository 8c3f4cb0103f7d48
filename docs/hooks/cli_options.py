"""MkDocs hook: the options tables of the command-line page, generated from ``st-glot``'s own argparse parsers.

A page line ``<!-- options: COMMAND -->`` becomes one table per argument group of ``st-glot COMMAND``: each
option with its value (choices or metavar), default and help text, as ``st-glot COMMAND --help`` prints them.
The tables are made at build time from the parsers, so they cannot drift from the code; an unknown command
fails the build.
"""

from __future__ import annotations

import argparse
import re

from st_glot.cli.main import build_parser

MARKER = re.compile(r"^<!-- options: ([a-z-]+) -->$", re.MULTILINE)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """``{command name: its parser}`` of ``st-glot``."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def cell(text: str) -> str:
    """``text`` safe in one Markdown table cell: one line, pipes and brackets escaped (``[@SPLIT]`` is no
    link reference)."""
    return " ".join(text.split()).replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def option(action: argparse.Action) -> str:
    """The option as a user types it: ``--seeds SEEDS``, ``--gnn {gat,gcn}``, ``TEXT ...``."""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        value = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        value = action.metavar or action.dest.upper()
    if not action.option_strings:
        return f"`{value} …`" if action.nargs in ("*", "+") else f"`{value}`"
    flags = ", ".join(action.option_strings)
    return f"`{flags}`" if action.nargs == 0 else f"`{flags} {value}`"


def default(action: argparse.Action) -> str:
    """The default as a cell: required, a flag, nothing, or the value."""
    if action.required:
        return "required"
    if action.nargs == 0:
        return "off" if action.default is False else "on" if action.default is True else ""
    if action.default is None or action.default == argparse.SUPPRESS or action.default == []:
        return ""
    value = ",".join(map(str, action.default)) if isinstance(action.default, list | tuple) else action.default
    return f"`{value}`"


def options_tables(parser: argparse.ArgumentParser) -> str:
    """One Markdown table per argument group of ``parser`` (``--help`` left out)."""
    parts = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        title = "options" if group.title in ("options", "optional arguments") else group.title
        rows = [f"| {option(a)} | {default(a)} | {cell(a.help or '')} |" for a in actions]
        parts.append(f"**{title}**\n\n| option | default | meaning |\n|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001  (MkDocs' hook signature)
    if not MARKER.search(markdown):
        return markdown
    parsers = subcommands()

    def table(match: re.Match) -> str:
        name = match[1]
        if name not in parsers:
            raise ValueError(f"{page.file.src_path}: no command 'st-glot {name}' (commands: {', '.join(parsers)})")
        return options_tables(parsers[name])

    return MARKER.sub(table, markdown)
