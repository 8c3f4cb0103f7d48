"""Prompt templates: applied by the backbone, saved with the model, part of the cache key, on the CLI."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling
from tolerance import assert_within, backbone_terms, bound, fan_in, gradient_terms, magnitude, training_bound, within

from st_glot.cli.main import main
from st_glot.hub.identity import backbone_fingerprint, model_name
from st_glot.models.backbones import load_backbone
from st_glot.models.factory import make_model, make_pooler, method_backbone
from st_glot.models.templated import TemplatedTransformer
from st_glot.training.cache import TokenStateCache
from st_glot.training.fit import fit
from st_glot.training.frozen import backbone_states
from st_glot.utils.templates import PROMPTEOL_TEMPLATE, resolve_template

#: Words the tiny tokenizers know, so that every token of the template is a real one.
TEMPLATE = 'the sentence "{text}" is one'


def _formatted(text: str, template: str = TEMPLATE) -> str:
    return template.replace("{text}", text)


@pytest.mark.parametrize("folder", ["tiny_llama_dir", "tiny_bert_dir"])
def test_template_is_applied_before_tokenising(folder, request):
    path = request.getfixturevalue(folder)
    backbone = load_backbone(path, template=TEMPLATE)
    texts = ["cat sat on the mat", "the quick brown fox"]
    ids = backbone.preprocess(texts)["input_ids"]
    for row, text in zip(ids, texts, strict=True):
        expected = backbone.tokenizer(_formatted(text))["input_ids"]
        assert row[: len(expected)].tolist() == expected
    assert not isinstance(load_backbone(path), TemplatedTransformer)


def test_template_needs_exactly_one_slot(tiny_llama_dir):
    assert resolve_template("prompteol") == PROMPTEOL_TEMPLATE == 'This sentence : "{text}" means in one word:"'
    with pytest.raises(ValueError, match=r"Invalid template: 'no slot' has 0 \{text\} slots"):
        load_backbone(tiny_llama_dir, template="no slot")
    with pytest.raises(ValueError, match=r"has 2 \{text\} slots"):
        TemplatedTransformer(tiny_llama_dir, template="{text} and {text}")
    # Other braces are text like any other.
    assert TemplatedTransformer(tiny_llama_dir, template='{"q": "{text}"}').template == '{"q": "{text}"}'


def test_long_text_is_cut_inside_the_slot_not_at_the_template_end(tiny_llama_dir):
    backbone = load_backbone(tiny_llama_dir, max_seq_length=12, template=TEMPLATE)
    long_text = "the quick brown fox jumps over the lazy dog and the cat sat on the mat"
    ids = backbone.preprocess([long_text, "cat"])["input_ids"]  # (2, 12)
    tokenizer = backbone.tokenizer
    assert ids.shape[1] == 12
    # The template's last words ('" is one') end the cut text, whose start is kept.
    assert ids[0, -3:].tolist() == tokenizer('" is one')["input_ids"]
    assert ids[0].tolist() == tokenizer(_formatted("the quick brown fox jumps over"))["input_ids"]
    with pytest.raises(ValueError, match=r"alone takes 5 tokens, leaving no room for a text within max_seq_length 5"):
        load_backbone(tiny_llama_dir, max_seq_length=5, template=TEMPLATE).preprocess(["cat sat"])


def test_prompt_goes_before_the_template_and_counts_alone(tiny_llama_dir):
    backbone = load_backbone(tiny_llama_dir, template=TEMPLATE)
    features = backbone.preprocess(["cat"], prompt="a dog ")
    assert features["input_ids"][0].tolist() == backbone.tokenizer("a dog " + _formatted("cat"))["input_ids"]
    assert features["prompt_length"] == 2  # "a dog": the template's words are not part of the prompt


@pytest.mark.parametrize("folder", ["tiny_llama_dir", "tiny_bert_dir"])
def test_save_and_load_keep_the_template_and_the_encodings(folder, request, tmp_path):
    path = request.getfixturevalue(folder)
    backbone = load_backbone(path, template=TEMPLATE)
    model = make_model(backbone, make_pooler("mean", backbone), device="cpu")
    texts = ["cat sat on the mat", "a red fox"]
    before = model.encode(texts, convert_to_tensor=True)
    model.save(str(tmp_path / "m"))
    loaded = SentenceTransformer(str(tmp_path / "m"), trust_remote_code=True, device="cpu")
    assert isinstance(loaded[0], TemplatedTransformer) and loaded[0].template == TEMPLATE
    assert torch.equal(loaded.encode(texts, convert_to_tensor=True), before)
    plain = make_model(load_backbone(path), make_pooler("mean", backbone), device="cpu")
    tokens = int(backbone.preprocess(texts)["attention_mask"].sum(1).max())
    rounding = bound(1.0, backbone_terms(backbone.auto_model, tokens))
    assert not within(plain.encode(texts, convert_to_tensor=True), before, rounding)  # unit vectors, other texts
    # The content-derived name (MTEB's results key) tells the templated model from the plain one, and survives a save.
    assert model_name(loaded) == model_name(model) != model_name(plain)


def test_auto_template_is_prompteol_on_decoders_only(tiny_llama_dir, tiny_bert_dir):
    decoder = load_backbone(tiny_llama_dir, template="auto")
    assert isinstance(decoder, TemplatedTransformer) and decoder.template == PROMPTEOL_TEMPLATE
    texts = ["cat sat on the mat", "a red fox"]
    by_name = backbone_states(make_model(load_backbone(tiny_llama_dir, template="prompteol"), Pooling(24)), texts)
    by_auto = backbone_states(make_model(decoder, Pooling(24)), texts)
    assert all(torch.equal(a, b) for a, b in zip(by_auto, by_name))
    encoder = load_backbone(tiny_bert_dir, template="auto")
    assert type(encoder) is not TemplatedTransformer and not hasattr(encoder, "template")


def test_cache_folder_is_per_template(tiny_llama_dir, tmp_path):
    def folder(template):
        backbone = load_backbone(tiny_llama_dir, template=template)
        return TokenStateCache.for_backbone(backbone, tmp_path, dtype="float32").directory

    plain = folder(None)
    assert folder(TEMPLATE) != plain
    assert folder("prompteol") not in (plain, folder(TEMPLATE))
    assert folder(TEMPLATE) == folder(TEMPLATE)  # a fresh load of the same template reuses its states
    assert "template" not in backbone_fingerprint(load_backbone(tiny_llama_dir))  # plain backbones keep their keys
    shared = method_backbone("prompteol", load_backbone(tiny_llama_dir))
    assert TokenStateCache.for_backbone(shared, tmp_path, dtype="float32").directory == folder("prompteol")


def test_fit_on_cached_templated_states_equals_fit_without_cache(tiny_llama_dir, tmp_path):
    pairs = [("cat sat on the mat", "the cat sat", 0.9), ("red fox", "blue box", 0.1), ("a dog", "the dog", 0.8)] * 4
    data = Dataset.from_dict({k: list(v) for k, v in zip(("sentence1", "sentence2", "score"), zip(*pairs))})

    def train(use_cache: bool) -> tuple[SentenceTransformer, object, torch.Tensor]:
        backbone = load_backbone(tiny_llama_dir, template=TEMPLATE)
        torch.manual_seed(0)
        model = make_model(backbone, make_pooler("mean", backbone), project=True, device="cpu")
        initial = model[2].linear.weight.detach().clone()
        result = fit(
            model,
            data,
            epochs=2,
            batch_size=4,
            learning_rate=1e-2,
            cache_dir=tmp_path / "cache",
            cache_dtype="float32",
            use_cache=use_cache,
            show_progress_bar=False,
        )
        return model, result, initial

    cached, result, initial = train(True)
    direct, _, _ = train(False)
    cache = TokenStateCache(result.cache_dir, dim=24, dtype="float32")
    states, mask = cache.gather(cache.rows(["cat sat on the mat"]))  # keyed by the text as given
    expected, expected_mask = backbone_states(cached, ["cat sat on the mat"])  # the templated text's states
    tokens = int(cached[0].preprocess([text for pair in pairs for text in pair[:2]])["attention_mask"].sum(1).max())
    state_terms = backbone_terms(cached[0].auto_model, tokens)  # the cache ran other batches: rounding apart
    assert torch.equal(mask, expected_mask.bool()) and within(states, expected, bound(magnitude(expected), state_terms))
    assert mask.sum() == len(cached[0].tokenizer(_formatted("cat sat on the mat"))["input_ids"])
    # 2 epochs of 3 batches of 4 pairs; the gradient: the states, the mean over 2 × 4 texts' tokens, the projection
    # and the unit vectors' cosines, forward and back.
    batch_tokens = 8 * tokens
    terms = state_terms + gradient_terms(fan_in(list(cached)[1:]) + 3 * 24 + batch_tokens, batch_tokens)
    limit = training_bound(1e-2, 6, terms)
    assert_within(cached[2].linear.weight, direct[2].linear.weight, limit, "projection")
    assert not within(cached[2].linear.weight, initial, limit)  # it trained


def test_prompteol_is_the_last_token_of_the_templated_text(tiny_llama_dir):
    backbone = load_backbone(tiny_llama_dir)
    pooler = make_pooler("prompteol", backbone)
    assert isinstance(pooler, Pooling) and pooler.pooling_mode == "lasttoken"
    model = make_model(method_backbone("prompteol", backbone), pooler, normalize=False, device="cpu")
    assert model[0].auto_model is backbone.auto_model  # the template shares the weights: nothing loaded again
    assert not isinstance(backbone, TemplatedTransformer)  # the plain backbone stays plain for other methods
    texts = ["cat sat on the mat", "a dog"]
    got = model.encode(texts, convert_to_tensor=True)
    for text, vector in zip(texts, got, strict=True):
        ids = torch.tensor([backbone.tokenizer(_formatted(text, PROMPTEOL_TEMPLATE))["input_ids"]])
        with torch.no_grad():
            states = backbone.auto_model(input_ids=ids).last_hidden_state  # (1, L, d)
        # encode ran the two texts in one padded batch: rounding apart
        limit = bound(magnitude(states[0, -1]), backbone_terms(backbone.auto_model, ids.size(1)))
        assert_within(vector, states[0, -1], limit)


def test_cli_template_reaches_the_saved_model(tiny_llama_dir, tmp_path, capsys):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    lines = "".join(f"{i % 2}\t{'dog cat' if i % 2 else 'red blue'} sat\n" for i in range(16))
    (tmp_path / "data" / "sst2" / "train.tsv").write_text("label\tsentence\n" + lines)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("label\tsentence\n" + lines)

    def train(out: str, *extra: str) -> int:
        common = ["train", "--task", "sst2", "--data-dir", str(tmp_path / "data"), "--backbone", tiny_llama_dir]
        rest = ["--epochs", "1", "--batch-size", "8", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
        return main([*common, "--output", str(tmp_path / out), *rest, *extra])

    assert train("mean", "--pooling", "mean", "--template", TEMPLATE) == 0
    model = SentenceTransformer(str(tmp_path / "mean"), trust_remote_code=True, device="cpu")
    assert model[0].template == TEMPLATE
    assert train("eol", "--pooling", "mean", "--template", "prompteol") == 0
    assert SentenceTransformer(str(tmp_path / "eol"), trust_remote_code=True)[0].template == PROMPTEOL_TEMPLATE
    assert train("pe", "--pooling", "prompteol") == 0
    model = SentenceTransformer(str(tmp_path / "pe"), trust_remote_code=True, device="cpu")
    assert model[0].template == PROMPTEOL_TEMPLATE and model[1].pooling_mode == "lasttoken"
    # the default, auto: PromptEOL's template on a decoder; none: plain text
    assert train("auto", "--pooling", "mean") == 0
    assert SentenceTransformer(str(tmp_path / "auto"), trust_remote_code=True)[0].template == PROMPTEOL_TEMPLATE
    assert train("none", "--pooling", "mean", "--template", "none") == 0
    plain = SentenceTransformer(str(tmp_path / "none"), trust_remote_code=True)
    assert not isinstance(plain[0], TemplatedTransformer)
    with pytest.raises(SystemExit):
        train("bad", "--template", "no slot here")
    assert "has 0 {text} slots" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_compare_trains_prompteol_on_its_own_templated_states(tiny_llama_dir, tmp_path):
    from st_glot.evaluation.compare import compare_poolers

    pairs = [("cat sat on the mat", "the cat sat", 0.9), ("red fox", "blue box", 0.1), ("a dog", "the dog", 0.8)] * 4
    data = Dataset.from_dict({k: list(v) for k, v in zip(("sentence1", "sentence2", "score"), zip(*pairs))})
    backbone = load_backbone(tiny_llama_dir)
    runs = {
        method: (result, model)
        for method, result, model in compare_poolers(
            backbone,
            data,
            data,
            ["prompteol", "mean"],
            loss="cosent",
            epochs=1,
            batch_size=4,
            cache_dir=tmp_path,
            show_progress_bar=False,
        )
    }
    (eol_result, eol), (mean_result, mean) = runs["prompteol"], runs["mean"]
    assert eol[0].template == PROMPTEOL_TEMPLATE and not isinstance(mean[0], TemplatedTransformer)
    assert eol_result.cache_dir != mean_result.cache_dir  # each reads the states of its own text
    assert [type(m).__name__ for m in eol] == ["TemplatedTransformer", "Pooling", "Dense", "Normalize"]
