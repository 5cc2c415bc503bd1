"""History item ids through DIN target attention (``history_ids``): the attended history
and the target's id vector, to the DCN input (:mod:`mmctr.models.layers.history_ids`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mmctr.models.layers.history_ids import HistoryIdAttention, build_history_attention
from mmctr.models.layers.inputs.base import DENSE, Batch, InputContext, ModelInput

__all__ = ["HistoryIds"]


class HistoryIds(ModelInput):
    """The model's ``history_ids`` mapping turns it on (``{}``: the defaults; ``None``:
    off). Its vectors are learned features, not statistics: they join the DCN input
    outside the dense inputs' batch norm (:attr:`in_norm`).

    Args:
        layer: the :class:`HistoryIdAttention` it wraps.

    Shapes: batch ``item_id`` (B,), ``item_seq`` (B, T) (and ``item_collab`` (B, F),
    ``seq_collab`` (B, T, F) with factors) → (B, 2 · dim).
    """

    kind = DENSE
    switch = "history_ids"
    in_norm = False

    def __init__(self, layer: HistoryIdAttention) -> None:
        super().__init__()
        self.attention = layer
        self.output_dim = layer.output_dim
        self.item_features = layer.item_features

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, cls.switch) not in (None, False)

    @classmethod
    def build(cls, config: Any, vocab: Mapping[str, Any]) -> HistoryIds:
        return cls(build_history_attention(getattr(config, cls.switch), vocab))

    def history_width(self, longest: int, width: int) -> int:
        """Every real history item is attended: the longest real history (at least 1)."""
        return min(width, max(longest, 1))

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        return self.attention(batch, last=context.last)  # (B, 2 · dim)
