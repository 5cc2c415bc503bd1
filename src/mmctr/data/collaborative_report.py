"""The collaborative stage's report: coverage, factor norms by popularity, neighbours.

Shared by the in-memory stage and the Spark one (which counts the coverage on Spark and
passes it in): the rest reads only the per-item tables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmctr.data.kernels import l2_normalise

__all__ = ["METHOD", "build_report", "coverage", "coverage_counts", "coverage_of_counts"]

logger = logging.getLogger(__name__)

#: what the report says the factors are
METHOD = ("TruncatedSVD of the item-item PPMI of train histories, plus each item's most "
          "co-consumed items (PMI links)")

#: upper bounds of the popularity buckets (baskets an item appears in) of the report
_BUCKETS = (0, 2, 9, 29, 99, 999, np.inf)


def coverage_counts(item_id: np.ndarray, item_seq: np.ndarray, has_factor: np.ndarray
                    ) -> tuple[int, int, int, int]:
    """Rows, targets with a factor, history items, history items with a factor."""
    has, target, seq = np.asarray(has_factor).astype(bool), np.asarray(item_id), np.asarray(item_seq)
    real = seq[seq != 0]
    return len(target), int(has[target].sum()), len(real), int(has[real].sum())


def coverage(item_collab: dict[str, np.ndarray], splits: dict[str, dict[str, np.ndarray]]) -> dict:
    """Share of items, target rows and history items with a factor, per split."""
    return coverage_of_counts(item_collab, {
        name: coverage_counts(rows["item_id"], rows["item_seq"], item_collab["has_factor"])
        for name, rows in splits.items()})


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



def coverage_of_counts(item_collab: Mapping[str, np.ndarray],
                       counts: Mapping[str, tuple[int, int, int, int]]) -> dict[str, Any]:
    """:func:`coverage` from per-split :func:`coverage_counts` (summed over shards on Spark)."""
    has = np.asarray(item_collab["has_factor"]).astype(bool)
    out: dict[str, Any] = {"items": int(len(has) - 1), "items_with_factor": int(has.sum()),
                           "item_share": float(has[1:].mean()) if len(has) > 1 else 0.0}
    for name, (rows, targets, history, covered) in counts.items():
        out[f"{name}_target_share"] = targets / rows if rows else 0.0
        out[f"{name}_history_share"] = covered / history if history else 0.0
    return out


def build_report(item_collab: Mapping[str, np.ndarray], info: Mapping[str, Any],
                 cover: Mapping[str, Any], item_emb: np.ndarray, settings: Mapping[str, Any],
                 neighbours: int, examples: int, method: str = METHOD
                 ) -> tuple[dict[str, Any], Figure]:
    """The report (json) and its figure (coverage per split, mean norm per bucket).

    Args:
        item_collab: the factors.
        info: the facts of the run that made them.
        cover: :func:`coverage`'s (or :func:`coverage_of_counts`') shares.
        item_emb: the item embeddings (content cosine of the neighbours).
        settings: the stage's parameters, as given.
        neighbours, examples: neighbours per example item, example items.
        method: what made the factors.
    """
    buckets = _norms_by_popularity(item_collab)
    listed, summary = _neighbour_examples(item_collab, item_emb, neighbours, examples)
    for split in ("valid", "test"):
        logger.info("collaborative: %s targets with a factor %.1f%%, history items %.1f%% "
                    "(the rest fall back on content)", split,
                    100 * cover[f"{split}_target_share"], 100 * cover[f"{split}_history_share"])
    report = {"method": method, "settings": dict(settings or {}), **info, "coverage": dict(cover),
              "norm_by_popularity": buckets, **summary, "neighbour_examples": listed}
    return report, _figure(cover, buckets)


def _figure(coverage: Mapping[str, Any], buckets: list[dict[str, Any]]) -> Figure:
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
