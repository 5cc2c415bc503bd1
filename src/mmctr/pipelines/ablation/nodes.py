"""Ablation: every variant trained on the same data, seed and budget, then compared.

A variant is a set of overrides on top of the resolved ``params:training``:
``model`` is merged key by key into the base model's parameters (or replaces
them when ``model_reset: true``, e.g. for DIN whose parameters differ), and any
other key overrides the training configuration (``bf16``, ``compile`` ...).
A variant ``{baseline: lightgbm}`` or ``{baseline: popularity}`` is a non-neural
baseline instead (:mod:`mmctr.engine.baselines`), measured the same way.

Every variant runs with ``seeds`` seeds (the training seed, +1, +2, ...); the table
reports the mean and the standard deviation of valid and test AUC, so a difference
can be read against the seed noise.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmctr import tracking
from mmctr.config import deep_merge, from_params
from mmctr.engine.baselines import (
    PopularityConfig,
    TreeConfig,
    fit_popularity,
    fit_tree,
    predict_tree,
)
from mmctr.engine.batching import merge_rows
from mmctr.engine.fit import fit, model_vocab, resolve_training
from mmctr.engine.metrics import auc, grouped_auc, logloss
from mmctr.engine.precision import native_bf16
from mmctr.engine.scoring import score
from mmctr.engine.trainer import resolve_device
from mmctr.pipelines.ablation.embedding_variants import VARIANT_KEY

logger = logging.getLogger(__name__)

#: ``baseline`` names a variant may take
BASELINES = ("lightgbm", "popularity")

__all__ = [
    "ablation_plot",
    "ablation_table_markdown",
    "run_ablation",
    "selected_variants",
    "variant_config",
]


def variant_config(
    training: Mapping[str, Any], budget: Mapping[str, Any], variant: Mapping[str, Any]
):
    """(model name, model params, TrainConfig) of one variant.

    Args:
        training: the ``training`` parameter block (its preset is the base).
        budget: training-config overrides shared by every variant (epochs ...).
        variant: this variant's overrides.
    """
    name, model_params, cfg = resolve_training(training)
    variant = dict(variant)
    variant.pop(VARIANT_KEY, None)  # an item-embedding recipe: see embedding_variants
    model_over = dict(variant.pop("model", {}))
    if variant.pop("model_reset", False):
        model_params = {}
    model_params = deep_merge(model_params, model_over)
    name = model_params.pop("name", name)
    cfg = dataclasses.replace(cfg, **{**dict(budget), **variant})
    return name, model_params, cfg


def run_ablation(
    train_features: dict[str, np.ndarray],
    train_similarity: dict[str, np.ndarray],
    valid_features: dict[str, np.ndarray],
    valid_similarity: dict[str, np.ndarray],
    test_features: dict[str, np.ndarray],
    test_similarity: dict[str, np.ndarray],
    item_features: dict[str, np.ndarray],
    item_semantics: dict[str, np.ndarray],
    vocab: dict[str, int],
    synthetic_truth: pd.DataFrame | None,
    training: dict[str, Any],
    params: dict[str, Any],
    item_tables: Mapping[str, dict[str, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Train every variant of ``params["variants"]`` with ``params["seeds"]`` seeds.

    ``item_tables`` (variant → item table) replaces the item table of the variants that
    name an item-embedding recipe (:mod:`.embedding_variants`).

    Returns:
        One row per variant: mean (and standard deviation over seeds) of valid AUC and
        test AUC, valid logloss / gAUC, the oracle AUCs when hidden labels exist,
        trainable parameters, training time and throughput.
    """
    sources = {"item_features": item_features, "item_semantics": item_semantics}
    full_vocab = model_vocab(vocab, item_semantics, train_similarity, item_features)
    item_tables = item_tables or {}
    train_rows = merge_rows(train_features, train_similarity)
    valid_rows = merge_rows(valid_features, valid_similarity)
    test_rows = merge_rows(test_features, test_similarity)
    truth = _test_truth(synthetic_truth)
    n_seeds = int(params.get("seeds", 1))
    if n_seeds < 1:
        raise ValueError(f"params:ablation.seeds must be ≥ 1, got {n_seeds}")
    rows = []
    variants = params["variants"]
    selected = selected_variants(params.get("run"), variants)  # envs soft-merge variants
    unknown = sorted(set(selected) - set(variants))
    if unknown:
        raise ValueError(f"params:ablation.run: unknown variant(s) {unknown}; known: {list(variants)}")
    variants = {name: variants[name] for name in selected}
    for i, (variant, overrides) in enumerate(variants.items(), start=1):
        overrides = dict(overrides or {})
        baseline = overrides.pop("baseline", None)
        if baseline is not None:
            logger.info("ablation %d/%d: %s (baseline)", i, len(variants), variant)
            runs = _baseline_runs(baseline, train_rows, valid_rows, test_rows, truth,
                                  full_vocab, params, resolve_training(training)[2].seed,
                                  n_seeds)
            rows.append(_summarise(variant, baseline, runs))
            tracking.record_child_run(f"ablation/{variant}", {"variant": variant,
                                      "baseline": baseline, "seeds": len(runs)}, None, rows[-1])
            continue
        name, model_params, cfg = variant_config(training, params.get("budget", {}), overrides)
        logger.info("ablation %d/%d: %s (%s), %d seed(s)", i, len(variants), variant, name,
                    n_seeds)
        if cfg.bf16 is True and not native_bf16(resolve_device(cfg.device)):
            logger.warning("ablation: skipping %s (no native bf16 on this machine)", variant)
            rows.append({"variant": variant, "model": name,
                         "note": "skipped: no native bf16 on this machine (emulated: see benchmarks/results.md)"})
            continue
        v_sources, v_vocab = sources, full_vocab
        if variant in item_tables:  # this variant's item-embedding recipe
            v_sources = {**sources, "item_features": item_tables[variant]}
            v_vocab = model_vocab(vocab, item_semantics, train_similarity, item_tables[variant])
        runs = []
        for k in range(n_seeds):
            seeded = dataclasses.replace(cfg, seed=cfg.seed + k)
            artifact = fit(name, model_params, seeded, train_rows, valid_rows, v_sources,
                           v_vocab)
            score_args = dict(item_sources=v_sources, batch_size=cfg.eval_batch_size,
                              device=cfg.device, bf16=cfg.bf16, progress=False)
            valid_p = score(artifact, valid_features, valid_similarity, **score_args)
            test_p = (score(artifact, test_features, test_similarity, **score_args)
                      if truth is not None else None)
            run = _metrics(valid_features, valid_p, truth, test_p)
            run.update({
                "trainable_parameters": artifact["trainable_parameters"],
                "train_seconds": artifact["train_seconds"],
                "samples_per_s": float(np.mean([h["samples_per_s"] for h in artifact["history"]])),
                "best_epoch": artifact["best_epoch"],
            })
            runs.append(run)
        rows.append(_summarise(variant, name, runs))
        tracking.record_child_run(  # a run nested under this command's, when tracked
            f"ablation/{variant}", {"variant": variant, "model.name": name, "seeds": n_seeds,
                                     **{f"model.{k}": v for k, v in model_params.items()}},
            {"training": tracking.recorded_training(name, model_params, dataclasses.asdict(cfg))},
            rows[-1])
    table = pd.DataFrame(rows)
    if synthetic_truth is not None:
        for split in ("valid", "test"):
            part = synthetic_truth[synthetic_truth["split"] == split]
            table[f"oracle_{split}_auc"] = auc(part["label"], part["prob"])
    return table


