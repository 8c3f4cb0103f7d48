"""Run by tests/test_distributed.py, once alone and once under torchrun with 2 processes.

python distributed_fit.py BACKBONE_DIR CACHE_DIR OUTPUT_DIR
"""

import json
import os
import sys
from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

from st_glot import GLOTPooling
from st_glot.training.fit import fit

backbone_dir, cache_dir, output_dir = sys.argv[1:4]
words = "the cat sat on mat dog red blue green quick brown fox jumps over lazy keys files folder box".split()
generator = torch.Generator().manual_seed(0)
texts = [
    " ".join(words[int(i)] for i in torch.randint(len(words), (int(n),), generator=generator))
    for n in torch.randint(2, 12, (64,), generator=generator)
]
if int(os.environ.get("RANK", "0")) == 0:
    Path("texts.json").write_text(json.dumps(texts))
data = Dataset.from_dict({"text": texts, "label": [int("dog" in t) for t in texts]})
torch.manual_seed(0)
backbone = Transformer(backbone_dir)
model = SentenceTransformer(
    modules=[backbone, GLOTPooling(backbone.get_embedding_dimension(), hidden_dim=8)], device="cpu"
)
fit(
    model,
    data,
    loss="classification",
    epochs=2,
    batch_size=16,
    learning_rate=1e-2,
    cache_dir=cache_dir,
    cache_dtype="float32",
    output_dir=output_dir,
    show_progress_bar=False,
)
