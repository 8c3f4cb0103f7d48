"""The GLOT model card on every model that holds an st-glot module, however the model was built."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import sentence_transformers.base.model as st_base_model
import torch
from huggingface_hub import HfApi
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer
from sentence_transformers.sentence_transformer.model_card import SentenceTransformerModelCardData
from sentence_transformers.sentence_transformer.modules import Pooling
from tolerance import assert_within, encoder_bound

from st_glot import AdaPool, GLOTPooling
from st_glot.hub.model_card import STOCK_CARD_PHRASE, GLOTModelCardData

POOLERS = {"GLOTPooling": lambda: GLOTPooling(32, hidden_dim=8), "AdaPool": lambda: AdaPool(32)}
SNIPPET = re.compile(r"```python\n(.*?)```", re.DOTALL)
LOAD_CALL = re.compile(r'SentenceTransformer\("([^"]*)"')


def _quickstart(tiny_bert_dir: str, pooler: str, **kwargs) -> SentenceTransformer:
    """A model built the README's Quickstart way: no st-glot factory, no explicit card."""
    torch.manual_seed(0)
    return SentenceTransformer(
        modules=[Transformer(tiny_bert_dir), POOLERS[pooler](), Normalize()], device="cpu", **kwargs
    )


def _usage_snippet(card: str) -> str:
    (snippet,) = [block for block in SNIPPET.findall(card) if "SentenceTransformer(" in block]
    return snippet


@pytest.mark.parametrize("pooler", sorted(POOLERS))
def test_quickstart_model_saves_a_card_whose_snippet_loads_and_encodes_offline(tiny_bert_dir, tmp_path, pooler):
    model = _quickstart(tiny_bert_dir, pooler)
    folder = tmp_path / "saved"
    model.save(str(folder))
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "pip install -U sentence-transformers st-glot" in card
    assert f"`{pooler}` with" in card and "## Pooling with st-glot" in card

    snippet = _usage_snippet(card)
    assert "# pip install st-glot" in snippet
    (model_id,) = LOAD_CALL.findall(snippet)
    assert f'SentenceTransformer("{model_id}", trust_remote_code=True)' in snippet
    runnable = snippet.replace(f'"{model_id}"', repr(str(folder)))
    out = tmp_path / "embeddings.npy"
    script = f"{runnable}\nimport json, numpy\nnumpy.save({str(out)!r}, embeddings)\nprint(json.dumps(sentences))\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]

    sentences = json.loads(done.stdout.strip().splitlines()[-1])  # the snippet's own example sentences
    assert len(sentences) == 3
    tokens = int(model.preprocess(sentences)["attention_mask"].sum(1).max())  # the child runs 1 thread: rounding apart
    assert_within(np.load(out), model.encode(sentences), encoder_bound(model, tokens))


def test_push_to_hub_writes_the_same_true_card_as_save(tiny_bert_dir, tmp_path, monkeypatch):
    uploaded = tmp_path / "hub"
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: SimpleNamespace(repo_id=repo_id))

    def upload_folder(self, repo_id, folder_path, **kw):
        shutil.copytree(folder_path, uploaded / repo_id)
        return SimpleNamespace(commit_url=f"local://{repo_id}", pr_url=None)

    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    real = st_base_model.load_file_path
    # A fresh repository has no README yet, so push_to_hub writes the card.
    monkeypatch.setattr(
        st_base_model,
        "load_file_path",
        lambda path, name, **kw: None if name == "README.md" else real(path, name, **kw),
    )
    assert _quickstart(tiny_bert_dir, "GLOTPooling").push_to_hub("someone/glot-tiny") == "local://someone/glot-tiny"
    pushed = (uploaded / "someone" / "glot-tiny" / "README.md").read_text(encoding="utf-8")

    _quickstart(tiny_bert_dir, "GLOTPooling").save(str(tmp_path / "saved"), model_name="someone/glot-tiny")
    saved = (tmp_path / "saved" / "README.md").read_text(encoding="utf-8")
    assert pushed == saved
    assert 'SentenceTransformer("someone/glot-tiny", trust_remote_code=True)' in pushed
    assert "pip install -U sentence-transformers st-glot" in pushed and "## Pooling with st-glot" in pushed

    # Saved without a repo id, reloaded, then pushed: the reused card gets the repo id and keeps the flag.
    _quickstart(tiny_bert_dir, "AdaPool").save(str(tmp_path / "local"))
    SentenceTransformer(str(tmp_path / "local"), trust_remote_code=True, device="cpu").push_to_hub("someone/ada")
    card = (uploaded / "someone" / "ada" / "README.md").read_text(encoding="utf-8")
    assert 'SentenceTransformer("someone/ada", trust_remote_code=True)' in card and "`AdaPool` with" in card


def test_card_fields_set_by_the_user_carry_over(tiny_bert_dir, tmp_path):
    card_data = SentenceTransformerModelCardData(language="en", license="mit", model_name="My GLOT")
    model = _quickstart(tiny_bert_dir, "GLOTPooling", model_card_data=card_data)
    assert isinstance(model.model_card_data, GLOTModelCardData)
    model.save(str(tmp_path / "saved"))
    card = (tmp_path / "saved" / "README.md").read_text(encoding="utf-8")
    assert "license: mit" in card and "- en" in card and "# My GLOT" in card
    assert "## Pooling with st-glot" in card


def test_a_stock_card_loaded_with_a_folder_is_replaced_on_save(tiny_bert_dir, tmp_path):
    folder = tmp_path / "old"
    _quickstart(tiny_bert_dir, "AdaPool").save(str(folder))
    stock = (
        f'# SentenceTransformer\n\n{STOCK_CARD_PHRASE} trained.\n\n```python\nmodel = SentenceTransformer("x")\n```\n'
    )
    (folder / "README.md").write_text(stock, encoding="utf-8")

    SentenceTransformer(str(folder), trust_remote_code=True, device="cpu").save(str(tmp_path / "again"))
    card = (tmp_path / "again" / "README.md").read_text(encoding="utf-8")
    assert "trust_remote_code=True" in card and "`AdaPool` with" in card

    own = "# My hand-written card\n\nLoad with `SentenceTransformer(path, trust_remote_code=True)`.\n"
    (folder / "README.md").write_text(own, encoding="utf-8")
    SentenceTransformer(str(folder), trust_remote_code=True, device="cpu").save(str(tmp_path / "kept"))
    assert (tmp_path / "kept" / "README.md").read_text(encoding="utf-8") == own


def test_models_without_st_glot_modules_keep_the_stock_card(tiny_bert_dir):
    backbone = Transformer(tiny_bert_dir)
    model = SentenceTransformer(modules=[backbone, Pooling(backbone.get_embedding_dimension())], device="cpu")
    assert type(model.model_card_data) is SentenceTransformerModelCardData


def test_card_architecture_tells_the_presets_apart(tiny_bert_dir, tmp_path):
    cards = {}
    for preset in ("recommended", "paper"):
        model = SentenceTransformer(
            modules=[Transformer(tiny_bert_dir), GLOTPooling.from_preset(preset, 32, hidden_dim=8), Normalize()],
            device="cpu",
        )
        model.save(str(tmp_path / preset))
        cards[preset] = (tmp_path / preset / "README.md").read_text(encoding="utf-8")
    assert "(1): GLOTPooling(32, hidden_dim=8)\n" in cards["recommended"]
    assert "(1): GLOTPooling(32, hidden_dim=8, graph_norm='none', input_norm='none')\n" in cards["paper"]
