"""GLUE tables of docs/benchmarks/glue.md: scores ×100, mean ± std over seeds, and the tuning choices."""

from __future__ import annotations

import math
from dataclasses import dataclass

from doc_tables.fmt import cell, num, paragraphs, signed, table
from doc_tables.registry import GLUE as PAGE
from doc_tables.registry import section
from doc_tables.sources import Sources

GLUE = "benchmarks/results/glue/"
TASKS = {"cola": "CoLA MCC", "sst2": "SST-2 acc", "stsb": "STS-B Spearman", "mrpc": "MRPC F1"}


@dataclass(frozen=True)
class Row:
    """A table row: one ``(folder, task, method)`` per column (``None``: an empty cell)."""

    label: str
    columns: tuple[tuple[str, str, str] | None, ...]
    other: bool = True
    bold: bool = False


def scores(src: Sources, where: tuple[str, str, str] | None) -> list[float]:
    """The per-seed scores of ``method`` on ``task`` in ``folder``."""
    if where is None:
        return []
    folder, task, method = where
    return src.glue(folder)[task][method]


def score_table(src: Sources, header: list[str], rows: list[Row], margin: str = "", seeds: bool = False) -> str:
    """``rows`` × columns; with ``margin`` (the first row's label) a last row of the first row's mean minus the
    best ``other`` row's mean in each column."""
    values = [[scores(src, where) for where in row.columns] for row in rows]
    body = [
        [f"**{row.label}**" if row.bold else row.label] + [cell(v, 2, seeds=seeds) for v in per_column]
        for row, per_column in zip(rows, values)
    ]
    if margin:
        margins = []
        for i in range(len(header) - 1):
            others = [sum(v[i]) / len(v[i]) for row, v in zip(rows, values) if row.other and v[i]]
            first = values[0][i]
            margins.append(signed(sum(first) / len(first) - max(others), 2) if first and others else "")
        body.append([f"{margin} − best other"] + margins)
    return table(header, body)


# --- SmolLM2-135M at full size -------------------------------------------------------------------------------

SMOL = {t: GLUE + f"smollm2-full-{t}" for t in ("cola", "stsb", "mrpc")}
SMOL_ANCHOR = {t: GLUE + f"smollm2-full-{t}-glot-anchor" for t in ("cola", "stsb", "mrpc")}
SST2_FULL_MEAN_MAX = GLUE + "smollm2-full-sst2-mean-max"
SST2_SAMPLE = GLUE + "smollm2-sst2-limit10000"
SST2_SAMPLE_ANCHOR = GLUE + "smollm2-sst2-limit10000-glot-anchor"


def smollm2_rows() -> list[Row]:
    def row(label: str, method: str, folders: dict[str, str], sst2: str | None, sample: str | None, **kw) -> Row:
        cols = tuple((folders[t], t, method) for t in ("cola", "stsb", "mrpc"))
        cols += ((sst2, "sst2", method) if sst2 else None, (sample, "sst2", method) if sample else None)
        return Row(label, cols, **kw)

    return [
        row(
            "GLOT + anchor (the default on templated decoders)",
            "glot",
            SMOL_ANCHOR,
            None,
            SST2_SAMPLE_ANCHOR,
            other=False,
            bold=True,
        ),
        row("GLOT, no anchor (`--anchor none`)", "glot", SMOL, None, SST2_SAMPLE, other=False),
        row("AdaPool", "adapool", SMOL, None, SST2_SAMPLE),
        row("mean", "mean", SMOL, SST2_FULL_MEAN_MAX, SST2_SAMPLE),
        row("max", "max", SMOL, SST2_FULL_MEAN_MAX, SST2_SAMPLE),
        row("PromptEOL (last token)", "prompteol", SMOL, None, SST2_SAMPLE),
        Row("mean, untrained", (None, (SMOL["stsb"], "stsb", "mean (untrained)"), None, None, None), other=False),
    ]


@section(
    "glue-smollm2",
    PAGE,
    *SMOL.values(),
    *SMOL_ANCHOR.values(),
    SST2_FULL_MEAN_MAX,
    SST2_SAMPLE,
    SST2_SAMPLE_ANCHOR,
)
def glue_smollm2(src: Sources) -> str:
    header = ["method", "CoLA MCC", "STS-B Spearman", "MRPC F1", "SST-2 acc (full)", "SST-2 acc (10k sample, seed 0)"]
    return score_table(src, header, smollm2_rows(), margin="GLOT + anchor")


