"""Ablation variants that name an item-embedding recipe (``item_embedding: <recipe>``).

Such a variant trains the same model on the same data and budget as the others, on an
item table whose ``item_emb`` is that recipe's embedding, computed here from the raw
features (``item_feature.parquet``) with ``params:item_embedding`` (the recipe name, or a
mapping of overrides such as ``{recipe: per_modality_pca, modalities: {...}}``).
Similarity and quantization features stay those of the pipeline's embedding, so a recipe
row measures the embedding the model reads, through a model that reads tags and ``emb``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mmctr.config import deep_merge, from_params
from mmctr.data.embedding import (
    ItemEmbeddingConfig,
    co_click_pairs,
    compute_recipe,
    load_item_modalities,
)
from mmctr.pipelines.ablation.config import VARIANT_KEY, ablation_config

__all__ = ["VARIANT_KEY", "recipe_item_tables", "variant_recipe"]

logger = logging.getLogger(__name__)

def variant_recipe(
    variant: Mapping[str, Any], item_params: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``params:item_embedding`` for a variant naming a recipe, else ``None``."""
    spec = variant.get(VARIANT_KEY)
    if spec is None:
        return None
    overrides = {"recipe": spec} if isinstance(spec, str) else dict(spec)
    return deep_merge(item_params, overrides)


def recipe_item_tables(
    raw_item_feature: pd.DataFrame | None,
    item_features: Mapping[str, np.ndarray],
    train_features: Mapping[str, np.ndarray],
    item_params: Mapping[str, Any],
    params: Mapping[str, Any],
) -> dict[str, dict[str, np.ndarray]]:
    """The item table of every selected variant that names a recipe.

    Args:
        raw_item_feature: the raw features (``None`` when absent: refused if needed).
        item_features: feature_engineering's item table (the shipped embedding).
        train_features: the train split (the learned recipe's clicks; never valid/test).
        item_params: ``params:item_embedding``.
        params: ``params:ablation``.

    Returns:
        variant name → ``{"item_tags", "item_emb"}`` for those variants only.

    Raises:
        ValueError: a variant needs raw features and ``item_feature.parquet`` is absent.
    """
    selected = ablation_config(params).selected
    wanted = {name: variant_recipe(overrides, item_params)
              for name, overrides in selected.items()}
    wanted = {name: p for name, p in wanted.items() if p is not None}
    if not wanted:
        return {}
    modalities = None
    if any(p["recipe"] != "provided" for p in wanted.values()):
        if raw_item_feature is None:
            raise ValueError(
                f"ablation variants {sorted(wanted)} name item-embedding recipes that need "
                "item_feature.parquet (raw_item_feature), which is absent"
            )
        modalities = load_item_modalities(raw_item_feature, item_features, item_params)
    tables = {}
    for name, p in wanted.items():
        cfg = from_params(ItemEmbeddingConfig, p, f"params:ablation.variants.{name}.{VARIANT_KEY}")
        pairs = co_click_pairs(train_features, p) if cfg.recipe == "co_click" else None
        emb, _ = compute_recipe(cfg.recipe, cfg, item_features["item_emb"], modalities, pairs)
        logger.info("ablation %s: item embedding %r, %d dims", name, cfg.recipe, emb.shape[1])
        tables[name] = {"item_tags": np.asarray(item_features["item_tags"]), "item_emb": emb}
    return tables
