"""Generalisation tables of docs/benchmarks/generalisation.md: ``st-glot generalisation`` scores ×100, mean ± std over seeds."""

from __future__ import annotations

from doc_tables.fmt import cell, num, paragraphs, signed, table
from doc_tables.registry import GENERALISATION as PAGE
from doc_tables.registry import section
from doc_tables.sources import Sources

GEN = "benchmarks/results/generalisation/"
COLUMNS = {
    "logo:main-captions": "LOGO captions",
    "logo:main-news": "LOGO news",
    "logo:main-forum": "LOGO forum",
    "logo:avg": "**LOGO avg**",
    "stsb": "**STS-B dev**",
    "mrpc-zero-shot": "**MRPC AUC**",
    "mnrl:stsb": "MNRL: STS-B",
    "mnrl:banking77": "MNRL: Banking77",
}
#: A row: label, then per-measurement values (several seeds, one value, or none); ``other`` rows count for the margin.
Row = tuple[str, dict[str, list[float]], bool]


def run_row(src: Sources, label: str, folder: str, method: str, other: bool = True) -> Row:
    return label, src.generalisation(folder)[method], other


def probe_row(src: Sources, label: str, path: str, name: str) -> Row:
    return label, {k: [v] for k, v in src.json(path)["rows"][name].items()}, True


def generalisation_table(rows: list[Row], measurements: list[str], margin: str = "", seeds: bool = False) -> str:
    """``rows`` × ``measurements``; with ``margin`` (the first row's label) a last row of the first row's mean
    minus the best ``other`` row's mean."""
    body = [[label] + [cell(values.get(m, []), 2, seeds=seeds) for m in measurements] for label, values, _ in rows]
    if margin:

        def mean(values: list[float]) -> float:
            return sum(values) / len(values)

        first = rows[0][1]
        cells = []
        for m in measurements:
            others = [mean(values[m]) for _, values, other in rows if other and values.get(m)]
            cells.append(signed(mean(first[m]) - max(others), 2) if first.get(m) and others else "")
        body.append([f"{margin} − best other"] + cells)
    return table(["method"] + [COLUMNS[m] for m in measurements], body)


SMOL = GEN + "smollm2"
SMOL_ANCHOR = GEN + "smollm2-glot-anchor"
SMOL_PROBE = GEN + "anchor-probe-smollm2.json"
ALL = list(COLUMNS)


@section("generalisation-smollm2", PAGE, SMOL, SMOL_ANCHOR, SMOL_PROBE)
def generalisation_smollm2(src: Sources) -> str:
    rows = [
        run_row(src, "**GLOT + anchor** (default on templated decoders)", SMOL_ANCHOR, "glot", other=False),
        run_row(src, "GLOT, no anchor (`--anchor none`)", SMOL, "glot", other=False),
        run_row(src, "AdaPool", SMOL, "adapool"),
        run_row(src, "PromptEOL + projection", SMOL, "prompteol"),
        run_row(src, "mean + projection", SMOL, "mean"),
        run_row(src, "max + projection", SMOL, "max"),
        run_row(src, "PromptEOL, untrained", SMOL, "prompteol (untrained)"),
        probe_row(
            src,
            "PromptEOL, untrained, standardised (`probes.sh anchor-smollm2`)",
            SMOL_PROBE,
            "prompteol (untrained), standardised",
        ),
        run_row(src, "mean, untrained", SMOL, "mean (untrained)"),
        run_row(src, "max, untrained", SMOL, "max (untrained)"),
    ]
    return generalisation_table(rows, ALL, margin="GLOT + anchor")


ANCHOR_W1 = GEN + "smollm2-glot-anchor-w1.0"
FOUR = ["logo:avg", "stsb", "mrpc-zero-shot", "mnrl:stsb"]


@section("generalisation-smollm2-anchor", PAGE, SMOL, SMOL_ANCHOR, ANCHOR_W1)
def generalisation_smollm2_anchor(src: Sources) -> str:
    rows = [
        run_row(src, "no anchor (`--anchor none`)", SMOL, "glot"),
        run_row(src, "**standardised last token, weight 0.5 (the default)**", SMOL_ANCHOR, "glot"),
        run_row(
            src,
            "weight 1.0: the anchor alone through the trained projection (`--anchor-weight 1.0`, seed 0)",
            ANCHOR_W1,
            "glot",
        ),
    ]
    text = generalisation_table(rows, FOUR)
    return text.replace("| method |", "| GLOT on SmolLM2-135M (templated) |", 1)


