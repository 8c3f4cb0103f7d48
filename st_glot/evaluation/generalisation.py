"""The generalisation protocol: do poolers trained on a frozen backbone hold up beyond their training data?

Every trained method is fitted by :func:`~st_glot.evaluation.compare.compare_poolers` (one
token-state cache for all methods and seeds) and scored on texts it never saw, encoded from
the same cache (:func:`~st_glot.training.fit.cached_encoder`). Four measurements:

- ``logo:<genre>`` (leave one genre out): STS-B train has three genres (its first column:
  ``main-captions``, ``main-news``, ``main-forum``). For each, train with CoSENT on the other
  two genres' training pairs and report Spearman ×100 of the cosine on that genre's dev pairs.
- ``stsb``: trained with CoSENT on all of STS-B train, Spearman ×100 on STS-B dev (in distribution).
- ``mrpc-zero-shot``: the same models, MRPC test pairs scored by cosine, ROC-AUC ×100 against the
  paraphrase label (no MRPC training).
- ``mnrl:stsb`` and ``mnrl:banking77``: trained with in-batch negatives (``loss="mnrl"``) on
  positive pairs only (MRPC training paraphrases and STS-B training pairs scored ≥ 4 of 5); Spearman
  ×100 on STS-B dev, and Banking77 accuracy ×100 through st-glot's local MTEB classification task
  (logistic regression on the embeddings, :func:`~st_glot.evaluation.mteb_tasks.classification_task_from_folder`).

Untrained baselines (``"<method> (untrained)"``, for the parameter-free methods asked for: mean,
max, cls, prompteol) get the same scores with no training and no projection; ``logo`` then reads
the genre's dev pairs alone.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from datasets import Dataset, concatenate_datasets
from scipy.stats import rankdata, spearmanr
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

from st_glot.evaluation.compare import compare_poolers, mean_and_std
from st_glot.evaluation.costs import CacheFills, cost_record, format_cost_table
from st_glot.evaluation.tasks import load_task, read_sts_genres, task_sources
from st_glot.models.factory import make_model
from st_glot.models.lora import has_adapters
from st_glot.training.fit import cached_encoder

logger = logging.getLogger(__name__)

#: STS-B's genres, as its first column names them in the training file.
GENRES: tuple[str, ...] = ("main-captions", "main-news", "main-forum")
#: Other spellings of a genre (the STS Benchmark's dev file writes ``main-forums``).
GENRE_SPELLINGS: dict[str, str] = {"main-forums": "main-forum"}
#: STS-B pairs scored at least this (on the [0, 1] scale, i.e. 4 of 5) count as positives for MNRL.
POSITIVE_SCORE = 0.8
#: Methods without parameters of their own: scored untrained too.
PARAMETER_FREE: tuple[str, ...] = ("mean", "max", "cls", "prompteol")
#: The measurements, in table order.
MEASUREMENTS: tuple[str, ...] = (
    *(f"logo:{g}" for g in GENRES),
    "stsb",
    "mrpc-zero-shot",
    "mnrl:stsb",
    "mnrl:banking77",
)
#: The loss of the models each measurement scores (the untrained baselines aside).
MEASUREMENT_LOSSES: dict[str, str] = {m: "mnrl" if m.startswith("mnrl:") else "cosent" for m in MEASUREMENTS}


@dataclass
class ProtocolData:
    """The protocol's datasets, read from the offline data folder (:func:`load_protocol_data`)."""

    stsb_train: Dataset
    stsb_dev: Dataset
    train_genres: list[str]
    dev_genres: list[str]
    mrpc_train: Dataset
    mrpc_test: Dataset
    banking77_folder: str | None

    def genre(self, split: str, genre: str) -> Dataset:
        """The rows of STS-B ``split`` (``"train"`` or ``"dev"``) in ``genre``."""
        data, genres = (self.stsb_train, self.train_genres) if split == "train" else (self.stsb_dev, self.dev_genres)
        return data.select([i for i, g in enumerate(genres) if g == genre])

    def without_genre(self, genre: str) -> Dataset:
        """STS-B train less the rows of ``genre``."""
        return self.stsb_train.select([i for i, g in enumerate(self.train_genres) if g != genre])

    def positive_pairs(self) -> Dataset:
        """``(anchor, positive)`` rows: MRPC training paraphrases and STS-B training pairs scored ≥ 4 of 5."""
        mrpc = self.mrpc_train.select([i for i, y in enumerate(self.mrpc_train["label"]) if y == 1])
        sts = self.stsb_train.select([i for i, y in enumerate(self.stsb_train["score"]) if y >= POSITIVE_SCORE])
        mrpc, sts = mrpc.remove_columns("label"), sts.remove_columns("score")
        pairs = concatenate_datasets([mrpc, sts])
        return pairs.rename_columns({"sentence1": "anchor", "sentence2": "positive"})


