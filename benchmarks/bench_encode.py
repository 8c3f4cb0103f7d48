"""``model.encode`` throughput with GLOT pooling vs mean pooling on all-MiniLM-L6-v2.

Both models share one ``Transformer`` module (the embedded all-MiniLM-L6-v2,
``max_seq_length = 128``); only the pooler differs (``GLOTPooling`` with
``h = 128``, ``K = 2``, ``tau = 0.3`` vs sentence-transformers' mean
``Pooling``). The texts are 512 windows of 8–100 words of English prose
(``_common.corpus_text``), i.e. about 10–128 tokens each. Encodes alternate
between the two models; ratio = GLOT sentences/s ÷ mean sentences/s.

Run: ``python benchmarks/bench_encode.py [--repeats N]``.
"""

from __future__ import annotations

import argparse

import torch
from _common import print_table, prose_windows, time_side_by_side, write_results
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

from st_glot import GLOTPooling, default_backbone_path
from st_glot.utils.provenance import describe_backbone, describe_method, generated_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backbone = Transformer(default_backbone_path(), max_seq_length=128)
    d = backbone.get_embedding_dimension()
    models = {
        "mean": SentenceTransformer(modules=[backbone, Pooling(d, "mean")], device="cpu"),
        "glot": SentenceTransformer(
            modules=[backbone, GLOTPooling(d, hidden_dim=128, num_layers=2, tau=0.3)], device="cpu"
        ),
    }
    texts = prose_windows(args.count)
    lengths = [len(ids) for ids in backbone.tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
    times = time_side_by_side(
        {name: (lambda m=m: m.encode(texts, batch_size=32)) for name, m in models.items()}, args.repeats
    )
    rows = [
        {"pooling": name, "sentences_per_s": args.count / seconds, "seconds": seconds}
        for name, seconds in times.items()
    ]
    ratio = times["mean"] / times["glot"]
    print_table(rows, ["pooling", "sentences_per_s", "seconds"])
    print(f"GLOT / mean throughput: {ratio:.3f} (tokens per text {min(lengths)}-{max(lengths)})")
    write_results(
        "encode",
        {
            "threads": args.threads,
            "count": args.count,
            "min_tokens": min(lengths),
            "max_tokens": max(lengths),
            "rows": rows,
            "glot_over_mean": ratio,
        },
        configuration={
            "settings": vars(args),
            "backbone": describe_backbone(backbone, None, "all-MiniLM-L6-v2"),
            "methods": {name: describe_method(model[1], backbone) for name, model in models.items()},
        },
        data=[generated_source("benchmarks/bench_encode.py:sentences", count=args.count, seed=0)],
    )


if __name__ == "__main__":
    main()
