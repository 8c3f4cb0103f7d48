"""``model.encode`` of a saved GLOT model under sentence-transformers' ONNX and OpenVINO backends against torch.

The model is the Quickstart's: the embedded all-MiniLM-L6-v2 (``max_seq_length = 128``), the
recommended ``GLOTPooling`` and ``Normalize``, saved to a temporary folder. It is loaded again
with ``backend="torch"`` and with each backend whose Optimum package imports
(``SentenceTransformer(folder, backend=..., trust_remote_code=True)``: the backbone is exported
to the backend on load, the pooler stays in torch). A backend that does not load is recorded with
its error. The texts are ``windows of 8–100 words of English prose (``_common.prose_windows``, as in ``bench_encode``); encodes of
the same texts alternate between the models (``_common.time_side_by_side``), ``--threads``
threads each (OpenVINO's ``INFERENCE_NUM_THREADS``, ONNX Runtime's ``intra_op_num_threads``).
``speedup`` = torch seconds ÷ backend seconds; ``max_abs_diff`` compares the unit vectors.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_backends.py [--count 256] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import metadata

import torch
from _common import BACKEND_COLUMNS, command_line, print_table, prose_windows, time_side_by_side, write_results
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer

from st_glot import GLOTPooling

BACKENDS = ("onnx", "openvino")
PACKAGES = (
    "sentence-transformers",
    "transformers",
    "optimum",
    "optimum-onnx",
    "onnxruntime",
    "optimum-intel",
    "openvino",
)


def backend_kwargs(backend: str, threads: int) -> dict[str, object]:
    """``model_kwargs`` that give the backend ``threads`` threads."""
    if backend == "openvino":
        return {"ov_config": {"INFERENCE_NUM_THREADS": threads}}
    try:
        import onnxruntime
    except ImportError:
        return {}  # sentence-transformers then says what to install
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return {"session_options": options}


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the backends need (None: not installed)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--backbone", default=None, help="the backbone's folder (default: the embedded all-MiniLM-L6-v2)"
    )
    args = parser.parse_args()
    if args.backbone is None:
        from st_glot import default_backbone_path

        args.backbone = default_backbone_path()
    torch.set_num_threads(args.threads)
    texts = prose_windows(args.count)
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        backbone = Transformer(args.backbone, max_seq_length=128)
        model = SentenceTransformer(
            modules=[backbone, GLOTPooling(backbone.get_embedding_dimension()), Normalize()], device="cpu"
        )
        model.save(folder)
        models = {"torch": SentenceTransformer(folder, trust_remote_code=True, device="cpu")}
        unavailable = {}
        for backend in BACKENDS:
            try:
                models[backend] = SentenceTransformer(
                    folder,
                    backend=backend,
                    trust_remote_code=True,
                    device="cpu",
                    model_kwargs=backend_kwargs(backend, args.threads),
                )
            except Exception as error:  # a backend whose packages are missing or do not import
                unavailable[backend] = f"{type(error).__name__}: {error}"
                print(f"{backend}: not available ({unavailable[backend]})", file=sys.stderr)
        vectors = {name: m.encode(texts, batch_size=32, convert_to_tensor=True) for name, m in models.items()}
        times = time_side_by_side(
            {name: (lambda m=m: m.encode(texts, batch_size=32)) for name, m in models.items()}, args.repeats
        )
    rows = [
        {
            "backend": name,
            "sentences_per_s": args.count / seconds,
            "seconds": seconds,
            "speedup": times["torch"] / seconds,
            "max_abs_diff": (vectors[name] - vectors["torch"]).abs().max().item(),
        }
        for name, seconds in times.items()
    ]
    print_table(rows, BACKEND_COLUMNS)
    write_results(
        "backends",
        {
            "command": command_line("bench_backends.py"),
            "threads": args.threads,
            "count": args.count,
            "versions": versions(),
            "rows": rows,
            "unavailable": unavailable,
        },
    )


if __name__ == "__main__":
    main()
