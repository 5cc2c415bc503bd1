"""End to end: the whole chain in the `test` environment, through a KedroSession."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from .conftest import run_kedro


@pytest.mark.slow
def test_default_run_trains_evaluates_and_submits(kedro_project):
    run_kedro(kedro_project)  # default_pipeline: synthetic → … → submission
    data = kedro_project / "data"
    test = pd.read_parquet(data / "01_raw/synthetic/MicroLens_1M_x1/test.parquet")
    sub = pd.read_csv(data / "07_model_output/prediction.csv")
    assert list(sub.columns) == ["ID", "Task1"]
    assert sub["ID"].tolist() == list(range(len(test)))
    assert sub["Task1"].between(0, 1).all()
    with zipfile.ZipFile(data / "07_model_output/prediction.zip") as zf:
        assert zf.namelist() == ["prediction.csv"]
    (metrics_file,) = (data / "08_reporting/metrics.json").glob("*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["valid_auc"] > 0.6, metrics  # clearly above chance on tiny synthetic data
    assert metrics["test_auc"] > 0.6 and metrics["has_test_labels"]
    assert 0 < metrics["test_oracle_auc_gap"] < 0.4  # the oracle knows the true probabilities
    for plot in ("roc", "calibration", "learning_curves", "auc_by_history_length", "history_length"):
        assert (data / f"08_reporting/{plot}.png").stat().st_size > 1000
    assert np.isfinite(pd.read_csv(data / "08_reporting/training_history.csv")["valid_auc"]).all()

    # kedro-viz: the static site builds after a run, with previews of metrics, tables, plots
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true"}
    viz = subprocess.run([sys.executable, "-m", "kedro", "viz", "build", "--include-previews"],
                         cwd=kedro_project, env=env, capture_output=True, text=True, timeout=600)
    assert viz.returncode == 0, viz.stderr[-3000:]
    build = kedro_project / "build"
    assert (build / "index.html").exists()
    site = "".join(p.read_text(errors="ignore") for p in (build / "api").rglob("*") if p.is_file())
    for name in ("evaluation_metrics", "evaluation_breakdown", "roc_plot", "training_history"):
        assert name in site
    assert '"preview"' in site and "TablePreview" in site and "ImagePreview" in site
