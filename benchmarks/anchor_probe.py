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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _common import RESULTS
from datasets import Dataset
from scipy.stats import spearmanr
from sentence_transformers.base.modules import Transformer

from st_glot.evaluation.generalisation import GENRES, ProtocolData, load_protocol_data, protocol_sources, roc_auc
from st_glot.models.backbones import backbone_label, load_backbone
from st_glot.models.factory import default_anchor, make_model
from st_glot.training.fit import cached_encoder
from st_glot.utils.provenance import describe_backbone, describe_method, provenance

PAIR_COLUMNS = ("sentence1", "sentence2")
#: The scored columns, in table order.
COLUMNS = [*(f"logo:{g}" for g in GENRES), "logo:avg", "stsb", "mrpc-zero-shot"]


def probe_scores(vectors: dict[str, torch.Tensor], data: ProtocolData, standardised: bool) -> dict[str, np.ndarray]:
    """Score untrained vectors on the protocol's columns, ×100, one score per row of each text's vectors.

    Args:
        vectors: each text's vectors, ``(K, d)``: ``K`` poolings (of ``K`` layers, say) scored apart.
        data: the protocol's pairs.
        standardised: standardise each dimension first with the mean and population variance (as
            ``TokenRunningNorm`` accumulates them) of the training texts' vectors: the two other
            genres' for a leave-one-genre-out column, all of STS-B train for the others.

    Returns:
        ``{column: (K,) scores}`` for :data:`COLUMNS`: Spearman on STS-B dev pairs, ROC-AUC on MRPC.
    """

    def stack(pairs: Dataset, column: str) -> torch.Tensor:
        return torch.stack([vectors[t] for t in pairs[column]]).float()  # (n, K, d)

    def cosines(pairs: Dataset, statistics: Dataset) -> np.ndarray:
        a, b = stack(pairs, "sentence1"), stack(pairs, "sentence2")
        if standardised:
            seen = torch.cat([stack(statistics, c) for c in PAIR_COLUMNS])  # (2 n, K, d)
            mean, scale = seen.mean(0), torch.rsqrt(seen.var(0, unbiased=False) + 1e-5)  # (K, d)
            a, b = (a - mean) * scale, (b - mean) * scale
        return F.cosine_similarity(a, b, dim=-1).numpy()  # (n, K)

    def per_row(metric: Callable, similarity: np.ndarray, truth: list) -> np.ndarray:
        return np.array([100 * metric(similarity[:, k], truth) for k in range(similarity.shape[1])])  # (K,)

    def spearman(similarity: np.ndarray, truth: list) -> float:
        return spearmanr(similarity, truth).statistic

    scores = {
        f"logo:{g}": per_row(
            spearman, cosines(data.genre("dev", g), data.without_genre(g)), data.genre("dev", g)["score"]
        )
        for g in GENRES
    }
    scores["logo:avg"] = np.mean([scores[f"logo:{g}"] for g in GENRES], axis=0)
    scores["stsb"] = per_row(spearman, cosines(data.stsb_dev, data.stsb_train), data.stsb_dev["score"])
    scores["mrpc-zero-shot"] = per_row(roc_auc, cosines(data.mrpc_test, data.stsb_train), data.mrpc_test["label"])
    return scores


def protocol_texts(data: ProtocolData) -> list[str]:
    """Every distinct text the probe scores: STS-B train and dev, the MRPC test file."""
    return sorted({t for d in (data.stsb_train, data.stsb_dev, data.mrpc_test) for c in PAIR_COLUMNS for t in d[c]})


def probe_setup(description: str) -> tuple[argparse.Namespace, Transformer, ProtocolData, list[str]]:
    """Parse a probe's command line; load its frozen backbone (templated on a decoder) and the protocol's data.

    Returns:
        ``(args, backbone, data, texts)``, ``texts`` from :func:`protocol_texts`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--backbone-dtype", default=None)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    backbone = load_backbone(args.backbone, dtype=args.backbone_dtype, template="auto")
    data = load_protocol_data(args.data_dir, banking77=False)
    return args, backbone, data, protocol_texts(data)


def probe_provenance(args: argparse.Namespace, backbone: Transformer, methods: dict[str, Any]) -> dict[str, Any]:
    """The :func:`st_glot.utils.provenance.provenance` block of a probe's results: its options, backbone,
    ``methods`` (``{name: (pooler, backbone it reads)}``, empty when the probe pools by hand) and data."""
    configuration = {
        "settings": vars(args),
        "backbone": describe_backbone(backbone, args.backbone, backbone_label(args.backbone)),
        "methods": {name: describe_method(pooler, reads) for name, (pooler, reads) in methods.items()},
    }
    device = str(next(backbone.parameters()).device)
    return provenance(configuration=configuration, data=protocol_sources(args.data_dir, banking77=False), device=device)


def main() -> None:
    args, backbone, data, texts = probe_setup(__doc__.splitlines()[0])
    method = "prompteol" if default_anchor(backbone) == "last" else "mean"
    model = make_model(backbone, method, normalize=False)
    encoded = cached_encoder(model, texts).encode(texts, batch_size=64, convert_to_tensor=True)  # (n, d)
    vectors = dict(zip(texts, encoded[:, None]))  # (1, d) each
    row = {}
    for standardised in (False, True):
        name = f"{method} (untrained){', standardised' if standardised else ''}"
        row[name] = {k: float(v[0]) for k, v in probe_scores(vectors, data, standardised).items()}
    label = args.backbone or "minilm"
    path = RESULTS / "generalisation" / f"anchor-probe-{label}.json"
    block = probe_provenance(args, backbone, {method: (model[1], model[0])})
    payload = {"backbone": label, "dtype": args.backbone_dtype, "rows": row, "provenance": block}
    path.write_text(json.dumps(payload, indent=2))
    print("| method | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS))
    for name, scores in row.items():
        print(f"| {name} | " + " | ".join(f"{scores[c]:.2f}" for c in COLUMNS) + " |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
