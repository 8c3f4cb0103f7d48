"""The summary figures of README.md and of the documentation's guide pages: the demo, the stress-test summary,
the PromptEOL baseline, performance, and how GLOT compares.

Each block is a table or a few generated sentences; the sentences state what was measured, from the same files
as the benchmark tables of docs/benchmarks/.
"""

from __future__ import annotations

from doc_tables import generalisation as gen
from doc_tables import glue, performance, stress
from doc_tables.fmt import cell, mean_std, minutes, num, paragraphs, signed, table
from doc_tables.registry import (
    COMPARE,
    DECODERS,
    EVALUATION,
    GETTING_STARTED,
    GLUE,
    README,
    STRESS,
    section,
)
from doc_tables.registry import COSTS as COSTS_PAGE
from doc_tables.registry import GENERALISATION as GENERALISATION_PAGE
from doc_tables.registry import PERFORMANCE as PERFORMANCE_PAGE
from doc_tables.sources import Sources

DEMO = "benchmarks/results/demo"
DEMO_DEFAULT_KERNELS = "benchmarks/results/demo-default-kernels"


def kernel_difference(src: Sources, ratios: list[str]) -> str:
    """A sentence on what the demo printed with PyTorch's plain kernels, method by method."""
    ours, plain = src.stress(DEMO), src.stress(DEMO_DEFAULT_KERNELS)
    moved = [m for m in ours if any(ours[m][r] != plain[m][r] for r in ratios)]
    same = [m for m in ours if m not in moved]
    parts = [f"{m} {' / '.join(cell(plain[m][r], 3) for r in ratios)}" for m in moved]
    text = (
        "The same command with PyTorch's plain CPU kernels (`ATEN_CPU_CAPABILITY=default`, as on a CPU without "
        f"AVX2) printed {'; '.join(parts) if parts else 'the same table'}"
    )
    return text + (f", and the same figures for {', '.join(same)}." if moved and same else ".")


@section("demo", GETTING_STARTED, DEMO, DEMO_DEFAULT_KERNELS)
def demo(src: Sources) -> str:
    payload = src.json(DEMO)
    accuracy = src.stress(DEMO)
    ratios = sorted({r for by_ratio in accuracy.values() for r in by_ratio}, key=float)
    header = ["method", *(f"{float(r):.0%} distractors" for r in ratios)]
    rows = [[method, *(cell(by_ratio[r], 3) for r in ratios)] for method, by_ratio in accuracy.items()]
    config = payload["config"]
    intro = paragraphs(
        "The committed run of the same command (`benchmarks/demo.sh`: `st-glot stress-test --output "
        f"benchmarks/results/demo`, on this project's 2-core CPU with an empty token-state cache) took "
        f"{minutes(payload['seconds'])} and printed, for the default sizes ({config['train_size']} training and {config['eval_size']} evaluation texts per "
        f"ratio, {config['epochs']} epochs, seed {', '.join(map(str, config['seeds']))}):"
    )
    return f"{intro}\n\n```\n{table(header, rows)}\n```\n\n{paragraphs(kernel_difference(src, ratios))}"


def lead(first: list[float], others: dict[str, list[float]]) -> tuple[float, str]:
    """The mean of ``first`` minus the best mean among ``others``, and the best one's name."""
    best = max(others, key=lambda name: mean_std(others[name])[0])
    return mean_std(first)[0] - mean_std(others[best])[0], best


STRESS_SOURCES = (
    stress.SMOLLM2_BALANCED_GLOT,
    *stress.SMOLLM2_BALANCED_90,
    stress.MINILM_BALANCED_GLOT,
    stress.MINILM_BALANCED,
)
STRESS_ROWS = {"glot": "**GLOT**", "paper": "GLOT, paper preset", "adapool": "AdaPool", "mean": "mean", "max": "max"}
STRESS_ROWS["cls"] = "last token or CLS"


def stress_at_90(src: Sources) -> dict[str, dict[str, list[float]]]:
    """``{row: {backbone: accuracies at 90 % per seed}}`` of the README's stress summary (SmolLM2 has no
    paper-preset run with these settings)."""
    smol, minilm = src.stress(*stress.SMOLLM2_BALANCED_90), src.stress(stress.MINILM_BALANCED)
    rows = {
        "glot": {
            "smollm2": src.stress(stress.SMOLLM2_BALANCED_GLOT)["glot"]["0.9"],
            "minilm": src.stress(stress.MINILM_BALANCED_GLOT)["glot"]["0.9"],
        },
        "paper": {"smollm2": [], "minilm": minilm["glot"]["0.9"]},
    }
    for method in stress.BASELINES:
        rows[method] = {"smollm2": smol[method]["0.9"], "minilm": minilm[method]["0.9"]}
    return rows


