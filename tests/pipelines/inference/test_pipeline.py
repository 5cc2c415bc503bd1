"""End to end: a tracked training run's bundle scores new rows exactly as the submission
does, through the ``inference`` pipeline, the MLflow model (in process and served over
HTTP) and the ONNX export; bad requests are one error naming the row and the column."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io.core import Version

from mmctr.errors import MmctrError
from tests.conftest import run_kedro

RAW_TEST = Path("data/01_raw/synthetic/MicroLens_1M_x1/test.parquet")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(_prepared, tmp_path_factory):
    """A project copy after a tracked ``training`` + ``submission`` run (cwd = the copy)."""
    project = tmp_path_factory.mktemp("served") / "project"
    shutil.copytree(_prepared, project, symlinks=True)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        run_kedro(project, pipelines=["training", "submission"],
                  params={"tracking": {"enabled": True}})
        yield project
    finally:
        os.chdir(cwd)


@pytest.fixture
def at_project(trained, monkeypatch):
    monkeypatch.chdir(trained)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{trained / 'mlruns.db'}")
    return trained


def _submission(project: Path) -> np.ndarray:
    return pd.read_parquet(project / "data/07_model_output/test_predictions.parquet")[
        "prob"].to_numpy()


def _run_id(project: Path) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("mmctr")
    (run,) = client.search_runs([experiment.experiment_id])
    return run.info.run_id


def _chain(exc: BaseException) -> list[BaseException]:
    out = []
    while exc is not None:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def test_inference_pipeline_scores_the_submission(at_project):
    out = "data/07_model_output/requests_scored.parquet"
    run_kedro(at_project, pipelines=["inference"],
              params={"inference": {"requests": str(RAW_TEST), "output": out,
                                    "chunk_rows": 97}})  # many chunks, one ragged
    scored = pd.read_parquet(at_project / out)
    expected = _submission(at_project)
    assert list(scored.columns) == ["ID", "prob"]
    np.testing.assert_array_equal(scored["ID"], np.arange(len(expected)))
    assert np.abs(scored["prob"].to_numpy() - expected).max() <= 1e-6


def test_mlflow_model_scores_the_submission(at_project):
    import mlflow

    model = mlflow.pyfunc.load_model(f"runs:/{_run_id(at_project)}/model",
                                     model_config={"threads": torch.get_num_threads()})
    probs = model.predict(pd.read_parquet(RAW_TEST))["prob"].to_numpy()
    assert np.abs(probs - _submission(at_project)).max() <= 1e-6


def test_onnx_export_scores_the_submission(at_project):
    pytest.importorskip("onnxruntime", reason="the serving extra: pip install -e '.[serving]'")
    from mmctr.datasets.serving import ModelBundleDataset
    from mmctr.serving.onnx_export import onnx_inputs, run_onnx
    from mmctr.serving.scorer import BundleScorer

    run_kedro(at_project, pipelines=["export"])
    report = json.loads((at_project / "data/08_reporting/onnx_export.json").read_text())
    assert report["max_abs_diff"] <= 1e-5
    versions = ModelBundleDataset(filepath="data/06_models/model_bundle.pt",
                                  version=Version(None, None)).load()
    _, bundle = versions.load()
    scorer = BundleScorer(bundle)
    inputs = onnx_inputs(scorer, scorer.features(pd.read_parquet(RAW_TEST)))
    model = (at_project / "data/06_models/model.onnx").read_bytes()
    assert np.abs(run_onnx(model, inputs) - _submission(at_project)).max() <= 1e-5


def test_a_bad_row_stops_inference_naming_it_and_writes_nothing(at_project):
    requests = pd.read_parquet(RAW_TEST).head(300)
    requests.loc[150, "item_id"] = 10**6
    requests.to_parquet("data/01_raw/requests.parquet")
    with pytest.raises(Exception) as caught:
        run_kedro(at_project, pipelines=["inference"],
                  params={"inference": {"chunk_rows": 64}})
    errors = [e for e in _chain(caught.value) if isinstance(e, MmctrError)]
    assert errors and "row 150, column 'item_id'" in str(errors[0])
    assert not (at_project / "data/07_model_output/predictions.parquet").exists()


def test_an_unknown_bundle_version_is_named(at_project):
    pd.read_parquet(RAW_TEST).head(5).to_parquet("data/01_raw/requests.parquet")
    with pytest.raises(Exception) as caught:
        run_kedro(at_project, pipelines=["inference"],
                  params={"inference": {"version": "2020-01-01T00.00.00.000Z"}})
    errors = [e for e in _chain(caught.value) if isinstance(e, MmctrError)]
    assert errors and "2020-01-01T00.00.00.000Z' does not exist" in str(errors[0])


# ---- the served model ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (v.tolist() if isinstance(v, np.ndarray) else
                 v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def _post(port: int, rows: list[dict]) -> tuple[int, dict]:
    body = json.dumps({"dataframe_records": rows}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def server(trained):
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{trained / 'mlruns.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m",
         f"runs:/{_run_id(trained)}/model", "--env-manager", "local", "-h", "127.0.0.1",
         "-p", str(port)], cwd=trained, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, "the scoring server exited"
                time.sleep(1)
        else:
            pytest.fail("the scoring server did not answer /ping within 240 s")
        yield port
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def test_served_model_scores_the_submission(at_project, server):
    rows = pd.read_parquet(RAW_TEST).head(300)
    status, answer = _post(server, _records(rows))
    assert status == 200
    probs = np.array([p["prob"] for p in answer["predictions"]])
    assert np.abs(probs - _submission(at_project)[:300]).max() <= 1e-6


def test_served_bad_request_is_http_400_naming_row_and_column(at_project, server):
    rows = _records(pd.read_parquet(RAW_TEST).head(4))
    rows[2]["item_seq"] = [*rows[2]["item_seq"], 10**6]
    status, answer = _post(server, rows)
    assert status == 400
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "row 2, column 'item_seq'" in answer["message"]
    assert "Traceback" not in json.dumps(answer)


def test_served_model_keeps_answering_while_bad_and_good_requests_alternate(at_project,
                                                                           server):
    frame = pd.read_parquet(RAW_TEST).head(64)
    good, expected = _records(frame), _submission(at_project)[:64]
    bad = [{**good[0], "item_id": 0}]

    def one(i: int) -> tuple[int, int, dict]:
        return (i, *_post(server, bad if i % 2 else good))

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(one, range(40)))
    for i, status, answer in answers:
        if i % 2:
            assert status == 400 and "row 0, column 'item_id'" in answer["message"]
        else:
            assert status == 200
            probs = np.array([p["prob"] for p in answer["predictions"]])
            assert np.abs(probs - expected).max() <= 1e-6
