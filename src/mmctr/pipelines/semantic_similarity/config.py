"""``params:semantic_similarity`` as a frozen dataclass, and its check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from mmctr.config import from_params
from mmctr.parameters import as_mapping, register

__all__ = ["SemanticSimilarityConfig", "semantic_similarity_config"]

_DEVICES = ("auto", "cpu", "cuda")
_INITS = ("random", "k-means++")


@dataclasses.dataclass(frozen=True)
class SemanticSimilarityConfig:
    """``params:semantic_similarity``."""

    top_k: int = 10  # neighbour ids per item (VQ-style codes)
    rq_layers: int = 3  # residual-quantization layers L
    rq_codes: int = 256  # centroids per layer C
    rq_fit_sample: int = 50_000  # most items each layer's k-means is fitted on (speed)
    # k-means++ seeding costs 30-80 s on 50k items on 2 cores, random seeding best of 3
    # about 2 s for a relative error ~1.5% higher: not worth it for semantic ids
    rq_init: str = "random"
    rq_n_init: int = 3
    # residual layers take ~80 Lloyd iterations to converge; 25 leave the error +0.1%
    rq_max_iter: int = 30
    threshold: float = 0.5  # sim_stats counts history items with cosine above this
    chunk_size: int = 16_384  # split rows per block: ≤ 1.7 GB of gathers at width 100
    topk_chunk_size: int = 2_048  # query items per block: 2048 × 91,718 × 4 B = 0.75 GB
    seed: int = 2025
    device: str = "auto"  # "auto" takes a GPU when present

    def __post_init__(self) -> None:
        for name in (
            "top_k",
            "rq_layers",
            "rq_codes",
            "rq_fit_sample",
            "rq_n_init",
            "rq_max_iter",
            "chunk_size",
            "topk_chunk_size",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"semantic_similarity.{name} must be ≥ 1")
        if self.rq_init not in _INITS:
            raise ValueError(f"semantic_similarity.rq_init must be one of {_INITS}")
        if self.device not in _DEVICES:
            raise ValueError(f"semantic_similarity.device must be one of {_DEVICES}")

    @property
    def torch_device(self) -> torch.device:
        """The device the kernels run on."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


def semantic_similarity_config(params: Mapping[str, Any] | None) -> SemanticSimilarityConfig:
    """``params:semantic_similarity`` as a :class:`SemanticSimilarityConfig`."""
    return from_params(SemanticSimilarityConfig, params, "params:semantic_similarity")


@register("semantic_similarity")
def _semantic_similarity(block: Any, params: Mapping[str, Any]) -> None:
    semantic_similarity_config(as_mapping(block, "params:semantic_similarity"))
