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

__all__ = [
    "BUCKET_MIN_ROWS",
    "DINAttention",
    "TargetHistoryTransformer",
    "key_padding_mask",
]


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


#: CPU batches with at least this many rows are split into history-length buckets
BUCKET_MIN_ROWS = 32


class TargetHistoryTransformer(nn.Module):
    """Transformer encoder over tokens ``[history item ‖ target item (‖ extra channels)]``.

    No positional encoding (as the seed). Post-norm encoder layers with ReLU, batch-first:
    the parameters live in an ``nn.TransformerEncoder`` (state-dict names as the seed's),
    and :meth:`encode` runs the same operations as its layers' forward, with attention as
    one ``scaled_dot_product_attention`` call on views of the packed QKV projection (the
    fused flash kernel in eval; on the CPU, training with dropout takes the math path) and
    without ``nn.MultiheadAttention``'s layout copies (~1.3-1.5x faster, same results).
    Outputs at masked positions are zeroed; the last ``first_k_cols`` positions are
    flattened and, with ``concat_max_pool``, a masked max-pool over positions (masked ones
    filled with -1e9) goes through ``Linear(d, d)`` and is appended.

    **Length buckets (exact).** A row's outputs depend only on its own tokens, and only the
    columns :meth:`needed_width` gives matter (as for the per-batch cut). On the CPU (where
    reading lengths costs no device sync), a batch of at least :data:`BUCKET_MIN_ROWS` rows
    is split into buckets of rows needing at most ``first_k_cols * 2**b`` columns, each run
    at its own longest need: real histories (median 6 in a width of up to 100) then cost a
    fraction of the padded batch. Off on CUDA, under ``torch.compile``, or with
    ``length_buckets=False``.

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
        length_buckets: split CPU batches by history length (see above).

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
        length_buckets: bool = True,
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
        self.length_buckets = length_buckets
        self.output_dim = (first_k_cols + int(concat_max_pool)) * d

    def encode(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``self.encoder(tokens, src_key_padding_mask=mask)``, computed directly.

        Args:
            tokens: (B, T, d).
            mask: (B, T) bool, True = ignore as a key.

        Returns:
            (B, T, d)
        """
        x = tokens
        keep = ~mask[:, None, None, :]  # (B, 1, 1, T) True = attend
        for layer in self.encoder.layers:
            attn = layer.self_attn
            b, t, d = x.shape
            h = attn.num_heads
            qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)  # (B, T, 3d)
            q, k, v = qkv.view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4).unbind(0)
            a = F.scaled_dot_product_attention(  # (B, H, T, d/H)
                q, k, v, attn_mask=keep, dropout_p=attn.dropout if self.training else 0.0
            )
            a = attn.out_proj(a.transpose(1, 2).reshape(b, t, d))  # (B, T, d)
            x = layer.norm1(x + layer.dropout1(a))
            ff = layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))
            x = layer.norm2(x + layer.dropout2(ff))
        if self.encoder.norm is not None:
            x = self.encoder.norm(x)
        return x

    def needed_width(self, lengths: torch.Tensor, width: int) -> torch.Tensor:
        """Columns each row needs for exact outputs (the model's ``history_width`` rule
        per row): its real items and ``first_k_cols``, plus one padding slot (the
        attended keys) under the seed mask. (B,) int64."""
        need = lengths + 1 if self.seed_mask else lengths
        return need.clamp(min=max(self.first_k_cols, 1)).clamp(max=width)

    def _buckets(self, item_seq: torch.Tensor) -> list[tuple[torch.Tensor, int]] | None:
        """``[(rows, width), ...]`` covering the batch, or None to run it whole."""
        batch, width = item_seq.shape
        if (
            not self.length_buckets
            or item_seq.device.type != "cpu"
            or batch < BUCKET_MIN_ROWS
            or torch.compiler.is_compiling()
        ):
            return None
        need = self.needed_width((item_seq != 0).sum(dim=1), width)  # (B,)
        cap = max(self.first_k_cols, 1)
        caps = [cap]
        while caps[-1] < width:
            caps.append(caps[-1] * 2)
        bucket = torch.bucketize(need, torch.tensor(caps, dtype=need.dtype))  # (B,)
        groups = []
        for b in torch.unique(bucket).tolist():
            rows = (bucket == b).nonzero().squeeze(1)
            groups.append((rows, int(need[rows].max())))
        return groups if len(groups) > 1 else None

    def forward(
        self,
        history: torch.Tensor,
        target: torch.Tensor,
        item_seq: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """See the class docstring for shapes."""
        mask = key_padding_mask(item_seq, self.seed_mask)  # (B, T), True = ignore
        groups = self._buckets(item_seq)
        if groups is None:
            return self._rows(history, target, mask, extra)
        parts = []
        for rows, w in groups:  # each bucket cut to the newest w columns
            part_extra = None if extra is None else extra[rows, -w:]
            parts.append(self._rows(history[rows, -w:], target[rows], mask[rows, -w:], part_extra))
        order = torch.cat([rows for rows, _ in groups])
        return torch.cat(parts).index_select(0, torch.argsort(order))  # batch order

    def _rows(
        self,
        history: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        extra: torch.Tensor | None,
    ) -> torch.Tensor:
        width = history.shape[1]
        parts = [history, target.unsqueeze(1).expand(-1, width, -1)]
        if self.extra_dim:
            parts.append(extra.to(history.dtype))
        tokens = torch.cat(parts, dim=-1)  # (B, T, d)
        out = self.encode(tokens, mask)  # (B, T, d)
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
        hidden_units: attention MLP widths (docs/SEED_MODEL.md: ``[512, 256]``).
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
