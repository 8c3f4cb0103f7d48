"""Marker blocks in a Markdown document: ``<!-- table: name -->``, the generated text, ``<!-- /table -->``.

The markers are HTML comments, invisible once rendered; a blank line on each side of the generated text keeps
a table or paragraph apart from them. Everything between a pair of markers belongs to the generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START = re.compile(r"^<!-- table: ([A-Za-z0-9_.-]+) -->$")
END = "<!-- /table -->"


@dataclass(frozen=True)
class Block:
    """A marker block: its name and the document's lines ``start`` (the opening marker) to ``end`` (the closing)."""

    name: str
    start: int
    end: int


def blocks(text: str, document: str) -> list[Block]:
    """The marker blocks of ``text`` in order; an unclosed, nested, stray or repeated marker is an error."""
    found: list[Block] = []
    open_name, open_line = None, 0
    for number, line in enumerate(text.split("\n")):
        match = START.match(line)
        if match:
            if open_name is not None:
                raise ValueError(f"{document}:{number + 1}: table {match[1]!r} opens inside table {open_name!r}")
            open_name, open_line = match[1], number
        elif line == END:
            if open_name is None:
                raise ValueError(f"{document}:{number + 1}: {END} without an opening marker")
            found.append(Block(open_name, open_line, number))
            open_name = None
    if open_name is not None:
        raise ValueError(f"{document}:{open_line + 1}: table {open_name!r} is never closed ({END})")
    names = [b.name for b in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{document}: tables {repeated} appear more than once")
    return found


def content(text: str, block: Block) -> str:
    """The text between the markers of ``block``, as the generator would write it (without the blank lines)."""
    return "\n".join(text.split("\n")[block.start + 1 : block.end]).strip("\n")


def replace(text: str, document: str, generated: dict[str, str]) -> str:
    """``text`` with the content of every block named in ``generated`` replaced; other blocks stay."""
    lines = text.split("\n")
    for block in reversed(blocks(text, document)):
        if block.name in generated:
            lines[block.start + 1 : block.end] = ["", *generated[block.name].split("\n"), ""]
    return "\n".join(lines)
