"""Token-state cache: exact states, no padding, keys, corruption, interruption, concurrency."""

from __future__ import annotations

import logging
import os
import threading

import pytest
import torch
from conftest import build_model
from tolerance import assert_within, backbone_terms, bound, encoder_bound, magnitude, storage_error

from st_glot import GLOTPooling
from st_glot.training.cache import TokenStateCache
from st_glot.training.cached_input import CachedTokenStates
from st_glot.training.frozen import backbone_states

TEXTS = ["the cat sat on the mat", "dog", "a quick brown fox jumps over the lazy dog", "red blue green", "dog"]


@pytest.fixture()
def model(tiny_backbone):
    return build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))


def _encode_fn(model, calls=None):
    def encode(batch):
        if calls is not None:
            calls.append(list(batch))
        return backbone_states(model, batch)

    return encode


def _states_bound(model, expected: torch.Tensor, mask: torch.Tensor, dtype: str) -> torch.Tensor:
    """Cached states against the backbone's own: computed in other batches (the backbone's rounding),
    then stored as ``dtype`` (rounded once more)."""
    tokens = int(mask.sum(1).max())
    recomputed = bound(magnitude(expected), backbone_terms(model[0].auto_model, tokens))
    return recomputed + storage_error(expected.abs() + recomputed, getattr(torch, dtype))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_cached_states_equal_backbone_states(model, tmp_path, dtype):
    cache = TokenStateCache.for_backbone(model[0], tmp_path, dtype=dtype)
    assert cache.add(TEXTS, _encode_fn(model), batch_size=2, shard_size=2, show_progress_bar=False) == 4
    states, mask = cache.gather(cache.rows(TEXTS[::-1]))
    expected, expected_mask = backbone_states(model, TEXTS[::-1])
    assert torch.equal(mask, expected_mask.bool())
    expected = expected[expected_mask.bool()].float()
    assert_within(states[mask], expected, _states_bound(model, expected, expected_mask, dtype), dtype)
    assert torch.all(states[~mask] == 0)


def test_stored_without_padding(model, tmp_path):
    cache = TokenStateCache.for_backbone(model[0], tmp_path)
    cache.add(TEXTS, _encode_fn(model), show_progress_bar=False)
    _, mask = backbone_states(model, list(dict.fromkeys(TEXTS)))
    data_bytes = sum(os.path.getsize(p) for p in cache.directory.glob("shard-*.bin"))
    assert data_bytes == int(mask.sum()) * 32 * 2  # valid tokens x d x fp16
    assert cache.lengths.tolist() == sorted(cache.lengths.tolist(), reverse=True)  # longest first


def test_second_run_does_not_touch_the_backbone(model, tmp_path):
    TokenStateCache.for_backbone(model[0], tmp_path).add(TEXTS, _encode_fn(model), show_progress_bar=False)
    calls = []
    again = TokenStateCache.for_backbone(model[0], tmp_path)
    assert again.add(TEXTS, _encode_fn(model, calls), show_progress_bar=False) == 0
    assert calls == [] and len(again) == 4


def test_cached_texts_do_not_wait_for_another_writer(model, tmp_path):
    TokenStateCache.for_backbone(model[0], tmp_path).add(TEXTS, _encode_fn(model), show_progress_bar=False)
    reader = TokenStateCache.for_backbone(model[0], tmp_path)
    done = []
    with TokenStateCache.for_backbone(model[0], tmp_path)._lock():  # a writer filling other texts
        worker = threading.Thread(
            target=lambda: done.append(reader.add(TEXTS[:2], _encode_fn(model), show_progress_bar=False))
        )
        worker.start()
        worker.join(timeout=30)
    assert done == [0]
    states, _ = reader.gather(reader.rows(TEXTS[:2]))
    assert states.shape[0] == 2


