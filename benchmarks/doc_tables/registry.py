"""The registry of generated sections: each names its document, the result files it reads and its builder.

A builder gets a :class:`~doc_tables.sources.Sources` limited to the files its section names, so every figure of
a section comes from a file listed beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from doc_tables.sources import Sources

README = "README.md"
BENCHMARKS = "benchmarks/README.md"


@dataclass(frozen=True)
class Section:
    """One marker block ``<!-- table: name -->`` of ``document``, written by ``build`` from ``sources``."""

    name: str
    document: str
    sources: tuple[str, ...]
    build: Callable[[Sources], str]


SECTIONS: dict[str, Section] = {}


def section(name: str, document: str, *sources: str) -> Callable[[Callable[[Sources], str]], Callable[[Sources], str]]:
    """Register the decorated builder as section ``name`` of ``document``, reading ``sources`` (repository paths)."""

    def register(build: Callable[[Sources], str]) -> Callable[[Sources], str]:
        if name in SECTIONS:
            raise ValueError(f"section {name!r} is registered twice")
        SECTIONS[name] = Section(name, document, sources, build)
        return build

    return register
