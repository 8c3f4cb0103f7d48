"""MTEB evaluation of GLOT models, including tasks built from local files.

``mteb.evaluate(model, tasks=...)`` takes a GLOT ``SentenceTransformer`` like any
other. Two things are added here:

- a distinct, stable model name (:func:`model_name`). mteb 2 wraps a
  ``SentenceTransformer`` in ``SentenceTransformerEncoderWrapper`` and names it
  ``model.model_card_data.model_name``, falling back to ``base_model``, falling
  back to ``"no_model_name/available"``; its results cache is keyed by that name
  and ``base_model_revision``. A GLOT model built on a Hub backbone would thus
  be cached as the bare backbone, and one on a local backbone as "no name":
  either way one model's scores could be served for another.
  :func:`name_model` (called by :func:`st_glot.models.factory.make_model`, ``fit`` and
  ``st-glot mteb``) gives the model a card whose name is derived from its
  weights at the moment it is read;
- tasks from in-memory data or local files (:func:`sts_task`,
  :func:`classification_task` and their ``*_from_*`` readers), so evaluation
  runs without a dataset hub. Each is an ``AbsTaskSTS`` / ``AbsTaskClassification``
  whose ``load_data`` fills ``self.dataset`` from memory; its
  ``TaskMetadata.dataset.revision`` is a hash of the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from datasets import Dataset, DatasetDict
from sentence_transformers import SentenceTransformer

from st_glot.evaluation.tasks import STS_SCORE_RANGE, read_categories, read_labelled, read_sts_pairs, sample_rows
from st_glot.hub.identity import model_name
from st_glot.utils.provenance import file_source

__all__ = [
    "classification_task",
    "classification_task_from_folder",
    "model_name",
    "mteb_results_table",
    "name_model",
    "sts_task",
    "sts_task_from_file",
]

#: File stems accepted as the evaluation split of a local classification folder, in order of preference.
EVAL_STEMS: tuple[str, ...] = ("test", "dev", "validation")


def name_model(model: SentenceTransformer) -> SentenceTransformer:
    """Give ``model`` st-glot's model card, whose ``model_name`` is :func:`model_name` of the model.

    The name is recomputed whenever it is read, so it follows training; a name
    set explicitly (``model.model_card_data.model_name = "org/x"``) wins.
    Returns ``model``.
    """
    from st_glot.hub.model_card import attach_glot_card

    return attach_glot_card(model)


def _metadata(name: str, kind: str, main_score: str, data: Any, description: str, language: str) -> Any:
    from mteb.abstasks.task_metadata import TaskMetadata

    revision = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return TaskMetadata(
        name=name,
        description=description,
        dataset={"path": f"local/{name}", "revision": revision},
        type=kind,
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs=[language],
        main_score=main_score,
        reference=None,
        date=None,
        domains=[],
        task_subtypes=[],
        license="not specified",
        annotations_creators="derived",
        dialect=[],
        sample_creation="found",
        bibtex_citation="",
    )


def sts_task(
    name: str,
    sentence1: Sequence[str],
    sentence2: Sequence[str],
    scores: Sequence[float],
    min_score: float = 0.0,
    max_score: float = 5.0,
    language: str = "eng-Latn",
) -> Any:
    """An MTEB STS task (``AbsTaskSTS``) on the given pairs; main score: Spearman of cosine similarity.

    Args:
        name: the task name MTEB reports and caches results under.
        sentence1: the first text of each pair.
        sentence2: the second text of each pair.
        scores: each pair's gold similarity.
        min_score: the lowest possible score (STS-B: 0).
        max_score: the highest possible score (STS-B: 5).
        language: an ISO 639-3 + script code, e.g. ``"eng-Latn"``.
    """
    from mteb.abstasks.sts import AbsTaskSTS

    if not len(sentence1) == len(sentence2) == len(scores):
        raise ValueError(
            f"sts_task {name!r}: sentence1, sentence2 and scores must have equal lengths; "
            f"got {len(sentence1)}, {len(sentence2)} and {len(scores)}."
        )
    if len(scores) < 2:
        raise ValueError(f"sts_task {name!r}: a correlation needs at least 2 pairs; got {len(scores)}.")
    columns = {"sentence1": list(sentence1), "sentence2": list(sentence2), "score": [float(s) for s in scores]}

    class LocalSTSTask(AbsTaskSTS):
        metadata = _metadata(name, "STS", "cosine_spearman", columns, f"Local STS pairs ({len(scores)}).", language)

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            self.dataset = DatasetDict({"test": Dataset.from_dict(columns)})
            self.data_loaded = True

    LocalSTSTask.min_score, LocalSTSTask.max_score = min_score, max_score
    return LocalSTSTask()


def classification_task(
    name: str,
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    test_texts: Sequence[str],
    test_labels: Sequence[int],
    n_experiments: int = 10,
    samples_per_label: int | None = None,
    language: str = "eng-Latn",
) -> Any:
    """An MTEB classification task (``AbsTaskClassification``): logistic regression on frozen embeddings.

    MTEB fits the classifier on embeddings of the training texts and reports
    accuracy on the test texts, averaged over ``n_experiments`` runs (each on a
    fresh sample of ``samples_per_label`` texts per class when that is set, else
    MTEB's default).
    """
    from mteb.abstasks.classification import AbsTaskClassification

    for split, texts, labels in (("train", train_texts, train_labels), ("test", test_texts, test_labels)):
        if len(texts) != len(labels) or not texts:
            raise ValueError(
                f"classification_task {name!r}: the {split} split needs as many labels as texts, and at least one; "
                f"got {len(texts)} texts and {len(labels)} labels."
            )
    if n_experiments < 1:
        raise ValueError(f"n_experiments must be at least 1; got {n_experiments!r}.")
    splits = {
        "train": {"text": list(train_texts), "label": [int(x) for x in train_labels]},
        "test": {"text": list(test_texts), "label": [int(x) for x in test_labels]},
    }

    class LocalClassificationTask(AbsTaskClassification):
        metadata = _metadata(
            name,
            "Classification",
            "accuracy",
            splits,
            f"Local classification ({len(set(splits['train']['label']))} classes).",
            language,
        )

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            self.dataset = DatasetDict({split: Dataset.from_dict(columns) for split, columns in splits.items()})
            self.data_loaded = True

    LocalClassificationTask.n_experiments = n_experiments
    if samples_per_label is not None:
        LocalClassificationTask.samples_per_label = samples_per_label
    return LocalClassificationTask()


def sts_task_from_file(
    path: str | os.PathLike, name: str | None = None, limit: int | None = None, seed: int = 0
) -> Any:
    """An STS task from a local file (the layouts of :func:`st_glot.evaluation.tasks.read_sts_pairs`).

    Scores keep their scale and must lie in 0–5; the range is taken as 0–5 unless
    every score lies in [0, 1]. ``limit`` keeps a sample of that many pairs, drawn
    with ``seed``.
    """
    sentence1, sentence2, scores = read_sts_pairs(path)
    if limit is not None:
        keep = sample_rows(len(scores), limit, seed=seed)
        sentence1, sentence2, scores = ([column[i] for i in keep] for column in (sentence1, sentence2, scores))
    top = 1.0 if max(scores) <= 1.0 else STS_SCORE_RANGE[1]
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return sts_task(name or f"LocalSTS-{stem}", sentence1, sentence2, scores, STS_SCORE_RANGE[0], top)


def _split_file(folder: str, stems: Sequence[str]) -> str:
    for stem in stems:
        for ext in (".csv", ".tsv"):
            if os.path.isfile(os.path.join(folder, stem + ext)):
                return os.path.join(folder, stem + ext)
    raise FileNotFoundError(
        f"{folder}: no {' / '.join(stems)} file; a classification folder holds train.csv|tsv and one of "
        f"{[s + '.csv|tsv' for s in EVAL_STEMS]}."
    )


def classification_sources(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The provenance of the files :func:`classification_task_from_folder` reads: the train and eval files with
    the rows read from each, and ``categories.json`` (with its number of names) when present."""
    folder = os.fspath(folder)
    paths = [_split_file(folder, ("train",)), _split_file(folder, EVAL_STEMS)]
    sources = [file_source(path, len(read_labelled(path).texts)) for path in paths]
    names = read_categories(folder)
    if names is not None:
        sources.append(file_source(os.path.join(folder, "categories.json"), len(names)))
    return sources


def classification_task_from_folder(
    folder: str | os.PathLike,
    name: str | None = None,
    n_experiments: int = 10,
    samples_per_label: int | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> Any:
    """A classification task from a local folder.

    The folder holds ``train.csv`` (or ``.tsv``) and ``test``/``dev``/``validation``
    ``.csv``/``.tsv``, read by :func:`st_glot.evaluation.tasks.read_labelled` (a header
    naming a text column and a label column): the layouts of Banking77, SST-2 and
    CoLA in the offline data folder. Labels may be names; ``categories.json`` (a list
    of names), when present, fixes their ids, else integer labels are their own ids
    and names are numbered in sorted order. ``limit`` keeps a sample of that many
    rows of each split, drawn with ``seed`` and stratified by class.
    """
    folder = os.fspath(folder)
    train = read_labelled(_split_file(folder, ("train",)))
    test = read_labelled(_split_file(folder, EVAL_STEMS))
    names = read_categories(folder)
    if names is None and not all(x.lstrip("-").isdigit() for x in train.labels + test.labels):
        names = sorted(set(train.labels) | set(test.labels))
    splits = []
    for rows in (train, test):
        ids = rows.ids(names)
        keep = sample_rows(len(ids), limit, ids, seed) if limit is not None else range(len(ids))
        splits += [[rows.texts[i] for i in keep], [ids[i] for i in keep]]
    return classification_task(
        name or f"LocalClassification-{os.path.basename(os.path.normpath(folder))}",
        *splits,
        n_experiments=n_experiments,
        samples_per_label=samples_per_label,
    )


def mteb_results_table(result: Any) -> str:
    """A Markdown table of an ``mteb.evaluate`` result: one row per task, split and subset, with its main score."""
    lines = ["| task | split | subset | main score |", "|---|---|---|---|"]
    for task_result in result.task_results:
        for split, subsets in task_result.scores.items():
            for subset in subsets:
                lines.append(
                    f"| {task_result.task_name} | {split} | {subset.get('hf_subset', 'default')} "
                    f"| {subset['main_score']:.4f} |"
                )
    return "\n".join(lines)