def test_key_covers_what_changes_states(model, tmp_path):
    base = TokenStateCache.for_backbone(model[0], tmp_path).directory
    assert TokenStateCache.for_backbone(model[0], tmp_path, dtype="float32").directory != base
    assert TokenStateCache.for_backbone(model[0], tmp_path, prompt="query: ").directory != base
    model[0].max_seq_length = 8
    assert TokenStateCache.for_backbone(model[0], tmp_path).directory != base
    model[0].max_seq_length = 512
    assert TokenStateCache.for_backbone(model[0], tmp_path).directory == base
    with torch.no_grad():
        next(model[0].parameters())[0, 0] += 1e-3  # any weight change
    assert TokenStateCache.for_backbone(model[0], tmp_path).directory != base


@pytest.mark.parametrize("damage", ["truncate", "flip", "index"])
def test_damaged_shard_is_detected_and_rebuilt(model, tmp_path, caplog, damage):
    cache = TokenStateCache.for_backbone(model[0], tmp_path)
    cache.add(TEXTS, _encode_fn(model), shard_size=2, show_progress_bar=False)
    shard = sorted(cache.directory.glob("shard-*.bin"))[0]
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:-10])
    elif damage == "flip":
        data = bytearray(shard.read_bytes())
        data[5] ^= 0xFF
        shard.write_bytes(bytes(data))
    else:
        shard.with_suffix(".json").write_text("{not json")
    with caplog.at_level(logging.WARNING):
        reopened = TokenStateCache.for_backbone(model[0], tmp_path)
    assert "dropping shard-00000" in caplog.text
    assert len(reopened) == 2
    calls = []
    assert reopened.add(TEXTS, _encode_fn(model, calls), show_progress_bar=False) == 2
    states, mask = reopened.gather(reopened.rows(TEXTS))
    expected, expected_mask = backbone_states(model, TEXTS)
    expected = expected[expected_mask.bool()].float()
    assert_within(states[mask], expected, _states_bound(model, expected, expected_mask, "float16"))  # the default


def test_interrupted_precompute_resumes(model, tmp_path):
    cache = TokenStateCache.for_backbone(model[0], tmp_path)
    calls = []

    def failing(batch):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(batch)
        return backbone_states(model, batch)

    with pytest.raises(KeyboardInterrupt):
        cache.add(TEXTS, failing, batch_size=1, shard_size=2, show_progress_bar=False)
    (cache.directory / "shard-00001.bin.tmp-999").write_bytes(b"half")  # as if killed mid-write
    resumed = TokenStateCache.for_backbone(model[0], tmp_path)
    assert len(resumed) == 2  # the finished shard survived
    assert resumed.add(TEXTS, _encode_fn(model), show_progress_bar=False) == 2
    assert not list(resumed.directory.glob("*.tmp-*"))
    fresh = TokenStateCache.for_backbone(model[0], tmp_path / "fresh")
    fresh.add(TEXTS, _encode_fn(model), show_progress_bar=False)
    a, _ = resumed.gather(resumed.rows(TEXTS))
    b, _ = fresh.gather(fresh.rows(TEXTS))
    assert torch.equal(a, b)


def test_unknown_text_is_a_clear_error(model, tmp_path):
    cache = TokenStateCache.for_backbone(model[0], tmp_path)
    with pytest.raises(KeyError, match="not in the token-state cache"):
        cache.rows(["never seen"])


def test_bad_dtype(model, tmp_path):
    with pytest.raises(
        ValueError, match=r"Invalid cache_dtype: 'int8'. Valid values are: \('float16', 'bfloat16', 'float32'\)"
    ):
        TokenStateCache.for_backbone(model[0], tmp_path, dtype="int8")


def test_cached_model_encodes_like_the_real_one(model, tmp_path):
    from sentence_transformers import SentenceTransformer

    cache = TokenStateCache.for_backbone(model[0], tmp_path, dtype="float32")
    cache.add(TEXTS, _encode_fn(model), show_progress_bar=False)
    stand_in = SentenceTransformer(modules=[CachedTokenStates(cache), *list(model)[1:]], device="cpu")
    tokens = int(model.preprocess(TEXTS)["attention_mask"].sum(1).max())
    assert_within(stand_in.encode(TEXTS), model.encode(TEXTS), encoder_bound(model, tokens))
