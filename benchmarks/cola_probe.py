"""CoLA: how far do untrained pooled vectors go with a classifier trained to convergence?

For each parameter-free pooling, the frozen backbone's pooled vectors of the full CoLA
training set (read from the token-state cache) are standardised (training mean and std)
and fed to scikit-learn's logistic regression (L-BFGS, run to convergence, C from a grid
chosen on 10 % of the training set held out, seeded and stratified: the same split as
``st-glot glue --lr-grid``); MCC ×100 on the CoLA dev set. Also the majority-class rate
of each split and the MCC of always answering the majority class (0 by definition). Writes
``benchmarks/results/glue/cola-probe-<backbone>.json`` and prints a Markdown table.

    python benchmarks/cola_probe.py --backbone smollm2 --backbone-dtype bfloat16 --data-dir ../shared/data
    python benchmarks/cola_probe.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import RESULTS
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import matthews_corrcoef

from st_glot.evaluation.tasks import load_task, task_sources
from st_glot.evaluation.tuning import carve_validation
from st_glot.models.backbones import backbone_label, load_backbone
from st_glot.models.factory import make_model
from st_glot.training.fit import cached_encoder
from st_glot.utils.provenance import describe_backbone, describe_method, provenance

C_GRID = (0.001, 0.01, 0.1, 1.0)


def probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, c: float) -> np.ndarray:
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    classifier = LogisticRegression(C=c, max_iter=5000).fit((train_x - mean) / std, train_y)
    return classifier.predict((test_x - mean) / std)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--backbone-dtype", default=None)
    parser.add_argument("--template", default="auto")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--methods", default=None, help="default: mean,cls (encoders) or mean,prompteol (decoders)")
    args = parser.parse_args()
    backbone = load_backbone(args.backbone, dtype=args.backbone_dtype, template=args.template)
    methods = args.methods.split(",") if args.methods else ["mean", "prompteol" if args.backbone else "cls"]
    train, dev = load_task("cola", args.data_dir)
    rest, held = carve_validation(train, 0.1, seed=0, stratify=True)
    rows, poolers = [], {}
    for method in methods:
        model = make_model(backbone, method, normalize=False)
        poolers[method] = describe_method(model[1], model[0])
        encoder = cached_encoder(model, [*train["text"], *dev["text"]], show_progress_bar=True)
        x = {name: encoder.encode(d["text"], batch_size=64) for name, d in (("rest", rest), ("held", held))}
        x["train"], x["dev"] = encoder.encode(train["text"], batch_size=64), encoder.encode(dev["text"], batch_size=64)
        on_held = {
            c: matthews_corrcoef(held["label"], probe(x["rest"], np.array(rest["label"]), x["held"], c)) for c in C_GRID
        }
        c = max(on_held, key=on_held.get)
        mcc = matthews_corrcoef(dev["label"], probe(x["train"], np.array(train["label"]), x["dev"], c))
        rows.append(
            {
                "method": f"{method} (untrained) + logistic regression",
                "C": c,
                "held_out_mcc": 100 * on_held[c],
                "dev_mcc": 100 * mcc,
            }
        )
        print(rows[-1], flush=True)
    majority = {name: max(np.mean(d["label"]), 1 - np.mean(d["label"])) for name, d in (("train", train), ("dev", dev))}
    label = args.backbone or "minilm"
    payload = {
        "backbone": label,
        "template": args.template,
        "dtype": args.backbone_dtype,
        "majority_rate": majority,
        "majority_mcc": 0.0,
        "rows": rows,
        "provenance": provenance(
            configuration={
                "settings": vars(args),
                "backbone": describe_backbone(backbone, args.backbone, backbone_label(args.backbone)),
                "methods": poolers,
            },
            data=task_sources("cola", args.data_dir),
            device=str(next(backbone.parameters()).device),
        ),
    }
    path = RESULTS / "glue" / f"cola-probe-{label}.json"
    path.write_text(json.dumps(payload, indent=2))
    print(f"majority class: {majority['train']:.3f} of train, {majority['dev']:.3f} of dev (MCC 0)")
    print("| probe | C | held-out MCC | dev MCC |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['C']:g} | {r['held_out_mcc']:.2f} | {r['dev_mcc']:.2f} |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
