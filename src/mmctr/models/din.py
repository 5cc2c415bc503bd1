"""DIN: the organisers' baseline (docs/SEED_MODEL.md, the baseline).

Item representation as the seed's (``[id 64 ‖ tags 64 ‖ proj(frozen emb) 128]``), DIN
target attention over the newest ``max_len`` history items (no softmax), then a batch-norm
DNN 1024 → 512 → 256 → 1 on ``[likes ‖ views ‖ target ‖ attention-pooled history]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mmctr.models.base import CTRModel, require_vocab
from mmctr.models.layers import DINAttention, ItemEmbedding, MLPBlock

__all__ = ["DIN", "DINConfig"]


@dataclass(frozen=True)
class DINConfig:
    """``din`` parameters (the organisers' FuxiCTR names; docs/SEED_MODEL.md values)."""

    embedding_dim: int = 64  # id, tag, likes, views tables (docs/SEED_MODEL.md)
    mm_emb_dim: int = (
        128  # projection of the frozen embedding, as in the seed's item rep
    )
    use_mm_emb: bool = True  # ablation: DIN without the multimodal embedding
    max_len: int = 64  # organisers: attention over the newest 64 items only
    attention_hidden_units: tuple[int, ...] = (
        512,
        256,
    )  # organisers' tuned attention MLP
    attention_hidden_activations: str = "dice"  # "dice" (organisers) or "relu"
    attention_dropout: float = 0.1  # organisers
    din_use_softmax: bool = False  # organisers: raw scores weight the sum
    dnn_hidden_units: tuple[int, ...] = (1024, 512, 256)  # organisers
    dnn_activations: str = "relu"  # organisers
    net_dropout: float = 0.1  # organisers
    batch_norm: bool = True  # organisers


class DIN(CTRModel):
    """Deep Interest Network baseline.

    Args:
        config: the model parameters.
        vocab: vocabulary sizes ``item``, ``tag``, ``likes``, ``views`` (with padding).

    ``forward(batch) -> (B,)`` logits.
    """

    config_class = DINConfig

    def __init__(self, config: DINConfig, vocab: Mapping[str, Any]) -> None:
        super().__init__()
        c = self.config = config
        n_item, n_tag, n_likes, n_views = require_vocab(
            vocab, "item", "tag", "likes", "views"
        )
        self.item_embedding = ItemEmbedding(
            n_item,
            n_tag,
            c.embedding_dim,
            mm_input_dim=int(vocab.get("emb_dim", 128)),
            mm_dim=c.mm_emb_dim if c.use_mm_emb else 0,
        )
        self.item_features = self.item_embedding.item_features
        self.likes = nn.Embedding(n_likes, c.embedding_dim, padding_idx=0)
        self.views = nn.Embedding(n_views, c.embedding_dim, padding_idx=0)
        item_dim = self.item_embedding.output_dim
        self.attention = DINAttention(
            item_dim,
            c.attention_hidden_units,
            c.attention_hidden_activations,
            c.attention_dropout,
            c.din_use_softmax,
        )
        self.dnn = MLPBlock(
            2 * c.embedding_dim + 2 * item_dim,
            c.dnn_hidden_units,
            c.net_dropout,
            c.dnn_activations,
            c.batch_norm,
            output_dim=1,
        )
        self.reset_parameters()

    def history_width(self, longest: int, width: int) -> int:
        """Padding positions get zero weight; only the newest ``max_len`` are read."""
        return min(width, self.config.max_len, max(longest, 1))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Args: batch (ARCHITECTURE.md §4). Returns: logits (B,)."""
        last = self.config.max_len
        target = self.item_embedding.target(batch)  # (B, I)
        history = self.item_embedding.history(batch, last=last)  # (B, T', I)
        real = batch["item_seq"][:, -last:] != 0  # (B, T')
        pooled = self.attention(target, history, real)  # (B, I)
        likes, views = (
            self.likes(batch["likes_level"]),
            self.views(batch["views_level"]),
        )
        return self.dnn(torch.cat([likes, views, target, pooled], dim=-1)).squeeze(-1)