def tuning_rows(src: Sources, entries: list[tuple[str, str, str, str, str]], rates: list[float]) -> list[list[str]]:
    """One row per ``(task label, method label, folder, task, method)``: the best validation score of each rate
    (at its best epoch) and the choice."""
    rows = []
    for task_label, label, folder, task, method in entries:
        tuning = src.json(folder)["tuning"][task][method]
        curves = {float(rate): curve for rate, curve in tuning["curves"].items()}
        cells = []
        for rate in rates:
            curve = curves.get(rate)
            if curve is None:
                cells.append("")
                continue
            best = max(range(len(curve)), key=lambda e: curve[e])
            cells.append(f"{num(curve[best], 2)} (ep {best + 1})")
        rows.append([task_label, label, *cells, f"{rate_text(tuning['learning_rate'])}, {tuning['epochs']} ep"])
    return rows


def rate_text(rate: float) -> str:
    """``0.0003`` → ``3e-4``."""
    mantissa, exponent = f"{rate:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


SMOL_LABELS = {"adapool": "AdaPool", "mean": "mean", "max": "max", "prompteol": "PromptEOL"}


@section("glue-smollm2-tuning", PAGE, *SMOL.values(), *SMOL_ANCHOR.values(), SST2_FULL_MEAN_MAX)
def glue_smollm2_tuning(src: Sources) -> str:
    entries = []
    for task, label in (("stsb", "STS-B"), ("cola", "CoLA"), ("mrpc", "MRPC")):
        entries.append((label, "GLOT + anchor", SMOL_ANCHOR[task], task, "glot"))
        entries.append((label, "GLOT", SMOL[task], task, "glot"))
        entries += [(label, name, SMOL[task], task, m) for m, name in SMOL_LABELS.items()]
    entries += [("SST-2 (full)", SMOL_LABELS[m], SST2_FULL_MEAN_MAX, "sst2", m) for m in ("mean", "max")]
    rates = [1e-4, 3e-4, 1e-3, 3e-3]
    header = ["task", "method", *(f"lr {rate_text(r)}" for r in rates), "chosen"]
    return table(header, tuning_rows(src, entries, rates))


COLA_WIDE = GLUE + "smollm2-full-cola-wide-grid"


@section("glue-smollm2-cola-wide", PAGE, COLA_WIDE, SMOL["cola"], SMOL_ANCHOR["cola"])
def glue_smollm2_cola_wide(src: Sources) -> str:
    rows = []
    labels = {"glot": "GLOT + anchor", **SMOL_LABELS}
    for method, label in labels.items():
        narrow = SMOL_ANCHOR["cola"] if method == "glot" else SMOL["cola"]
        wide = src.json(COLA_WIDE)["tuning"]["cola"][method]
        rows.append(
            [
                label,
                f"{rate_text(wide['learning_rate'])}, {wide['epochs']} ep",
                num(wide["score"], 2),
                cell(scores(src, (COLA_WIDE, "cola", method)), 2),
                cell(scores(src, (narrow, "cola", method)), 2),
            ]
        )
    header = ["method", "chosen (wide grid)", "validation MCC", "CoLA MCC, wide grid", "CoLA MCC, grid above"]
    return table(header, rows)


ABLATIONS = {
    name: {t: GLUE + f"smollm2-full-{t}-glot-{name}" for t in ("stsb", "cola")}
    for name in ("readout-only", "no-input-norm", "paper-preset")
}


@section(
    "glue-smollm2-ablations",
    PAGE,
    SMOL["stsb"],
    SMOL["cola"],
    *(f for a in ABLATIONS.values() for f in a.values()),
)
def glue_smollm2_ablations(src: Sources) -> str:
    spec = [
        ("recommended preset (the table above)", "centred, tau 0.3", "running", SMOL, "glot"),
        ("readout alone (`--num-layers 0`)", "none", "running", ABLATIONS["readout-only"], "glot"),
        ("no input norm (`--input-norm none`)", "centred, tau 0.3", "none", ABLATIONS["no-input-norm"], "glot"),
        ("paper preset (`--preset paper`)", "raw cosine", "none", ABLATIONS["paper-preset"], "glot"),
        ("AdaPool (readout on raw states, tuned)", "none", "none", SMOL, "adapool"),
    ]
    rows = [
        [label, graph, norm, cell(scores(src, (f["stsb"], "stsb", m)), 2), cell(scores(src, (f["cola"], "cola", m)), 2)]
        for label, graph, norm, f, m in spec
    ]
    header = ["GLOT on SmolLM2-135M (templated)", "graph", "input norm", "STS-B Spearman", "CoLA MCC"]
    return table(header, rows)


# --- CoLA: the class prior and the probes ----------------------------------------------------------------------

COLA_PROBES = {
    "SmolLM2-135M (templated)": GLUE + "cola-probe-smollm2.json",
    "all-MiniLM-L6-v2": GLUE + "cola-probe-minilm.json",
}


