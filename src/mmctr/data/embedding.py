"""Item-embedding recipes as one call: the configuration of ``params:item_embedding``,
the raw modalities aligned with the item table, and :func:`compute_recipe`.

A library below the stages: the ``item_embedding`` stage, the ablation's recipe variants
and the synthetic generator all compute item tables through it (no stage imports another).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mmctr.config import from_params
from mmctr.data import recipes
from mmctr.data.co_click import CoClickConfig, click_pairs, train_projection
from mmctr.data.item_contract import parse_item_feature

__all__ = [
    "RECIPES",
    "ItemEmbeddingConfig",
    "ModalityConfig",
    "ReportConfig",
    "co_click_pairs",
    "compute_recipe",
    "embedding_config",
    "load_item_modalities",
]

logger = logging.getLogger(__name__)

RECIPES = ("provided", "concat_pca", "per_modality_pca", "whitened", "co_click")
_WHITENABLE = ("concat_pca", "per_modality_pca")


@dataclasses.dataclass(frozen=True)
class ModalityConfig:
    """One entry of ``params:item_embedding.modalities``."""

    column: str  # list column of item_feature.parquet
    width: int  # expected list length
    dim: int = 64  # components kept by per_modality_pca
    weight: float = 1.0  # weight of this modality's block in per_modality_pca


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    """``params:item_embedding.report``."""

    recipes: tuple[str, ...] = ("provided", "concat_pca", "per_modality_pca", "whitened")
    queries: int = 2000  # items whose top-k neighbours are compared across recipes
    k: int = 10
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class ItemEmbeddingConfig:
    """The ``params:item_embedding`` block (nested blocks checked at once)."""

    recipe: str = "provided"
    dim: int = 128  # output width of concat_pca and co_click
    modalities: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    whiten: str = "concat_pca"  # the recipe that `whitened` whitens
    svd_solver: str = "randomized"  # scikit-learn PCA solver
    seed: int = 0  # randomized PCA's random_state
    iterated_power: int | str = 4  # randomized PCA's power iterations ("auto": 7 here)
    co_click: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    report: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = "params:item_embedding"
        if self.recipe not in RECIPES:
            raise ValueError(f"{where}.recipe: unknown recipe {self.recipe!r}; known: {list(RECIPES)}")
        if self.whiten not in _WHITENABLE:
            raise ValueError(f"{where}.whiten: expected one of {list(_WHITENABLE)}, got {self.whiten!r}")
        if self.dim < 1:
            raise ValueError(f"{where}.dim must be >= 1")
        unknown = sorted(set(self.report_config.recipes) - set(RECIPES))
        if unknown:
            raise ValueError(f"{where}.report.recipes: unknown recipe(s) {unknown}")
        for name, modality in self.modality_configs.items():
            if modality.width < 1 or modality.dim < 1 or modality.weight < 0:
                raise ValueError(f"{where}.modalities.{name}: width, dim >= 1 and weight >= 0")
        self.co_click_config  # noqa: B018 - validates the block now

    @property
    def modality_configs(self) -> dict[str, ModalityConfig]:
        return {name: from_params(ModalityConfig, block, f"params:item_embedding.modalities.{name}")
                for name, block in self.modalities.items()}

    @property
    def co_click_config(self) -> CoClickConfig:
        return from_params(CoClickConfig, self.co_click, "params:item_embedding.co_click")

    @property
    def report_config(self) -> ReportConfig:
        return from_params(ReportConfig, self.report, "params:item_embedding.report")


def embedding_config(params: Mapping[str, Any] | None) -> ItemEmbeddingConfig:
    return from_params(ItemEmbeddingConfig, params, "params:item_embedding")


def load_item_modalities(
    raw_item_feature: pd.DataFrame | None,
    item_features: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """Check ``item_feature.parquet`` and align it with the item table.

    Args:
        raw_item_feature: the raw table, or ``None`` when the (optional) file is absent.
        item_features: feature_engineering's item table (gives the number of items).
        params: ``params:item_embedding``.

    Returns:
        modality name → float32 (V, width), row i = item i, row 0 zero; ``{}`` without
        the file (Kedro refuses to save ``None``).

    Raises:
        RawDataError: naming the file, column, first offending row and what was expected.
    """
    cfg = embedding_config(params)
    if raw_item_feature is None:
        logger.info("No item_feature.parquet: only the recipe 'provided' is available")
        return {}
    columns = {name: (m.column, m.width) for name, m in cfg.modality_configs.items()}
    _prompt_arrow_release()
    return parse_item_feature(raw_item_feature, len(item_features["item_emb"]), columns)


def _prompt_arrow_release() -> None:
    """Have pyarrow's jemalloc pool hand freed memory back at once (the raw table, 0.66 GB
    at the real scale, is freed after this node; by default jemalloc keeps it for seconds,
    through the PCA that follows). Process-wide and harmless; a no-op on other pools."""
    try:
        if pa.default_memory_pool().backend_name == "jemalloc":
            pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # pragma: no cover - pyarrow built without jemalloc
        pass


def co_click_pairs(train_features: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """The co-click pairs of the train split, read only when ``co_click`` is wanted.

    Args:
        train_features: the train split (never valid or test: no leakage).
        params: ``params:item_embedding``.

    Returns:
        int32 (P, 2) pairs (see :func:`.co_click.click_pairs`); (0, 2) when neither the
        recipe nor the report uses ``co_click`` (the train arrays are then not read).
    """
    cfg = embedding_config(params)
    if "co_click" not in (cfg.recipe, *cfg.report_config.recipes):
        return np.zeros((0, 2), dtype=np.int32)
    return click_pairs(train_features, cfg.co_click_config)


def compute_recipe(
    recipe: str,
    cfg: ItemEmbeddingConfig,
    provided: np.ndarray,
    modalities: Mapping[str, np.ndarray] | None,
    pairs: np.ndarray | None = None,
    cache: dict[str, tuple[np.ndarray, dict[str, Any]]] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One recipe's item embedding.

    Args:
        recipe: one of :data:`RECIPES`.
        cfg: the stage's configuration.
        provided: float32 (V, 128) ``item_emb_d128`` as shipped.
        modalities: modality name → (V, width) raw features; empty (or ``None``) without them.
        pairs: (P, 2) co-click pairs (``co_click`` only).
        cache: recipe → result already computed with the same ``cfg``: read first, and
            filled with the base of ``whitened`` / the input PCA of ``co_click``.

    Returns:
        ``(emb, info)``: float32 (V, d), row 0 zero; ``info`` holds the explained-variance
        ratios of the PCA recipes (per modality or ``concat``) or co_click's losses.
    """
    if cache is not None and recipe in cache:
        return cache[recipe]
    if recipe == "provided":
        return np.array(provided, dtype=np.float32), {}
    if not modalities:
        raise ValueError(f"item_embedding recipe {recipe!r} needs item_feature.parquet")
    pca_args = {"svd_solver": cfg.svd_solver, "seed": cfg.seed, "iterated_power": cfg.iterated_power}
    mods = cfg.modality_configs
    if recipe == "concat_pca":
        return recipes.concat_pca(modalities, cfg.dim, **pca_args)
    if recipe == "per_modality_pca":
        return recipes.per_modality_pca(
            modalities, {n: m.dim for n, m in mods.items()},
            {n: m.weight for n, m in mods.items()}, **pca_args)
    if recipe == "whitened":
        base, info = compute_recipe(cfg.whiten, cfg, provided, modalities, cache=cache)
        return recipes.whiten(base), {**info, "whitened": cfg.whiten}
    if recipe == "co_click":
        cc = cfg.co_click_config
        inputs, pca_info = recipes.concat_pca(modalities, cc.input_dim, **pca_args)
        if cache is not None and cc.input_dim == cfg.dim:  # its input is concat_pca itself
            cache["concat_pca"] = (inputs, pca_info)
        dim = min(cfg.dim, inputs.shape[1])  # fewer items than dims: PCA keeps fewer
        emb, info = train_projection(inputs, pairs if pairs is not None else np.zeros((0, 2)), dim, cc)
        return recipes.largest_unit(emb), info
    raise ValueError(f"unknown item_embedding recipe {recipe!r}; known: {list(RECIPES)}")
