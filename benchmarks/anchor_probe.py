"""The anchor alone: an untrained pooling, standardised with statistics of the training texts, on the generalisation protocol.

GLOT's anchor (``st_glot.nn.anchor``) is the last token's state (on a decoder reading
PromptEOL's template) or the mean of the valid tokens, standardised per dimension with the
mean and variance of the anchors of the training texts. Here that vector is scored with no
training at all, as a baseline for ``st-glot generalisation``'s table: leave-one-genre-out
STS-B (statistics of the two training genres' texts, Spearman ×100 on the third genre's dev
pairs), STS-B dev and zero-shot MRPC ROC-AUC (statistics of all STS-B training texts), each
beside the same pooling without standardisation. Writes
``benchmarks/results/generalisation/anchor-probe-<backbone>.json`` and prints a Markdown row.

    python benchmarks/anchor_probe.py --backbone smollm2 --backbone-dtype bfloat16 --data-dir ../shared/data
    python benchmarks/anchor_probe.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F
from _common import RESULTS
from datasets import Dataset
from scipy.stats import spearmanr

from st_glot.evaluation.generalisation import GENRES, load_protocol_data, roc_auc
from st_glot.models.backbones import load_backbone
from st_glot.models.factory import default_anchor, make_model, make_pooler, method_backbone
from st_glot.training.fit import cached_encoder

PAIR_COLUMNS = ("sentence1", "sentence2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--backbone-dtype", default=None)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    backbone = load_backbone(args.backbone, dtype=args.backbone_dtype, template="auto")
    anchor = default_anchor(backbone)
    method = "prompteol" if anchor == "last" else "mean"
    data = load_protocol_data(args.data_dir, banking77=False)
    model = make_model(method_backbone(method, backbone), make_pooler(method, backbone), normalize=False)
    texts = sorted({t for d in (data.stsb_train, data.stsb_dev, data.mrpc_test) for c in PAIR_COLUMNS for t in d[c]})
    vectors = dict(zip(texts, cached_encoder(model, texts).encode(texts, batch_size=64, convert_to_tensor=True)))

    def stack(pairs: Dataset, column: str) -> torch.Tensor:
        return torch.stack([vectors[t] for t in pairs[column]]).float()  # (n, d)

    def cosines(pairs: Dataset, statistics: Dataset | None) -> np.ndarray:
        a, b = stack(pairs, "sentence1"), stack(pairs, "sentence2")
        if statistics is not None:  # mean and population variance, as TokenRunningNorm accumulates them
            seen = torch.cat([stack(statistics, c) for c in PAIR_COLUMNS])  # (2 n, d)
            mean, scale = seen.mean(0), torch.rsqrt(seen.var(0, unbiased=False) + 1e-5)
            a, b = (a - mean) * scale, (b - mean) * scale
        return F.cosine_similarity(a, b).numpy()

    row = {}
    for standardised in (False, True):
        name = f"{method} (untrained){', standardised' if standardised else ''}"
        scores = {
            f"logo:{g}": 100
            * spearmanr(
                cosines(data.genre("dev", g), data.without_genre(g) if standardised else None),
                data.genre("dev", g)["score"],
            ).statistic
            for g in GENRES
        }
        scores["logo:avg"] = float(np.mean([scores[f"logo:{g}"] for g in GENRES]))
        statistics = data.stsb_train if standardised else None
        scores["stsb"] = 100 * spearmanr(cosines(data.stsb_dev, statistics), data.stsb_dev["score"]).statistic
        scores["mrpc-zero-shot"] = 100 * roc_auc(cosines(data.mrpc_test, statistics), data.mrpc_test["label"])
        row[name] = {k: float(v) for k, v in scores.items()}
    label = args.backbone or "minilm"
    path = RESULTS / "generalisation" / f"anchor-probe-{label}.json"
    path.write_text(json.dumps({"backbone": label, "dtype": args.backbone_dtype, "rows": row}, indent=2))
    columns = [*(f"logo:{g}" for g in GENRES), "logo:avg", "stsb", "mrpc-zero-shot"]
    print("| method | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for name, scores in row.items():
        print(f"| {name} | " + " | ".join(f"{scores[c]:.2f}" for c in columns) + " |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
