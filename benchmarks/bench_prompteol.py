"""Untrained poolings of a frozen backbone on STS-B dev, on plain and on PromptEOL-templated text.

For the first ``--pairs`` pairs of STS-B dev (``/work/shared/data/stsb/sts-dev.csv`` by default)
this scores (Spearman x100 of cosine against the gold score) mean pooling and last-token pooling
of the backbone's token states, once on the plain text and once on the text in PromptEOL's
template (``--template``); last-token pooling of the templated text is PromptEOL (Jiang et al.,
2023). The backbone runs once per text and template; both poolings read the same states, through
sentence-transformers' ``Pooling`` as st-glot's models do.

    OMP_NUM_THREADS=1 python benchmarks/bench_prompteol.py --backbone smollm2 --pairs 300

Prints a table and writes ``results/prompteol_<backbone>_<pairs>pairs.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from scipy.stats import spearmanr
from sentence_transformers.sentence_transformer.modules import Pooling

from st_glot.evaluation.tasks import read_sts_pairs
from st_glot.models.backbones import backbone_label, load_backbone
from st_glot.models.factory import make_model
from st_glot.utils.provenance import describe_backbone, file_source, provenance
from st_glot.utils.templates import resolve_template

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def pooled(model, texts: list[str], poolers: dict[str, Pooling], batch_size: int) -> dict[str, torch.Tensor]:
    """``{name: (N, d) vectors}``: each pooler applied to the same backbone output, batch by batch."""
    out: dict[str, list[torch.Tensor]] = {name: [] for name in poolers}
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            features = model.preprocess(texts[start : start + batch_size])
            features = model[0](features)  # token_embeddings (B, L, d), attention_mask (B, L)
            for name, pooler in poolers.items():
                out[name].append(pooler(dict(features))["sentence_embedding"])
    return {name: torch.cat(parts) for name, parts in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="smollm2")
    parser.add_argument("--data", default="/work/shared/data/stsb/sts-dev.csv")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--template", default="prompteol")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    first, second, scores = read_sts_pairs(args.data)
    data = file_source(args.data, len(scores))
    first, second, scores = first[: args.pairs], second[: args.pairs], scores[: args.pairs]
    texts = list(dict.fromkeys(first + second))
    rows, backbones = [], {}
    for template in (None, resolve_template(args.template)):
        backbone = load_backbone(args.backbone, template=template)
        backbones["plain" if template is None else "templated"] = describe_backbone(
            backbone, args.backbone, backbone_label(args.backbone)
        )
        dim = backbone.get_embedding_dimension()
        model = make_model(backbone, Pooling(dim, pooling_mode="mean"), normalize=False, device="cpu")
        poolers = {"mean": Pooling(dim, pooling_mode="mean"), "last token": Pooling(dim, pooling_mode="lasttoken")}
        start = time.perf_counter()
        vectors = pooled(model, texts, poolers, args.batch_size)
        seconds = time.perf_counter() - start
        index = {text: i for i, text in enumerate(texts)}
        a, b = [index[t] for t in first], [index[t] for t in second]
        for name, v in vectors.items():
            cosine = torch.nn.functional.cosine_similarity(v[a], v[b]).numpy()
            rows.append(
                {
                    "text": "plain" if template is None else "templated",
                    "pooling": name,
                    "spearman": round(100 * spearmanr(cosine, scores).statistic, 1),
                    "seconds": round(seconds, 1),
                }
            )
    label = backbone_label(args.backbone)
    print(f"\nSTS-B dev, first {args.pairs} pairs, {label}, untrained (Spearman x100); template: {args.template}")
    print("| text | pooling | Spearman | backbone s |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['text']} | {row['pooling']} | {row['spearman']} | {row['seconds']} |")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"prompteol_{label}_{args.pairs}pairs.json"
    settings = {**vars(args), "texts": len(texts), "template_text": resolve_template(args.template)}
    block = provenance(configuration={"settings": settings, "backbones": backbones}, data=[data], device="cpu")
    path.write_text(json.dumps({"settings": settings, "rows": rows, "provenance": block}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
