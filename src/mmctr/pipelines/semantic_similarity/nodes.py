"""Nodes of the ``semantic_similarity`` stage (ARCHITECTURE.md §3).

Item semantics are computed once per item table: L2-normalised embeddings, each item's
top-k most cosine-similar items (VQ-style codes), and residual-quantization codes. Per
split, every row gets the cosine similarity of its target to each history item and four
summary statistics. The array work lives in :mod:`mmctr.data.kernels`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmctr.data.kernels import (
    collab_stats,
    history_similarity,
    l2_normalise,
    residual_quantize,
    row_statistics,
    topk_cosine,
)
from mmctr.engine.batching import item_occurrences
from mmctr.pipelines.semantic_similarity.config import (
    SemanticSimilarityConfig,
    semantic_similarity_config,
)

__all__ = [
    "assemble_item_semantics",
    "item_popularity",
    "normalise_embeddings",
    "residual_quantization",
    "split_similarity",
    "top_k_neighbours",
]

logger = logging.getLogger(__name__)
def normalise_embeddings(item_features: dict[str, np.ndarray]) -> np.ndarray:
    """L2-normalise the frozen item embeddings.

    Args:
        item_features: dict with ``item_emb`` float32 (V, 128); row 0 is padding.

    Returns:
        float32 (V, 128) with unit rows; all-zero rows (padding included) stay zero.
    """
    emb = l2_normalise(item_features["item_emb"])
    zero = int((~emb.any(axis=1)).sum())
    logger.info(
        "Normalised %d item embeddings (%d all-zero, padding included)", len(emb), zero
    )
    return emb


def top_k_neighbours(
    item_emb: np.ndarray, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Each item's ``top_k`` most cosine-similar items, never itself nor the padding item.

    Args:
        item_emb: normalised float32 (V, D).
        params: ``params:semantic_similarity``.

    Returns:
        ``{"neighbors": int32 (V, k), "neighbor_scores": float32 (V, k)}``, best first;
        row 0 all 0.
    """
    cfg = semantic_similarity_config(params)
    ids, scores = topk_cosine(
        item_emb, cfg.top_k, cfg.topk_chunk_size, cfg.torch_device
    )
    logger.info(
        "Top-%d neighbours: mean best score %.4f",
        cfg.top_k,
        float(scores[1:, 0].mean()),
    )
    return {"neighbors": ids, "neighbor_scores": scores}


def residual_quantization(
    item_emb: np.ndarray, params: dict[str, Any]
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any], Figure]:
    """Residual-quantize the normalised embeddings into ``rq_layers`` codes per item.

    Args:
        item_emb: normalised float32 (V, D).
        params: ``params:semantic_similarity``.

    Returns:
        ``(rq_codes, rq_codebooks, rq_report, rq_reconstruction_plot)``: int32 (V, L) codes
        1..C (row 0 all 0); ``{"layer_0": (C, D), ...}``; the reconstruction error before
        any layer and after each (mean squared error per coordinate and relative error
        ``Σ‖x − x̂‖² / Σ‖x‖²`` over the real items); a figure of both against L.
    """
    cfg = semantic_similarity_config(params)
    codes, codebooks, sq_err = residual_quantize(
        item_emb,
        layers=cfg.rq_layers,
        codes=cfg.rq_codes,
        fit_sample=cfg.rq_fit_sample,
        seed=cfg.seed,
        init=cfg.rq_init,
        n_init=cfg.rq_n_init,
        max_iter=cfg.rq_max_iter,
    )
    num_items, dim = item_emb.shape[0] - 1, item_emb.shape[1]
    mse = sq_err / max(num_items * dim, 1)
    relative = sq_err / max(sq_err[0], 1e-30)
    report = {
        "items": num_items,
        "fit_sample": min(cfg.rq_fit_sample, int(item_emb[1:].any(axis=1).sum())),
        "codes_per_layer": cfg.rq_codes,
        "seed": cfg.seed,
        "init": cfg.rq_init,
        "layers": [
            {
                "layers": n,
                "mse": float(mse[n]),
                "relative_error": float(relative[n]),
                "codes_used": int(np.unique(codes[1:, n - 1]).size) if n else 0,
            }
            for n in range(cfg.rq_layers + 1)
        ],
        "final_mse": float(mse[-1]),
        "final_relative_error": float(relative[-1]),
    }
    return (
        codes,
        {f"layer_{i}": book for i, book in enumerate(codebooks)},
        report,
        _reconstruction_figure(mse, relative, cfg.rq_codes),
    )


def _reconstruction_figure(mse: np.ndarray, relative: np.ndarray, codes: int) -> Figure:
    fig = Figure(figsize=(8, 3.2))  # no pyplot: no global state, no backend switch
    layers = np.arange(len(mse))
    for ax, values, label in zip(
        fig.subplots(1, 2),
        (mse, relative),
        ("mean squared error", "relative error"),
        strict=True,
    ):
        ax.plot(layers, values, marker="o")
        ax.set_xlabel("RQ layers")
        ax.set_ylabel(label)
        ax.set_xticks(layers)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"Residual quantization reconstruction error ({codes} codes per layer)"
    )
    fig.tight_layout()
    return fig


