"""GLOTPooling inside SentenceTransformer: encode, save/load, padding invariance, broken folders."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from conftest import build_model
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

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
    pool = GLOTPooling(tiny_backbone.get_embedding_dimension(), hidden_dim=8, graph_norm="center", input_norm="running")
    torch.manual_seed(0)
    norm = pool.input_running_norm
    norm.running_mean.normal_()
    norm.running_var.uniform_(0.5, 2.0)
    norm.num_tokens.fill_(123)
    model = build_model(tiny_backbone, pool)
    again = _save_and_reload(model, tmp_path / "m")
    loaded = again[1].input_running_norm
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
    assert np.abs(alone[0] - together[0]).max() <= 1e-5


def test_decoder_backbone_right_and_left_padding(tiny_llama_dir):
    backbone = Transformer(tiny_llama_dir)
    model = build_model(backbone, GLOTPooling(24, hidden_dim=8))
    alone = model.encode(["cat"], batch_size=1)
    long_one = " ".join(["the quick brown fox"] * 10)
    for side in ("right", "left"):
        model.tokenizer.padding_side = side
        together = model.encode(["cat", long_one], batch_size=2)
        assert np.abs(alone[0] - together[0]).max() <= 1e-5, side


def test_token_weights_are_exposed(tiny_backbone):
    model = build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))
    features = model.tokenize(SENTENCES)
    with torch.no_grad():
        out = model.forward(features)
    weights = out["token_weights"]
    assert weights.shape == features["attention_mask"].shape
    torch.testing.assert_close(weights.sum(-1), torch.ones(len(SENTENCES)))
    assert torch.all(weights[features["attention_mask"] == 0] == 0)


def test_bundled_minilm_end_to_end(tmp_path):
    backbone = Transformer(default_backbone_path())
    pool = GLOTPooling(backbone.get_embedding_dimension(), hidden_dim=128, num_layers=2, gnn="gat", jk="cat", tau=0.3)
    model = build_model(backbone, pool)
    emb = model.encode(["a sentence", "another one"])
    assert emb.shape == (2, 384 + 2 * 128)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
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
