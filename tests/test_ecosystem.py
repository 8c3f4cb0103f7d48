"""MTEB evaluation (names, local tasks, CLI), the GLOT model card, and an offline push_to_hub."""

from __future__ import annotations

import json
import os
import shutil
from types import SimpleNamespace

import mteb
import numpy as np
import pytest
import sentence_transformers.base.model as st_base_model
import torch
from conftest import build_model
from datasets import Dataset
from huggingface_hub import HfApi
from sentence_transformers import SentenceTransformer

from st_glot import GLOTPooling
from st_glot.cli.main import main as cli_main
from st_glot.evaluation.mteb_tasks import (
    classification_task,
    classification_task_from_folder,
    model_name,
    name_model,
    sts_task,
    sts_task_from_file,
)
from st_glot.hub.model_card import GLOTModelCardData, attach_glot_card
from st_glot.training.fit import fit

WORDS = "the cat sat on mat dog red blue green quick brown fox jumps over lazy keys files folder box".split()
SENTENCES = ["the cat sat on the mat", "a dog jumps over the lazy fox", "the folder includes files"]


def _glot_model(backbone, seed: int) -> SentenceTransformer:
    torch.manual_seed(seed)
    return build_model(backbone, GLOTPooling(32, hidden_dim=8))


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(2, 8))) for _ in range(n)]


def _sts(name: str = "TinySTS"):
    rng = np.random.default_rng(0)
    return sts_task(name, _texts(12, 1), _texts(12, 2), rng.uniform(0, 5, 12).tolist())


def _classification(name: str = "TinyClassification"):
    train, test = _texts(24, 3), _texts(12, 4)
    return classification_task(
        name, train, [int("dog" in t) for t in train], test, [int("dog" in t) for t in test], n_experiments=1
    )


# --- names ---------------------------------------------------------------------------------------


def test_model_name_distinct_stable_and_follows_weights(tiny_backbone, tmp_path):
    first, second = _glot_model(tiny_backbone, 0), _glot_model(tiny_backbone, 1)
    name = model_name(first)
    assert name.startswith("st-glot/") and name.count("/") == 1
    assert name == model_name(first)
    assert name != model_name(second)

    first.save(str(tmp_path / "saved"))
    reloaded = SentenceTransformer(str(tmp_path / "saved"), trust_remote_code=True)
    assert model_name(reloaded) == name

    name_model(first)
    assert first.model_card_data.model_name == name
    with torch.no_grad():
        next(first[1].parameters()).add_(0.5)
    assert first.model_card_data.model_name != name, "the card's name must follow the weights"
    first.model_card_data.model_name = "me/my-glot"
    assert first.model_card_data.model_name == "me/my-glot"


def test_bare_glot_model_gets_its_own_mteb_name(tiny_backbone):
    """mteb names a local model "no_model_name/available" unless its card names it; a GLOT model's card does."""
    from mteb.models.model_meta import ModelMeta

    metas = [
        ModelMeta.from_sentence_transformer_model(_glot_model(tiny_backbone, s), fetch_from_hf=False) for s in (0, 1)
    ]
    assert metas[0].name != metas[1].name and metas[0].name.startswith("st-glot/")
    assert metas[0].name == model_name(_glot_model(tiny_backbone, 0))


# --- mteb.evaluate on local tasks ------------------------------------------------------------------


def test_mteb_evaluate_local_tasks_and_cache_per_model(tiny_backbone, tmp_path):
    cache = mteb.ResultCache(tmp_path / "cache")
    models = [name_model(_glot_model(tiny_backbone, seed)) for seed in (0, 1)]
    scores = []
    for model in models:
        result = mteb.evaluate(model, [_sts(), _classification()], cache=cache, show_progress_bar=False)
        assert result.model_name == model_name(model)
        by_task = {r.task_name: r.scores["test"][0]["main_score"] for r in result.task_results}
        assert set(by_task) == {"TinySTS", "TinyClassification"}
        assert -1.0 <= by_task["TinySTS"] <= 1.0 and 0.0 <= by_task["TinyClassification"] <= 1.0
        scores.append(by_task)
    folders = sorted(p.name for p in (tmp_path / "cache" / "results").iterdir())
    assert folders == sorted(model_name(m).replace("/", "__") for m in models)
    assert scores[0]["TinySTS"] != scores[1]["TinySTS"], "each model must get its own scores, not a cached copy"
    for model, expected in zip(models, scores):
        again = mteb.evaluate(model, [_sts()], cache=cache, show_progress_bar=False)
        # read back from the cache, which mteb writes rounded to 6 decimals (TaskResult.to_disk)
        assert again.task_results[0].scores["test"][0]["main_score"] == round(expected["TinySTS"], 6)


