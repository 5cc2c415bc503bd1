"""Checks of configuration values that several stages share: sizes, device, bf16, a
training configuration and a model's parameters.

Each raises :class:`~mmctr.errors.ParameterError` naming the key (``where``) and what it
accepts; the stages' validators (``pipelines/<stage>/config.py``) call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmctr.engine.precision import is_bf16_setting
from mmctr.errors import ParameterError

__all__ = [
    "check_bf16",
    "check_device",
    "check_model_config",
    "check_positive",
    "check_train_config",
]

_DEVICES = ("auto", "cpu", "cuda")


def check_positive(value: Any, where: str, *, allow_none: bool = False) -> None:
    """``value`` must be a whole number >= 1 (or ``None`` when ``allow_none``)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{where} must be a whole number >= 1, got {value!r}")


def check_device(value: Any, where: str) -> None:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; CUDA only where this machine has it."""
    text = str(value)
    base, _, index = text.partition(":")
    if base not in _DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise ParameterError(
            f"{where} must be auto, cpu, cuda or cuda:N, got {value!r}"
        )
    if base == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ParameterError(
                f"{where} is {value!r} but this machine has no CUDA device "
                "(use auto or cpu, or run without --env gpu)"
            )


def check_bf16(value: Any, where: str) -> None:
    """``auto``, ``true`` or ``false``."""
    if not is_bf16_setting(value):
        raise ParameterError(f"{where} must be auto, true or false, got {value!r}")


def check_train_config(cfg: Any, where: str = "params:training") -> None:
    """Refuse a training configuration that cannot train (sizes, rates, device).

    Args:
        cfg: a :class:`mmctr.engine.trainer.TrainConfig`.
        where: the block named in the message.
    """
    for name in ("epochs", "batch_size", "eval_batch_size", "world_size"):
        check_positive(getattr(cfg, name), f"{where}.{name}")
    check_positive(cfg.max_steps_per_epoch, f"{where}.max_steps_per_epoch", allow_none=True)
    if isinstance(cfg.patience, bool) or not isinstance(cfg.patience, int) or cfg.patience < 0:
        raise ParameterError(f"{where}.patience must be a whole number >= 0, got {cfg.patience!r}")
    if not isinstance(cfg.learning_rate, int | float) or not cfg.learning_rate > 0:
        raise ParameterError(f"{where}.learning_rate must be > 0, got {cfg.learning_rate!r}")
    for name in ("stop_drop", "freeze_tables_after"):
        value = getattr(cfg, name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ParameterError(f"{where}.{name} must be a number >= 0, got {value!r}")
    if not isinstance(cfg.max_grad_norm, int | float) or not cfg.max_grad_norm > 0:
        raise ParameterError(f"{where}.max_grad_norm must be > 0, got {cfg.max_grad_norm!r}")
    check_device(cfg.device, f"{where}.device")
    check_bf16(cfg.bf16, f"{where}.bf16")
    if str(cfg.device).startswith("cuda") and cfg.world_size > 1:
        import torch

        if cfg.world_size > torch.cuda.device_count():
            raise ParameterError(
                f"{where}.world_size: {cfg.world_size} processes on {cfg.device} need as "
                f"many GPUs, this machine has {torch.cuda.device_count()}"
            )


def check_model_config(name: Any, model_params: Mapping[str, Any], where: str) -> None:
    """``name`` must be a registered model and ``model_params`` fit its configuration."""
    from mmctr.config import from_params
    from mmctr.models import MODELS  # models import torch: only when a block is checked

    if name not in MODELS:
        raise ParameterError(
            f"{where}.name: unknown model {name!r}; known: {', '.join(sorted(MODELS))}"
        )
    from_params(MODELS[name].config_class, model_params, f"{where} ({name})")
