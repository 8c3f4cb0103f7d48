"""Write every generated table and measured figure of README.md and the documentation (docs/) from the results.

Each marker block ``<!-- table: NAME -->`` … ``<!-- /table -->`` of those documents is written by one section
builder (``doc_tables/``), which reads only the committed result files it names; no measured figure in the
documents is typed by hand. The registry (``doc_tables/registry.py``) names the documents of each section.

    python benchmarks/tables.py            # rewrite the blocks in place
    python benchmarks/tables.py --check    # exit 1, naming every block that differs from what it would write
    python benchmarks/tables.py --list     # every section: its documents and its source files
    python benchmarks/tables.py --show NAME   # print one section as it would be written (in its first document)

``--root DIR`` reads the documents and results of another checkout (default: this one).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from doc_tables import generalisation, glue, performance, readme, stress  # noqa: F401  (they register sections)
from doc_tables.markers import END, blocks, content, replace
from doc_tables.registry import SECTIONS
from doc_tables.sources import Sources

ROOT = Path(__file__).resolve().parent.parent


def generate(root: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``{document: {section name: generated text}}`` for every section that builds, and one message per
    section that does not (a missing or malformed source)."""
    out: dict[str, dict[str, str]] = {}
    failures = []
    for s in SECTIONS.values():
        for document in s.documents:
            try:
                out.setdefault(document, {})[s.name] = s.build(Sources(root, s.sources, document)).strip("\n")
            except (OSError, KeyError, ValueError, TypeError) as error:
                failures.append(f"{document}: table {s.name!r} cannot be built: {type(error).__name__}: {error}")
    return out, failures


def documents(root: Path) -> list[str]:
    """Every document that holds generated sections, and every page of the documentation and the README (a
    marker block there that no section writes is an error too)."""
    pages = {p.relative_to(root).as_posix() for p in (root / "docs").rglob("*.md")}
    return sorted({d for s in SECTIONS.values() for d in s.documents} | pages | {"README.md"})


def unknown_blocks(document: str, text: str) -> list[str]:
    """One message per marker block of ``document`` that no section writes."""
    names = {s.name for s in SECTIONS.values() if document in s.documents}
    return [
        f"{document}: table {b.name!r} has no section in benchmarks/doc_tables"
        for b in blocks(text, document)
        if b.name not in names
    ]


def missing(document: str, name: str) -> str:
    return f"{document}: table {name!r} is missing (add <!-- table: {name} --> … {END})"


def differences(root: Path, generated: dict[str, dict[str, str]]) -> list[str]:
    """One message (with a short diff) per block of a document that differs from ``generated``, is missing, or
    has no section."""
    problems = []
    for document in documents(root):
        text = (root / document).read_text(encoding="utf-8")
        problems += unknown_blocks(document, text)
        found = {b.name: b for b in blocks(text, document)}
        for name, expected in generated.get(document, {}).items():
            if name not in found:
                problems.append(missing(document, name))
                continue
            actual = content(text, found[name])
            if actual != expected:
                diff = difflib.unified_diff(
                    actual.split("\n"), expected.split("\n"), "document", "generated", lineterm="", n=0
                )
                problems.append(
                    f"{document}: table {name!r} differs from what benchmarks/tables.py writes\n"
                    + "\n".join(list(diff)[2:12])
                )
    return problems


def write(root: Path, generated: dict[str, dict[str, str]]) -> list[str]:
    """Rewrite the blocks of every document in place; one message per block that is missing or has no section."""
    problems = []
    for document in documents(root):
        path = root / document
        text = path.read_text(encoding="utf-8")
        sections = generated.get(document, {})
        found = {b.name for b in blocks(text, document)}
        problems += unknown_blocks(document, text) + [missing(document, n) for n in sorted(sections.keys() - found)]
        updated = replace(text, document, {n: sections[n] for n in found & sections.keys()})
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            print(f"wrote {document}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a document differs")
    parser.add_argument("--list", action="store_true", help="print every section with its document and sources")
    parser.add_argument("--show", metavar="NAME", choices=sorted(SECTIONS), help="print one section and stop")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    if args.list:
        for s in SECTIONS.values():
            print(f"{', '.join(s.documents)}  {s.name}\n    " + "\n    ".join(s.sources))
        return 0
    if args.show:
        s = SECTIONS[args.show]
        print(s.build(Sources(args.root, s.sources, s.documents[0])))
        return 0
    generated, failures = generate(args.root)
    if args.check:
        problems = failures + differences(args.root, generated)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{len(problems)} generated table(s) out of date: run python benchmarks/tables.py", file=sys.stderr)
        return 1 if problems else 0
    failures += write(args.root, generated)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