VARIANTS = {
    "hidden width 32 (`--hidden-dim 32`)": GEN + "smollm2-glot-hidden32",
    "dropout 0.1 on GNN outputs (`--dropout 0.1`)": GEN + "smollm2-glot-dropout0.1",
    "AdamW weight decay 0.01 (`--weight-decay 0.01`)": GEN + "smollm2-glot-wd0.01",
    "readout alone, no graph (`--num-layers 0`)": GEN + "smollm2-glot-readout-only",
}
SEVEN = ALL[:-1]


@section("generalisation-smollm2-variants", PAGE, SMOL, *VARIANTS.values())
def generalisation_smollm2_variants(src: Sources) -> str:
    rows = [run_row(src, "recommended preset, no anchor (the table above)", SMOL, "glot")]
    rows += [run_row(src, label, folder, "glot") for label, folder in VARIANTS.items()]
    text = generalisation_table(rows, SEVEN)
    return text.replace("| method |", "| GLOT variant |", 1)


LAYER_PROBE = {"smollm2": GEN + "layer-probe-smollm2.json", "minilm": GEN + "layer-probe-minilm.json"}
THREE = ["logo:avg", "stsb", "mrpc-zero-shot"]
LAYER_LABELS = {
    "prompteol (untrained)": "PromptEOL's last token",
    "prompteol (untrained), standardised": "the same, standardised (GLOT's anchor on the last layer)",
    "cls (untrained)": "CLS",
    "cls (untrained), standardised": "the same, standardised",
    "mean (untrained)": "mean of the valid tokens",
    "mean (untrained), standardised": "the same, standardised",
}


def score(value: float | None) -> str:
    """A probe's score; ``None`` (a pooling that is constant on that state, such as a fixed first token) is ``—``."""
    return "—" if value is None else num(value, 2)


def layer_table(src: Sources, path: str, layers: list[int]) -> str:
    """Untrained poolings × hidden states: LOGO avg / STS-B dev / MRPC AUC, and the best state of each column."""
    payload = src.json(path)
    last = payload["layers"]
    body = []
    for name, per_measurement in payload["rows"].items():
        cells = [" / ".join(score(per_measurement[m][layer]) for m in THREE) for layer in layers]
        best = [
            max((i for i, v in enumerate(per_measurement[m]) if v is not None), key=per_measurement[m].__getitem__)
            for m in THREE
        ]
        body.append([LAYER_LABELS[name], *cells, " / ".join(map(str, best))])
    header = ["untrained pooling of hidden state …", *(f"{i} (last)" if i == last else str(i) for i in layers)]
    return table(header + ["best state per column"], body)


@section("generalisation-layer-probe-smollm2", PAGE, LAYER_PROBE["smollm2"], SMOL_PROBE)
def generalisation_layer_probe_smollm2(src: Sources) -> str:
    text = layer_table(src, LAYER_PROBE["smollm2"], [1, 21, 24, 26, 28, 30])
    probe = src.json(SMOL_PROBE)["rows"]["prompteol (untrained)"]
    last = {m: v[-1] for m, v in src.json(LAYER_PROBE["smollm2"])["rows"]["prompteol (untrained)"].items()}
    both = " / ".join(num(last[m], 2) for m in THREE), " / ".join(num(probe[m], 2) for m in THREE)
    return (
        text
        + "\n\n"
        + paragraphs(
            f"On the last state the prompt's token scores {both[0]} here and {both[1]} in `probes.sh anchor-smollm2` "
            "(the same pooling, a separate run of the backbone)."
        )
    )


@section("generalisation-layer-probe-minilm", PAGE, LAYER_PROBE["minilm"])
def generalisation_layer_probe_minilm(src: Sources) -> str:
    return layer_table(src, LAYER_PROBE["minilm"], list(range(7)))


MINILM = GEN + "minilm"
MINILM_PROBE = GEN + "anchor-probe-minilm.json"


@section("generalisation-minilm", PAGE, MINILM, MINILM_PROBE)
def generalisation_minilm(src: Sources) -> str:
    rows = [
        run_row(src, "**GLOT**", MINILM, "glot", other=False),
        run_row(src, "AdaPool", MINILM, "adapool"),
        run_row(src, "mean + projection", MINILM, "mean"),
        run_row(src, "max + projection", MINILM, "max"),
        run_row(src, "CLS + projection", MINILM, "cls"),
        run_row(src, "mean, untrained", MINILM, "mean (untrained)"),
        probe_row(
            src,
            "mean, untrained, standardised (`probes.sh anchor-minilm`)",
            MINILM_PROBE,
            "mean (untrained), standardised",
        ),
        run_row(src, "max, untrained", MINILM, "max (untrained)"),
        run_row(src, "CLS, untrained", MINILM, "cls (untrained)"),
    ]
    return generalisation_table(rows, ALL, margin="GLOT")
