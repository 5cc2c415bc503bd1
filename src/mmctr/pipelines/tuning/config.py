"""``params:tuning`` as frozen dataclasses (the study, its budget and its search space),
and its check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import deep_merge, from_params
from mmctr.engine.checks import check_positive
from mmctr.engine.fit import resolve_training
from mmctr.engine.trainer import TrainConfig
from mmctr.parameters import as_mapping, register

__all__ = ["Distribution", "TuningConfig", "nested_overrides", "trial_config", "tuning_config"]

_TYPES = ("float", "int", "categorical")
_NOT_TUNABLE = ("preset", "presets")


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One searched key: ``float`` / ``int`` in [low, high] (``log``, ``step``), or
    ``categorical`` over ``choices``."""

    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"type must be one of {_TYPES}, got {self.type!r}")
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical distribution needs non-empty `choices`")
            return
        if self.low is None or self.high is None or not self.low <= self.high:
            raise ValueError(f"{self.type}: needs low <= high, got {self.low}, {self.high}")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError(f"{self.type}: log needs low > 0 and no step")

    def suggest(self, trial: Any, name: str) -> Any:
        """Draw this key's value for an Optuna ``trial``."""
        if self.type == "categorical":
            return trial.suggest_categorical(name, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(name, float(self.low), float(self.high),
                                   step=self.step, log=self.log)

    def first(self) -> Any:
        """A value inside the distribution (used to check the space before searching)."""
        if self.type == "categorical":
            return self.choices[0]
        return int(self.low) if self.type == "int" else float(self.low)


@dataclasses.dataclass(frozen=True)
class TuningConfig:
    """``params:tuning``."""

    study_name: str = "mmctr"
    # SQLite file of the study (resumable): a path under the project, or a full URL
    storage: str = "data/09_tuning/study.db"
    n_trials: int = 20  # finished trials (complete + pruned) of the study in total
    timeout_s: float | None = 600.0  # wall-clock budget of one command (None: none)
    seed: int = 2025  # TPE sampler seed (offset by the trials already run on resume)
    startup_trials: int = 5  # random trials before TPE models the space; also before pruning
    warmup_epochs: int = 1  # epochs a trial always runs before it can be pruned
    preset_name: str = "tuned"  # training preset the best parameters are written as
    # training-config overrides shared by every trial (a short, fixed budget)
    budget: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # "<key of params:training>" or "model.<key>" -> Distribution
    space: Mapping[str, Distribution] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n_trials < 1:
            raise ValueError("params:tuning: n_trials must be >= 1")
        if not self.space:
            raise ValueError("params:tuning: the search space is empty")
        train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(self.budget) - train_keys)
        if unknown:
            raise ValueError(f"params:tuning.budget: unknown key(s) {unknown}; "
                             f"expected some of {sorted(train_keys)}")
        for key in self.space:
            head = key.split(".", 1)[0]
            nested = "." in key
            if head in _NOT_TUNABLE or (nested and head != "model") or (
                    not nested and key not in train_keys):
                raise ValueError(
                    f"params:tuning.space: {key!r} is not a key of params:training "
                    f"(a training setting such as 'learning_rate' or 'model.<key>')")

    def storage_url(self) -> str:
        return self.storage if "://" in self.storage else f"sqlite:///{self.storage}"


def tuning_config(params: Mapping[str, Any]) -> TuningConfig:
    """``params:tuning`` as a :class:`TuningConfig` (unknown keys raise, at every level)."""
    params = dict(params)
    space = {}
    for key, spec in dict(params.pop("space", None) or {}).items():
        try:
            space[key] = from_params(Distribution, spec, f"params:tuning.space.{key}")
        except (TypeError, ValueError) as err:
            raise ValueError(f"params:tuning.space.{key}: {err}") from err
    return from_params(TuningConfig, {**params, "space": space}, "params:tuning")


def nested_overrides(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"model.embedding_dim": 16, "learning_rate": 1e-3}`` -> nested overrides."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = value
        else:
            out[key] = value
    return out


def trial_config(training: Mapping[str, Any], sampled: Mapping[str, Any],
                 budget: Mapping[str, Any]) -> tuple[str, dict[str, Any], TrainConfig]:
    """(model name, model params, TrainConfig) of one trial: the sampled keys override
    the training block (``model`` key by key), then the shared budget applies."""
    name, model_params, cfg = resolve_training(deep_merge(training, nested_overrides(sampled)))
    return name, model_params, dataclasses.replace(cfg, **dict(budget))


@register("tuning")
def _tuning(block: Any, params: Mapping[str, Any]) -> None:
    cfg = tuning_config(as_mapping(block, "params:tuning"))
    check_positive(cfg.n_trials, "params:tuning.n_trials")
