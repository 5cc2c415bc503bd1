"""Score requests with a bundle, through the same feature and batch code as training.

:class:`BundleScorer` turns request rows into exactly the arrays the pipelines build:
``feature_engineering``'s history cut (:mod:`mmctr.serving.requests`), the
``semantic_similarity`` kernels of :mod:`mmctr.data.kernels` (``hist_sim``, ``sim_stats``,
``row_stats`` from the bundle's embeddings, tags and train popularity; ``collab_stats``
from its collaborative tables), then
:class:`mmctr.engine.batching.BatchAssembler` and :func:`mmctr.engine.trainer.predict`,
as :func:`mmctr.engine.scoring.score` does for the submission. So a request scores what
the submission scores for the same row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from mmctr.data.kernels import (
    collab_stats,
    history_similarity,
    l2_normalise,
    prepare_collab,
    row_statistics,
)
from mmctr.engine.batching import (
    BatchAssembler,
    build_item_table,
    epoch_batches,
    merge_rows,
)
from mmctr.engine.precision import autocast, resolve_bf16
from mmctr.engine.trainer import resolve_device
from mmctr.models import load_model
from mmctr.serving.bundle import BundleError, ModelBundle
from mmctr.serving.requests import RequestSpec, parse_requests

__all__ = ["SIMILARITY_KEYS", "BundleScorer"]

logger = logging.getLogger(__name__)

#: batch keys computed by the similarity kernels
SIMILARITY_KEYS = ("seq_sim", "sim_stats", "row_stats", "collab_stats")


class BundleScorer:
    """A loaded bundle, ready to score request frames.

    Args:
        bundle: the model bundle.
        device: ``auto`` takes CUDA when present.
        batch_size: rows per forward pass (memory only, not results).
        bf16: bfloat16 autocast (``auto``: where the device multiplies bf16 natively).
        chunk_rows: rows per block of the similarity kernels (results do not depend on
            it): 4,096 keeps a block's gathers in cache, ~1.5x faster on 2 cores than the
            stage's 16,384.
        threads: torch's intra-op threads for this process (``None``: leave them). A
            server answering small requests is fastest with 1 (more workers, not more
            threads): a parallel region on a few rows costs more than it saves.
    """

    def __init__(self, bundle: ModelBundle, device: str = "cpu", batch_size: int = 4096,
                 bf16: bool | str = False, chunk_rows: int = 4096,
                 threads: int | None = None) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        self.bundle, self.batch_size, self.chunk_rows = bundle, batch_size, chunk_rows
        self.device = resolve_device(device)
        self.model = load_model(bundle.artifact).to(self.device).eval()
        self.items = build_item_table(bundle.item_sources, self.model.item_features,
                                      self.device)
        table = bundle.item_sources["item_features"]
        self.emb = l2_normalise(table["item_emb"])  # (V, D): the similarity space
        self.tags = np.asarray(table["item_tags"])
        self.spec = RequestSpec.from_meta(bundle.meta)
        self.threshold = float(bundle.meta["features"]["threshold"])
        self.bf16 = resolve_bf16(bf16, self.device, "scoring bf16")
        if "collab_stats" in self.model.row_features and not bundle.collab:
            raise BundleError("the bundle's model reads collab_stats but the bundle carries "
                              "no collaborative tables (made before they were kept): "
                              "retrain (kedro run --pipelines training)")
        # unit factors and id-sorted links, made once: a request's lookups then cost what
        # its rows cost, whatever the size of the tables
        self.collab = prepare_collab(bundle.collab) if bundle.collab else None

    def features(self, frame: pd.DataFrame, row_offset: int = 0) -> dict[str, np.ndarray]:
        """The checked feature arrays of ``frame`` (raises ``RequestError``)."""
        return parse_requests(frame, self.spec, row_offset)

    def similarity(self, rows: Mapping[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        """``hist_sim``, ``sim_stats``, ``row_stats`` and ``collab_stats`` of checked rows,
        as the ``semantic_similarity`` stage computes them; ``None`` when the model reads
        none.

        The kernels run on the rows of the item tables that the request uses, its ids
        renumbered to match: the same values gathered, so the same results, at a cost that
        follows the request's size rather than the item table's."""
        wanted = set(self.model.row_features) & set(SIMILARITY_KEYS)
        if not wanted:
            return None
        used, seq, target = _compact_ids(rows["item_seq"], rows["item_id"])
        emb, cpu = self.emb[used], torch.device("cpu")  # the stage's kernels, on the CPU
        hist_sim, sim_stats = history_similarity(seq, target, emb, self.threshold,
                                                 self.chunk_rows, cpu)
        out = {"hist_sim": hist_sim, "sim_stats": sim_stats}
        if "row_stats" in wanted:
            out["row_stats"] = row_statistics(seq, target, emb, self.tags[used], hist_sim,
                                              self.bundle.popularity[used], self.chunk_rows,
                                              cpu)
        if "collab_stats" in wanted:
            out["collab_stats"] = collab_stats(rows["item_seq"], rows["item_id"], self.collab,
                                               self.threshold, self.chunk_rows, cpu)
        return out

    def assembler(self, rows: Mapping[str, np.ndarray]) -> BatchAssembler:
        """Batches of checked rows, with their similarity arrays."""
        merged = merge_rows(rows, self.similarity(rows))
        return BatchAssembler(merged, self.items, self.model.row_features,
                              self.model.history_width, self.device)

    @torch.inference_mode()
    def score_rows(self, rows: Mapping[str, np.ndarray]) -> np.ndarray:
        """Click probabilities (float32, row order) of checked rows.

        The loop of :func:`mmctr.engine.trainer.predict` (same batches, autocast and
        sigmoid) on a model kept in eval mode: a request pays no mode switches."""
        assembler = self.assembler(rows)
        outs = []
        for index in epoch_batches(len(assembler), self.batch_size, shuffle=False):
            with autocast(self.device, self.bf16):
                logits = self.model(assembler(index))
            outs.append(torch.sigmoid(logits.float()))
        return torch.cat(outs).cpu().numpy().astype(np.float32)

    def score(self, frame: pd.DataFrame, row_offset: int = 0) -> np.ndarray:
        """Check ``frame`` and return its click probabilities (float32, row order)."""
        return self.score_rows(self.features(frame, row_offset))


def _compact_ids(item_seq: np.ndarray, item_id: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The item ids a request uses and the request renumbered into them.

    Returns:
        ``(used, item_seq, item_id)``: ``used`` sorted int64 (U,) with ``used[0] == 0`` (the
        padding row); the history (N, T) and targets (N,) as positions in ``used``.
    """
    used = np.unique(np.concatenate([[0], item_id, item_seq[item_seq != 0]]))
    position = np.zeros(int(used[-1]) + 1, dtype=np.int32)  # item id -> row in ``used``
    position[used] = np.arange(len(used), dtype=np.int32)
    return used, position[item_seq], position[item_id]
