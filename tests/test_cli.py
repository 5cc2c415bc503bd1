"""The project's `kedro run` (src/mmctr/cli.py): one line and a non-zero exit for expected
errors, nothing written, the full traceback on request, a closing summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmctr.cli import EXIT_EXPECTED, expected_error
from mmctr.errors import DataFileError, ParameterError

SRC = Path(__file__).resolve().parents[1] / "src"


def kedro(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``kedro run ARGS`` in ``project`` (the test environment unless ``--env`` is given)."""
    if "--env" not in args:
        args = ("--env", "test", *args)
    environ = {**os.environ, "PYTHONPATH": str(SRC), "KEDRO_DISABLE_TELEMETRY": "1",
               "DO_NOT_TRACK": "true", "MPLBACKEND": "Agg", "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "kedro", "run", *args], cwd=project,
                          env=environ, capture_output=True, text=True, timeout=600)


def _files(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project)) for p in (project / "data").rglob("*") if p.is_file())


def test_expected_error_is_found_anywhere_in_the_chain():
    inner = ParameterError("params:training.epochs must be a whole number >= 1, got 0")
    try:
        try:
            raise inner
        except ParameterError as exc:
            raise RuntimeError("Failed while loading data") from exc
    except RuntimeError as outer:
        assert expected_error(outer) is inner
    assert expected_error(RuntimeError("a bug")) is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--pipelines", "nosuch"),
         "Error: unknown pipeline 'nosuch'; this project has: ablation, collaborative, "
         "evaluation, export, feature_engineering, inference, item_embedding, real_data, "
         "semantic_similarity, spark, spark_collaborative, spark_features, spark_similarity, "
         "submission, synthetic, "
         "training, tuning"),
        (("--params", "training.preset=sed"),
         "Error: params:training.preset: unknown preset 'sed'; known: default, seed"),
        (("--params", "training.epochs=0"),
         "Error: params:training.epochs must be a whole number >= 1, got 0"),
        (("--pipelines", "evaluation"),
         "Error: data/04_feature/test_features.npz: expected test_features, an input of this "
         "run, found no such file. Run `kedro run --pipelines feature_engineering,"
         "item_embedding,semantic_similarity,training,submission` first (or `kedro run` for "
         "the whole chain)"),
    ],
    ids=["unknown_pipeline", "unknown_preset", "zero_epochs", "missing_model"],
)
def test_an_expected_error_is_one_line_with_a_non_zero_exit_and_nothing_written(
    kedro_project, args, message
):
    result = kedro(kedro_project, *args)
    assert result.returncode == EXIT_EXPECTED, result.stderr[-2000:]
    assert message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
    assert _files(kedro_project) == []


@pytest.mark.slow
def test_the_traceback_is_there_on_request(kedro_project):
    result = kedro(kedro_project, "--params", "training.preset=sed", "--traceback")
    assert result.returncode != 0 and "Traceback" in result.stderr
    result = kedro(kedro_project, "--params", "training.preset=sed", MMCTR_TRACEBACK="1")
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.slow
def test_a_zero_byte_raw_file_is_reported_in_the_projects_format(kedro_project):
    from tests.fixtures import make_raw_tables, write_raw_tables

    paths = write_raw_tables(make_raw_tables(), kedro_project / "data/01_raw/MicroLens_1M_x1")
    paths["valid"].write_bytes(b"")
    result = kedro(kedro_project, "--env", "microlens")
    assert result.returncode == EXIT_EXPECTED
    assert ("Error: data/01_raw/MicroLens_1M_x1/valid.parquet: expected a Parquet file, found an "
            "empty file (0 bytes: an interrupted copy?). Copy or regenerate the file") in result.stderr
    assert _files(kedro_project) == sorted(
        str(p.relative_to(kedro_project)) for p in paths.values())


@pytest.mark.slow
def test_a_run_that_trains_ends_with_the_summary(prepared_project):
    result = kedro(prepared_project, "--pipelines", "training,evaluation,submission")
    assert result.returncode == 0, result.stderr[-3000:]
    tail = result.stdout.splitlines()
    start = tail.index("Run summary")
    summary = "\n".join(tail[start:])
    assert summary.count("AUC 0.") >= 2 and "oracle AUC" in summary and "gap 0." in summary
    for line in tail[start + 1:start + 3]:  # valid, test: 4 decimals
        auc = line.split("AUC ")[1].split()[0]
        assert len(auc.split(".")[1]) == 4, line
    assert "model:      data/06_models/model.pt/" in summary
    assert "report:     data/08_reporting/metrics.json/" in summary
    assert "submission: data/07_model_output/prediction.zip" in summary


def test_data_file_error_names_file_expectation_and_fix():
    error = DataFileError("data/x.parquet", "a Parquet file", "no such file", "Run it")
    assert str(error) == "data/x.parquet: expected a Parquet file, found no such file. Run it"
