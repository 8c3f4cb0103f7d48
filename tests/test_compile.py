"""GLOTPooling under torch.compile: one graph, no recompile per batch shape, eager's results and checks.

The compiler backend is ``"eager"`` (Dynamo's capture without code generation): graph breaks and
recompiles happen at capture, so they are counted exactly as under Inductor, in seconds.
"""

from __future__ import annotations

import pytest
import torch
from tolerance import (
    assert_within,
    bound,
    encoder_bound,
    glot_terms,
    gradient_terms,
    magnitude,
    pooling_bound,
    softmax_bound,
    statistics_bound,
)
from torch._dynamo.utils import counters

from st_glot import GLOTPooling
from tests.conftest import build_model

pytestmark = pytest.mark.slow

#: Batches of different sizes ``(B, L)``, each with padding of several lengths.
SHAPES = [(4, 9), (6, 14), (3, 11)]


class CountingBackend:
    """A ``torch.compile`` backend that runs each captured graph eagerly and counts the graphs it received."""

    def __init__(self) -> None:
        self.graphs = 0

    def __call__(self, graph_module: torch.fx.GraphModule, example_inputs: list) -> object:
        self.graphs += 1
        return graph_module.forward


def _features(batch_size: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, length, 16, generator=generator)
    lengths = torch.randint(1, length + 1, (batch_size,), generator=generator)
    lengths[0] = length  # one full row sets L
    mask = (torch.arange(length) < lengths.unsqueeze(1)).long()  # (B, L)
    return {"token_embeddings": x, "attention_mask": mask}


def _compiled(pool: GLOTPooling) -> tuple[torch.nn.Module, CountingBackend]:
    torch._dynamo.reset()
    counters.clear()
    backend = CountingBackend()
    return torch.compile(pool, backend=backend, dynamic=True), backend


@pytest.mark.parametrize("training", [False, True])
def test_one_graph_for_every_batch_shape(training):
    """Dense path, inference and training: no graph break, one capture for three shapes, eager's outputs."""
    torch.manual_seed(0)
    pool = GLOTPooling(16, hidden_dim=8, anchor="last", backend="dense").train(training)
    reference = GLOTPooling(16, hidden_dim=8, anchor="last", backend="dense").train(training)
    reference.load_state_dict(pool.state_dict())
    compiled, backend = _compiled(pool)
    seen = 0  # valid tokens so far: in training the running statistics sum every one of them
    for seed, shape in enumerate(SHAPES):
        features = _features(*shape, seed=seed)
        out = compiled(dict(features))
        expected = reference(dict(features))
        # The compiled graph keeps the padded layout where eager packs the valid tokens: other summation orders.
        valid = features["attention_mask"].bool()
        tokens = int(valid.sum())
        seen += tokens
        z = expected["sentence_embedding"]
        limit = bound(magnitude(features["token_embeddings"][valid], z), glot_terms(pool, seen if training else tokens))
        assert_within(out["sentence_embedding"], z, limit, "sentence embedding")
        weights = expected["token_weights"]
        assert_within(out["token_weights"], weights, softmax_bound(weights, limit), "token weights")
        if training:  # the anchor makes ‖z‖ = 1, so Σ z² has no gradient: a random direction's projection has
            direction = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed))  # (B, D)
            (out["sentence_embedding"] * direction).sum().backward()
            (z * direction).sum().backward()
    assert dict(counters["graph_break"]) == {}
    assert backend.graphs == 1
    statistics = dict(reference.named_buffers())  # the running statistics merged the same tokens
    for name, buffer in statistics.items():
        if buffer.is_floating_point():
            assert_within(pool.get_buffer(name), buffer, statistics_bound(statistics, name), name)
        else:
            assert torch.equal(pool.get_buffer(name), buffer), name
    if training:
        grads = {name: parameter.grad for name, parameter in reference.named_parameters()}
        limit = bound(magnitude(*grads.values()), gradient_terms(glot_terms(pool, seen), seen))
        for name, grad in grads.items():
            assert_within(pool.get_parameter(name).grad, grad, limit, name)


def test_explain_finds_no_graph_break():
    pool = GLOTPooling(16, hidden_dim=8).eval()
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(pool)(_features(4, 9))
    assert (explanation.graph_count, explanation.graph_break_count) == (1, 0), explanation.break_reasons


def test_non_finite_states_are_still_rejected_when_compiled():
    """NaN on a valid token raises with eager's message; NaN on padding is ignored as in eager."""
    pool = GLOTPooling(16, hidden_dim=8).eval()
    compiled, _ = _compiled(pool)
    features = _features(4, 9)
    padding = (features["attention_mask"] == 0).nonzero()[0]
    features["token_embeddings"][padding[0], padding[1], 3] = float("nan")
    expected = pool(dict(features))["sentence_embedding"]
    valid = features["attention_mask"].bool()
    limit = pooling_bound(pool, features["token_embeddings"], valid, expected)  # padded layout against packed
    assert_within(compiled(dict(features))["sentence_embedding"], expected, limit)
    features["token_embeddings"][0, 0, 3] = float("inf")
    with pytest.raises(ValueError, match="GLOTPooling received NaN or inf token states"):
        pool(dict(features))
    with pytest.raises(RuntimeError, match="GLOTPooling received NaN or inf token states"):
        compiled(dict(features))


def test_compiled_pooler_inside_a_sentence_transformer(tiny_backbone):
    """``model[1].compile(dynamic=True)``: encode's batches of several shapes, one capture, eager's vectors."""
    model = build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8).eval())
    texts = ["the cat sat", "a quick brown fox jumps over the lazy dog", "red", "the dog sat on the mat and the cat"]
    expected = model.encode(texts, batch_size=3, convert_to_tensor=True)
    torch._dynamo.reset()
    counters.clear()
    backend = CountingBackend()
    model[1].compile(backend=backend, dynamic=True)
    got = model.encode(texts, batch_size=3, convert_to_tensor=True)  # batches (3, L1) and (1, L2)
    got = model.encode(texts[::-1] * 2, batch_size=5, convert_to_tensor=True)[:4].flip(0)  # (5, L3), (3, L4)
    tokens = int(model.preprocess(texts)["attention_mask"].sum(1).max())  # the longest text's
    assert_within(got, expected, encoder_bound(model, tokens))  # other batches, padded otherwise
    assert dict(counters["graph_break"]) == {}
    assert backend.graphs <= 2  # a batch of one sequence is a shape of its own (PyTorch specialises sizes 0 and 1)
