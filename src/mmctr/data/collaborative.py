"""Collaborative item factors from the train split's histories (no Kedro).

Which items the same users consume together, whatever their content says: every train
row's newest ``window`` history items form a basket; items that share baskets get close
factors. The recipe is the classic SVD of the positive pointwise mutual information
(PPMI) of item co-occurrence (Levy & Goldberg 2014: the closed form of item2vec /
skip-gram with negative sampling), factorised by scikit-learn's ``TruncatedSVD``:

1. ``X`` (baskets × items) binary, a basket per user (every item of the user's train
   histories) or per row; ``C = XᵀX`` with a zero diagonal: how many baskets hold both
   items (an item repeated in one basket counts once);
2. ``PPMI_ij = max(0, log(C_ij · Σ / (c_i · c̃_j)))`` with ``c̃ = c^α`` (context
   smoothing, ``α = 0.75``: rare items' PMI is not inflated);
3. each item's ``links`` most co-consumed items (``C_ij ≥ min_pairs``, positive PMI) are
   kept with their PMI (:func:`item_links`): exact evidence for the pair lookups of
   ``mmctr.data.kernels.collaborative_statistics``;
4. ``TruncatedSVD(dim)`` of the symmetric PPMI of those links → ``U Σ^½`` per item.

Only histories are read: no label, no target, so no train row's own answer can reach its
features (a target clicked in row r paired with r's history would put r's label into
r's collaborative similarity). Items with fewer than ``min_count`` baskets get a zero
factor and ``has_factor = 0``: they fall back on content.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD

from mmctr.config import from_params

__all__ = [
    "CollaborativeConfig",
    "FactorSettings",
    "basket_matrix",
    "block_links",
    "collab_of_baskets",
    "collaborative_config",
    "cooccurrence",
    "cooccurrence_totals",
    "factors_from_links",
    "item_factors",
    "item_blocks",
    "item_links",
    "links_of_baskets",
    "pmi_values",
    "run_facts",
]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FactorSettings:
    """How the factors are made (the stage's ``params:collaborative`` holds these keys)."""

    dim: int = 32  # factor width (SVD components)
    window: int = 20  # newest history items of a row that form its basket
    min_count: int = 3  # baskets an item needs for a factor of its own
    smoothing: float = 0.75  # context-count exponent of the PMI (0.75: word2vec's)
    dedupe: bool = True  # identical baskets count once
    by_user: bool = True  # one basket per user (the union of the user's rows), else per row
    svd_iterations: int = 7  # randomized SVD power iterations (scikit-learn default 5)
    links: int = 200  # most co-consumed items kept per item (exact PMI lookups)
    min_pairs: int = 2  # shared baskets a kept link needs (a single one is mostly chance)
    # bound on Σ basket size² (the co-occurrence product's work and memory): beyond it a
    # seeded random share of the baskets is used (logged)
    pair_budget: int = 300_000_000
    # pair products per block of items whose co-occurrence rows are made at once (bounds
    # the memory of the pair count: ~40 B per product)
    block_pairs: int = 10_000_000
    seed: int = 2025


@dataclasses.dataclass(frozen=True)
class CollaborativeConfig(FactorSettings):
    """``params:collaborative``: the factor settings plus what the report shows."""

    neighbours: int = 5  # nearest neighbours listed per example item
    examples: int = 6  # example items (the most frequent ones and some of middling frequency)

    def __post_init__(self) -> None:
        for name in ("dim", "window", "min_count", "svd_iterations", "neighbours", "examples",
                     "links", "min_pairs", "pair_budget", "block_pairs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"collaborative.{name} must be >= 1")
        if not 0 < self.smoothing <= 1:
            raise ValueError("collaborative.smoothing must be in (0, 1]")

    @property
    def factor_settings(self) -> FactorSettings:
        """The keys :func:`mmctr.data.collaborative.item_factors` reads."""
        names = {f.name for f in dataclasses.fields(FactorSettings)}
        return FactorSettings(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})


def collaborative_config(params: Mapping[str, Any] | None) -> CollaborativeConfig:
    """Build the configuration (unknown keys raise)."""
    return from_params(CollaborativeConfig, params, "params:collaborative")


def basket_matrix(
    item_seq: np.ndarray, num_items: int, cfg: FactorSettings,
    user_id: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """Binary baskets × items matrix of the rows' newest ``window`` history items.

    With ``by_user`` and ``user_id``, a user's rows form one basket (the items the user
    consumed in any train history): co-consumption by the same user, as in a user × item
    matrix, whose evidence a single short history holds little of.

    With ``dedupe``, identical baskets count once: real logs repeat a user's history in
    every impression row of a session, which would weigh active users' pairs by their
    number of impressions.

    Args:
        item_seq: int (N, T) histories, left-padded with 0, newest last.
        num_items: item vocabulary size V (ids 0..V-1; 0 is padding and never counted).
        cfg: the factor settings.
        user_id: (N,) the rows' users (needed for ``by_user``).

    Returns:
        float32 CSR (B, V), one row per non-empty basket, entries 1.
    """
    seq = np.asarray(item_seq)[:, -cfg.window:]
    nonempty = (seq != 0).any(axis=1)
    seq = seq[nonempty]
    owner = np.arange(len(seq))
    if cfg.by_user and user_id is not None:
        _, owner = np.unique(np.asarray(user_id)[nonempty], return_inverse=True)
    elif cfg.dedupe and len(seq):
        seq = _unique_rows(seq)
        owner = np.arange(len(seq))
    rows, cols = np.nonzero(seq)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (owner[rows], seq[rows, cols])),
        shape=(int(owner.max()) + 1 if len(owner) else 0, num_items),
    )
    matrix.data[:] = 1.0  # an item repeated within a basket counts once (duplicates summed)
    return _within_budget(matrix, cfg)


