"""Data-parallel training and resume after SIGKILL, through the real pipelines."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from kedro.io.core import Version

from mmctr.datasets import TorchDataset

from ...conftest import run_kedro

RUN = [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipelines", "training"]


def _latest_model(project: Path) -> dict:
    return TorchDataset(filepath=str(project / "data/06_models/model.pt"),
                        version=Version(None, None)).load()


def _history(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "data/08_reporting/training_history.csv")


@pytest.mark.slow
def test_two_process_gloo_training_yields_a_valid_model_and_submission(prepared_project):
    run_kedro(prepared_project, pipelines=["training", "submission"],
              params={"training": {"world_size": 2}})
    artifact = _latest_model(prepared_project)
    assert artifact["model_name"] == "transformer_dcn"
    assert _history(prepared_project)["valid_auc"].iloc[-1] > 0.6
    sub = pd.read_csv(prepared_project / "data/07_model_output/prediction.csv")
    assert sub["Task1"].between(0, 1).all() and sub["ID"].is_monotonic_increasing


@pytest.mark.slow
def test_training_killed_with_sigkill_resumes_and_matches_an_uninterrupted_run(prepared_project):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true"}
    args = [*RUN, "--params",
            "training.epochs=6,training.patience=6,training.stop_drop=0,training.batch_size=64"]
    checkpoints = prepared_project / "data/06_models/checkpoints"

    # 1. start, wait for the first epoch's checkpoint, kill -9 mid-training
    proc = subprocess.Popen(args, cwd=prepared_project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(checkpoints.glob("run-*.pt")) and time.time() < deadline:
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (prepared_project / "data/06_models/model.pt").exists()
    assert list(checkpoints.glob("run-*.pt"))  # the last whole checkpoint survived

    # 2. the same command resumes and completes
    done = subprocess.run(args, cwd=prepared_project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in done.stderr + done.stdout
    resumed_history, resumed = _history(prepared_project), _latest_model(prepared_project)
    assert not list(checkpoints.glob("run-*.pt"))  # finished: checkpoint removed

    # 3. an uninterrupted run of the same command gives the same result
    fresh = subprocess.run(args, cwd=prepared_project, env=env, capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "resuming from" not in fresh.stderr + fresh.stdout
    full_history, full = _history(prepared_project), _latest_model(prepared_project)
    pd.testing.assert_series_equal(resumed_history["valid_auc"], full_history["valid_auc"])
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value)
