"""Benchmark tasks as ``datasets.Dataset`` pairs: from local files offline, or from the Hub.

Each task is described by a :class:`Task` (text columns, label kind, loss,
metric) and loaded as ``(train, eval)`` with columns ``text`` or
``sentence1``/``sentence2`` plus ``label`` (class id) or ``score`` (in [0, 1]).

Local files follow the layout of the offline data folder (one sub-folder per
task: ``stsb/``, ``sst2/``, ``cola/``, ``mrpc/``, ``banking77/``); without a
folder the GLUE copies on the Hugging Face Hub are used. One reader per local
format (:func:`read_sts_pairs`, :func:`read_labelled`, :func:`read_categories`)
serves both training here and MTEB evaluation (:mod:`st_glot.evaluation.mteb_tasks`);
a malformed file is reported with its path, line and column.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from st_glot.utils.checks import check_choice
from st_glot.utils.provenance import file_source, hub_source

if TYPE_CHECKING:  # datasets loads when a task does, not when the command line lists the tasks
    from datasets import Dataset


@dataclass(frozen=True)
class Task:
    """A benchmark task.

    Attributes:
        name: short name (``stsb``, ``sst2`` …).
        pair: True for sentence-pair tasks.
        loss: the :func:`st_glot.training.fit.fit` loss the paper uses for it.
        metric: the metric reported (``spearman``, ``accuracy``, ``f1``, ``mcc``).
        hub: ``(dataset, config)`` on the Hugging Face Hub.
        hub_eval_split: the Hub split used for evaluation.
        similar_pairs: a pair task whose binary label is 1 when the two texts mean the same
            (MRPC paraphrases, QQP duplicates), so the label can also serve as a 0/1 similarity.
    """

    name: str
    pair: bool
    loss: str
    metric: str
    hub: tuple[str, str]
    hub_eval_split: str = "validation"
    hub_columns: tuple[str, ...] = ()
    similar_pairs: bool = False

    @property
    def losses(self) -> tuple[str, ...]:
        """The :func:`st_glot.training.fit.fit` losses this task's rows can train with.

        A pair with a similarity score (STS-B): ``cosent`` and ``cosine``. A pair whose label
        is 1 for "the same meaning" (``similar_pairs``): those and ``classification``. Any
        other task: ``classification`` (its labels are classes, not similarities). ``mnrl``
        takes every row as a positive pair, which no task's rows all are.
        """
        similarity = ("cosent", "cosine")
        if self.pair and self.metric == "spearman":
            return similarity
        return ("classification", *similarity) if self.similar_pairs else ("classification",)


TASKS: dict[str, Task] = {
    "stsb": Task("stsb", pair=True, loss="cosine", metric="spearman", hub=("nyu-mll/glue", "stsb")),
    "sst2": Task("sst2", pair=False, loss="classification", metric="accuracy", hub=("nyu-mll/glue", "sst2")),
    "cola": Task("cola", pair=False, loss="classification", metric="mcc", hub=("nyu-mll/glue", "cola")),
    "mrpc": Task(
        "mrpc", pair=True, loss="classification", metric="f1", hub=("nyu-mll/glue", "mrpc"), similar_pairs=True
    ),
    "qqp": Task(
        "qqp",
        pair=True,
        loss="classification",
        metric="f1",
        hub=("nyu-mll/glue", "qqp"),
        hub_columns=("question1", "question2"),
        similar_pairs=True,
    ),
    "mnli-m": Task(
        "mnli-m",
        pair=True,
        loss="classification",
        metric="accuracy",
        hub=("nyu-mll/glue", "mnli"),
        hub_eval_split="validation_matched",
        hub_columns=("premise", "hypothesis"),
    ),
    "mnli-mm": Task(
        "mnli-mm",
        pair=True,
        loss="classification",
        metric="accuracy",
        hub=("nyu-mll/glue", "mnli"),
        hub_eval_split="validation_mismatched",
        hub_columns=("premise", "hypothesis"),
    ),
    "qnli": Task(
        "qnli",
        pair=True,
        loss="classification",
        metric="accuracy",
        hub=("nyu-mll/glue", "qnli"),
        hub_columns=("question", "sentence"),
    ),
    "rte": Task("rte", pair=True, loss="classification", metric="accuracy", hub=("nyu-mll/glue", "rte")),
    "wnli": Task("wnli", pair=True, loss="classification", metric="accuracy", hub=("nyu-mll/glue", "wnli")),
    "banking77": Task(
        "banking77",
        pair=False,
        loss="classification",
        metric="accuracy",
        hub=("PolyAI/banking77", "default"),
        hub_eval_split="test",
    ),
}
#: The GLUE tasks (the paper's main table).
GLUE_TASKS: tuple[str, ...] = ("cola", "sst2", "stsb", "mrpc", "qqp", "mnli-m", "mnli-mm", "qnli", "rte", "wnli")
#: GLUE dev scores ×100 from Mantri et al. (ICLR 2026), frozen backbones, selected rows.
PAPER_ROWS: dict[str, dict[str, dict[str, float]]] = {
    "BERT-base": {
        "mean": {"cola": 19.55, "sst2": 82.91, "stsb": 74.96, "mrpc": 80.28},
        "adapool": {"cola": 29.20, "sst2": 87.72, "stsb": 80.01, "mrpc": 77.99},
        "glot": {"cola": 47.49, "sst2": 90.25, "stsb": 83.86, "mrpc": 82.58},
    },
    "SmolLM2-360M": {
        "cls": {"cola": 7.63, "sst2": 77.75, "stsb": 52.77, "mrpc": 81.03},
        "mean": {"cola": 12.30, "sst2": 79.81, "stsb": 56.39, "mrpc": 80.60},
        "adapool": {"cola": 7.21, "sst2": 83.71, "stsb": 61.20, "mrpc": 81.69},
        "glot": {"cola": 39.23, "sst2": 90.25, "stsb": 76.28, "mrpc": 82.24},
    },
}


#: Header names of the text column of a local classification file, in order of preference.
TEXT_HEADERS: tuple[str, ...] = ("text", "sentence", "content", "x")
#: Header names of the label column of a local classification file, in order of preference.
LABEL_HEADERS: tuple[str, ...] = ("label", "category", "labels", "y")
#: The STS Benchmark's gold similarity range (the file's scale; tasks divide by the top).
STS_SCORE_RANGE: tuple[float, float] = (0.0, 5.0)


def load_task(
    name: str, data_dir: str | None = None, limit: int | None = None, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Load a task's ``(train, eval)`` datasets.

    Args:
        name: a key of :data:`TASKS`.
        data_dir: the offline data folder (holding ``stsb/`` etc.); None loads from the Hub.
        limit: keep at most this many rows of each split: a sample drawn with ``seed``,
            stratified by class for classification tasks (see :func:`sample_rows`).
        seed: seeds the ``limit`` sample.

    Raises:
        ValueError: a malformed data file (the message names the file, line and column),
            or a classification split that holds one class only.
    """
    check_choice("task", name, tuple(TASKS))
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of rows; got {limit!r}.")
    if data_dir is None:
        train, dev = _from_hub(TASKS[name])
    elif name not in LOCAL_FILES:
        raise ValueError(
            f"Task {name!r} has no local reader; local files are read for {tuple(LOCAL_FILES)}. "
            "Drop --data-dir to load it from the Hugging Face Hub."
        )
    else:
        folder = os.path.join(os.path.expanduser(data_dir), name)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"No folder {folder!r} for task {name!r}: --data-dir should hold {name}/.")
        train, dev = _read_local(name, folder)
    splits = []
    for split, ds in (("train", train), ("eval", dev)):
        labels = ds["label"] if "label" in ds.column_names else None
        if limit is not None:
            ds = ds.select(sample_rows(len(ds), limit, labels, seed))
            labels = ds["label"] if labels is not None else None
        if len(ds) == 0:
            raise ValueError(f"The {split} split of {name!r} has no rows.")
        if labels is not None and len(set(labels)) < 2:
            sampled = f", in a sample of {len(ds)} rows" if limit is not None else ""
            raise ValueError(
                f"The {split} split of {name!r} holds one class only (label {labels[0]}{sampled}); "
                "classification needs at least two."
            )
        splits.append(ds)
    return splits[0], splits[1]