def _within_budget(matrix: sparse.csr_matrix, cfg: FactorSettings) -> sparse.csr_matrix:
    """A seeded random share of the baskets when Σ size² exceeds ``cfg.pair_budget``."""
    sizes = np.diff(matrix.indptr).astype(np.float64)
    work = float((sizes**2).sum())
    if work <= cfg.pair_budget:
        return matrix
    keep = np.random.default_rng(cfg.seed).random(len(sizes)) < cfg.pair_budget / work
    logger.warning("collaborative: %.2e pair products exceed pair_budget %.2e: using a random "
                   "%.0f%% of the %d baskets", work, cfg.pair_budget, 100 * keep.mean(), len(sizes))
    return matrix[keep]


def _unique_rows(seq: np.ndarray) -> np.ndarray:
    """Rows of ``seq`` with duplicates dropped (by a 64-bit hash of the row), in order."""
    weights = np.random.default_rng(0).integers(1, 2**62, seq.shape[1], dtype=np.uint64)
    keys = (seq.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    _, first = np.unique(keys, return_index=True)
    return seq[np.sort(first)]


def cooccurrence(baskets: sparse.csr_matrix, by_item: sparse.csc_matrix | None = None,
                 lo: int = 0, hi: int | None = None) -> sparse.csr_matrix:
    """Baskets holding both items: rows ``lo…hi−1`` (all by default) of the co-occurrence,
    float64 CSR (hi − lo, V), no item with itself, sorted indices.

    Args:
        baskets: binary (B, V) CSR; ``by_item`` the same as CSC (made when not given).
        lo, hi: the items whose rows are made.
    """
    by_item = baskets.tocsc() if by_item is None else by_item
    hi = baskets.shape[1] if hi is None else hi
    co = (by_item[:, lo:hi].T @ baskets).tocsr().astype(np.float64)  # (hi - lo, V)
    co.setdiag(0.0, k=lo)  # no item co-occurs with itself
    co.eliminate_zeros()
    co.sort_indices()
    return co


def pmi_values(co: sparse.csr_matrix, smoothing: float, count: np.ndarray | None = None,
               first_row: int = 0) -> np.ndarray:
    """PMI of every stored pair of ``co`` (aligned with ``co.data``; may be negative).

    Args:
        co: co-occurrence counts, the whole matrix or the rows ``first_row…`` of it.
        smoothing: context-count exponent α.
        count: (V,) every item's co-occurrences (:func:`cooccurrence_totals`); None: the row
            sums of ``co``, which must then be the whole matrix.
        first_row: the item of ``co``'s first row.
    """
    if count is None:
        count = np.asarray(co.sum(axis=1)).ravel()  # (V,) co-occurrences of each item
    if count.sum() == 0:
        return np.zeros(co.nnz)
    context = count**smoothing
    rows = first_row + np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
    return np.log(co.data * context.sum() / (count[rows] * context[co.indices]))


def cooccurrence_totals(baskets: sparse.csr_matrix) -> np.ndarray:
    """Every item's co-occurrences, ``Σ_j C_ij`` = Σ over its baskets of (size − 1), float64 (V,):
    the row sums of :func:`cooccurrence` without making it."""
    sizes = np.diff(baskets.indptr).astype(np.float64)
    return np.asarray(baskets.T @ (sizes - 1.0)).ravel()


def item_blocks(baskets: sparse.csr_matrix, block_pairs: int, at_least: int = 1
                ) -> list[tuple[int, int]]:
    """Ranges of item ids whose co-occurrence rows hold about ``block_pairs`` pair products
    each (at least ``at_least`` ranges): the pieces :func:`block_links` works on."""
    sizes = np.diff(baskets.indptr).astype(np.float64)
    work = np.asarray(baskets.T @ sizes).ravel()  # (V,) pair products of each item's row
    blocks = max(at_least, int(np.ceil(work.sum() / max(block_pairs, 1))), 1)
    edges = np.searchsorted(np.cumsum(work), work.sum() * np.arange(1, blocks) / blocks)
    bounds = np.unique(np.concatenate([[0], edges, [baskets.shape[1]]]))
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def block_links(baskets: sparse.csr_matrix, by_item: sparse.csc_matrix, count: np.ndarray,
                lo: int, hi: int, cfg: FactorSettings) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`item_links` of the items ``lo…hi−1``, from their rows of the co-occurrence.

    Args:
        baskets: binary (B, V) CSR; ``by_item`` the same as CSC (column slices).
        count: :func:`cooccurrence_totals` of ``baskets``.
        lo, hi: the item range.
        cfg: the factor settings.

    Returns:
        ``(ids, pmi, positive)``: (hi − lo, links) each and the number of positive-PMI pairs.
    """
    co = cooccurrence(baskets, by_item, lo, hi)
    pmi = pmi_values(co, cfg.smoothing, count, lo)
    ids, values = item_links(co, pmi, cfg.links, cfg.min_pairs)
    return ids, values, int((pmi > 0).sum())


def links_of_baskets(baskets: sparse.csr_matrix, cfg: FactorSettings
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """Every item's links (:func:`item_links`), one block of items at a time
    (:func:`block_links`), so the co-occurrence matrix is never held whole.

    Returns:
        ``(ids, pmi, positive)``: (V, links) each, and the positive-PMI pairs.
    """
    by_item, count = baskets.tocsc(), cooccurrence_totals(baskets)
    parts = [block_links(baskets, by_item, count, lo, hi, cfg)
             for lo, hi in item_blocks(baskets, cfg.block_pairs)]
    if not parts:
        width = (0, cfg.links)
        return np.zeros(width, np.int32), np.zeros(width, np.float32), 0
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            sum(p[2] for p in parts))


def item_links(
    co: sparse.csr_matrix, pmi: np.ndarray, links: int, min_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's ``links`` most co-consumed items (positive PMI, at least ``min_pairs``
    shared baskets), by shared baskets then PMI: the exact item-item evidence that a
    low-rank factor blurs (many small groups need more dimensions than any factor has).

    Returns:
        ``(ids, pmi)``: int32 (V, links) (0 = none) and float32 (V, links), best first.
    """
    num = co.shape[0]
    rows = np.repeat(np.arange(num), np.diff(co.indptr))
    keep = np.flatnonzero((co.data >= min_pairs) & (pmi > 0))
    if not len(keep):
        return np.zeros((num, links), dtype=np.int32), np.zeros((num, links), dtype=np.float32)
    # one sort key: by row, then shared baskets, then PMI (a fraction below 1), descending
    tie = co.data[keep] + pmi[keep] / (pmi[keep].max() + 1.0)
    key = rows[keep] * (co.data[keep].max() + 2.0) - tie
    order = keep[np.argsort(key, kind="stable")]  # exact ties: by column
    first = np.searchsorted(rows[order], np.arange(num))  # start of each row's run
    rank = np.arange(len(order)) - first[rows[order]]
    order, rank = order[rank < links], rank[rank < links]
    ids = np.zeros((num, links), dtype=np.int32)
    values = np.zeros((num, links), dtype=np.float32)
    ids[rows[order], rank] = co.indices[order]
    values[rows[order], rank] = pmi[order]
    return ids, values


def links_matrix(ids: np.ndarray, pmi: np.ndarray) -> sparse.csr_matrix:
    """The symmetric PPMI matrix of the kept links (the larger value where both list a pair).

    Factorising it rather than the whole PPMI keeps the SVD's cost at ``V × links`` entries
    (the whole PPMI of user baskets holds ~2,000 per item at 100K rows) and drops the
    single-basket pairs that are mostly chance.
    """
    num, k = ids.shape
    owner = np.repeat(np.arange(num), k)
    kept = ids.reshape(-1) > 0
    rows, cols = owner[kept], ids.reshape(-1)[kept]
    vals = pmi.reshape(-1)[kept]
    half = sparse.csr_matrix((vals, (rows, cols)), shape=(num, num), dtype=np.float32)
    return half.maximum(half.T).tocsr()


def item_factors(
    item_seq: np.ndarray, num_items: int, cfg: FactorSettings,
    user_id: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Collaborative factors of every item from the histories alone (module doc).

    Args:
        item_seq: int (N, T) train histories, left-padded with 0, newest last.
        num_items: item vocabulary size V.
        cfg: the factor settings.
        user_id: (N,) the rows' users (``by_user``).

    Returns:
        ``({"factors": float32 (V, dim), "has_factor": int8 (V,), "basket_count":
        float32 (V,), "link_ids": int32 (V, links), "link_pmi": float32 (V, links)},
        info)``: rows without a factor (padding, items in fewer than ``min_count``
        baskets) are zero; the links are :func:`item_links`; ``info`` holds sizes and
        seconds per step.
    """
    start = time.perf_counter()
    baskets = basket_matrix(item_seq, num_items, cfg, user_id)
    return collab_of_baskets(baskets, cfg, links_of_baskets, time.perf_counter() - start)


LinkMaker = Callable[[sparse.csr_matrix, FactorSettings], tuple[np.ndarray, np.ndarray, int]]


def collab_of_baskets(baskets: sparse.csr_matrix, cfg: FactorSettings, links: LinkMaker,
                      baskets_s: float) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``item_collab`` and its facts from the baskets × items matrix, whoever made it.

    Args:
        baskets: binary (B, V) CSR.
        cfg: the factor settings.
        links: ``(baskets, cfg) → (ids, pmi, positive pairs)``: :func:`links_of_baskets`
            here, one Spark task per block in ``mmctr.spark.collaborative``.
        baskets_s: the seconds it took to make ``baskets`` (reported).
    """
    basket_count = np.asarray(baskets.sum(axis=0)).ravel().astype(np.float32)  # (V,)
    start = time.perf_counter()
    link_ids, link_pmi, ppmi_nonzeros = links(baskets, cfg)
    timing = {"baskets_s": baskets_s, "ppmi_s": time.perf_counter() - start}
    arrays, info = factors_from_links(link_ids, link_pmi, basket_count, cfg)
    info = {"baskets": int(baskets.shape[0]), "ppmi_nonzeros": ppmi_nonzeros, **info,
            **timing, "svd_s": info["svd_s"]}
    logger.info("collaborative: %d baskets, PPMI %d non-zeros, %d of %d items with a factor "
                "(%.1fs)", info["baskets"], info["ppmi_nonzeros"], info["items_with_factor"],
                baskets.shape[1] - 1, info["baskets_s"] + info["ppmi_s"] + info["svd_s"])
    return arrays, info


def factors_from_links(
    link_ids: np.ndarray, link_pmi: np.ndarray, basket_count: np.ndarray, cfg: FactorSettings,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The factors of the kept links (the per-item half of :func:`item_factors`).

    Whoever counted the baskets and pairs (numpy here, Spark in ``mmctr.spark``), the
    factors are the same: ``TruncatedSVD`` of the symmetric PPMI of the links
    (:func:`links_matrix`) over the items with ``min_count`` baskets and a link.

    Args:
        link_ids, link_pmi: (V, links) as :func:`item_links` returns them.
        basket_count: float32 (V,) baskets each item appears in.
        cfg: the factor settings.

    Returns:
        ``item_collab``'s arrays (module doc) and ``{"link_nonzeros",
        "items_with_factor", "svd_s"}``.
    """
    start = time.perf_counter()
    matrix = links_matrix(link_ids, link_pmi)
    has_factor = (np.asarray(basket_count) >= cfg.min_count) & (np.diff(matrix.indptr) > 0)
    has_factor[0] = False
    factors = _svd_factors(matrix, has_factor, cfg)
    info = {"link_nonzeros": int(matrix.nnz), "items_with_factor": int(has_factor.sum()),
            "svd_s": time.perf_counter() - start}
    return {"factors": factors, "has_factor": has_factor.astype(np.int8),
            "basket_count": np.asarray(basket_count, dtype=np.float32), "link_ids": link_ids,
            "link_pmi": link_pmi}, info


def _svd_factors(matrix: sparse.csr_matrix, keep: np.ndarray, cfg: FactorSettings) -> np.ndarray:
    """``U Σ^½`` of the PPMI restricted to the kept items; zero rows elsewhere."""
    factors = np.zeros((matrix.shape[0], cfg.dim), dtype=np.float32)
    kept = np.flatnonzero(keep)
    dim = min(cfg.dim, len(kept) - 1)
    if dim < 1:
        return factors
    sub = matrix[kept][:, kept]
    svd = TruncatedSVD(dim, n_iter=cfg.svd_iterations, random_state=cfg.seed)
    u = svd.fit_transform(sub)  # (K, dim) = U Σ
    scale = np.sqrt(np.maximum(svd.singular_values_, 1e-12))
    factors[kept, :dim] = (u / scale).astype(np.float32)  # U Σ^½
    return factors



#: what the run's facts say when no item has a factor
NO_FACTORS = ("no item has a collaborative factor (the train histories are empty or too short): "
              "the model and the baseline rely on content alone")


def run_facts(arrays: dict[str, np.ndarray], info: dict[str, Any], seconds: float
              ) -> dict[str, Any]:
    """``info`` completed for the report: items with links, seconds, and the content
    fallback (warned in the log, carried to the run summary) when no item has a factor."""
    info = {**info, "items_with_links": int((arrays["link_ids"][:, 0] > 0).sum()),
            "seconds": seconds, "fallback": None}
    if info["items_with_factor"] == 0:
        info["fallback"] = NO_FACTORS
        logger.warning("collaborative: %s", NO_FACTORS)
    return info
