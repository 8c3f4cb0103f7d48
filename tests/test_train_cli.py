"""``st-glot train`` end to end on a tiny backbone and tiny local data."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest
import torch
from provenance_checks import check_provenance
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from tolerance import bound, within

from st_glot.cli.main import main
from st_glot.models.backbones import load_backbone, smollm2_path
from st_glot.models.factory import make_model, make_pooler
from st_glot.training.heads import load_head
from st_glot.utils.templates import PROMPTEOL_TEMPLATE


@pytest.fixture(scope="module")
def tiny_llama_gguf(tmp_path_factory) -> tuple[str, str]:
    """``(folder, file)`` of a tiny random Llama (d=32, 2 layers) in GGUF, Q8_0 weights, byte-level tokenizer."""
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    folder = tmp_path_factory.mktemp("tiny_gguf")
    tokens = [*bytes_to_unicode().values(), "th", "<|endoftext|>"]
    size, width, ffn, layers = len(tokens), 32, 64, 2
    writer = gguf.GGUFWriter(str(folder / "tiny.gguf"), "llama")
    writer.add_context_length(128)
    writer.add_embedding_length(width)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(2)
    writer.add_head_count_kv(2)
    writer.add_rope_dimension_count(width // 2)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(size)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([1] * (size - 1) + [3])  # the last token is a control token
    writer.add_token_merges(["t h"])
    writer.add_eos_token_id(size - 1)
    writer.add_pad_token_id(size - 1)
    rng = np.random.default_rng(0)

    def add(name: str, shape: tuple[int, ...]) -> None:
        if len(shape) == 1:  # norms stay float32
            writer.add_tensor(name, np.ones(shape, dtype=np.float32))
            return
        weight = (0.1 * rng.standard_normal(shape)).astype(np.float32)
        q8 = gguf.GGMLQuantizationType.Q8_0
        writer.add_tensor(name, quantize(weight, q8), raw_dtype=q8)

    add("token_embd.weight", (size, width))
    add("output_norm.weight", (width,))
    for i in range(layers):
        for part, shape in (
            ("attn_norm", (width,)),
            ("ffn_norm", (width,)),
            ("attn_q", (width, width)),
            ("attn_k", (width, width)),
            ("attn_v", (width, width)),
            ("attn_output", (width, width)),
            ("ffn_gate", (ffn, width)),
            ("ffn_up", (ffn, width)),
            ("ffn_down", (width, ffn)),
        ):
            add(f"blk.{i}.{part}.weight", shape)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return str(folder), "tiny.gguf"


def test_train_cli_classification(tiny_bert_dir, tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    rows = "".join(f"{i % 2}\t{'dog cat' if i % 2 else 'red blue'} sat\r\n" for i in range(40))
    (tmp_path / "data" / "sst2" / "train.tsv").write_text("label\tsentence\r\n" + rows)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text(
        "label\tsentence\r\n" + "".join(rows.splitlines(keepends=True)[:10])
    )
    out = tmp_path / "out"
    code = main(
        [
            "train",
            "--task",
            "sst2",
            "--data-dir",
            str(tmp_path / "data"),
            "--output",
            str(out),
            "--backbone",
            tiny_bert_dir,
            "--hidden-dim",
            "8",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--lr",
            "1e-2",
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 0
    summary = json.loads((out / "st_glot_training.json").read_text())
    assert summary["metrics"]["eval_accuracy"] == 1.0  # the two classes differ in every token
    model = SentenceTransformer(str(out), trust_remote_code=True, device="cpu")
    head = load_head(str(out))
    logits = head([model.encode(["dog cat sat", "red blue sat"], convert_to_tensor=True)])
    assert logits.argmax(-1).tolist() == [1, 0]
    embedding = model.encode(["dog"])
    norm = np.linalg.norm(embedding, axis=1)
    assert not within(norm, 1.0, bound(1.0, embedding.shape[1] + 2))  # no Normalize for classification


def _sst2_folder(root, rows: int = 24) -> str:
    """A tiny SST-2 folder under ``root``: the two classes differ in every token."""
    (root / "sst2").mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{i % 2}\t{'dog cat' if i % 2 else 'red blue'} sat\n" for i in range(rows))
    (root / "sst2" / "train.tsv").write_text("label\tsentence\n" + lines)
    (root / "sst2" / "dev.tsv").write_text("label\tsentence\n" + "".join(lines.splitlines(keepends=True)[:8]))
    return str(root)


def _train(backbone: str, tmp_path, out, *extra: str, task: str = "sst2", data: str | None = None) -> int:
    return main(
        [
            "train",
            "--task",
            task,
            "--data-dir",
            data or _sst2_folder(tmp_path / "data"),
            "--output",
            str(out),
            "--backbone",
            backbone,
            "--hidden-dim",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--quiet",
            *extra,
        ]
    )


def test_summary_records_how_the_model_was_made(tiny_llama_dir, tmp_path):
    data, out = _sst2_folder(tmp_path / "data"), tmp_path / "out"
    argv = ["train", "--task", "sst2", "--data-dir", data, "--output", str(out), "--backbone", tiny_llama_dir]
    argv += ["--hidden-dim", "8", "--epochs", "1", "--batch-size", "8", "--seed", "3", "--quiet"]
    argv += ["--cache-dir", str(tmp_path / "cache")]
    since = datetime.now(timezone.utc)
    assert main(argv) == 0
    block = json.loads((out / "st_glot_training.json").read_text())["provenance"]
    model = SentenceTransformer(str(out), trust_remote_code=True, device="cpu")
    files = {tmp_path / "data" / "sst2" / "train.tsv": 24, tmp_path / "data" / "sst2" / "dev.tsv": 8}
    training = {"loss": "classification", "learning_rate": 2e-4, "epochs": 1, "batch_size": 8, "seeds": [3]}
    check_provenance(block, argv, tiny_llama_dir, [("glot", model[1])], files, training, since)
    # --anchor auto on a decoder reading PromptEOL's template (the default --template auto) resolves to "last"
    glot = block["configuration"]["methods"]["glot"]
    assert glot["options"]["anchor"] == model[1].anchor == "last"
    assert glot["preset"] == "recommended"
    assert glot["template"] == block["configuration"]["backbone"]["template"] == model[0].template == PROMPTEOL_TEMPLATE


def _weights(folder) -> dict[str, torch.Tensor]:
    """Every tensor saved under ``folder`` (backbone, pooler, projection, head), keyed by file and name."""
    return {
        f"{path.relative_to(folder)}:{name}": tensor
        for path in sorted(folder.rglob("*.safetensors"))
        for name, tensor in load_file(path).items()
    }


def test_same_seed_gives_bit_identical_weights(tiny_bert_dir, tmp_path):
    runs = {}
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        assert _train(tiny_bert_dir, tmp_path, tmp_path / name, "--seed", seed) == 0
        runs[name] = _weights(tmp_path / name)
    assert any("GLOTPooling" in key for key in runs["a"]) and any(key.startswith("head") for key in runs["a"])
    assert runs["a"].keys() == runs["b"].keys()
    assert all(torch.equal(runs["a"][key], runs["b"][key]) for key in runs["a"])
    pooler = [key for key in runs["a"] if "GLOTPooling" in key]
    assert any(not torch.equal(runs["a"][key], runs["c"][key]) for key in pooler)  # the seed matters


@pytest.mark.parametrize("pooling,pooler", [("mean", "Pooling"), ("glot", "GLOTPooling")])
def test_embedding_loss_trains_a_projection_after_the_pooler(tiny_bert_dir, tmp_path, pooling, pooler):
    (tmp_path / "sts" / "stsb").mkdir(parents=True)
    words = ["cat sat", "dog sat", "red fox", "blue box", "the mat", "a dog"]
    rows = "".join(
        f"g\tf\t2012\t{i:04d}\t{(i * 7) % 6 * 0.9:.1f}\t{words[i % 6]}\t{words[(i * 5 + 1) % 6]}\n" for i in range(24)
    )
    for file in ("sts-train.csv", "sts-dev.csv"):
        (tmp_path / "sts" / "stsb" / file).write_text(rows)
    out = tmp_path / "out"
    assert (
        _train(
            tiny_bert_dir, tmp_path, out, "--pooling", pooling, "--lr", "1e-2", task="stsb", data=str(tmp_path / "sts")
        )
        == 0
    )
    summary = json.loads((out / "st_glot_training.json").read_text())
    assert summary["projection"] is True and "eval_spearman_cosine" in summary["metrics"]
    model = SentenceTransformer(str(out), device="cpu", trust_remote_code=True)
    assert [type(m).__name__ for m in model] == ["Transformer", pooler, "Dense", "Normalize"]
    if pooling != "mean":
        return
    # the projection trained: it is no longer the one the command built from the default seed
    torch.manual_seed(42)
    backbone = load_backbone(tiny_bert_dir)
    initial = make_model(backbone, make_pooler("mean", backbone), project=True)[2].linear.weight
    assert initial.shape == model[2].linear.weight.shape
    assert not within(model[2].linear.weight, initial, bound(initial.abs(), 1))  # moved by more than a rounding


def test_train_on_gguf_backbone_saves_a_folder_that_loads_back(tiny_llama_gguf, tmp_path):
    folder, file = tiny_llama_gguf
    out = tmp_path / "out"
    assert _train(folder, tmp_path, out, "--gguf-file", file) == 0
    saved = SentenceTransformer(str(out), trust_remote_code=True, device="cpu")
    backbone = load_backbone(folder, gguf_file=file, template="auto")  # the command's default: PromptEOL's template
    assert not backbone.auto_model.is_quantized  # nothing left that refuses to save
    texts = ["the cat sat", "a dog"]
    fresh = SentenceTransformer(modules=[backbone, *list(saved)[1:]], device="cpu")
    assert np.array_equal(saved.encode(texts), fresh.encode(texts))
    assert "quantization_config" not in json.loads((out / "config.json").read_text())


@pytest.mark.slow
def test_smollm2_model_saves_and_loads_back(tmp_path):
    try:
        smollm2_path()
    except ModuleNotFoundError as missing:
        pytest.skip(f"packaged SmolLM2 absent: {missing}")
    backbone = load_backbone("smollm2", max_seq_length=32)
    torch.manual_seed(0)
    model = make_model(backbone, make_pooler("glot", backbone, hidden_dim=8))
    texts = ["The folder includes files.", "No files here."]
    expected = model.encode(texts)
    model.save(str(tmp_path / "m"))
    loaded = SentenceTransformer(str(tmp_path / "m"), trust_remote_code=True, device="cpu")
    assert np.array_equal(loaded.encode(texts), expected)


def test_gguf_conversion_bar_follows_the_library_bar_switch(tiny_llama_gguf, capsys):
    from st_glot.utils.progress import library_bars_off

    folder, file = tiny_llama_gguf
    with library_bars_off():  # what every command does unless --verbose
        load_backbone(folder, gguf_file=file)
    assert "de-quantizing" not in capsys.readouterr().err
    load_backbone(folder, gguf_file=file)
    assert "Converting and de-quantizing GGUF tensors" in capsys.readouterr().err