def sample_rows(n: int, limit: int, labels: Sequence[int] | None = None, seed: int = 0) -> list[int]:
    """Indices of a seeded sample of ``min(limit, n)`` rows out of ``n``, in file order.

    With ``labels`` the sample is stratified: the rows of class ``c`` (``n_c`` of them)
    are shuffled and its ``r``-th row gets the key ``(r + 1/2) / n_c``; the ``limit``
    smallest keys are kept (ties in random order). Class ``c`` thus gets
    ``round(t * n_c)`` rows for the ``t`` that makes them sum to ``limit`` (Webster's
    apportionment): its share ``limit * n_c / n``, rounded. Without labels the sample
    is uniform.
    """
    if limit >= n:
        return list(range(n))
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # (n,) random order; ties are broken by it
    if labels is None:
        return sorted(order[:limit].tolist())
    classes = np.unique(np.asarray(labels), return_inverse=True)[1][order]  # (n,) class of each shuffled row
    counts = np.bincount(classes)
    rank = np.empty(n, dtype=np.int64)
    by_class = np.argsort(classes, kind="stable")  # shuffled rows grouped by class
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[by_class] = np.arange(n) - np.repeat(starts, counts)  # position of each row within its class
    keys = (rank + 0.5) / counts[classes]
    keep = order[np.argsort(keys, kind="stable")[:limit]]
    return sorted(keep.tolist())


