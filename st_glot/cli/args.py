"""Command-line options shared by the sub-commands: backbone, pooler, training, cache."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from st_glot.utils.choices import (
    ANCHORS,
    CACHE_DTYPE_NAMES,
    DEFAULT_CACHE_DIR,
    DEFAULT_MAX_SEQ_LENGTH,
    EDGE_WEIGHTS,
    FROZEN_POOLINGS,
    GLOT_OPTIONS,
    GNN_TYPES,
    GRAPH_NORMS,
    GRAPHS,
    INPUT_NORMS,
    JK_MODES,
    POOLINGS,
    PRESETS,
)
from st_glot.utils.templates import AUTO, TEMPLATES, resolve_template


def add_backbone_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backbone")
    group.add_argument(
        "--backbone",
        default=None,
        help="Hub id or folder; default: the embedded all-MiniLM-L6-v2; 'smollm2': the packaged SmolLM2-135M GGUF",
    )
    group.add_argument("--gguf-file", default=None, help="GGUF file inside --backbone")
    group.add_argument(
        "--max-seq-length",
        type=number(int, 1),
        default=DEFAULT_MAX_SEQ_LENGTH,
        help=f"truncation length in tokens, in training and encoding (default {DEFAULT_MAX_SEQ_LENGTH}, the paper's)",
    )
    group.add_argument("--backbone-dtype", choices=("float32", "float16", "bfloat16"), default=None)
    group.add_argument(
        "--template",
        type=template_argument,
        default=AUTO,
        help='wrap every text in this prompt template, with one {text} slot, e.g. \'This sentence : "{text}" '
        f"means in one word:\"' (saved with the model); or a name: {', '.join(TEMPLATES)}; 'none': plain text; "
        "default 'auto': PromptEOL's template on a decoder, plain text on an encoder",
    )


def template_argument(text: str) -> str | None:
    """An argparse ``type`` for ``--template``: ``auto``, ``none`` (None: plain text), a name from
    :data:`~st_glot.utils.templates.TEMPLATES`, or a string with exactly one ``{text}`` slot; returns the
    template text."""
    if text in (AUTO, "none"):
        return None if text == "none" else AUTO
    try:
        return resolve_template(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_glot_arguments(parser: argparse.ArgumentParser) -> None:
    """``--preset`` and one option per :class:`~st_glot.GLOTPooling` setting; an option given overrides the preset."""
    group = parser.add_argument_group("GLOT pooler (an option given overrides --preset)")
    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="recommended",
        help="recommended: centred graph, running input norm, tau 0.3 (default); paper: the research code's "
        "raw-cosine graph on raw states",
    )
    group.add_argument("--hidden-dim", type=number(int, 1), help="GNN width h (default 128)")
    group.add_argument("--num-layers", type=number(int, 0), help="GNN layers K (default 2; 0: the readout alone)")
    group.add_argument("--gnn", choices=GNN_TYPES, help="layer type (default gat)")
    group.add_argument("--jk", choices=JK_MODES, help="jumping knowledge (default cat)")
    group.add_argument(
        "--tau",
        type=number(float, -1, 1),
        help="edge threshold on cosine similarity, in [-1, 1] (default: the preset's)",
    )
    group.add_argument("--edge-weight", choices=EDGE_WEIGHTS, help="default binary")
    group.add_argument(
        "--graph",
        choices=GRAPHS,
        help="which token pairs the GNN connects: threshold (default, cosine > tau); for ablations that change "
        "only the graph: empty (each token alone, no message passing), complete (all pairs of a text), random "
        "(the threshold graph's edge count per text, placed at random, seeded by --seed)",
    )
    group.add_argument("--graph-norm", choices=GRAPH_NORMS, help="per-text normalisation before the cosine")
    group.add_argument("--input-norm", choices=INPUT_NORMS, help="normalisation of the states the GNN sees")
    group.add_argument("--heads", type=number(int, 1), help="GAT heads (default 1)")
    group.add_argument(
        "--dropout", type=number(float, 0, 1, open_high=True), help="dropout on GNN outputs, in [0, 1) (default 0)"
    )
    group.add_argument("--scorer-hidden", type=number(int, 1), help="readout scorer width (default max(128, D // 2))")
    group.add_argument(
        "--anchor",
        choices=(AUTO, *ANCHORS),
        help="untrained pooling kept beside GLOT's vector: last token, mean, or none; auto (default): last on a "
        "decoder reading a template, none otherwise",
    )
    group.add_argument(
        "--anchor-weight", type=number(float, 0, 1), help="the anchor's share of the cosine, in [0, 1] (default 0.5)"
    )


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The options as given (every parsed option), for a results file's ``settings``."""
    return {k: v for k, v in vars(args).items() if k not in ("func", "command_line")}


