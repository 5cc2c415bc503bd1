"""Accuracy across synthetic worlds: the default model against the tree baseline and the oracle.

    python -m benchmarks.accuracy                          # small, medium, full; writes accuracy.md
    python -m benchmarks.accuracy --worlds small,medium    # some worlds (prints, writes nothing)
    python -m benchmarks.accuracy --worlds small --set model.dense_input=false

Each world is a different draw of the synthetic generator: its own seed, size preset and click
model weights (:data:`WORLDS`), so the default configuration is measured away from the one
world `kedro run` makes. Each world runs as `kedro run` does, in a temporary copy of the
project whose ``conf/local/parameters_world.yml`` holds the world's overrides (environments
soft-merge single keys):

1. ``kedro run --pipelines`` the data stages of the default chain (synthetic → feature
   engineering → item embedding → similarity statistics), once;
2. ``kedro run --pipelines`` the rest of the default chain (training → submission →
   evaluation) with ``--params training.seed=S``, once per seed: the default ``training``
   configuration of ``conf/base`` (``--set key=value`` overrides single keys of it);
3. ``kedro run --pipelines ablation`` with only its LightGBM variant (``ablation.seeds`` seeds);

then reads the catalog's outputs (``evaluation_metrics``, ``model``, ``synthetic_oracle``,
``ablation_table``) and prints one table: test AUC (mean ± std over seeds; the generator's
hidden test labels), the baseline's, the oracle's (true click probabilities), the content
ceiling (the oracle without the generator's hidden per-item and per-user offsets, which only
ids reveal), the gaps, training time. Every world trains to early stopping (the real-scale
one with one seed).

A new world is one entry of :data:`WORLDS`: a name and its ``synthetic`` overrides (and, if
it needs them, ``training`` overrides and a fixed number of seeds).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/accuracy.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import yaml

from benchmarks.common import (
    ROOT,
    command_line,
    copy_project,
    cpu_name,
    kedro_command,
    log,
    markdown_table,
    run_measured,
    utc_now,
)
from mmctr.pipeline_registry import DEFAULT_CHAIN


@dataclasses.dataclass(frozen=True)
class World:
    """One synthetic world: overrides of ``params:synthetic`` (and of ``params:training``)."""

    synthetic: Mapping[str, Any]
    training: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    seeds: int | None = None  # None: --seeds


#: co-consumption off: a world where the click depends on content, levels and ids only
CONTENT = {"group_prob": 0.0, "w_group": 0.0}

#: world name -> its overrides: size preset, seed and click-model weights differ
WORLDS: dict[str, World] = {
    # ~10K train rows; tags and the user matter more, the item effect less
    "small": World({"preset": "small", "seed": 101, "w_semantic": 3.0, "w_tags": 3.0,
                    "w_item": 0.5, "w_user": 0.6, "recency_decay": 2.5, **CONTENT}),
    # ~130K train rows; semantics dominate, slower recency decay, noisier embedding
    "medium": World({"preset": "medium", "seed": 202, "w_semantic": 5.0, "w_tags": 1.0,
                     "w_item": 1.0, "w_user": 0.4, "recency_decay": 6.0, "emb_noise": 0.5,
                     **CONTENT}),
    # ~130K train rows with strong co-consumption: larger groups, more of them per user
    "cocons": World({"preset": "medium", "seed": 404, "group_prob": 0.45, "w_group": 8.0,
                     "group_size": 40, "user_groups": 3, "w_semantic": 3.0}),
    # the data `kedro run` makes (not in the default list: it is the world the defaults
    # were developed on)
    "default": World({"preset": "default"}),
    # the real sizes (3.6M train rows); one seed, early stopping as configured (the
    # second pass over 3.6M rows loses valid AUC: stop_drop ends training there)
    "full": World({"preset": "full", "seed": 303, "w_semantic": 4.0, "w_tags": 2.0,
                   "w_item": 0.8, "w_user": 0.3, "drift_prob": 0.4, **CONTENT}, seeds=1),
}
#: the worlds of a plain run (the ones accuracy.md reports)
DEFAULT_WORLDS = ("small", "medium", "cocons", "full")
#: the default chain split where training starts: data stages once, the rest once per seed
DATA_STAGES = DEFAULT_CHAIN[:DEFAULT_CHAIN.index("training")]
MODEL_STAGES = DEFAULT_CHAIN[DEFAULT_CHAIN.index("training"):]
TREE_VARIANT = "lightgbm"


# ---------------------------------------------------------------- running the project
def _kedro(project: Path, name: str, *args: str) -> dict[str, Any]:
    """``kedro run ARGS`` in ``project`` (log in ``project/<name>.log``); fails loudly."""
    logfile = project / f"{name}.log"
    run = run_measured(kedro_command(*args), project, logfile)
    if run["rc"] != 0:
        raise RuntimeError(f"{name}: kedro run {' '.join(args)} failed:\n{logfile.read_text()[-3000:]}")
    log(f"{name}: {run['wall_s']:.0f}s, peak {run['peak_gb']:.2f} GB")
    return run


def _load(project: Path, *names: str) -> dict[str, Any]:
    """The latest saved ``names`` from ``project``'s catalog."""
    from kedro.framework.project import settings
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with settings.SESSION_CLASS.create(project_path=project) as session:
        catalog = session.load_context().catalog
        return {name: catalog.load(name) for name in names}