def load_protocol_data(data_dir: str, banking77: bool = True) -> ProtocolData:
    """Read STS-B (with genres), MRPC and, with ``banking77``, locate Banking77 under ``data_dir``.

    Raises:
        ValueError: an STS-B genre missing from a split (the message names the genres found).
        FileNotFoundError: a missing task folder.
    """
    folder = os.path.join(os.path.expanduser(data_dir), "stsb")
    stsb_train, stsb_dev = load_task("stsb", data_dir)
    train_genres, dev_genres = (
        [GENRE_SPELLINGS.get(g, g) for g in read_sts_genres(os.path.join(folder, file))]
        for file in ("sts-train.csv", "sts-dev.csv")
    )
    for split, genres in (("sts-train.csv", train_genres), ("sts-dev.csv", dev_genres)):
        missing = [g for g in GENRES if g not in genres]
        if missing:
            raise ValueError(f"{folder}/{split}: no rows of genre {missing}; found {sorted(set(genres))}.")
    mrpc_train, mrpc_test = load_task("mrpc", data_dir)
    banking = os.path.join(os.path.expanduser(data_dir), "banking77") if banking77 else None
    if banking is not None and not os.path.isdir(banking):
        raise FileNotFoundError(f"No folder {banking!r} for Banking77; give the data folder that holds banking77/.")
    return ProtocolData(stsb_train, stsb_dev, train_genres, dev_genres, mrpc_train, mrpc_test, banking)


def protocol_sources(data_dir: str, banking77: bool = True) -> list[dict[str, Any]]:
    """The provenance of the files :func:`load_protocol_data` reads (STS-B, MRPC) and, with ``banking77``,
    of the Banking77 files the ``mnrl:banking77`` measurement reads: paths, SHA-256 and rows."""
    from st_glot.evaluation.mteb_tasks import classification_sources

    sources = task_sources("stsb", data_dir) + task_sources("mrpc", data_dir)
    if banking77:
        sources += classification_sources(os.path.join(os.path.expanduser(data_dir), "banking77"))
    return sources


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """ROC-AUC of ``scores`` against binary ``labels``: the chance that a random positive outscores a random
    negative (ties count one half), from the Mann–Whitney rank sum: ``(R₊ − n₊(n₊+1)/2) / (n₊ n₋)``."""
    labels = np.asarray(labels)
    positives, negatives = int((labels == 1).sum()), int((labels != 1).sum())
    if not positives or not negatives:
        raise ValueError(f"ROC-AUC needs both classes; got {positives} positive and {negatives} negative labels.")
    ranks = rankdata(scores)  # (n,) average ranks for ties
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def pair_cosines(encoder: SentenceTransformer, pairs: Dataset, batch_size: int = 32) -> np.ndarray:
    """Cosine similarity of each ``(sentence1, sentence2)`` row's two embeddings."""
    a = encoder.encode(pairs["sentence1"], batch_size=batch_size, convert_to_tensor=True)
    b = encoder.encode(pairs["sentence2"], batch_size=batch_size, convert_to_tensor=True)
    return torch.nn.functional.cosine_similarity(a, b).cpu().numpy()


