"""Accuracy across synthetic worlds: the default model against the tree baseline and the oracle.

    python benchmarks/accuracy.py                          # small, medium, full; writes accuracy.md
    python benchmarks/accuracy.py --worlds small,medium    # some worlds (prints, writes nothing)
    python benchmarks/accuracy.py --worlds small --set model.dense_input=false

Each world is a different draw of the synthetic generator: its own seed, size preset and click
model weights (:data:`WORLDS`), so the default configuration is measured away from the one
world `kedro run` makes. For each world the script runs the project's own stages in this
process (synthetic → feature engineering → similarity statistics), then trains

- the default ``training`` configuration of ``conf/base`` (``--set key=value`` overrides
  single keys, e.g. ``model.min_item_count=0``), once per seed;
- the LightGBM baseline of the ablation (``conf/base/parameters_ablation.yml``), once per seed;

and prints one table: test AUC (mean ± std over seeds; the generator's hidden test labels),
the baseline's, the oracle's (true click probabilities), the content ceiling (the oracle
without the generator's hidden per-item and per-user offsets, which only ids reveal), the
gaps, training time. The
real-scale world trains for one epoch (every row seen once), the others to early stopping.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import os
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mmctr.config import deep_merge, from_params  # noqa: E402
from mmctr.data.kernels import l2_normalise  # noqa: E402
from mmctr.engine.baselines import TreeConfig, fit_tree, predict_tree  # noqa: E402
from mmctr.engine.batching import merge_rows  # noqa: E402
from mmctr.engine.fit import fit, model_vocab, resolve_training  # noqa: E402
from mmctr.engine.metrics import auc  # noqa: E402
from mmctr.engine.scoring import score  # noqa: E402
from mmctr.pipelines.collaborative.nodes import learn_item_factors  # noqa: E402
from mmctr.pipelines.feature_engineering.nodes import build_features  # noqa: E402
from mmctr.pipelines.semantic_similarity.nodes import (  # noqa: E402
    item_popularity,
    normalise_embeddings,
    split_similarity,
)
from mmctr.pipelines.synthetic.nodes import (  # noqa: E402
    item_info,
    make_world,
    oracle_report,
    test_split,
    train_split,
    valid_split,
)

#: co-consumption off: a world where the click depends on content, levels and ids only
CONTENT = {"group_prob": 0.0, "w_group": 0.0}
#: world name -> synthetic overrides: size preset, seed and click-model weights differ
WORLDS: dict[str, dict[str, Any]] = {
    # ~10K train rows; tags and the user matter more, the item effect less
    "small": {"preset": "small", "seed": 101, "w_semantic": 3.0, "w_tags": 3.0,
              "w_item": 0.5, "w_user": 0.6, "recency_decay": 2.5, **CONTENT},
    # ~130K train rows; semantics dominate, slower recency decay, noisier embedding
    "medium": {"preset": "medium", "seed": 202, "w_semantic": 5.0, "w_tags": 1.0,
               "w_item": 1.0, "w_user": 0.4, "recency_decay": 6.0, "emb_noise": 0.5,
               **CONTENT},
    # ~130K train rows with strong co-consumption: larger groups, more of them per user
    "cocons": {"preset": "medium", "seed": 404, "group_prob": 0.45, "w_group": 8.0,
               "group_size": 40, "user_groups": 3, "w_semantic": 3.0},
    # the data `kedro run` makes (not in the default list: it is the world the defaults
    # were developed on)
    "default": {"preset": "default"},
    # the real sizes (3.6M train rows); one epoch
    "full": {"preset": "full", "seed": 303, "w_semantic": 4.0, "w_tags": 2.0,
             "w_item": 0.8, "w_user": 0.3, "drift_prob": 0.4, **CONTENT},
}
#: training overrides per world (a bounded budget at the real scale: one epoch)
WORLD_TRAINING: dict[str, dict[str, Any]] = {"full": {"epochs": 1}}


def load_parameters() -> dict[str, Any]:
    """``conf/base`` parameters (the defaults every world uses)."""
    params: dict[str, Any] = {}
    for path in sorted((ROOT / "conf" / "base").glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()) or {})
    return params


def build_world(params: Mapping[str, Any], world: Mapping[str, Any]) -> dict[str, Any]:
    """Generate one world and run feature engineering and the similarity statistics.

    Returns:
        ``train``/``valid``/``test`` rows (features merged with similarity arrays),
        ``items``, ``vocab``, ``test_truth`` (labels in test row order), ``oracle``.
    """
    synthetic = deep_merge(params["synthetic"], dict(world))
    w = make_world(synthetic)
    raw = {"items": item_info(w)}
    truth = {}
    for split, func in (("train", train_split), ("valid", valid_split), ("test", test_split)):
        raw[split], truth[split] = func(w)
    _, oracle = oracle_report(w, truth["train"], truth["valid"], truth["test"])
    del w
    feats = build_features(raw["train"], raw["valid"], raw["test"], raw["items"],
                           params["feature_engineering"])
    del raw
    gc.collect()
    emb = normalise_embeddings(feats["items"])
    pop = item_popularity(feats["train"], feats["vocab"])
    collab, _ = learn_item_factors(feats["train"], feats["vocab"], params["collaborative"])
    out: dict[str, Any] = {"items": feats["items"], "vocab": feats["vocab"], "oracle": oracle,
                           "test_labels": truth["test"]["label"],
                           "semantics": {"collab": l2_normalise(collab["factors"])}}
    for split in ("train", "valid", "test"):
        sim = split_similarity(feats[split], emb, params["semantic_similarity"],
                               feats["items"], pop, collab)
        out[f"{split}_similarity"] = sim
        out[f"{split}_features"] = feats[split]
        out[split] = merge_rows(feats[split], sim)
    return out


def run_model(data: Mapping[str, Any], training: Mapping[str, Any], seed: int) -> dict[str, float]:
    """Train the resolved ``training`` configuration with ``seed``; test AUC and time."""
    name, model_params, cfg = resolve_training(training)
    cfg = dataclasses.replace(cfg, seed=seed, checkpoint_dir=None, progress=False)
    sources = {"item_features": data["items"], "item_semantics": data["semantics"]}
    vocab = model_vocab(data["vocab"], None, data["train_similarity"], data["items"])
    vocab["collab_dim"] = int(data["semantics"]["collab"].shape[1])
    artifact = fit(name, model_params, cfg, data["train"], data["valid"], sources, vocab)
    test_p = score(artifact, data["test_features"], data["test_similarity"], sources,
                   batch_size=cfg.eval_batch_size, device=cfg.device, progress=False)
    epochs = len(artifact["history"])
    return {"test_auc": auc(data["test_labels"], test_p),
            "valid_auc": artifact["best_metric"]["valid_auc"],
            "seconds": artifact["train_seconds"], "epochs": epochs,
            "best_epoch": artifact["best_epoch"],
            "samples_per_s": float(np.mean([h["samples_per_s"] for h in artifact["history"]]))}


def run_tree(data: Mapping[str, Any], tree_params: Mapping[str, Any], seed: int) -> dict[str, float]:
    """The LightGBM baseline with ``seed``; test AUC and time."""
    cfg = from_params(TreeConfig, {**tree_params, "seed": seed}, "params:ablation.lightgbm")
    fitted = fit_tree(cfg, data["train"], data["valid"])
    return {"test_auc": auc(data["test_labels"], predict_tree(fitted, data["test"])),
            "seconds": fitted["train_seconds"]}


def _set(params: dict[str, Any], assignment: str) -> None:
    """Apply ``a.b.c=value`` (YAML-parsed value) to the ``training`` block."""
    key, _, value = assignment.partition("=")
    node = params
    *path, last = key.split(".")
    for part in path:
        node = node.setdefault(part, {})
    node[last] = yaml.safe_load(value)


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", default="small,medium,full", help=f"of {list(WORLDS)}")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per world (full: 1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of params:training (e.g. model.dense_input=false)")
    parser.add_argument("--no-tree", action="store_true")
    parser.add_argument("--output", default=None, help="markdown file (default: "
                        "benchmarks/accuracy.md when every world runs, else none)")
    args = parser.parse_args(argv)
    names = args.worlds.split(",")
    unknown = sorted(set(names) - set(WORLDS))
    if unknown:
        parser.error(f"unknown world(s) {unknown}; known: {list(WORLDS)}")
    params = load_parameters()
    training = dict(params["training"])
    for assignment in args.set:
        _set(training, assignment)
    tree_params = params["ablation"].get("lightgbm", {})
    base_seed = int(training.get("seed", 20242025))
    rows, started = [], time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        data = build_world(params, WORLDS[name])
        prep = time.perf_counter() - t0
        n_seeds = 1 if name == "full" else args.seeds
        seeds = [base_seed + i for i in range(n_seeds)]
        world_training = deep_merge(training, WORLD_TRAINING.get(name, {}))
        model = [run_model(data, world_training, s) for s in seeds]
        tree = [] if args.no_tree else [run_tree(data, tree_params, s) for s in seeds]
        oracle = data["oracle"]["test_auc"]
        m_auc = [r["test_auc"] for r in model]
        t_auc = [r["test_auc"] for r in tree]
        row = {
            "world": name, "train_rows": len(data["train"]["label"]),
            "test_rows": len(data["test_labels"]), "seeds": n_seeds,
            "model_test_auc": _mean_std(m_auc),
            "tree_test_auc": _mean_std(t_auc) if tree else "–",
            "oracle_test_auc": f"{oracle:.4f}",
            "content_ceiling": f"{data['oracle']['test_content_auc']:.4f}",
            "co_consumption_ceiling": f"{data['oracle']['test_co_consumption_auc']:.4f}",
            "model_minus_tree": f"{np.mean(m_auc) - np.mean(t_auc):+.4f}" if tree else "–",
            "gap_to_oracle": f"{oracle - np.mean(m_auc):.4f}",
            "model_valid_auc": _mean_std([r["valid_auc"] for r in model]),
            "epochs (best)": ", ".join(f"{r['epochs']} ({r['best_epoch']})" for r in model),
            "model_train_s": f"{np.mean([r['seconds'] for r in model]):.0f}",
            "model_samples_per_s": f"{np.mean([r['samples_per_s'] for r in model]):,.0f}",
            "tree_train_s": f"{np.mean([r['seconds'] for r in tree]):.1f}" if tree else "–",
            "data_prep_s": f"{prep:.0f}",
        }
        rows.append(row)
        print(" | ".join(f"{k}: {v}" for k, v in row.items()), flush=True)
        del data
        gc.collect()
    table = _markdown(rows)
    print(table)
    output = args.output or (str(ROOT / "benchmarks" / "accuracy.md")
                             if names == ["small", "medium", "full"] and not args.set else None)
    if output:
        given = list(argv if argv is not None else sys.argv[1:])
        shown = [a for i, a in enumerate(given) if not a.startswith("--output")
                 and not (i and given[i - 1] == "--output")]
        header = (f"# Accuracy across worlds\n\n`{' '.join(['python benchmarks/accuracy.py', *shown])}`, "
                  f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
                  f"{(time.perf_counter() - started) / 60:.1f} min, on {platform.machine()} "
                  f"with {os.cpu_count()} cores ({_cpu_name()}); load average at the end "
                  f"{os.getloadavg()[0]:.1f}.\n\nWorld knobs: "
                  + "; ".join(f"`{k}`: {v}" for k, v in WORLDS.items()) + "\n\n")
        Path(output).write_text(header + table)
        print(f"wrote {output}")


def _markdown(rows: list[dict[str, Any]]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _cpu_name() -> str:
    """The CPU model and whether it has native bf16 (AVX512-BF16, AMX), from /proc/cpuinfo."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                 if line.startswith("model name")), "unknown CPU")
    flags = next((set(line.split(":", 1)[1].split()) for line in info.splitlines()
                  if line.startswith("flags")), set())
    return (f"{name}; avx512_bf16 {'yes' if 'avx512_bf16' in flags else 'no'}, "
            f"AMX {'yes' if 'amx_bf16' in flags else 'no'}")


if __name__ == "__main__":
    main()
