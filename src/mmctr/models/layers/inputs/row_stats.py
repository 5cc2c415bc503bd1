"""Dense row statistics (``dense_input``): history, popularity and tag statistics per row
(``mmctr.data.kernels.ROW_STATS``), to the DCN input, batch-normalised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mmctr.models.base import require_vocab
from mmctr.models.layers.inputs.base import DENSE, Batch, InputContext, ModelInput

__all__ = ["RowStats"]


class RowStats(ModelInput):
    """``row_stats`` as they are; they differ in scale (counts, logs, cosines), so this
    input asks the model to batch-normalise its dense features (:attr:`normalize`).

    Args:
        width: number of statistics ``R`` (``vocab["row_stats"]``).

    Shapes: batch ``row_stats`` (B, R) → (B, R).
    """

    kind = DENSE
    switch = "dense_input"
    normalize = True
    row_features = ("row_stats",)

    def __init__(self, width: int) -> None:
        super().__init__()
        self.output_dim = width

    @classmethod
    def build(cls, config: Any, vocab: Mapping[str, Any]) -> RowStats:
        return cls(*require_vocab(vocab, "row_stats"))

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        return batch["row_stats"]  # (B, R)
