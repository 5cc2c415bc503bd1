"""Shared fixtures: throwaway copies of the Kedro project for end-to-end runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
if "OMP_WAIT_POLICY" not in os.environ:  # before torch: see src/mmctr/__init__.py
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_PIPELINES = ["synthetic", "feature_engineering", "collaborative", "item_embedding",
                  "semantic_similarity"]


def copy_project(dest: Path) -> Path:
    """The project's conf and pyproject in ``dest`` with an empty ``data/``."""
    shutil.copytree(PROJECT_ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local"))
    (dest / "conf" / "local").mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "src").mkdir(exist_ok=True)  # kedro wants src/; mmctr itself is installed
    (dest / "data").mkdir(exist_ok=True)
    return dest


def run_kedro(project: Path, env: str = "test", pipelines: list[str] | None = None,
              params: dict | None = None) -> dict:
    """Run the project in ``project`` (the cwd) through a KedroSession."""
    from kedro.framework.project import configure_project
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    configure_project("mmctr")
    from kedro.framework.project import settings

    with settings.SESSION_CLASS.create(project_path=project, env=env,
                                       runtime_params=params or {}) as session:
        return session.run(pipeline_names=pipelines)


@pytest.fixture
def kedro_project(tmp_path, monkeypatch) -> Path:
    """An empty project copy in ``tmp_path``, made the working directory."""
    copy_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def _prepared(tmp_path_factory) -> Path:
    """Synthetic data, features and similarities of the test env, generated once."""
    root = copy_project(tmp_path_factory.mktemp("prepared"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        run_kedro(root, pipelines=DATA_PIPELINES)
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture
def prepared_project(_prepared, tmp_path, monkeypatch) -> Path:
    """A project copy whose data pipelines have already run (cwd = the copy)."""
    dest = tmp_path / "project"
    shutil.copytree(_prepared, dest, symlinks=True)
    monkeypatch.chdir(dest)
    return dest
