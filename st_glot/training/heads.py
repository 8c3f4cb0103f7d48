"""Task heads for the paper's GLUE-style set-ups: a linear classifier on pooled vectors.

Single-sentence tasks classify ``z``; pair tasks classify ``[z_a, z_b]``
(Mantri et al., ICLR 2026, following their reference code). The head trains
with cross-entropy next to the pooler and is saved beside the model in a
``head/`` folder (config + safetensors), reloadable with :func:`load_head`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from torch import Tensor, nn

from st_glot.nn.serialization import SavableModule
from st_glot.utils.checks import check_choice, check_int
from st_glot.utils.distributed import rank_and_world_size

HEAD_FOLDER = "head"
METRICS: tuple[str, ...] = ("accuracy", "f1", "mcc")


class LinearHead(SavableModule):
    """``logits = W [z_1, …, z_n] + b`` over the pooled vectors of ``num_inputs`` texts.

    Args:
        embedding_dimension: width of one pooled vector.
        num_labels: number of classes.
        num_inputs: texts per example (1 for single sentences, 2 for pairs).
    """

    config_keys = ["embedding_dimension", "num_labels", "num_inputs"]

    def __init__(self, embedding_dimension: int, num_labels: int, num_inputs: int = 1) -> None:
        super().__init__()
        check_int("embedding_dimension", embedding_dimension, minimum=1)
        check_int("num_labels", num_labels, minimum=2)
        check_int("num_inputs", num_inputs, minimum=1)
        self.embedding_dimension = embedding_dimension
        self.num_labels = num_labels
        self.num_inputs = num_inputs
        self.linear = nn.Linear(num_inputs * embedding_dimension, num_labels)

    def forward(self, pooled: Sequence[Tensor]) -> Tensor:
        """``pooled``: ``num_inputs`` tensors ``(B, D)`` → logits ``(B, num_labels)``."""
        return self.linear(torch.cat(list(pooled), dim=-1))

    def __repr__(self) -> str:
        return f"LinearHead({self.num_inputs}x{self.embedding_dimension} -> {self.num_labels})"


def load_head(model_path: str) -> LinearHead:
    """Load the head saved beside a model by :func:`st_glot.training.fit.fit`."""
    return LinearHead.load(os.path.join(model_path, HEAD_FOLDER))


class ClassificationLoss(nn.Module):
    """Cross-entropy of a :class:`LinearHead` on the model's sentence embeddings.

    Works as a sentence-transformers loss: ``loss(sentence_features, labels)``
    with one feature dict per text column.
    """

    def __init__(self, model: SentenceTransformer, head: LinearHead) -> None:
        super().__init__()
        self.model = model
        self.head = head
        if rank_and_world_size()[1] > 1:
            # The trainer wraps only the model in DistributedDataParallel; average the head's gradients too.
            for parameter in head.parameters():
                parameter.register_hook(_average_across_processes)

    def forward(self, sentence_features: Sequence[dict[str, Tensor]], labels: Tensor) -> Tensor:
        pooled = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return F.cross_entropy(self.head(pooled), labels.long())


def _average_across_processes(grad: Tensor) -> Tensor:
    grad = grad.clone()
    torch.distributed.all_reduce(grad)
    return grad / torch.distributed.get_world_size()


class ClassificationEvaluator(BaseEvaluator):
    """Accuracy, binary/macro F1 and Matthews correlation of a head on labelled texts.

    Args:
        columns: one list of texts per input (1 or 2 lists of equal length).
        labels: gold class per example.
        head: the trained :class:`LinearHead`.
        primary_metric: ``"accuracy"``, ``"f1"`` or ``"mcc"``.
        name: prefix of the returned metric names.
        batch_size: encoding batch size.
    """

    def __init__(
        self,
        columns: Sequence[Sequence[str]],
        labels: Sequence[int],
        head: LinearHead,
        primary_metric: str = "accuracy",
        name: str = "",
        batch_size: int = 64,
    ) -> None:
        super().__init__()
        check_choice("primary_metric", primary_metric, METRICS)
        self.columns = [list(c) for c in columns]
        self.labels = np.asarray(labels)
        self.head = head
        self.name = name
        self.batch_size = batch_size
        self.primary_metric = primary_metric

    @torch.no_grad()
    def __call__(self, model, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        pooled = [model.encode(texts, batch_size=self.batch_size, convert_to_tensor=True) for texts in self.columns]
        self.head.eval()
        head_device = next(self.head.parameters()).device
        predictions = self.head([p.to(head_device) for p in pooled]).argmax(-1).cpu().numpy()
        binary = self.head.num_labels == 2
        metrics = {
            "accuracy": float(accuracy_score(self.labels, predictions)),
            "f1": float(f1_score(self.labels, predictions, average="binary" if binary else "macro")),
            "mcc": float(matthews_corrcoef(self.labels, predictions)),
        }
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics
