"""``params:inference`` as a frozen dataclass, checked before the pipeline runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.engine.scoring import ScoringConfig, check_scoring
from mmctr.parameters import register

__all__ = ["InferenceConfig", "inference_config"]

_DEVICES = ("auto", "cpu", "cuda")


@dataclasses.dataclass(frozen=True)
class InferenceConfig:
    """``params:inference``."""

    # the catalog's `inference_requests` / `inference_predictions` read these two paths
    requests: str = "data/01_raw/requests.parquet"
    output: str = "data/07_model_output/predictions.parquet"
    version: str | None = None  # a model_bundle version; None: the latest
    key_column: str = "ID"  # copied to the output; absent from the file: the row's position
    probability_column: str = "prob"
    chunk_rows: int = 65_536  # rows read, checked and scored at a time (bounds memory)
    batch_size: int = 4096  # rows per forward pass; memory only, not results
    device: str = "auto"  # auto: CUDA when present
    bf16: bool | str = False  # bfloat16 autocast: true, false, or auto (where native)
    progress: bool = True  # tqdm bar over the rows
    threads: int | None = None  # torch intra-op threads; None: torch's default (all cores)

    def __post_init__(self) -> None:
        for name in ("chunk_rows", "batch_size", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"params:inference: {name} must be >= 1, got "
                                 f"{getattr(self, name)}")
        if not self.key_column or self.key_column == self.probability_column:
            raise ValueError("params:inference: key_column and probability_column must be "
                             "two different non-empty names")
        if self.device.split(":")[0] not in _DEVICES:
            raise ValueError(f"params:inference: device must be one of {_DEVICES} (or "
                             f"cuda:N), got {self.device!r}")

    @property
    def scoring(self) -> ScoringConfig:
        """The scoring settings, the same configuration evaluation and submission use."""
        return ScoringConfig(self.batch_size, self.device, self.bf16, self.progress)


def inference_config(params: Mapping[str, Any] | None) -> InferenceConfig:
    """``params:inference`` (unknown keys raise)."""
    return from_params(InferenceConfig, params, "params:inference")


@register("inference")
def _check(block: Any, params: Mapping[str, Any]) -> None:
    check_scoring(inference_config(block).scoring, "params:inference")
