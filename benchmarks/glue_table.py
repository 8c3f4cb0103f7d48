"""One Markdown table from several `st-glot glue` result folders (e.g. one per task), as in docs/benchmarks/glue.md.

Methods × tasks, mean ± std over seeds (×100), the paper's rows for the folders' ``--paper-backbone`` below, then
each method's chosen learning rate and epochs per task, and GLOT's margin over the best other trained method.

    python benchmarks/glue_table.py benchmarks/results/glue/smollm2-full-*
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from st_glot.evaluation.glue import format_table, summarise
from st_glot.evaluation.tuning import Tuning, format_tuning


def main(folders: list[str]) -> None:
    records, tunings, paper = [], {}, None
    for folder in folders:
        payload = json.loads((Path(folder) / "results.json").read_text(encoding="utf-8"))
        records += payload["records"]
        tunings.update({task: {m: Tuning(**t) for m, t in per.items()} for task, per in payload["tuning"].items()})
        paper = payload["settings"].get("paper_backbone") or paper
    print(format_table(records, paper))
    stats = summarise(records)
    tasks = list(dict.fromkeys(r["task"] for r in records))
    margins = []
    for task in tasks:
        others = [v[0] for (t, m), v in stats.items() if t == task and m != "glot" and "untrained" not in m]
        margins.append(f"{stats[(task, 'glot')][0] - max(others):+.2f}" if (task, "glot") in stats and others else "")
    print("| glot − best other trained | " + " | ".join(margins) + " |")
    seeds = sorted({r["seed"] for r in records if r["seed"] is not None})
    print(f"\nseeds: {seeds}\n")
    if tunings:
        print(format_tuning(tunings))


if __name__ == "__main__":
    main(sys.argv[1:])
