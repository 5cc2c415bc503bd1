"""``params:spark``: the settings only the Spark stages have (the factor source, ALS).

Checked before any node runs by ``mmctr.pipelines.spark_similarity.config``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.spark.factors import AlsConfig

__all__ = ["FACTOR_SOURCES", "SparkConfig", "config"]

FACTOR_SOURCES = ("svd", "als")


@dataclasses.dataclass(frozen=True)
class SparkConfig:
    """The ``params:spark`` block."""

    # the collaborative factors of the Spark chain: "svd", the in-memory stage's (TruncatedSVD
    # of the PMI links Spark counted: the same item_collab), or "als" (MLlib ALS's)
    factors: str = "svd"
    als: AlsConfig = AlsConfig()

    def __post_init__(self) -> None:
        if self.factors not in FACTOR_SOURCES:
            raise ValueError(f"params:spark.factors must be one of {', '.join(FACTOR_SOURCES)}, "
                             f"got {self.factors!r}")


def config(params: Mapping[str, Any] | None) -> SparkConfig:
    block = dict(params or {})
    als = from_params(AlsConfig, block.pop("als", None), "params:spark.als")
    return dataclasses.replace(from_params(SparkConfig, block, "params:spark"), als=als)
