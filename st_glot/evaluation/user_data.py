"""A user's own train and eval data for ``st-glot compare``: CSV, TSV, JSONL files or a Hub dataset.

Three task types, each with its loss and its metric (:data:`TASK_TYPES`):

- ``pairs-score``: two texts and a number (a similarity score on any scale); trained with
  CoSENT, scored by the Spearman correlation of the two vectors' cosine with the score.
- ``pairs``: two texts and a class (e.g. paraphrase or not); a linear head on
  ``[z_a, z_b]``, scored by F1 (binary F1 of the second class in sorted order — ``1``,
  ``true``, ``yes`` — for two classes, macro-F1 for more).
- ``classification``: one text and a class; a linear head on the pooled vector, scored
  by accuracy.

Columns are found by name (case-insensitive): the first pair of :data:`PAIR_HEADERS` or
the first of :data:`TEXT_HEADERS` for the texts, the first of :data:`SCORE_HEADERS` /
:data:`LABEL_HEADERS` for the target, unless the user names them. Without a task type,
two text columns with a column named like a score, or with a target holding a
fractional number, make ``pairs-score``; two text columns otherwise ``pairs``; one
text column ``classification``.

Class labels are read as written (strings); their ids follow the sorted order of the
training file's classes (numerically when every label is an integer). Every problem
(a missing column, an empty text, a score that is not a number, an eval class the
training file lacks) is a ``ValueError`` that names the file, the line and the column,
raised before any backbone work.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from st_glot.evaluation.tasks import LABEL_HEADERS, TEXT_HEADERS, TableFile, sample_rows
from st_glot.utils.checks import check_choice
from st_glot.utils.provenance import file_source, hub_source

if TYPE_CHECKING:  # datasets loads when data does, not when the command line is built
    from datasets import Dataset


@dataclass(frozen=True)
class TaskType:
    """A kind of user task.

    Attributes:
        texts: text columns per row (1 or 2).
        loss: the :func:`st_glot.training.fit.fit` loss.
        metric: the metric the comparison ranks by (``spearman``, ``f1``, ``accuracy``).
        metrics: every metric reported, the ranking one first.
    """

    texts: int
    loss: str
    metric: str
    metrics: tuple[str, ...]


TASK_TYPES: dict[str, TaskType] = {
    "pairs-score": TaskType(texts=2, loss="cosent", metric="spearman", metrics=("spearman",)),
    "pairs": TaskType(texts=2, loss="classification", metric="f1", metrics=("f1", "accuracy", "mcc")),
    "classification": TaskType(texts=1, loss="classification", metric="accuracy", metrics=("accuracy", "f1", "mcc")),
}
#: Header pairs recognised as the two texts of a pair task, in order of preference.
PAIR_HEADERS: tuple[tuple[str, str], ...] = (
    ("sentence1", "sentence2"),
    ("text1", "text2"),
    ("text_a", "text_b"),
    ("sentence_a", "sentence_b"),
    ("question1", "question2"),
    ("premise", "hypothesis"),
    ("query", "document"),
    ("#1 string", "#2 string"),
)
#: Header names of a similarity score column, in order of preference.
SCORE_HEADERS: tuple[str, ...] = ("score", "similarity", "relatedness")
#: File extensions read as JSON Lines (one object per line); any other file is CSV or TSV.
JSONL_SUFFIXES: tuple[str, ...] = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Columns:
    """The columns of the user's data that a task reads: text column(s) and the target."""

    texts: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class UserTask:
    """The user's task, read and checked.

    Attributes:
        task_type: a key of :data:`TASK_TYPES`.
        train, evaluation: datasets in :func:`st_glot.training.fit.fit`'s format: ``text``
            or ``sentence1``/``sentence2``, plus ``label`` (class id) or ``score``.
        columns: the user's column names that were read.
        classes: the class labels as written, a class id's position; empty for ``pairs-score``.
        sources: where train and eval came from (file path or Hub dataset).
        detected: True when the task type was inferred from the data.
        origins: the provenance of train and eval (:mod:`st_glot.utils.provenance`): a file with its SHA-256
            and the rows read from it, or the Hub dataset with its revision.
    """

    task_type: str
    train: Dataset
    evaluation: Dataset
    columns: Columns
    classes: list[str] = field(default_factory=list)
    sources: tuple[str, str] = ("", "")
    detected: bool = False
    origins: tuple[dict[str, Any], ...] = ()


