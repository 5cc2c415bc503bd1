"""Chunked array kernels of the ``semantic_similarity`` stage (torch, numpy, scikit-learn).

No Kedro here: each function takes arrays and plain numbers and returns new arrays. Peak
memory is bounded by the chunk sizes, never by the number of items or rows:

* :func:`topk_cosine`: one ``(chunk, V)`` float32 similarity block at a time;
* :func:`history_similarity`: gathers of at most ``chunk × max_len`` embedding pairs
  (only the real history items are gathered, so typical data needs far less).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.cluster import KMeans
from tqdm.auto import tqdm

from mmctr.errors import ParameterError

__all__ = [
    "Links",
    "prepare_collab",
    "COLLAB_STATS",
    "ROW_STATS",
    "collab_stats",
    "collaborative_statistics",
    "history_similarity",
    "l2_normalise",
    "residual_quantize",
    "row_statistics",
    "topk_cosine",
]

#: columns of ``row_stats`` (:func:`row_statistics`), in order
ROW_STATS = (
    "log_history_length",  # log1p(number of real history items)
    "log_target_count",  # log1p(times the target item is a train target)
    "log_history_count",  # log1p(times the target item is in a train history)
    "cos_history_mean",  # cosine(target, mean history embedding)
    "cos_newest3_mean",  # cosine(target, mean embedding of the newest 3 items)
    "sim_mean_newest3",  # mean target-history cosine over the newest 3 items
    "sim_mean_newest10",  # ... over the newest 10
    "sim_std",  # standard deviation of the target-history cosines
    "tag_cover",  # share of the target's tags found anywhere in the history
    "tag_overlap_mean",  # mean over history items of the share of target tags they carry
    "tag_overlap_newest3",  # ... over the newest 3 items
    "target_tag_count",  # number of tags of the target
)

#: columns of ``collab_stats`` (:func:`collaborative_statistics`), in order: cosines of the
#: target's collaborative factor to those of its history items with a factor
COLLAB_STATS = (
    "collab_max",  # max cosine
    "collab_mean",  # mean cosine
    "collab_newest",  # cosine to the newest history item with a factor
    "collab_count_above",  # history items with cosine above the threshold
    "collab_mean_newest3",  # mean cosine over the newest 3 history positions
    "collab_mean_newest10",  # ... over the newest 10
    "target_has_factor",  # 1 when the target has a factor (else every cosine is 0)
    "history_factor_share",  # share of the history items that have a factor
    "link_pmi_mean",  # mean over history items of their PMI with the target (0: no link)
    "link_pmi_max",  # max of it
    "link_pmi_newest3",  # mean over the newest 3 history positions
    "link_share",  # share of history items among the target's co-consumption links
)

logger = logging.getLogger(__name__)


def l2_normalise(emb: np.ndarray) -> np.ndarray:
    """Return ``emb`` with unit-norm rows; all-zero rows (padding) stay zero.

    Args:
        emb: float array (V, D).

    Returns:
        float32 (V, D).
    """
    emb = np.asarray(emb, dtype=np.float32)
    norms = np.linalg.norm(emb.astype(np.float64), axis=1, keepdims=True)
    return (emb / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def topk_cosine(
    emb: np.ndarray, k: int, chunk: int, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar items of every item, by exact float32 search.

    Args:
        emb: L2-normalised float32 (V, D); row 0 is padding.
        k: neighbours per item; at most V - 2 (self and padding are never neighbours).
        chunk: query items per block; peak memory ≈ ``chunk × V × 4`` bytes (one block,
            allocated once and reused).
        device: where the matmul and ``torch.topk`` run.

    Returns:
        ``(ids, scores)``: int32 (V, k) and float32 (V, k), best first; row 0 all 0.

    Raises:
        ValueError: when fewer than ``k`` candidates exist.
    """
    num_items = emb.shape[0]
    if k > num_items - 2:
        raise ParameterError(
            f"params:semantic_similarity.top_k={k} needs at least {k + 2} item rows, the "
            f"item table has {num_items}: lower it (--params semantic_similarity.top_k=N)"
        )
    keys = _tensor(emb.astype(np.float32, copy=False)).to(device)  # (V, D)
    ids = np.zeros((num_items, k), dtype=np.int32)
    scores = np.zeros((num_items, k), dtype=np.float32)
    block = torch.empty((min(chunk, num_items - 1), num_items), device=device)  # (q, V)
    starts = range(1, num_items, chunk)
    for start in tqdm(starts, desc="top-k neighbours", unit="chunk", disable=None):
        stop = min(start + chunk, num_items)
        sim = torch.mm(keys[start:stop], keys.T, out=block[: stop - start])  # (q, V)
        sim[:, 0] = -torch.inf  # never the padding item
        rows = torch.arange(stop - start, device=device)
        sim[rows, rows + start] = -torch.inf  # never the item itself
        top_scores, top_ids = torch.topk(sim, k, dim=1)  # (q, k), sorted descending
        ids[start:stop] = top_ids.cpu().numpy()
        scores[start:stop] = top_scores.cpu().numpy()
    return ids, scores


