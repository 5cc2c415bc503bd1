"""Collaborative signal across worlds: the default model with and without the collaborative
statistics (and with history ids), LightGBM with and without them, the oracle ceilings.

    python benchmarks/collaborative.py --world cocons --variants nocollab,default,history_ids --tree --seeds 3

Each world (:data:`accuracy.WORLDS`) goes through the stages' nodes in this process:
synthetic → feature engineering → collaborative factors → similarity statistics; the test
AUC (hidden test labels) is printed per variant as mean ± std (population) over the seeds.
``--cache DIR`` keeps each world's arrays between calls.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy as acc  # noqa: E402

from mmctr.config import deep_merge, from_params  # noqa: E402
from mmctr.engine.baselines import TreeConfig, fit_tree, predict_tree  # noqa: E402
from mmctr.engine.fit import fit, model_vocab, resolve_training  # noqa: E402
from mmctr.engine.metrics import auc  # noqa: E402
from mmctr.engine.scoring import score  # noqa: E402

#: variant -> overrides of params:training
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "nocollab": {"model": {"collab_input": False}},
    "history_ids": {"model": {"history_ids": {}}},
    "history_ids_without_factors": {"model": {"history_ids": {"factors": False}}},
    "embedding_l2": {"embedding_l2": 1.0e-6},
    "embedding_lr": {"embedding_learning_rate": 5.0e-4},
    "plateau": {"plateau_factor": 0.3, "plateau_restore": True},
}


def run_model(data: dict[str, Any], training: dict[str, Any], seed: int) -> dict[str, float]:
    name, model_params, cfg = resolve_training(training)
    cfg = dataclasses.replace(cfg, seed=seed, checkpoint_dir=None, progress=False)
    sources = {"item_features": data["items"], "item_semantics": data["semantics"]}
    vocab = model_vocab(data["vocab"], None, data["train_similarity"], data["items"])
    vocab["collab_dim"] = int(data["semantics"]["collab"].shape[1])
    artifact = fit(name, model_params, cfg, data["train"], data["valid"], sources, vocab)
    prob = score(artifact, data["test_features"], data["test_similarity"], sources,
                 batch_size=cfg.eval_batch_size, device=cfg.device, progress=False)
    return {"test": auc(data["test_labels"], prob), "seconds": artifact["train_seconds"]}


def run_tree(data: dict[str, Any], params: dict[str, Any], seed: int, collab: bool) -> float:
    cfg = from_params(TreeConfig, {**params, "seed": seed}, "params:ablation.lightgbm")

    def rows(split: str) -> dict[str, np.ndarray]:
        return {k: v for k, v in data[split].items() if collab or k != "collab_stats"}

    fitted = fit_tree(cfg, rows("train"), rows("valid"))
    return auc(data["test_labels"], predict_tree(fitted, rows("test")))


def _world(params: dict[str, Any], name: str, cache: str | None) -> dict[str, Any]:
    path = Path(cache) / f"{name}.pkl" if cache else None
    if path is not None and path.exists():
        return pickle.loads(path.read_bytes())
    data = acc.build_world(params, acc.WORLDS[name])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(data))
    return data


def _line(label: str, values: list[float]) -> str:
    return f"  {label}: test AUC {np.mean(values):.4f} ± {np.std(values):.4f} ({len(values)} seeds)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="default", choices=list(acc.WORLDS))
    parser.add_argument("--variants", default="nocollab,default")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tree", action="store_true")
    parser.add_argument("--cache", default=None)
    args = parser.parse_args(argv)
    params = acc.load_parameters()
    start = time.perf_counter()
    data = _world(params, args.world, args.cache)
    oracle = data["oracle"]
    print(f"world {args.world}: oracle {oracle['test_auc']:.4f}, content ceiling "
          f"{oracle['test_content_auc']:.4f}, with co-consumption "
          f"{oracle['test_co_consumption_auc']:.4f} ({time.perf_counter() - start:.0f}s)")
    seeds = [int(params["training"].get("seed", 20242025)) + i for i in range(args.seeds)]
    if args.tree:
        tree = params["ablation"].get("lightgbm", {})
        for collab in (False, True):
            values = [run_tree(data, tree, s, collab) for s in seeds]
            print(_line(f"lightgbm{' + collab_stats' if collab else ''}", values), flush=True)
    for variant in args.variants.split(","):
        training = deep_merge(params["training"], VARIANTS[variant])
        values = [run_model(data, training, s)["test"] for s in seeds]
        print(_line(variant, values), flush=True)


if __name__ == "__main__":
    main()
