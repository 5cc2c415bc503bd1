"""With tracking on, a refused command opens no MLflow run and writes nothing; a command
that fails after starting leaves its run FAILED, not RUNNING."""

from pathlib import Path

import pytest

from mmctr.cli import EXIT_EXPECTED
from mmctr.errors import ParameterError

from ..conftest import run_kedro
from ..test_cli import kedro

ON = {"tracking": {"enabled": True}}


def _tracking_debris(project: Path) -> list[str]:
    names = ("mlruns.db", "mlartifacts", "mlruns", "data/09_tracking")
    return [name for name in names if (project / name).exists()]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "message"),
    [({"tracking": {"enabled": True}, "training": {"epcohs": 3}}, "epcohs"),
     ({"tracking": {"enabled": True}, "training": {"preset": "nonexistent"}},
      "unknown preset 'nonexistent'")],
    ids=["misspelt_key", "unknown_preset"],
)
def test_a_refused_parameter_opens_no_run_and_writes_nothing(prepared_project, params, message):
    before = sorted(p for p in prepared_project.rglob("*") if p.is_file())
    with pytest.raises(ParameterError, match=message):
        run_kedro(prepared_project, pipelines=["training"], params=params)
    assert _tracking_debris(prepared_project) == []
    assert sorted(p for p in prepared_project.rglob("*") if p.is_file()) == before


@pytest.mark.slow
def test_a_refused_command_is_one_line_and_exit_2_with_tracking_on(kedro_project):
    result = kedro(kedro_project, "--pipelines", "training",
                   "--params", "training.epcohs=3", MMCTR_TRACKING="1")
    assert result.returncode == EXIT_EXPECTED, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "epcohs" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert _tracking_debris(kedro_project) == []


@pytest.mark.slow
def test_a_command_that_fails_after_starting_marks_its_run_failed(prepared_project, monkeypatch):
    from mlflow import MlflowClient

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the middle of training")

    monkeypatch.setattr("mmctr.engine.fit.train_model", broken)
    with pytest.raises(RuntimeError, match="a bug in the middle"):
        run_kedro(prepared_project, pipelines=["training"], params=ON)
    client = MlflowClient(f"sqlite:///{prepared_project / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("mmctr")
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert runs[0].info.end_time is not None
