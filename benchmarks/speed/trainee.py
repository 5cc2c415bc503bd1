"""A model set up as the trainer sets it up, for the timed steps."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmarks.common import read_params
from mmctr.engine.batching import BatchAssembler, build_item_table
from mmctr.engine.fit import resolve_training
from mmctr.engine.precision import Bf16Weights, resolve_bf16
from mmctr.engine.trainer import TrainConfig, make_optimizer, train_step
from mmctr.models import build_model

from . import runtime
from .plan import VOCAB


def training_preset(preset: str, **overrides: Any) -> tuple[str, dict[str, Any], TrainConfig]:
    block = dict(read_params("training")["training"], preset=preset)
    name, model_params, cfg = resolve_training(block)
    model_params = {**model_params, **overrides}
    return name, model_params, dataclasses.replace(cfg, device=str(runtime.DEVICE), progress=False,
                                                   checkpoint_dir=None)


@dataclasses.dataclass
class Trainee:
    """A model set up as the trainer sets it up: precision, bf16 masters, batches, optimizer."""

    name: str
    params: dict[str, Any]
    cfg: TrainConfig
    model: nn.Module
    weights: Bf16Weights | None
    data: BatchAssembler
    optimizer: torch.optim.Optimizer
    loss_fn: nn.Module

    @property
    def precision(self) -> str:
        if not self.cfg.bf16:
            return "fp32"
        return "bf16, fp32 masters" if self.weights is not None else "bf16 autocast"

    def step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return train_step(self.cfg, self.model, self.model, self.optimizer, self.loss_fn, batch,
                          runtime.DEVICE, self.weights)


def trainee(preset: str, rows: dict[str, np.ndarray], item_sources: dict[str, Any],
            bf16: bool | None = None, master_weights: bool | None = None,
            overrides: dict[str, Any] | None = None) -> Trainee:
    """``preset`` (with model ``overrides``) on ``rows``, in training mode on ``runtime.DEVICE``;
    ``bf16`` / ``master_weights`` None: the preset's settings (``auto`` resolved)."""
    name, params, cfg = training_preset(preset, **(overrides or {}))
    bf16 = resolve_bf16(cfg.bf16, runtime.DEVICE, "training.bf16") if bf16 is None else bf16
    master_weights = cfg.bf16_master_weights if master_weights is None else master_weights
    cfg = dataclasses.replace(cfg, bf16=bf16, bf16_master_weights=master_weights)
    torch.manual_seed(cfg.seed)
    model = build_model(name, params, VOCAB).to(runtime.DEVICE).train()
    weights = Bf16Weights(model, in_backward=True) if bf16 and master_weights else None
    data = BatchAssembler(rows, build_item_table(item_sources, model.item_features, runtime.DEVICE),
                          model.row_features, model.history_width, runtime.DEVICE)
    return Trainee(name, params, cfg, model, weights, data,
                   make_optimizer(model, cfg, runtime.DEVICE, weights), nn.BCEWithLogitsLoss())

