"""st_glot.explain / write_explanations / `st-glot explain`: data, pictures, HTML in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from conftest import VOCAB, build_model
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling
from tolerance import (
    assert_within,
    backbone_terms,
    bound,
    clear_of,
    encoder_bound,
    glot_terms,
    magnitude,
    similarity_bound,
    softmax_bound,
)
from transformers import BertConfig, BertModel, BertTokenizer

import st_glot
from st_glot import AdaPool, GLOTPooling, default_backbone_path
from st_glot.cli.main import main
from st_glot.explanations.render import display_tokens
from st_glot.explanations.render_png import _layout
from st_glot.nn.graph import cosine_similarity_matrix

PIECES = ["##s", "##ing", "##ed", "##er", "jump", "report", "alert", "deliver"]
TEXTS = [
    "the cat sat on the mat",
    "the quick brown fox jumps over the lazy dog and the dog never reported it",
    "dog",
    "the folder includes files and alerts , reports and tickets",
]


@pytest.fixture(scope="module")
def wordpiece_bert_dir(tmp_path_factory) -> str:
    """A tiny random BERT whose vocabulary has ``##`` pieces, so words split the way real BERT splits them."""
    folder = tmp_path_factory.mktemp("wordpiece_bert")
    vocab = VOCAB + [",", "."] + PIECES
    tokenizer = BertTokenizer(vocab={word: index for index, word in enumerate(vocab)})
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def glot_model(wordpiece_bert_dir) -> SentenceTransformer:
    torch.manual_seed(1)
    return build_model(Transformer(wordpiece_bert_dir), GLOTPooling(32, hidden_dim=8, tau=0.5, num_layers=2))


