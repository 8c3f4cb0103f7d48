"""Train a GLOT pooler on STS-B with the backbone frozen, then save the model.

    python examples/train_stsb.py --data-dir ../shared/data [--output glot-stsb/]
    ST_GLOT_EXAMPLE_QUICK=1 python examples/train_stsb.py      # a minute on a laptop CPU

``--data-dir`` holds ``stsb/sts-train.csv`` and ``stsb/sts-dev.csv`` (the STS
Benchmark files); without it the GLUE copy on the Hugging Face Hub is used. Quick
mode trains one epoch on 64 pairs: on ``--data-dir`` when given, else on a few
made-up pairs, so it runs anywhere.
"""

import argparse
import os
import tempfile

from datasets import Dataset

from st_glot import fit, load_backbone, load_task, make_model

QUICK = os.environ.get("ST_GLOT_EXAMPLE_QUICK") == "1"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-dir", default=None, help="offline data folder holding stsb/ (default: the Hub)")
parser.add_argument("--output", default=None, help="folder for the trained model (default: a temporary folder)")
args = parser.parse_args()

if QUICK and args.data_dir is None:
    pairs = [
        ("a man is playing a guitar", "a man plays the guitar", 0.95),
        ("a cat sleeps", "a dog runs outside", 0.1),
        ("the stock market fell", "shares dropped sharply", 0.8),
        ("a woman is cooking", "someone rides a bike", 0.05),
    ]
    rows = pairs * 16
    train = dev = Dataset.from_dict(
        {"sentence1": [a for a, _, _ in rows], "sentence2": [b for _, b, _ in rows], "score": [s for _, _, s in rows]}
    )
else:
    train, dev = load_task("stsb", args.data_dir, limit=64 if QUICK else None)

backbone = load_backbone(None)  # the embedded all-MiniLM-L6-v2, frozen
model = make_model(backbone, "glot", hidden_dim=128, num_layers=2, gnn="gat", tau=0.3)
result = fit(
    model,
    train,
    loss="cosine",
    eval_dataset=dev,
    epochs=1 if QUICK else 3,
    batch_size=32,
    cache_dir=os.path.join(tempfile.gettempdir(), "st-glot-example-cache"),
)
print({k: round(v, 4) for k, v in result.metrics.items()})

output = args.output or tempfile.mkdtemp(prefix="glot-stsb-")
model.save(output)  # README.md in there describes the pooler, the data, the loss and these metrics
print(f"saved to {output}")
