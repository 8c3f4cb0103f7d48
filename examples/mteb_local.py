"""Evaluate a GLOT model with MTEB on local files: no dataset hub needed.

    python examples/mteb_local.py --data-dir ../shared/data
    ST_GLOT_EXAMPLE_QUICK=1 python examples/mteb_local.py

Builds two MTEB tasks from files, an STS task from ``stsb/sts-dev.csv`` and a
classification task from ``banking77/``, and runs ``mteb.evaluate`` on them.
Quick mode uses the first 200 rows of each file, or, without ``--data-dir``,
writes a few rows of its own in the same formats.
"""

import argparse
import os
import tempfile

import mteb

from st_glot import classification_task_from_folder, load_backbone, make_model, mteb_results_table, sts_task_from_file

QUICK = os.environ.get("ST_GLOT_EXAMPLE_QUICK") == "1"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-dir", default=None, help="offline data folder holding stsb/ and banking77/")
args = parser.parse_args()

data_dir = args.data_dir
if data_dir is None:
    if not QUICK:
        parser.error("--data-dir is required outside quick mode (ST_GLOT_EXAMPLE_QUICK=1)")
    data_dir = tempfile.mkdtemp(prefix="glot-mteb-data-")
    os.makedirs(os.path.join(data_dir, "stsb"))
    os.makedirs(os.path.join(data_dir, "banking77"))
    pairs = [
        ("A man plays a guitar.", "A man is playing guitar.", 4.8),
        ("A cat sleeps.", "A dog barks loudly.", 0.4),
        ("Stocks fell today.", "Markets dropped today.", 3.9),
        ("She cooks pasta.", "He rides a bike.", 0.2),
    ]
    with open(os.path.join(data_dir, "stsb", "sts-dev.csv"), "w", encoding="utf-8") as f:
        f.writelines(f"main\tnews\t2024\t{i:04d}\t{s}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(pairs))
    intents = {
        "card_lost": ["I lost my card", "my card is gone", "card missing", "where is my card"],
        "top_up": ["top up my account", "add money please", "how to top up", "put cash on my card"],
    }
    for split, rows in (("train", slice(0, 3)), ("test", slice(3, 4))):
        with open(os.path.join(data_dir, "banking77", f"{split}.csv"), "w", encoding="utf-8") as f:
            f.write("text,category\n" + "".join(f'"{t}",{c}\n' for c, texts in intents.items() for t in texts[rows]))

limit = 200 if QUICK else None
tasks = [
    sts_task_from_file(os.path.join(data_dir, "stsb", "sts-dev.csv"), limit=limit),
    classification_task_from_folder(os.path.join(data_dir, "banking77"), n_experiments=2 if QUICK else 10, limit=limit),
]

backbone = load_backbone(None)
model = make_model(backbone, "glot")  # an untrained pooler: train it first for real scores
# the model card names the model from its weights, so MTEB's results cache never mixes two models
print("MTEB model name:", model.model_card_data.model_name)
result = mteb.evaluate(
    model, tasks, cache=mteb.ResultCache(tempfile.mkdtemp(prefix="glot-mteb-")), show_progress_bar=False
)
print(mteb_results_table(result))
