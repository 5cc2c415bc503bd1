"""spark_similarity nodes: item popularity and per-row similarity on Spark.

The per-item half of ``semantic_similarity`` (neighbours, RQ codes) stays where it is:
it reads the item table only. Here the row work runs on the executors through
:mod:`mmctr.data.kernels` (one task per feature shard); what reaches the driver is per item.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from mmctr.data.kernels import l2_normalise
from mmctr.data.shards import ShardedRows
from mmctr.spark import similarity

__all__ = ["item_popularity", "split_similarity"]

logger = logging.getLogger(__name__)


def item_popularity(train_features: ShardedRows, vocab: Mapping[str, int]
                    ) -> dict[str, np.ndarray]:
    """Train counts per item (as the in-memory ``item_popularity``), on Spark.

    Returns:
        ``{"target_count", "history_count"}``: float32 (V,) each; row 0 is 0.
    """
    return similarity.item_popularity(train_features, int(vocab["item"]))


def split_similarity(features: ShardedRows, item_features: Mapping[str, np.ndarray],
                     popularity: Mapping[str, np.ndarray], params: Mapping[str, Any],
                     item_collab: Mapping[str, np.ndarray] | None = None) -> Any:
    """One split's rows with ``hist_sim``, ``sim_stats``, ``row_stats`` (lazy DataFrame).

    Args:
        features: the split's feature shards.
        item_features: the item table the model reads (``item_features_embedded``).
        popularity: :func:`item_popularity`'s counts.
        params: ``params:semantic_similarity`` (``threshold``, ``chunk_size``).
        item_collab: the collaborative stage's tables (``spark_collaborative``); adds
            ``collab_stats``.

    Returns:
        The features and their similarity columns, lazily: one Spark task per feature
        shard reads it, runs the kernels and writes its similarity shard when the catalog
        saves them (:class:`~mmctr.spark.shards.ShardTasks`).
    """
    emb = l2_normalise(item_features["item_emb"])
    return similarity.split_similarity(features, emb, item_features["item_tags"],
                                       popularity, float(params["threshold"]),
                                       int(params["chunk_size"]), item_collab)

