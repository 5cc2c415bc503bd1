"""``params:export`` as a frozen dataclass, checked before the pipeline runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.parameters import register

__all__ = ["ExportConfig", "export_config"]


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """``params:export``."""

    version: str | None = None  # a model_bundle version; None: the latest
    opset: int = 18  # ONNX opset of the graph
    check_rows: int = 256  # rows drawn from the item table to trace and check with
    tolerance: float = 1e-5  # largest |onnxruntime - PyTorch| probability accepted
    seed: int = 2025  # seeds the drawn rows

    def __post_init__(self) -> None:
        if self.check_rows < 2:
            raise ValueError("params:export: check_rows must be >= 2 (a batch of one "
                             f"would fix the batch dimension), got {self.check_rows}")
        if not self.tolerance > 0:
            raise ValueError(f"params:export: tolerance must be > 0, got {self.tolerance}")


def export_config(params: Mapping[str, Any] | None) -> ExportConfig:
    """``params:export`` (unknown keys raise)."""
    return from_params(ExportConfig, params, "params:export")


@register("export")
def _check(block: Any, params: Mapping[str, Any]) -> None:
    export_config(block)