@section("stress-at-90", EVALUATION, *STRESS_SOURCES)
def readme_stress(src: Sources) -> str:
    body = [
        [label, *(cell(v, 3, bold=row == "glot") if v else "not run" for v in stress_at_90(src)[row].values())]
        for row, label in STRESS_ROWS.items()
    ]
    return table(["", "SmolLM2-135M (1000 / 300 texts)", "all-MiniLM-L6-v2 (2000 / 500 texts)"], body)


@section("stress-summary", (README, COMPARE), *STRESS_SOURCES)
def readme_stress_summary(src: Sources) -> str:
    rows = stress_at_90(src)
    glot, adapool = rows["glot"], rows["adapool"]
    best = max(mean_std(v)[0] for m in ("mean", "max", "cls") for v in rows[m].values())
    return paragraphs(
        "**The stress test.** With a needle hidden among 90 % distractors, GLOT with the recommended preset scores "
        f"{cell(glot['minilm'], 3)} on all-MiniLM-L6-v2 and {cell(glot['smollm2'], 3)} on SmolLM2-135M (accuracy, "
        f"mean ± std over three seeds), AdaPool {cell(adapool['minilm'], 3)} and {cell(adapool['smollm2'], 3)}, and "
        f"mean, max and CLS/last-token pooling at most {num(best, 3)} (chance: 0.5) "
        f"([tables]({src.link(STRESS + '#stress-test-all-minilm-l6-v2-balanced-generator')}))."
    )


@section("prompteol-summary", DECODERS, glue.PROMPTEOL_PROBE)
def readme_prompteol(src: Sources) -> str:
    probe = {(r["text"], r["pooling"]): r["spearman"] for r in src.json(glue.PROMPTEOL_PROBE)["rows"]}
    return paragraphs(
        f"On a frozen SmolLM2-135M it scores {num(probe['templated', 'last token'], 1)} Spearman on STS-B dev "
        f"untrained, against {num(probe['plain', 'mean'], 1)} for mean pooling of the plain text and "
        f"{num(probe['plain', 'last token'], 1)} for its last token (`benchmarks/probes.sh prompteol`)."
    )


@section("performance-headline", PERFORMANCE_PAGE, performance.VS_REAL)
def readme_performance(src: Sources) -> str:
    rows, stsb = [], None
    for r in src.json(performance.VS_REAL)["rows"]:
        if r["preset"] != "paper":
            continue
        stsb = r if r["workload"] == "stsb" else stsb
        rows.append(
            [
                performance.WORKLOADS[r["workload"]].replace("train", "training"),
                f"{performance.sig(r['mean_valid_tokens'])} / {performance.sig(r['mean_padded_length'])}",
                num(r["edge_density"], 2),
                f"{performance.sig(r['train_ours_ms'])} ms",
                f"{performance.sig(r['train_ref_ms'])} ms",
                f"**{performance.times(r['train_speedup'])}**",
            ]
        )
    header = [
        "batch of 32",
        "valid / padded tokens per text (mean)",
        "edge density",
        "st-glot",
        "research code",
        "speed-up",
    ]
    return (
        table(header, rows)
        + "\n\n"
        + paragraphs(
            f"On short texts the per-token matrix products alone take {performance.sig(stsb['floor_ms'])} ms "
            f"(STS-B) of our {performance.sig(stsb['train_ours_ms'])} ms: no implementation of these layers gets more "
            f"than {performance.times(stsb['ceiling_speedup'])} over the research code there."
        )
    )


