"""What the frozen-backbone fit path saves: step time, epoch time, cache size, and STS-B quality.

Measured side by side in one run on STS-B train pairs (batch 32, CoSENT loss):

- ``cached``: GLOT on token states read from the cache (the fit path);
- ``recompute``: GLOT with the frozen backbone run (no grad) in every step;
- ``full``: full fine-tuning of backbone + GLOT;
- ``lora``: LoRA (r=16 on the attention projections) + GLOT, when ``peft`` is installed.

Each step is forward + backward + Adam update; the methods are interleaved step
by step so they share the machine's load. Epoch time is steps × step time, plus,
for ``cached``, the one-off precompute measured separately.

Also reported: the cache's bytes on STS-B train at max length 128 against the
research code's format (fp32, every text padded to 128), and the dev Spearman of
GLOT trained with :func:`st_glot.fit` next to the untrained mean pooling of the
same backbone.

    python benchmarks/bench_training.py --data-dir ../shared/data [--backbones minilm,smollm2]

``--profile`` instead profiles one epoch of ``fit`` per backbone and writes
``results/training_profile.md``: cache gather, collation, pooler forward,
backward, loss, optimizer and the trainer's own overhead.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import os
import pstats
import tempfile
from typing import Any

import torch
from _common import RESULTS, print_table, time_side_by_side, write_results
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import CoSENTLoss
from sentence_transformers.sentence_transformer.modules import Pooling

from st_glot import GLOTPooling
from st_glot.evaluation.tasks import load_task, task_sources
from st_glot.models.backbones import load_backbone
from st_glot.models.factory import make_model, make_pooler
from st_glot.training.cache import TokenStateCache
from st_glot.training.cached_input import CachedTokenStates
from st_glot.training.fit import fit
from st_glot.training.frozen import backbone_states, frozen

BACKBONES = {"minilm": None, "smollm2": "smollm2"}
#: :func:`load_backbone` options of the profiled configuration: the benchmarks' decoder set-up.
PROFILE_BACKBONE_OPTIONS = {"minilm": {}, "smollm2": {"dtype": "bfloat16", "template": "auto"}}


def _step_fn(model: SentenceTransformer, texts_a, texts_b, scores, params):
    """One training step (forward, backward, Adam) of ``model`` on a fixed batch."""
    loss_fn = CoSENTLoss(model)
    optimizer = torch.optim.Adam([p for p in params if p.requires_grad], lr=1e-5)
    features = [model.preprocess(texts_a), model.preprocess(texts_b)]
    labels = torch.tensor(scores)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(features, labels).backward()
        optimizer.step()

    return step


def _lora(model: SentenceTransformer):
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        return None
    clone = copy.deepcopy(model)
    targets = [
        n for n in ("q_proj", "v_proj", "query", "value") if any(n in m for m, _ in clone[0].auto_model.named_modules())
    ]
    clone[0].model = get_peft_model(clone[0].auto_model, LoraConfig(r=16, lora_alpha=32, target_modules=targets))
    return clone


def step_times(name: str, data_dir: str, steps: int, cache_root: str) -> dict:
    backbone = load_backbone(BACKBONES[name], max_seq_length=128)
    train, _ = load_task("stsb", data_dir)
    batch = train.select(range(32))
    texts_a, texts_b, scores = list(batch["sentence1"]), list(batch["sentence2"]), list(batch["score"])
    torch.manual_seed(0)
    glot = GLOTPooling(backbone.get_embedding_dimension(), hidden_dim=128, num_layers=2, tau=0.3)
    model = make_model(backbone, glot, device="cpu")

    cache = TokenStateCache.for_backbone(backbone, cache_root)
    cache.add(texts_a + texts_b, lambda b: backbone_states(model, b), show_progress_bar=False)
    cached_model = SentenceTransformer(modules=[CachedTokenStates(cache), *list(model)[1:]], device="cpu")
    full_model = copy.deepcopy(model)
    with frozen(backbone):
        variants = {
            "cached": (cached_model, list(glot.parameters())),
            "recompute": (model, list(model.parameters())),
            "full": (full_model, list(full_model.parameters())),
        }
        lora = _lora(full_model)
        if lora is not None:
            variants["lora"] = (lora, list(lora.parameters()))
        trainable = {k: sum(p.numel() for p in params if p.requires_grad) for k, (_, params) in variants.items()}
        fns = {k: _step_fn(m, texts_a, texts_b, scores, params) for k, (m, params) in variants.items()}
        seconds = time_side_by_side(fns, repeats=steps, warmup=2)
    return {"seconds_per_step": seconds, "trainable_parameters": trainable}


def cache_and_quality(data_dir: str, cache_root: str, epochs: int) -> dict:
    train, dev = load_task("stsb", data_dir)
    backbone = load_backbone(None, max_seq_length=128)
    torch.manual_seed(0)
    model = make_model(
        backbone, GLOTPooling(backbone.get_embedding_dimension(), hidden_dim=128, num_layers=2, tau=0.3), device="cpu"
    )
    result = fit(
        model,
        train,
        loss="cosine",
        eval_dataset=dev,
        epochs=epochs,
        batch_size=32,
        learning_rate=2e-4,
        cache_dir=cache_root,
        show_progress_bar=False,
    )
    cache_bytes = sum(
        os.path.getsize(os.path.join(result.cache_dir, f))
        for f in os.listdir(result.cache_dir)
        if f.startswith("shard-")
    )
    distinct = len(set(train["sentence1"]) | set(train["sentence2"]) | set(dev["sentence1"]) | set(dev["sentence2"]))
    research_bytes = distinct * 128 * backbone.get_embedding_dimension() * 4
    mean_model = make_model(backbone, Pooling(backbone.get_embedding_dimension(), pooling_mode="mean"), device="cpu")
    a = mean_model.encode(dev["sentence1"], convert_to_tensor=True)
    b = mean_model.encode(dev["sentence2"], convert_to_tensor=True)
    mean_spearman = spearmanr(torch.nn.functional.cosine_similarity(a, b).numpy(), dev["score"]).statistic
    return {
        "distinct_texts": distinct,
        "cache_bytes": cache_bytes,
        "research_format_bytes": research_bytes,
        "cache_fraction_of_research": cache_bytes / research_bytes,
        "precompute_seconds": result.precompute_seconds,
        "train_seconds": result.train_seconds,
        "epochs": epochs,
        "glot_dev_spearman": result.metrics["eval_spearman_cosine"],
        "mean_untrained_dev_spearman": float(mean_spearman),
    }


#: Where an epoch of ``fit`` spends its time: category → functions whose cumulative time it is
#: (file suffix, function name); nested entries are subtracted by :func:`_split_profile`.
PROFILE_PARTS = {
    "cache gather": [("training/cache.py", "gather")],
    "collation (text → cache rows)": [("data_collator.py", "__call__")],
    "pooler forward": [("nn/pooling.py", "forward")],
    "backward (pooler + loss)": [("torch/autograd/__init__.py", "backward")],
    "optimizer (Adam step, zero_grad)": [("torch/optim/adam.py", "step"), ("torch/nn/modules/module.py", "zero_grad")],
    "loss and model forward outside the pooler": [("losses/cosent.py", "forward")],
    "trainer start-up (once per fit: accelerate's gc.collect)": [("~", "<built-in method gc.collect>")],
}
#: The :data:`PROFILE_PARTS` entries paid once per call of ``fit``, not per step.
ONCE_PER_RUN = ("trainer start-up (once per fit: accelerate's gc.collect)",)


def _split_profile(stats: pstats.Stats, total_key: tuple[str, str]) -> dict[str, float]:
    """Seconds per :data:`PROFILE_PARTS` category out of ``total_key``'s cumulative time; the rest is
    the trainer's own overhead. The loss's share excludes the pooler forward and the gather it calls."""

    def cumulative(suffix: str, name: str) -> float:
        return sum(entry[3] for (file, _, func), entry in stats.stats.items() if file.endswith(suffix) and func == name)

    parts = {label: sum(cumulative(*key) for key in keys) for label, keys in PROFILE_PARTS.items()}
    parts["loss and model forward outside the pooler"] -= parts["pooler forward"] + parts["cache gather"]
    parts["collation (text → cache rows)"] = max(0.0, parts["collation (text → cache rows)"])
    total = cumulative(*total_key)
    parts["trainer overhead (rest)"] = total - sum(parts.values())
    parts["total"] = total
    return parts


def profile_epoch(name: str, data_dir: str, cache_root: str, rows: int | None = None) -> dict[str, float]:
    """One epoch of :func:`st_glot.fit` (CoSENT, batch 32) on cached STS-B train states (the first ``rows``
    pairs, all by default), under cProfile; the cache is filled first, outside the profile.

    The model is st-glot's default for the backbone, as ``st-glot train`` builds it: GLOT in the
    recommended preset (on SmolLM2: PromptEOL's template, a bfloat16 backbone and the anchor), then
    the trained projection and normalisation.
    """
    train, _ = load_task("stsb", data_dir)
    train = train.select(range(min(rows or len(train), len(train))))
    backbone = load_backbone(BACKBONES[name], max_seq_length=128, **PROFILE_BACKBONE_OPTIONS[name])
    torch.manual_seed(0)
    model = make_model(backbone, make_pooler("glot", backbone), project=True, device="cpu")
    kwargs = dict(loss="cosent", epochs=1, batch_size=32, cache_dir=cache_root, show_progress_bar=False)
    fit(model, train.select(range(64)), **kwargs)  # fills nothing new after the first run; warms up imports
    cache = TokenStateCache.for_backbone(backbone, cache_root)
    texts = list(train["sentence1"]) + list(train["sentence2"])
    cache.add(texts, lambda b: backbone_states(model, b), show_progress_bar=False)
    profiler = cProfile.Profile()
    profiler.enable()
    fit(model, train, **kwargs)
    profiler.disable()
    parts = _split_profile(pstats.Stats(profiler), ("trainer.py", "train"))
    parts["steps"] = -(-len(train) // 32)
    per_step = parts["total"] - sum(parts[label] for label in ONCE_PER_RUN)
    parts["pooler share"] = (parts["pooler forward"] + parts["backward (pooler + loss)"]) / per_step
    return parts


def write_profile(profiles: dict[str, dict[str, float]], **provenance_of: Any) -> None:
    """``results/training_profile.md`` (a table per backbone) and ``training_profile.json``; backbones
    profiled before and not in ``profiles`` are kept (``provenance_of``: :func:`_common.write_results`'s,
    describing this run)."""
    previous = RESULTS / "training_profile.json"
    if previous.exists():
        profiles = {**json.loads(previous.read_text(encoding="utf-8"))["profiles"], **profiles}
    lines = ["# Where an epoch of fit spends its time", ""]
    lines.append(
        "One epoch of `st_glot.fit` (CoSENT, batch 32, random batches) on cached STS-B train states, one "
        "thread, under cProfile (which inflates Python-heavy parts), with st-glot's default model for each "
        "backbone (recommended GLOT; on SmolLM2-135M PromptEOL's template, a bfloat16 backbone and the "
        "anchor; a trained projection). A step's share counts the steps only; the trainer's start-up is "
        "paid once per `fit` call. Generated by `python benchmarks/bench_training.py --profile`."
    )
    for name, parts in profiles.items():
        once = sum(parts.get(label, 0.0) for label in ONCE_PER_RUN)
        per_step = parts["total"] - once
        steps = f"{parts['steps']} steps, {1e3 * per_step / parts['steps']:.1f} ms/step"
        lines += ["", f"## {name} ({steps}, pooler fwd + bwd {100 * parts['pooler share']:.0f} % of the step)", ""]
        if parts["steps"] < 180:
            lines += [f"The first {32 * parts['steps']} STS-B train pairs (`--profile-rows`).", ""]
        lines += ["| part | s/epoch | ms/step | share of the steps |", "|---|---|---|---|"]
        for label, seconds in parts.items():
            if label in ONCE_PER_RUN:
                lines.append(f"| {label} | {seconds:.2f} | once | |")
            elif label not in ("total", "steps", "pooler share"):
                share = f"{100 * seconds / per_step:.1f} %"
                lines.append(f"| {label} | {seconds:.2f} | {1e3 * seconds / parts['steps']:.2f} | {share} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (RESULTS / "training_profile.md").write_text(text, encoding="utf-8")
    write_results("training_profile", {"profiles": profiles}, **provenance_of)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("ST_GLOT_DATA"), required="ST_GLOT_DATA" not in os.environ)
    parser.add_argument("--backbones", default="minilm,smollm2")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the STS-B quality run")
    parser.add_argument(
        "--profile", action="store_true", help="only profile one epoch of fit per backbone (training_profile.md)"
    )
    parser.add_argument("--cache-dir", default=None, help="token-state cache for --profile (default: a temporary one)")
    parser.add_argument("--profile-rows", type=int, default=None, help="STS-B train pairs for --profile (default all)")
    args = parser.parse_args()
    provenance_of = {"configuration": {"settings": vars(args)}, "data": task_sources("stsb", args.data_dir)}
    if args.profile:
        with tempfile.TemporaryDirectory() as scratch:
            root = args.cache_dir or scratch
            names = args.backbones.split(",")
            profiles = {name: profile_epoch(name, args.data_dir, root, args.profile_rows) for name in names}
            write_profile(profiles, **provenance_of)
        return
    steps_per_epoch = -(-5749 // 32)
    rows, payload = [], {"steps_per_epoch": steps_per_epoch}
    with tempfile.TemporaryDirectory() as cache_root:
        quality = cache_and_quality(args.data_dir, cache_root, args.epochs)
        payload["stsb"] = quality
        for name in args.backbones.split(","):
            timing = step_times(name, args.data_dir, args.steps, cache_root)
            payload[name] = timing
            base = timing["seconds_per_step"]["cached"]
            for method, seconds in timing["seconds_per_step"].items():
                rows.append(
                    {
                        "backbone": name,
                        "method": method,
                        "ms/step": 1000 * seconds,
                        "x cached": seconds / base,
                        "epoch s": seconds * steps_per_epoch,
                        "trainable": timing["trainable_parameters"][method],
                    }
                )
    print_table(rows, ["backbone", "method", "ms/step", "x cached", "epoch s", "trainable"])
    print(
        f"\ncache on STS-B (max length 128): {quality['cache_bytes'] / 2**20:.1f} MiB vs research format "
        f"{quality['research_format_bytes'] / 2**20:.1f} MiB = {quality['cache_fraction_of_research']:.3f}"
    )
    print(
        f"STS-B dev Spearman: GLOT (frozen MiniLM, {args.epochs} epochs) {quality['glot_dev_spearman']:.4f} vs "
        f"untrained mean pooling {quality['mean_untrained_dev_spearman']:.4f}"
    )
    print(f"wrote {write_results('training', payload, **provenance_of)}")


if __name__ == "__main__":
    main()
