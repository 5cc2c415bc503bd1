"""Score a split with a saved model artifact: one scoring configuration
(:class:`ScoringConfig`) and one call (:func:`score_split`) for every stage that scores
(evaluation, submission, ablation, and a serving path)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from mmctr.engine.batching import BatchAssembler, build_item_table, merge_rows
from mmctr.engine.checks import check_bf16, check_device
from mmctr.engine.precision import resolve_bf16
from mmctr.engine.trainer import predict, resolve_device

__all__ = ["ScoringConfig", "check_scoring", "score", "score_split"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ScoringConfig:
    """How a split is scored. A stage's parameter block carries these keys flat
    (``params:evaluation.batch_size`` ...) and its configuration builds this from them."""

    batch_size: int = 4096  # rows per forward pass; memory only, not results
    device: str = "auto"  # auto: CUDA when present
    bf16: bool | str = False  # bfloat16 autocast: true, false, or auto (where native)
    progress: bool = True  # tqdm bar while scoring


def check_scoring(cfg: ScoringConfig, where: str) -> None:
    """Refuse a device or bf16 setting this machine cannot score with.

    Args:
        cfg: the scoring configuration.
        where: the parameter block it comes from (``params:evaluation``).

    Raises:
        ParameterError: naming ``<where>.device`` or ``<where>.bf16``.
    """
    check_device(cfg.device, f"{where}.device")
    check_bf16(cfg.bf16, f"{where}.bf16")


def score_split(
    artifact: Mapping[str, Any],
    features: Mapping[str, np.ndarray],
    similarity: Mapping[str, np.ndarray] | None,
    item_features: Mapping[str, np.ndarray],
    item_semantics: Mapping[str, np.ndarray] | None,
    cfg: ScoringConfig,
) -> np.ndarray:
    """Click probabilities (float32, row order) of a split, scored as ``cfg`` says.

    Args:
        artifact: the ``model`` catalog entry (weights + configuration + vocab).
        features: a split's feature arrays (ARCHITECTURE.md §2).
        similarity: the split's similarity arrays (§3), or ``None``.
        item_features: the item table (tags, frozen embeddings).
        item_semantics: RQ codes and nearest neighbours per item, or ``None``.
        cfg: batch size, device, bf16 and progress bar.
    """
    return score(
        artifact,
        features,
        similarity,
        {"item_features": item_features, "item_semantics": item_semantics},
        batch_size=cfg.batch_size,
        device=cfg.device,
        bf16=cfg.bf16,
        progress=cfg.progress,
    )


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