def residual_quantize(
    emb: np.ndarray,
    layers: int,
    codes: int,
    fit_sample: int,
    seed: int,
    init: str = "random",
    n_init: int = 3,
    max_iter: int = 30,
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Residual quantization: k-means on the items, then on the residuals, ``layers`` times.

    Each layer's k-means is fitted on the same seeded sample of at most ``fit_sample``
    non-zero items and then assigns every real item (rows 1..V-1).

    Args:
        emb: L2-normalised float32 (V, D); row 0 is padding.
        layers: number of layers L.
        codes: centroids per layer C.
        fit_sample: most items each k-means is fitted on.
        seed: seeds the sample and every layer's k-means.
        init, n_init: k-means initialisation (``"random"`` or ``"k-means++"``) and the
            number of initialisations kept best-of.
        max_iter: most Lloyd iterations per initialisation.

    Returns:
        ``(item_codes, codebooks, sq_err)``: int32 (V, L) with codes 1..C (row 0 all 0);
        L float32 arrays (C, D); float64 (L + 1,) summed squared error over the real items
        before any layer and after each layer.

    Raises:
        ValueError: when fewer than ``codes`` items have a non-zero embedding.
    """
    items = np.array(emb[1:], dtype=np.float32)  # (V-1, D); becomes the residual
    pool = np.flatnonzero(np.any(items != 0, axis=1))
    if pool.size < codes:
        raise ParameterError(
            f"params:semantic_similarity.rq_codes={codes} needs at least {codes} items "
            f"with a non-zero embedding, the item table has {pool.size}: lower it "
            "(--params semantic_similarity.rq_codes=N)"
        )
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(pool, size=min(fit_sample, pool.size), replace=False))
    item_codes = np.zeros((emb.shape[0], layers), dtype=np.int32)
    codebooks: list[np.ndarray] = []
    sq_err = [float(np.square(items, dtype=np.float64).sum())]
    for layer in tqdm(
        range(layers), desc="residual quantization", unit="layer", disable=None
    ):
        kmeans = KMeans(
            n_clusters=codes,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            random_state=seed + layer,
        )
        kmeans.fit(items[sample])
        centroids = kmeans.cluster_centers_.astype(np.float32)  # (C, D)
        assign = kmeans.predict(items)  # (V-1,) in 0..C-1
        items -= centroids[assign]
        item_codes[1:, layer] = assign + 1
        codebooks.append(centroids)
        sq_err.append(float(np.square(items, dtype=np.float64).sum()))
        logger.info(
            "RQ layer %d/%d: %d of %d codes used, relative error %.4f",
            layer + 1,
            layers,
            np.unique(assign).size,
            codes,
            sq_err[-1] / max(sq_err[0], 1e-30),
        )
    return item_codes, codebooks, np.asarray(sq_err)


def history_similarity(
    item_seq: np.ndarray,
    item_id: np.ndarray,
    emb: np.ndarray,
    threshold: float,
    chunk: int,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of each row's target to each of its history items, plus statistics.

    Only the real (non-zero) history items are gathered: a block of ``chunk`` rows holds
    P ≤ ``chunk × T`` (history item, target) pairs, whose embeddings are gathered into two
    (P, D) buffers that are reused from block to block (grown when a block needs more).

    Args:
        item_seq: int (N, T) history, left-padded with 0, newest last.
        item_id: int (N,) target items.
        emb: L2-normalised float32 (V, D); row 0 is padding.
        threshold: ``sim_stats[:, 3]`` counts real history items with similarity above it.
        chunk: rows per block; extra memory ≤ ``chunk × T × (2 D + 16) × 4`` bytes (full
            histories), far less for short ones.
        device: where the gathers run.

    Returns:
        ``(hist_sim, sim_stats)``: float32 (N, T), 0 at padding; float32 (N, 4) =
        [max, mean, newest, count above threshold] over real history items, 0 when none.

    Raises:
        ValueError: on item ids outside ``0..V-1``.
    """
    num_rows, width = item_seq.shape
    num_items, dim = emb.shape
    table = _tensor(emb.astype(np.float32, copy=False)).to(device)  # (V, D)
    hist_sim = np.zeros((num_rows, width), dtype=np.float32)
    sim_stats = np.zeros((num_rows, 4), dtype=np.float32)
    hist_out, stats_out = torch.from_numpy(hist_sim), torch.from_numpy(sim_stats)
    pairs = _PairBuffers(dim, chunk * width, device)
    starts = range(0, num_rows, chunk)
    for start in tqdm(starts, desc="history similarity", unit="chunk", disable=None):
        stop = min(start + chunk, num_rows)
        seq = _tensor(item_seq[start:stop]).to(device)  # (c, T)
        target = _tensor(item_id[start:stop]).to(device)  # (c,)
        low = min(int(seq.min()), int(target.min()))
        high = max(int(seq.max()), int(target.max()))
        if low < 0 or high >= num_items:
            raise ValueError(
                f"item ids must lie in 0..{num_items - 1}, found {low}..{high}"
            )
        mask = seq != 0  # (c, T) real history items
        count = mask.sum(1)  # (c,)
        ids = seq[mask]  # (P,) row by row, left to right
        pair_row = torch.repeat_interleave(torch.arange(len(seq), device=device), count)
        hist, tgt = pairs.get(len(ids))  # (P, D) each
        torch.index_select(table, 0, ids, out=hist)
        torch.index_select(table.index_select(0, target), 0, pair_row, out=tgt)
        dots = torch.bmm(hist.unsqueeze(1), tgt.unsqueeze(2)).view(-1)  # (P,)
        sim = torch.zeros(seq.shape, dtype=torch.float32, device=device)  # (c, T)
        sim.masked_scatter_(mask, dots)
        has = count > 0
        last = (count.cumsum(0) - 1).clamp(min=0)  # each row's last pair: its newest
        newest = dots[last] if len(dots) else torch.zeros_like(sim[:, 0])
        stats = torch.stack(
            [
                sim.masked_fill(~mask, -torch.inf).amax(1).where(has, 0.0),
                sim.sum(1) / count.clamp(min=1),
                newest.where(has, 0.0),
                ((sim > threshold) & mask).sum(1).to(torch.float32),
            ],
            dim=1,
        )  # (c, 4)
        hist_out[start:stop].copy_(sim)
        stats_out[start:stop].copy_(stats)
    return hist_sim, sim_stats


def collaborative_statistics(
    item_seq: np.ndarray,
    item_id: np.ndarray,
    factors: np.ndarray,
    has_factor: np.ndarray,
    threshold: float,
    chunk: int,
    device: torch.device,
    links: Links | tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Target-history statistics on the collaborative factors (:data:`COLLAB_STATS`).

    The same cosines as :func:`history_similarity` (which computes them, on the item
    matrix ``factors``), over the history items that have a factor: items without one are
    left out as if they were padding, so they neither count as dissimilar nor dilute the
    mean; the two flags say how much of the row the factors cover.

    Args:
        item_seq: int (N, T) history, left-padded with 0, newest last.
        item_id: int (N,) target items.
        factors: L2-normalised float32 (V, d); rows without a factor are zero.
        has_factor: (V,) 0/1 whether an item has a factor.
        threshold: ``collab_count_above`` counts cosines above it.
        chunk, device: as :func:`history_similarity`.
        links: ``(ids, pmi)`` int (V, K), float (V, K): each item's co-consumption links
            (0 = none), or the same as :class:`Links` (prepared once); the PMI of each
            (target, history item) pair is looked up in the target's list, then the
            history item's. None: those four columns are 0.

    Returns:
        float32 (N, len(COLLAB_STATS)); 0 for an empty history or a target without a factor.
    """
    has = np.asarray(has_factor).astype(bool)
    seq = np.asarray(item_seq)
    real = seq != 0
    covered = np.where(has[seq], seq, 0)  # items without a factor read as padding
    sim, stats = history_similarity(covered, item_id, factors, threshold, chunk, device)
    width = seq.shape[1]
    present = covered != 0

    def newest_mean(k: int) -> np.ndarray:
        window = present[:, width - k:] if k < width else present
        values = sim[:, width - k:] if k < width else sim
        return values.sum(axis=1) / np.maximum(window.sum(axis=1), 1)

    pmi = np.zeros(seq.shape, dtype=np.float32)
    if links is not None:
        links = links if isinstance(links, Links) else Links.of(*links)
        pmi[real] = links.lookup(np.broadcast_to(np.asarray(item_id)[:, None], seq.shape)[real],
                                 seq[real])
    count = np.maximum(real.sum(axis=1), 1)
    newest = real[:, -3:]
    return np.column_stack([
        stats,
        newest_mean(3),
        newest_mean(10),
        has[np.asarray(item_id)],
        present.sum(axis=1) / count,
        pmi.sum(axis=1) / count,
        pmi.max(axis=1, initial=0.0),
        pmi[:, -3:].sum(axis=1) / np.maximum(newest.sum(axis=1), 1),
        (pmi > 0).sum(axis=1) / count,
    ]).astype(np.float32)


def collab_stats(
    item_seq: np.ndarray,
    item_id: np.ndarray,
    item_collab: Mapping[str, np.ndarray],
    threshold: float,
    chunk: int,
    device: torch.device,
) -> np.ndarray:
    """``collab_stats`` of rows from the collaborative stage's tables.

    The one call of :func:`collaborative_statistics` that the ``semantic_similarity``
    stage and the serving scorer share: unit factors, coverage flags and, when the tables
    carry them, the co-consumption links.

    Args:
        item_seq, item_id: as :func:`collaborative_statistics`.
        item_collab: ``factors`` (V, d), ``has_factor`` (V,), optional ``link_ids`` and
            ``link_pmi`` (V, K); or :func:`prepare_collab`'s tables.
        threshold, chunk, device: as :func:`collaborative_statistics`.

    Returns:
        float32 (N, len(COLLAB_STATS)).
    """
    tables = prepare_collab(item_collab)
    return collaborative_statistics(item_seq, item_id, tables["unit"], tables["has_factor"],
                                    threshold, chunk, device, tables.get("links"))


def prepare_collab(item_collab: Mapping[str, Any]) -> dict[str, Any]:
    """The tables :func:`collab_stats` reads, made once: ``unit`` factors, ``has_factor``
    and, with links, :class:`Links` (already prepared tables are returned as they are)."""
    if "unit" in item_collab:
        return dict(item_collab)
    out: dict[str, Any] = {"unit": l2_normalise(item_collab["factors"]),
                           "has_factor": np.asarray(item_collab["has_factor"])}
    if "link_ids" in item_collab:
        out["links"] = Links.of(item_collab["link_ids"], item_collab["link_pmi"])
    return out


@dataclasses.dataclass(frozen=True)
class Links:
    """Every item's co-consumption links, each row sorted by item id (0s first), so a pair
    is found by a binary search within its row: no table the size of all pairs is built,
    and a process that scores many batches (Spark, serving) prepares it once."""

    ids: np.ndarray  # int (V, K), rows ascending
    pmi: np.ndarray  # float32 (V, K), aligned with ids

    @classmethod
    def of(cls, ids: np.ndarray, pmi: np.ndarray) -> Links:
        """From ``item_links``' (ids, pmi) in any order within a row."""
        ids = np.asarray(ids)
        order = np.argsort(ids, axis=1, kind="stable")
        return cls(np.take_along_axis(ids, order, axis=1),
                   np.take_along_axis(np.asarray(pmi, dtype=np.float32), order, axis=1))

    def _find(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``b[i]`` is in ``a[i]``'s row, and the PMI stored there."""
        width = self.ids.shape[1]
        lo, hi = np.zeros(len(a), dtype=np.int64), np.full(len(a), width, dtype=np.int64)
        for _ in range(max(width, 1).bit_length()):  # binary search, every row at once
            mid = (lo + hi) // 2
            below = self.ids[a, np.minimum(mid, width - 1)] < b
            open_ = lo < hi
            lo = np.where(open_ & below, mid + 1, lo)
            hi = np.where(open_ & ~below, mid, hi)
        pos = np.minimum(lo, width - 1)
        return (self.ids[a, pos] == b) & (b > 0), self.pmi[a, pos]

    def lookup(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """PMI of the pairs (a[i], b[i]) from a's list, else b's (0 when neither lists it)."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if not self.ids.shape[1] or not len(a):
            return np.zeros(len(a), dtype=np.float32)
        hit_a, pmi_a = self._find(a, b)
        hit_b, pmi_b = self._find(b, a)
        return np.where(hit_a, pmi_a, np.where(hit_b, pmi_b, 0.0)).astype(np.float32)


def row_statistics(
    item_seq: np.ndarray,
    item_id: np.ndarray,
    emb: np.ndarray,
    tags: np.ndarray,
    hist_sim: np.ndarray,
    popularity: np.ndarray,
    chunk: int,
    device: torch.device,
) -> np.ndarray:
    """Per-row summary features of the target against the history (:data:`ROW_STATS`).

    Cheap, model-free statistics: history length, the target's train popularity, cosine of
    the target to the mean (and newest-3 mean) history embedding, windowed means and the
    spread of the target-history cosines, and tag overlap. The neural models read them as
    dense inputs (``dense_input``); the tree baseline reads them as its features.

    Args:
        item_seq: int (N, T) history, left-padded with 0, newest last.
        item_id: int (N,) target items.
        emb: L2-normalised float32 (V, D); row 0 is padding.
        tags: int (V, K) tag ids per item, 0 = padding.
        hist_sim: float32 (N, T) target-history cosines (0 at padding), from
            :func:`history_similarity`.
        popularity: float (V, 2) train counts per item: as a target, inside histories.
        chunk: rows per block (extra memory ≤ ``chunk × T × (D + 4 K) × 4`` bytes).
        device: where the gathers run.

    Returns:
        float32 (N, len(ROW_STATS)); history statistics are 0 for an empty history.
    """
    num_rows, width = item_seq.shape
    table = _tensor(emb.astype(np.float32, copy=False)).to(device)  # (V, D)
    tag_table = _tensor(np.asarray(tags, dtype=np.int64)).to(device)  # (V, K)
    pop = torch.log1p(_tensor(np.asarray(popularity, dtype=np.float32))).to(device)  # (V, 2)
    out = np.zeros((num_rows, len(ROW_STATS)), dtype=np.float32)
    out_t = torch.from_numpy(out)
    position = torch.arange(width, device=device)
    for start in tqdm(range(0, num_rows, chunk), desc="row statistics", unit="chunk",
                      disable=None):
        stop = min(start + chunk, num_rows)
        seq = _tensor(item_seq[start:stop]).to(device).long()  # (c, T)
        target = _tensor(item_id[start:stop]).to(device).long()  # (c,)
        sim = _tensor(hist_sim[start:stop]).to(device).float()  # (c, T)
        c = len(seq)
        mask = seq != 0  # (c, T)
        count = mask.sum(1).float()  # (c,)
        rows, cols = mask.nonzero(as_tuple=True)  # (P,) row by row, left to right
        ids = seq[rows, cols]
        newest3 = cols >= width - 3  # (P,)
        hist = table.index_select(0, ids)  # (P, D)
        tgt = table.index_select(0, target)  # (c, D)

        def cos_to(sel: torch.Tensor) -> torch.Tensor:
            total = torch.zeros_like(tgt).index_add_(0, rows[sel], hist[sel])  # (c, D)
            return (tgt * total).sum(1) / total.norm(dim=1).clamp_min(1e-12)

        def windowed_mean(values: torch.Tensor, k: int) -> torch.Tensor:
            keep = mask & (position >= width - k)  # (c, T)
            return (values * keep).sum(1) / keep.sum(1).clamp_min(1)

        everything = torch.ones_like(rows, dtype=torch.bool)
        mean_sim = (sim * mask).sum(1) / count.clamp_min(1)
        var = (((sim - mean_sim[:, None]) * mask) ** 2).sum(1) / count.clamp_min(1)
        target_tags = tag_table.index_select(0, target)  # (c, K)
        n_tags = (target_tags > 0).sum(1).float()  # (c,)
        pair_tags = target_tags.index_select(0, rows)  # (P, K) the target's, per pair
        hit = (pair_tags[:, :, None] == tag_table.index_select(0, ids)[:, None, :]).any(2)
        hit &= pair_tags > 0  # (P, K): target tag k is among this history item's tags
        share = hit.sum(1).float() / n_tags.index_select(0, rows).clamp_min(1)  # (P,)
        cover = torch.zeros_like(target_tags, dtype=torch.float32).scatter_reduce_(
            0, rows[:, None].expand_as(hit), hit.float(), "amax")  # (c, K)
        per_pos = torch.zeros((c, width), device=device)
        per_pos[rows, cols] = share
        stats = torch.stack([
            torch.log1p(count),
            pop[target, 0],
            pop[target, 1],
            cos_to(everything),
            cos_to(newest3),
            windowed_mean(sim, 3),
            windowed_mean(sim, 10),
            var.sqrt(),
            cover.sum(1) / n_tags.clamp_min(1),
            per_pos.sum(1) / count.clamp_min(1),
            windowed_mean(per_pos, 3),
            n_tags,
        ], dim=1)  # (c, len(ROW_STATS))
        out_t[start:stop].copy_(stats)
    return out


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A CPU tensor sharing ``array``'s memory (copied only when read-only or strided)."""
    array = np.ascontiguousarray(array)
    return torch.from_numpy(array if array.flags.writeable else array.copy())


class _PairBuffers:
    """Two reusable (P, D) float32 gather buffers: one large allocation, not one per block."""

    def __init__(self, dim: int, cap: int, device: torch.device) -> None:
        self._dim, self._cap, self._device = dim, cap, device
        self._hist = self._tgt = torch.empty((0, dim), device=device)

    def get(self, num_pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
        if num_pairs > len(self._hist):
            size = min(max(num_pairs, len(self._hist) * 5 // 4), self._cap)
            self._hist = self._tgt = None  # free the old pair before allocating the new
            self._hist = torch.empty((size, self._dim), device=self._device)
            self._tgt = torch.empty((size, self._dim), device=self._device)
        return self._hist[:num_pairs], self._tgt[:num_pairs]
