"""``fit``: train the pooler (and a task head) on a frozen backbone.

The backbone runs once over every distinct text and its token states go to the
:class:`~st_glot.training.cache.TokenStateCache`; training then runs sentence-transformers'
own ``SentenceTransformerTrainer`` on a stand-in model
``[CachedTokenStates, pooler, …]`` that shares the pooler (and every module
after it) with the user's model, so the user's model is trained in place and
the backbone is never run again for these texts.

:func:`fit` runs these steps: fill the cache (:func:`_filled_cache`), build the
stand-in (:func:`_stand_in`), the loss (:func:`_make_loss`), the evaluator
(:func:`_make_evaluator`) and the training arguments (:func:`_training_arguments`),
train (:func:`_train`, which resumes from ``checkpoint_dir``), record the training
on the model card and save.

Losses (``loss=``):

- ``"cosent"``: CoSENT on scored pairs (sentence-transformers' ``CoSENTLoss``);
- ``"cosine"``: MSE between cosine and the score (``CosineSimilarityLoss``; the
  paper's STS-B set-up with scores scaled to [0, 1]);
- ``"mnrl"``: in-batch-negatives InfoNCE on (query, positive[, negative]) rows,
  symmetric for pairs, temperature 0.07 (the paper's embedding set-up);
- ``"classification"``: a :class:`~st_glot.training.heads.LinearHead` on the pooled
  vector (one text column) or on ``[z_a, z_b]`` (two), with cross-entropy.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import (
    EmbeddingSimilarityEvaluator,
)
from sentence_transformers.sentence_transformer.losses import (
    CoSENTLoss,
    CosineSimilarityLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.sentence_transformer.model_card import SentenceTransformerModelCardData
from sentence_transformers.sentence_transformer.modules import Pooling
from sentence_transformers.sentence_transformer.trainer import (
    SentenceTransformerTrainer,
)
from sentence_transformers.sentence_transformer.training_args import (
    SentenceTransformerTrainingArguments,
)
from tqdm.auto import tqdm
from transformers import PrinterCallback, TrainerCallback

from st_glot.hub.model_card import record_training
from st_glot.models.factory import assemble
from st_glot.models.lora import adapters_merged, has_adapters
from st_glot.nn.serialization import WEIGHTS_NAME
from st_glot.training.cache import TokenStateCache
from st_glot.training.cached_input import CachedTokenStates
from st_glot.training.cost import Cost, PeakMemory, trainable_parameters
from st_glot.training.frozen import backbone_states, frozen
from st_glot.training.heads import (
    HEAD_FOLDER,
    ClassificationEvaluator,
    ClassificationLoss,
    LinearHead,
)
from st_glot.training.lora import training_backbone
from st_glot.training.sampler import LengthBucketBatchSampler
from st_glot.utils.checks import check_choice, check_int
from st_glot.utils.choices import DEFAULT_CACHE_DIR, LOSSES
from st_glot.utils.distributed import rank_and_world_size
from st_glot.utils.progress import library_bars_off

logger = logging.getLogger(__name__)

LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "score", "scores")
#: The paper's InfoNCE temperature for embedding training.
INFONCE_TEMPERATURE = 0.07


@dataclass
class FitResult:
    """What :func:`fit` did.

    Attributes:
        head: the trained classification head, or None for embedding losses.
        metrics: the final evaluation metrics (empty without ``eval_dataset``).
        precompute_seconds: wall time spent running the backbone to fill the cache.
        train_seconds: wall time of the training loop.
        texts_computed: texts the backbone ran on in this call (0 when all were cached).
        cache_dir: the cache folder used, or None when ``use_cache=False``.
        history: one entry per finished epoch, ``{"epoch": e, "loss": mean training loss, …}``
            plus the evaluation metrics of that epoch when ``eval_every_epoch`` (learning curves).
        cost: trainable parameters, steps, seconds per step, wall time and peak memory
            (:class:`~st_glot.training.cost.Cost`).
    """

    head: LinearHead | None
    metrics: dict[str, float] = field(default_factory=dict)
    precompute_seconds: float = 0.0
    train_seconds: float = 0.0
    texts_computed: int = 0
    cache_dir: str | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    cost: Cost = field(default_factory=Cost)


def text_columns(dataset: Dataset) -> list[str]:
    """The dataset's text columns: every column but the label column, in order."""
    return [c for c in dataset.column_names if c not in LABEL_COLUMNS]