def item_popularity(
    train_features: dict[str, np.ndarray], vocab: dict[str, int]
) -> dict[str, np.ndarray]:
    """How often each item occurs in the train split: as the target, inside histories.

    Computed on train only (no label is read), so valid and test rows see the same
    counts a deployed model would.

    Args:
        train_features: the train split's arrays (``item_id``, ``item_seq``).
        vocab: vocabulary sizes (``item``).

    Returns:
        ``{"target_count", "history_count"}``: float32 (V,) each; row 0 (padding) is 0.
    """
    target, history = item_occurrences(
        train_features["item_id"], train_features["item_seq"], int(vocab["item"])
    )
    return {
        "target_count": target.astype(np.float32),
        "history_count": history.astype(np.float32),
    }


def split_similarity(
    features: dict[str, np.ndarray],
    item_emb: np.ndarray,
    params: dict[str, Any],
    item_features: dict[str, np.ndarray] | None = None,
    popularity: dict[str, np.ndarray] | None = None,
    item_collab: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Cosine similarity of each row's target to its history items, and summary statistics.

    Args:
        features: a split's feature arrays: ``item_seq`` int32 (N, T) left-padded 0, newest
            last; ``item_id`` int32 (N,).
        item_emb: normalised float32 (V, D).
        params: ``params:semantic_similarity``.
        item_features: the item table (``item_tags``); with ``popularity``, adds
            ``row_stats``.
        popularity: train counts per item, from :func:`item_popularity`.
        item_collab: the collaborative stage's factors; adds ``collab_stats``.

    Returns:
        ``{"hist_sim": float32 (N, T), "sim_stats": float32 (N, 4)}``; ``hist_sim`` is 0 at
        padding; ``sim_stats`` = [max, mean, newest, count above threshold] over the real
        history items, all 0 for an empty history. With the item table and popularity,
        also ``row_stats`` float32 (N, len(ROW_STATS)) (:func:`row_statistics`). With the
        collaborative factors, ``collab_stats`` float32 (N, len(COLLAB_STATS)): the same
        cosines on the factors (:func:`mmctr.data.kernels.collab_stats`).
    """
    cfg = semantic_similarity_config(params)
    hist_sim, sim_stats = history_similarity(
        features["item_seq"],
        features["item_id"],
        item_emb,
        cfg.threshold,
        cfg.chunk_size,
        cfg.torch_device,
    )
    logger.info(
        "History similarity of %d rows: mean max %.4f, mean count above %.2f: %.2f",
        len(sim_stats),
        float(sim_stats[:, 0].mean()) if len(sim_stats) else 0.0,
        cfg.threshold,
        float(sim_stats[:, 3].mean()) if len(sim_stats) else 0.0,
    )
    out = {"hist_sim": hist_sim, "sim_stats": sim_stats}
    if item_features is not None and popularity is not None:
        out["row_stats"] = row_statistics(
            features["item_seq"],
            features["item_id"],
            item_emb,
            item_features["item_tags"],
            hist_sim,
            np.stack([popularity["target_count"], popularity["history_count"]], axis=1),
            cfg.chunk_size,
            cfg.torch_device,
        )
    if item_collab is not None:
        out["collab_stats"] = _collab_stats(features, item_collab, cfg)
    return out


def _collab_stats(
    features: dict[str, np.ndarray], item_collab: dict[str, np.ndarray],
    cfg: SemanticSimilarityConfig,
) -> np.ndarray:
    """``collab_stats`` of one split; logs how many rows fall back on content."""
    stats = collab_stats(features["item_seq"], features["item_id"], item_collab,
                         cfg.threshold, cfg.chunk_size, cfg.torch_device)
    if len(stats):
        logger.info("Collaborative statistics of %d rows: %.1f%% of targets without a factor "
                    "(content only), mean max cosine %.4f", len(stats),
                    100 * (1 - stats[:, 6].mean()), float(stats[:, 0].mean()))
    return stats


def assemble_item_semantics(
    neighbours: dict[str, np.ndarray],
    rq_codes: np.ndarray,
    item_collab: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Join the per-item semantic arrays into ``item_semantics``.

    Args:
        neighbours: ``{"neighbors": int32 (V, k), "neighbor_scores": float32 (V, k)}``.
        rq_codes: int32 (V, L).
        item_collab: the collaborative stage's factors (optional).

    Returns:
        ``{"neighbors", "neighbor_scores", "rq_codes"}`` (ARCHITECTURE.md §3), and
        ``collab`` float32 (V, d), the unit collaborative factors (zero rows: no factor),
        with ``item_collab``.

    Raises:
        ValueError: when the item counts differ.
    """
    if len(neighbours["neighbors"]) != len(rq_codes):
        raise ValueError(
            f"neighbours cover {len(neighbours['neighbors'])} items, codes {len(rq_codes)}"
        )
    out = {
        "neighbors": neighbours["neighbors"].astype(np.int32, copy=False),
        "neighbor_scores": neighbours["neighbor_scores"].astype(np.float32, copy=False),
        "rq_codes": rq_codes.astype(np.int32, copy=False),
    }
    if item_collab is not None:
        out["collab"] = l2_normalise(item_collab["factors"])
    return out