class TableFile:
    """A local CSV/TSV file as rows of stripped cells, each with its line number (for error messages).

    A file whose first line holds a tab is tab-separated and read without quoting
    (quotes are text, as in GLUE's files); any other is comma-separated, with CSV quoting.
    """

    def __init__(self, path: str | os.PathLike, header: bool = True) -> None:
        self.path = os.fspath(path)
        with open(self.path, encoding="utf-8-sig", newline="") as f:
            tab = "\t" in f.readline()
            f.seek(0)
            reader = csv.reader(f, delimiter="\t" if tab else ",", quoting=csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL)
            rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader]
        rows = [(line, row) for line, row in rows if any(row)]
        self.header = [cell.lower() for cell in rows[0][1]] if header and rows else []
        self.rows = rows[1:] if header else rows
        self.lines = [line for line, _ in self.rows]

    def column(self, names: Sequence[str], what: str) -> int:
        """The index of the first header cell among ``names``."""
        found = next((name for name in names if name in self.header), None)
        if found is None:
            raise ValueError(
                f"{self.path}, line 1: no {what} column; the header {self.header} should name one of {list(names)}."
            )
        return self.header.index(found)

    def cells(self, index: int, name: str) -> list[str]:
        """Column ``index`` (0-based) of every row; ``name`` is the column's name in errors."""
        for line, row in self.rows:
            if len(row) <= index:
                raise ValueError(
                    f"{self.path}, line {line}: no column {index + 1} ({name}); the row has {len(row)} column(s)."
                )
        return [row[index] for _, row in self.rows]

    def numbers(self, index: int, name: str, valid: tuple[float, float]) -> list[float]:
        """Column ``index`` as numbers, each checked to lie within ``valid``."""
        values = []
        for line, text in zip(self.lines, self.cells(index, name)):
            try:
                value = float(text)
            except ValueError:
                raise ValueError(
                    f"{self.path}, line {line}, column {index + 1} ({name}): {text!r} is not a number."
                ) from None
            if not valid[0] <= value <= valid[1]:
                raise ValueError(
                    f"{self.path}, line {line}, column {index + 1} ({name}): {text} is outside the task's range "
                    f"{valid[0]:g} to {valid[1]:g}."
                )
            values.append(value)
        return values


