"""What the pooler sees: per-token readout weights and the token graph of each text.

:func:`explain` runs a model that pools with :class:`~st_glot.GLOTPooling` or
:class:`~st_glot.AdaPool` over a list of texts, batch by batch, and reads off

* the tokens, as the tokenizer wrote them (``##ing``, ``Ġthe``, ``▁the``);
* the readout weight of each token, taken from ``features["token_weights"]``
  as written by the pooler itself during that same forward pass;
* the token graph the pooler built (the pairs whose cosine similarity exceeds its
  ``tau``), recomputed with :func:`st_glot.nn.graph.build_token_graph` on exactly the
  token states the pooler received;
* the sentence embedding the model returns for the text.

:func:`write_explanations` additionally draws each explanation as a PNG and a
standalone HTML page (see :mod:`st_glot.explanations.render_png` and
:mod:`st_glot.explanations.render_html`) and writes the data as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import batch_to_device, truncate_embeddings
from torch import Tensor

from st_glot.nn.adapool import AdaPool
from st_glot.nn.graph import build_token_graph, cosine_similarity_matrix
from st_glot.nn.inputs import padded_token_states
from st_glot.nn.pooling import GLOTPooling
from st_glot.utils.checks import check_int

#: Pooler classes whose readout weights :func:`explain` can read.
EXPLAINABLE_POOLERS: tuple[type, ...] = (GLOTPooling, AdaPool)


@dataclass
class Explanation:
    """How one text was pooled.

    Attributes:
        text: the input text.
        tokens: the ``n`` tokens the pooler saw, special tokens included, as the
            tokenizer wrote them.
        weights: ``(n,)`` float32 readout weights, summing to 1.
        edges: ``(E, 2)`` int64 token-index pairs ``(i, j)`` with ``i < j`` linked in
            the pooler's graph (each stands for both directions ``i → j`` and
            ``j → i``; self-loops are left out), strongest first.
        edge_similarity: ``(E,)`` float32 cosine similarity of each pair.
        embedding: ``(D,)`` float32 sentence embedding, as ``model.encode`` returns it.
        pooler: class name of the pooling module (``"GLOTPooling"`` or ``"AdaPool"``).
        tau: the graph threshold, or ``None`` for a pooler without a graph.
        edge_weight: ``"binary"`` or ``"cosine"`` (what the GNN saw on each edge), or
            ``None`` without a graph.
        label: an optional caption (for example the gold label of the text).
    """

    text: str
    tokens: list[str]
    weights: np.ndarray
    edges: np.ndarray
    edge_similarity: np.ndarray
    embedding: np.ndarray
    pooler: str
    tau: float | None
    edge_weight: str | None
    label: str | None = field(default=None)

    def ranked(self, top: int | None = None) -> list[tuple[int, str, float]]:
        """``(index, token, weight)`` triples, heaviest first; ``top`` keeps the first ``top``."""
        order = np.argsort(-self.weights, kind="stable")[:top]
        return [(int(i), self.tokens[i], float(self.weights[i])) for i in order]

    def strongest_edges(
        self, limit: int | None = None, min_similarity: float | None = None
    ) -> list[tuple[int, int, float]]:
        """``(i, j, similarity)`` of the strongest edges.

        Args:
            limit: keep at most this many; ``None`` keeps all.
            min_similarity: keep only edges with a similarity above this; ``None``
                keeps every edge of the graph (all already exceed ``tau``).
        """
        keep = np.ones(len(self.edge_similarity), dtype=bool)
        if min_similarity is not None:
            keep = self.edge_similarity > min_similarity
        edges, values = self.edges[keep][:limit], self.edge_similarity[keep][:limit]
        return [(int(i), int(j), float(s)) for (i, j), s in zip(edges, values)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (arrays as lists)."""
        return {
            "text": self.text,
            "label": self.label,
            "pooler": self.pooler,
            "tau": self.tau,
            "edge_weight": self.edge_weight,
            "tokens": list(self.tokens),
            "weights": self.weights.tolist(),
            "edges": self.edges.tolist(),
            "edge_similarity": self.edge_similarity.tolist(),
            "embedding": self.embedding.tolist(),
        }


def find_pooler(model: SentenceTransformer) -> GLOTPooling | AdaPool:
    """The first :class:`GLOTPooling` or :class:`AdaPool` module of ``model``.

    Raises:
        ValueError: the model has neither; the message lists its modules.
    """
    for module in model:
        if isinstance(module, EXPLAINABLE_POOLERS):
            return module
    found = ", ".join(type(module).__name__ for module in model)
    valid = ", ".join(cls.__name__ for cls in EXPLAINABLE_POOLERS)
    raise ValueError(
        f"Cannot explain this model: its modules are [{found}], and explain() needs one of [{valid}], "
        "the poolers that write per-token readout weights."
    )


@dataclass
class _PoolerView:
    """What the forward hook records for one batch, all in padded ``(B, L, …)`` form."""

    states: Tensor
    valid: Tensor
    weights: Tensor
    input_ids: Tensor


