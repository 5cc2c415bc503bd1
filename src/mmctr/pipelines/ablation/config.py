"""``params:ablation`` as a frozen dataclass, how a variant resolves over
``params:training``, and the block's check (every variant, selected or not, against the
model registry and the training configuration)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import deep_merge, from_params
from mmctr.engine.baselines import PopularityConfig, TreeConfig
from mmctr.engine.checks import check_model_config, check_train_config
from mmctr.engine.fit import resolve_training
from mmctr.engine.trainer import TrainConfig
from mmctr.errors import ParameterError
from mmctr.parameters import as_mapping, register

__all__ = [
    "BASELINES",
    "VARIANT_KEY",
    "AblationConfig", "ablation_config",
    "selected_variants",
    "variant_config",
]

#: the key of a variant that names an item-embedding recipe (see embedding_variants)
VARIANT_KEY = "item_embedding"
#: ``baseline`` names a variant may take
BASELINES = ("lightgbm", "popularity")


@dataclasses.dataclass(frozen=True)
class AblationConfig:
    """``params:ablation`` (checked as a whole by the block's validator below)."""

    # variant name -> overrides of the training preset, or {baseline: NAME}
    variants: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    run: Any = None  # the variants to run: a list, one name, or all / null for every one
    seeds: int = 1  # runs per variant: the training seed, +1, +2 ...
    # training-config overrides shared by every variant (a short, fixed budget)
    budget: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    lightgbm: Mapping[str, Any] | None = None  # mmctr.engine.baselines.TreeConfig
    popularity: Mapping[str, Any] | None = None  # mmctr.engine.baselines.PopularityConfig

    @property
    def selected(self) -> dict[str, dict[str, Any]]:
        """The variants :attr:`run` names, in its order, with their overrides."""
        return {name: dict(self.variants[name] or {})
                for name in selected_variants(self.run, self.variants)}


def ablation_config(params: Mapping[str, Any] | None) -> AblationConfig:
    """``params:ablation`` as an :class:`AblationConfig` (unknown keys raise)."""
    return from_params(AblationConfig, params, "params:ablation")


def variant_config(
    training: Mapping[str, Any], budget: Mapping[str, Any], variant: Mapping[str, Any]
) -> tuple[str, dict[str, Any], TrainConfig]:
    """(model name, model params, TrainConfig) of one variant.

    Args:
        training: the ``training`` parameter block (its preset is the base).
        budget: training-config overrides shared by every variant (epochs ...).
        variant: this variant's overrides.
    """
    name, model_params, cfg = resolve_training(training)
    variant = dict(variant)
    variant.pop(VARIANT_KEY, None)  # an item-embedding recipe: see embedding_variants
    model_over = dict(variant.pop("model", {}))
    if variant.pop("model_reset", False):
        model_params = {}
    model_params = deep_merge(model_params, model_over)
    name = model_params.pop("name", name)
    cfg = dataclasses.replace(cfg, **{**dict(budget), **variant})
    return name, model_params, cfg


def selected_variants(run: Any, variants: Mapping[str, Any]) -> list[str]:
    """The variants ``params:ablation.run`` names: a list, one name, or ``all`` / null for
    every variant in ``variants``."""
    if run is None or run == "all":
        return list(variants)
    return [run] if isinstance(run, str) else list(run)


@register("ablation", after=("training",))
def _ablation(block: Any, params: Mapping[str, Any]) -> None:
    block = as_mapping(block, "params:ablation")
    ablation_config(block)
    variants = as_mapping(block.get("variants"), "params:ablation.variants")
    budget = as_mapping(block.get("budget"), "params:ablation.budget")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(budget) - fields)
    if unknown:
        raise ParameterError(
            f"params:ablation.budget: unknown key(s) {unknown}; expected some of {sorted(fields)}"
        )
    selected = selected_variants(block.get("run"), variants)
    missing = [name for name in selected if name not in variants]
    if missing:
        raise ParameterError(
            f"params:ablation.run: unknown variant(s) {missing}; known: {', '.join(variants)}"
        )
    seeds = block.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ParameterError(f"params:ablation.seeds must be a whole number >= 1, got {seeds!r}")
    for key, cls in (("lightgbm", TreeConfig), ("popularity", PopularityConfig)):
        from_params(cls, as_mapping(block.get(key) or {}, f"params:ablation.{key}"),
                    f"params:ablation.{key}")
    training = params.get("training")
    if not isinstance(training, Mapping):
        return  # the training block is checked (or reported missing) on its own
    _, _, base = variant_config(training, budget, {})
    check_train_config(base, "params:ablation.budget")
    for variant in variants:  # every variant, selected or not: a typo is a typo
        _check_variant(training, budget, variant, variants[variant], fields)


def _check_variant(training: Mapping[str, Any], budget: Mapping[str, Any], variant: str,
                   spec: Any, fields: set[str]) -> None:
    where = f"params:ablation.variants.{variant}"
    overrides = dict(as_mapping(spec or {}, where))
    if "baseline" in overrides:
        if overrides["baseline"] not in BASELINES or len(overrides) > 1:
            raise ParameterError(
                f"{where}: a baseline variant is {{baseline: NAME}} with NAME one of "
                f"{', '.join(BASELINES)}; got {overrides}"
            )
        return
    unknown = sorted(set(overrides) - fields - {"model", "model_reset", VARIANT_KEY})
    if unknown:
        raise ParameterError(
            f"{where}: unknown key(s) {unknown}; expected model, model_reset, "
            f"item_embedding or a "
            f"training key ({', '.join(sorted(fields))})"
        )
    name, model_params, cfg = variant_config(training, budget, overrides)
    check_model_config(name, model_params, f"{where}.model")
    check_train_config(cfg, where)