def label_column(dataset: Dataset) -> str | None:
    """The dataset's label column (``label``, ``labels``, ``score`` or ``scores``), if any."""
    return next((c for c in dataset.column_names if c in LABEL_COLUMNS), None)


def fit(
    model: SentenceTransformer,
    train_dataset: Dataset,
    *,
    loss: str = "cosent",
    eval_dataset: Dataset | None = None,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 2e-4,
    weight_decay: float = 0.0,
    cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    cache_dtype: str = "float16",
    use_cache: bool = True,
    group_by_length: bool = False,
    num_labels: int | None = None,
    seed: int = 42,
    prompt: str | None = None,
    output_dir: str | None = None,
    checkpoint_dir: str | None = None,
    eval_every_epoch: bool = True,
    show_progress_bar: bool = True,
    progress_label: str | None = None,
) -> FitResult:
    """Train everything after the backbone of ``model``; the backbone stays frozen, but for LoRA adapters.

    A backbone with LoRA adapters (``make_model(backbone, "lora")``) trains them, and nothing
    else of it (:func:`~st_glot.training.lora.adapters_only`): it then runs in every step and
    the token-state cache is not used (``use_cache`` is ignored).

    Args:
        model: ``SentenceTransformer(modules=[backbone, pooler, …])``; trained in place.
        train_dataset: a ``datasets.Dataset`` whose text columns come first and
            whose label column (if any) is ``label``/``score``.
        loss: one of :data:`LOSSES`.
        eval_dataset: evaluated at the end of each epoch (Spearman for scored pairs,
            accuracy/F1/MCC for classification).
        epochs: passes over ``train_dataset``.
        batch_size: rows per training step (the global batch under ``torchrun``).
        learning_rate: Adam's learning rate, constant throughout, as in the paper.
        seed: seeds the trained modules' initialisation, the head and the batch order.
        weight_decay: decoupled weight decay (AdamW) on the trained modules' weights
            (biases and norms excluded, as transformers' trainer does); 0 is plain Adam.
        cache_dir: root folder of the token-state cache.
        cache_dtype: ``"float16"`` (default), ``"bfloat16"`` or ``"float32"``.
        use_cache: False runs the (frozen) backbone in every step instead.
        group_by_length: batches of texts of similar length (less padding in the
            ``(B, L, L)`` graph, so faster) instead of sentence-transformers'
            random batches; needs the cache (``use_cache``, no adapters). Off by default: where length
            follows the label, such batches hold mostly one class, which slows
            learning (the stress test's reference generator, SmolLM2-135M, 20 %
            distractors, 3 epochs, seed 0: GLOT 0.710 grouped, 0.980 random).
        num_labels: classes for ``"classification"``; inferred from the labels if None.
        prompt: a prompt prepended to every text (part of the cache key).
        output_dir: if given, the trained model (and head) are saved there.
        checkpoint_dir: if given, a checkpoint is written at each epoch's end and an
            interrupted run resumes from the latest complete one (model, optimizer,
            trainer state and, for ``"classification"``, the head); not with LoRA adapters.
        eval_every_epoch: evaluate after every epoch (logged); False evaluates once, at the end.
        show_progress_bar: one bar for the token states the backbone computes and one
            over the training steps; False prints nothing at all.
        progress_label: the training bar's label; default ``"Training <pooler>"``
            (e.g. ``"Training glot"``).

    The trainer's logs (loss, learning rate, evaluation metrics) go to this module's
    logger at INFO level. Under ``torchrun --nproc_per_node N`` (or ``accelerate
    launch``) each process computes every N-th missing text into the shared cache,
    training runs data-parallel with ``batch_size`` as the global batch (each process
    takes ``batch_size / N`` rows of it), and only rank 0 writes ``output_dir``.

    Returns:
        A :class:`FitResult`.
    """
    called = time.perf_counter()
    check_choice("loss", loss, LOSSES)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    adapted = has_adapters(model[0])
    if group_by_length and (adapted or not use_cache):
        raise ValueError(
            "group_by_length=True needs the token-state cache (the text lengths come from it): use_cache=True "
            f"and a backbone without LoRA adapters; got use_cache={use_cache}"
            + (", a backbone with adapters" if adapted else "")
            + "."
        )
    if adapted and checkpoint_dir is not None:
        raise ValueError(
            "checkpoint_dir is not supported for a backbone with LoRA adapters: resuming cannot load them."
        )
    use_cache = use_cache and not adapted
    columns = text_columns(train_dataset)
    if not columns:
        raise ValueError(f"train_dataset has no text column (columns: {train_dataset.column_names}).")
    schedule = _Schedule(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        seed=seed,
        prompt=prompt,
        checkpoint_dir=checkpoint_dir,
        eval_every_epoch=eval_every_epoch,
        show_progress_bar=show_progress_bar,
        label=progress_label or f"Training {pooler_name(model[1])}",
    )
    result = FitResult(head=None)
    world = _join_process_group(model)
    cost = result.cost

    with training_backbone(model[0]), library_bars_off():
        cache = None
        if use_cache:
            texts = [
                t for ds in (train_dataset, eval_dataset) if ds is not None for c in text_columns(ds) for t in ds[c]
            ]
            start = time.perf_counter()
            with PeakMemory(model.device) as memory:
                cache, result.texts_computed = _filled_cache(
                    model, texts, cache_dir, cache_dtype, prompt, batch_size, show_progress_bar
                )
            result.precompute_seconds = time.perf_counter() - start
            result.cache_dir = str(cache.directory)
            cost.cache_fill_seconds, cost.cache_fill_texts = result.precompute_seconds, result.texts_computed
            cost.fill_peak_memory_mib = memory.mib
        stand_in = _stand_in(model, cache)
        sampler = _length_sampler(cache, train_dataset, columns) if group_by_length else None
        torch.manual_seed(seed)  # the same head initialisation on every process
        loss_module, result.head = _make_loss(loss, stand_in, train_dataset, columns, num_labels)
        evaluator = _make_evaluator(loss, eval_dataset, result.head, batch_size)
        cost.trainable_parameters, cost.cached = trainable_parameters(loss_module), cache is not None
        start = time.perf_counter()
        with PeakMemory(model.device) as memory:
            result.metrics, progress = _train(stand_in, loss_module, train_dataset, evaluator, schedule, sampler)
        result.train_seconds = time.perf_counter() - start
        result.history, cost.steps = progress.history, progress.steps
        cost.step_seconds = progress.seconds / max(progress.steps, 1)
        cost.peak_memory_mib, cost.memory_measure = memory.mib, memory.measure
        record_training(
            model,
            stand_in,
            train_dataset,
            loss=loss,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            metrics=result.metrics,
        )
        if output_dir is not None and rank_and_world_size()[0] == 0:
            save_trained(model, output_dir, result.head)
    if world > 1:
        torch.distributed.barrier()
    cost.seconds = time.perf_counter() - called
    return result


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit`'s training with a ``checkpoint_dir``: the same call resumes.

    Attributes:
        checkpoint: the checkpoint folder it resumes from, or None when no epoch had ended.
    """

    def __init__(self, checkpoint: str | None) -> None:
        super().__init__(f"training resumes from {checkpoint}" if checkpoint else "no checkpoint written yet")
        self.checkpoint = checkpoint


@dataclass(frozen=True)
class _Schedule:
    """The training loop's settings, as :func:`fit` received them, and the training bar's label."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    seed: int
    prompt: str | None
    checkpoint_dir: str | None
    eval_every_epoch: bool
    show_progress_bar: bool
    label: str


def pooler_name(pooler: torch.nn.Module) -> str:
    """A pooling module's short name: an st-glot module's ``method_name`` (``glot``, ``adapool``), the mode
    of a sentence-transformers ``Pooling`` (``mean``, ``max``, ``cls``, ``lasttoken``); else the class name."""
    if isinstance(pooler, Pooling):
        mode = pooler.pooling_mode
        return mode if isinstance(mode, str) else "+".join(mode)
    return getattr(pooler, "method_name", type(pooler).__name__)


def _filled_cache(
    model: SentenceTransformer,
    texts: Sequence[str],
    cache_dir: str | os.PathLike,
    cache_dtype: str,
    prompt: str | None,
    batch_size: int,
    show_progress_bar: bool,
) -> tuple[TokenStateCache, int]:
    """Open the token-state cache of ``model``'s (frozen) backbone and run the backbone on every text of
    ``texts`` not yet in it; return the cache and how many texts the backbone ran on."""
    cache = TokenStateCache.for_backbone(model[0], cache_dir, dtype=cache_dtype, prompt=prompt)
    computed = cache.add(
        texts,
        partial(backbone_states, model, prompt=prompt),
        batch_size=batch_size,
        show_progress_bar=show_progress_bar,
    )
    return cache, computed


class _StandInCard(SentenceTransformerModelCardData):
    """The card of the model the trainer runs on. It only collects what the trainer records
    (:func:`~st_glot.hub.model_card.record_training` copies that onto the user's card), so it
    skips sentence-transformers' widget examples, which the user's card never shows."""

    def set_widget_examples(self, dataset) -> None:
        return None


def _stand_in(model: SentenceTransformer, cache: TokenStateCache | None) -> SentenceTransformer:
    """The model the trainer runs: ``model``'s modules after the backbone, fed by the token-state
    cache (or by the frozen backbone itself without one). It shares those modules with ``model``,
    so training it trains ``model`` in place."""
    front = CachedTokenStates(cache) if cache is not None else model[0]
    stand_in = assemble([front, *list(model)[1:]], device=str(model.device))  # modules after a bf16 front stay fp32
    stand_in.model_card_data = _StandInCard()  # after construction: st-glot's modules attach their own card
    stand_in.model_card_data.register_model(stand_in)
    return stand_in


def cached_encoder(
    model: SentenceTransformer,
    texts: Sequence[str],
    cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
    cache_dtype: str = "float16",
    prompt: str | None = None,
    batch_size: int = 32,
    show_progress_bar: bool = False,
) -> SentenceTransformer:
    """``model`` fed by the token-state cache, for encoding many texts without running the backbone again.

    The backbone first runs on those of ``texts`` not yet cached; the returned model is
    ``[CachedTokenStates, *model[1:]]``, sharing ``model``'s modules after the backbone, and its
    ``encode`` gives what ``model.encode`` gives (to the cache's precision, fp16 by default) for
    any cached text. A text not in the cache raises ``KeyError`` from ``encode``.
    """
    with frozen(model[0]):
        cache, _ = _filled_cache(model, texts, cache_dir, cache_dtype, prompt, batch_size, show_progress_bar)
    return _stand_in(model, cache)


def _length_sampler(cache: TokenStateCache, dataset: Dataset, columns: list[str]) -> partial:
    """A :class:`LengthBucketBatchSampler` factory over the longest text of each row."""
    row_lengths = torch.stack([torch.from_numpy(cache.lengths)[cache.rows(dataset[c])] for c in columns]).amax(0)
    return partial(LengthBucketBatchSampler, lengths=row_lengths.tolist())


def save_trained(model: SentenceTransformer, output_dir: str, head: LinearHead | None = None) -> None:
    """Save a trained model as a plain SentenceTransformer folder, with its head in ``head/``; LoRA adapters
    are saved merged into the backbone's weights (:func:`~st_glot.models.lora.adapters_merged`)."""
    with adapters_merged(model):
        model.save(output_dir)
    if head is not None:
        head.save(os.path.join(output_dir, HEAD_FOLDER))


def _make_loss(loss: str, model: SentenceTransformer, dataset: Dataset, columns: list[str], num_labels: int | None):
    labels = label_column(dataset)
    if loss in ("cosent", "cosine"):
        if len(columns) != 2 or labels is None:
            raise ValueError(
                f"loss={loss!r} needs two text columns and a score column; got columns {dataset.column_names}."
            )
        return (CoSENTLoss(model) if loss == "cosent" else CosineSimilarityLoss(model)), None
    if loss == "mnrl":
        if len(columns) not in (2, 3):
            raise ValueError(f"loss='mnrl' needs (query, positive[, negative]) columns; got {dataset.column_names}.")
        # Pairs: symmetric, query → document and document → query, each direction its own softmax.
        symmetric = {"directions": ("query_to_doc", "doc_to_query"), "partition_mode": "per_direction"}
        return MultipleNegativesRankingLoss(
            model, scale=1.0 / INFONCE_TEMPERATURE, **(symmetric if len(columns) == 2 else {})
        ), None
    if labels is None or len(columns) not in (1, 2):
        raise ValueError(
            f"loss='classification' needs one or two text columns and a label column; got {dataset.column_names}."
        )
    values = dataset[labels]
    not_classes = [y for y in values if not _is_class_label(y)][:1]
    if not_classes:
        raise ValueError(
            f"loss='classification' needs whole-number class labels; column {labels!r} holds {not_classes[0]!r} "
            "(a similarity score? use loss='cosent' or 'cosine')."
        )
    num_labels = num_labels or int(max(values)) + 1
    head = LinearHead(model.get_embedding_dimension(), num_labels=num_labels, num_inputs=len(columns))
    return ClassificationLoss(model, head), head


def _is_class_label(label: object) -> bool:
    """A whole number (``3``, ``3.0``, ``True``), as a classification head's targets must be."""
    return isinstance(label, int | float) and math.isfinite(label) and float(label).is_integer()


def _make_evaluator(loss: str, dataset: Dataset | None, head: LinearHead | None, batch_size: int):
    if dataset is None or loss == "mnrl":
        return None
    columns, labels = text_columns(dataset), dataset[label_column(dataset)]
    if head is not None:
        return ClassificationEvaluator([dataset[c] for c in columns], labels, head, name="eval", batch_size=batch_size)
    return EmbeddingSimilarityEvaluator(
        dataset[columns[0]], dataset[columns[1]], labels, name="eval", batch_size=batch_size, write_csv=False
    )


def _training_arguments(
    schedule: _Schedule, output_dir: str, evaluate: bool, sampler: partial | None
) -> SentenceTransformerTrainingArguments:
    """sentence-transformers' arguments for :func:`fit`: Adam at a constant learning rate, a
    checkpoint per epoch with ``checkpoint_dir``, evaluation per epoch when ``evaluate``."""
    checkpointing = schedule.checkpoint_dir is not None
    return SentenceTransformerTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=schedule.epochs,
        per_device_train_batch_size=schedule.batch_size,
        per_device_eval_batch_size=schedule.batch_size,
        learning_rate=schedule.learning_rate,
        lr_scheduler_type="constant",
        weight_decay=schedule.weight_decay,
        warmup_steps=0,
        seed=schedule.seed,
        data_seed=schedule.seed,
        save_strategy="epoch" if checkpointing else "no",
        save_total_limit=2 if checkpointing else None,
        eval_strategy="epoch" if evaluate else "no",
        logging_strategy="epoch",
        report_to="none",
        disable_tqdm=True,  # the bar is _TrainingProgress's
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        prompts=schedule.prompt,
        batch_sampler=sampler if sampler is not None else "batch_sampler",
        # Under torchrun the sampler forms global batches and each process takes its slice, so a run
        # on N processes sees the same batches as a single process with the same batch_size.
        accelerator_config={"split_batches": True} if rank_and_world_size()[1] > 1 else None,
    )


def _train(
    model: SentenceTransformer,
    loss_module: torch.nn.Module,
    dataset: Dataset,
    evaluator,
    schedule: _Schedule,
    sampler: partial | None,
) -> tuple[dict[str, float], _TrainingProgress]:
    """Run sentence-transformers' trainer (resuming from the last checkpoint in
    ``schedule.checkpoint_dir``, if any); return the final evaluation's metrics and the progress callback
    (per-epoch history, steps and the training loop's seconds)."""
    head = getattr(loss_module, "head", None)
    evaluate = evaluator is not None and schedule.eval_every_epoch
    with tempfile.TemporaryDirectory(prefix="st-glot-") as scratch:
        trainer = SentenceTransformerTrainer(
            model=model,
            args=_training_arguments(schedule, schedule.checkpoint_dir or scratch, evaluate, sampler),
            train_dataset=dataset,
            loss=loss_module,
            evaluator=evaluator if evaluate else None,
        )
        trainer.remove_callback(PrinterCallback)
        progress = _TrainingProgress(schedule.label, schedule.show_progress_bar, has_head=head is not None)
        trainer.add_callback(progress)
        if head is not None and schedule.checkpoint_dir:
            trainer.add_callback(_HeadCheckpoint(head))
        checkpoint = _last_checkpoint(schedule.checkpoint_dir, with_head=head is not None)
        if checkpoint is not None and head is not None:
            head.load_weights(os.path.join(checkpoint, HEAD_FOLDER, WEIGHTS_NAME))
        try:
            trainer.train(resume_from_checkpoint=checkpoint)
        except KeyboardInterrupt:
            if schedule.checkpoint_dir is None:
                raise
            raise TrainingInterrupted(_last_checkpoint(schedule.checkpoint_dir, with_head=head is not None)) from None
        finally:
            progress.close()  # also when interrupted, so that what follows starts on a new line
        return (evaluator(model) if evaluator is not None else {}), progress


def _join_process_group(model: SentenceTransformer) -> int:
    """Under ``torchrun``/``accelerate launch`` (``WORLD_SIZE`` > 1), join the process group
    (NCCL on GPUs, gloo on CPUs) and move the model to this process's GPU; return the world size."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            model.to(f"cuda:{torch.cuda.current_device()}")
        torch.distributed.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return world


class _TrainingProgress(TrainerCallback):
    """One bar over the training steps, labelled with the method, showing the last epoch's loss;
    the trainer's logs go to :data:`logger` (INFO), without figures that would mislead, and each
    epoch's loss and evaluation metrics to :attr:`history` (one dict per epoch). ``steps`` and
    ``seconds`` are the steps the training loop took and its wall time.

    Dropped: ``grad_norm`` when a head trains (the trainer measures the model's parameters
    only, not the head's), the evaluation speeds (the trainer divides by the rows of an
    evaluation dataset it never gets: evaluation runs in an evaluator), ``total_flos``.
    """

    def __init__(self, label: str, show: bool, has_head: bool) -> None:
        self.label, self.show = label, show
        self.hidden = {"total_flos", "eval_samples_per_second", "eval_steps_per_second"}
        if has_head:
            self.hidden.add("grad_norm")
        self.bar: tqdm | None = None
        self.history: list[dict[str, float]] = []
        self.steps, self.seconds = 0, 0.0
        self._began = (0, 0.0)  # the step and the time the loop began at

    def on_train_begin(self, args, state, control, **kwargs) -> None:
        self._began = (state.global_step, time.perf_counter())
        self.bar = tqdm(
            total=state.max_steps,
            initial=state.global_step,
            desc=self.label,
            unit="step",
            disable=not (self.show and state.is_world_process_zero),
        )

    def on_step_end(self, args, state, control, **kwargs) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        shown = {k: v for k, v in (logs or {}).items() if k not in self.hidden}
        if "epoch" in shown and "train_runtime" not in shown:  # per epoch: a training log, then an evaluation log
            epoch = round(shown["epoch"])
            if not self.history or self.history[-1]["epoch"] != epoch:
                self.history.append({"epoch": epoch})
            self.history[-1].update(
                {k: v for k, v in shown.items() if k != "epoch" and not k.endswith("_runtime") and isinstance(v, float)}
            )
        if self.bar is not None and "loss" in shown:
            self.bar.set_postfix(loss=f"{shown['loss']:.4g}")
        if state.is_world_process_zero:
            logger.info(
                "%s, step %d/%d: %s",
                self.label,
                state.global_step,
                state.max_steps,
                ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()),
            )

    def on_train_end(self, args, state, control, **kwargs) -> None:
        self.steps, self.seconds = state.global_step - self._began[0], time.perf_counter() - self._began[1]
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _HeadCheckpoint(TrainerCallback):
    """Writes the classification head into every checkpoint: the trainer saves only the
    model, and the head lives in the loss."""

    def __init__(self, head: LinearHead) -> None:
        self.head = head

    def on_save(self, args, state, control, **kwargs) -> None:
        if state.is_world_process_zero:
            self.head.save(os.path.join(args.output_dir, f"checkpoint-{state.global_step}", HEAD_FOLDER))


def _last_checkpoint(checkpoint_dir: str | None, with_head: bool) -> str | None:
    """The latest complete ``checkpoint-<step>`` folder in ``checkpoint_dir``, or None.

    Complete means the trainer wrote its state (its last file) and, ``with_head``, the
    head's config (the head's last file): a run killed while saving leaves an
    incomplete checkpoint, and resuming skips it for the one before.
    """
    if checkpoint_dir is None or not os.path.isdir(checkpoint_dir):
        return None
    needed = ["trainer_state.json"] + ([os.path.join(HEAD_FOLDER, LinearHead.config_file_name)] if with_head else [])
    steps = [
        int(name.split("-", 1)[1])
        for name in os.listdir(checkpoint_dir)
        if name.startswith("checkpoint-")
        and name.split("-", 1)[1].isdigit()
        and all(os.path.isfile(os.path.join(checkpoint_dir, name, file)) for file in needed)
    ]
    return os.path.join(checkpoint_dir, f"checkpoint-{max(steps)}") if steps else None
