"""Every parameter block checked before any node runs.

A registry maps a top-level block of the parameters (``training``, ``synthetic``, ...) to a
validator: a function that turns the block into its frozen dataclass(es) and checks what
the dataclass alone cannot (presets, model names, positive sizes, combinations).
:func:`validate_parameters` runs the validator of every block present and ignores blocks
it does not know, so a new pipeline's block plugs in with one decorated function::

    @register("tuning")
    def _tuning(block, params):
        from_params(TuningConfig, block, "params:tuning")

``mmctr.hooks.ProjectHooks`` calls it before the pipeline runs: a typo costs a second,
not a regenerated data set, and nothing is written. Every failure is a
:class:`~mmctr.errors.ParameterError` whose message names the key and what it accepts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from mmctr.errors import ParameterError

__all__ = [
    "VALIDATORS",
    "blocks_read_by",
    "check_train_config",
    "load_stage_validators",
    "register",
    "validate_parameters",
]

Validator = Callable[[Any, Mapping[str, Any]], None]

#: block name -> validator(block, all parameters)
VALIDATORS: dict[str, Validator] = {}


def register(block: str) -> Callable[[Validator], Validator]:
    """Register ``func`` as the validator of the parameter block ``block``."""

    def decorator(func: Validator) -> Validator:
        VALIDATORS[block] = func
        return func

    return decorator


def validate_parameters(
    params: Mapping[str, Any], blocks: set[str] | None = None
) -> list[str]:
    """Run the validator of every block of ``params`` that has one.

    Args:
        params: all parameters (``context.params``: base, environment and ``--params``).
        blocks: check only these blocks (those the pipeline about to run reads);
            ``None``: every block.

    Returns:
        The names of the blocks checked.

    Raises:
        ParameterError: at the first invalid block.
    """
    load_stage_validators()
    checked = []
    for block, validator in VALIDATORS.items():
        if block not in params or (blocks is not None and block not in blocks):
            continue
        try:
            validator(params[block], params)
        except ParameterError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            message = str(exc.args[0]) if exc.args else repr(exc)
            if not message.startswith("params:"):
                message = f"params:{block}: {message}"
            raise ParameterError(message) from exc
        checked.append(block)
    return checked


def load_stage_validators() -> None:
    """Import every stage's ``mmctr.pipelines.<stage>.config`` module.

    A stage owns its configuration: its ``config.py`` holds the dataclass and registers
    the block's validator with :func:`register` when imported. Importing them here (once;
    Python caches modules) fills :data:`VALIDATORS` without this module naming any stage.
    """
    import importlib.util
    import pkgutil

    import mmctr.pipelines

    for module in pkgutil.iter_modules(mmctr.pipelines.__path__):
        if not module.ispkg:
            continue
        name = f"mmctr.pipelines.{module.name}.config"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def blocks_read_by(dataset_names: set[str] | list[str]) -> set[str]:
    """The top-level parameter blocks behind ``params:<block>[.<key>...]`` inputs."""
    return {
        name.removeprefix("params:").split(".")[0]
        for name in dataset_names
        if name.startswith("params:")
    }


def _mapping(block: Any, where: str) -> Mapping[str, Any]:
    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise ParameterError(f"{where}: expected a mapping of keys, got {block!r}")
    return block


def _positive(value: Any, where: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{where} must be a whole number >= 1, got {value!r}")


_DEVICES = ("auto", "cpu", "cuda")


def _device(value: Any, where: str) -> None:
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


def _bf16(value: Any, where: str) -> None:
    from mmctr.engine.precision import is_bf16_setting

    if not is_bf16_setting(value):
        raise ParameterError(f"{where} must be auto, true or false, got {value!r}")


def check_train_config(cfg: Any, where: str = "params:training") -> None:
    """Refuse a training configuration that cannot train (sizes, rates, device).

    Args:
        cfg: a :class:`mmctr.engine.trainer.TrainConfig`.
        where: the block named in the message.
    """
    for name in ("epochs", "batch_size", "eval_batch_size", "world_size"):
        _positive(getattr(cfg, name), f"{where}.{name}")
    _positive(cfg.max_steps_per_epoch, f"{where}.max_steps_per_epoch", allow_none=True)
    if isinstance(cfg.patience, bool) or not isinstance(cfg.patience, int) or cfg.patience < 0:
        raise ParameterError(f"{where}.patience must be a whole number >= 0, got {cfg.patience!r}")
    if not isinstance(cfg.learning_rate, int | float) or not cfg.learning_rate > 0:
        raise ParameterError(f"{where}.learning_rate must be > 0, got {cfg.learning_rate!r}")
    if not isinstance(cfg.max_grad_norm, int | float) or not cfg.max_grad_norm > 0:
        raise ParameterError(f"{where}.max_grad_norm must be > 0, got {cfg.max_grad_norm!r}")
    _device(cfg.device, f"{where}.device")
    _bf16(cfg.bf16, f"{where}.bf16")
    if str(cfg.device).startswith("cuda") and cfg.world_size > 1:
        import torch

        if cfg.world_size > torch.cuda.device_count():
            raise ParameterError(
                f"{where}.world_size: {cfg.world_size} processes on {cfg.device} need as "
                f"many GPUs, this machine has {torch.cuda.device_count()}"
            )


def _known_preset(block: Mapping[str, Any], where: str, hint: str = "") -> None:
    """``block["preset"]`` (default ``default``) must name one of ``block["presets"]``."""
    presets = _mapping(block.get("presets"), f"{where}.presets")
    preset = block.get("preset", "default")
    if preset not in presets:
        raise ParameterError(
            f"{where}.preset: unknown preset {preset!r}; known: "
            f"{', '.join(sorted(presets))}{hint}"
        )


def _model_config(name: Any, model_params: Mapping[str, Any], where: str) -> None:
    from mmctr.config import from_params
    from mmctr.models import MODELS

    if name not in MODELS:
        raise ParameterError(
            f"{where}.name: unknown model {name!r}; known: {', '.join(sorted(MODELS))}"
        )
    from_params(MODELS[name].config_class, model_params, f"{where} ({name})")


@register("training")
def _training(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.engine.fit import resolve_training

    block = _mapping(block, "params:training")
    _known_preset(block, "params:training", " (e.g. --params training.preset=default)")
    name, model_params, cfg = resolve_training(block)
    _model_config(name, model_params, "params:training.model")
    check_train_config(cfg)


@register("ablation")
def _ablation(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.engine.trainer import TrainConfig
    from mmctr.pipelines.ablation.nodes import variant_config

    block = _mapping(block, "params:ablation")
    variants = _mapping(block.get("variants"), "params:ablation.variants")
    budget = _mapping(block.get("budget"), "params:ablation.budget")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(budget) - fields)
    if unknown:
        raise ParameterError(
            f"params:ablation.budget: unknown key(s) {unknown}; expected some of {sorted(fields)}"
        )
    from mmctr.pipelines.ablation.nodes import selected_variants

    selected = selected_variants(block.get("run"), variants)
    missing = [name for name in selected if name not in variants]
    if missing:
        raise ParameterError(
            f"params:ablation.run: unknown variant(s) {missing}; known: {', '.join(variants)}"
        )
    seeds = block.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ParameterError(f"params:ablation.seeds must be a whole number >= 1, got {seeds!r}")
    from mmctr.engine.baselines import PopularityConfig, TreeConfig
    from mmctr.pipelines.ablation.nodes import BASELINES

    for key, cls in (("lightgbm", TreeConfig), ("popularity", PopularityConfig)):
        from mmctr.config import from_params

        from_params(cls, _mapping(block.get(key) or {}, f"params:ablation.{key}"),
                    f"params:ablation.{key}")
    training = params.get("training")
    if not isinstance(training, Mapping):
        return  # the training block is checked (or reported missing) on its own
    _, _, base = variant_config(training, budget, {})
    check_train_config(base, "params:ablation.budget")
    for variant in variants:  # every variant, selected or not: a typo is a typo
        overrides = dict(_mapping(variants[variant] or {}, f"params:ablation.variants.{variant}"))
        where = f"params:ablation.variants.{variant}"
        if "baseline" in overrides:
            if overrides["baseline"] not in BASELINES or len(overrides) > 1:
                raise ParameterError(
                    f"{where}: a baseline variant is {{baseline: NAME}} with NAME one of "
                    f"{', '.join(BASELINES)}; got {overrides}"
                )
            continue
        unknown = sorted(set(overrides) - fields - {"model", "model_reset", "item_embedding"})
        if unknown:
            raise ParameterError(
                f"{where}: unknown key(s) {unknown}; expected model, model_reset, "
                f"item_embedding or a "
                f"training key ({', '.join(sorted(fields))})"
            )
        name, model_params, cfg = variant_config(training, budget, overrides)
        _model_config(name, model_params, f"{where}.model")
        check_train_config(cfg, where)


@register("synthetic")
def _synthetic(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.pipelines.synthetic.nodes import _config

    block = _mapping(block, "params:synthetic")
    _known_preset(block, "params:synthetic")
    _config(block).sizes  # noqa: B018 - builds (and checks) the preset's sizes


@register("feature_engineering")
def _feature_engineering(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.pipelines.feature_engineering.nodes import _config

    _config(_mapping(block, "params:feature_engineering"))


@register("semantic_similarity")
def _semantic_similarity(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.pipelines.semantic_similarity.nodes import _config

    _config(_mapping(block, "params:semantic_similarity"))


@register("evaluation")
def _evaluation(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.pipelines.evaluation.nodes import config

    cfg = config(_mapping(block, "params:evaluation"))
    _device(cfg.device, "params:evaluation.device")
    _bf16(cfg.bf16, "params:evaluation.bf16")


@register("submission")
def _submission(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.pipelines.submission.nodes import _config

    cfg = _config(_mapping(block, "params:submission"))
    _device(cfg.device, "params:submission.device")
    _bf16(cfg.bf16, "params:submission.bf16")


@register("tuning")
def _tuning(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.pipelines.tuning.config import tuning_config

    cfg = tuning_config(_mapping(block, "params:tuning"))
    _positive(cfg.n_trials, "params:tuning.n_trials")


@register("tracking")
def _tracking(block: Any, params: Mapping[str, Any]) -> None:
    import os

    from mmctr.tracking.config import tracking_config

    tracking_config(_mapping(block or {}, "params:tracking"), os.environ)


@register("item_embedding")
def _item_embedding(block: Any, params: Mapping[str, Any]) -> None:
    from mmctr.data.embedding import embedding_config as _config

    _config(_mapping(block, "params:item_embedding"))  # nested blocks checked at once
