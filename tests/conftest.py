"""Shared fixtures: tiny random backbones built in-process (no download)."""

from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer
from transformers import BertConfig, BertModel, BertTokenizerFast

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    w
    for w in (
        "the a an of and to in is was for on that with as by at from it this be are "
        "cat dog sat mat red blue green quick brown fox jumps over lazy keys files not never "
        "folder includes delivery contains box reports alerts documents tickets sentence one another"
    ).split()
]


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> str:
    """A sentence-transformers-loadable folder holding a tiny random BERT (d=32)."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    # transformers 5 ignores vocab_file here: pass the vocabulary itself.
    tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(VOCAB)})
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture()
def tiny_backbone(tiny_bert_dir) -> Transformer:
    return Transformer(tiny_bert_dir)


def build_model(backbone: Transformer, pool: torch.nn.Module) -> SentenceTransformer:
    return SentenceTransformer(modules=[backbone, pool, Normalize()], device="cpu")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> str:
    """A tiny random Llama decoder (d=24) with a word-level tokenizer and no chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_llama")
    words = ["<pad>", "<unk>", "<s>", "</s>"] + VOCAB[5:]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(words),
        hidden_size=24,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    LlamaModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
