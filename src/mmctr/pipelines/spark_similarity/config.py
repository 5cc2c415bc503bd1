"""``params:spark``: the settings only the Spark stages have (ALS item factors)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.parameters import register
from mmctr.spark.factors import AlsConfig

__all__ = ["SparkConfig", "config"]


@dataclasses.dataclass(frozen=True)
class SparkConfig:
    """The ``params:spark`` block."""

    als: AlsConfig = AlsConfig()


def config(params: Mapping[str, Any] | None) -> SparkConfig:
    block = dict(params or {})
    als = from_params(AlsConfig, block.pop("als", None), "params:spark.als")
    return dataclasses.replace(from_params(SparkConfig, block, "params:spark"), als=als)


@register("spark")
def _check(block: Any, params: Mapping[str, Any]) -> None:
    config(block)
