"""The registry of generated sections: each names the documents it is written into, the result files it reads
and its builder.

A builder gets a :class:`~doc_tables.sources.Sources` limited to the files its section names, so every figure of
a section comes from a file listed beside it. A section may be written into several documents (the README's
headline and the documentation's comparison page); its links are relative to each (``Sources.link``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from doc_tables.sources import Sources

README = "README.md"
# The documentation site's pages (docs/, built by mkdocs) that hold generated sections.
GETTING_STARTED = "docs/getting-started.md"
DECODERS = "docs/decoders.md"
EVALUATION = "docs/evaluation.md"
PERFORMANCE = "docs/performance.md"
COMPARE = "docs/benchmarks/index.md"
STRESS = "docs/benchmarks/stress.md"
GLUE = "docs/benchmarks/glue.md"
GENERALISATION = "docs/benchmarks/generalisation.md"
COSTS = "docs/benchmarks/performance.md"


@dataclass(frozen=True)
class Section:
    """One marker block ``<!-- table: name -->`` of each of ``documents``, written by ``build`` from ``sources``."""

    name: str
    documents: tuple[str, ...]
    sources: tuple[str, ...]
    build: Callable[[Sources], str]


SECTIONS: dict[str, Section] = {}


def section(
    name: str, documents: str | tuple[str, ...], *sources: str
) -> Callable[[Callable[[Sources], str]], Callable[[Sources], str]]:
    """Register the decorated builder as section ``name`` of ``documents`` (one repository path or several),
    reading ``sources`` (repository paths)."""

    def register(build: Callable[[Sources], str]) -> Callable[[Sources], str]:
        if name in SECTIONS:
            raise ValueError(f"section {name!r} is registered twice")
        SECTIONS[name] = Section(name, (documents,) if isinstance(documents, str) else documents, sources, build)
        return build

    return register
