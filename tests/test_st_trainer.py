"""sentence-transformers' own trainer on a GLOT model: freeze_backbone, and a card that tells what training did."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from conftest import build_model
from datasets import Dataset
from sentence_transformers.sentence_transformer.losses import CoSENTLoss
from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

from st_glot import GLOTPooling, freeze_backbone, unfreeze_backbone
from st_glot.training.frozen import frozen

WORDS = "the cat sat on mat dog red blue green quick brown fox jumps over lazy keys files folder box".split()


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(2, 8))) for _ in range(n)]


def _pairs(n: int = 16) -> Dataset:
    return Dataset.from_dict(
        {"s1": _texts(n, 1), "s2": _texts(n, 2), "score": np.random.default_rng(0).random(n).tolist()}
    )


def _glot_model(backbone):
    torch.manual_seed(0)
    return build_model(backbone, GLOTPooling(32, hidden_dim=8, dropout=0.1))


def _train(model, output_dir, steps: int = 2) -> None:
    """``steps`` steps of sentence-transformers' trainer with CoSENT, as its documentation shows."""
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=8,
        learning_rate=1e-2,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
    )
    SentenceTransformerTrainer(model=model, args=args, train_dataset=_pairs(), loss=CoSENTLoss(model)).train()


def _token_states(model) -> torch.Tensor:
    features = model.preprocess(["the quick brown fox jumps over the lazy dog"])
    return model[0](features)["token_embeddings"]  # (1, L, d)


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def test_tiny_backbone_has_dropout(tiny_backbone):
    """The premise of the freeze tests: in train mode the tiny BERT's token states are random."""
    assert tiny_backbone.auto_model.config.hidden_dropout_prob > 0
    tiny_backbone.train()
    features = tiny_backbone.preprocess(["the quick brown fox"])
    assert not torch.equal(
        tiny_backbone(dict(features))["token_embeddings"], tiny_backbone(dict(features))["token_embeddings"]
    )


def test_freeze_backbone_keeps_eval_mode_through_model_train(tiny_backbone):
    model = freeze_backbone(_glot_model(tiny_backbone))
    model.train()
    assert all(not module.training for module in model[0].modules())
    assert all(module.training for module in model[1].modules())  # the pooler (with its dropout) trains
    assert not any(p.requires_grad for p in model[0].parameters())
    assert all(p.requires_grad for p in model[1].parameters())
    assert torch.equal(_token_states(model), _token_states(model))

    # The freeze travels with the model: pickled (multi-process encoding) and deep-copied.
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        twin.train()
        assert not any(module.training for module in twin[0].modules())
        assert torch.equal(_token_states(twin), _token_states(model))

    unfreeze_backbone(model)
    assert model[0].training and all(p.requires_grad for p in model[0].parameters())
    assert not torch.equal(_token_states(model), _token_states(model))  # dropout is back


def test_fit_inside_freeze_backbone_keeps_the_freeze(tiny_backbone):
    """``frozen`` (what fit trains in) restores the freeze_backbone freeze it found, not a plain module."""
    model = freeze_backbone(_glot_model(tiny_backbone))
    with frozen(model[0]):
        model.train()
        assert not model[0].training
    model.train()
    assert not model[0].training and not any(p.requires_grad for p in model[0].parameters())
    with frozen(tiny_backbone.__class__(tiny_backbone.auto_model.name_or_path)) as plain:
        pass
    plain.train()
    assert plain.training and "train" not in plain.__dict__


def test_freeze_backbone_rejects_a_bare_module(tiny_backbone):
    with pytest.raises(TypeError, match="Expected a SentenceTransformer.*got Transformer"):
        freeze_backbone(tiny_backbone)


def test_trainer_with_freeze_backbone_trains_the_pooler_only(tiny_backbone, tmp_path):
    model = freeze_backbone(_glot_model(tiny_backbone))
    backbone_before, pooler_before = _weights(model[0]), _weights(model[1])
    _train(model, tmp_path / "trainer")
    assert all(torch.equal(backbone_before[name], tensor) for name, tensor in model[0].state_dict().items())
    changed = [name for name, tensor in model[1].state_dict().items() if not torch.equal(pooler_before[name], tensor)]
    assert changed, "the pooler did not train"