@section(
    "performance-summary",
    PERFORMANCE_PAGE,
    performance.VS_GRID,
    performance.PROFILE,
    performance.GPU,
    performance.TRAINING,
    performance.ENCODE,
    performance.LONG,
)
def readme_performance_summary(src: Sources) -> str:
    grid = src.json(performance.VS_GRID)["rows"]
    speedups = [s for r in grid for s in (r["fwd_speedup"], r["train_speedup"]) if s is not None]
    failed = sum(r["train_speedup"] is None for r in grid)
    profile = src.json(performance.PROFILE)["profiles"]
    gpu = {r["dtype"]: r for r in src.json(performance.GPU)["results"]}
    gpu_payload = src.json(performance.GPU)
    training = src.json(performance.TRAINING)
    full = {
        k: training[k]["seconds_per_step"]["full"] / training[k]["seconds_per_step"]["cached"]
        for k in ("minilm", "smollm2")
    }
    encode = src.json(performance.ENCODE)
    long = {(r["B"], r["backend"]): r for r in src.json(performance.LONG)["rows"] if r["L"] == 8192 and r["tau"] == 0.3}
    rows = [
        [
            "the full-window grid: d ∈ {384, 2048}, L ∈ {32, 128, 512}, tau ∈ {0.3, 0.6, 0.8}",
            f"{performance.times(min(speedups))} to {performance.times(max(speedups))} faster "
            f"(the reference ran out of memory in {failed} training cells)",
        ],
        [
            "a training step of `fit` on cached states, st-glot's default model",
            f"pooler forward+backward {100 * profile['minilm']['pooler share']:.0f} % of the step (all-MiniLM-L6-v2), "
            f"{100 * profile['smollm2']['pooler share']:.0f} % (templated SmolLM2-135M)",
        ],
        [
            f"{gpu_payload['device']}, d = {gpu_payload['config']['dim']} (a 7B decoder's width), "
            f"B = {gpu_payload['config']['batch_size']}, L = {gpu_payload['config']['length']}, tau {gpu_payload['config']['tau']:g}",
            f"{gpu['fp32']['step_ms']:.1f} ms per training step in fp32, {gpu['bf16']['step_ms']:.1f} ms in bf16; "
            f"the paper: {gpu_payload['paper_step_ms']:g} ms for GLOT on Mistral-7B",
        ],
        [
            "frozen-backbone step (cached states) vs full fine-tuning",
            f"{full['minilm']:.0f}x cheaper on all-MiniLM-L6-v2, {full['smollm2']:.0f}x on SmolLM2-135M",
        ],
        [
            f"`model.encode`, all-MiniLM-L6-v2, texts of {encode['min_tokens']}–{encode['max_tokens']} tokens",
            f"GLOT at {encode['glot_over_mean']:.2f}x of mean pooling's throughput",
        ],
        [
            "L = 8192, d = 2048, inference",
            f"B = 1: {long[1, 'dense']['peak_gib']:.1f} GiB peak RSS, {long[1, 'dense']['seconds']:.0f} s; "
            f'B = 4: {long[4, "auto"]["peak_gib"]:.1f} GiB with `backend="auto"` (groups of '
            f"{long[4, 'auto']['group']} sequence)",
        ],
    ]
    return table(["what", "result"], rows)


@section("compile-summary", PERFORMANCE_PAGE, performance.COMPILE)
def readme_compile(src: Sources) -> str:
    payload = src.json(performance.COMPILE)
    rows = payload["rows"]
    by_mask = {mask: [r["speedup"] for r in rows if r["mask"] == mask] for mask in performance.MASKS}
    lengths = sorted({r["L"] for r in rows})
    return paragraphs(
        f"On the development CPU, {performance.threads(payload['threads'])}, d = {payload['dim']}, "
        f"B = {payload['batch_size']}, L = {lengths[0]}–{lengths[-1]}, the first call took "
        f"{payload['compile_s']:.0f} s and the compiled pooler ran at "
        f"{performance.span([r['speedup'] for r in rows])} eager's speed: {performance.span(by_mask['full'])} on "
        f"full batches, {performance.span(by_mask['mixed'])} on batches of mixed lengths, which eager packs "
        f"(`benchmarks/bench_compile.py`; [every row]({src.link(COSTS_PAGE + '#compiled-pooler-torchcompile')}))."
    )


@section("backends-summary", PERFORMANCE_PAGE, performance.BACKENDS)
def readme_backends(src: Sources) -> str:
    payload = src.json(performance.BACKENDS)
    speed = {r["backend"]: r["speedup"] for r in payload["rows"]}
    versions = payload["versions"]
    return paragraphs(
        f"On the development CPU, {performance.threads(payload['threads'])}, `encode` of {payload['count']} texts "
        f"ran at {performance.times(speed['openvino'])} torch's speed with OpenVINO "
        f"(`benchmarks/bench_backends.py`, with transformers {versions['transformers']} and optimum-intel "
        f"{versions['optimum-intel']}; [the run]({src.link(COSTS_PAGE + '#onnx-and-openvino')}))."
    )