def read_sts_pairs(
    path: str | os.PathLike, score_range: tuple[float, float] = STS_SCORE_RANGE
) -> tuple[list[str], list[str], list[float]]:
    """``(sentence1, sentence2, score)`` columns of a local STS file, scores on the file's scale.

    Two layouts are read: a CSV/TSV whose header names ``sentence1``, ``sentence2``
    and ``score``; or the STS Benchmark's tab-separated rows without header (genre,
    file, year, id, score, sentence1, sentence2, …: score in column 5, sentences in
    columns 6 and 7; extra columns are ignored).

    Raises:
        ValueError: a missing column, or a score that is not a number or lies outside
            ``score_range``; the message names the file, the line and the column.
    """
    table = TableFile(path)
    names = ("sentence1", "sentence2", "score")
    if set(names) <= set(table.header):
        s1, s2, score = (table.column([name], name) for name in names)
    else:
        table, (score, s1, s2) = TableFile(path, header=False), (4, 5, 6)
    if not table.rows or (not table.header and len(table.rows[0][1]) <= s2):  # no layout recognised
        raise ValueError(
            f"{table.path}: no STS pairs found. Valid layouts: a header with sentence1, sentence2 and score, "
            "or STS Benchmark rows (score in column 5, sentences in columns 6 and 7, tab-separated)."
        )
    return table.cells(s1, "sentence1"), table.cells(s2, "sentence2"), table.numbers(score, "score", score_range)


def read_sts_genres(path: str | os.PathLike) -> list[str]:
    """The genre of each row of an STS Benchmark file (its first column: ``main-captions``, ``main-news``,
    ``main-forum``), in the order of :func:`read_sts_pairs`."""
    return TableFile(path, header=False).cells(0, "genre")


@dataclass(frozen=True)
class LabelledRows:
    """The rows of a local classification file: texts, labels as written, and their line numbers."""

    path: str
    texts: list[str]
    labels: list[str]
    lines: list[int]

    def ids(self, names: Sequence[str] | None = None) -> list[int]:
        """Class ids: each label's position in ``names`` (e.g. from categories.json), or the label as an integer.

        Raises:
            ValueError: a label not in ``names`` or, without names, not an integer; the
                message names the file and the line.
        """
        label_of = {name: i for i, name in enumerate(names)} if names is not None else None
        ids = []
        for line, label in zip(self.lines, self.labels):
            if label_of is not None and label not in label_of:
                raise ValueError(
                    f"{self.path}, line {line}: label {label!r} is not in categories.json "
                    f"(valid: {', '.join(names[:5])}{', …' if len(names) > 5 else ''})."
                )
            if label_of is None and not label.lstrip("-").isdigit():
                raise ValueError(
                    f"{self.path}, line {line}: label {label!r} is not an integer class id "
                    "(class names need a categories.json that lists them)."
                )
            ids.append(label_of[label] if label_of is not None else int(label))
        return ids


def read_labelled(path: str | os.PathLike) -> LabelledRows:
    """The rows of a local classification file.

    Its header names the text column (one of :data:`TEXT_HEADERS`) and the label
    column (one of :data:`LABEL_HEADERS`).
    """
    table = TableFile(path)
    text, label = table.column(TEXT_HEADERS, "text"), table.column(LABEL_HEADERS, "label")
    return LabelledRows(
        table.path, table.cells(text, table.header[text]), table.cells(label, table.header[label]), table.lines
    )


