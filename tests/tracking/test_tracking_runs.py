"""Tracked runs through the real pipelines: what MLflow records, nesting, and off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from kedro.io.core import Version

from mmctr.datasets import TorchDataset
from mmctr.engine.fit import resolve_training
from mmctr.engine.trainer import TrainConfig
from mmctr.pipelines.ablation.config import variant_config

from ..conftest import run_kedro

ON = {"tracking": {"enabled": True}}


def _runs(project: Path):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("mmctr")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    return client, runs


def _parameters_file(client, run) -> dict:
    local = client.download_artifacts(run.info.run_id, "config/parameters.yml",
                                      str(Path.cwd() / "data"))
    return yaml.safe_load(Path(local).read_text())


def _latest_model(project: Path) -> dict:
    return TorchDataset(filepath=str(project / "data/06_models/model.pt"),
                        version=Version(None, None)).load()


@pytest.mark.slow
def test_tracking_off_imports_nothing_of_mlflow(prepared_project):
    # a real `kedro run` through the CLI (plugins, hooks, training); MMCTR_TRACKING=0
    # wins over a parameter that turns tracking on
    script = ("import sys\n"
              "from kedro.framework.cli import main\n"
              "sys.argv = ['kedro', 'run', '--env', 'test', '--pipelines', 'training',\n"
              "            '--params', 'tracking.enabled=true,training.epochs=1']\n"
              "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
              "print('MLFLOW-IMPORTED', any(m.split('.')[0] == 'mlflow' for m in sys.modules))\n")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true",
           "MMCTR_TRACKING": "0"}
    done = subprocess.run([sys.executable, "-c", script], cwd=prepared_project, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MLFLOW-IMPORTED False" in done.stdout
    assert (prepared_project / "data/06_models/model.pt").exists()  # it did train
    assert not (prepared_project / "mlruns.db").exists()
    assert not (prepared_project / "mlartifacts").exists()


@pytest.mark.slow
def test_tracked_run_records_params_metrics_artifacts_and_reruns_from_its_parameters(prepared_project):
    run_kedro(prepared_project, pipelines=["training", "submission", "evaluation"], params=ON)
    client, runs = _runs(prepared_project)
    # named by the pipelines and the command's --params
    assert [r.info.run_name for r in runs] == ["training+submission+evaluation tracking.enabled=True"]
    run = runs[0]
    assert run.info.status == "FINISHED"
    artifact = _latest_model(prepared_project)
    assert run.data.params["model.embedding_dim"] == str(artifact["model_params"]["embedding_dim"])
    assert run.data.params["train.learning_rate"] == str(artifact["train_config"]["learning_rate"])
    metrics = run.data.metrics
    assert metrics["best_valid_auc"] == pytest.approx(artifact["best_metric"]["valid_auc"])
    for key in ("valid_auc", "valid_logloss", "valid_gauc", "test_auc", "valid_oracle_auc_gap"):
        assert key in metrics, key
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "model", "roc_plot", "evaluation_metrics", "learning_curve_plot"} <= logged
    history = client.get_metric_history(run.info.run_id, "epoch_valid_auc")
    assert [m.step for m in history] == [h["epoch"] for h in artifact["history"]]

    # the logged parameters rebuild the same model configuration ...
    params = _parameters_file(client, run)
    name, model_params, cfg = resolve_training(params["training"])
    assert (name, model_params) == (artifact["model_name"], artifact["model_params"])
    assert cfg == TrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in artifact["train_config"].items()})
    # ... and, as a conf environment, re-run it: same configuration, same weights (CPU)
    rerun = prepared_project / "conf/rerun"
    rerun.mkdir()
    (rerun / "parameters.yml").write_text(yaml.safe_dump(params))
    run_kedro(prepared_project, env="rerun", pipelines=["training"])
    again = _latest_model(prepared_project)
    assert (again["model_name"], again["model_params"]) == (name, model_params)
    assert again["train_config"] == artifact["train_config"]
    for key, value in artifact["state_dict"].items():
        torch.testing.assert_close(again["state_dict"][key], value)
    _, runs = _runs(prepared_project)
    assert [r.data.tags["kedro.pipelines"] for r in runs] == ["training+submission+evaluation", "training"]


@pytest.mark.slow
def test_ablation_variants_and_tuning_trials_are_nested_under_one_parent(prepared_project):
    run_kedro(prepared_project, pipelines=["ablation"], params=ON)
    run_kedro(prepared_project, pipelines=["tuning"], params=ON)
    client, runs = _runs(prepared_project)
    by_name = {r.info.run_name: r for r in runs}
    parents = {r.data.tags["kedro.pipelines"]: r.info.run_id for r in runs
               if "mlflow.parentRunId" not in r.data.tags}
    assert sorted(parents) == ["ablation", "tuning"]
    children = {r.info.run_name: r.data.tags.get("mlflow.parentRunId") for r in runs}
    variants = ["ablation/lightgbm", "ablation/popularity", "ablation/din",
                "ablation/transformer_dcn", "ablation/quantization"]
    assert {v: children[v] for v in variants} == dict.fromkeys(variants, parents["ablation"])
    assert {t: children[t] for t in ("trial-000", "trial-001")} == dict.fromkeys(
        ("trial-000", "trial-001"), parents["tuning"])
    assert all(r.info.status == "FINISHED" for r in runs)
    din = by_name["ablation/din"]
    assert din.data.metrics["valid_auc"] > 0.5 and "test_auc" in din.data.metrics
    # a child's parameter file rebuilds that variant's configuration
    logged = _parameters_file(client, din)
    parent = _parameters_file(client, client.get_run(parents["ablation"]))
    expected = variant_config(parent["training"], parent["ablation"]["budget"],
                              parent["ablation"]["variants"]["din"])
    assert resolve_training(logged["training"]) == expected
    trial = by_name["trial-001"]
    assert [m.step for m in client.get_metric_history(trial.info.run_id, "valid_auc")][:1] == [1]
    assert trial.data.tags["optuna.state"] == "COMPLETE"