@section("glue-cola-prior", PAGE, COLA_PROBES["all-MiniLM-L6-v2"])
def glue_cola_prior(src: Sources) -> str:
    rate = src.json(COLA_PROBES["all-MiniLM-L6-v2"])["majority_rate"]
    p = rate["train"]
    entropy = -p * math.log(p) - (1 - p) * math.log(1 - p)
    text = (
        f"**The majority class** is {100 * rate['train']:.1f} % of CoLA train and {100 * rate['dev']:.1f} % of dev. "
        "Always answering it scores MCC 0, and a head that has learned only the class prior has a training "
        f"cross-entropy of {entropy:.3f} nats (the prior's entropy)."
    )
    return "- " + paragraphs(text, width=98).replace("\n", "\n  ")


@section("glue-cola-probe", PAGE, *COLA_PROBES.values())
def glue_cola_probe(src: Sources) -> str:
    rows = []
    for backbone, path in COLA_PROBES.items():
        for r in src.json(path)["rows"]:
            rows.append([backbone, r["method"], f"{r['C']:g}", num(r["dev_mcc"], 2)])
    return table(["backbone", "pooled vectors", "C (chosen on validation)", "CoLA dev MCC"], rows)


# --- all-MiniLM-L6-v2 at full size ---------------------------------------------------------------------------

MINILM = {t: GLUE + f"minilm-full-{t}" for t in ("cola", "sst2", "stsb", "mrpc")}
MINILM_COLA_FIRST = GLUE + "minilm-full-cola-first-grid"
MINILM_LABELS = {"glot": "GLOT (recommended preset)", "adapool": "AdaPool", "mean": "mean", "max": "max", "cls": "CLS"}


@section("glue-minilm", PAGE, *MINILM.values())
def glue_minilm(src: Sources) -> str:
    order = ("cola", "sst2", "stsb", "mrpc")
    rows = [
        Row(f"**{label}**" if m == "glot" else label, tuple((MINILM[t], t, m) for t in order), other=m != "glot")
        for m, label in MINILM_LABELS.items()
    ]
    rows.append(Row("mean, untrained", (None, None, (MINILM["stsb"], "stsb", "mean (untrained)"), None), other=False))
    return score_table(src, ["method", *(TASKS[t] for t in order)], rows, margin="GLOT")


@section("glue-minilm-tuning", PAGE, *MINILM.values(), MINILM_COLA_FIRST)
def glue_minilm_tuning(src: Sources) -> str:
    order = ("cola", "sst2", "stsb", "mrpc")
    rows = []
    for m, label in MINILM_LABELS.items():
        chosen = []
        for t in order:
            tuning = src.json(MINILM[t])["tuning"][t][m]
            chosen.append(f"{rate_text(tuning['learning_rate'])}, {tuning['epochs']} ep")
        first = src.json(MINILM_COLA_FIRST)["tuning"]["cola"][m]
        chosen.append(f"{rate_text(first['learning_rate'])}, {first['epochs']} ep")
        chosen.append(cell(scores(src, (MINILM_COLA_FIRST, "cola", m)), 2))
        rows.append([label, *chosen])
    header = [
        "method",
        *(f"{TASKS[t].split()[0]}: chosen" for t in order),
        "CoLA, first grid: chosen",
        "CoLA MCC, first grid",
    ]
    return table(header, rows)


@section("glue-minilm-cola-losses", PAGE, MINILM_COLA_FIRST)
def glue_minilm_cola_losses(src: Sources) -> str:
    rows = []
    for r in src.json(MINILM_COLA_FIRST)["records"]:
        if r["seed"] == 0:
            losses = r["losses"]
            rows.append([MINILM_LABELS[r["method"]], str(r["epochs"]), num(losses[0], 3), num(losses[-1], 3)])
    header = ["method (first grid, seed 0)", "epochs chosen", "training loss, first epoch", "training loss, last epoch"]
    return table(header, rows)


# --- STS-B on PromptEOL-templated SmolLM2 ----------------------------------------------------------------------

PROMPTEOL_GLUE = GLUE + "smollm2-prompteol-stsb-limit2000"
PROMPTEOL_PROBE = "benchmarks/results/prompteol_SmolLM2-135M-Instruct.Q4_1_1500pairs.json"


@section("glue-smollm2-prompteol", PAGE, PROMPTEOL_GLUE, PROMPTEOL_PROBE)
def glue_smollm2_prompteol(src: Sources) -> str:
    trained = src.glue(PROMPTEOL_GLUE)["stsb"]
    probe = {(r["text"], r["pooling"]): r["spearman"] for r in src.json(PROMPTEOL_PROBE)["rows"]}
    rows = [
        ["GLOT", cell(trained["glot"], 2)],
        ["PromptEOL (last token) + trained projection", cell(trained["prompteol"], 2)],
        ["mean + trained projection", cell(trained["mean"], 2)],
        ["AdaPool", cell(trained["adapool"], 2)],
    ]
    for (text, pooling), value in probe.items():
        name = "PromptEOL (last token)" if (text, pooling) == ("templated", "last token") else pooling
        rows.append([f"{name}, untrained, {text} text", num(value, 1)])
    return table(["pooler on SmolLM2-135M's states", "STS-B dev Spearman"], rows)