class _Records:
    """Rows of the user's data as ``{column: value}`` dicts, each with its line number (row number for the Hub)."""

    def __init__(
        self, source: str, header: list[str], rows: list[tuple[int, dict[str, Any]]], where: str, origin: dict
    ) -> None:
        self.source = source
        self.header = header
        self.rows = rows
        self.where = where  # "line" for files, "row" for Hub datasets
        self.origin = origin  # provenance: the file with its SHA-256 and rows, or the Hub dataset

    def find(self, names: Sequence[str]) -> str | None:
        """The first header name that equals one of ``names``, ignoring case."""
        lower = {name.lower(): name for name in reversed(self.header)}
        return next((lower[name.lower()] for name in names if name.lower() in lower), None)

    def require(self, name: str, what: str) -> str:
        """The header name that equals ``name`` (ignoring case); a clear error if there is none."""
        found = self.find([name])
        if found is None:
            raise ValueError(f"{self.source}: no column {name!r} ({what}); its columns are {self.header}.")
        return found

    def values(self, column: str) -> list[tuple[int, Any]]:
        """``(line, value)`` of ``column`` in every row; a row without it is an error."""
        out = []
        for line, row in self.rows:
            if column not in row or row[column] is None:
                raise ValueError(f"{self.source}, {self.where} {line}: no value in column {column!r}.")
            out.append((line, row[column]))
        return out

    def texts(self, column: str) -> list[str]:
        """``column`` as non-empty texts."""
        out = []
        for line, value in self.values(column):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    f"{self.source}, {self.where} {line}, column {column!r}: expected a non-empty text, got {value!r}."
                )
            out.append(value)
        return out

    def numbers(self, column: str) -> list[float]:
        """``column`` as finite numbers."""
        out = []
        for line, value in self.values(column):
            try:
                number = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number):
                raise ValueError(f"{self.source}, {self.where} {line}, column {column!r}: {value!r} is not a number.")
            out.append(number)
        return out

    def labels(self, column: str) -> list[str]:
        """``column`` as class labels, as written (JSON ``true`` → ``"true"``)."""
        out = []
        for line, value in self.values(column):
            if isinstance(value, (dict, list)) or (isinstance(value, str) and not value.strip()):
                raise ValueError(f"{self.source}, {self.where} {line}, column {column!r}: {value!r} is not a label.")
            out.append(json.dumps(value) if isinstance(value, bool) else str(value).strip())
        return out


def read_records(source: str, split: str = "train") -> _Records:
    """The rows of a CSV/TSV/JSONL file, or of the Hub dataset ``NAME[:CONFIG][@SPLIT]`` (``split`` by default).

    A ``source`` that is an existing file is read as one; one that looks like a file
    name (it has an extension or a path separator that is not a Hub ``owner/name``) but
    does not exist is an error; anything else is loaded from the Hugging Face Hub.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a malformed JSONL line, or an empty file.
    """
    path = os.path.expanduser(source)
    if os.path.isfile(path):
        try:
            records = _read_jsonl(path) if path.lower().endswith(JSONL_SUFFIXES) else _read_table(path)
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}).") from None
    elif os.path.splitext(path)[1].lower() in (".csv", ".tsv", ".txt", *JSONL_SUFFIXES) or path.count("/") > 1:
        raise FileNotFoundError(f"No such data file: {source!r}.")
    else:
        records = _read_hub(source, split)
    if not records.rows:
        raise ValueError(f"{records.source}: no rows of data.")
    return records


def _read_table(path: str) -> _Records:
    """A CSV/TSV file with a header line; its column names lower-cased."""
    table = TableFile(path)
    rows = [(line, dict(zip(table.header, cells))) for line, cells in table.rows]
    return _Records(path, table.header, rows, "line", file_source(path, len(rows)))


