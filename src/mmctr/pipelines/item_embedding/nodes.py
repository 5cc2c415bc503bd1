"""item_embedding nodes: the item table's embedding, by a recipe, from the raw features.

``feature_engineering`` writes ``item_features`` with the shipped ``item_emb_d128``;
this stage writes ``item_features_embedded`` (same keys: ``item_tags`` unchanged,
``item_emb`` by the recipe of ``params:item_embedding.recipe``), the item table every
later stage reads (ARCHITECTURE.md §2). Recipes:

* ``provided`` — ``item_emb_d128`` as shipped (needs no raw features);
* ``concat_pca`` — the organisers' recipe: standardise, concatenate, PCA to ``dim``;
* ``per_modality_pca`` — PCA of each modality, blocks weighted and concatenated;
* ``whitened`` — PCA whitening of ``concat_pca`` or ``per_modality_pca`` (``whiten``);
* ``co_click`` — a torch projection of the raw features trained on train co-clicks
  (:mod:`mmctr.data.co_click`).

``item_feature.parquet`` is optional: without it every recipe falls back to ``provided``
(with a warning, and the report says so), so the chain runs as it did before this stage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from mmctr.data.embedding import (
    RECIPES,
    ItemEmbeddingConfig,
    co_click_pairs,
    compute_recipe,
    embedding_config,
    load_item_modalities,
)

__all__ = [
    "RECIPES",
    "ItemEmbeddingConfig",
    "co_click_pairs",
    "compute_recipe",
    "embed_items",
    "embedding_report",
    "load_item_modalities",
    "plot_embedding_report",
]

logger = logging.getLogger(__name__)

def embed_items(
    item_features: Mapping[str, np.ndarray],
    item_modalities: Mapping[str, np.ndarray],
    click_pairs: np.ndarray,
    params: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The item table with the recipe's embedding (ARCHITECTURE.md §2).

    Args:
        item_features: feature_engineering's item table (``item_tags``, ``item_emb``).
        item_modalities: :func:`load_item_modalities` output (empty without raw features).
        click_pairs: :func:`co_click_pairs` output.
        params: ``params:item_embedding``.

    Returns:
        ``item_features_embedded``: ``item_tags`` int32 (V, 5) unchanged, ``item_emb``
        float32 (V, d) (row 0 zero); and a dict describing what was computed
        (``recipe``, ``used``, ``dim``, ``info``, ``note``, and ``cache``: the recipes
        computed on the way, which the report reuses instead of recomputing them).
    """
    cfg = embedding_config(params)
    used, note = cfg.recipe, ""
    if not item_modalities and cfg.recipe != "provided":
        used = "provided"
        note = f"recipe {cfg.recipe!r} needs item_feature.parquet, which is absent: used 'provided'"
        logger.warning("item_embedding: %s", note)
    cache: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    emb, info = compute_recipe(used, cfg, item_features["item_emb"], item_modalities, click_pairs,
                               cache=cache)
    logger.info("item_embedding: recipe %r, %d items × %d", used, len(emb) - 1, emb.shape[1])
    table = {"item_tags": np.asarray(item_features["item_tags"]), "item_emb": emb}
    return table, {"recipe": cfg.recipe, "used": used, "dim": int(emb.shape[1]),
                   "info": info, "note": note, "cache": {**cache, used: (emb, info)}}


def _neighbours(emb: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """(Q, k) ids of each query's k most cosine-similar items (never itself nor 0)."""
    x = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))
    x = torch.nn.functional.normalize(x, dim=1)
    out = []
    for chunk in torch.from_numpy(queries.astype(np.int64)).split(256):
        scores = x[chunk] @ x.T  # (c, V)
        scores[:, 0] = -np.inf
        scores[torch.arange(len(chunk)), chunk] = -np.inf
        out.append(scores.topk(k, dim=1).indices)
    return torch.cat(out).numpy()


