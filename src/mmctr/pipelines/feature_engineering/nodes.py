"""feature_engineering nodes: raw MicroLens tables → compact numpy model inputs.

``build_features`` runs every check of :mod:`mmctr.data.contract` on all four tables before it
builds anything, so a table that breaks the contract stops the run before any output is
saved (ARCHITECTURE.md §1–§2). ``profile_data`` and ``plot_history_lengths`` describe the
result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mmctr.data.contract import parse_raw_tables
from mmctr.data.features import (
    build_item_features,
    build_split_features,
    degenerate_warnings,
    infer_vocab,
    plot_history_lengths,
)
from mmctr.pipelines.feature_engineering.config import feature_engineering_config

__all__ = [
    "build_features",
    "plot_history_lengths",
    "profile_data",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")  # test labels are absent or meaningless: never read


def build_features(
    raw_train: pd.DataFrame,
    raw_valid: pd.DataFrame,
    raw_test: pd.DataFrame,
    raw_item_info: pd.DataFrame,
    params: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Check the four raw tables, then build every model input (ARCHITECTURE.md §2).

    Every check of :mod:`mmctr.data.contract` runs first, on all four tables; nothing is returned,
    so nothing is saved, unless every table passes. One node rather than a validation node
    plus one per split, because each raw table is then read and converted exactly once
    (reading the 3.6M-row train file is most of this pipeline's time and peak memory).

    Args:
        raw_train, raw_valid, raw_test, raw_item_info: the raw tables (docs/DATA_CONTRACT.md).
        params: the ``params:feature_engineering`` block.

    Returns:
        ``"train"``, ``"valid"``, ``"test"`` → :func:`~mmctr.data.features.build_split_features` (test never has a
        label); ``"items"`` → :func:`~mmctr.data.features.build_item_features`; ``"vocab"`` → :func:`~mmctr.data.features.infer_vocab`.

    Raises:
        RawDataError: naming the file, column, first offending row, expected and found.
    """
    cfg = feature_engineering_config(params)
    parsed = parse_raw_tables(
        raw_train,
        raw_valid,
        raw_test,
        raw_item_info,
        seq_width=cfg.seq_width,
        tags_width=cfg.tags_width,
        emb_dim=cfg.emb_dim,
        level_max=cfg.level_max,
        chunk_rows=cfg.chunk_rows,
    )
    items = build_item_features(parsed["item_info"])
    features = {
        split: build_split_features(parsed[split], cfg.max_len) for split in SPLITS
    }
    vocab = infer_vocab(features, items, cfg.max_len)
    logger.info("features built (max_len %d); vocab %s", cfg.max_len, vocab)
    return {**features, "items": items, "vocab": vocab}


def _distinct(values: np.ndarray) -> int:
    """Number of distinct values (sort-based: several times faster than ``np.unique``)."""
    ordered = np.sort(values)
    return int(ordered.size and 1 + np.count_nonzero(ordered[1:] != ordered[:-1]))


def _split_profile(
    features: Mapping[str, np.ndarray], lengths: np.ndarray
) -> dict[str, Any]:
    profile: dict[str, Any] = {"rows": len(lengths)}
    if "label" in features:
        profile["click_rate"] = float(features["label"].mean())
    profile["history_length"] = {
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        "p90": float(np.percentile(lengths, 90)),
        "max": int(lengths.max()),
    }
    profile["empty_history_share"] = float(np.mean(lengths == 0))
    profile["users"] = _distinct(features["user_id"])
    profile["target_items"] = _distinct(features["item_id"])
    return profile


def profile_data(
    train_features: Mapping[str, np.ndarray],
    valid_features: Mapping[str, np.ndarray],
    test_features: Mapping[str, np.ndarray],
    item_features: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """A JSON summary of the features: per split and for the item table.

    History lengths count the non-padding items of the (cut) ``item_seq``.

    Returns:
        ``{"items", "tags", "max_len", "splits": {split: {"rows", "click_rate" (train/valid),
        "history_length": {"mean", "median", "p90", "max"}, "empty_history_share",
        "users", "target_items", and for valid/test "cold_target_items" (distinct targets
        never a train target) and "cold_target_row_share"}}, "history_length_histogram":
        {"bin_edges", "counts": {split: [...]}}, "warnings": [...]}`` (see
        :func:`mmctr.data.features.degenerate_warnings`; repeated in the closing summary of a run).
    """
    cfg = feature_engineering_config(params)
    tags = item_features["item_tags"]
    seen = np.zeros(len(tags), dtype=bool)  # items that are a train target
    seen[train_features["item_id"]] = True
    edges = np.linspace(0, cfg.max_len + 1, cfg.history_bins + 1)
    splits, counts = {}, {}
    for split, features in zip(
        SPLITS, (train_features, valid_features, test_features), strict=True
    ):
        lengths = np.count_nonzero(features["item_seq"], axis=1)
        splits[split] = _split_profile(features, lengths)
        if split != "train":
            targets = np.zeros(len(tags), dtype=bool)
            targets[features["item_id"]] = True
            splits[split]["cold_target_items"] = int(np.count_nonzero(targets & ~seen))
            splits[split]["cold_target_row_share"] = float(
                np.mean(~seen[features["item_id"]])
            )
        counts[split] = np.histogram(lengths, edges)[0].tolist()
    profile = {
        "items": len(tags) - 1,  # without the padding row 0
        "tags": _distinct(tags[tags > 0]),
        "max_len": cfg.max_len,
        "splits": splits,
        "history_length_histogram": {"bin_edges": edges.tolist(), "counts": counts},
        "warnings": degenerate_warnings(splits, item_features.get("item_emb")),
    }
    for warning in profile["warnings"]:
        logger.warning("data profile: %s", warning)
    logger.info(
        "data profile: %s",
        {s: (p["rows"], p["history_length"]["mean"]) for s, p in splits.items()},
    )
    return profile
