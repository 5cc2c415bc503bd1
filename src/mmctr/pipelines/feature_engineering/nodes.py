"""feature_engineering nodes: raw MicroLens tables → compact numpy model inputs.

``build_features`` runs every check of :mod:`.validation` on all four tables before it
builds anything, so a table that breaks the contract stops the run before any output is
saved (ARCHITECTURE.md §1–§2). ``profile_data`` and ``plot_history_lengths`` describe the
result.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmctr.config import from_params
from mmctr.data.contract import parse_raw_tables
from mmctr.data.features import (  # noqa: F401 - dense_tag_ids: re-exported
    build_item_features,
    dense_tag_ids,
    infer_vocab,
)

__all__ = [
    "FeatureEngineeringConfig",
    "build_features",
    "build_item_features",
    "build_split_features",
    "infer_vocab",
    "plot_history_lengths",
    "profile_data",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")  # test labels are absent or meaningless: never read


@dataclasses.dataclass(frozen=True)
class FeatureEngineeringConfig:
    """The ``params:feature_engineering`` block."""

    max_len: int = 100  # history kept per row (newest items); the seed reads width 100
    seq_width: int | None = 100  # raw item_seq width (docs/DATA_CONTRACT.md); None: take train's
    tags_width: int = 5  # item_tags per item, left-padded with 0
    emb_dim: int = 128  # width of item_emb_d128
    level_max: int | None = 10  # likes/views levels lie in 0..level_max; None: no bound
    history_bins: int = 101  # profile histogram bins over lengths 0..max_len
    chunk_rows: int = 1 << 18  # raw rows converted at a time (bounds extra memory)

    def __post_init__(self) -> None:
        for name in ("max_len", "tags_width", "emb_dim", "history_bins", "chunk_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"params:feature_engineering.{name} must be >= 1")
        if self.seq_width is not None and self.seq_width < 1:
            raise ValueError(
                "params:feature_engineering.seq_width must be >= 1 or null"
            )
        if self.level_max is not None and self.level_max < 0:
            raise ValueError(
                "params:feature_engineering.level_max must be >= 0 or null"
            )


def _config(params: Mapping[str, Any] | None) -> FeatureEngineeringConfig:
    return from_params(FeatureEngineeringConfig, params, "params:feature_engineering")


def _cut_history(item_seq: np.ndarray, max_len: int) -> np.ndarray:
    """Keep the newest ``max_len`` items (the right end); left-pad with 0 if narrower.

    Args:
        item_seq: (N, W) left-padded histories, newest last.

    Returns:
        (N, max_len) contiguous array (``item_seq`` itself when W == max_len).
    """
    n, width = item_seq.shape
    if width >= max_len:
        return np.ascontiguousarray(item_seq[:, width - max_len :])
    out = np.zeros((n, max_len), dtype=item_seq.dtype)
    out[:, max_len - width :] = item_seq
    return out


def build_split_features(
    parsed: Mapping[str, np.ndarray], max_len: int
) -> dict[str, np.ndarray]:
    """One split's model inputs from its checked columns (ARCHITECTURE.md §2).

    Args:
        parsed: :func:`~.validation.parse_split` output.
        max_len: history length kept.

    Returns:
        ``item_seq`` int32 (N, max_len): the newest ``max_len`` items, left-padded 0;
        ``item_id``, ``likes_level``, ``views_level`` int32 (N,); ``user_id`` int64 (N,);
        ``label`` float32 (N,) where the split has labels (never test).
    """
    return {**parsed, "item_seq": _cut_history(parsed["item_seq"], max_len)}


def build_features(
    raw_train: pd.DataFrame,
    raw_valid: pd.DataFrame,
    raw_test: pd.DataFrame,
    raw_item_info: pd.DataFrame,
    params: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Check the four raw tables, then build every model input (ARCHITECTURE.md §2).

    Every check of :mod:`.validation` runs first, on all four tables; nothing is returned,
    so nothing is saved, unless every table passes. One node rather than a validation node
    plus one per split, because each raw table is then read and converted exactly once
    (reading the 3.6M-row train file is most of this pipeline's time and peak memory).

    Args:
        raw_train, raw_valid, raw_test, raw_item_info: the raw tables (docs/DATA_CONTRACT.md).
        params: the ``params:feature_engineering`` block.

    Returns:
        ``"train"``, ``"valid"``, ``"test"`` → :func:`build_split_features` (test never has a
        label); ``"items"`` → :func:`build_item_features`; ``"vocab"`` → :func:`infer_vocab`.

    Raises:
        RawDataError: naming the file, column, first offending row, expected and found.
    """
    cfg = _config(params)
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
        {"bin_edges", "counts": {split: [...]}}}``.
    """
    cfg = _config(params)
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
    }
    logger.info(
        "data profile: %s",
        {s: (p["rows"], p["history_length"]["mean"]) for s, p in splits.items()},
    )
    return profile


def plot_history_lengths(data_profile: Mapping[str, Any]) -> Figure:
    """Histogram of history lengths per split (share of the split's rows, log y).

    Args:
        data_profile: the output of :func:`profile_data` (holds the histogram).

    Returns:
        A matplotlib Figure (no pyplot state: safe under any backend).
    """
    histogram = data_profile["history_length_histogram"]
    edges = np.asarray(histogram["bin_edges"])
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for split, counts in histogram["counts"].items():
        rows = data_profile["splits"][split]["rows"]
        ax.stairs(
            np.asarray(counts) / max(rows, 1), edges, label=f"{split} ({rows:,} rows)"
        )
    ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel("history length (non-padding items)")
    ax.set_ylabel("share of rows")
    ax.set_title("History lengths per split")
    ax.legend()
    fig.tight_layout()
    return fig