def test_local_task_inputs_are_checked():
    with pytest.raises(ValueError, match=r"sts_task 'Bad': .* must have equal lengths; got 2, 1 and 2"):
        sts_task("Bad", ["a", "b"], ["c"], [1.0, 2.0])
    with pytest.raises(ValueError, match="n_experiments must be at least 1; got 0"):
        classification_task("Bad", ["a"], [0], ["b"], [0], n_experiments=0)


def test_sts_file_layouts(tmp_path):
    stsb = tmp_path / "sts-dev.csv"
    stsb.write_text(
        "main-captions\tMSRvid\t2012test\t0001\t5.000\tA man plays.\tA man is playing.\n"
        "main-captions\tMSRvid\t2012test\t0002\t0.500\tA cat.\tA car drives.\textra\n",
        encoding="utf-8",
    )
    task = sts_task_from_file(stsb)
    task.load_data()
    assert task.metadata.name == "LocalSTS-sts-dev" and task.max_score == 5.0
    assert task.dataset["test"]["sentence2"] == ["A man is playing.", "A car drives."]
    assert task.dataset["test"]["score"] == [5.0, 0.5]

    headed = tmp_path / "pairs.tsv"
    headed.write_text("sentence1\tsentence2\tscore\na b\tb c\t0.2\nc d\td e\t0.9\n", encoding="utf-8")
    task = sts_task_from_file(headed, name="Pairs")
    task.load_data()
    assert task.max_score == 1.0 and task.dataset["test"]["sentence1"] == ["a b", "c d"]

    empty = tmp_path / "empty.csv"
    empty.write_text("nothing here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.csv: no STS pairs found\. Valid layouts: a header with sentence1"):
        sts_task_from_file(empty)


def test_classification_folder_with_category_names(tmp_path):
    folder = tmp_path / "intents"
    folder.mkdir()
    (folder / "train.csv").write_text('text,category\n"card lost",lost_card\n"top up",top_up\n', encoding="utf-8")
    (folder / "test.csv").write_text('text,category\n"my card is gone",lost_card\n', encoding="utf-8")
    (folder / "categories.json").write_text(json.dumps(["top_up", "lost_card"]), encoding="utf-8")
    task = classification_task_from_folder(folder, n_experiments=1)
    task.load_data()
    assert task.metadata.name == "LocalClassification-intents"
    assert task.dataset["train"]["label"] == [1, 0] and task.dataset["test"]["label"] == [1]

    (folder / "test.csv").write_text('text,category\n"x",unknown_intent\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"test\.csv, line 2: label 'unknown_intent' is not in categories\.json"):
        classification_task_from_folder(folder)
    (folder / "train.csv").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"intents: no train file; a classification folder holds train.csv\|tsv"
    ):
        classification_task_from_folder(folder)


