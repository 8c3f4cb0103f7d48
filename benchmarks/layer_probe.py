"""Every layer of a frozen backbone, untrained, on the generalisation protocol: is the last layer the one to pool?

Frozen decoders are often said to hold better sentence features in an intermediate layer than
in the last one. This scores, with no training, two poolings of each layer's states (the
embeddings' output is layer 0): the summary token (the last valid token on a decoder, so
PromptEOL's on templated text; the first, CLS, on an encoder) and the mean of the valid tokens,
each raw and standardised per dimension with the training texts' statistics, as
``anchor_probe.py`` does for the last layer alone (that script's rows are this one's last
layer). Columns: leave-one-genre-out STS-B and its average, STS-B dev, zero-shot MRPC ROC-AUC,
×100. Writes ``benchmarks/results/generalisation/layer-probe-<backbone>.json`` and prints one
row per layer for each pooling.

    python benchmarks/layer_probe.py --backbone smollm2 --backbone-dtype bfloat16 --data-dir ../shared/data
"""

from __future__ import annotations

import json
import math
import warnings

import torch
from _common import RESULTS
from anchor_probe import COLUMNS, probe_provenance, probe_scores, probe_setup
from scipy.stats import ConstantInputWarning
from sentence_transformers.base.modules import Transformer
from tqdm.auto import tqdm

from st_glot.models.backbones import is_decoder


@torch.inference_mode()
def layer_vectors(backbone: Transformer, texts: list[str], batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Summary token and mean of every layer's states for each text, in ``texts`` order.

    Returns:
        ``(summary, mean)``, each ``(n, K + 1, d)`` in float16: ``K`` layers after the embeddings.
        The summary token is the last valid one on a decoder (right-padded), the first on an encoder.
    """
    decoder = is_decoder(backbone)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch
    summary, mean = [], []
    for start in tqdm(range(0, len(order), batch_size), desc="Layers", unit="batch"):
        features = backbone.preprocess([texts[i] for i in order[start : start + batch_size]])
        mask = features["attention_mask"]  # (B, L)
        inputs = {k: v for k, v in features.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        states = torch.stack(backbone.auto_model(**inputs, output_hidden_states=True).hidden_states, 1).float()
        rows = torch.arange(len(mask))  # states: (B, K + 1, L, d)
        summary.append(states[rows, :, mask.sum(1) - 1 if decoder else 0].half())  # (B, K + 1, d)
        weights = mask[:, None, :, None].float()  # (B, 1, L, 1)
        mean.append(((states * weights).sum(2) / weights.sum(2)).half())  # (B, K + 1, d)
    back = torch.empty(len(order), dtype=torch.long)
    back[torch.tensor(order)] = torch.arange(len(order))  # position of each text in the sorted order
    return torch.cat(summary)[back], torch.cat(mean)[back]


def main() -> None:
    args, backbone, data, texts = probe_setup(__doc__.splitlines()[0])
    backbone.eval()
    summary, mean = layer_vectors(backbone, texts)
    token = "prompteol" if is_decoder(backbone) else "cls"
    rows = {}
    for name, vectors in ((token, summary), ("mean", mean)):
        by_text = dict(zip(texts, vectors))  # (K + 1, d) each
        for standardised in (False, True):
            with warnings.catch_warnings():  # layer 0's summary token is one embedding for every text: no ranking
                warnings.simplefilter("ignore", ConstantInputWarning)
                scores = probe_scores(by_text, data, standardised)
            rows[f"{name} (untrained){', standardised' if standardised else ''}"] = {
                k: [round(float(x), 2) if math.isfinite(x) else None for x in v] for k, v in scores.items()
            }
    label = args.backbone or "minilm"
    path = RESULTS / "generalisation" / f"layer-probe-{label}.json"
    record = {"backbone": label, "dtype": args.backbone_dtype, "layers": summary.shape[1] - 1, "rows": rows}
    record["provenance"] = probe_provenance(args, backbone, {})
    path.write_text(json.dumps(record, indent=2))
    for name, scores in rows.items():
        print(f"\n{name}\n| layer | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS))
        for layer in range(summary.shape[1]):
            print(
                f"| {layer} | "
                + " | ".join("—" if scores[c][layer] is None else f"{scores[c][layer]:.2f}" for c in COLUMNS)
                + " |"
            )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
