"""sentence-transformers' own trainer on a GLOT model: freeze_backbone, and a card that tells what training did."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from conftest import build_model
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import CoSENTLoss
from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

from st_glot import GLOTPooling, freeze_backbone, unfreeze_backbone
from st_glot.training.fit import fit
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


# --- the model card after training ---------------------------------------------------------------


def _saved_card(model, folder) -> str:
    model.save(str(folder))
    return (folder / "README.md").read_text(encoding="utf-8")


def _changed_parameters(module: torch.nn.Module, before: dict[str, torch.Tensor]) -> int:
    """Parameters in the tensors whose values differ from ``before``, compared element-wise."""
    return sum(p.numel() for name, p in module.named_parameters() if not torch.equal(before[name], p.detach()))


def _pooler_parameters(model) -> int:
    return sum(p.numel() for module in list(model)[1:] for p in module.parameters())


def _backbone_parameters(model) -> int:
    return sum(p.numel() for p in model[0].parameters())


def _assert_frozen_card(card: str, model) -> None:
    assert f"**Frozen backbone:** `bert` ({_backbone_parameters(model):,} parameters)" in card
    assert f"**Trainable parameters:** {_pooler_parameters(model):,} (the pooler's; the backbone is frozen)" in card
    assert "Fine-tuned" not in card and "st-glot-backbone-trained" not in card


def _assert_fine_tuned_card(card: str, model, trained: int) -> None:
    assert "Frozen backbone" not in card
    assert (
        f"**Fine-tuned backbone:** `bert` ({_backbone_parameters(model):,} parameters): "
        f"{trained:,} of its parameters differ from the weights it was loaded with (training updated them)"
    ) in card
    total = trained + _pooler_parameters(model)
    assert f"**Trainable parameters:** {total:,} (the backbone's that changed, and the pooler's)" in card
    assert f"<!-- st-glot-backbone-trained: {trained} -->" in card


def test_card_after_the_trainer_fine_tuned_the_backbone(tiny_backbone, tmp_path):
    model = _glot_model(tiny_backbone)
    _assert_frozen_card(_saved_card(model, tmp_path / "built"), model)
    before = _weights(model[0])
    _train(model, tmp_path / "trainer")
    trained = _changed_parameters(model[0], before)
    assert trained > 0
    card = _saved_card(model, tmp_path / "trained")
    _assert_fine_tuned_card(card, model, trained)

    # Reloaded, the model still says so: the weights it is loaded with are fine-tuned ones.
    again = SentenceTransformer(str(tmp_path / "trained"), trust_remote_code=True, device="cpu")
    _assert_fine_tuned_card(_saved_card(again, tmp_path / "resaved"), again, trained)
    _train(again, tmp_path / "trainer2")  # a second trainer run regenerates the card
    _assert_fine_tuned_card(_saved_card(again, tmp_path / "retrained"), again, trained)


def test_card_after_a_manual_optimizer_step_on_part_of_the_backbone(tiny_backbone, tmp_path):
    model = _glot_model(tiny_backbone)
    layer = model[0].auto_model.encoder.layer[1]
    before = _weights(model[0])
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    features = model.preprocess(["the quick brown fox", "a cat sat on the mat"])
    model(features)["sentence_embedding"].sum().backward()
    optimizer.step()
    trained = _changed_parameters(model[0], before)
    assert 0 < trained == sum(p.numel() for p in layer.parameters() if p.grad is not None and p.grad.any())
    _assert_fine_tuned_card(_saved_card(model, tmp_path / "stepped"), model, trained)


def test_a_loaded_card_is_rewritten_when_the_backbone_changes(tiny_backbone, tmp_path):
    """A model loaded with its card and saved again keeps that card, unless its backbone changed."""
    _saved_card(_glot_model(tiny_backbone), tmp_path / "built")
    loaded = SentenceTransformer(str(tmp_path / "built"), trust_remote_code=True, device="cpu")
    loaded._model_card_text += "\n<!-- kept -->\n"
    assert "<!-- kept -->" in _saved_card(loaded, tmp_path / "same")
    before = _weights(loaded[0])
    with torch.no_grad():
        loaded[0].auto_model.embeddings.word_embeddings.weight[3] += 1.0
    card = _saved_card(loaded, tmp_path / "changed")
    assert "<!-- kept -->" not in card
    _assert_fine_tuned_card(card, loaded, _changed_parameters(loaded[0], before))


def test_card_of_a_frozen_backbone_states_the_training_length(tiny_backbone, tmp_path):
    model = freeze_backbone(_glot_model(tiny_backbone))
    model.max_seq_length = 16
    _train(model, tmp_path / "trainer")
    card = _saved_card(copy.deepcopy(model), tmp_path / "trained")  # a copy keeps what the backbone was loaded with
    _assert_frozen_card(card, model)
    assert "- **Trained at** 16 tokens per text (`max_seq_length`; longer texts were truncated).\n" in card
    assert "**Maximum Sequence Length:** 16 tokens" in card  # sentence-transformers' own line agrees
    model.max_seq_length = 32
    card = _saved_card(model, tmp_path / "longer")
    assert "- **Trained at** 16 tokens per text (`max_seq_length`; longer texts were truncated); " in card
    assert "the model now truncates at 32.\n" in card


def test_card_after_fit_states_the_training_length(tiny_backbone, tmp_path):
    model = _glot_model(tiny_backbone)
    model.max_seq_length = 12
    fit(model, _pairs(), loss="cosent", epochs=1, batch_size=8, cache_dir=tmp_path / "cache", show_progress_bar=False)
    card = _saved_card(model, tmp_path / "trained")
    _assert_frozen_card(card, model)
    assert "- **Trained at** 12 tokens per text" in card and "now truncates" not in card