def _spearman(encoder: SentenceTransformer, pairs: Dataset) -> float:
    return 100 * float(spearmanr(pair_cosines(encoder, pairs), pairs["score"]).statistic)


def _banking77(encoder: SentenceTransformer, folder: str, limit: int | None, seed: int) -> float:
    import mteb

    from st_glot.evaluation.mteb_tasks import classification_task_from_folder, name_model

    task = classification_task_from_folder(folder, name="Banking77Local", limit=limit, seed=seed)
    with warnings.catch_warnings():  # mteb's and scikit-learn's notes about their own internals, once per model
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*ill-defined.*")
        result = mteb.evaluate(name_model(encoder), [task], cache=None, show_progress_bar=False)
    return 100 * result.task_results[0].scores["test"][0]["main_score"]


def _banking77_texts(folder: str, limit: int | None, seed: int) -> list[str]:
    from st_glot.evaluation.mteb_tasks import classification_task_from_folder

    task = classification_task_from_folder(folder, limit=limit, seed=seed)
    task.load_data()
    return [t for split in task.dataset.values() for t in split["text"]]


def run_protocol(
    backbone: Transformer,
    methods: Sequence[str],
    seeds: Sequence[int],
    data: ProtocolData,
    glot_kwargs: dict[str, Any] | None = None,
    banking77_limit: int | None = None,
    **fit_kwargs: Any,
) -> Iterator[dict[str, Any]]:
    """Yield one record per (measurement, method, seed) as it is scored: ``measurement`` (one of
    :data:`MEASUREMENTS`), ``method``, ``seed`` (None untrained), ``score`` (×100); a trained method's
    records also hold ``training`` (the measurements its training run serves, e.g. ``"stsb, mrpc-zero-shot"``)
    and that run's ``cost`` (:func:`~st_glot.evaluation.costs.cost_record`, the run's cache fill charged
    to every cached method of every seed).

    Args:
        backbone: the frozen backbone (with its template, if any).
        methods: pooling methods to train (:data:`~st_glot.utils.choices.POOLINGS`); those in
            :data:`PARAMETER_FREE` are also scored untrained.
        seeds: each seeds the initialisation and the training order.
        data: :func:`load_protocol_data`; without Banking77 the ``mnrl:banking77`` measurement is skipped.
        banking77_limit: a seeded, stratified sample of this many rows of each Banking77 split.
        fit_kwargs: :func:`~st_glot.training.fit.fit` options (epochs, learning rate, batch size, cache …).
    """
    cache_options = {k: fit_kwargs[k] for k in ("cache_dir", "cache_dtype") if k in fit_kwargs}
    eval_texts = [t for d in (data.stsb_dev, data.mrpc_test) for c in ("sentence1", "sentence2") for t in d[c]]
    if data.banking77_folder is not None:
        eval_texts += _banking77_texts(data.banking77_folder, banking77_limit, seeds[0])

    def score(model: SentenceTransformer, measurements: Sequence[str]) -> Iterator[tuple[str, float]]:
        # a LoRA model's backbone is its own: no cache holds its states
        encoder = model if has_adapters(model[0]) else cached_encoder(model, eval_texts, **cache_options)
        encoder.eval()
        with torch.no_grad():
            for measurement in measurements:
                if measurement.startswith("logo:"):
                    yield measurement, _spearman(encoder, data.genre("dev", measurement.removeprefix("logo:")))
                elif measurement in ("stsb", "mnrl:stsb"):
                    yield measurement, _spearman(encoder, data.stsb_dev)
                elif measurement == "mrpc-zero-shot":
                    yield measurement, 100 * roc_auc(pair_cosines(encoder, data.mrpc_test), data.mrpc_test["label"])
                elif data.banking77_folder is not None:  # mnrl:banking77
                    # the same Banking77 sample for every seed: the first seed's, whose texts were cached above
                    yield measurement, _banking77(encoder, data.banking77_folder, banking77_limit, seeds[0])

    def record(measurement: str, method: str, seed: int | None, value: float, **run: Any) -> dict[str, Any]:
        logger.info("%-16s %-22s seed %s %.2f", measurement, method, seed, value)
        return {"measurement": measurement, "method": method, "seed": seed, "score": value, **run}

    for method in (m for m in methods if m in PARAMETER_FREE):
        model = make_model(backbone, method)
        for measurement, value in score(model, MEASUREMENTS):
            yield record(measurement, f"{method} (untrained)", None, value)

    runs: list[tuple[Dataset, tuple[str, ...]]] = [(data.without_genre(genre), (f"logo:{genre}",)) for genre in GENRES]
    runs.append((data.stsb_train, ("stsb", "mrpc-zero-shot")))
    runs.append((data.positive_pairs(), ("mnrl:stsb", "mnrl:banking77")))
    fills = {measurements: CacheFills() for _, measurements in runs}  # each run's own data, over the seeds
    for seed in seeds:
        for train, measurements in runs:
            training = ", ".join(measurements)
            for method, result, model in compare_poolers(
                backbone,
                train,
                None,
                methods,
                loss=MEASUREMENT_LOSSES[measurements[0]],
                seed=seed,
                glot_kwargs=glot_kwargs,
                run_label=f"for {training}, seed {seed}",
                cache_fills=fills[measurements],
                **fit_kwargs,
            ):
                cost = cost_record(result.cost)
                for measurement, value in score(model, measurements):
                    yield record(measurement, method, seed, value, training=training, cost=cost)


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per method, per measurement (and ``"logo:avg"``, each seed's mean over the genres first):
    ``(mean, sample std)`` over seeds (std 0 for one run)."""
    per: dict[str, dict[str, dict[Any, float]]] = {}
    for r in records:
        per.setdefault(r["method"], {}).setdefault(r["measurement"], {})[r["seed"]] = r["score"]
    summary: dict[str, dict[str, tuple[float, float]]] = {}
    for method, measured in per.items():
        logo = [measured.get(f"logo:{g}", {}) for g in GENRES]
        seeds = set.intersection(*(set(x) for x in logo)) if all(logo) else set()
        if seeds:
            measured["logo:avg"] = {s: float(np.mean([x[s] for x in logo])) for s in seeds}
        summary[method] = {}
        for measurement, by_seed in measured.items():
            values = list(by_seed.values())
            summary[method][measurement] = mean_and_std(values)
    return summary


def format_table(records: Sequence[dict[str, Any]]) -> str:
    """Markdown: one row per method, one column per measurement (mean ± std over seeds, ×100), and GLOT's
    margin over the best other method (trained or untrained) in each column."""
    summary = summarise(records)
    columns = [*MEASUREMENTS[: len(GENRES)], "logo:avg", *MEASUREMENTS[len(GENRES) :]]
    columns = [c for c in columns if any(c in s for s in summary.values())]
    lines = ["| method | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for method, measured in summary.items():
        cells = []
        for c in columns:
            mean, std = measured.get(c, (None, None))
            cells.append("" if mean is None else f"{mean:.2f} ± {std:.2f}" if std else f"{mean:.2f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    if "glot" in summary and len(summary) > 1:
        margins = []
        for c in columns:
            others = [m[c][0] for name, m in summary.items() if name != "glot" and c in m]
            margins.append(f"{summary['glot'][c][0] - max(others):+.2f}" if c in summary["glot"] and others else "")
        lines.append("| glot − best other | " + " | ".join(margins) + " |")
    return "\n".join(lines)


def format_costs(records: Sequence[dict[str, Any]]) -> str:
    """The cost table (:func:`~st_glot.evaluation.costs.format_cost_table`) of the training runs behind
    ``records``: one row per method and run (a run scored on several measurements counts once), means over seeds.

    The runs share one token-state cache and their training texts overlap (each leave-one-genre-out set is part
    of STS-B train), so a run is charged the fill of the texts it added to the cache, not of all its texts."""
    runs = {(r["training"], r["method"], r["seed"]): r for r in records if "cost" in r}
    return format_cost_table(list(runs.values()), group="training")
