"""The MLflow side of tracking; imported only while a tracked run starts.

Everything goes through an explicit :class:`mlflow.MlflowClient` and run ids (never
MLflow's global "active run"), so child runs nest correctly whatever thread a node
runs in, and no MLflow state outlives the Kedro run.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from mmctr.datasets import atomic_path
from mmctr.tracking.config import TrackingConfig

__all__ = ["MlflowStore", "flatten", "logged_params"]

logger = logging.getLogger(__name__)
_BATCH = 100  # MLflow's limit of params per log_batch call
_BAD_KEY = re.compile(r"[^/\w.\- :]")
# the UI opens a model-training experiment on its runs table (not the GenAI overview)
_KIND = "mlflow.experimentKind"
_ML_EXPERIMENT = {_KIND: "custom_model_development"}


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def logged_params(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The flat parameters shown in the UI: the resolved training block as
    ``model.*`` / ``train.*``, every other block flattened."""
    out: dict[str, Any] = {}
    for block, value in parameters.items():
        if block == "training":
            model = value["presets"]["recorded"]["model"]
            out.update({f"model.{k}": v for k, v in model.items()})
            out.update({f"train.{k}": v for k, v in value.items()
                        if k not in ("preset", "presets")})
        elif isinstance(value, Mapping):
            out[block] = dict(value)
        else:
            out[block] = value
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _resolve_uri(uri: str, project: Path) -> str:
    """A relative ``sqlite:///file`` is taken relative to the project, not the cwd."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix):]).is_absolute():
        return prefix + str(project / uri[len(prefix):])
    return uri


class MlflowStore:
    """Runs of one experiment in the configured local store."""

    def __init__(self, cfg: TrackingConfig, project: Path) -> None:
        self.cfg = cfg
        self.project = Path(project)
        self.uri = _resolve_uri(cfg.tracking_uri, self.project)
        self.client = MlflowClient(tracking_uri=self.uri)
        experiment = self.client.get_experiment_by_name(cfg.experiment)
        if experiment is None:
            location = Path(cfg.artifact_location)
            location = location if location.is_absolute() else self.project / location
            self.experiment_id = self.client.create_experiment(
                cfg.experiment, artifact_location=location.as_uri(), tags=_ML_EXPERIMENT)
        else:
            self.experiment_id = experiment.experiment_id
            if _KIND not in experiment.tags:
                self.client.set_experiment_tag(self.experiment_id, _KIND, _ML_EXPERIMENT[_KIND])

    # ---- runs ------------------------------------------------------------------
    def start_run(self, name: str, tags: Mapping[str, str], parent: str | None = None) -> str:
        tags = {"mmctr.host": socket.gethostname(), "mmctr.pid": str(os.getpid()), **tags}
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        return run.info.run_id

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    def close_dead_runs(self) -> int:
        """Mark ``KILLED`` the runs still ``RUNNING`` whose process (on this host) is
        gone: what a ``kill -9`` leaves behind. Returns how many."""
        host, closed = socket.gethostname(), 0
        for run in self.client.search_runs([self.experiment_id],
                                           "attributes.status = 'RUNNING'", max_results=1000):
            tags = run.data.tags
            if tags.get("mmctr.host") != host or not tags.get("mmctr.pid", "").isdigit():
                continue
            if not _alive(int(tags["mmctr.pid"])):
                self.end_run(run.info.run_id, "KILLED")
                closed += 1
        return closed

    # ---- params, metrics, artifacts ----------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        items = [Param(_BAD_KEY.sub("_", k), str(v)[:MAX_PARAM_VAL_LENGTH])
                 for k, v in flatten(params).items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(run_id, params=items[start:start + _BATCH])

    def log_metrics(self, run_id: str, metrics: Mapping[str, Any], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        items = [Metric(_BAD_KEY.sub("_", k), float(v), now, step or 0)
                 for k, v in metrics.items()
                 if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
        for start in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[start:start + 1000])

    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_pyfunc(self, run_id: str, bundle_path: str | Path) -> None:
        """Log the model bundle at ``bundle_path`` as the run's pyfunc model ``model``
        (:func:`mmctr.serving.mlflow_model.save_pyfunc`: models-from-code, no pickle)."""
        import tempfile

        from mmctr.serving.mlflow_model import save_pyfunc

        with tempfile.TemporaryDirectory(prefix="mmctr-pyfunc-") as tmp:
            folder = save_pyfunc(bundle_path, Path(tmp) / "model")
            self.client.log_artifacts(run_id, str(folder), "model")

    def log_parameters_file(self, run_id: str, parameters: Mapping[str, Any]) -> Path:
        """Write ``parameters`` as ``<parameters_dir>/<run_id>/parameters.yml`` (under
        the project, atomically), log it as the run's ``config/parameters.yml`` and remove
        the local copy (the artifact store keeps it; a run that then fails early leaves
        nothing of it under ``data/``)."""
        path = self.project / self.cfg.parameters_dir / run_id / "parameters.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(yaml.safe_dump(dict(parameters), sort_keys=False))
        try:
            self.log_file(run_id, path, "config")
        finally:
            path.unlink(missing_ok=True)
            for folder in (path.parent, path.parent.parent):
                try:
                    folder.rmdir()
                except OSError:  # not empty (another run's file): keep it
                    break
        return path

    # ---- nested runs (what nodes see) ---------------------------------------------
    def recorder(self, parent: str) -> _Recorder:
        return _Recorder(self, parent)


class _ChildRun:
    def __init__(self, store: MlflowStore, run_id: str) -> None:
        self.store, self.run_id, self.status = store, run_id, None

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.store.log_metrics(self.run_id, metrics, step)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.store.client.set_tag(self.run_id, key, str(value))

    def end(self, status: str) -> None:
        if self.status is None:
            self.status = status
            self.store.end_run(self.run_id, status)


class _Recorder:
    """Opens child runs under the Kedro run's parent run."""

    def __init__(self, store: MlflowStore, parent: str) -> None:
        self.store, self.parent = store, parent

    @contextlib.contextmanager
    def child_run(self, name: str, params: Mapping[str, Any],
                  parameters: Mapping[str, Any] | None) -> Iterator[_ChildRun]:
        run = _ChildRun(self.store, self.store.start_run(name, {}, parent=self.parent))
        # the resolved configuration under the parent's names (model.*, train.*), then
        # what distinguishes this child
        self.store.log_params(run.run_id, {**logged_params(parameters or {}), **params})
        if parameters is not None:
            self.store.log_parameters_file(run.run_id, parameters)
        try:
            yield run
        except BaseException:
            run.end("FAILED")
            raise
        run.end("FINISHED")