def _read_jsonl(path: str) -> _Records:
    rows, header = [], {}
    with open(path, encoding="utf-8-sig") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {line_number}: not valid JSON ({error.msg}).") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}, line {line_number}: expected a JSON object, got {type(row).__name__}.")
            header.update(dict.fromkeys(row))
            rows.append((line_number, row))
    return _Records(path, list(header), rows, "line", file_source(path, len(rows)))


def _read_hub(source: str, split: str) -> _Records:
    from datasets import load_dataset

    name, _, split = source.partition("@") if "@" in source else (source, "", split)
    name, _, config = name.partition(":")
    try:
        dataset = load_dataset(name, config or None, split=split)
    except Exception as error:  # noqa: BLE001 — the Hub's errors are many; the user needs one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OSError(
            f"Data {source!r}: no such file, and loading it from the Hugging Face Hub failed: {first}"
        ) from error
    label = f"{name}{':' + config if config else ''}@{split}"
    header = list(dataset.column_names)
    rows = list(enumerate(dataset.to_list(), start=1))
    return _Records(label, header, rows, "row", {**hub_source(name, config or None, split), "rows": len(rows)})


def find_columns(
    records: _Records, task_type: str | None, text_columns: Sequence[str] | None, label_column: str | None
) -> tuple[str, Columns, bool]:
    """The task type and the columns to read; ``True`` when the task type was inferred.

    Raises:
        ValueError: a named column is missing, no known column name is found, or the
            number of text columns does not fit the task type.
    """
    if task_type is not None:
        check_choice("task type", task_type, tuple(TASK_TYPES))
    if text_columns:
        texts = tuple(records.require(name, "text") for name in text_columns)
        if len(texts) not in (1, 2):
            raise ValueError(f"--text-columns takes one or two columns; got {list(text_columns)}.")
    else:
        pair = next((p for p in PAIR_HEADERS if all(records.find([n]) for n in p)), None)
        wanted_pair = task_type in ("pairs", "pairs-score") or (task_type is None and pair is not None)
        if wanted_pair and pair is None:
            raise ValueError(
                f"{records.source}: no pair of text columns; its columns are {records.header}. Name them with "
                f"--text-columns A,B or use one of {[','.join(p) for p in PAIR_HEADERS]}."
            )
        single = records.find(TEXT_HEADERS)
        if not wanted_pair and single is None:
            raise ValueError(
                f"{records.source}: no text column; its columns are {records.header}. Name it with --text-columns "
                f"or use one of {list(TEXT_HEADERS)} (or, for pairs, {[','.join(p) for p in PAIR_HEADERS]})."
            )
        texts = tuple(records.find([n]) for n in pair) if wanted_pair else (single,)
    if task_type is not None and len(texts) != TASK_TYPES[task_type].texts:
        raise ValueError(
            f"Task type {task_type!r} reads {TASK_TYPES[task_type].texts} text column(s); got {list(texts)}."
        )
    if label_column:
        target = records.require(label_column, "label")
    else:
        names = SCORE_HEADERS + LABEL_HEADERS if task_type != "classification" and len(texts) == 2 else LABEL_HEADERS
        target = records.find([n for n in names if records.find([n]) not in texts])
        if target is None:
            raise ValueError(
                f"{records.source}: no label column; its columns are {records.header}. Name it with --label-column "
                f"or use one of {list(names)}."
            )
    if target in texts:
        raise ValueError(f"Column {target!r} cannot be both a text and the label.")
    detected = task_type is None
    if detected:
        task_type = "classification" if len(texts) == 1 else "pairs-score" if _is_score(records, target) else "pairs"
    return task_type, Columns(texts, target), detected


def _is_score(records: _Records, column: str) -> bool:
    """A column named like a score, or one holding a number with a fraction."""
    if column.lower() in SCORE_HEADERS:
        return True
    for _, value in records.values(column):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if math.isfinite(number) and not number.is_integer():
            return True
    return False