def read_categories(folder: str | os.PathLike) -> list[str] | None:
    """The class names in ``folder/categories.json`` (a JSON list; a name's position is its id), or None."""
    path = os.path.join(os.fspath(folder), "categories.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        names = json.load(f)
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{path}: expected a JSON list of class names.")
    return names


def _stsb_file(path: str, names: list[str] | None) -> dict[str, list]:
    sentence1, sentence2, scores = read_sts_pairs(path)
    top = STS_SCORE_RANGE[1]
    return {"sentence1": sentence1, "sentence2": sentence2, "score": [s / top for s in scores]}


def _labelled_file(path: str, names: list[str] | None) -> dict[str, list]:
    rows = read_labelled(path)
    return {"text": rows.texts, "label": rows.ids(names)}


def _mrpc_file(path: str, names: list[str] | None) -> dict[str, list]:
    table = TableFile(path)
    s1, s2 = table.column(["#1 string"], "#1 String"), table.column(["#2 string"], "#2 String")
    label = table.column(["quality"], "Quality")
    return {
        "sentence1": table.cells(s1, "#1 String"),
        "sentence2": table.cells(s2, "#2 String"),
        "label": LabelledRows(table.path, [], table.cells(label, "Quality"), table.lines).ids(),
    }


#: The files of each task with a local reader, inside ``<data_dir>/<task>/``: ``(train files, eval files)``,
#: each split the rows of its files in this order.
LOCAL_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stsb": (("sts-train.csv",), ("sts-dev.csv",)),
    "sst2": (("train.tsv",), ("dev.tsv",)),
    "cola": (("train.tsv",), ("test_idd.tsv", "test_ood.tsv")),
    "mrpc": (("msr-para-train.tsv", "msr-para-val.tsv"), ("msr-para-test.tsv",)),
    "banking77": (("train.csv",), ("test.csv",)),
}
#: The reader of one local file of a task (default: a text and a label column, :func:`read_labelled`);
#: each takes the path and the class names of ``categories.json`` (or None) and returns the columns.
_FILE_READERS = {"stsb": _stsb_file, "mrpc": _mrpc_file}


def _read_local(name: str, folder: str) -> tuple[Dataset, Dataset]:
    names = read_categories(folder)  # only the default reader uses them
    reader = _FILE_READERS.get(name, _labelled_file)

    def read(files: tuple[str, ...]) -> Dataset:
        parts = [reader(os.path.join(folder, file), names) for file in files]
        return _dataset({column: [v for part in parts for v in part[column]] for column in parts[0]})

    train_files, eval_files = LOCAL_FILES[name]
    return read(train_files), read(eval_files)


def task_sources(name: str, data_dir: str | None = None) -> list[dict[str, Any]]:
    """The provenance of task ``name``'s data as :func:`load_task` reads it: each local file with its SHA-256
    and the rows its reader reads (and ``categories.json`` with its number of names), or the Hub dataset's
    train and eval splits with their revision (:mod:`st_glot.utils.provenance`)."""
    task = TASKS[name]
    if data_dir is None:
        return [hub_source(task.hub[0], task.hub[1], split) for split in ("train", task.hub_eval_split)]
    folder = os.path.join(os.path.expanduser(data_dir), name)
    names = read_categories(folder)
    reader = _FILE_READERS.get(name, _labelled_file)
    sources = []
    for file in (*LOCAL_FILES[name][0], *LOCAL_FILES[name][1]):
        path = os.path.join(folder, file)
        sources.append(file_source(path, len(next(iter(reader(path, names).values())))))
    if names is not None and reader is _labelled_file:
        sources.append(file_source(os.path.join(folder, "categories.json"), len(names)))
    return sources


def _dataset(columns: dict[str, list]) -> Dataset:
    from datasets import Dataset

    return Dataset.from_dict(columns)


def _from_hub(task: Task) -> tuple[Dataset, Dataset]:
    from datasets import load_dataset

    path, config = task.hub
    splits = load_dataset(path, config)

    def normalise(ds: Dataset) -> Dataset:
        if task.hub_columns:
            ds = ds.rename_columns(dict(zip(task.hub_columns, ("sentence1", "sentence2"))))
        elif "sentence" in ds.column_names:
            ds = ds.rename_column("sentence", "text")
        if task.name == "stsb":
            ds = ds.map(lambda row: {"score": row["label"] / 5.0}).remove_columns("label")
        texts = ["sentence1", "sentence2"] if task.pair else ["text"]
        return ds.select_columns(texts + ["score" if task.name == "stsb" else "label"])

    return normalise(splits["train"]), normalise(splits[task.hub_eval_split])