def _own_outputs(model: SentenceTransformer, text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Tokens, the pooler's own token_weights and the token states for one text, from a plain forward pass."""
    features = model.preprocess([text])
    with torch.no_grad():
        out = model.forward(features)
    mask = features["attention_mask"][0].bool()
    tokens = model.tokenizer.convert_ids_to_tokens(features["input_ids"][0][mask].tolist())
    return tokens, out["token_weights"][0][mask].numpy(), out["token_embeddings"][0][mask]


def test_weights_and_embedding_come_from_the_model(glot_model):
    explanations = st_glot.explain(glot_model, TEXTS, batch_size=3)  # batches mix padded lengths
    assert [e.text for e in explanations] == TEXTS
    encoded = glot_model.encode(TEXTS)
    for explanation, embedding in zip(explanations, encoded):
        tokens, own_weights, states = _own_outputs(glot_model, explanation.text)
        assert explanation.tokens == tokens
        assert explanation.weights.shape == (len(tokens),)
        assert_within(explanation.weights.sum(), 1.0, bound(1.0, len(tokens)))  # n weights summing to 1
        # Explained in batches of other padded lengths than the text alone: rounding apart.
        terms = backbone_terms(glot_model[0].auto_model, len(tokens)) + glot_terms(glot_model[1], len(tokens))
        scores = bound(magnitude(states), terms)
        assert_within(explanation.weights, own_weights, softmax_bound(torch.from_numpy(own_weights), scores))
        assert_within(explanation.embedding, embedding, encoder_bound(glot_model, len(tokens)), "embedding")
    assert "##ed" in explanations[1].tokens  # "reported" → report ##ed


def test_edges_are_the_pooler_graph(glot_model):
    pooler = glot_model[1]
    for explanation in st_glot.explain(glot_model, TEXTS, batch_size=2):
        _, _, states = _own_outputs(glot_model, explanation.text)
        similarity = cosine_similarity_matrix(states[None], graph_norm=pooler.graph_norm)[0]
        n = len(explanation.tokens)
        # The explained batch's states are the backbone's rounding apart from these: so are the cosines, and
        # a pair that close to tau may link in one and not the other.
        terms = backbone_terms(glot_model[0].auto_model, n)
        limit = similarity_bound(states[None], graph_norm=pooler.graph_norm, state_terms=terms)[0]  # (n, n)
        clear = clear_of(similarity, pooler.tau, limit)
        expected = {(i, j) for i in range(n) for j in range(i + 1, n) if similarity[i, j] > pooler.tau and clear[i, j]}
        got = {tuple(pair) for pair in explanation.edges.tolist()}
        assert {(i, j) for i, j in got if clear[i, j]} == expected
        assert all(i < j for i, j in explanation.edges.tolist())  # no self-loops, one entry per pair
        expected_similarity = similarity[explanation.edges[:, 0], explanation.edges[:, 1]]
        assert_within(explanation.edge_similarity, expected_similarity, limit[explanation.edges.T.tolist()])
        assert np.all(np.diff(explanation.edge_similarity) <= 0)  # strongest first
        assert explanation.tau == pooler.tau and explanation.edge_weight == pooler.edge_weight
        assert explanation.strongest_edges(3) == [
            (int(i), int(j), float(s)) for (i, j), s in zip(explanation.edges[:3], explanation.edge_similarity[:3])
        ]


def test_adapool_is_explained_without_a_graph(wordpiece_bert_dir):
    model = build_model(Transformer(wordpiece_bert_dir), AdaPool(32))
    explanation = st_glot.explain(model, "the cat sat on the mat")[0]
    tokens, own_weights, _ = _own_outputs(model, explanation.text)
    assert np.array_equal(explanation.weights, own_weights)  # one text, one batch: the same computation
    assert explanation.pooler == "AdaPool" and explanation.tau is None
    assert explanation.edges.shape == (0, 2) and explanation.edge_similarity.shape == (0,)


def test_left_padded_decoder_keeps_tokens_aligned(tiny_llama_dir):
    model = build_model(Transformer(tiny_llama_dir), GLOTPooling(24, hidden_dim=8))
    model.tokenizer.padding_side = "left"
    texts = ["cat", "the quick brown fox jumps over the lazy dog"]
    for explanation in st_glot.explain(model, texts, batch_size=2):
        tokens, own_weights, states = _own_outputs(model, explanation.text)
        assert explanation.tokens == tokens
        terms = backbone_terms(model[0].auto_model, len(tokens)) + glot_terms(model[1], len(tokens))
        scores = bound(magnitude(states), terms)  # padded against alone: rounding apart
        assert_within(explanation.weights, own_weights, softmax_bound(torch.from_numpy(own_weights), scores))


def test_errors_name_the_bad_value(wordpiece_bert_dir, glot_model):
    backbone = Transformer(wordpiece_bert_dir)
    mean_model = SentenceTransformer(modules=[backbone, Pooling(32)], device="cpu")
    with pytest.raises(ValueError, match=r"Pooling.*GLOTPooling, AdaPool"):
        st_glot.explain(mean_model, ["the cat"])
    with pytest.raises(ValueError, match="batch_size: 0"):
        st_glot.explain(glot_model, ["the cat"], batch_size=0)
    with pytest.raises(ValueError, match="2 labels for 1 texts"):
        st_glot.explain(glot_model, ["the cat"], labels=["a", "b"])


def test_display_tokens_read_cleanly():
    wordpiece = display_tokens(["[CLS]", "jump", "##ing", ",", "dog", "##s", "[SEP]"])
    assert [(t.text, t.joined, t.special) for t in wordpiece] == [
        ("[CLS]", False, True),
        ("jump", False, False),
        ("ing", True, False),
        (",", False, False),
        ("dog", False, False),
        ("s", True, False),
        ("[SEP]", False, True),
    ]
    byte_level = display_tokens(["<|begin_of_text|>", "Hello", "Ġworld", "ing", "Ċ", "ĠcafÃ©"])
    assert [(t.text, t.joined) for t in byte_level] == [
        ("<|begin_of_text|>", False),
        ("Hello", False),
        ("world", False),
        ("ing", True),
        ("↵", False),
        ("café", False),
    ]
    sentencepiece = display_tokens(["<s>", "▁The", "▁jump", "ing", "▁", "</s>"])
    assert [(t.text, t.joined) for t in sentencepiece] == [
        ("<s>", False),
        ("The", False),
        ("jump", False),
        ("ing", True),
        ("␣", False),
        ("</s>", False),
    ]


def test_layout_wraps_without_overlap():
    words = (
        "the quarterly delivery report never include s the ticket s that customer s filed after the out age "
        "so the support team reconcile s them by hand every monday morning before the stand up which take s "
        "hours and frustrate s everyone involved"
    ).split()
    tokens = ["[CLS]"] + [w if w != "s" else "##s" for w in words + words[:15]] + ["[SEP]"]
    assert len(tokens) == 60
    shown = display_tokens(tokens)
    width = 500.0
    placed = _layout(shown, width)
    assert max(p.row for p in placed) >= 2  # wrapped into several rows
    for a, b in zip(placed, placed[1:]):
        assert a.x + a.width <= width
        if a.row == b.row:
            assert a.x + a.width < b.x  # never overlapping
        else:
            assert b.row == a.row + 1 and b.x == 0.0
    for k, token in enumerate(shown):  # a word piece stays on its word's row
        if token.joined:
            assert placed[k].row == placed[k - 1].row


def test_write_explanations_writes_json_png_and_html(glot_model, tmp_path):
    import matplotlib.image

    explanations = st_glot.write_explanations(glot_model, TEXTS[:2], tmp_path / "out", labels=["label one", None])
    records = json.loads((tmp_path / "out" / "explanations.json").read_text())
    assert [r["text"] for r in records] == TEXTS[:2]
    for record, explanation in zip(records, explanations):
        assert np.array_equal(np.float32(record["weights"]), explanation.weights)  # float32 → JSON → float32: exact
        image = matplotlib.image.imread(tmp_path / "out" / record["files"]["png"])
        assert image.ndim == 3 and image.shape[1] > 1000
        page = (tmp_path / "out" / record["files"]["html"]).read_text()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)  # nothing loaded from elsewhere
        for token in display_tokens(explanation.tokens):
            assert f">{token.text}<" in page
    assert records[0]["files"]["png"] == "000-label-one.png"
    assert records[1]["files"]["html"] == "001-the-quick-brown-fox-jumps-over-the-lazy.html"
    with pytest.raises(ValueError, match=r"Invalid format: 'svg'. Valid values are: \('png', 'html'\)"):
        st_glot.write_explanations(glot_model, TEXTS[:1], tmp_path / "bad", formats=("svg",))


