"""Target-history similarity inputs (``similarity_input``): a token channel and 4 statistics.

Both are computed per row by the data stages (``mmctr.data.kernels``): ``seq_sim`` (B, T)
the cosine of the target's frozen embedding with each history item's (0 at padding),
``sim_stats`` (B, 4) statistics of those cosines.
"""

from __future__ import annotations

import torch

from mmctr.models.layers.inputs.base import (
    DENSE,
    TOKEN,
    Batch,
    InputContext,
    ModelInput,
)

__all__ = ["SIM_STATS", "SimilarityChannel", "SimilarityStats"]

SIM_STATS = 4  # width of ``sim_stats``


class SimilarityChannel(ModelInput):
    """``seq_sim`` as one raw channel of every history token.

    Shapes: batch ``seq_sim`` (B, T_batch) → (B, T, 1), ``T`` the newest ``context.last``.
    """

    kind = TOKEN
    switch = "similarity_input"
    row_features = ("seq_sim",)

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        start = -context.last if context.last else 0
        return batch["seq_sim"][:, start:].unsqueeze(-1)  # (B, T, 1)


class SimilarityStats(ModelInput):
    """``sim_stats`` to the DCN input (raw: batch-normed only beside a normalised input).

    Shapes: batch ``sim_stats`` (B, 4) → (B, 4).
    """

    kind = DENSE
    switch = "similarity_input"
    row_features = ("sim_stats",)
    output_dim = SIM_STATS

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        return batch["sim_stats"]  # (B, 4)
