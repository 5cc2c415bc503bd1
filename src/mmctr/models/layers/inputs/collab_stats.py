"""Collaborative statistics (``collab_input``): target–history statistics on the
collaborative item factors and links (``mmctr.data.collaborative``), to the DCN input,
batch-normalised with the other dense statistics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mmctr.models.base import require_vocab
from mmctr.models.layers.inputs.base import DENSE, Batch, InputContext, ModelInput

__all__ = ["CollabStats"]


class CollabStats(ModelInput):
    """``collab_stats`` as they are (cosines, PMI lookups and coverage flags differ in
    scale, so this input asks for batch norm, :attr:`normalize`).

    Args:
        width: number of statistics ``C`` (``vocab["collab_stats"]``).

    Shapes: batch ``collab_stats`` (B, C) → (B, C).
    """

    kind = DENSE
    switch = "collab_input"
    normalize = True
    row_features = ("collab_stats",)

    def __init__(self, width: int) -> None:
        super().__init__()
        self.output_dim = width

    @classmethod
    def build(cls, config: Any, vocab: Mapping[str, Any]) -> CollabStats:
        return cls(*require_vocab(vocab, "collab_stats"))

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        return batch["collab_stats"]  # (B, C)