def _class_order(labels: Sequence[str]) -> list[str]:
    """The distinct labels, sorted (numerically when every one is an integer)."""
    distinct = set(labels)
    if all(label.lstrip("-").isdigit() for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def _columns_dataset(records: _Records, columns: Columns, task_type: str, classes: list[str] | None) -> dict:
    texts = [records.texts(c) for c in columns.texts]
    names = ("text",) if len(texts) == 1 else ("sentence1", "sentence2")
    data = dict(zip(names, texts))
    if task_type == "pairs-score":
        data["score"] = records.numbers(columns.target)
        return data
    labels = records.labels(columns.target)
    if classes is not None:
        index = {name: i for i, name in enumerate(classes)}
        lines = [line for line, _ in records.rows]
        for line, label in zip(lines, labels):
            if label not in index:
                shown = ", ".join(classes[:8]) + (", …" if len(classes) > 8 else "")
                raise ValueError(
                    f"{records.source}, {records.where} {line}, column {columns.target!r}: class {label!r} does not "
                    f"occur in the training data (its classes: {shown})."
                )
        data["label"] = [index[label] for label in labels]
    else:
        data["label"] = labels
    return data


def load_user_task(
    train: str,
    evaluation: str,
    task_type: str | None = None,
    text_columns: Sequence[str] | None = None,
    label_column: str | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> UserTask:
    """Read and check the user's train and eval data (files or Hub datasets, see :func:`read_records`).

    The columns are found in the training data and must exist in the eval data too.

    Args:
        train, evaluation: a CSV/TSV/JSONL file, or a Hub dataset ``NAME[:CONFIG][@SPLIT]``
            (default split: ``train`` for ``train``, ``validation`` for ``evaluation``).
        task_type: a key of :data:`TASK_TYPES`; None infers it (see the module's docstring).
        text_columns: the text column(s) by name; None finds them.
        label_column: the label or score column by name; None finds it.
        limit: keep a seeded sample of at most this many rows of each (stratified by class).
        seed: seeds the ``limit`` sample.

    Raises:
        ValueError: malformed data (the message names the file, the line and the column),
            a classification with fewer than two training classes, or a score column that
            is constant in the eval data (Spearman is undefined).
        OSError: a missing file or a failed Hub download.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of rows; got {limit!r}.")
    train_records = read_records(train, "train")
    eval_records = read_records(evaluation, "validation")
    task_type, columns, detected = find_columns(train_records, task_type, text_columns, label_column)
    found = "as in the training data"
    eval_columns = Columns(
        tuple(eval_records.require(n, found) for n in columns.texts), eval_records.require(columns.target, found)
    )
    classes = None
    if task_type != "pairs-score":
        classes = _class_order(train_records.labels(columns.target))
        if len(classes) < 2:
            raise ValueError(
                f"{train_records.source}: column {columns.target!r} holds one class only ({classes[0]!r}); "
                "classification needs at least two."
            )
    train_data = _columns_dataset(train_records, columns, task_type, classes)
    eval_data = _columns_dataset(eval_records, eval_columns, task_type, classes)
    if task_type == "pairs-score" and len(set(eval_data["score"])) < 2:
        raise ValueError(
            f"{eval_records.source}: every score in column {columns.target!r} is the same; Spearman needs two or more."
        )
    if limit is not None:
        train_data, eval_data = (_sample(d, limit, seed) for d in (train_data, eval_data))
    return UserTask(
        task_type=task_type,
        train=_dataset(train_data),
        evaluation=_dataset(eval_data),
        columns=columns,
        classes=classes or [],
        sources=(train_records.source, eval_records.source),
        detected=detected,
        origins=(train_records.origin, eval_records.origin),
    )


def _sample(data: dict[str, list], limit: int, seed: int) -> dict[str, list]:
    n = len(next(iter(data.values())))
    keep = sample_rows(n, limit, data.get("label"), seed)
    return {name: [values[i] for i in keep] for name, values in data.items()}


def _dataset(columns: dict[str, list]) -> Dataset:
    from datasets import Dataset

    return Dataset.from_dict(columns)
