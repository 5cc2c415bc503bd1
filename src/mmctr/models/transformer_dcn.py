"""Transformer_DCN: the seed model (team momo, 1st place), SPEC.md §3.

``item rep = [id 64 ‖ tags 64 ‖ proj(frozen emb) 128]`` (256-d) → tokens
``[history item ‖ target]`` (512-d) → 2-layer post-norm Transformer → newest 16 outputs
flattened + projected max-pool (8,704-d) → DCN input
``[likes ‖ views ‖ target ‖ transformer]`` (9,088-d) → parallel CrossNetV2 and DNN →
head MLP 64 → 32 → 1 logit. 267,898,881 trainable parameters with MicroLens vocabularies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mmctr.models.base import CTRModel, require_vocab
from mmctr.models.layers import (
    CrossNetMix,
    CrossNetV2,
    ItemEmbedding,
    MLPBlock,
    TargetHistoryTransformer,
)

__all__ = [
    "CROSS_NETS",
    "TransformerDCN",
    "TransformerDCNConfig",
    "TransformerDCNParams",
]

#: ``cross_net`` name -> what it builds
CROSS_NETS = ("full", "mix")


@dataclass(frozen=True)
class TransformerDCNParams:
    """Parameters shared by ``transformer_dcn`` and ``transformer_dcn_quant`` (seed names).

    Defaults are the seed's tuned config (``Transformer_DCN_MicroLens_1M_x1_001_820c435c``).
    """

    embedding_dim: int = (
        64  # id, tag, likes, views tables (seed); item rep = 2*64 + mm_emb_dim
    )
    mm_emb_dim: int = (
        128  # projection width of the frozen 128-d embedding: keeps its width
    )
    max_len: int | None = None  # newest history positions read; None: all (seed: 100)
    transformer_layers: int = 2  # seed: 2 beat 1 on valid AUC
    num_heads: int = 1  # seed: one head over 512-d tokens
    dim_feedforward: int = 256  # seed: narrower than d_model, little cost
    transformer_dropout: float = 0.2  # seed's regulariser (no L2 anywhere)
    first_k_cols: int = (
        16  # newest 16 outputs flattened: most histories are shorter (median 6)
    )
    concat_max_pool: bool = True  # plus one pooled summary of all positions
    dcn_cross_layers: int = 3  # seed: 3 full-rank cross layers (93% of the parameters)
    dcn_hidden_units: tuple[int, ...] = (1024, 512, 256)  # the parallel DNN
    mlp_hidden_units: tuple[int, ...] = (64, 32)  # head on [cross ‖ dnn]
    hidden_activations: str = "relu"  # seed
    net_dropout: float = 0.2  # DNN dropout (the head has none, as in the seed)
    batch_norm: bool = False  # seed: no batch norm in the DNN
    seed_mask: bool = (
        False  # True: the released code's inverted padding mask (SPEC §3 defect)
    )
    similarity_input: bool = (
        False  # SPEC §5: seq_sim as a token channel + sim_stats to DCN
    )
    use_transformer: bool = True  # ablation "without the Transformer" when False
    use_dcn: bool = True  # ablation "without DCNv2" (no cross net, DNN kept) when False
    cross_net: str = (
        "full"  # "full" (CrossNetV2, seed) or "mix" (low-rank experts, ~18x cheaper)
    )
    cross_low_rank: int = 64  # "mix" only: rank per expert
    cross_experts: int = 4  # "mix" only: number of experts

    def __post_init__(self) -> None:
        if self.cross_net not in CROSS_NETS:
            raise ValueError(
                f"cross_net {self.cross_net!r}: expected one of {list(CROSS_NETS)}"
            )

    @property
    def with_mm_emb(self) -> bool:
        """Whether the frozen multimodal embedding is part of the item representation."""
        raise NotImplementedError


@dataclass(frozen=True)
class TransformerDCNConfig(TransformerDCNParams):
    """``transformer_dcn`` parameters."""

    use_mm_emb: bool = True  # ablation "without the multimodal embedding" when False

    @property
    def with_mm_emb(self) -> bool:
        return self.use_mm_emb


class TransformerDCN(CTRModel):
    """The seed's Transformer + parallel DCNv2 model.

    Args:
        config: the model parameters.
        vocab: vocabulary sizes with padding: ``item``, ``tag``, ``likes``, ``views``
            (``emb_dim``, default 128: width of the frozen embedding).

    ``forward(batch) -> (B,)`` logits; batch keys per ARCHITECTURE.md §4.
    """

    config_class = TransformerDCNConfig

    def __init__(self, config: TransformerDCNParams, vocab: Mapping[str, Any]) -> None:
        super().__init__()
        c = self.config = config
        n_likes, n_views = require_vocab(vocab, "likes", "views")
        self.item_embedding = self._build_item_embedding(config, vocab)
        self.item_features = self.item_embedding.item_features
        sim = c.similarity_input
        if sim:  # seq_sim feeds the tokens, sim_stats the DCN input
            self.row_features = (
                ("seq_sim", "sim_stats") if c.use_transformer else ("sim_stats",)
            )
        self.likes = nn.Embedding(n_likes, c.embedding_dim, padding_idx=0)
        self.views = nn.Embedding(n_views, c.embedding_dim, padding_idx=0)
        item_dim = self.item_embedding.output_dim
        self.transformer = None
        if c.use_transformer:
            self.transformer = TargetHistoryTransformer(
                item_dim,
                c.transformer_layers,
                c.num_heads,
                c.dim_feedforward,
                c.transformer_dropout,
                c.first_k_cols,
                c.concat_max_pool,
                c.seed_mask,
                extra_dim=int(sim),  # the raw similarity: d_model = 2 * item_dim + 1
            )
        dcn_in = 2 * c.embedding_dim + item_dim + 4 * sim
        dcn_in += self.transformer.output_dim if self.transformer is not None else 0
        self.crossnet = None
        if c.use_dcn and c.cross_net == "full":
            self.crossnet = CrossNetV2(dcn_in, c.dcn_cross_layers)
        elif c.use_dcn:
            self.crossnet = CrossNetMix(
                dcn_in, c.dcn_cross_layers, c.cross_low_rank, c.cross_experts
            )
        self.dnn = MLPBlock(
            dcn_in,
            c.dcn_hidden_units,
            c.net_dropout,
            c.hidden_activations,
            c.batch_norm,
        )
        head_in = self.dnn.output_dim + (dcn_in if self.crossnet is not None else 0)
        self.head = MLPBlock(
            head_in, c.mlp_hidden_units, 0.0, c.hidden_activations, output_dim=1
        )
        self.dcn_input_dim = dcn_in
        self.reset_parameters()

    @staticmethod
    def _build_item_embedding(
        config: TransformerDCNParams, vocab: Mapping[str, Any], **extra: Any
    ) -> ItemEmbedding:
        """The item representation; subclasses pass ``extra`` ItemEmbedding options."""
        n_item, n_tag = require_vocab(vocab, "item", "tag")
        return ItemEmbedding(
            n_item,
            n_tag,
            config.embedding_dim,
            mm_input_dim=int(vocab.get("emb_dim", 128)),
            mm_dim=config.mm_emb_dim if config.with_mm_emb else 0,
            **extra,
        )

    def history_width(self, longest: int, width: int) -> int:
        """Exact cut width (see :class:`CTRModel`).

        Correct mask: padding keys are ignored, so only real items and the flattened newest
        ``first_k_cols`` columns matter. Seed mask: padding positions *are* the attended keys
        (all identical), so one padding slot must survive. No Transformer: no history read.
        """
        c = self.config
        if not c.use_transformer:
            return min(width, 1)
        if c.max_len is not None:  # positions older than max_len are never read
            width = min(width, c.max_len)
        if c.seed_mask:
            return min(width, max(longest + 1, c.first_k_cols))
        return min(width, max(longest, c.first_k_cols, 1))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Args: batch (ARCHITECTURE.md §4). Returns: logits (B,)."""
        target = self.item_embedding.target(batch)  # (B, I)
        parts = [
            self.likes(batch["likes_level"]),
            self.views(batch["views_level"]),
            target,
        ]
        if self.transformer is not None:
            last = self.config.max_len
            history = self.item_embedding.history(batch, last=last)  # (B, T, I)
            extra = (
                batch["seq_sim"][:, -last if last else 0 :].unsqueeze(-1)
                if self.config.similarity_input
                else None
            )
            seq = batch["item_seq"] if last is None else batch["item_seq"][:, -last:]
            parts.append(self.transformer(history, target, seq, extra))
        if self.config.similarity_input:
            parts.append(batch["sim_stats"].to(target.dtype))  # (B, 4)
        x = torch.cat(parts, dim=-1)  # (B, dcn_input_dim)
        deep = self.dnn(x)  # (B, 256)
        if self.crossnet is not None:
            deep = torch.cat([self.crossnet(x), deep], dim=-1)
        return self.head(deep).squeeze(-1)  # (B,)
