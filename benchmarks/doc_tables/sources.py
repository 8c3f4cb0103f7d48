"""Reading the committed result files: per-seed scores of stress-test, GLUE and generalisation runs.

Every reader returns the single seeds' values sorted by seed, so a table computes its own mean and sample
standard deviation (:mod:`doc_tables.fmt`) rather than copy the ``std`` stored in a file. A section reads only
the files it names; paths are relative to the repository root, and a folder stands for its ``results.json``.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any


class Sources:
    """The result files one section may read, under the repository ``root``, for the block it writes into
    ``document`` (a repository path)."""

    def __init__(self, root: Path, allowed: tuple[str, ...], document: str = "README.md") -> None:
        self.root = root
        self.allowed = allowed
        self.document = document

    def link(self, target: str) -> str:
        """``target`` (a repository path, optionally ``#anchor``) relative to the document being written."""
        path, _, anchor = target.partition("#")
        relative = posixpath.relpath(path, posixpath.dirname(self.document) or ".")
        return relative + (f"#{anchor}" if anchor else "")

    def path(self, name: str) -> Path:
        """The file ``name`` (a folder: its ``results.json``); it must be one of the section's sources."""
        if name not in self.allowed:
            raise KeyError(f"{name!r} is not among the section's sources {list(self.allowed)}")
        path = self.root / name
        return path / "results.json" if path.suffix != ".json" and not path.is_file() else path

    def exists(self, name: str) -> bool:
        """Whether the source ``name`` is in the tree (for a section that names a rerun's folder ahead of it)."""
        return self.path(name).is_file()

    def json(self, name: str) -> dict[str, Any]:
        """The parsed JSON of source ``name``."""
        path = self.path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: a source of this section is missing")
        return json.loads(path.read_text(encoding="utf-8"))

    def stress(self, *folders: str) -> dict[str, dict[str, list[float]]]:
        """``{method: {ratio: [accuracy per seed]}}`` of ``st-glot stress-test`` runs, merged over ``folders``."""
        return _by_seed(
            ((r["method"], f"{r['ratio']:g}"), r["seed"], r["accuracy"])
            for folder in folders
            for r in self.json(folder)["records"]
        )

    def glue(self, *folders: str) -> dict[str, dict[str, list[float]]]:
        """``{task: {method: [score ×100 per seed]}}`` of ``st-glot glue`` runs, merged over ``folders``."""
        return _by_seed(
            ((r["task"], r["method"]), r.get("seed"), r["score"])
            for folder in folders
            for r in self.json(folder)["records"]
        )

    def generalisation(self, *folders: str) -> dict[str, dict[str, list[float]]]:
        """``{method: {measurement: [score ×100 per seed]}}`` of ``st-glot generalisation`` runs, with
        ``logo:avg``: each seed's mean over the leave-one-genre-out folds (as ``st-glot generalisation`` reports)."""
        grouped = _by_seed(
            ((r["method"], r["measurement"]), r["seed"], r["score"])
            for folder in folders
            for r in self.json(folder)["records"]
        )
        for by_measurement in grouped.values():
            folds = [v for m, v in by_measurement.items() if m.startswith("logo:main-")]
            if folds:
                by_measurement["logo:avg"] = [sum(per_seed) / len(per_seed) for per_seed in zip(*folds, strict=True)]
        return grouped

    def seconds(self, name: str) -> float:
        """The wall-clock ``seconds`` a run recorded."""
        return float(self.json(name)["seconds"])


def _by_seed(items) -> dict[str, dict[str, list[float]]]:
    """Group ``((outer, inner), seed, value)`` into ``{outer: {inner: [value sorted by seed]}}``; a repeat is an error."""
    seen: dict[tuple[str, str], dict[int | None, float]] = {}
    for key, seed, value in items:
        per_seed = seen.setdefault(key, {})
        if seed in per_seed:
            raise ValueError(f"{key} seed {seed} appears twice in the sources")
        per_seed[seed] = value
    grouped: dict[str, dict[str, list[float]]] = {}
    for (outer, inner), per_seed in seen.items():
        grouped.setdefault(outer, {})[inner] = [
            per_seed[s] for s in sorted(per_seed, key=lambda s: -1 if s is None else s)
        ]
    return grouped
