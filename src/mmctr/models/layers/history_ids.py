"""History item ids read through DIN target attention.

Each item (the target and every history item) gets one vector from a table of its own
(shared by the target and the history), optionally plus a learned projection of its
frozen collaborative factor (the ``collab`` item column): the factor is where an item
starts, the id row what training adds. A DIN activation unit scores every history item
against the target from ``[h, t, h − t, h ⊙ t]`` and the scored sum is returned beside
the target's vector, so the layers above can tell whether the target belongs with the
history by who consumed them, not by what they show.

Generalisation: ``id_dropout`` zeroes whole id rows at random in training (the item then
counts on its factor and content), and the id table is an ``nn.Embedding`` the trainer's
``embedding_learning_rate`` / ``embedding_l2`` reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mmctr.config import from_params
from mmctr.models.layers.attentions import DINAttention

__all__ = ["HistoryIdAttention", "HistoryIdsConfig", "build_history_attention"]


class HistoryIdAttention(nn.Module):
    """DIN target attention over history item ids.

    Args:
        num_items: item vocabulary size (with padding 0).
        dim: width of the id vectors.
        hidden_units: widths of the activation unit's MLP.
        activation: its activation (a name of ``blocks.ACTIVATIONS``).
        dropout: its dropout.
        id_dropout: probability of zeroing an item's id row in training (per occurrence).
        factor_dim: width of the ``collab`` item column (0: ids only).

    Batch keys read: ``item_id`` (B,), ``item_seq`` (B, T); with factors ``item_collab``
    (B, F) and ``seq_collab`` (B, T, F). Output: ``(B, 2 · dim)`` = [attended history ‖ target].
    """

    def __init__(
        self,
        num_items: int,
        dim: int,
        hidden_units: Sequence[int] = (64, 32),
        activation: str = "relu",
        dropout: float = 0.0,
        id_dropout: float = 0.0,
        factor_dim: int = 0,
    ) -> None:
        super().__init__()
        self.ids = nn.Embedding(num_items, dim, padding_idx=0)
        self.factor = nn.Linear(factor_dim, dim, bias=False) if factor_dim else None
        self.attention = DINAttention(dim, hidden_units, activation, dropout)
        self.id_dropout = id_dropout
        self.output_dim = 2 * dim

    @property
    def item_features(self) -> tuple[str, ...]:
        """Item-table columns the layer reads."""
        return ("collab",) if self.factor is not None else ()

    def _vectors(self, ids: torch.Tensor, factors: torch.Tensor | None) -> torch.Tensor:
        """(…, dim) item vectors: id row (dropped at random in training) + projected factor."""
        vec = self.ids(ids)
        if self.training and self.id_dropout > 0:
            keep = torch.rand(ids.shape, device=ids.device) >= self.id_dropout
            vec = vec * keep.unsqueeze(-1).to(vec.dtype)
        if self.factor is not None:
            vec = vec + self.factor(factors.to(vec.dtype))
        return vec

    def forward(self, batch: dict[str, torch.Tensor], last: int | None = None) -> torch.Tensor:
        """Args: batch (see the class docstring); last: newest positions read (None: all).

        Returns: (B, 2 · dim).
        """
        seq = batch["item_seq"] if last is None else batch["item_seq"][:, -last:]  # (B, T)
        with_factors = self.factor is not None
        seq_f = batch["seq_collab"][:, -seq.shape[1]:] if with_factors else None
        target = self._vectors(batch["item_id"], batch["item_collab"] if with_factors else None)
        history = self._vectors(seq, seq_f)  # (B, T, dim)
        pooled = self.attention(target, history, seq != 0)  # (B, dim)
        return torch.cat([pooled, target], dim=-1)


@dataclass(frozen=True)
class HistoryIdsConfig:
    """The model's ``history_ids`` mapping (None or absent: the layer is not built)."""

    dim: int = 16  # id vector width
    factors: bool = True  # add a learned projection of the collaborative factor (``collab``)
    hidden_units: tuple[int, ...] = (64, 32)  # activation unit MLP
    activation: str = "relu"
    dropout: float = 0.0
    id_dropout: float = 0.1  # zero an id row at random in training (per occurrence)

    def __post_init__(self) -> None:
        if self.dim < 1 or not 0 <= self.id_dropout < 1 or not 0 <= self.dropout < 1:
            raise ValueError("history_ids: dim >= 1, dropout and id_dropout in [0, 1)")


def build_history_attention(
    settings: Mapping[str, Any] | None, vocab: Mapping[str, Any]
) -> HistoryIdAttention | None:
    """The layer from the model's ``history_ids`` mapping ({} or true: the defaults), or
    None when it is None or false.

    Raises:
        ValueError: on unknown keys, or ``factors`` without a ``collab_dim`` in ``vocab``.
    """
    if settings is None or settings is False:
        return None
    cfg = from_params(HistoryIdsConfig, {} if settings is True else settings, "history_ids")
    factor_dim = int(vocab.get("collab_dim", 0)) if cfg.factors else 0
    if cfg.factors and factor_dim == 0:
        raise ValueError("history_ids.factors needs the collaborative factors (item_semantics "
                         "'collab'); run the collaborative stage or set history_ids.factors=false")
    return HistoryIdAttention(int(vocab["item"]), cfg.dim, cfg.hidden_units, cfg.activation,
                              cfg.dropout, cfg.id_dropout, factor_dim)