def test_cli_mteb_on_local_files(tiny_backbone, tmp_path, capsys):
    model = _glot_model(tiny_backbone, 0)
    model.save(str(tmp_path / "model"))
    sts = tmp_path / "pairs.csv"
    rows = zip(_texts(10, 5), _texts(10, 6), np.linspace(0, 5, 10))
    sts.write_text("sentence1,sentence2,score\n" + "".join(f"{a},{b},{s}\n" for a, b, s in rows), encoding="utf-8")
    folder = tmp_path / "topics"
    folder.mkdir()
    for split, seed in (("train", 7), ("dev", 8)):
        texts = _texts(16, seed)
        (folder / f"{split}.tsv").write_text(
            "label\tcontent\n" + "".join(f"{int('cat' in t)}\t{t}\n" for t in texts), encoding="utf-8"
        )
    out = tmp_path / "results"
    assert (
        cli_main(
            [
                "mteb",
                "--model",
                str(tmp_path / "model"),
                "--local-sts",
                str(sts),
                "--local-classification",
                str(folder),
                "--n-experiments",
                "1",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "| LocalSTS-pairs | test |" in printed and "| LocalClassification-topics | test |" in printed
    written = sorted(p.name for p in out.glob("results/st-glot__*/*/*.json"))
    assert written == ["LocalClassification-topics.json", "LocalSTS-pairs.json", "model_meta.json"]
    with pytest.raises(SystemExit, match="st-glot mteb: no tasks. Give --tasks"):
        cli_main(["mteb", "--model", str(tmp_path / "model")])


# --- model card and Hub --------------------------------------------------------------------------


def _intercept_hub(monkeypatch, hub_root):
    """Route push_to_hub's network calls to a local folder per repo."""
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: SimpleNamespace(repo_id=repo_id))

    def upload_folder(self, repo_id, folder_path, **kw):
        shutil.copytree(folder_path, os.path.join(hub_root, repo_id), dirs_exist_ok=True)
        return SimpleNamespace(commit_url=f"local://{repo_id}", pr_url=None)

    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    real = st_base_model.load_file_path
    # A fresh repository has no README yet, so sentence-transformers writes the card.
    monkeypatch.setattr(
        st_base_model,
        "load_file_path",
        lambda path, name, **kw: None if name == "README.md" else real(path, name, **kw),
    )


def test_push_to_hub_uploads_a_loadable_model_with_a_true_card(tiny_backbone, tmp_path, monkeypatch):
    _intercept_hub(monkeypatch, str(tmp_path / "hub"))
    model = attach_glot_card(_glot_model(tiny_backbone, 0))
    url = model.push_to_hub("someone/glot-tiny")
    assert url == "local://someone/glot-tiny"
    folder = tmp_path / "hub" / "someone" / "glot-tiny"
    assert {"modules.json", "README.md", "1_GLOTPooling", "config_sentence_transformers.json"} <= set(
        os.listdir(folder)
    )

    loaded = SentenceTransformer(str(folder), trust_remote_code=True)
    np.testing.assert_array_equal(loaded.encode(SENTENCES), model.encode(SENTENCES))
    assert model_name(loaded) == model_name(model)

    card = (folder / "README.md").read_text(encoding="utf-8")
    assert 'SentenceTransformer("someone/glot-tiny", trust_remote_code=True)' in card
    assert "pip install st-glot" in card
    trainable = sum(p.numel() for p in model[1].parameters())
    assert f"`GLOTPooling` with {trainable:,} trainable parameters" in card
    assert "**Frozen backbone:**" in card and "| `tau` | `0.3` |" in card and "| `hidden_dim` | `8` |" in card
    assert "- st-glot" in card  # tag in the YAML header
    assert "Training (st-glot `fit`)" not in card


def test_fit_records_training_on_the_users_card(tiny_backbone, tmp_path):
    model = _glot_model(tiny_backbone, 0)
    rng = np.random.default_rng(0)
    pairs = Dataset.from_dict({"s1": _texts(32, 1), "s2": _texts(32, 2), "score": rng.random(32).tolist()})
    result = fit(
        model,
        pairs,
        loss="cosine",
        eval_dataset=pairs.select(range(16)),
        epochs=1,
        batch_size=16,
        cache_dir=tmp_path / "cache",
        show_progress_bar=False,
    )
    assert isinstance(model.model_card_data, GLOTModelCardData)
    model.save(str(tmp_path / "trained"))
    card = (tmp_path / "trained" / "README.md").read_text(encoding="utf-8")
    assert "Training (st-glot `fit`)" in card
    assert "32 rows with columns s1, s2, score" in card and "**Loss:** `cosine`" in card
    spearman = result.metrics["eval_spearman_cosine"]
    assert f"| eval_spearman_cosine | {spearman:.4f} |" in card
    assert "CosineSimilarityLoss" in card  # the trainer's own record, copied from fit's stand-in model
