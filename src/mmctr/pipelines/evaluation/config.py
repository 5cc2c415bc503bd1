"""``params:evaluation`` as a frozen dataclass, and its check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from mmctr.config import from_params
from mmctr.engine.scoring import ScoringConfig, check_scoring
from mmctr.parameters import as_mapping, register

__all__ = ["EvaluationConfig", "evaluation_config"]


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """``params:evaluation``."""

    # history-length bucket edges: [e_i, e_{i+1}) per bucket (real histories: median 6)
    history_buckets: tuple[int, ...] = (0, 1, 3, 6, 11, 21, 51, 101)
    batch_size: int = 4096  # rows per forward pass when scoring valid
    device: str = "auto"  # auto: CUDA when present
    bf16: bool | str = False  # bfloat16 autocast: true, false, or auto (where native)
    calibration_bins: int = 10  # equal-width probability bins of the reliability diagram
    progress: bool = True  # tqdm bar while scoring

    @property
    def scoring(self) -> ScoringConfig:
        """How valid is scored."""
        return ScoringConfig(self.batch_size, self.device, self.bf16, self.progress)

    def __post_init__(self) -> None:
        edges = np.asarray(self.history_buckets)
        if edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError(
                "params:evaluation: history_buckets must be at least two strictly "
                f"increasing edges, got {list(self.history_buckets)}"
            )
        if self.calibration_bins < 1 or self.batch_size < 1:
            raise ValueError("params:evaluation: calibration_bins and batch_size must be >= 1")


def evaluation_config(params: Mapping[str, Any] | None) -> EvaluationConfig:
    """``params:evaluation`` as an :class:`EvaluationConfig` (unknown keys raise)."""
    return from_params(EvaluationConfig, params, "params:evaluation")


@register("evaluation")
def _evaluation(block: Any, params: Mapping[str, Any]) -> None:
    cfg = evaluation_config(as_mapping(block, "params:evaluation"))
    check_scoring(cfg.scoring, "params:evaluation")
