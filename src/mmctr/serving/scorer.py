"""Score requests with a bundle, through the same feature and batch code as training.

:class:`BundleScorer` turns request rows into exactly the arrays the pipelines build:
``feature_engineering``'s history cut (:mod:`mmctr.serving.requests`), the
``semantic_similarity`` kernels of :mod:`mmctr.data.kernels` (``hist_sim``, ``sim_stats``,
``row_stats`` from the bundle's embeddings, tags and train popularity), then
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

from mmctr.data.kernels import history_similarity, l2_normalise, row_statistics
from mmctr.engine.batching import BatchAssembler, build_item_table, merge_rows
from mmctr.engine.precision import resolve_bf16
from mmctr.engine.trainer import predict, resolve_device
from mmctr.models import load_model
from mmctr.serving.bundle import ModelBundle
from mmctr.serving.requests import RequestSpec, parse_requests

__all__ = ["SIMILARITY_KEYS", "BundleScorer"]

logger = logging.getLogger(__name__)

#: batch keys computed by the similarity kernels
SIMILARITY_KEYS = ("seq_sim", "sim_stats", "row_stats")


class BundleScorer:
    """A loaded bundle, ready to score request frames.

    Args:
        bundle: the model bundle.
        device: ``auto`` takes CUDA when present.
        batch_size: rows per forward pass (memory only, not results).
        bf16: bfloat16 autocast (``auto``: where the device multiplies bf16 natively).
        chunk_rows: rows per block of the similarity kernels.
    """

    def __init__(self, bundle: ModelBundle, device: str = "cpu", batch_size: int = 4096,
                 bf16: bool | str = False, chunk_rows: int = 16_384) -> None:
        self.bundle, self.batch_size, self.chunk_rows = bundle, batch_size, chunk_rows
        self.device = resolve_device(device)
        self.model = load_model(bundle.artifact).to(self.device)
        self.items = build_item_table(bundle.item_sources, self.model.item_features,
                                      self.device)
        table = bundle.item_sources["item_features"]
        self.emb = l2_normalise(table["item_emb"])  # (V, D): the similarity space
        self.tags = np.asarray(table["item_tags"])
        self.spec = RequestSpec.from_meta(bundle.meta)
        self.threshold = float(bundle.meta["features"]["threshold"])
        self.bf16 = resolve_bf16(bf16, self.device, "scoring bf16")

    def features(self, frame: pd.DataFrame, row_offset: int = 0) -> dict[str, np.ndarray]:
        """The checked feature arrays of ``frame`` (raises ``RequestError``)."""
        return parse_requests(frame, self.spec, row_offset)

    def similarity(self, rows: Mapping[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        """``hist_sim``, ``sim_stats`` and ``row_stats`` of checked rows, as the
        ``semantic_similarity`` stage computes them; ``None`` when the model reads none."""
        wanted = set(self.model.row_features) & set(SIMILARITY_KEYS)
        if not wanted:
            return None
        kernel_device = torch.device("cpu")  # the stage's kernels; results do not depend on it
        hist_sim, sim_stats = history_similarity(
            rows["item_seq"], rows["item_id"], self.emb, self.threshold, self.chunk_rows,
            kernel_device)
        out = {"hist_sim": hist_sim, "sim_stats": sim_stats}
        if "row_stats" in wanted:
            out["row_stats"] = row_statistics(
                rows["item_seq"], rows["item_id"], self.emb, self.tags, hist_sim,
                self.bundle.popularity, self.chunk_rows, kernel_device)
        return out

    def assembler(self, rows: Mapping[str, np.ndarray]) -> BatchAssembler:
        """Batches of checked rows, with their similarity arrays."""
        merged = merge_rows(rows, self.similarity(rows))
        return BatchAssembler(merged, self.items, self.model.row_features,
                              self.model.history_width, self.device)

    def score_rows(self, rows: Mapping[str, np.ndarray]) -> np.ndarray:
        """Click probabilities (float32, row order) of checked rows."""
        return predict(self.model, self.assembler(rows), self.batch_size, bf16=self.bf16)

    def score(self, frame: pd.DataFrame, row_offset: int = 0) -> np.ndarray:
        """Check ``frame`` and return its click probabilities (float32, row order)."""
        return self.score_rows(self.features(frame, row_offset))
