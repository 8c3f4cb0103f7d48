"""GLOTPooling inside SentenceTransformer: encode, save/load, padding invariance, broken folders."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import torch
from conftest import build_model
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from tolerance import assert_within, bound, encoder_bound

from st_glot import AdaPool, GLOTPooling, default_backbone_path

SENTENCES = ["the cat sat on the mat", "a quick brown fox", "dog", "the folder includes files and reports"]


def _save_and_reload(model: SentenceTransformer, path) -> SentenceTransformer:
    model.save(str(path))
    return SentenceTransformer(str(path), trust_remote_code=True, device="cpu")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gnn": "gcn", "jk": "max", "edge_weight": "cosine"},
        {"gnn": "gin", "jk": "mean", "num_layers": 3},
        {"gnn": "gine", "edge_weight": "cosine", "tau": 0.6},
        {"gnn": "gat", "heads": 4, "num_layers": 0, "scorer_hidden": 32},
        {"backend": "pyg", "dropout": 0.1},
        {"anchor": "last", "anchor_weight": 0.4},
    ],
)
def test_save_load_gives_identical_encodings(tiny_backbone, tmp_path, kwargs):
    pool = GLOTPooling(tiny_backbone.get_embedding_dimension(), hidden_dim=8, **kwargs)
    model = build_model(tiny_backbone, pool)
    again = _save_and_reload(model, tmp_path / "m")
    assert isinstance(again[1], GLOTPooling)
    assert again[1].get_config_dict() == pool.get_config_dict()
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))


def test_running_norm_statistics_survive_save(tiny_backbone, tmp_path):
    dim = tiny_backbone.get_embedding_dimension()
    pool = GLOTPooling(dim, hidden_dim=8, graph_norm="center", input_norm="running", anchor="mean")
    torch.manual_seed(0)
    for norm in (pool.input_running_norm, pool.anchor_mix.norm):
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 2.0)
        norm.num_tokens.fill_(123)
    model = build_model(tiny_backbone, pool)
    again = _save_and_reload(model, tmp_path / "m")
    for norm, loaded in (
        (pool.input_running_norm, again[1].input_running_norm),
        (pool.anchor_mix.norm, again[1].anchor_mix.norm),
    ):
        assert torch.equal(loaded.running_var, norm.running_var) and loaded.num_tokens.item() == 123
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))


def test_adapool_save_load(tiny_backbone, tmp_path):
    model = build_model(tiny_backbone, AdaPool(tiny_backbone.get_embedding_dimension()))
    again = _save_and_reload(model, tmp_path / "m")
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))


def test_encode_is_independent_of_batch_company(tiny_backbone):
    model = build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))
    long_one = " ".join(["the quick brown fox jumps over the lazy dog"] * 20)
    alone = model.encode(["dog"], batch_size=1)
    together = model.encode(["dog", long_one, long_one], batch_size=3)
    tokens = int(model.preprocess(["dog"])["attention_mask"].sum())
    assert_within(together[0], alone[0], encoder_bound(model, tokens))


def test_decoder_backbone_right_and_left_padding(tiny_llama_dir):
    backbone = Transformer(tiny_llama_dir)
    model = build_model(backbone, GLOTPooling(24, hidden_dim=8))
    alone = model.encode(["cat"], batch_size=1)
    long_one = " ".join(["the quick brown fox"] * 10)
    limit = encoder_bound(model, int(model.preprocess(["cat"])["attention_mask"].sum()))
    for side in ("right", "left"):
        model.tokenizer.padding_side = side
        together = model.encode(["cat", long_one], batch_size=2)
        assert_within(together[0], alone[0], limit, side)


def test_token_weights_are_exposed(tiny_backbone):
    model = build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))
    features = model.tokenize(SENTENCES)
    with torch.no_grad():
        out = model.forward(features)
    weights = out["token_weights"]
    assert weights.shape == features["attention_mask"].shape
    assert_within(weights.sum(-1), torch.ones(len(SENTENCES)), bound(1.0, weights.size(1)))  # L terms summing to 1
    assert torch.all(weights[features["attention_mask"] == 0] == 0)


def test_bundled_minilm_end_to_end(tmp_path):
    backbone = Transformer(default_backbone_path())
    pool = GLOTPooling(backbone.get_embedding_dimension(), hidden_dim=128, num_layers=2, gnn="gat", jk="cat", tau=0.3)
    model = build_model(backbone, pool)
    emb = model.encode(["a sentence", "another one"])
    assert emb.shape == (2, 384 + 2 * 128)
    assert_within(np.linalg.norm(emb, axis=1), np.ones(2), bound(1.0, emb.shape[1] + 2))  # unit vectors' norms
    again = _save_and_reload(model, tmp_path / "m")
    np.testing.assert_array_equal(emb, again.encode(["a sentence", "another one"]))


# ---- broken folders: each a clear error naming the file, never a random module ----


@pytest.fixture()
def saved_pool(tmp_path):
    pool = GLOTPooling(16, hidden_dim=8)
    pool.save(str(tmp_path))
    return tmp_path


def test_missing_weights(saved_pool):
    os.remove(saved_pool / "model.safetensors")
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        GLOTPooling.load(str(saved_pool))


def test_truncated_weights(saved_pool):
    path = saved_pool / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="model.safetensors is not a readable safetensors file"):
        GLOTPooling.load(str(saved_pool))


def test_weights_for_another_width(saved_pool):
    GLOTPooling(32, hidden_dim=8).save(str(saved_pool / "other"))
    os.replace(saved_pool / "other" / "model.safetensors", saved_pool / "model.safetensors")
    with pytest.raises(ValueError, match="shape mismatches"):
        GLOTPooling.load(str(saved_pool))


def test_unknown_config_key(saved_pool):
    config = json.loads((saved_pool / "config.json").read_text())
    config["graph_mode"] = "knn"
    (saved_pool / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['graph_mode'\]"):
        GLOTPooling.load(str(saved_pool))


def test_future_format_version(saved_pool):
    config = json.loads((saved_pool / "config.json").read_text())
    config["format_version"] = 99
    (saved_pool / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="format_version=99.*pip install -U st-glot"):
        GLOTPooling.load(str(saved_pool))


def test_save_leaves_no_temporary_files(saved_pool):
    assert sorted(os.listdir(saved_pool)) == ["config.json", "model.safetensors"]


def test_tiny_backbone_tokenizes_real_words(tiny_backbone):
    ids = tiny_backbone.tokenizer("dog cat")["input_ids"]
    assert tiny_backbone.tokenizer.unk_token_id not in ids and len(ids) == 4


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("tau", 7, r"Invalid tau: 7\. tau is a cosine-similarity threshold in \[-1, 1\]"),
        ("gnn", "foo", r"Invalid gnn: 'foo'\. Valid values are: \('gat', 'gcn', 'gin', 'gine'\)"),
    ],
)
def test_invalid_config_value_names_the_file(saved_pool, key, value, message):
    config = json.loads((saved_pool / "config.json").read_text())
    config[key] = value
    (saved_pool / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=re.escape(str(saved_pool / "config.json")) + ": " + message):
        GLOTPooling.load(str(saved_pool))


# ---- presets: the recommended configuration by default, the paper's one switch away ----


def test_defaults_are_the_recommended_preset():
    config = GLOTPooling(16).get_config_dict()
    assert (config["graph_norm"], config["input_norm"], config["tau"]) == ("center", "running", 0.3)
    assert GLOTPooling.from_preset("recommended", 16).get_config_dict() == config
    paper = GLOTPooling.from_preset("paper", 16, hidden_dim=8).get_config_dict()
    assert (paper["graph_norm"], paper["input_norm"], paper["tau"], paper["hidden_dim"]) == ("none", "none", 0.3, 8)
    assert GLOTPooling.from_preset("paper", 16, tau=0.6).tau == 0.6
    with pytest.raises(ValueError, match=r"Invalid preset: 'best'\. Valid values are: \('recommended', 'paper'\)"):
        GLOTPooling.from_preset("best", 16)


def _paper_model(tiny_backbone) -> SentenceTransformer:
    torch.manual_seed(0)
    pool = GLOTPooling(tiny_backbone.get_embedding_dimension(), hidden_dim=8, graph_norm="none", input_norm="none")
    return build_model(tiny_backbone, pool)


def test_folder_saved_with_the_old_defaults_encodes_as_before(tiny_backbone, tmp_path):
    model = _paper_model(tiny_backbone)
    again = _save_and_reload(model, tmp_path / "m")
    assert (again[1].graph_norm, again[1].input_norm, again[1].input_running_norm) == ("none", "none", None)
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))


def test_format_1_folder_without_the_newer_keys_loads_with_the_paper_settings(tiny_backbone, tmp_path):
    model = _paper_model(tiny_backbone)
    model.save(str(tmp_path))
    pool_folder = next(p for p in tmp_path.iterdir() if (p / "config.json").exists() and "Pooling" in p.name)
    config = json.loads((pool_folder / "config.json").read_text())
    del config["graph_norm"], config["input_norm"]
    config["format_version"] = 1
    (pool_folder / "config.json").write_text(json.dumps(config))
    again = SentenceTransformer(str(tmp_path), trust_remote_code=True, device="cpu")
    assert (again[1].graph_norm, again[1].input_norm) == ("none", "none")
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))
    # the same keys missing from a current-format folder take today's defaults, which these weights do not fit
    config["format_version"] = 2
    (pool_folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"does not match the module's config: missing \['input_running_norm"):
        SentenceTransformer(str(tmp_path), trust_remote_code=True, device="cpu")


def test_make_pooler_and_cli_presets(tiny_backbone):
    from st_glot.cli.main import build_parser
    from st_glot.cli.stress import stress_glot_kwargs
    from st_glot.models.factory import make_pooler

    assert make_pooler("glot", tiny_backbone).input_norm == "running"
    assert make_pooler("glot", tiny_backbone, preset="paper").input_norm == "none"
    parse = build_parser().parse_args
    assert stress_glot_kwargs(parse(["stress-test"])) == {"preset": "recommended"}
    assert stress_glot_kwargs(parse(["stress-test", "--preset", "paper"])) == {"preset": "paper", "tau": 0.6}
    paper = stress_glot_kwargs(parse(["stress-test", "--preset", "paper", "--tau", "0.8", "--num-layers", "3"]))
    assert paper == {"preset": "paper", "tau": 0.8, "num_layers": 3}
    pool = make_pooler("glot", tiny_backbone, **paper)
    assert (pool.graph_norm, pool.tau, pool.num_layers) == ("none", 0.8, 3)
    anchored = stress_glot_kwargs(parse(["stress-test", "--anchor", "mean", "--anchor-weight", "0.3"]))
    assert anchored == {"preset": "recommended", "anchor": "mean", "anchor_weight": 0.3}
    pool = make_pooler("glot", tiny_backbone, **anchored)
    assert (pool.anchor, pool.anchor_mix.weight, pool.get_embedding_dimension()) == ("mean", 0.3, 2 * 32 + 2 * 128)


def test_one_default_max_seq_length(tiny_bert_dir):
    """st-glot's loader, every command and the Quickstart (README and example) keep 128 tokens per text."""
    from pathlib import Path

    from st_glot.cli.main import build_parser
    from st_glot.models.backbones import load_backbone
    from st_glot.utils.choices import DEFAULT_MAX_SEQ_LENGTH

    assert Transformer(tiny_bert_dir).max_seq_length == 512  # a bare Transformer takes the model's own limit
    assert load_backbone(tiny_bert_dir).max_seq_length == DEFAULT_MAX_SEQ_LENGTH == 128
    parse = build_parser().parse_args
    for command in (
        ["train", "--task", "stsb", "--output", "out"],
        ["glue"],
        ["compare", "--train", "t.csv", "--eval", "e.csv"],
        ["generalisation", "--data-dir", "data"],
        ["stress-test"],
    ):
        assert parse(command).max_seq_length == DEFAULT_MAX_SEQ_LENGTH, command
    root = Path(__file__).resolve().parent.parent
    example = (root / "examples" / "quickstart.py").read_text(encoding="utf-8")
    quickstart = (root / "README.md").read_text(encoding="utf-8").split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    for text in (example, quickstart):
        assert re.findall(r"Transformer\([^)\n]*max_seq_length=(\d+)", text) == [str(DEFAULT_MAX_SEQ_LENGTH)]
