"""Tolerances for the tests' float comparisons: rounding times the scale of the computation.

The bound. A floating-point sum of ``n`` terms ``a_1 … a_n``, added in any order (one after
another, pairwise, in SIMD lanes, split over threads), is within ``γ_{n−1} Σ|a_i|`` of the exact
sum, and a dot product of ``n`` products within ``γ_n Σ|x_i y_i|``, where ``γ_k = k u / (1 − k u)``
and ``u = ε / 2`` is the unit roundoff (Higham, *Accuracy and Stability of Numerical Algorithms*,
2nd ed., 2002, §3.1 and §4.2). Two computations of one quantity that differ only in the order of
their sums (dense and edge-list kernels, packed and padded rows, PyTorch's default, AVX2 and
AVX-512 kernels, one thread or three) are each within that distance of the exact value, so within
``2 γ_n Σ|a_i| ≤ n ε Σ|a_i|`` of each other (for ``n ε ≤ 1``). Hence::

    |actual − expected| ≤ terms · ε · scale

- ``scale``: the sum of the magnitudes of the terms: ``|A| @ |B|`` for a matmul ``A @ B``,
  ``π @ |X|`` for a weighted sum, the number of terms times the largest term for a mean. A
  quantity that is 0 in exact arithmetic (a gradient that cancels) is compared on that scale, never
  on its own size.
- ``terms``: the number of terms summed. A result made in stages (a network) carries each stage's
  rounding into the next; to first order the stages' bounds add, so ``terms`` is the sum of the
  lengths of the sums along the chain that makes it (:func:`glot_terms`, :func:`backbone_terms`),
  and ``scale`` is the largest magnitude the stages work on, which for these small, freshly
  initialised networks is the largest magnitude among their input states and results (each weight
  matrix keeps its input's magnitude, tanh and softmax are bounded). A unit vector (after
  ``Normalize``) has scale 1: normalising divides the error by ``|z|`` as it divides ``z``.
- A gradient retraces the forward chain backwards and then sums over every token of the batch:
  :func:`gradient_terms`; its scale is the largest gradient of the same backward pass.
- Softmax weights move relatively: ``Δπ_i ≤ π_i (2 max|Δs| + L ε)`` (:func:`softmax_bound`).
  Cosine similarities are bounded per token pair (:func:`similarity_bound`); a threshold test on
  a similarity within that bound of the threshold may answer either way, so edge sets are compared
  on the other pairs (:func:`clear_of`).
- Trained weights: Adam's steps have about the learning rate's size whatever the gradient's, so
  two runs whose gradients differ by rounding stay within ``steps · lr`` times the gradients'
  relative rounding (:func:`training_bound`).
- Storing a value in a narrower float type (``float16``, ``bfloat16``) rounds it once, to within
  ``u |v|`` (:func:`storage_error`); products whose inputs are rounded to such a type are off by
  that type's ``ε`` per stage, whatever their length.

Within one machine, build and thread count, a computation repeated on the same path is
bit-identical; the tests compare those exactly, as they do integers and booleans.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pytest
import torch
from torch import Tensor, nn

#: float32 and float64 machine epsilon (2⁻²³ and 2⁻⁵²): the spacing of the numbers just above 1.
EPS = torch.finfo(torch.float32).eps
EPS64 = torch.finfo(torch.float64).eps


def bound(scale: float | Tensor, terms: int, eps: float = EPS) -> float | Tensor:
    """``terms · eps · scale``: how far apart two evaluations of a sum of ``terms`` terms whose
    magnitudes add up to ``scale`` can be (module docstring); ``scale`` may be per element."""
    return terms * eps * scale


def within(actual, expected, limit: float | Tensor) -> bool:
    """True when ``|actual − expected| ≤ limit`` element by element (``limit`` broadcasts)."""
    actual, expected = _tensor(actual), _tensor(expected)
    return bool(((actual - expected).abs() <= _tensor(limit)).all())


def assert_within(actual, expected, limit: float | Tensor, what: str = "values") -> None:
    """Assert ``|actual − expected| ≤ limit`` element by element; the message gives the worst element."""
    actual, expected, limit = _tensor(actual), _tensor(expected), _tensor(limit)
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} against {tuple(expected.shape)}"
    excess = (actual - expected).abs() / limit.clamp_min(torch.finfo(torch.float64).tiny)
    worst = int(excess.flatten().argmax()) if excess.numel() else 0
    assert excess.numel() == 0 or excess.flatten()[worst] <= 1, (
        f"{what}: {int((excess > 1).sum())} of {excess.numel()} elements differ by more than the rounding bound; "
        f"the worst, at flat index {worst}, is {float(actual.flatten()[worst])!r} against "
        f"{float(expected.flatten()[worst])!r}, {float(excess.flatten()[worst]):.3g} times its bound"
    )


def approx(expected, scale: float, terms: int) -> object:
    """``pytest.approx`` for float64 statistics: within ``terms · ε₆₄ · scale`` of ``expected``."""
    return pytest.approx(expected, rel=0, abs=bound(scale, terms, EPS64))


def magnitude(*values) -> float:
    """The largest ``|value|`` among tensors or arrays (the scale of a network's stages: module docstring)."""
    return max(float(_tensor(v).abs().max()) if _tensor(v).numel() else 0.0 for v in values)


def matmul_scale(a: Tensor, b: Tensor) -> Tensor:
    """``|a| @ |b|``: per element of ``a @ b``, the sum of the magnitudes of its terms."""
    return a.abs() @ b.abs()


def storage_error(values: Tensor, dtype: torch.dtype) -> Tensor:
    """Per element, the most that storing ``values`` as ``dtype`` changes them: ``u · |v|`` with
    ``u = ε_dtype / 2``, and half the subnormal spacing below the smallest normal number."""
    info = torch.finfo(dtype)
    return info.eps / 2 * values.float().abs().clamp_min(info.smallest_normal)


def normalisation_bound(x: Tensor, valid: Tensor, graph_norm: str) -> float:
    """The bound for two computations of each sequence's centred (``"center"``) or standardised
    (``"standardize"``) valid tokens of ``x`` ``(B, L, d)``: the mean and variance sum ``n`` terms
    each, on the scale of ``|x|`` (of ``|x| / σ`` when standardised, σ the spread per dimension)."""
    sequences = _sequences(x, valid, graph_norm)
    return max((bound(float(tokens.abs().max()), 2 * len(tokens)) for _, tokens, _ in sequences), default=0.0)


def similarity_bound(x: Tensor, valid: Tensor | None = None, graph_norm: str = "none", state_terms: int = 0) -> Tensor:
    """Per token pair ``(B, L, L)``, the bound for two computations of the cosine similarities between
    the valid tokens of ``x`` ``(B, L, d)``.

    A cosine ``û_i · û_j`` of unit vectors sums ``d`` terms three times (two norms and the dot
    product) with scale 1 (Cauchy–Schwarz: ``Σ|a_k b_k| ≤ |a| |b|``). Before it, the states may
    carry rounding: a backbone's chain that made them (``state_terms``) and, with ``graph_norm``, each
    sequence's mean (and variance) over its ``n`` tokens (``2 n`` terms), on the scale of ``|x|`` (of
    ``|x| / σ`` when standardised) per element, so at most ``√d`` times that in length; normalising
    divides it by the (centred) token's length ``|c_i|``, and the cosine moves by at most
    ``|Δû_i| + |Δû_j|``. A token whose centred length is 0 gets an infinite bound: either answer is right.
    """
    valid = torch.ones(x.shape[:2], dtype=torch.bool) if valid is None else valid.bool()
    d = x.size(-1)
    limit = torch.full((x.size(0), x.size(1), x.size(1)), bound(1.0, 3 * d), dtype=torch.float64)
    for b, tokens, centred in _sequences(x, valid, graph_norm):
        terms = (0 if graph_norm == "none" else 2 * len(tokens)) + state_terms
        error = d**0.5 * bound(float(tokens.abs().max()), terms) / centred.norm(dim=-1)  # (n,): |Δû_i|
        at = valid[b].nonzero().squeeze(1)  # (n,) positions
        limit[b, at[:, None], at[None, :]] += error[:, None] + error[None, :]
    return limit


def clear_of(values: Tensor, threshold: float, limit: float | Tensor) -> Tensor:
    """Where ``|values − threshold| > limit``: there a test ``value > threshold`` answers the same in
    every computation within ``limit``; elsewhere either answer is right."""
    return (values - threshold).abs() > limit


def fan_in(modules: Iterable[nn.Module]) -> int:
    """The sum of every weight's fan-in (its last dimension), as if each linear map were in series:
    the terms the modules' linear maps add to a chain, an upper bound on its longest path."""
    return sum(p.size(-1) for module in modules for p in module.parameters() if p.dim() > 1)


def glot_terms(pool: nn.Module, tokens: int) -> int:
    """Terms along the forward chain of a :class:`GLOTPooling` (or ``AdaPool``) on sequences with at most
    ``tokens`` valid tokens (or, for statistics over a batch, ``tokens`` in all): the input and graph
    normalisations' statistics and the cosine (``tokens + 2 d``), every weight's fan-in
    (:func:`fan_in`), per GNN layer an attention softmax and an aggregation, and the readout's softmax
    and weighted sum (``tokens`` each)."""
    layers = getattr(pool, "num_layers", 0)  # AdaPool: the readout alone
    return 2 * pool.embedding_dimension + fan_in([pool]) + (2 * layers + 3) * tokens


def backbone_terms(model: nn.Module, tokens: int) -> int:
    """Terms along a transformer backbone's forward chain on ``tokens`` tokens: every weight's fan-in
    (:func:`fan_in`), two normalisations of width ``d`` per layer (mean and variance, ``2 d`` each) and
    per layer an attention softmax and a weighted sum over the tokens."""
    config = model.config
    layers, width = config.num_hidden_layers, config.hidden_size
    return fan_in([model]) + layers * (4 * width + 2 * tokens)


def pooling_bound(pool: nn.Module, states: Tensor, valid: Tensor, *results: Tensor) -> float:
    """The bound for two evaluations of ``pool`` on ``states`` ``(B, L, d)`` with mask ``valid``: terms
    :func:`glot_terms` over the batch's valid tokens, scale the largest magnitude among the valid
    states and ``results`` (padding takes no part in any sum)."""
    valid = valid.bool()
    return bound(magnitude(states[valid], *results), glot_terms(pool, int(valid.sum())))


def softmax_bound(weights: Tensor, score_limit: float) -> Tensor:
    """Per element, the bound for two computations of softmax weights ``π`` ``(…, L)`` whose scores are
    within ``score_limit``: ``π_i = e^{s_i} / Σ_j e^{s_j}`` moves by at most ``π_i (2 max|Δs| + L ε)``
    (the scores' shift, then the normalising sum of ``L`` positive terms): a relative bound, so small
    weights are compared on their own scale. ``weights``: either computation's (the bound is first order)."""
    return weights.detach().abs() * (2 * score_limit + bound(1.0, weights.size(-1)))


def gradient_bound(pool: nn.Module, valid: Tensor, grads: Iterable[Tensor]) -> float:
    """The bound for two computations of ``pool``'s parameter gradients on a batch with mask ``valid``:
    terms :func:`gradient_terms`, scale the largest of the gradients (a gradient that cancels to 0
    in exact arithmetic is compared on that scale)."""
    tokens = int(valid.bool().sum())
    return bound(magnitude(*grads), gradient_terms(glot_terms(pool, tokens), tokens))


def training_bound(learning_rate: float, steps: int, terms: int) -> float:
    """The bound for a weight after two Adam runs whose gradients differ by rounding only.

    Adam divides each gradient by its own running size, so a step moves a weight by about the learning
    rate at most and ``steps`` steps by ``steps · lr``: that is the scale. The steps' directions are the
    gradients', rounded as they are: ``terms`` (:func:`gradient_terms`). This holds for gradients
    clear of 0; a weight whose gradient is 0 in exact arithmetic (the readout's output bias, which the
    softmax cancels) takes full-size steps in directions that rounding picks, and is left out."""
    return bound(learning_rate * steps, terms)


def statistics_bound(state: dict[str, Tensor], name: str, state_terms: int = 0) -> Tensor:
    """The bound for two computations of a running mean or variance ``state[name]`` (with its
    ``running_mean``, ``running_var`` and ``num_tokens`` beside it in ``state``) over ``num_tokens``
    tokens whose states carry the rounding of ``state_terms`` (a backbone's chain): scale the second
    moment ``E[x²] = σ² + μ²`` (its square root for the mean; twice it for the variance, whose terms are
    squares and ``2 μ Δμ``)."""
    prefix = name.rsplit(".", 1)[0]
    moment = state[f"{prefix}.running_var"] + state[f"{prefix}.running_mean"].square()  # (d,)
    scale = moment.sqrt() if name.endswith("running_mean") else 2 * moment
    return bound(scale, int(state[f"{prefix}.num_tokens"]) + state_terms)


#: The readout's output bias: it shifts every score equally, the softmax cancels it, and its gradient is 0
#: in exact arithmetic (:func:`training_bound`).
SHIFT_INVARIANT = "readout.scorer.2.bias"


def assert_trained_alike(got: dict[str, Tensor], expected: dict[str, Tensor], weights: float, state_terms: int) -> None:
    """Two pooler state dicts after training runs that differ by rounding only.

    Weights: within ``weights`` (:func:`training_bound`), except :data:`SHIFT_INVARIANT`. Token counts:
    equal. Running statistics: a mean and a variance over ``num_tokens`` tokens whose states carry the
    rounding of ``state_terms`` (a backbone's chain): scale the second moment ``E[x²] = σ² + μ²``
    (its square root for the mean)."""
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if name == SHIFT_INVARIANT:
            continue
        if not value.is_floating_point():
            assert torch.equal(got[name], value), name
        elif name.endswith(("running_mean", "running_var")):
            assert_within(got[name], value, statistics_bound(expected, name, state_terms), name)
        else:
            assert_within(got[name], value, weights, name)


def encoder_bound(model: nn.Module, tokens: int) -> float:
    """The bound for two encodings of one text of ``tokens`` tokens by a ``[Transformer, pooler,
    Normalize]`` model (in batches of other sizes, padded otherwise): scale 1 (a unit vector), terms the
    backbone's and the pooler's chains. Padding adds exact zeros to every sum, so only the text's own
    tokens count."""
    return bound(1.0, backbone_terms(model[0].auto_model, tokens) + glot_terms(model[1], tokens))


def gradient_terms(forward_terms: int, tokens: int) -> int:
    """Terms behind a parameter gradient: the forward chain, the same chain backwards, then the sum
    over the ``tokens`` of the batch."""
    return 2 * forward_terms + tokens


def _sequences(x: Tensor, valid: Tensor, graph_norm: str) -> Iterator[tuple[int, Tensor, Tensor]]:
    """Per sequence ``b``: its valid tokens and their centred form ``(n, d)`` (the tokens themselves for
    ``"none"``), both divided by the spread per dimension when standardised. With centring, sequences
    of one token are left out: it centres to exactly 0 on every path."""
    for b in range(x.size(0)):
        tokens = x[b, valid[b].bool()].double()  # (n, d)
        if graph_norm == "none":
            if len(tokens):
                yield b, tokens, tokens
            continue
        if len(tokens) < 2:
            continue
        centred = tokens - tokens.mean(0)
        if graph_norm == "standardize":
            spread = centred.square().mean(0).sqrt() + 1e-6  # (d,)
            tokens, centred = tokens / spread, centred / spread
        yield b, tokens, centred


def _tensor(value) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().double()
    return torch.as_tensor(np.asarray(value, dtype=np.float64))
