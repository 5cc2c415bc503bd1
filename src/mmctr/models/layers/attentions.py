"""Sequence layers attending over the user's history given the target item.

- :class:`TargetHistoryTransformer`: the seed's Transformer over ``history ‖ target`` tokens.
- :class:`DINAttention`: DIN's target attention (the organisers' baseline).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmctr.models.layers.blocks import MLPBlock

__all__ = ["DINAttention", "TargetHistoryTransformer", "key_padding_mask"]


def key_padding_mask(item_seq: torch.Tensor, seed_mask: bool = False) -> torch.Tensor:
    """Boolean key padding mask (True = ignore) for a left-padded history.

    Args:
        item_seq: (B, T) history ids, 0 = padding.
        seed_mask: reproduce the released seed: its loader marks *real* items with 1 and
            passes that mask as ``src_key_padding_mask``, so real items are ignored.

    Returns:
        (B, T) bool. A row whose every position is masked gets its last (newest) position
        unmasked, as the seed's ``adjust_mask`` does, so attention never sees an empty row.
    """
    mask = item_seq != 0 if seed_mask else item_seq == 0
    last = torch.zeros_like(mask)
    last[:, -1] = True
    return mask & ~(mask.all(dim=-1, keepdim=True) & last)  # no host sync


class TargetHistoryTransformer(nn.Module):
    """Transformer encoder over tokens ``[history item ‖ target item (‖ extra channels)]``.

    No positional encoding (as the seed). Post-norm ``nn.TransformerEncoder`` with ReLU,
    batch-first, ``enable_nested_tensor=False`` (left-padded rows; keeps shapes static);
    its layers call attention with ``need_weights=False``, so it runs as
    ``scaled_dot_product_attention`` (the fused eval fast path when it applies).
    Outputs at masked positions are zeroed; the last ``first_k_cols`` positions are
    flattened and, with ``concat_max_pool``, a masked max-pool over positions (masked ones
    filled with -1e9) goes through ``Linear(d, d)`` and is appended.

    Args:
        item_dim: width of one item representation; ``d_model = 2 * item_dim + extra_dim``.
        num_layers: encoder layers.
        num_heads: attention heads (must divide ``d_model``).
        dim_feedforward: feed-forward width.
        dropout: dropout inside the encoder layers.
        first_k_cols: newest positions kept flattened in the output.
        concat_max_pool: append the pooled, projected vector.
        seed_mask: use the released seed's inverted mask (see :func:`key_padding_mask`).
        extra_dim: per-token scalar channels appended raw (e.g. 1 for the target-history
            similarity); they make ``d_model`` odd, which ``nn.MultiheadAttention`` accepts.

    Shapes: ``history (B, T, item_dim)``, ``target (B, item_dim)``, ``item_seq (B, T)``,
    ``extra (B, T, extra_dim)`` → ``(B, output_dim)`` with
    ``output_dim = (first_k_cols + concat_max_pool) * d_model``. A batch narrower than
    ``first_k_cols`` is left-padded with zero outputs (what masked padding columns give).
    """

    def __init__(
        self,
        item_dim: int,
        num_layers: int = 2,
        num_heads: int = 1,
        dim_feedforward: int = 256,
        dropout: float = 0.2,
        first_k_cols: int = 16,
        concat_max_pool: bool = True,
        seed_mask: bool = False,
        extra_dim: int = 0,
    ) -> None:
        super().__init__()
        self.d_model = d = 2 * item_dim + extra_dim
        if d % num_heads:
            raise ValueError(
                f"d_model {d} (2*{item_dim}+{extra_dim}) not divisible by num_heads {num_heads}"
            )
        layer = nn.TransformerEncoderLayer(
            d,
            num_heads,
            dim_feedforward,
            dropout,
            activation="relu",
            batch_first=True,
            norm_first=False,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, enable_nested_tensor=False
        )
        self.out_linear = nn.Linear(d, d) if concat_max_pool else None
        self.first_k_cols = first_k_cols
        self.seed_mask = seed_mask
        self.extra_dim = extra_dim
        self.output_dim = (first_k_cols + int(concat_max_pool)) * d

    def forward(
        self,
        history: torch.Tensor,
        target: torch.Tensor,
        item_seq: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """See the class docstring for shapes."""
        width = history.shape[1]
        parts = [history, target.unsqueeze(1).expand(-1, width, -1)]
        if self.extra_dim:
            parts.append(extra.to(history.dtype))
        tokens = torch.cat(parts, dim=-1)  # (B, T, d)
        mask = key_padding_mask(item_seq, self.seed_mask)  # (B, T), True = ignore
        out = self.encoder(tokens, src_key_padding_mask=mask)  # (B, T, d)
        masked = mask.unsqueeze(-1)
        out = out.masked_fill(masked, 0.0)
        k = self.first_k_cols
        cols = out[:, -k:] if width >= k else F.pad(out, (0, 0, k - width, 0))
        outputs = [cols.flatten(1)]  # (B, k*d)
        if self.out_linear is not None:
            fill = max(-1e9, torch.finfo(out.dtype).min)  # -1e9 unless fp16
            # max (not amax): ties (identical padding tokens under seed_mask) send the
            # gradient to one position, as the seed does
            pooled = out.masked_fill(masked, fill).max(dim=1).values  # (B, d)
            outputs.append(self.out_linear(pooled))
        return torch.cat(outputs, dim=-1)


class DINAttention(nn.Module):
    """DIN target attention (FuxiCTR's ``DIN_Attention``).

    Scores ``MLP([q, k, q - k, q * k]) -> 1`` per history position (no softmax by default:
    the raw scores weight the sum), masked to real positions.

    Args:
        item_dim: width ``D`` of target and history representations.
        hidden_units: attention MLP widths (SPEC §4: ``[512, 256]``).
        activation: ``"dice"`` or ``"relu"`` (any name in ``blocks.ACTIVATIONS``).
        dropout: attention MLP dropout.
        use_softmax: softmax the scores over real positions instead (seed's
            ``din_use_softmax``).

    Shapes: ``target (B, D)``, ``history (B, T, D)``, ``mask (B, T)`` bool (True = real
    item) → ``(B, D)``.
    """

    def __init__(
        self,
        item_dim: int,
        hidden_units: Sequence[int] = (512, 256),
        activation: str = "dice",
        dropout: float = 0.1,
        use_softmax: bool = False,
    ) -> None:
        super().__init__()
        self.mlp = MLPBlock(
            4 * item_dim, hidden_units, dropout, activation, output_dim=1
        )
        self.use_softmax = use_softmax

    def forward(
        self, target: torch.Tensor, history: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """See the class docstring for shapes."""
        q = target.unsqueeze(1).expand_as(history)  # (B, T, D)
        scores = self.mlp(
            torch.cat([q, history, q - history, q * history], dim=-1)
        ).squeeze(-1)
        if self.use_softmax:
            fill = max(-1e9, torch.finfo(scores.dtype).min)  # -1e9 unless fp16
            scores = torch.softmax(scores.masked_fill(~mask, fill), dim=-1)
        else:
            scores = scores * mask.to(scores.dtype)  # (B, T)
        return torch.bmm(scores.unsqueeze(1).to(history.dtype), history).squeeze(
            1
        )  # (B, D)
