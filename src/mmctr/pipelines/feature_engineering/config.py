"""``params:feature_engineering`` as a frozen dataclass, and its check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.parameters import as_mapping, register

__all__ = ["FeatureEngineeringConfig", "feature_engineering_config"]


@dataclasses.dataclass(frozen=True)
class FeatureEngineeringConfig:
    """The ``params:feature_engineering`` block."""

    max_len: int = 100  # history kept per row (newest items); the seed reads width 100
    seq_width: int | None = 100  # raw item_seq width (docs/DATA_CONTRACT.md); None: take train's
    tags_width: int = 5  # item_tags per item, left-padded with 0
    emb_dim: int = 128  # width of item_emb_d128
    level_max: int | None = 10  # likes/views levels lie in 0..level_max; None: no bound
    history_bins: int = 101  # profile histogram bins over lengths 0..max_len
    chunk_rows: int = 1 << 18  # raw rows converted at a time (bounds extra memory)

    def __post_init__(self) -> None:
        for name in ("max_len", "tags_width", "emb_dim", "history_bins", "chunk_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"params:feature_engineering.{name} must be >= 1")
        if self.seq_width is not None and self.seq_width < 1:
            raise ValueError(
                "params:feature_engineering.seq_width must be >= 1 or null"
            )
        if self.level_max is not None and self.level_max < 0:
            raise ValueError(
                "params:feature_engineering.level_max must be >= 0 or null"
            )


def feature_engineering_config(params: Mapping[str, Any] | None) -> FeatureEngineeringConfig:
    """``params:feature_engineering`` as a :class:`FeatureEngineeringConfig`."""
    return from_params(FeatureEngineeringConfig, params, "params:feature_engineering")


@register("feature_engineering")
def _feature_engineering(block: Any, params: Mapping[str, Any]) -> None:
    feature_engineering_config(as_mapping(block, "params:feature_engineering"))
