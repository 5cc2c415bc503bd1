"""Tag-overlap input (``tag_overlap_input``): how much of the target's tags each history
item carries, as one channel of every history token."""

from __future__ import annotations

import torch

from mmctr.models.layers.inputs.base import TOKEN, Batch, InputContext, ModelInput

__all__ = ["TagOverlapChannel"]


class TagOverlapChannel(ModelInput):
    """Share of the target's (non-padding) tags found among each history item's tags.

    Shapes: batch ``item_tags`` (B, K), ``seq_tags`` (B, T_batch, K) (0 = padding) →
    (B, T, 1), ``T`` the newest ``context.last``; 0 where the target has no tags.
    """

    kind = TOKEN
    switch = "tag_overlap_input"
    item_features = ("tags",)

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        start = -context.last if context.last else 0
        target_tags = batch["item_tags"]  # (B, K)
        seq_tags = batch["seq_tags"][:, start:]  # (B, T, K)
        hit = (target_tags[:, None, :, None] == seq_tags[:, :, None, :]).any(-1)
        hit &= target_tags[:, None, :] > 0  # (B, T, K)
        n_tags = (target_tags > 0).sum(-1, keepdim=True).clamp_min(1)  # (B, 1)
        return (hit.sum(-1) / n_tags).unsqueeze(-1)  # (B, T, 1)