def test_cli_explain_prints_ranked_tokens(glot_model, tmp_path, capsys):
    glot_model.save(str(tmp_path / "model"))
    code = main(
        [
            "explain",
            "--model",
            str(tmp_path / "model"),
            "the cat sat on the mat",
            "dog reported",
            "--output",
            str(tmp_path / "out"),
            "--top",
            "5",
            "--format",
            "png",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "[0] the cat sat on the mat" in printed and "[1] dog reported" in printed
    ranked = re.findall(r"^\s+(\d)\. (\d\.\d{4})  (.+)$", printed, flags=re.MULTILINE)
    assert [rank for rank, _, _ in ranked] == ["1", "2", "3", "4", "5"] * 2
    weights = [float(w) for _, w, _ in ranked[:5]]
    assert weights == sorted(weights, reverse=True)
    assert {label for _, _, label in ranked[5:]} == {"[CLS]", "dog", "report", "ed (##ed)", "[SEP]"}
    assert sorted(os.listdir(tmp_path / "out")) == [
        "000-the-cat-sat-on-the-mat.png",
        "001-dog-reported.png",
        "explanations.json",
    ]
    with pytest.raises(SystemExit):
        main(["explain", "--model", str(tmp_path / "model"), "x", "--output", str(tmp_path / "o"), "--top", "0"])
    assert "invalid value '0': expected an integer >= 1" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_html_renders_every_token_in_headless_chromium(glot_model, tmp_path):
    text = " ".join(["the quick brown fox jumps over the lazy dog and reported it"] * 5)
    explanation = st_glot.write_explanations(glot_model, [text], tmp_path, formats=("html",), max_edges=25)[0]
    page = tmp_path / "000-the-quick-brown-fox-jumps-over-the-lazy.html"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    shown = [t.text for t in display_tokens(explanation.tokens)]
    rendered = re.findall(r'<span class="tok[^"]*" data-i="(\d+)"[^>]*>([^<]*)<i class="bar"', dom)
    assert [int(i) for i, _ in rendered] == list(range(len(shown)))
    assert [label for _, label in rendered] == shown
    drawn = min(25, len(explanation.edges))
    assert drawn > 0
    assert f'data-drawn-edges="{drawn}"' in dom  # the script ran to the end
    assert len(re.findall(r"<path ", dom)) == drawn


@pytest.mark.slow
def test_explain_on_the_default_backbone(tmp_path):
    backbone = Transformer(default_backbone_path())
    torch.manual_seed(0)
    pool = GLOTPooling(backbone.get_embedding_dimension(), hidden_dim=32, tau=0.6)
    model = SentenceTransformer(modules=[backbone, pool], device="cpu")
    text = (
        "The quarterly delivery reports never include the tickets that customers filed after the outage, so the "
        "support team reconciles them by hand every Monday morning before the standup, which takes hours."
    )
    explanation = st_glot.write_explanations(model, [text], tmp_path)[0]
    assert 35 <= len(explanation.tokens) <= 70 and any(t.startswith("##") for t in explanation.tokens)
    n = len(explanation.tokens)
    assert_within(explanation.weights.sum(), 1.0, bound(1.0, n))  # n weights summing to 1
    embedding = model.encode([text])[0]  # no Normalize: the embedding's own scale
    terms = backbone_terms(backbone.auto_model, n) + glot_terms(pool, n)
    assert_within(explanation.embedding, embedding, bound(magnitude(embedding), terms))
    assert len(explanation.edges) > 0
    (picture,) = tmp_path.glob("000-*.png")
    assert picture.stat().st_size > 10_000
