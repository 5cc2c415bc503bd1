"""spark_features nodes: the raw row tables checked and turned into features on Spark.

The item table (one row per item: small next to the rows, and every executor needs it
whole for the similarity kernels) is checked and built on the driver by the in-memory
functions. Each row table is checked on Spark with the in-memory messages
(:mod:`mmctr.spark.contract`) before any feature DataFrame is returned, so nothing is
written unless all four tables pass. The returned DataFrames are lazy: their shards are
written by the executors when the catalog saves them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mmctr.data.contract import RAW_FILES, parse_item_info
from mmctr.data.features import build_item_features, degenerate_warnings, infer_vocab
from mmctr.data.shards import ShardedRows
from mmctr.spark.contract import SplitSpec, check_split, first_width, with_row_index
from mmctr.spark.features import (
    cold_targets,
    history_lengths,
    split_features,
    split_profile,
)
from mmctr.spark.session import shards_frame

__all__ = ["build_features", "profile_data"]

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


def _spec(split: str, frame: Any, n_items: int, width: int | None, reason: str,
          params: Mapping[str, Any]) -> SplitSpec:
    return SplitSpec(file=RAW_FILES[split], n_items=n_items, labelled=split != "test",
                     seq_width=width, width_reason=reason, level_max=params["level_max"],
                     chunk_rows=params["chunk_rows"],
                     has_ids=split == "test" and "ID" in frame.columns)


def build_features(spark_raw_train: Any, spark_raw_valid: Any, spark_raw_test: Any,
                   raw_item_info: pd.DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check the four raw tables, then build every model input (ARCHITECTURE.md §2).

    Args:
        spark_raw_train, spark_raw_valid, spark_raw_test: the row tables (Spark, read from
            their parquet files).
        raw_item_info: the item table (pandas).
        params: ``params:feature_engineering`` (the in-memory stage's block).

    Returns:
        ``"train"``, ``"valid"``, ``"test"``: Spark DataFrames of features (with ``row``);
        ``"items"``: the item table; ``"vocab"``.

    Raises:
        RawDataError: the in-memory path's message for the first defect.
    """
    items = build_item_features(parse_item_info(
        raw_item_info, tags_width=params["tags_width"], emb_dim=params["emb_dim"],
        chunk_rows=params["chunk_rows"]))
    n_items, max_len = len(items["item_tags"]), params["max_len"]
    width, reason = params["seq_width"], "seq_width"
    frames, maxima = {}, {}
    for split, raw in zip(SPLITS, (spark_raw_train, spark_raw_valid, spark_raw_test),
                          strict=True):
        frame = with_row_index(raw)
        if width is None:
            width, reason = first_width(frame), "as in row 0"
        levels = check_split(frame, _spec(split, frame, n_items, width, reason, params))
        maxima[split] = {k: np.array([v]) for k, v in levels.items()}
        frames[split] = split_features(frame, width, max_len, split != "test")
        reason = "as in train.parquet"
    vocab = infer_vocab(maxima, items, max_len)
    logger.info("features built on Spark (max_len %d); vocab %s", max_len, vocab)
    return {**frames, "items": items, "vocab": vocab}


def profile_data(train_features: ShardedRows, valid_features: ShardedRows,
                 test_features: ShardedRows, item_features: Mapping[str, np.ndarray],
                 params: Mapping[str, Any]) -> dict[str, Any]:
    """The in-memory stage's ``data_profile`` from Spark aggregates of the feature shards."""
    tags = item_features["item_tags"]
    edges = np.linspace(0, params["max_len"] + 1, params["history_bins"] + 1)
    frames = {s: shards_frame(r) for s, r in zip(
        SPLITS, (train_features, valid_features, test_features), strict=True)}
    splits, counts = {}, {}
    for split, frame in frames.items():
        lengths = history_lengths(frame)
        splits[split] = split_profile(frame, lengths, split != "test")
        if split != "train":
            splits[split].update(cold_targets(frame, frames["train"]))
        values = np.array(list(lengths), dtype=np.int64)
        weights = np.array(list(lengths.values()), dtype=np.int64)
        counts[split] = np.histogram(values, edges, weights=weights)[0].astype(int).tolist()
    return {"items": len(tags) - 1, "tags": int(np.unique(tags[tags > 0]).size),
            "max_len": params["max_len"], "splits": splits,
            "history_length_histogram": {"bin_edges": edges.tolist(), "counts": counts},
            "warnings": degenerate_warnings(splits, item_features["item_emb"])}