def world_parameters(world: World, training: Mapping[str, Any], seeds: int) -> dict[str, Any]:
    """The ``conf/local`` parameters of ``world``: its overrides, ``training`` overrides
    (the world's, then ``--set``'s) and the tree baseline alone with ``seeds`` seeds."""
    return {"synthetic": dict(world.synthetic),
            "training": _merge(dict(world.training), training),
            "ablation": {"run": [TREE_VARIANT], "seeds": seeds}}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        base[key] = _merge(dict(base.get(key) or {}), value) if isinstance(value, Mapping) else value
    return base


def run_world(world: World, training: Mapping[str, Any], seeds: Sequence[int],
              tree: bool) -> dict[str, Any]:
    """Run ``world`` through the project's stages in a temporary copy; what the table needs."""
    project = copy_project(Path(tempfile.mkdtemp(prefix="mmctr-accuracy-")))
    try:
        params = world_parameters(world, training, len(seeds))
        (project / "conf" / "local" / "parameters_world.yml").write_text(yaml.safe_dump(params))
        prep = _kedro(project, "data", "--pipelines", ",".join(DATA_STAGES))
        models = []
        for seed in seeds:
            _kedro(project, f"model_seed_{seed}", "--pipelines", ",".join(MODEL_STAGES),
                   "--params", f"training.seed={seed}")
            models.append(model_result(**_load(project, "evaluation_metrics", "model",
                                               "training_history")))
        data = _load(project, "synthetic_oracle", "params:synthetic")
        synthetic = data["params:synthetic"]
        out = {"prep_s": prep["wall_s"], "models": models, "oracle": data["synthetic_oracle"],
               "train_rows": synthetic["presets"][synthetic["preset"]]["n_train"], "tree": None}
        if tree:
            _kedro(project, "tree", "--pipelines", "ablation")
            out["tree"] = _load(project, "ablation_table")["ablation_table"].set_index("variant").loc[TREE_VARIANT]
        return out
    finally:
        shutil.rmtree(project, ignore_errors=True)


def model_result(evaluation_metrics: Mapping[str, Any], model: Mapping[str, Any],
                 training_history: Any = None) -> dict[str, Any]:
    """One seed's figures from the evaluation metrics, the saved model and its history."""
    m = evaluation_metrics
    history = [] if training_history is None else list(training_history["valid_auc"])
    return {"test_auc": m["test_auc"], "valid_auc": m["best_valid_auc"], "rows": m["test_rows"],
            "epochs": m["epochs_trained"], "best_epoch": m["best_epoch"],
            "samples_per_s": m["mean_samples_per_s"], "seconds": model["train_seconds"],
            "valid_by_epoch": history}


