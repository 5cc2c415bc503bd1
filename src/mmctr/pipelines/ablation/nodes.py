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
from mmctr.config import from_params
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
from mmctr.engine.scoring import ScoringConfig, score_split
from mmctr.engine.trainer import TrainConfig, resolve_device
from mmctr.pipelines.ablation.config import (
    BASELINES,
    AblationConfig,
    ablation_config,
    variant_config,
)

logger = logging.getLogger(__name__)

__all__ = [
    "AblationData",
    "ablation_data",
    "ablation_plot",
    "ablation_table_markdown",
    "run_ablation",
]


@dataclasses.dataclass(frozen=True)
class AblationData:
    """What every variant is trained and measured on, built once (:func:`ablation_data`)."""

    train: Mapping[str, np.ndarray]  # train rows: features with similarity (batch keys)
    valid: Mapping[str, np.ndarray]  # valid rows (with label and user_id)
    test: Mapping[str, np.ndarray]  # test rows
    items: Mapping[str, Mapping[str, np.ndarray] | None]  # item_features, item_semantics
    vocab: Mapping[str, int]  # the model vocabulary of those items
    truth: pd.DataFrame | None  # hidden test labels in row order (synthetic data only)
    oracle: Mapping[str, float]  # split -> AUC of the true probabilities (synthetic only)
    # variant -> (item sources, vocabulary) for the variants that name an embedding recipe
    recipe_items: Mapping[str, tuple[Mapping[str, Any], Mapping[str, int]]]

    def items_of(self, variant: str) -> tuple[Mapping[str, Any], Mapping[str, int]]:
        """The item sources and vocabulary ``variant`` trains on."""
        return self.recipe_items.get(variant, (self.items, self.vocab))


def ablation_data(
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
    item_tables: Mapping[str, dict[str, np.ndarray]] | None = None,
) -> AblationData:
    """Gather the splits, item tables and hidden labels every variant is measured on.

    Args:
        train_features, valid_features, test_features: the splits' feature arrays.
        train_similarity, valid_similarity, test_similarity: their similarity arrays.
        item_features: the item table (tags, frozen embeddings).
        item_semantics: RQ codes and nearest neighbours per item.
        vocab: vocabulary sizes.
        synthetic_truth: hidden labels and true probabilities (``None`` on real data).
        item_tables: variant → item table, for the variants that name an item-embedding
            recipe (:mod:`.embedding_variants`).

    Returns:
        An :class:`AblationData`.
    """
    items = {"item_features": item_features, "item_semantics": item_semantics}
    recipe_items = {
        variant: ({**items, "item_features": table},
                  model_vocab(vocab, item_semantics, train_similarity, table))
        for variant, table in (item_tables or {}).items()
    }
    oracle = {}
    if synthetic_truth is not None:
        for split in ("valid", "test"):
            part = synthetic_truth[synthetic_truth["split"] == split]
            oracle[split] = auc(part["label"], part["prob"])
    return AblationData(
        train=merge_rows(train_features, train_similarity),
        valid=merge_rows(valid_features, valid_similarity),
        test=merge_rows(test_features, test_similarity),
        items=items,
        vocab=model_vocab(vocab, item_semantics, train_similarity, item_features),
        truth=_test_truth(synthetic_truth),
        oracle=oracle,
        recipe_items=recipe_items,
    )


def run_ablation(
    data: AblationData, training: dict[str, Any], params: dict[str, Any]
) -> pd.DataFrame:
    """Train and measure every selected variant of ``params:ablation``, one after another.

    Args:
        data: the splits and items (:func:`ablation_data`).
        training: ``params:training`` (its preset is every variant's base).
        params: ``params:ablation`` (checked before the run: variants, seeds, budget).

    Returns:
        One row per variant: mean (and standard deviation over seeds) of valid AUC and
        test AUC, valid logloss / gAUC, the oracle AUCs when hidden labels exist,
        trainable parameters, training time and throughput.
    """
    cfg = ablation_config(params)
    variants = cfg.selected  # envs soft-merge variants: run says which
    rows = []
    for i, (variant, overrides) in enumerate(variants.items(), start=1):
        logger.info("ablation %d/%d: %s", i, len(variants), variant)
        rows.append(_run_variant(data, training, cfg, variant, overrides))
    table = pd.DataFrame(rows)
    for split, value in data.oracle.items():
        table[f"oracle_{split}_auc"] = value
    return table


def _run_variant(data: AblationData, training: Mapping[str, Any], cfg: AblationConfig,
                 variant: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """One table row: a baseline, or a model trained and scored with every seed."""
    baseline = overrides.pop("baseline", None)
    if baseline is not None:
        seed = resolve_training(training)[2].seed
        runs = _baseline_runs(baseline, data.train, data.valid, data.test, data.truth,
                              data.vocab, {"lightgbm": cfg.lightgbm, "popularity": cfg.popularity},
                              seed, cfg.seeds)
        row = _summarise(variant, baseline, runs)
        tracking.record_child_run(f"ablation/{variant}", {"variant": variant,
                                  "baseline": baseline, "seeds": len(runs)}, None, row)
        return row
    name, model_params, train_cfg = variant_config(training, cfg.budget, overrides)
    logger.info("ablation %s: %s, %d seed(s)", variant, name, cfg.seeds)
    if train_cfg.bf16 is True and not native_bf16(resolve_device(train_cfg.device)):
        logger.warning("ablation: skipping %s (no native bf16 on this machine)", variant)
        return {"variant": variant, "model": name,
                "note": "skipped: no native bf16 on this machine (emulated: see benchmarks/results.md)"}
    sources, vocab = data.items_of(variant)
    runs = [
        _train_and_score(data, sources, vocab, name, model_params,
                         dataclasses.replace(train_cfg, seed=train_cfg.seed + k))
        for k in range(cfg.seeds)
    ]
    row = _summarise(variant, name, runs)
    tracking.record_child_run(  # a run nested under this command's, when tracked
        f"ablation/{variant}", {"variant": variant, "model.name": name, "seeds": cfg.seeds,
                                 **{f"model.{k}": v for k, v in model_params.items()}},
        {"training": tracking.recorded_training(name, model_params, dataclasses.asdict(train_cfg))},
        row)
    return row


def _train_and_score(data: AblationData, sources: Mapping[str, Any], vocab: Mapping[str, int],
                     name: str, model_params: Mapping[str, Any],
                     cfg: TrainConfig) -> dict[str, float]:
    """Fit one model with ``cfg`` (its seed included) and measure it on valid and test."""
    artifact = fit(name, model_params, cfg, data.train, data.valid, sources, vocab)
    scoring = ScoringConfig(batch_size=cfg.eval_batch_size, device=cfg.device, bf16=cfg.bf16,
                            progress=False)
    valid_p = score_split(artifact, data.valid, None, sources["item_features"],
                          sources["item_semantics"], scoring)
    test_p = (score_split(artifact, data.test, None, sources["item_features"],
                          sources["item_semantics"], scoring)
              if data.truth is not None else None)
    run = _metrics(data.valid, valid_p, data.truth, test_p)
    run.update({
        "trainable_parameters": artifact["trainable_parameters"],
        "train_seconds": artifact["train_seconds"],
        "samples_per_s": float(np.mean([h["samples_per_s"] for h in artifact["history"]])),
        "best_epoch": artifact["best_epoch"],
    })
    return run


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