def selected_variants(run: Any, variants: Mapping[str, Any]) -> list[str]:
    """The variants ``params:ablation.run`` names: a list, one name, or ``all`` / null for
    every variant in ``variants``."""
    if run is None or run == "all":
        return list(variants)
    return [run] if isinstance(run, str) else list(run)


def _metrics(
    valid_features: Mapping[str, np.ndarray],
    valid_p: np.ndarray,
    truth: pd.DataFrame | None,
    test_p: np.ndarray | None,
) -> dict[str, float]:
    """Valid AUC / logloss / user-grouped AUC, and test AUC where hidden labels exist."""
    out = {
        "valid_auc": auc(valid_features["label"], valid_p),
        "valid_logloss": logloss(valid_features["label"], valid_p),
        "valid_gauc": grouped_auc(valid_features["label"], valid_p, valid_features["user_id"]),
        "test_auc": np.nan,
    }
    if truth is not None and test_p is not None:
        out["test_auc"] = auc(truth["label"], test_p[truth["row"]])
    return out


def _baseline_runs(
    baseline: str,
    train_rows: Mapping[str, np.ndarray],
    valid_rows: Mapping[str, np.ndarray],
    test_rows: Mapping[str, np.ndarray],
    truth: pd.DataFrame | None,
    vocab: Mapping[str, int],
    params: Mapping[str, Any],
    seed: int,
    n_seeds: int,
) -> list[dict[str, float]]:
    """Fit and measure a non-neural baseline (LightGBM once per seed; popularity once:
    it has no randomness)."""
    if baseline not in BASELINES:
        raise ValueError(f"params:ablation: unknown baseline {baseline!r}; known: {BASELINES}")
    runs = []
    if baseline == "popularity":
        cfg = from_params(PopularityConfig, params.get("popularity"), "params:ablation.popularity")
        start = time.perf_counter()
        table = fit_popularity(cfg, train_rows, int(vocab["item"]))
        seconds = time.perf_counter() - start
        run = _metrics(valid_rows, table[valid_rows["item_id"]], truth,
                       table[test_rows["item_id"]])
        return [{**run, "train_seconds": seconds}]
    for k in range(n_seeds):
        cfg = from_params(TreeConfig, {**dict(params.get("lightgbm") or {}), "seed": seed + k},
                          "params:ablation.lightgbm")
        fitted = fit_tree(cfg, train_rows, valid_rows)
        run = _metrics(valid_rows, predict_tree(fitted, valid_rows), truth,
                       predict_tree(fitted, test_rows) if truth is not None else None)
        runs.append({**run, "train_seconds": fitted["train_seconds"],
                     "note": f"{fitted['best_iteration']} trees"})
    return runs


