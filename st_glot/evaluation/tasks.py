"""Benchmark tasks as ``datasets.Dataset`` pairs: from local files offline, or from the Hub.

Each task is described by a :class:`Task` (text columns, label kind, loss,
metric) and loaded as ``(train, eval)`` with columns ``text`` or
``sentence1``/``sentence2`` plus ``label`` (class id) or ``score`` (in [0, 1]).

Local files follow the layout of the offline data folder (one sub-folder per
task: ``stsb/``, ``sst2/``, ``cola/``, ``mrpc/``, ``banking77/``); without a
folder the GLUE copies on the Hugging Face Hub are used.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass

from datasets import Dataset

from st_glot.utils.checks import check_choice


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
    """

    name: str
    pair: bool
    loss: str
    metric: str
    hub: tuple[str, str]
    hub_eval_split: str = "validation"
    hub_columns: tuple[str, ...] = ()


TASKS: dict[str, Task] = {
    "stsb": Task("stsb", pair=True, loss="cosine", metric="spearman", hub=("nyu-mll/glue", "stsb")),
    "sst2": Task("sst2", pair=False, loss="classification", metric="accuracy", hub=("nyu-mll/glue", "sst2")),
    "cola": Task("cola", pair=False, loss="classification", metric="mcc", hub=("nyu-mll/glue", "cola")),
    "mrpc": Task("mrpc", pair=True, loss="classification", metric="f1", hub=("nyu-mll/glue", "mrpc")),
    "qqp": Task(
        "qqp",
        pair=True,
        loss="classification",
        metric="f1",
        hub=("nyu-mll/glue", "qqp"),
        hub_columns=("question1", "question2"),
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


def load_task(name: str, data_dir: str | None = None, limit: int | None = None) -> tuple[Dataset, Dataset]:
    """Load a task's ``(train, eval)`` datasets.

    Args:
        name: a key of :data:`TASKS`.
        data_dir: the offline data folder (holding ``stsb/`` etc.); None loads from the Hub.
        limit: keep at most this many rows of each split (first rows, for quick runs).
    """
    check_choice("task", name, tuple(TASKS))
    if data_dir is None:
        train, dev = _from_hub(TASKS[name])
    elif name not in _LOCAL_READERS:
        raise ValueError(
            f"Task {name!r} has no local reader; local files are read for {tuple(_LOCAL_READERS)}. "
            "Drop --data-dir to load it from the Hugging Face Hub."
        )
    else:
        folder = os.path.join(os.path.expanduser(data_dir), name)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"No folder {folder!r} for task {name!r}: --data-dir should hold {name}/.")
        train, dev = _LOCAL_READERS[name](folder)
    if limit is not None:
        train, dev = (ds.select(range(min(limit, len(ds)))) for ds in (train, dev))
    return train, dev


def _rows(path: str, delimiter: str = "\t", header: bool = True) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [
            [cell.strip() for cell in row]
            for row in csv.reader(
                f, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
            )
        ]
    return [r for r in (rows[1:] if header else rows) if any(r)]


def _stsb(folder: str) -> tuple[Dataset, Dataset]:
    def read(file):
        rows = _rows(os.path.join(folder, file), header=False)
        return Dataset.from_dict(
            {
                "sentence1": [r[5] for r in rows],
                "sentence2": [r[6] for r in rows],
                "score": [float(r[4]) / 5.0 for r in rows],
            }
        )

    return read("sts-train.csv"), read("sts-dev.csv")


def _single(files_train: list[str], files_eval: list[str], text: int, label: int):
    def reader(folder: str) -> tuple[Dataset, Dataset]:
        def read(files):
            rows = [r for f in files for r in _rows(os.path.join(folder, f))]
            return Dataset.from_dict({"text": [r[text] for r in rows], "label": [int(r[label]) for r in rows]})

        return read(files_train), read(files_eval)

    return reader


def _mrpc(folder: str) -> tuple[Dataset, Dataset]:
    def read(files):
        rows = [r for f in files for r in _rows(os.path.join(folder, f))]
        return Dataset.from_dict(
            {"sentence1": [r[3] for r in rows], "sentence2": [r[4] for r in rows], "label": [int(r[0]) for r in rows]}
        )

    return read(["msr-para-train.tsv", "msr-para-val.tsv"]), read(["msr-para-test.tsv"])


def _banking77(folder: str) -> tuple[Dataset, Dataset]:
    with open(os.path.join(folder, "categories.json"), encoding="utf-8") as f:
        label_of = {name: i for i, name in enumerate(json.load(f))}

    def read(file):
        rows = _rows(os.path.join(folder, file), delimiter=",")
        return Dataset.from_dict({"text": [r[0] for r in rows], "label": [label_of[r[1]] for r in rows]})

    return read("train.csv"), read("test.csv")


_LOCAL_READERS = {
    "stsb": _stsb,
    "sst2": _single(["train.tsv"], ["dev.tsv"], text=1, label=0),
    "cola": _single(["train.tsv"], ["test_idd.tsv", "test_ood.tsv"], text=0, label=1),
    "mrpc": _mrpc,
    "banking77": _banking77,
}


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
