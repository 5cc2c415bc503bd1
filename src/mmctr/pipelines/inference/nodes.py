"""Inference nodes: score a file of new rows with a model bundle, chunk by chunk.

The file is read ``chunk_rows`` rows at a time; each chunk is checked (one error naming
the row and the column), turned into features by the project's own code and scored
(:class:`mmctr.serving.scorer.BundleScorer`), and its probabilities are written before the
next chunk is read, so memory is bounded by the chunk, not the file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mmctr.datasets.serving import BundleVersions, RowChunks
from mmctr.serving.requests import RequestError
from mmctr.serving.scorer import BundleScorer

from .config import InferenceConfig, inference_config

__all__ = ["ScoredChunks", "score_requests"]

logger = logging.getLogger(__name__)


class ScoredChunks:
    """The predictions of a request file, computed as they are written (one DataFrame
    per chunk: the key column and the probability)."""

    def __init__(self, scorer: BundleScorer, requests: RowChunks, cfg: InferenceConfig):
        self.scorer, self.requests, self.cfg = scorer, requests, cfg

    def __iter__(self) -> Iterator[pd.DataFrame]:
        cfg, start, began = self.cfg, 0, time.perf_counter()
        keyed = cfg.key_column in self.requests.columns
        with tqdm(total=self.requests.num_rows, unit="row", desc="inference",
                  disable=not cfg.progress) as bar:
            for frame in self.requests.chunks(cfg.chunk_rows):
                probs = self.scorer.score(frame, row_offset=start)
                keys = (frame[cfg.key_column].to_numpy() if keyed
                        else np.arange(start, start + len(frame), dtype=np.int64))
                yield pd.DataFrame({cfg.key_column: keys, cfg.probability_column: probs})
                start += len(frame)
                bar.update(len(frame))
        seconds = time.perf_counter() - began
        logger.info("inference: %d rows read, checked, scored and written in %.2f s "
                    "(%.0f rows/s)", start, seconds, start / max(seconds, 1e-9))


def score_requests(
    model_bundle: BundleVersions, requests: RowChunks, params: dict[str, Any]
) -> ScoredChunks:
    """Score every row of ``requests`` with the chosen bundle version.

    Args:
        model_bundle: the saved bundle versions (``model_bundle``).
        requests: the rows to score (MicroLens row schema, no label).
        params: the ``inference`` parameter block.

    Returns:
        The predictions, one row per request row in file order: ``key_column`` (copied,
        or the row's position) and ``probability_column``; computed chunk by chunk while
        the catalog writes them.

    Raises:
        RequestError: an empty file (a bad row is reported while scoring).
        BundleError: an unknown version or an unreadable bundle.
    """
    cfg = inference_config(params)
    if requests.num_rows == 0:
        raise RequestError("request: expected at least one row, found an empty file")
    version, bundle = model_bundle.load(cfg.version)
    scoring = cfg.scoring
    scorer = BundleScorer(bundle, scoring.device, scoring.batch_size, scoring.bf16,
                          threads=cfg.threads)
    logger.info("inference: %d rows with %s (bundle version %s) on %s",
                requests.num_rows, bundle.meta["model_name"], version or "-", scorer.device)
    return ScoredChunks(scorer, requests, cfg)
