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

from mmctr.data.collaborative import item_factors
from mmctr.data.kernels import l2_normalise
from mmctr.pipelines.collaborative.config import collaborative_config

__all__ = ["collaborative_report", "learn_item_factors"]

logger = logging.getLogger(__name__)

#: upper bounds of the popularity buckets (baskets an item appears in) of the report
_BUCKETS = (0, 2, 9, 29, 99, 999, np.inf)


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
    info["items_with_links"] = int((arrays["link_ids"][:, 0] > 0).sum())
    info["seconds"] = time.perf_counter() - start
    info["fallback"] = None
    if info["items_with_factor"] == 0:
        info["fallback"] = ("no item has a collaborative factor (the train histories are empty "
                            "or too short): the model and the baseline rely on content alone")
        logger.warning("collaborative: %s", info["fallback"])
    return arrays, info


def _coverage(item_collab: dict[str, np.ndarray], splits: dict[str, dict[str, np.ndarray]]) -> dict:
    """Share of items, target rows and history items with a factor, per split."""
    has = item_collab["has_factor"].astype(bool)
    out: dict[str, Any] = {"items": int(len(has) - 1), "items_with_factor": int(has.sum()),
                           "item_share": float(has[1:].mean()) if len(has) > 1 else 0.0}
    for name, rows in splits.items():
        seq = np.asarray(rows["item_seq"])
        real = seq[seq != 0]
        out[f"{name}_target_share"] = float(has[np.asarray(rows["item_id"])].mean()) if len(seq) else 0.0
        out[f"{name}_history_share"] = float(has[real].mean()) if len(real) else 0.0
    return out


def _norms_by_popularity(item_collab: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Mean factor norm and coverage per bucket of basket counts."""
    count = item_collab["basket_count"][1:]
    norm = np.linalg.norm(item_collab["factors"][1:], axis=1)
    has = item_collab["has_factor"][1:].astype(bool)
    rows = []
    for low, high in zip(_BUCKETS[:-1], _BUCKETS[1:], strict=True):
        sel = (count > low) & (count <= high) if low else count <= high
        rows.append({
            "baskets": f"{int(low) + 1 if low else 0}-{'' if np.isinf(high) else int(high)}",
            "items": int(sel.sum()),
            "with_factor": int((sel & has).sum()),
            "mean_norm": float(norm[sel & has].mean()) if (sel & has).any() else 0.0,
        })
    return rows


def _neighbour_examples(
    item_collab: dict[str, np.ndarray], item_emb: np.ndarray, k: int, examples: int
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Nearest neighbours (factor cosine) of frequent and middling items, with their content
    cosine: collaborative neighbours need not be content neighbours."""
    unit, content = l2_normalise(item_collab["factors"]), l2_normalise(item_emb)
    kept = np.flatnonzero(item_collab["has_factor"])
    if len(kept) <= k:
        return [], {}
    by_count = kept[np.argsort(-item_collab["basket_count"][kept], kind="stable")]
    half = examples - examples // 2
    picks = np.concatenate([by_count[:half], by_count[len(by_count) // 2:][: examples // 2]])
    out, content_cos = [], []
    for item in picks:
        cos = unit[kept] @ unit[item]
        cos[kept == item] = -np.inf
        top = np.argsort(-cos, kind="stable")[:k]
        ids = kept[top]
        content_cos.append(content[ids] @ content[item])
        out.append({"item": int(item), "baskets": float(item_collab["basket_count"][item]),
                    "neighbours": ids.tolist(), "factor_cosine": np.round(cos[top], 4).tolist(),
                    "content_cosine": np.round(content_cos[-1], 4).tolist()})
    rng = np.random.default_rng(0)
    pairs = rng.choice(kept, (min(10_000, len(kept) * 4), 2))
    summary = {"neighbour_content_cosine": float(np.mean(content_cos)),
               "random_pair_content_cosine": float(np.mean(
                   np.einsum("ij,ij->i", content[pairs[:, 0]], content[pairs[:, 1]])))}
    return out, summary


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
    coverage = _coverage(item_collab, {"train": train_features, "valid": valid_features,
                                       "test": test_features})
    buckets = _norms_by_popularity(item_collab)
    examples, summary = _neighbour_examples(item_collab, item_features["item_emb"],
                                            cfg.neighbours, cfg.examples)
    for split in ("valid", "test"):
        logger.info("collaborative: %s targets with a factor %.1f%%, history items %.1f%% "
                    "(the rest fall back on content)", split,
                    100 * coverage[f"{split}_target_share"], 100 * coverage[f"{split}_history_share"])
    report = {"method": "TruncatedSVD of the item-item PPMI of train histories, plus each "
                        "item's most co-consumed items (PMI links)",
              "settings": dict(params or {}), **info, "coverage": coverage,
              "norm_by_popularity": buckets, **summary, "neighbour_examples": examples}
    return report, _figure(coverage, buckets)


def _figure(coverage: dict[str, Any], buckets: list[dict[str, Any]]) -> Figure:
    fig = Figure(figsize=(9, 3.4))
    left, right = fig.subplots(1, 2)
    splits = ("train", "valid", "test")
    x = np.arange(len(splits))
    left.bar(x - 0.2, [coverage[f"{s}_target_share"] for s in splits], 0.4, label="targets")
    left.bar(x + 0.2, [coverage[f"{s}_history_share"] for s in splits], 0.4, label="history items")
    left.set_xticks(x, splits)
    left.set_ylim(0, 1)
    left.set_ylabel("share with a factor")
    left.legend()
    right.bar([b["baskets"] for b in buckets], [b["mean_norm"] for b in buckets])
    right.set_xlabel("baskets an item appears in")
    right.set_ylabel("mean factor norm")
    fig.suptitle("Collaborative factors: coverage and norm by popularity")
    fig.tight_layout()
    return fig
