"""Transformer_DCN_Quant: the seed's future work 1 (ARCHITECTURE.md §3), made real.

The same network as :class:`~mmctr.models.transformer_dcn.TransformerDCN`; only the item
representation grows: ``[id ‖ tags ‖ (proj(frozen emb)) ‖ mean RQ-code emb ‖ mean
neighbour-id emb]`` (see :mod:`mmctr.models.layers.embeddings` for how codes and
neighbours are embedded). Codes and neighbours are computed once per item table by the
``semantic_similarity`` stage and gathered into the batch as ``item_codes``/``seq_codes``
(B, [T,] L) and ``item_nbrs``/``seq_nbrs`` (B, [T,] k); the seed recomputed them with
distances to every item inside each forward pass.

Vocab contract (added to the vocab dict by the training stage):
``rq_layers`` = L code layers, ``rq_codes`` = C codes per layer (codes are ``1..C``, 0 =
padding), ``num_neighbors`` = k (informational: the neighbour mean works for any k).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmctr.models.layers import ItemEmbedding
from mmctr.models.transformer_dcn import TransformerDCN, TransformerDCNParams

__all__ = ["TransformerDCNQuant", "TransformerDCNQuantConfig", "resolve_size"]


@dataclass(frozen=True)
class TransformerDCNQuantConfig(TransformerDCNParams):
    """``transformer_dcn_quant`` parameters: the shared ones plus the semantic codes."""

    keep_mm_emb: bool = (
        True  # keep the frozen embedding beside its codes ("join"), else "replace"
    )
    num_codes: int | None = (
        None  # codebook size C; None: vocab["rq_codes"] (the data decides)
    )
    rq_layers: int | None = None  # code layers L; None: vocab["rq_layers"]

    @property
    def with_mm_emb(self) -> bool:
        return self.keep_mm_emb


def resolve_size(
    name: str, param: int | None, vocab: Mapping[str, Any], key: str
) -> int:
    """A size given by the vocab (``vocab[key]``) and/or a parameter; they must agree.

    Raises:
        ValueError: when neither gives it, or both give different values.
    """
    from_vocab = vocab.get(key)
    if from_vocab is None and param is None:
        raise ValueError(f"{name}: set the parameter or the vocab key {key!r}")
    if from_vocab is not None and param is not None and int(from_vocab) != int(param):
        raise ValueError(f"{name}={param} disagrees with vocab[{key!r}]={from_vocab}")
    return int(from_vocab if from_vocab is not None else param)


class TransformerDCNQuant(TransformerDCN):
    """Transformer_DCN whose item representation adds RQ-code and neighbour-id embeddings.

    Args:
        config: the model parameters.
        vocab: as for :class:`TransformerDCN` plus ``rq_layers``/``rq_codes`` (or the
            ``rq_layers``/``num_codes`` parameters).
    """

    config_class = TransformerDCNQuantConfig

    @staticmethod
    def _build_item_embedding(
        config: TransformerDCNParams, vocab: Mapping[str, Any]
    ) -> ItemEmbedding:
        return TransformerDCN._build_item_embedding(
            config,
            vocab,
            rq_layers=resolve_size("rq_layers", config.rq_layers, vocab, "rq_layers"),
            rq_codes=resolve_size("num_codes", config.num_codes, vocab, "rq_codes"),
            use_neighbors=True,
        )
