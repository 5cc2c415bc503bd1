"""The tracking hook: one MLflow run per ``kedro run`` that trains.

On when ``params:tracking.enabled`` (the default) unless ``MMCTR_TRACKING=0``; off, it
does nothing and MLflow is never imported. A run records: the parameters (flattened,
plus the resolved model and training config), the command's full parameters as a
YAML file that reproduces it, the metrics of the ``tracking.metrics`` datasets and
the files of the ``tracking.artifacts`` datasets as they are saved. Ablation variants
and tuning trials appear as child runs (:func:`mmctr.tracking.child_run`). Under
``torchrun`` only rank 0 records.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.io.core import AbstractVersionedDataset, get_filepath_str

from mmctr import tracking
from mmctr.tracking.config import TrackingConfig, recorded_training, tracking_config

__all__ = ["TrackingHooks", "run_parameters"]

logger = logging.getLogger(__name__)


def run_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a run is logged with: ``training`` in its resolved form
    (:func:`~mmctr.tracking.config.recorded_training`), every other block as given."""
    from mmctr.engine.fit import resolve_training

    out = dict(params)
    if "training" in out:
        name, model_params, cfg = resolve_training(out["training"])
        out["training"] = recorded_training(name, model_params, dataclasses.asdict(cfg))
    return out


def _metrics_of(name: str, data: Any) -> list[tuple[dict[str, float], int | None]]:
    """(metrics, step) pairs from a saved dataset's value."""
    if isinstance(data, pd.DataFrame) and "epoch" in data:  # per-epoch history
        numeric = data.select_dtypes("number")
        return [({f"epoch_{k}": v for k, v in row.items() if k != "epoch"}, int(row["epoch"]))
                for row in numeric.to_dict("records")]
    if isinstance(data, Mapping) and "best_metric" in data:  # the model artifact
        out = {f"best_{k}": v for k, v in data["best_metric"].items()}
        for key in ("best_epoch", "trainable_parameters", "train_seconds"):
            if key in data:
                out[key] = data[key]
        return [(out, None)]
    if isinstance(data, Mapping):
        return [(dict(data), None)]
    return []


class TrackingHooks:
    """Record training runs in MLflow (see the module docstring)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cfg: TrackingConfig | None = None
        self._params: dict[str, Any] = {}
        self._project: Path | None = None
        self._env: str | None = None
        self._catalog: Any = None
        self._store: Any = None
        self._run_id: str | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._reset()
        self._params = dict(context.params)
        self._cfg = tracking_config(self._params.get("tracking"), os.environ)
        self._project = Path(context.project_path)
        self._env = context.env

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any) -> None:
        cfg = self._cfg
        if cfg is None or not cfg.enabled or int(os.environ.get("RANK", "0")) != 0:
            return
        if not any(node.name.rsplit(".", 1)[-1] in cfg.trigger_nodes  # namespaced: stage.node
                   for node in pipeline.nodes):
            return
        # the only MLflow import
        from mmctr.tracking.mlflow_store import MlflowStore, logged_params

        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name")]
        name = "+".join(n or "__default__" for n in names)
        runtime = run_params.get("runtime_params") or {}
        parameters = run_parameters(self._params)
        try:
            self._store = MlflowStore(cfg, self._project)
            if closed := self._store.close_dead_runs():
                logger.info("tracking: %d run(s) of a killed command marked KILLED", closed)
            self._run_id = self._store.start_run(_run_name(name, runtime), {
                "kedro.pipelines": name, "kedro.env": str(self._env or ""),
                "kedro.runtime_params": str(runtime)})
            self._store.log_params(self._run_id, logged_params(parameters))
            self._store.log_parameters_file(self._run_id, parameters)
        except Exception:  # tracking never fails a run: it goes on unrecorded
            logger.warning("tracking: could not start an MLflow run in %s; this run is not "
                           "recorded", cfg.tracking_uri, exc_info=True)
            self._end("FAILED")
            return
        tracking.set_recorder(self._store.recorder(self._run_id))
        logger.info("tracking: MLflow run %s (%s) in %s; parameters logged as its "
                    "config/parameters.yml", self._run_id, name, self._store.uri)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if self._run_id is None:
            return
        try:
            if dataset_name in self._cfg.metrics:
                for metrics, step in _metrics_of(dataset_name, data):
                    self._store.log_metrics(self._run_id, metrics, step)
            if dataset_name in self._cfg.artifacts:
                path = self._saved_path(dataset_name)
                if path is not None and path.is_file():
                    self._store.log_file(self._run_id, path, dataset_name)
            if dataset_name == self._cfg.serving_model:
                self._log_serving_model(dataset_name)
        except Exception:  # tracking never fails a run
            logger.warning("tracking: could not record '%s'", dataset_name, exc_info=True)

    def _log_serving_model(self, name: str) -> None:
        """The saved bundle as the run's MLflow pyfunc model ``model``."""
        path = self._saved_path(name)
        if path is not None and path.is_file():
            self._store.log_pyfunc(self._run_id, path)
            logger.info("tracking: MLflow model runs:/%s/model logged (serve it with "
                        "`mlflow models serve -m runs:/%s/model --env-manager local`)",
                        self._run_id, self._run_id)

    def _saved_path(self, name: str) -> Path | None:
        dataset = self._catalog.get(name) if self._catalog is not None else None
        if dataset is None or getattr(dataset, "_protocol", "file") not in ("file", "local"):
            return None
        if isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None:
            # versioned: the version just saved
            path = dataset._get_versioned_path(dataset.resolve_save_version())
            return Path(get_filepath_str(path, "file"))
        return Path(str(dataset._filepath))

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._end("FINISHED")

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._end("FAILED")

    def _end(self, status: str) -> None:
        run_id, self._run_id = self._run_id, None
        tracking.set_recorder(None)
        if run_id is not None:
            self._store.end_run(run_id, status)
            logger.info("tracking: MLflow run %s %s", run_id, status.lower())


def _run_name(pipelines: str, runtime: Mapping[str, Any]) -> str:
    """``tuning``, or with the command's ``--params``: ``__default__ training.preset=tuned``."""
    from mmctr.tracking.mlflow_store import flatten

    extra = ",".join(f"{k}={v}" for k, v in flatten(runtime).items())
    return f"{pipelines} {extra}"[:250] if extra else pipelines
