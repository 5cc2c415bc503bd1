"""Model inputs from checked raw columns (ARCHITECTURE.md §2): a split's arrays, the item
table and the vocabulary sizes. Shared by every path that builds features: the
``feature_engineering`` stage (numpy) and ``spark_features`` (its per-item work runs on the
driver: the item table is small next to the rows)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmctr.data.contract import RAW_FILES

__all__ = [
    "TAG_SLACK",
    "build_item_features",
    "build_split_features",
    "cut_history",
    "degenerate_warnings",
    "dense_tag_ids",
    "infer_vocab",
    "plot_history_lengths",
]

logger = logging.getLogger(__name__)


def cut_history(item_seq: np.ndarray, max_len: int) -> np.ndarray:
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
        parsed: :func:`mmctr.data.contract.parse_split` output.
        max_len: history length kept.

    Returns:
        ``item_seq`` int32 (N, max_len): the newest ``max_len`` items, left-padded 0;
        ``item_id``, ``likes_level``, ``views_level`` int32 (N,); ``user_id`` int64 (N,);
        ``label`` float32 (N,) where the split has labels (never test).
    """
    return {**parsed, "item_seq": cut_history(parsed["item_seq"], max_len)}


#: tag ids are renumbered when the largest exceeds ``2 × distinct + TAG_SLACK``
TAG_SLACK = 1024


def dense_tag_ids(tags: np.ndarray) -> np.ndarray:
    """Tag ids renumbered 1..K (order kept, 0 stays padding) when they are sparse.

    The tag embedding table has ``max id + 1`` rows: one tag id of 10^9 would ask for a
    64 GB table. Ids up to ``2 × K + TAG_SLACK`` (K distinct tags) are kept as they
    are, so dense ids (the real data: 1..11,739) are never changed.

    Args:
        tags: (V, tags_width) tag ids, 0 = padding.

    Returns:
        ``tags`` itself, or a renumbered int32 copy.
    """
    top = int(tags.max(initial=0))
    distinct = np.unique(tags[tags > 0])
    if top <= 2 * len(distinct) + TAG_SLACK:
        return tags
    logger.warning(
        "%s: tag ids are sparse (largest %d, %d distinct): renumbered 1..%d in order",
        RAW_FILES["item_info"], top, len(distinct), len(distinct),
    )
    dense = np.searchsorted(distinct, tags).astype(np.int32) + 1
    return np.where(tags > 0, dense, 0).astype(np.int32)


def build_item_features(parsed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The item table: row i = item i, row 0 (padding) forced to all zero, sparse tag
    ids renumbered (:func:`dense_tag_ids`).

    Args:
        parsed: :func:`mmctr.data.contract.parse_item_info` output.

    Returns:
        ``item_tags`` int32 (V, tags_width), ``item_emb`` float32 (V, emb_dim).
    """
    tags, emb = parsed["item_tags"].copy(), parsed["item_emb"].copy()
    if tags[0].any() or emb[0].any():
        logger.warning(
            "%s row 0 (padding item) is not all zero: zeroed", RAW_FILES["item_info"]
        )
        tags[0], emb[0] = 0, 0.0
    return {"item_tags": dense_tag_ids(tags), "item_emb": emb}


def infer_vocab(
    features: Mapping[str, Mapping[str, np.ndarray]],
    items: Mapping[str, np.ndarray],
    max_len: int,
) -> dict[str, int]:
    """Vocabulary sizes inferred from the data, each including the padding id 0.

    Args:
        features: split name → :func:`build_split_features` output (all splits).
        items: :func:`build_item_features` output.
        max_len: history length kept.

    Returns:
        ``{"item": len(item_info), "tag": max tag + 1, "likes"/"views": max level over
        all splits + 1, "max_len", "emb_dim", "num_tags"}``.
    """
    tags = items["item_tags"]
    return {
        "item": len(tags),
        "tag": int(tags.max(initial=0)) + 1,
        **{
            name: 1
            + max(int(f[f"{name}_level"].max(initial=0)) for f in features.values())
            for name in ("likes", "views")
        },
        "max_len": max_len,
        "emb_dim": int(items["item_emb"].shape[1]),
        "num_tags": int(tags.shape[1]),
    }


def degenerate_warnings(
    splits: Mapping[str, Mapping[str, Any]], item_emb: np.ndarray | None
) -> list[str]:
    """What makes the inputs degenerate though they pass the contract: no histories at
    all, item embeddings that are all zero or all the same, a single target item.

    Args:
        splits: the per-split profiles (``empty_history_share``, ``target_items``).
        item_emb: (V, D) item embeddings, row 0 the padding item (``None``: not checked).
    """
    warnings = []
    train = splits["train"]
    if train["empty_history_share"] == 1.0:
        warnings.append("no histories at all: every train row has an empty item_seq, so the "
                        "models see the target item only")
    real = np.zeros((0, 0)) if item_emb is None else np.asarray(item_emb)[1:]
    if real.size and not real.any():
        warnings.append("all-zero item embeddings: item_emb_d128 is 0 for every item, so the "
                        "multimodal input carries nothing")
    elif len(real) > 1 and (real == real[0]).all():
        warnings.append("constant item embeddings: every item has the same item_emb_d128, so "
                        "it cannot tell items apart")
    if train["target_items"] == 1:
        warnings.append("a single item: every train row has the same target item, so AUC "
                        "measures the history and levels only")
    return warnings


def plot_history_lengths(data_profile: Mapping[str, Any]) -> Figure:
    """Histogram of history lengths per split (share of the split's rows, log y).

    Args:
        data_profile: the feature stage's profile (holds the histogram).

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
