"""First-order terms (``bias_terms``), as in LR or FM: a learned offset per target item and
per user, added to the logit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mmctr.models.base import require_vocab
from mmctr.models.layers.inputs.base import LOGIT, Batch, InputContext, ModelInput

__all__ = ["BiasTerms"]


class BiasTerms(ModelInput):
    """``item[id_rows(item_id)] + user[user_id % user_buckets]``, both tables starting at 0.

    Target ids go through the item representation's id map (``context.items.id_rows``),
    so a rare item shares the padding row (kept 0) as it shares the zero id embedding.

    Args:
        num_items: item vocabulary size (with padding 0).
        user_buckets: user ids are hashed (modulo) into this many rows.

    Shapes: batch ``item_id`` (B,), ``user_id`` (B,) → (B,).
    """

    kind = LOGIT
    switch = "bias_terms"
    row_features = ("user_id",)

    def __init__(self, num_items: int, user_buckets: int) -> None:
        super().__init__()
        self.item = nn.Embedding(num_items, 1, padding_idx=0)
        self.user = nn.Embedding(user_buckets, 1)
        self.user_buckets = user_buckets
        self.reset_parameters()

    @classmethod
    def build(cls, config: Any, vocab: Mapping[str, Any]) -> BiasTerms:
        return cls(*require_vocab(vocab, "item"), config.user_buckets)

    def reset_parameters(self) -> None:
        """Zero offsets: the model starts as without them."""
        nn.init.zeros_(self.item.weight)
        nn.init.zeros_(self.user.weight)

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        items = context.items.id_rows(batch["item_id"])  # (B,)
        users = batch["user_id"] % self.user_buckets  # (B,)
        return (self.item(items) + self.user(users)).squeeze(-1)  # (B,)