def embedding_report(
    item_features: Mapping[str, np.ndarray],
    item_modalities: Mapping[str, np.ndarray],
    item_features_embedded: Mapping[str, np.ndarray],
    embedding_info: Mapping[str, Any],
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Explained variance per modality and top-k neighbour agreement between recipes.

    Every recipe of ``report.recipes`` (plus the one used) is computed; ``co_click`` is
    only taken from the embedded table (training it again would cost minutes).

    Returns:
        The report dict (``recipe``, ``used``, ``dim``, ``note``, ``explained_variance``:
        {block: cumulative ratios}, ``neighbour_agreement``: {``k``, ``queries``,
        ``recipes``, ``matrix``}, ``info``) and the agreement matrix as a frame (one row
        per recipe: mean share of the k neighbours two recipes have in common).
    """
    cfg = embedding_config(params)
    rep = cfg.report_config
    used = embedding_info["used"]
    wanted = [r for r in rep.recipes if item_modalities or r == "provided"]
    wanted = [r for r in wanted if r != "co_click"]
    names = list(dict.fromkeys([*wanted, used]))
    n_items = len(item_features["item_emb"]) - 1
    rng = np.random.default_rng(rep.seed)
    queries = np.sort(rng.choice(np.arange(1, n_items + 1), min(rep.queries, n_items), replace=False))
    k = max(1, min(rep.k, n_items - 1))
    variance: dict[str, list[float]] = {}
    neighbours = {}
    cache = dict(embedding_info.get("cache", {}))
    cache[used] = (item_features_embedded["item_emb"], embedding_info["info"])
    for name in sorted(names, key=lambda n: n != cfg.whiten):  # whitened reuses its base
        emb, info = compute_recipe(name, cfg, item_features["item_emb"], item_modalities,
                                   cache=cache)
        cache[name] = (emb, info)
        for block, ratio in info.items():
            if isinstance(ratio, list):
                variance.setdefault(block, np.cumsum(ratio).tolist())
        neighbours[name] = _neighbours(emb, queries, k)
    matrix = np.array([[np.mean([len(np.intersect1d(a, b)) / k for a, b in
                                 zip(neighbours[r], neighbours[c], strict=True)])
                        for c in names] for r in names])
    frame = pd.DataFrame(matrix, index=pd.Index(names, name="recipe"), columns=names).reset_index()
    report = {
        "recipe": embedding_info["recipe"], "used": used, "dim": embedding_info["dim"],
        "note": embedding_info["note"], "items": n_items,
        "explained_variance": variance,
        "neighbour_agreement": {"k": k, "queries": len(queries), "recipes": names,
                                "matrix": matrix.round(4).tolist()},
        "info": {key: value for key, value in embedding_info["info"].items()
                 if not isinstance(value, list)},
    }
    logger.info("item_embedding report: %s", frame.round(3).to_dict(orient="records"))
    return report, frame


def plot_embedding_report(report: Mapping[str, Any]) -> Figure:
    """Cumulative explained variance per modality and the neighbour-agreement heatmap."""
    fig = Figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    for block, curve in report["explained_variance"].items():
        left.plot(np.arange(1, len(curve) + 1), curve, label=block)
    if not report["explained_variance"]:
        left.text(0.5, 0.5, "no raw features (item_feature.parquet absent)",
                  ha="center", va="center", transform=left.transAxes)
    left.set_xlabel("principal components")
    left.set_ylabel("cumulative explained variance")
    left.set_ylim(0, 1)
    left.set_title("Explained variance per modality")
    if report["explained_variance"]:
        left.legend()
    agree = report["neighbour_agreement"]
    matrix = np.asarray(agree["matrix"])
    image = right.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    names = agree["recipes"]
    right.set_xticks(range(len(names)), names, rotation=30, ha="right")
    right.set_yticks(range(len(names)), names)
    for (i, j), value in np.ndenumerate(matrix):
        right.text(j, i, f"{value:.2f}", ha="center", va="center",
                   color="w" if value < 0.6 else "k", fontsize=8)
    right.set_title(f"Top-{agree['k']} neighbour agreement ({agree['queries']} items)")
    fig.colorbar(image, ax=right)
    fig.suptitle(f"Item embedding: recipe {report['used']!r}, {report['dim']} dims")
    fig.tight_layout()
    return fig
