"""Non-neural baselines on the same splits: gradient-boosted trees and item popularity.

No Kedro here. The tree reads one row of hand features per impression, all computed by the
earlier stages (no new pass over the data):

- ``likes_level``, ``views_level`` (the target's popularity levels);
- ``sim_stats``: max, mean and newest target-history cosine, count above the threshold;
- ``row_stats``: history length, the target's train popularity, cosine of the target to the
  mean and to the newest-3 mean history embedding, windowed and spread statistics of the
  cosines, tag overlap (see ``ROW_STATS`` of the similarity stage);
- ``collab_stats`` when the split has them: the same target-history cosines on the
  collaborative factors (``COLLAB_STATS``), so the tree reads what the model reads.

LightGBM is the field's standard for such tables; it stops early on valid AUC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "PopularityConfig",
    "TreeConfig",
    "fit_popularity",
    "fit_tree",
    "tabular_features",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TreeConfig:
    """LightGBM settings: common defaults for a table of ~20 dense features."""

    n_estimators: int = 2000  # upper bound: early stopping picks the number of trees
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 50  # leaves need this many rows: robust on small data
    subsample: float = 0.8  # row bagging per tree
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 100  # trees without a better valid AUC before stopping
    n_jobs: int = 2
    seed: int = 20242025


@dataclass(frozen=True)
class PopularityConfig:
    """Smoothed click rate of the target item in train (a Bayesian mean)."""

    prior_strength: float = 20.0  # pseudo-impressions at the global click rate


def tabular_features(rows: Mapping[str, np.ndarray]) -> np.ndarray:
    """The tree's feature matrix of one split.

    Args:
        rows: a split's arrays merged with its similarity arrays (``likes_level``,
            ``views_level``, ``sim_stats`` (N, 4), ``row_stats`` (N, R), optional
            ``collab_stats`` (N, C)).

    Returns:
        float32 (N, 2 + 4 + R [+ C]).

    Raises:
        KeyError: when the similarity stage's ``sim_stats``/``row_stats`` are missing.
    """
    missing = [k for k in ("sim_stats", "row_stats") if k not in rows]
    if missing:
        raise KeyError(f"the tree baseline needs {missing} from the semantic_similarity "
                       "stage; rerun `kedro run --pipelines semantic_similarity`")
    return np.concatenate([
        np.asarray(rows["likes_level"], dtype=np.float32)[:, None],
        np.asarray(rows["views_level"], dtype=np.float32)[:, None],
        np.asarray(rows["sim_stats"], dtype=np.float32),
        np.asarray(rows["row_stats"], dtype=np.float32),
        *([np.asarray(rows["collab_stats"], dtype=np.float32)] if "collab_stats" in rows else []),
    ], axis=1)


def fit_tree(
    cfg: TreeConfig, train_rows: Mapping[str, np.ndarray], valid_rows: Mapping[str, np.ndarray]
) -> dict[str, Any]:
    """Train LightGBM on the train split with early stopping on valid AUC.

    Returns:
        ``{"model": LGBMClassifier, "best_iteration", "train_seconds"}``; score a split
        with ``predict_tree(fitted, rows)``.
    """
    import lightgbm as lgb  # only the baselines need it

    start = time.perf_counter()
    model = lgb.LGBMClassifier(
        n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate,
        num_leaves=cfg.num_leaves, min_child_samples=cfg.min_child_samples,
        subsample=cfg.subsample, subsample_freq=1, colsample_bytree=cfg.colsample_bytree,
        reg_lambda=cfg.reg_lambda, n_jobs=cfg.n_jobs, random_state=cfg.seed,
        deterministic=True, force_row_wise=True, verbose=-1,
    )
    model.fit(
        tabular_features(train_rows), np.asarray(train_rows["label"]),
        eval_X=(tabular_features(valid_rows),), eval_y=(np.asarray(valid_rows["label"]),),
        eval_metric="auc",
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )
    seconds = time.perf_counter() - start
    logger.info("lightgbm: %d trees in %.1fs", model.best_iteration_, seconds)
    return {"model": model, "best_iteration": int(model.best_iteration_),
            "train_seconds": seconds}


def predict_tree(fitted: Mapping[str, Any], rows: Mapping[str, np.ndarray]) -> np.ndarray:
    """Click probabilities (float32) of a split under :func:`fit_tree`'s model."""
    return fitted["model"].predict_proba(tabular_features(rows))[:, 1].astype(np.float32)


def fit_popularity(
    cfg: PopularityConfig, train_rows: Mapping[str, np.ndarray], num_items: int
) -> np.ndarray:
    """Per-item smoothed train click rate: ``(clicks + s·p) / (impressions + s)``.

    Args:
        cfg: the prior strength ``s``.
        train_rows: train arrays (``item_id``, ``label``).
        num_items: item vocabulary size.

    Returns:
        float32 (V,): the score of each target item (``p``, the global rate, for items
        never a train target).
    """
    items = np.asarray(train_rows["item_id"])
    labels = np.asarray(train_rows["label"], dtype=np.float64)
    shown = np.bincount(items, minlength=num_items)[:num_items]
    clicks = np.bincount(items, weights=labels, minlength=num_items)[:num_items]
    prior = float(labels.mean()) if len(labels) else 0.0
    return ((clicks + cfg.prior_strength * prior)
            / (shown + cfg.prior_strength)).astype(np.float32)