def _summarise(variant: str, model: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One table row: means over the seeds' runs, and the spread of the AUCs."""
    def mean(key: str) -> float:
        values = [r[key] for r in runs if key in r]
        return float(np.mean(values)) if values else np.nan

    def std(key: str) -> float:
        values = [r[key] for r in runs]
        return float(np.std(values, ddof=1)) if len(values) > 1 else np.nan

    notes = sorted({r["note"] for r in runs if r.get("note")})
    return {
        "variant": variant,
        "model": model,
        "seeds": len(runs),
        "valid_auc": mean("valid_auc"),
        "valid_auc_std": std("valid_auc"),
        "test_auc": mean("test_auc"),
        "test_auc_std": std("test_auc"),
        "valid_logloss": mean("valid_logloss"),
        "valid_gauc": mean("valid_gauc"),
        "trainable_parameters": mean("trainable_parameters"),
        "train_seconds": mean("train_seconds"),
        "samples_per_s": mean("samples_per_s"),
        "best_epoch": mean("best_epoch"),
        "note": "; ".join(notes),
    }


def _test_truth(truth: pd.DataFrame | None) -> pd.DataFrame | None:
    if truth is None:
        return None
    test = truth[truth["split"] == "test"].sort_values("row")
    return test if len(test) else None


def ablation_table_markdown(table: pd.DataFrame) -> str:
    """The ablation table as GitHub markdown (AUCs to 4 decimals)."""
    shown = table.copy()
    for col in shown.columns:
        if "auc" in col or "logloss" in col:
            shown[col] = shown[col].map(lambda v: "–" if pd.isna(v) else f"{v:.4f}")
    formats = {"trainable_parameters": "{:,.0f}", "train_seconds": "{:.1f}",
               "samples_per_s": "{:,.0f}", "best_epoch": "{:.1f}", "seeds": "{:.0f}"}
    for col, fmt in formats.items():
        if col not in shown:
            continue
        shown[col] = shown[col].map(lambda v, f=fmt: "–" if pd.isna(v) else f.format(v))
    shown["note"] = shown["note"].astype(object).fillna("")  # all-NaN notes: float64
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def ablation_plot(table: pd.DataFrame) -> Figure:
    """Horizontal bars of valid (and test) AUC per variant (mean over seeds, with the
    standard deviation as an error bar), valid AUC written at each bar, the oracle as a
    line; skipped variants keep their row, marked "(skipped)"."""
    fig = Figure(figsize=(7.5, 0.45 * len(table) + 1.5))  # no pyplot: no global state
    ax = fig.subplots()
    y = np.arange(len(table))
    valid = table["valid_auc"].to_numpy(dtype=float)
    def spread(col: str) -> np.ndarray | None:
        return table[col].to_numpy(dtype=float) if col in table else None

    ax.barh(y - 0.2, valid, height=0.4, xerr=spread("valid_auc_std"), label="valid AUC",
            error_kw={"lw": 0.8})
    if table["test_auc"].notna().any():
        ax.barh(y + 0.2, table["test_auc"], height=0.4, xerr=spread("test_auc_std"),
                label="test AUC", error_kw={"lw": 0.8})
    values = table[["valid_auc", "test_auc"]].to_numpy(dtype=float)
    high = np.nanmax(values)
    if "oracle_test_auc" in table:
        oracle = float(table["oracle_test_auc"].iloc[0])
        ax.axvline(oracle, color="k", ls="--", lw=1, label=f"oracle (test) {oracle:.4f}")
        high = max(high, oracle)
    low = max(0.5, np.nanmin(values) - 0.02)
    for row, auc_value in zip(y, valid, strict=True):
        if not np.isnan(auc_value):
            ax.text(auc_value + 0.002, row - 0.2, f"{auc_value:.4f}", va="center", fontsize=7)
    labels = [f"{v} (skipped)" if np.isnan(a) else v
              for v, a in zip(table["variant"], valid, strict=True)]
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(low, min(1.0, high + 0.03))
    ax.set_xlabel("AUC")
    seeds = int(table["seeds"].max()) if "seeds" in table and table["seeds"].notna().any() else 1
    ax.set_title(f"Ablation: same data and budget, mean of {seeds} seed(s)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
