"""``params:tracking`` as a frozen dataclass and its check, and the canonical training block
of a run."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.parameters import as_mapping, register

__all__ = ["ENV_SWITCH", "TrackingConfig", "recorded_training", "tracking_config"]

#: environment variable that overrides ``tracking.enabled`` (0/false/off, 1/true/on)
ENV_SWITCH = "MMCTR_TRACKING"
_OFF, _ON = {"0", "false", "off", "no"}, {"1", "true", "on", "yes"}


@dataclasses.dataclass(frozen=True)
class TrackingConfig:
    """``params:tracking``: where runs are recorded and what each one records."""

    enabled: bool = True  # MMCTR_TRACKING=0 in the environment wins over this
    # local store, no server: a SQLite file and an artifact folder under the project
    tracking_uri: str = "sqlite:///mlruns.db"
    artifact_location: str = "mlartifacts"
    experiment: str = "mmctr"
    # a run is recorded when its pipeline contains one of these (training) nodes
    trigger_nodes: tuple[str, ...] = ("train_model_node", "run_ablation_node", "tune_study_node")
    # datasets whose values are logged as metrics (dicts of numbers, per-epoch tables,
    # the model's best metric)
    metrics: tuple[str, ...] = ("model", "training_history", "evaluation_metrics")
    # datasets whose saved files are logged as artifacts (plots, tables, the model)
    artifacts: tuple[str, ...] = ()
    # where the parameter files of runs are written before they are logged
    parameters_dir: str = "data/09_tracking"
    # the dataset whose saved model bundle is logged as the run's MLflow model `model`
    # (a pyfunc, docs/SERVING.md); only the training stage writes it. None: not logged
    serving_model: str | None = "model_bundle"

    def __post_init__(self) -> None:
        if not self.tracking_uri or not self.experiment:
            raise ValueError("params:tracking: tracking_uri and experiment must be set")


def tracking_config(params: Mapping[str, Any] | None, environ: Mapping[str, str]) -> TrackingConfig:
    """``params:tracking`` (unknown keys raise), ``MMCTR_TRACKING`` applied.

    Args:
        params: the ``tracking`` parameter block (``None``: defaults).
        environ: the process environment.
    """
    cfg = from_params(TrackingConfig, params, "params:tracking")
    switch = environ.get(ENV_SWITCH, "").strip().lower()
    if switch in _OFF:
        return dataclasses.replace(cfg, enabled=False)
    if switch in _ON:
        return dataclasses.replace(cfg, enabled=True)
    if switch:
        raise ValueError(f"{ENV_SWITCH}={switch!r}: expected one of {sorted(_OFF | _ON)}")
    return cfg


@register("tracking")
def _tracking(block: Any, params: Mapping[str, Any]) -> None:
    tracking_config(as_mapping(block or {}, "params:tracking"), os.environ)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def recorded_training(name: str, model_params: Mapping[str, Any],
                      train_config: Mapping[str, Any]) -> dict[str, Any]:
    """A ``training`` parameter block that resolves to exactly this model and config.

    The model sits in a preset of its own, ``recorded``, and every training setting at
    the top level, where it overrides any preset: so
    ``mmctr.engine.fit.resolve_training`` of the block gives back
    ``(name, model_params, TrainConfig(**train_config))``, alone or soft-merged over
    ``conf/base`` (a conf environment holding it). This is the form in which a run's
    parameters are logged, whatever preset, overrides or variant produced them.
    """
    model = {"name": name, **_plain(dict(model_params))}
    return {"preset": "recorded", "presets": {"recorded": {"model": model}},
            **_plain(dict(train_config))}