# ---------------------------------------------------------------- the table
def _mean_std(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def table_row(name: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The world's row of the table."""
    model, tree, oracle = result["models"], result["tree"], result["oracle"]
    m_auc = [r["test_auc"] for r in model]
    return {
        "world": name, "train_rows": result["train_rows"], "test_rows": model[0]["rows"],
        "seeds": len(model),
        "model_test_auc": _mean_std(m_auc),
        "tree_test_auc": "–" if tree is None else _mean_std_of(tree),
        "oracle_test_auc": f"{oracle['test_auc']:.4f}",
        "content_ceiling": f"{oracle['test_content_auc']:.4f}",
        "co_consumption_ceiling": f"{oracle.get('test_co_consumption_auc', float('nan')):.4f}",
        "model_minus_tree": "–" if tree is None else f"{np.mean(m_auc) - tree['test_auc']:+.4f}",
        "gap_to_oracle": f"{oracle['test_auc'] - np.mean(m_auc):.4f}",
        "model_valid_auc": _mean_std([r["valid_auc"] for r in model]),
        "epochs (best)": ", ".join(f"{r['epochs']} ({r['best_epoch']})" for r in model),
        "valid_auc_by_epoch (seed 1)": " → ".join(f"{a:.4f}" for a in model[0]["valid_by_epoch"]),
        "model_train_s": f"{np.mean([r['seconds'] for r in model]):.0f}",
        "model_samples_per_s": f"{np.mean([r['samples_per_s'] for r in model]):,.0f}",
        "tree_train_s": "–" if tree is None else f"{tree['train_seconds']:.1f}",
        "data_prep_s": f"{result['prep_s']:.0f}",
    }


def _mean_std_of(tree: Mapping[str, Any]) -> str:
    std = tree.get("test_auc_std")
    if std is None or not np.isfinite(std):
        return f"{tree['test_auc']:.4f}"
    return f"{tree['test_auc']:.4f} ± {std:.4f}"


def report(rows: Sequence[Mapping[str, Any]], names: Sequence[str], command: str, minutes: float) -> str:
    """accuracy.md: the command, machine and date, the worlds' knobs, then the table."""
    knobs = "; ".join(f"`{n}`: {dict(WORLDS[n].synthetic)}"
                      + (f", training {dict(WORLDS[n].training)}" if WORLDS[n].training else "")
                      for n in names)
    return (f"# Accuracy across worlds\n\n`{command}`, {utc_now()} UTC, {minutes:.1f} min, on "
            f"{os.cpu_count()} cores ({cpu_name()}); load average at the end "
            f"{os.getloadavg()[0]:.1f}. Each world: `kedro run` of the default chain in a "
            f"temporary project copy (data stages once, then training → submission → "
            f"evaluation per seed), the LightGBM baseline through `kedro run --pipelines "
            f"ablation`.\n\nWorld knobs: {knobs}\n\n"
            + "\n".join(markdown_table(list(rows[0]), [list(r.values()) for r in rows])))


# ---------------------------------------------------------------- command line
def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__.split("\n\n")[0])
    out.add_argument("--worlds", default=",".join(DEFAULT_WORLDS), help=f"of {list(WORLDS)}")
    out.add_argument("--seeds", type=int, default=3, help="seeds per world (full: 1)")
    out.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a key of params:training (e.g. model.dense_input=false)")
    out.add_argument("--no-tree", action="store_true")
    out.add_argument("--output", default=None, help="markdown file (default: "
                     "benchmarks/accuracy.md when the default worlds run, else none)")
    return out


def training_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """``a.b.c=value`` (YAML-parsed value) as nested ``params:training`` overrides."""
    out: dict[str, Any] = {}
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        node = out
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    return out


def _shown(argv: Sequence[str]) -> list[str]:
    """The command-line arguments without ``--output``."""
    return [a for i, a in enumerate(argv) if not a.startswith("--output")
            and not (i and argv[i - 1] == "--output")]


def main(argv: Sequence[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    names = args.worlds.split(",")
    unknown = sorted(set(names) - set(WORLDS))
    if unknown:
        cli.error(f"unknown world(s) {unknown}; known: {list(WORLDS)}")
    training = training_overrides(args.set)
    base_seed = int(yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())
                    ["training"].get("seed", 20242025))
    rows, started = [], time.perf_counter()
    for name in names:
        world = WORLDS[name]
        seeds = [base_seed + i for i in range(world.seeds or args.seeds)]
        result = run_world(world, training, seeds, tree=not args.no_tree)
        rows.append(table_row(name, result))
        print(" | ".join(f"{k}: {v}" for k, v in rows[-1].items()), flush=True)
    given = list(sys.argv[1:] if argv is None else argv)
    text = report(rows, names, command_line("benchmarks.accuracy", _shown(given)),
                  (time.perf_counter() - started) / 60)
    print(text)
    output = args.output or (str(ROOT / "benchmarks" / "accuracy.md")
                             if tuple(names) == DEFAULT_WORLDS and not args.set else None)
    if output:
        Path(output).write_text(text)
        log(f"wrote {output}")


if __name__ == "__main__":
    main()
