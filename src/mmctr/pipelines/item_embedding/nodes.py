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
  (:mod:`.co_click`).

``item_feature.parquet`` is optional: without it every recipe falls back to ``provided``
(with a warning, and the report says so), so the chain runs as it did before this stage.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from matplotlib.figure import Figure

from mmctr.config import from_params
from mmctr.pipelines.item_embedding import recipes
from mmctr.pipelines.item_embedding.co_click import (
    CoClickConfig,
    click_pairs,
    train_projection,
)
from mmctr.pipelines.item_embedding.validation import parse_item_feature

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


def _config(params: Mapping[str, Any] | None) -> ItemEmbeddingConfig:
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
    cfg = _config(params)
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
    cfg = _config(params)
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
    cfg = _config(params)
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
    cfg = _config(params)
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