def explain(
    model: SentenceTransformer,
    texts: str | Sequence[str],
    batch_size: int = 32,
    prompt: str | None = None,
    labels: Sequence[str | None] | None = None,
) -> list[Explanation]:
    """Explain how ``model`` pools each of ``texts``.

    Args:
        model: a sentence-transformers model holding a :class:`GLOTPooling` or
            :class:`AdaPool` module. It is put in eval mode, as ``encode`` does.
        texts: one text or a list of texts.
        batch_size: texts per forward pass.
        prompt: text prepended to every input, as in ``model.encode(prompt=…)``;
            ``None`` uses the model's default prompt, if it has one.
        labels: optional caption per text, kept in :attr:`Explanation.label`.

    Returns:
        One :class:`Explanation` per text, in input order.

    Raises:
        ValueError: the model has no explainable pooler, ``batch_size`` is not a
            positive integer, or ``labels`` has another length than ``texts``.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    check_int("batch_size", batch_size, minimum=1)
    if labels is not None and len(labels) != len(texts):
        raise ValueError(
            f"Invalid labels: {len(labels)} labels for {len(texts)} texts. Give one label per text, or none."
        )
    pooler = find_pooler(model)
    if prompt is None and model.default_prompt_name is not None:
        prompt = model.prompts.get(model.default_prompt_name)

    views: list[_PoolerView] = []

    def record(module: torch.nn.Module, args: tuple, features: dict[str, Any]) -> None:
        states, valid = padded_token_states(features, module.embedding_dimension, type(module).__name__)
        views.append(_PoolerView(states, valid, features["token_weights"], features["input_ids"]))

    model.eval()
    explanations: list[Explanation] = []
    handle = pooler.register_forward_hook(record)
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = texts[start : start + batch_size]
                features = batch_to_device(model.preprocess(batch, prompt=prompt), model.device)
                embeddings = model(features)["sentence_embedding"]  # (B, D)
                if model.truncate_dim is not None:
                    embeddings = truncate_embeddings(embeddings, model.truncate_dim)
                batch_labels = None if labels is None else labels[start : start + batch_size]
                explanations.extend(_unpack(batch, batch_labels, views.pop(), embeddings, pooler, model.tokenizer))
    finally:
        handle.remove()
    return explanations


def _unpack(
    texts: list[str],
    labels: Sequence[str | None] | None,
    view: _PoolerView,
    embeddings: Tensor,
    pooler: GLOTPooling | AdaPool,
    tokenizer: Any,
) -> list[Explanation]:
    """Split one batch's padded tensors into per-text :class:`Explanation` objects."""
    valid = view.valid  # (B, L)
    lengths = valid.sum(dim=1).tolist()  # (B,)
    # Under flash-attention unpadding the ids are one flat (1, total) row, already in valid-token order.
    ids = view.input_ids[valid] if view.input_ids.shape == valid.shape else view.input_ids.reshape(-1)
    tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
    weights = view.weights[valid].float().cpu().numpy()  # (N,)

    num_texts = valid.size(0)
    if isinstance(pooler, GLOTPooling):
        graph = build_token_graph(
            view.states,
            valid,
            pooler.tau,
            pooler.edge_weight,
            pooler.graph_norm,
            graph=pooler.graph,
            graph_seed=pooler.graph_seed,
        )
        similarity = cosine_similarity_matrix(view.states, valid, pooler.graph_norm)  # (B, L, L)
        b, i, j = torch.triu(graph.adjacency, diagonal=1).nonzero(as_tuple=True)  # (E,) each
        values = similarity[b, i, j]  # (E,)
        order = torch.argsort(values, descending=True, stable=True)
        order = order[torch.argsort(b[order], stable=True)]  # by text, strongest first within a text
        b, i, j, values = b[order], i[order], j[order], values[order]
        rank = valid.long().cumsum(dim=1) - 1  # (B, L): position → token index
        pairs = torch.stack([rank[b, i], rank[b, j]], dim=1).cpu().numpy()  # (E, 2)
        values = values.cpu().numpy()
        edge_counts = torch.bincount(b, minlength=num_texts).tolist()
        tau, edge_weight = pooler.tau, pooler.edge_weight
    else:
        pairs, values = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.float32)
        edge_counts = [0] * num_texts
        tau, edge_weight = None, None

    token_bounds = np.cumsum([0] + lengths)
    edge_bounds = np.cumsum([0] + edge_counts)
    embeddings = embeddings.float().cpu().numpy()
    return [
        Explanation(
            text=texts[k],
            tokens=tokens[token_bounds[k] : token_bounds[k + 1]],
            weights=weights[token_bounds[k] : token_bounds[k + 1]],
            edges=pairs[edge_bounds[k] : edge_bounds[k + 1]].astype(np.int64),
            edge_similarity=values[edge_bounds[k] : edge_bounds[k + 1]].astype(np.float32),
            embedding=embeddings[k],
            pooler=type(pooler).__name__,
            tau=tau,
            edge_weight=edge_weight,
            label=None if labels is None else labels[k],
        )
        for k in range(num_texts)
    ]
