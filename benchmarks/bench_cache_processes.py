"""Time to fill the token-state cache for STS-B train, on 1 process and on N processes (torchrun, gloo).

    python benchmarks/bench_cache_processes.py --data-dir ../shared/data --processes 1,2

Each setting starts from an empty cache in a fresh temporary folder; every
process runs the frozen all-MiniLM-L6-v2 on its share of the distinct texts
(see ``TokenStateCache.add``). Writes ``results/cache_processes.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import print_table, write_results


def fill(data_dir: str, cache_dir: str) -> None:
    """Body of one process: fill the cache for STS-B train (run under torchrun)."""
    import torch.distributed as dist
    from sentence_transformers.sentence_transformer.modules import Pooling

    from st_glot.evaluation.tasks import load_task
    from st_glot.models.backbones import load_backbone
    from st_glot.models.factory import make_model
    from st_glot.training.cache import TokenStateCache
    from st_glot.training.frozen import backbone_states

    dist.init_process_group("gloo")
    train, _ = load_task("stsb", data_dir)
    backbone = load_backbone(None, max_seq_length=128)
    model = make_model(backbone, Pooling(backbone.get_embedding_dimension()), device="cpu")
    cache = TokenStateCache.for_backbone(backbone, cache_dir)
    dist.barrier()
    start = time.perf_counter()
    computed = cache.add(
        list(train["sentence1"]) + list(train["sentence2"]),
        lambda b: backbone_states(model, b),
        show_progress_bar=False,
    )
    if dist.get_rank() == 0:
        print(json.dumps({"texts": computed, "seconds": time.perf_counter() - start}))
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("ST_GLOT_DATA"), required="ST_GLOT_DATA" not in os.environ)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--fill", metavar="CACHE_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        fill(args.data_dir, args.fill)
        return
    rows = []
    for n in [int(p) for p in args.processes.split(",")]:
        with tempfile.TemporaryDirectory() as cache_dir:
            env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // n))}
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--nproc_per_node",
                    str(n),
                    __file__,
                    "--data-dir",
                    args.data_dir,
                    "--fill",
                    cache_dir,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"processes": n, "threads_each": env["OMP_NUM_THREADS"], **result})
    for row in rows:
        row["speedup"] = rows[0]["seconds"] / row["seconds"]
    print_table(rows, ["processes", "threads_each", "texts", "seconds", "speedup"])
    from st_glot.evaluation.tasks import task_sources

    options = {"configuration": {"settings": vars(args)}, "data": task_sources("stsb", args.data_dir)}
    print(f"wrote {write_results('cache_processes', {'rows': rows}, **options)}")


if __name__ == "__main__":
    main()
