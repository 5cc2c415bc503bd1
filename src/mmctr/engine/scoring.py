"""Score a split with a saved model artifact (used by evaluation and submission)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from mmctr.engine.batching import BatchAssembler, build_item_table, merge_rows
from mmctr.engine.precision import resolve_bf16
from mmctr.engine.trainer import predict, resolve_device

__all__ = ["score"]

logger = logging.getLogger(__name__)


def score(
    artifact: Mapping[str, Any],
    features: Mapping[str, np.ndarray],
    similarity: Mapping[str, np.ndarray] | None,
    item_sources: Mapping[str, Mapping[str, np.ndarray] | None],
    batch_size: int = 4096,
    device: str = "auto",
    bf16: bool | str = False,
    progress: bool = True,
) -> np.ndarray:
    """Click probabilities (float32, row order) of a split under a saved model.

    Args:
        artifact: the ``model`` catalog entry (weights + configuration + vocab).
        features: a split's feature arrays (ARCHITECTURE.md §2).
        similarity: the split's similarity arrays (§3), or ``None``.
        item_sources: ``{"item_features": ..., "item_semantics": ...}``.
        batch_size: rows per forward pass.
        device: ``auto`` takes CUDA when present.
        bf16: autocast to bfloat16 (``auto``: where the device multiplies bf16 natively).
        progress: show a progress bar.
    """
    from mmctr.models import load_model  # models import torch only; keep engine light

    target = resolve_device(device)
    model = load_model(artifact).to(target)
    items = build_item_table(item_sources, model.item_features, target)
    rows = merge_rows(features, similarity)
    assembler = BatchAssembler(rows, items, model.row_features, model.history_width, target)
    logger.info("scoring %d rows with %s on %s", len(assembler), artifact["model_name"], target)
    use_bf16 = resolve_bf16(bf16, target, "scoring bf16")
    return predict(model, assembler, batch_size, bf16=use_bf16, progress=progress)
