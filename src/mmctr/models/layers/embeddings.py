"""Item representation shared by the target item and every history item.

``rep = [item-id emb ‖ masked mean of tag embs ‖ Linear(128 -> mm_dim, no bias)(frozen emb)
         ‖ mean of RQ-code embs ‖ mean of neighbour-id embs]``
(the last three parts optional). Id 0 is padding in every table: a padding item (id 0,
tags 0, emb row all zero, codes 0, neighbours 0) maps to an all-zero representation.

Design choices for the semantic parts (ARCHITECTURE.md §3):

- **RQ codes** ``(…, L)`` with values ``1..C`` per layer (0 = padding): one shared table of
  ``L * C + 1`` rows where layer ``l`` owns rows ``l*C+1 .. l*C+C`` (offset table, so code 3
  of layer 0 and code 3 of layer 1 are different vectors), *averaged* over the layers.
  The mean keeps the item width at ``+embedding_dim`` whatever ``L`` is; concatenating would
  widen the Transformer tokens and grow the full-rank cross net quadratically.
- **Neighbours** ``(…, k)``: ids of the k most similar items, embedded through the *item-id
  table itself* (no new parameters; a neighbour's vector is the one learnt from its own
  clicks) and averaged over the non-padding neighbours, as its own ``embedding_dim`` slot.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ItemEmbedding", "masked_mean_embedding"]


def masked_mean_embedding(table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
    """Mean of the embeddings of the non-zero ids along the last axis.

    Args:
        table: an embedding table whose row 0 is zero (``padding_idx=0``).
        ids: (..., K) int64 ids, 0 = padding.

    Returns:
        (..., D); all zero where every id is padding.
    """
    count = (ids != 0).sum(-1, keepdim=True).clamp_min(1)  # (..., 1)
    return table(ids).sum(-2) / count  # padding rows are zero, so the sum is masked


class ItemEmbedding(nn.Module):
    """Learnable item representation from the gathered item-table columns.

    Args:
        num_items: item vocabulary size (with padding 0).
        num_tags: tag vocabulary size (with padding 0).
        embedding_dim: width of the item-id, tag, code and neighbour embeddings.
        mm_input_dim: width of the frozen multimodal embedding (128).
        mm_dim: output width of its bias-free projection; 0 drops the multimodal part.
        rq_layers: number of RQ code layers ``L`` (0 = no codes).
        rq_codes: codebook size ``C`` (codes are ``1..C``).
        use_neighbors: add the mean neighbour-id embedding.
        id_buckets: keep an ``id_map`` buffer (V,) through which item ids reach the id
            table; :meth:`keep_frequent_ids` maps rare ids to 0 (the zero padding row), so
            a rare or cold item is represented by its content alone.

    Batch keys read (ARCHITECTURE.md §4): target ``item_id``, ``item_tags``, ``item_emb``,
    ``item_codes``, ``item_nbrs``; history ``item_seq``, ``seq_tags``, ``seq_emb``,
    ``seq_codes``, ``seq_nbrs`` (only those the switches need, see :attr:`item_features`).
    """

    def __init__(
        self,
        num_items: int,
        num_tags: int,
        embedding_dim: int,
        mm_input_dim: int = 128,
        mm_dim: int = 128,
        rq_layers: int = 0,
        rq_codes: int = 0,
        use_neighbors: bool = False,
        id_buckets: bool = False,
    ) -> None:
        super().__init__()
        self.item = nn.Embedding(num_items, embedding_dim, padding_idx=0)
        # saved with the weights, so scoring sees the same map; None: ids used as they are
        self.register_buffer("id_map", torch.arange(num_items) if id_buckets else None)
        self.tag = nn.Embedding(num_tags, embedding_dim, padding_idx=0)
        self.mm_proj = (
            nn.Linear(mm_input_dim, mm_dim, bias=False) if mm_dim > 0 else None
        )
        self.code = None
        if rq_layers > 0:
            self.code = nn.Embedding(
                rq_layers * rq_codes + 1, embedding_dim, padding_idx=0
            )
            self.register_buffer(
                "code_offsets", torch.arange(rq_layers) * rq_codes, persistent=False
            )
        self.use_neighbors = use_neighbors
        self.output_dim = embedding_dim * (
            2 + int(self.code is not None) + int(use_neighbors)
        ) + max(mm_dim, 0)
        features = ["tags"]
        if self.mm_proj is not None:
            features.append("emb")
        if self.code is not None:
            features.append("codes")
        if use_neighbors:
            features.append("nbrs")
        #: item-table columns this layer reads (``model.item_features``)
        self.item_features: tuple[str, ...] = tuple(features)

    @torch.no_grad()
    def keep_frequent_ids(self, counts: torch.Tensor, min_count: int) -> int:
        """Give an own id embedding only to items seen at least ``min_count`` times.

        Args:
            counts: (V,) occurrences of each item in the train split.
            min_count: the threshold.

        Returns:
            The number of items that keep their id embedding.
        """
        if self.id_map is None:
            raise ValueError("ItemEmbedding built without id_buckets")
        ids = torch.arange(len(self.id_map), device=self.id_map.device)
        keep = counts.to(self.id_map.device) >= min_count
        keep[0] = False
        self.id_map.copy_(torch.where(keep, ids, 0))
        return int(keep.sum())

    def id_rows(self, ids: torch.Tensor) -> torch.Tensor:
        """Rows of the id table for item ``ids`` (rare ids -> 0 under ``id_buckets``)."""
        return ids if self.id_map is None else self.id_map[ids]

    def forward(
        self,
        ids: torch.Tensor,
        tags: torch.Tensor,
        emb: torch.Tensor | None = None,
        codes: torch.Tensor | None = None,
        nbrs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embed items given their gathered features.

        Args:
            ids: (...) item ids.
            tags: (..., num_tags) tag ids, 0 = padding.
            emb: (..., mm_input_dim) frozen embedding (needed when ``mm_dim > 0``).
            codes: (..., L) RQ codes in ``1..C``, 0 = padding (needed with codes).
            nbrs: (..., k) neighbour item ids, 0 = padding (needed with neighbours).

        Returns:
            (..., output_dim)
        """
        parts = [self.item(self.id_rows(ids)), masked_mean_embedding(self.tag, tags)]
        if self.mm_proj is not None:
            parts.append(self.mm_proj(emb))
        if self.code is not None:
            shifted = torch.where(codes > 0, codes + self.code_offsets, 0)
            parts.append(self.code(shifted).mean(-2))  # padding item: all rows 0
        if self.use_neighbors:
            parts.append(masked_mean_embedding(self.item, self.id_rows(nbrs)))
        return torch.cat(parts, dim=-1)

    def _encode(
        self, batch: dict[str, torch.Tensor], ids: str, prefix: str, last: int | None
    ):
        def get(key: str) -> torch.Tensor:
            x = batch[key]
            return x if last is None else x[:, -last:]

        return self(
            get(ids),
            get(f"{prefix}_tags"),
            get(f"{prefix}_emb") if self.mm_proj is not None else None,
            get(f"{prefix}_codes") if self.code is not None else None,
            get(f"{prefix}_nbrs") if self.use_neighbors else None,
        )

    def target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Target item representation from ``item_id`` / ``item_*``: (B, output_dim)."""
        return self._encode(batch, "item_id", "item", None)

    def history(
        self, batch: dict[str, torch.Tensor], last: int | None = None
    ) -> torch.Tensor:
        """History representations from ``item_seq`` / ``seq_*``: (B, T, output_dim).

        Args:
            batch: the batch dict.
            last: keep only the newest ``last`` positions (sliced before embedding).
        """
        return self._encode(batch, "item_seq", "seq", last)