def run_provenance(
    args: argparse.Namespace,
    backbone: Any,
    poolers: dict[str, Any],
    loss: str | dict[str, str],
    data: list[dict[str, Any]],
    glot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``provenance`` block (:func:`st_glot.utils.provenance.provenance`) of a command's results.

    Args:
        args: the parsed options: backbone, training (``--lr``, ``--epochs``, ``--seed(s)`` …) and ``command_line``.
        backbone: the loaded backbone.
        poolers: each method's pooler as trained (``(pooler, backbone it reads)``), or None to describe the
            one :func:`~st_glot.models.factory.make_pooler` builds for it with ``glot``'s options.
        loss: the training loss, or one per task.
        data: the inputs' provenance (e.g. :func:`st_glot.evaluation.tasks.task_sources`).
        glot: GLOT's options (default :func:`glot_kwargs`), with ``preset``.
    """
    from st_glot.models.backbones import backbone_label
    from st_glot.models.factory import make_pooler, method_backbone
    from st_glot.utils.provenance import describe_backbone, describe_method, provenance

    glot = glot_kwargs(args) if glot is None else glot
    methods = {}
    for method, built in poolers.items():
        kwargs = glot if method == "glot" else {}
        pooler, reads = built or (make_pooler(method, backbone, **kwargs), method_backbone(method, backbone))
        methods[method] = describe_method(pooler, reads, kwargs.get("preset"))
    seeds = args.seeds if hasattr(args, "seeds") else [args.seed]
    training = {
        "loss": loss,
        "learning_rate": args.lr,
        "lr_grid": getattr(args, "lr_grid", None),
        "validation_fraction": getattr(args, "validation_fraction", None) if getattr(args, "lr_grid", None) else None,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "weight_decay": getattr(args, "weight_decay", 0.0),
        "seeds": list(seeds),
        "group_by_length": args.group_by_length,
        "cache_dtype": args.cache_dtype,
    }
    configuration = {
        "backbone": describe_backbone(backbone, args.backbone, backbone_label(args.backbone, args.gguf_file)),
        "methods": methods,
        "training": training,
    }
    device = str(next(backbone.parameters()).device)
    return provenance(configuration=configuration, data=data, device=device, command=args.command_line)


def glot_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``preset`` plus the :class:`~st_glot.GLOTPooling` options given on the command line."""
    given = {name: getattr(args, name) for name in GLOT_OPTIONS if getattr(args, name) is not None}
    return {"preset": args.preset, **given}


def add_group_by_length_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--group-by-length``: :func:`st_glot.training.fit.fit`'s ``group_by_length``."""
    parser.add_argument(
        "--group-by-length",
        action="store_true",
        help="batches of similar-length texts: faster, but where length follows the label "
        "they hold mostly one class (default: random batches)",
    )


def add_training_arguments(
    parser: argparse.ArgumentParser, lr: float = 2e-4, seeds: tuple[int, ...] | None = None
) -> None:
    """Epochs, batch size, learning rate, seed(s), cache; ``seeds`` given: ``--seeds`` (that default) for ``--seed``."""
    group = parser.add_argument_group("training")
    add_epochs_batch_lr_arguments(group, epochs=3, lr=lr)
    group.add_argument(
        "--weight-decay",
        type=number(float, 0),
        default=0.0,
        help="decoupled weight decay (AdamW; default 0: plain Adam)",
    )
    if seeds is None:
        group.add_argument("--seed", type=SEED, default=42)
    else:
        default = ",".join(map(str, seeds))
        group.add_argument(
            "--seeds",
            "--seed",
            type=SEEDS,
            default=list(seeds),
            help=f"comma-separated seeds (default {default})",
        )
    add_group_by_length_argument(group)
    add_cache_arguments(group)


def add_cache_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--cache-dir`` and ``--cache-dtype``: where and how the token-state cache is kept."""
    parser.add_argument(
        "--cache-dir", default=DEFAULT_CACHE_DIR, help=f"token-state cache root (default {DEFAULT_CACHE_DIR})"
    )
    parser.add_argument(
        "--cache-dtype",
        choices=CACHE_DTYPE_NAMES,
        default="float16",
        help="precision of the cached token states (default float16)",
    )


def add_tuning_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lr-grid`` and ``--validation-fraction``: :func:`st_glot.evaluation.tuning.tune` per method."""
    group = parser.add_argument_group("fair tuning")
    group.add_argument(
        "--lr-grid",
        type=comma_list(POSITIVE, what="learning rate(s)"),
        default=None,
        metavar="LR[,LR…]",
        help="choose each method's learning rate from these, and its epochs (up to --epochs), on a validation "
        "split carved from the training data, then train on all of it (default: --lr for every method)",
    )
    group.add_argument(
        "--validation-fraction",
        type=number(float, 0, 1, open_low=True, open_high=True),
        default=0.1,
        help="share of the training data held out for --lr-grid (default 0.1)",
    )


def fit_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`st_glot.fit` options named by :func:`add_training_arguments` (and ``--quiet``)."""
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "weight_decay": args.weight_decay,
        "cache_dir": args.cache_dir,
        "cache_dtype": args.cache_dtype,
        "group_by_length": args.group_by_length,
        "show_progress_bar": not args.quiet,
    }


def add_methods_argument(parser: argparse.ArgumentParser, flag: str, default: tuple[str, ...]) -> None:
    """``flag`` (``--pooling`` or ``--methods``): comma-separated pooling methods, checked against POOLINGS
    (and ``lora`` against an installed ``peft``, before anything runs)."""
    shown = "all but lora" if default == FROZEN_POOLINGS else ",".join(default)
    names = comma_list(valid=POOLINGS, what="pooling method(s)")

    def methods(text: str) -> list[str]:
        chosen = names(text)
        if "lora" in chosen:
            lora_installed()
        return chosen

    parser.add_argument(
        flag,
        type=methods,
        default=list(default),
        help=f"comma-separated, from {','.join(POOLINGS)} (default: {shown}); "
        "lora trains LoRA adapters on the backbone (needs peft: pip install 'st-glot[lora]')",
    )


def lora_installed(method: str = "lora") -> str:
    """An argparse check: ``method``, if it is not ``lora`` or ``peft`` is installed; else a one-line error."""
    import importlib.util

    if method == "lora" and importlib.util.find_spec("peft") is None:
        raise argparse.ArgumentTypeError("the lora method needs peft: pip install 'st-glot[lora]'")
    return method


def number(
    cast: Callable[[str], float],
    low: float,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> Callable[[str], Any]:
    """An argparse ``type``: ``cast(text)`` (``int`` or ``float``), finite and within ``[low, high]`` (an end
    is left out when ``open_low`` / ``open_high``; ``high`` None: no upper bound); the error names the value
    and the valid range, e.g. ``invalid value '0': expected an integer >= 1``."""
    kind, shown = ("an integer", "{:d}") if cast is int else ("a number", "{:g}")
    if high is None:
        valid = f"{'>' if open_low else '>='} {shown.format(low)}"
    else:
        valid = f"in {'(' if open_low else '['}{shown.format(low)}, {shown.format(high)}{')' if open_high else ']'}"

    def parse(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            value = None
        inside = (
            value is not None
            and math.isfinite(value)
            and (value > low or (not open_low and value == low))
            and (high is None or value < high or (not open_high and value == high))
        )
        if not inside:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected {kind} {valid}")
        return value

    return parse


#: A training seed, as torch and numpy take it.
SEED = number(int, 0, 2**32 - 1)
#: A learning rate or other strictly positive number.
POSITIVE = number(float, 0, open_low=True)


def comma_list(
    cast: Callable[[str], Any] = str, valid: tuple[str, ...] | None = None, what: str = "value(s)"
) -> Callable[[str], list]:
    """An argparse ``type`` for comma-separated lists, e.g. ``--seeds 0,1,2``: each item, spaces around it
    dropped, through ``cast`` (``str`` or a validating argparse ``type`` such as :func:`number`), names
    checked against ``valid``; nothing at all, an empty item or one given twice is an error."""

    def parse(text: str) -> list:
        parts = [part.strip() for part in text.split(",")]
        if not text.strip():
            raise argparse.ArgumentTypeError(f"no {what} given: expected comma-separated {what}")
        if "" in parts:
            raise argparse.ArgumentTypeError(f"empty item in {text!r}: expected comma-separated {what}")
        items = [cast(x) for x in parts]
        bad = [x for x in items if valid is not None and x not in valid]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what} {bad}; valid: {', '.join(valid)}")
        twice = sorted({str(x) for x in items if items.count(x) > 1})
        if twice:
            raise argparse.ArgumentTypeError(f"{what} given twice in {text!r}: {', '.join(twice)}")
        return items

    return parse


#: Comma-separated seeds: ``--seeds 0,1,2``.
SEEDS = comma_list(SEED, what="seed(s)")


def add_epochs_batch_lr_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    epochs: int,
    lr: float,
    epochs_help: str | None = None,
    lr_help: str | None = None,
) -> None:
    """``--epochs`` (>= 1), ``--batch-size`` (>= 1) and ``--lr`` (> 0) with these defaults."""
    parser.add_argument("--epochs", type=number(int, 1), default=epochs, help=epochs_help or f"default {epochs}")
    parser.add_argument("--batch-size", type=number(int, 1), default=32, help="default 32")
    parser.add_argument("--lr", type=POSITIVE, default=lr, help=lr_help or f"learning rate (default {lr:g})")
