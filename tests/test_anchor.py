"""GLOT's anchor: the untrained pooling kept beside the readout, checked against hand computations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tolerance import assert_within, bound, similarity_bound

from st_glot import GLOTPooling
from st_glot.models.backbones import load_backbone
from st_glot.models.factory import make_pooler
from st_glot.nn.anchor import AnchorMix, anchor_pool


def _batch():
    torch.manual_seed(0)
    x = torch.randn(4, 6, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0]]).bool()
    return x, mask


def test_anchor_pool_against_a_loop():
    x, mask = _batch()  # right padding, left padding, and an empty row
    for anchor in ("last", "mean"):
        got = anchor_pool(x, mask, anchor)
        for b in range(4):
            rows = x[b, mask[b]]
            if anchor == "mean" and len(rows):  # a mean of n terms: scale the mean of their magnitudes
                assert_within(got[b], rows.mean(0), bound(rows.abs().mean(0), len(rows)))
            else:  # a copy of the last row, or zeros
                assert torch.equal(got[b], rows[-1] if len(rows) else torch.zeros(8))


def test_mixed_cosine_is_the_weighted_sum_of_the_two_cosines():
    x, mask = _batch()
    mask[3, 2] = True
    mix = AnchorMix(8, "last", weight=0.3)
    z = torch.randn(4, 5)
    out = mix(z, x, mask)  # training mode: the statistics are this batch's anchors
    assert out.shape == (4, 5 + 8)
    anchors = torch.stack([x[b, mask[b]][-1] for b in range(4)])
    standardised = (anchors - anchors.mean(0)) / (anchors.var(0, unbiased=False) + mix.norm.eps).sqrt()
    # The anchors standardised over the batch, then cosines of (5 + 8)-wide vectors.
    limit = similarity_bound(anchors[None], graph_norm="standardize")[0] + bound(1.0, 3 * out.size(1))  # (4, 4)
    for i, j in [(0, 1), (1, 2), (0, 3)]:
        expected = 0.7 * F.cosine_similarity(z[i], z[j], dim=0) + 0.3 * F.cosine_similarity(
            standardised[i], standardised[j], dim=0
        )
        assert_within(F.cosine_similarity(out[i], out[j], dim=0), expected, limit[i, j])


def test_evaluation_uses_the_training_statistics():
    x, mask = _batch()
    mix = AnchorMix(8, "mean", weight=1.0)
    mix(torch.randn(4, 5), x, mask)
    mean, var = mix.norm.running_mean.clone(), mix.norm.running_var.clone()
    mix.eval()
    out = mix(torch.randn(2, 5), x[:2], mask[:2])
    assert torch.equal(mix.norm.running_mean, mean) and torch.equal(mix.norm.running_var, var)
    expected = F.normalize((anchor_pool(x[:2], mask[:2], "mean") - mean) / (var + mix.norm.eps).sqrt(), dim=-1)
    assert_within(out[:, 5:], expected, bound(1.0, 8 + 2))  # a unit vector: 8 squares summed, 2 roundings each
    assert torch.equal(out[:, :5], torch.zeros(2, 5))  # weight 1: the readout has no share


def test_glot_with_an_anchor_extends_the_vector_and_keeps_its_readout():
    x, mask = _batch()
    mask[3, 0] = True
    torch.manual_seed(1)
    plain = GLOTPooling(8, hidden_dim=4, input_norm="none")
    torch.manual_seed(1)
    anchored = GLOTPooling(8, hidden_dim=4, input_norm="none", anchor="last", anchor_weight=0.25)
    assert anchored.get_embedding_dimension() == plain.get_embedding_dimension() + 8
    assert "anchor='last', anchor_weight=0.25" in repr(anchored) and "anchor" not in repr(plain)
    features = {"token_embeddings": x, "attention_mask": mask.long()}
    z = plain(dict(features))["sentence_embedding"]
    out = anchored(dict(features))["sentence_embedding"]
    assert torch.equal(out[:, : z.size(1)], 0.75**0.5 * F.normalize(z, dim=-1))  # the same readout, same path
    assert_within(out.norm(dim=-1), torch.ones(4), bound(1.0, out.size(1) + 2))  # two unit vectors' parts


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"anchor": "first"}, r"Invalid anchor: 'first'. Valid values are: \('none', 'last', 'mean'\)"),
        ({"anchor": "last", "anchor_weight": 1.5}, r"Invalid anchor_weight: 1.5.*\[0, 1\]"),
    ],
)
def test_bad_anchor_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GLOTPooling(8, **kwargs)


def test_make_pooler_anchors_glot_on_templated_decoders_only(tiny_llama_dir, tiny_bert_dir):
    decoder = load_backbone(tiny_llama_dir, template="auto")
    assert make_pooler("glot", decoder).anchor == "last"
    assert make_pooler("glot", decoder, anchor="auto").anchor == "last"
    assert make_pooler("glot", decoder, anchor="mean", anchor_weight=0.2).anchor_mix.weight == 0.2
    assert make_pooler("glot", decoder, preset="paper").anchor == "none"  # the research code's configuration
    assert make_pooler("glot", load_backbone(tiny_llama_dir)).anchor == "none"  # plain text: no summary token
    assert make_pooler("glot", load_backbone(tiny_bert_dir, template="auto")).anchor == "none"
