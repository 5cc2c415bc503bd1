"""``params:spark`` checked before any node runs (the dataclass: :mod:`mmctr.spark.config`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmctr.parameters import register
from mmctr.spark.config import FACTOR_SOURCES, SparkConfig, config

__all__ = ["FACTOR_SOURCES", "SparkConfig", "config"]


@register("spark")
def _check(block: Any, params: Mapping[str, Any]) -> None:
    config(block)
