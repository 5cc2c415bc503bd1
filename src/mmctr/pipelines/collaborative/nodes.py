"""Nodes of the ``collaborative`` stage (ARCHITECTURE.md §2c).

Item factors from the train split's histories only (the recipe is
:mod:`mmctr.data.collaborative`): no valid or test row, no label and no target is read to
make them. Items without a factor (never or rarely in a train history) keep a zero row and
``has_factor = 0``; later stages then rely on their content alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmctr.data.collaborative import item_factors, run_facts
from mmctr.data.collaborative_report import build_report, coverage
from mmctr.pipelines.collaborative.config import collaborative_config

__all__ = ["collaborative_report", "learn_item_factors"]

logger = logging.getLogger(__name__)


def learn_item_factors(
    train_features: dict[str, np.ndarray], vocab: dict[str, int], params: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Collaborative item factors from the train histories.

    Args:
        train_features: the train split (``item_seq`` (N, T) left-padded, newest last).
        vocab: vocabulary sizes (``item``).
        params: ``params:collaborative``.

    Returns:
        ``item_collab``: ``factors`` float32 (V, dim), ``has_factor`` int8 (V,),
        ``basket_count`` float32 (V,), ``link_ids`` int32 (V, links), ``link_pmi``
        float32 (V, links); and the run's facts (sizes, seconds, fallback).
    """
    cfg = collaborative_config(params)
    start = time.perf_counter()
    arrays, info = item_factors(train_features["item_seq"], int(vocab["item"]),
                                cfg.factor_settings, train_features.get("user_id"))
    return arrays, run_facts(arrays, info, time.perf_counter() - start)


def collaborative_report(
    item_collab: dict[str, np.ndarray],
    info: dict[str, Any],
    train_features: dict[str, np.ndarray],
    valid_features: dict[str, np.ndarray],
    test_features: dict[str, np.ndarray],
    item_features: dict[str, np.ndarray],
    params: dict[str, Any],
) -> tuple[dict[str, Any], Figure]:
    """Coverage, factor norms by popularity, nearest-neighbour examples and timing.

    Valid and test are read for their item ids only (how many of their targets and history
    items have a factor), never for labels.

    Args:
        item_collab: the factors.
        info: the facts of :func:`learn_item_factors`.
        train_features, valid_features, test_features: the splits.
        item_features: the item table (``item_emb``: the content cosine of neighbours).
        params: ``params:collaborative``.

    Returns:
        The report (json) and its figure (coverage per split, mean norm per bucket).
    """
    cfg = collaborative_config(params)
    cover = coverage(item_collab, {"train": train_features, "valid": valid_features,
                                   "test": test_features})
    return build_report(item_collab, info, cover, item_features["item_emb"], params,
                        cfg.neighbours, cfg.examples)
