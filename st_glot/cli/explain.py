"""``st-glot explain``: draw what a GLOT (or AdaPool) model's pooler sees in some texts.

Example::

    st-glot explain --model out/ "the folder includes files" "the folder does not include files" --output explain/

prints each text's heaviest tokens and writes ``explain/explanations.json`` plus a
PNG and an HTML page per text; without ``--output`` it only prints.
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack

from st_glot.cli.args import number


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` sub-command to the ``st-glot`` parser."""
    parser = subparsers.add_parser(
        "explain",
        help="show each token's readout weight and the token graph, as data, PNG and HTML",
        description="Run a model that pools with GLOTPooling or AdaPool on some texts and write, per text, "
        "a PNG and a standalone HTML page of the tokens (shaded by readout weight) and the strongest "
        "token-graph edges, plus explanations.json with all the numbers.",
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to explain")
    parser.add_argument("--model", required=True, help="folder (or hub id) of a saved sentence-transformers model")
    parser.add_argument(
        "--output",
        default=None,
        help="folder to write explanations.json, PNGs and HTML pages into (replacing it, once all are written); "
        "default: print the heaviest tokens only",
    )
    parser.add_argument("--file", help="read more texts from this file, one per line (blank lines skipped)")
    parser.add_argument(
        "--top", type=number(int, 1), default=5, help="tokens printed per text, heaviest first (default 5)"
    )
    parser.add_argument(
        "--max-edges", type=number(int, 0), default=40, help="strongest graph edges drawn per picture (default 40)"
    )
    parser.add_argument(
        "--format", choices=("png", "html", "both"), default="both", help="pictures to write (default both)"
    )
    parser.add_argument("--batch-size", type=number(int, 1), default=32, help="texts per forward pass (default 32)")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: the model's choice)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the model, print the ranked tokens, and write the explanations when ``--output`` is given."""
    from sentence_transformers import SentenceTransformer

    from st_glot.cli.errors import user_errors
    from st_glot.explanations.explanation import explain
    from st_glot.explanations.render import display_tokens
    from st_glot.explanations.write import write_explanations
    from st_glot.models.backbones import is_hub_id
    from st_glot.utils.io import atomic_output_dir

    with ExitStack() as stack:
        with user_errors("explain"):
            texts = list(args.texts)
            if args.file:
                with open(args.file, encoding="utf-8") as handle:
                    texts += [line.rstrip("\n") for line in handle if line.strip()]
            if not texts:
                raise ValueError("give at least one TEXT, or --file with one text per line.")
            output = stack.enter_context(atomic_output_dir(args.output)) if args.output else None
            is_hub_id(args.model, "--model")  # a missing folder or an unreachable Hub: one line, at once
            model = SentenceTransformer(args.model, trust_remote_code=True, device=args.device)
        if output is None:
            explanations = explain(model, texts, batch_size=args.batch_size)
        else:
            formats = ("png", "html") if args.format == "both" else (args.format,)
            explanations = write_explanations(
                model, texts, output, batch_size=args.batch_size, max_edges=args.max_edges, formats=formats
            )
    for position, explanation in enumerate(explanations):
        shown = display_tokens(explanation.tokens)
        print(f"[{position}] {explanation.text}")
        for rank, (index, raw, weight) in enumerate(explanation.ranked(args.top), start=1):
            label = shown[index].text if raw == shown[index].text else f"{shown[index].text} ({raw})"
            print(f"  {rank:>2}. {weight:.4f}  {label}")
    if args.output:
        print(f"Wrote {len(explanations)} explanation(s) to {os.path.abspath(args.output)}")
    return 0
