"""Ablation: every variant trained on the same data, seed and budget, then compared.

A variant is a set of overrides on top of the resolved ``params:training``:
``model`` is merged key by key into the base model's parameters (or replaces
them when ``model_reset: true``, e.g. for DIN whose parameters differ), and any
other key overrides the training configuration (``bf16``, ``compile`` ...).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmctr.config import deep_merge
from mmctr.engine.batching import merge_rows
from mmctr.engine.metrics import auc, grouped_auc, logloss
from mmctr.engine.scoring import score
from mmctr.engine.trainer import native_bf16, resolve_device
from mmctr.pipelines.ablation.embedding_variants import VARIANT_KEY
from mmctr.pipelines.training.nodes import fit, model_vocab, resolve_training

logger = logging.getLogger(__name__)

__all__ = ["ablation_plot", "ablation_table_markdown", "run_ablation", "variant_config"]


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
    """Train every variant of ``params["variants"]`` and measure it.

    ``item_tables`` (variant → item table) replaces the item table of the variants that
    name an item-embedding recipe (:mod:`.embedding_variants`).

    Returns:
        One row per variant: valid AUC / logloss / gAUC, test AUC and the oracle AUCs
        when hidden labels exist, trainable parameters, training time and throughput.
    """
    sources = {"item_features": item_features, "item_semantics": item_semantics}
    full_vocab = model_vocab(vocab, item_semantics, item_features)
    item_tables = item_tables or {}
    train_rows = merge_rows(train_features, train_similarity)
    valid_rows = merge_rows(valid_features, valid_similarity)
    truth = _test_truth(synthetic_truth)
    rows = []
    variants = params["variants"]
    selected = params.get("run") or list(variants)  # environments soft-merge variants
    unknown = sorted(set(selected) - set(variants))
    if unknown:
        raise ValueError(f"params:ablation.run: unknown variant(s) {unknown}; known: {list(variants)}")
    variants = {name: variants[name] for name in selected}
    for i, (variant, overrides) in enumerate(variants.items(), start=1):
        name, model_params, cfg = variant_config(training, params.get("budget", {}), overrides or {})
        logger.info("ablation %d/%d: %s (%s)", i, len(variants), variant, name)
        if cfg.bf16 and not native_bf16(resolve_device(cfg.device)):
            logger.warning("ablation: skipping %s (no native bf16 on this machine)", variant)
            rows.append({"variant": variant, "model": name,
                         "note": "skipped: no native bf16 on this machine (emulated: see benchmarks/results.md)"})
            continue
        v_sources, v_vocab = sources, full_vocab
        if variant in item_tables:  # this variant's item-embedding recipe
            v_sources = {**sources, "item_features": item_tables[variant]}
            v_vocab = model_vocab(vocab, item_semantics, item_tables[variant])
        artifact = fit(name, model_params, cfg, train_rows, valid_rows, v_sources, v_vocab)
        score_args = dict(item_sources=v_sources, batch_size=cfg.eval_batch_size,
                          device=cfg.device, bf16=cfg.bf16, progress=False)
        valid_p = score(artifact, valid_features, valid_similarity, **score_args)
        row = {
            "variant": variant,
            "model": name,
            "valid_auc": auc(valid_features["label"], valid_p),
            "valid_logloss": logloss(valid_features["label"], valid_p),
            "valid_gauc": grouped_auc(valid_features["label"], valid_p, valid_features["user_id"]),
            "test_auc": np.nan,
            "trainable_parameters": artifact["trainable_parameters"],
            "train_seconds": artifact["train_seconds"],
            "samples_per_s": float(np.mean([h["samples_per_s"] for h in artifact["history"]])),
            "best_epoch": artifact["best_epoch"],
            "note": "",
        }
        if truth is not None:
            test_p = score(artifact, test_features, test_similarity, **score_args)
            row["test_auc"] = auc(truth["label"], test_p[truth["row"]])
        rows.append(row)
    table = pd.DataFrame(rows)
    if synthetic_truth is not None:
        for split in ("valid", "test"):
            part = synthetic_truth[synthetic_truth["split"] == split]
            table[f"oracle_{split}_auc"] = auc(part["label"], part["prob"])
    return table


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
               "samples_per_s": "{:,.0f}", "best_epoch": "{:.0f}"}
    for col, fmt in formats.items():
        shown[col] = shown[col].map(lambda v, f=fmt: "–" if pd.isna(v) else f.format(v))
    shown["note"] = shown["note"].fillna("")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def ablation_plot(table: pd.DataFrame) -> Figure:
    """Horizontal bars of valid (and test) AUC per variant, valid AUC written at each bar,
    the oracle as a line; skipped variants keep their row, marked "(skipped)"."""
    fig = Figure(figsize=(7.5, 0.45 * len(table) + 1.5))  # no pyplot: no global state
    ax = fig.subplots()
    y = np.arange(len(table))
    valid = table["valid_auc"].to_numpy(dtype=float)
    ax.barh(y - 0.2, valid, height=0.4, label="valid AUC")
    if table["test_auc"].notna().any():
        ax.barh(y + 0.2, table["test_auc"], height=0.4, label="test AUC")
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
    ax.set_title("Ablation: same data, seed and budget")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
