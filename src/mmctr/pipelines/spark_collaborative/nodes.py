"""spark_collaborative nodes: ``item_collab`` and its report, the row work on Spark.

The same outputs as the in-memory ``collaborative`` stage (``item_collab``,
``collaborative_report``, ``collaborative_plot``) from the train split's feature shards:
baskets, pair counts and PMI links are counted on Spark (:mod:`mmctr.spark.collaborative`),
the factors made on the driver from the links exactly as in memory, or learned by MLlib ALS
(``params:spark.factors``). No label, no target and no valid or test row is read to make
them; valid and test are read for their item ids only, to count the report's coverage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmctr.data.collaborative import collaborative_config, run_facts
from mmctr.data.collaborative_report import METHOD, build_report, coverage_of_counts
from mmctr.data.shards import ShardedRows
from mmctr.spark import collaborative, factors
from mmctr.spark.config import config as spark_config
from mmctr.spark.session import shards_frame

__all__ = ["collaborative_report", "learn_item_factors"]

logger = logging.getLogger(__name__)

#: the report's method line when the factors are MLlib ALS's
ALS_METHOD = "MLlib ALS (implicit) on train histories, plus each item's most co-consumed items (PMI links)"


def learn_item_factors(train_features: ShardedRows, vocab: Mapping[str, int],
                       params: Mapping[str, Any], spark_params: Mapping[str, Any]
                       ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Collaborative item factors from the train histories, counted on Spark.

    Args:
        train_features: the train split's feature shards.
        vocab: vocabulary sizes (``item``).
        params: ``params:collaborative`` (the in-memory stage's block).
        spark_params: ``params:spark`` (``factors``: ``svd`` or ``als``; ``als``).

    Returns:
        ``item_collab`` (the in-memory stage's arrays) and the run's facts.
    """
    cfg, source = collaborative_config(params).factor_settings, spark_config(spark_params)
    start = time.perf_counter()
    frame = shards_frame(train_features)
    num_items = int(vocab["item"])
    arrays, info = collaborative.item_collab(frame, num_items, cfg)
    info["factors"] = source.factors
    if source.factors == "als":
        als = factors.item_factors(frame, num_items, source.als)
        has = (arrays["basket_count"] >= cfg.min_count) & als.any(axis=1)
        has[0] = False
        arrays = {**arrays, "factors": np.where(has[:, None], als, 0.0).astype(np.float32),
                  "has_factor": has.astype(np.int8)}
        info["items_with_factor"] = int(has.sum())
    return arrays, run_facts(arrays, info, time.perf_counter() - start)


def collaborative_report(item_collab: dict[str, np.ndarray], info: dict[str, Any],
                         train_features: ShardedRows, valid_features: ShardedRows,
                         test_features: ShardedRows, item_features: Mapping[str, np.ndarray],
                         params: Mapping[str, Any]) -> tuple[dict[str, Any], Figure]:
    """The in-memory stage's report, its coverage counted on Spark (a task per shard)."""
    cfg = collaborative_config(params)
    counts = {split: collaborative.coverage_counts(rows, item_collab["has_factor"])
              for split, rows in (("train", train_features), ("valid", valid_features),
                                  ("test", test_features))}
    method = ALS_METHOD if info.get("factors") == "als" else METHOD
    return build_report(item_collab, info, coverage_of_counts(item_collab, counts),
                        item_features["item_emb"], params, cfg.neighbours, cfg.examples, method)
