"""Transformer_DCN: the seed model (team momo, 1st place), docs/SEED_MODEL.md.

``item rep = [id 64 ‖ tags 64 ‖ proj(frozen emb) 128]`` (256-d) → tokens
``[history item ‖ target]`` (512-d) → 2-layer post-norm Transformer → newest 16 outputs
flattened + projected max-pool (8,704-d) → DCN input
``[likes ‖ views ‖ target ‖ transformer]`` (9,088-d) → parallel CrossNetV2 and DNN →
head MLP 64 → 32 → 1 logit. 267,898,881 trainable parameters with MicroLens vocabularies.

Optional inputs (target-history similarity, tag overlap, row statistics, bias terms) are
layers of :mod:`mmctr.models.layers.inputs`, switched on by parameters and composed here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mmctr.engine.batching import item_occurrences
from mmctr.models.base import CTRModel, require_vocab
from mmctr.models.layers import (
    CrossNetMix,
    CrossNetV2,
    ItemEmbedding,
    MLPBlock,
    TargetHistoryTransformer,
)
from mmctr.models.layers.inputs import (
    DENSE,
    LOGIT,
    TOKEN,
    InputContext,
    ModelInputs,
    build_inputs,
    enabled_inputs,
)

logger = logging.getLogger(__name__)

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

    embedding_dim: int = 64  # id, tag, likes, views tables (seed); item rep = 2*64 + mm_emb_dim
    mm_emb_dim: int = 128  # projection width of the frozen 128-d embedding: keeps its width
    max_len: int | None = None  # newest history positions read; None: all (seed: 100)
    transformer_layers: int = 2  # seed: 2 beat 1 on valid AUC
    num_heads: int = 1  # seed: one head over 512-d tokens
    dim_feedforward: int = 256  # seed: narrower than d_model, little cost
    transformer_dropout: float = 0.2  # seed's regulariser (no L2 anywhere)
    first_k_cols: int = 16  # newest 16 outputs flattened: most histories are shorter (median 6)
    concat_max_pool: bool = True  # plus one pooled summary of all positions
    dcn_cross_layers: int = 3  # seed: 3 full-rank cross layers (93% of the parameters)
    dcn_hidden_units: tuple[int, ...] = (1024, 512, 256)  # the parallel DNN
    mlp_hidden_units: tuple[int, ...] = (64, 32)  # head on [cross ‖ dnn]
    hidden_activations: str = "relu"  # seed
    net_dropout: float = 0.2  # DNN dropout (the head has none, as in the seed)
    batch_norm: bool = False  # seed: no batch norm in the DNN
    seed_mask: bool = False  # True: the released code's inverted mask (docs/SEED_MODEL.md defect)
    # optional inputs (models/layers/inputs; INPUTS names the switch of each)
    similarity_input: bool = False  # seq_sim as a token channel + sim_stats to DCN
    tag_overlap_input: bool = False  # share of the target's tags per history item: a token channel
    dense_input: bool = False  # row_stats (history/popularity/tag statistics), batch-normed, to DCN
    collab_input: bool = False  # collab_stats (statistics on the collaborative factors), to DCN
    # history item ids through DIN target attention (layers/history_ids.py): None = off, or
    # a mapping of HistoryIdsConfig keys ({} = its defaults); its output joins the DCN input
    history_ids: Mapping[str, Any] | None = None
    dense_head_units: tuple[int, ...] | None = None  # with dense_input: a small MLP of the dense
    # features alone whose logit is added (wide & deep): learns fast on small data
    bias_terms: bool = False  # + learned scalar biases of the target item and of the user
    user_buckets: int = 1 << 20  # user ids hashed (modulo) into this many bias rows
    min_item_count: int = 0  # ids seen < this often in train share the zero id row (content only)
    use_transformer: bool = True  # ablation "without the Transformer" when False
    use_dcn: bool = True  # ablation "without DCNv2" (no cross net, DNN kept) when False
    cross_net: str = "full"  # "full" (CrossNetV2, seed) or "mix" (low-rank experts, ~18x cheaper)
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
    """The seed's Transformer + parallel DCNv2 model, with optional inputs.

    The optional inputs (similarity, tag overlap, row statistics, bias terms; see
    :mod:`mmctr.models.layers.inputs`) are layers in :attr:`inputs`, enabled by their
    switch parameters: token inputs widen the Transformer's tokens, dense inputs the DCN
    input (batch-normed together in :attr:`dense_norm` when one asks for it, and read
    alone by :attr:`dense_head` when ``dense_head_units`` is set), logit inputs add to
    the logit.

    Args:
        config: the model parameters.
        vocab: vocabulary sizes with padding: ``item``, ``tag``, ``likes``, ``views``
            (``emb_dim``, default 128: width of the frozen embedding; ``row_stats`` with
            ``dense_input``).

    ``forward(batch) -> (B,)`` logits; batch keys per ARCHITECTURE.md §4.
    """

    config_class = TransformerDCNConfig
    renamed_keys = {  # model files saved before the optional inputs became layers
        "item_bias.weight": "inputs.bias.item.weight",
        "user_bias.weight": "inputs.bias.user.weight",
    }

    def __init__(self, config: TransformerDCNParams, vocab: Mapping[str, Any]) -> None:
        super().__init__()
        c = self.config = config
        n_likes, n_views = require_vocab(vocab, "likes", "views")
        self.item_embedding = self._build_item_embedding(config, vocab)
        names = enabled_inputs(c, tokens=c.use_transformer)
        # logit inputs are built after the trunk: they never change its widths, and the
        # seed's order of random initialisation is kept
        inputs = ModelInputs(build_inputs(c, vocab, names, kinds=(TOKEN, DENSE)))
        dense_dim, norm_dim = inputs.width(DENSE), inputs.norm_width
        self.dense_norm = nn.BatchNorm1d(norm_dim) if inputs.normalize else None
        self.likes = nn.Embedding(n_likes, c.embedding_dim, padding_idx=0)
        self.views = nn.Embedding(n_views, c.embedding_dim, padding_idx=0)
        item_dim = self.item_embedding.output_dim
        self.transformer = self._build_transformer(c, item_dim, inputs.width(TOKEN))
        dcn_in = 2 * c.embedding_dim + item_dim + dense_dim
        dcn_in += self.transformer.output_dim if self.transformer is not None else 0
        self.crossnet = self._build_crossnet(c, dcn_in)
        self.dnn = MLPBlock(
            dcn_in, c.dcn_hidden_units, c.net_dropout, c.hidden_activations, c.batch_norm
        )
        head_in = self.dnn.output_dim + (dcn_in if self.crossnet is not None else 0)
        self.head = MLPBlock(
            head_in, c.mlp_hidden_units, 0.0, c.hidden_activations, output_dim=1
        )
        inputs.update(build_inputs(c, vocab, names, kinds=(LOGIT,)))
        self.inputs = inputs
        self.item_features = tuple(
            dict.fromkeys(self.item_embedding.item_features + inputs.item_features)
        )
        self.row_features = inputs.row_features
        self.dense_head = None  # wide & deep: the normed dense features alone to a logit
        if self.dense_norm is not None and c.dense_head_units is not None:
            self.dense_head = MLPBlock(
                norm_dim, c.dense_head_units, 0.0, c.hidden_activations, output_dim=1
            )
        self.dcn_input_dim = dcn_in
        self.reset_parameters()

    @staticmethod
    def _build_transformer(
        config: TransformerDCNParams, item_dim: int, token_dim: int
    ) -> TargetHistoryTransformer | None:
        """The Transformer over ``[history ‖ target ‖ token channels]``, or None."""
        c = config
        if not c.use_transformer:
            return None
        return TargetHistoryTransformer(
            item_dim, c.transformer_layers, c.num_heads, c.dim_feedforward,
            c.transformer_dropout, c.first_k_cols, c.concat_max_pool, c.seed_mask,
            extra_dim=token_dim,  # raw per-token scalars: d_model = 2 * item_dim + extra
        )

    @staticmethod
    def _build_crossnet(config: TransformerDCNParams, dcn_in: int) -> nn.Module | None:
        """The cross network named by ``cross_net``, or None without ``use_dcn``."""
        c = config
        if not c.use_dcn:
            return None
        if c.cross_net == "full":
            return CrossNetV2(dcn_in, c.dcn_cross_layers)
        return CrossNetMix(dcn_in, c.dcn_cross_layers, c.cross_low_rank, c.cross_experts)

    def reset_parameters(self) -> None:
        """FuxiCTR's defaults everywhere, then each input's own initialisation."""
        super().reset_parameters()
        self.inputs.reset_parameters()

    @staticmethod
    def _build_item_embedding(
        config: TransformerDCNParams, vocab: Mapping[str, Any], **extra: Any
    ) -> ItemEmbedding:
        """The item representation; subclasses pass ``extra`` ItemEmbedding options."""
        n_item, n_tag = require_vocab(vocab, "item", "tag")
        return ItemEmbedding(
            n_item, n_tag, config.embedding_dim,
            mm_input_dim=int(vocab.get("emb_dim", 128)),
            mm_dim=config.mm_emb_dim if config.with_mm_emb else 0,
            id_buckets=config.min_item_count > 0,
            **extra,
        )

    def prepare(self, train_rows: Mapping[str, np.ndarray]) -> None:
        """With ``min_item_count``: items seen (as target or in a history) fewer times in
        the train split than that keep no id embedding of their own."""
        if self.config.min_item_count <= 0:
            return
        n = self.item_embedding.item.num_embeddings
        target, history = item_occurrences(train_rows["item_id"], train_rows["item_seq"], n)
        kept = self.item_embedding.keep_frequent_ids(
            torch.as_tensor(target + history), self.config.min_item_count
        )
        logger.info("item ids with an own embedding (seen ≥ %d times in train): %d of %d",
                    self.config.min_item_count, kept, n - 1)

    def history_width(self, longest: int, width: int) -> int:
        """Exact cut width (see :class:`CTRModel`).

        Correct mask: padding keys are ignored, so only real items and the flattened newest
        ``first_k_cols`` columns matter. Seed mask: padding positions *are* the attended keys
        (all identical), so one padding slot must survive. No Transformer: no history read.
        An input that reads the history may widen the cut (``ModelInput.history_width``).
        """
        return max(self._transformer_width(longest, width),
                   self.inputs.history_width(longest, width))

    def _transformer_width(self, longest: int, width: int) -> int:
        c = self.config
        if not c.use_transformer:
            return min(width, 1)
        if c.max_len is not None:  # positions older than max_len are never read
            width = min(width, c.max_len)
        if c.seed_mask:
            return min(width, max(longest + 1, c.first_k_cols))
        return min(width, max(longest, c.first_k_cols, 1))

    def _context(self) -> InputContext:
        return InputContext(self.config.max_len, self.item_embedding)

    def _token_extra(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Raw per-token channels of the token inputs (the target-history cosine, the share
        of the target's tags each history item carries): (B, T, extra) fp32, or None."""
        return self.inputs.tokens(batch, self._context())

    def _dense(
        self, batch: dict[str, torch.Tensor], dtype: torch.dtype
    ) -> tuple[list[torch.Tensor], torch.Tensor | float]:
        """The dense inputs for the DCN input (normed together under :attr:`dense_norm`:
        one (B, D_dense) tensor) and the wide logit (B, 1) of :attr:`dense_head` (or 0)."""
        dense, raw = self.inputs.dense(batch, self._context())  # [(B, w), ...] each
        if self.dense_norm is not None and dense:
            dense = [self.dense_norm(torch.cat(dense, dim=-1).float())]  # (B, D_norm)
        dense = [d.to(dtype) for d in dense]
        wide = self.dense_head(dense[0]) if self.dense_head is not None else 0
        return dense + [r.to(dtype) for r in raw], wide

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
            seq = batch["item_seq"] if last is None else batch["item_seq"][:, -last:]
            parts.append(self.transformer(history, target, seq, self._token_extra(batch)))
        dense, wide = self._dense(batch, target.dtype)
        x = torch.cat(parts + dense, dim=-1)  # (B, dcn_input_dim)
        deep = self.dnn(x)  # (B, 256)
        if self.crossnet is not None:
            deep = torch.cat([self.crossnet(x), deep], dim=-1)
        logit = (self.head(deep) + wide).squeeze(-1)  # (B,)
        offset = self.inputs.logit(batch, self._context())  # (B,) or None
        return logit if offset is None else logit + offset