@section("compare-decoder", (README, COMPARE), gen.SMOL, gen.SMOL_ANCHOR, gen.SMOL_PROBE)
def readme_compare_decoder(src: Sources) -> str:
    trained = src.generalisation(gen.SMOL)
    glot = src.generalisation(gen.SMOL_ANCHOR)["glot"]
    probe = src.json(gen.SMOL_PROBE)["rows"]
    others = {
        "AdaPool": trained["adapool"],
        "PromptEOL with a trained projection": trained["prompteol"],
        "mean with a trained projection": trained["mean"],
        "max with a trained projection": trained["max"],
        "the untrained prompt": trained["prompteol (untrained)"],
    }

    def margin(column: str) -> str:
        value, best = lead(glot[column], {k: v[column] for k, v in others.items()})
        return f"{signed(value, 1)} over {best}, the best other"

    return paragraphs(
        "**On a frozen decoder** (SmolLM2-135M reading PromptEOL's template; GLOT with the prompt's last token as "
        "its anchor, the default for decoders), trained on STS-B with the paper's recipe (three seeds), GLOT scores "
        f"{cell(glot['stsb'], 1)} Spearman on STS-B dev against {cell(trained['adapool']['stsb'], 1)} for AdaPool, "
        f"{cell(trained['prompteol']['stsb'], 1)} for PromptEOL's last token with the same trained projection and "
        f"{cell(trained['prompteol (untrained)']['stsb'], 1)} for the untrained prompt; "
        f"{cell(glot['mrpc-zero-shot'], 1)} ROC-AUC on zero-shot MRPC ({margin('mrpc-zero-shot')}); and after MNRL "
        f"training {cell(glot['mnrl:banking77'], 1)} accuracy on Banking77 ({margin('mnrl:banking77')}). Trained on "
        f"two of STS-B's genres and scored on the third, it averages {cell(glot['logo:avg'], 1)}, against "
        f"{cell(trained['prompteol (untrained)']['logo:avg'], 1)} for the untrained prompt and "
        f"{num(probe['prompteol (untrained), standardised']['logo:avg'], 1)} for the same prompt standardised with "
        "the training texts' statistics (`benchmarks/probes.sh anchor-smollm2`): when your data may shift, check with "
        "`st-glot generalisation` first."
    )


SMOL_COLUMNS = {"stsb": 1, "sst2": 4, "mrpc": 2, "cola": 0}
TASK_NAMES = {"cola": "CoLA MCC", "stsb": "STS-B", "mrpc": "MRPC F1", "sst2": "SST-2"}


@section(
    "compare-glue",
    COMPARE,
    *glue.SMOL.values(),
    *glue.SMOL_ANCHOR.values(),
    glue.SST2_SAMPLE,
    glue.SST2_SAMPLE_ANCHOR,
    glue.COLA_WIDE,
    glue.COLA_PROBES["SmolLM2-135M (templated)"],
    *glue.MINILM.values(),
    gen.MINILM,
)
def readme_compare_glue(src: Sources) -> str:
    smol = glue.smollm2_rows()
    parts = []
    for task, column in SMOL_COLUMNS.items():
        others = {row.label: glue.scores(src, row.columns[column]) for row in smol if row.other}
        value, best = lead(glue.scores(src, smol[0].columns[column]), {k: v for k, v in others.items() if v})
        where = " with a 10,000-row training sample and one seed" if task == "sst2" else ""
        parts.append(f"{signed(value, 1)} on {TASK_NAMES[task]}{where} (against {best.split(' (')[0]})")
    wide = [mean_std(v)[0] for v in src.glue(glue.COLA_WIDE)["cola"].values()]
    probe = next(
        r for r in src.json(glue.COLA_PROBES["SmolLM2-135M (templated)"])["rows"] if r["method"].startswith("mean")
    )
    minilm_glue = src.glue(*glue.MINILM.values())
    minilm = []
    for task in ("cola", "sst2", "stsb", "mrpc"):
        trained = {m: v for m, v in minilm_glue[task].items() if m != "glot" and "untrained" not in m}
        minilm.append(f"{TASK_NAMES[task]} {signed(lead(minilm_glue[task]['glot'], trained)[0], 1)}")
    minilm_gen = src.generalisation(gen.MINILM)
    for column, label in (
        ("logo:avg", "leave-one-genre-out average"),
        ("stsb", "STS-B dev"),
        ("mrpc-zero-shot", "zero-shot MRPC AUC"),
        ("mnrl:banking77", "Banking77 after MNRL"),
    ):
        others = {m: v[column] for m, v in minilm_gen.items() if m != "glot"}
        minilm.append(f"{label} {signed(lead(minilm_gen['glot'][column], others)[0], 1)}")
    return paragraphs(
        "On full-size GLUE with tuned learning rates, the default GLOT on SmolLM2-135M scores, against the best "
        f"other trained pooler: {', '.join(parts)} "
        f"([full-size GLUE]({src.link(GLUE + '#glue-at-full-size-smollm2-135m')})). On CoLA, with a wider tuning grid "
        f"the five trained poolers score {num(min(wide), 1)} to {num(max(wide), 1)} MCC, and a logistic regression on "
        f"untrained mean vectors {num(probe['dev_mcc'], 1)}; MRPC's linear head on `[z_a, z_b]` keeps every method "
        'near the F1 of always answering "paraphrase". On all-MiniLM-L6-v2, a model already trained for '
        "similarity, GLOT's mean minus the best other pooler's is: on GLUE (trained poolers) "
        f"{', '.join(minilm[:4])}; on the generalisation protocol (untrained poolings included) "
        f"{', '.join(minilm[4:])} ([GLUE]({src.link(GLUE + '#glue-at-full-size-all-minilm-l6-v2')}), "
        f"[generalisation]({src.link(GENERALISATION_PAGE + '#generalisation-all-minilm-l6-v2')}))."
    )
