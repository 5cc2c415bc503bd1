"""``params:submission`` as a frozen dataclass, and its check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.data.submission import ID_COLUMN
from mmctr.engine.scoring import ScoringConfig, check_scoring
from mmctr.parameters import as_mapping, register

__all__ = ["SubmissionConfig", "submission_config"]


@dataclasses.dataclass(frozen=True)
class SubmissionConfig:
    """``params:submission``."""

    probability_column: str = "Task1"  # the organisers' scorer reads `Task1`
    batch_size: int = 4096  # rows per forward pass; memory only, not results
    device: str = "auto"  # auto: CUDA when present
    bf16: bool | str = False  # bfloat16 autocast: true, false, or auto (where native)
    progress: bool = True  # tqdm bar while scoring

    @property
    def scoring(self) -> ScoringConfig:
        """How test is scored."""
        return ScoringConfig(self.batch_size, self.device, self.bf16, self.progress)

    def __post_init__(self) -> None:
        if not self.probability_column or self.probability_column == ID_COLUMN:
            raise ValueError(
                f"params:submission: probability_column must be a non-empty name other "
                f"than '{ID_COLUMN}', got {self.probability_column!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"params:submission: batch_size must be >= 1, got {self.batch_size}")


def submission_config(params: Mapping[str, Any] | None) -> SubmissionConfig:
    """``params:submission`` as a :class:`SubmissionConfig` (unknown keys raise)."""
    return from_params(SubmissionConfig, params, "params:submission")


@register("submission")
def _submission(block: Any, params: Mapping[str, Any]) -> None:
    cfg = submission_config(as_mapping(block, "params:submission"))
    check_scoring(cfg.scoring, "params:submission")
