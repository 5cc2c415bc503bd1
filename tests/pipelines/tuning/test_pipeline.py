"""The tuning pipeline end to end on the test environment's tiny data."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from kedro.io.core import Version

from mmctr.datasets import TorchDataset

from ...conftest import run_kedro


def _trials(project) -> list[tuple[int, str]]:
    db = project / "data/09_tuning/study.db"
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("select number, state from trials order by number").fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []


@pytest.mark.slow
def test_two_trial_study_writes_best_preset_and_plots_and_the_tuned_preset_trains(prepared_project):
    run_kedro(prepared_project, pipelines=["tuning"])
    reporting = prepared_project / "data/08_reporting"
    trials = pd.read_csv(reporting / "tuning_trials.csv")
    assert trials["number"].tolist() == [0, 1] and set(trials["state"]) == {"COMPLETE"}
    best = json.loads((reporting / "tuning_best.json").read_text())
    assert best["valid_auc"] == pytest.approx(trials["valid_auc"].max())
    for plot in ("tuning_history.png", "tuning_importances.png"):
        assert (reporting / plot).read_bytes()[:4] == b"\x89PNG"
    tuned = yaml.safe_load((prepared_project / "conf/test/parameters_tuned.yml").read_text())
    preset = tuned["training"]["presets"]["tuned"]
    assert preset["learning_rate"] == best["params"]["learning_rate"]
    assert preset["model"]["embedding_dim"] == best["params"]["model.embedding_dim"]

    # `training.preset=tuned` trains exactly the written preset
    run_kedro(prepared_project, pipelines=["training"], params={"training": {"preset": "tuned"}})
    model = TorchDataset(filepath=str(prepared_project / "data/06_models/model.pt"),
                         version=Version(None, None)).load()
    expected = {k: v for k, v in preset["model"].items() if k != "name"}
    assert {k: model["model_params"][k] for k in expected} == expected
    assert model["train_config"]["learning_rate"] == preset["learning_rate"]
    assert model["train_config"]["batch_size"] == preset["batch_size"]

    # n_trials counts the study's trials in total: the same command runs none, one more runs one
    run_kedro(prepared_project, pipelines=["tuning"])
    assert [n for n, _ in _trials(prepared_project)] == [0, 1]
    run_kedro(prepared_project, pipelines=["tuning"], params={"tuning": {"n_trials": 3}})
    assert [n for n, _ in _trials(prepared_project)] == [0, 1, 2]


@pytest.mark.slow
def test_study_killed_with_sigkill_resumes_with_continuing_trial_numbers(prepared_project):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true"}
    args = [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipelines", "tuning",
            "--params", "tuning.n_trials=3,tuning.budget.max_steps_per_epoch=12"]

    # 1. kill -9 while the second trial runs
    proc = subprocess.Popen(args, cwd=prepared_project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while (1, "RUNNING") not in _trials(prepared_project) and time.time() < deadline:
        assert proc.poll() is None, "the study ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _trials(prepared_project)[:2] == [(0, "COMPLETE"), (1, "RUNNING")]

    # 2. the same command continues the study: the dead trial failed, numbers go on
    done = subprocess.run(args, cwd=prepared_project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    trials = _trials(prepared_project)
    assert trials[1] == (1, "FAIL")
    assert [n for n, _ in trials] == list(range(len(trials)))
    finished = [n for n, state in trials if state in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3 and finished[0] == 0 and min(finished[1:]) == 2
    best = json.loads((prepared_project / "data/08_reporting/tuning_best.json").read_text())
    assert best["trials"]["FAIL"] == 1
