"""Shared fixtures: a throwaway copy of the Kedro project for end-to-end runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def kedro_project(tmp_path, monkeypatch) -> Path:
    """The project's conf and pyproject in ``tmp_path`` (cwd), with an empty ``data/``.

    Runs write their data under ``tmp_path/data``, never into the checkout.
    """
    shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf",
                    ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_kedro(project: Path, env: str = "test", pipelines: list[str] | None = None,
              params: dict | None = None) -> dict:
    """Run the project in ``project`` through a KedroSession; returns the run's outputs."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    configure_project("mmctr")
    from kedro.framework.project import settings

    with settings.SESSION_CLASS.create(project_path=project, env=env,
                                       runtime_params=params or {}) as session:
        return session.run(pipeline_names=pipelines)
