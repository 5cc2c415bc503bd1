"""``params:training``: its check. The configuration itself is the library's
(:class:`mmctr.engine.trainer.TrainConfig`, resolved from the preset by
:func:`mmctr.engine.fit.resolve_training`), shared with tuning and ablation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmctr.engine.checks import check_model_config, check_train_config
from mmctr.engine.fit import resolve_training
from mmctr.parameters import as_mapping, check_preset, register

__all__: list[str] = []


@register("training")
def _training(block: Any, params: Mapping[str, Any]) -> None:
    block = as_mapping(block, "params:training")
    check_preset(block, "params:training", " (e.g. --params training.preset=default)")
    name, model_params, cfg = resolve_training(block)
    check_model_config(name, model_params, "params:training.model")
    check_train_config(cfg)
