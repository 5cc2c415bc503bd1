"""``params:collaborative`` as a frozen dataclass (checked before any node runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.data.collaborative import FactorSettings
from mmctr.parameters import register

__all__ = ["CollaborativeConfig", "collaborative_config"]


@dataclasses.dataclass(frozen=True)
class CollaborativeConfig(FactorSettings):
    """``params:collaborative``: the factor settings plus what the report shows."""

    neighbours: int = 5  # nearest neighbours listed per example item
    examples: int = 6  # example items (the most frequent ones and some of middling frequency)

    def __post_init__(self) -> None:
        for name in ("dim", "window", "min_count", "svd_iterations", "neighbours", "examples",
                     "links", "min_pairs", "pair_budget"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"collaborative.{name} must be >= 1")
        if not 0 < self.smoothing <= 1:
            raise ValueError("collaborative.smoothing must be in (0, 1]")

    @property
    def factor_settings(self) -> FactorSettings:
        """The keys :func:`mmctr.data.collaborative.item_factors` reads."""
        names = {f.name for f in dataclasses.fields(FactorSettings)}
        return FactorSettings(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})


def collaborative_config(params: Mapping[str, Any] | None) -> CollaborativeConfig:
    """Build the configuration (unknown keys raise)."""
    return from_params(CollaborativeConfig, params, "params:collaborative")


@register("collaborative")
def _validate(block: Any, params: Mapping[str, Any]) -> None:
    collaborative_config(block)
