"""Wall time and peak memory of the item_embedding pipeline, one kedro run per recipe.

    python benchmarks/item_embedding.py --project DIR [--recipes provided,concat_pca,...]

``DIR`` is a copy of the project whose ``synthetic`` and ``feature_engineering`` pipelines
have already run (e.g. ``kedro run --pipelines synthetic,feature_engineering --params
synthetic.preset=full``: ~1.5 min and ~8 GB, so it is not redone here). Each recipe is run
as ``/usr/bin/time -v kedro run --pipelines item_embedding --params
item_embedding.recipe=<recipe>`` in ``DIR``; the script prints wall time, peak RSS and
whether they meet the targets (2 minutes, 4 GB on 2 cores), with the load average before
and after each run (other jobs on the machine slow every figure).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

RECIPES = ("provided", "concat_pca", "per_modality_pca", "whitened", "co_click")
TARGET_S, TARGET_GB = 120.0, 4.0


def _time_v(stderr: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) from ``/usr/bin/time -v`` output."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if not wall or not rss:
        raise RuntimeError(f"no /usr/bin/time -v figures in:\n{stderr[-2000:]}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return seconds, int(rss.group(1)) / 1e6


def run_recipe(project: Path, recipe: str) -> dict[str, object]:
    """One ``kedro run --pipelines item_embedding`` under ``/usr/bin/time -v``."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true",
           "MPLBACKEND": "Agg"}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "kedro", "run", "--pipelines",
           "item_embedding", "--params", f"item_embedding.recipe={recipe}"]
    load_before = os.getloadavg()[0]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{recipe}: kedro run failed\n{done.stderr[-3000:]}")
    wall, gb = _time_v(done.stderr)
    return {"recipe": recipe, "wall_s": wall, "peak_gb": gb, "load_before": load_before,
            "load_after": os.getloadavg()[0]}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, required=True,
                        help="project copy whose synthetic + feature_engineering outputs exist")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    args = parser.parse_args(argv)
    items = args.project / "data/04_feature/item_features.npz"
    if not items.exists():
        parser.error(f"{items} missing: run synthetic and feature_engineering there first")
    print(f"# item_embedding, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, project {args.project}")
    print("| recipe | wall | peak RSS | ≤ 2 min and ≤ 4 GB | load avg before → after |")
    print("|---|---|---|---|---|")
    for recipe in args.recipes.split(","):
        r = run_recipe(args.project, recipe)
        met = "met" if r["wall_s"] <= TARGET_S and r["peak_gb"] <= TARGET_GB else "missed"
        print(f"| {recipe} | {r['wall_s']:.1f} s | {r['peak_gb']:.2f} GB | {met} | "
              f"{r['load_before']:.1f} → {r['load_after']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
