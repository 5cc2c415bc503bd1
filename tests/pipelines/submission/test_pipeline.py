"""The ``submission`` pipeline through real (atomic) catalog datasets in ``tmp_path``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mmctr.data.submission import SubmissionError
from mmctr.pipelines.submission import create_pipeline
from tests.pipelines.evaluation.tiny_inputs import (
    tiny_artifact,
    tiny_items,
    tiny_semantics,
    tiny_similarity,
    tiny_split,
)
from tests.pipelines.submission.test_nodes import CONF, GUARDS, PARAMS, N, _bad


def _catalog(tmp_path: Path, inputs: dict) -> DataCatalog:
    """The project's submission catalog entries, re-rooted under ``tmp_path``."""
    config = yaml.safe_load((CONF / "base" / "catalog_submission.yml").read_text())
    config = {name: {**entry, "filepath": str(tmp_path / Path(entry["filepath"]).name)}
              for name, entry in config.items() if name not in inputs}
    assert config, "no catalog entries left to test"
    catalog = DataCatalog.from_config(config)
    for name, value in inputs.items():
        catalog[name] = MemoryDataset(value)
    return catalog


def _build_only():
    return create_pipeline().filter(node_names=["build_submission_node"])


def _read_zip(path: Path) -> tuple[list[str], pd.DataFrame]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        frame = pd.read_csv(io.BytesIO(archive.read("prediction.csv")))
    return names, frame


def test_full_pipeline_writes_csv_and_zip(tmp_path):
    features = tiny_split(N, seed=5, labels=False)
    inputs = {
        "model": tiny_artifact(),
        "test_features": features,
        "test_similarity": tiny_similarity(features, seed=6),
        "item_features_embedded": tiny_items(),
        "item_semantics": tiny_semantics(),
        "params:submission": PARAMS,
    }
    catalog = _catalog(tmp_path, inputs)
    SequentialRunner().run(create_pipeline(), catalog)
    preds = pd.read_parquet(tmp_path / "test_predictions.parquet")
    csv = pd.read_csv(tmp_path / "prediction.csv")
    assert list(csv.columns) == ["ID", "Task1"]
    np.testing.assert_array_equal(csv["ID"], np.arange(N))
    np.testing.assert_allclose(csv["Task1"], preds["prob"], rtol=1e-6)
    names, zipped = _read_zip(tmp_path / "prediction.zip")
    assert names == ["prediction.csv"]
    pd.testing.assert_frame_equal(zipped, csv)


@pytest.mark.parametrize("kind", sorted(GUARDS))
def test_failed_guard_leaves_previous_files_byte_identical(tmp_path, kind):
    features = tiny_split(N, seed=5, labels=False)
    good = pd.DataFrame({"ID": np.arange(N), "prob": np.linspace(0.1, 0.9, N)})
    base = {"test_features": features, "params:submission": PARAMS}
    SequentialRunner().run(_build_only(), _catalog(tmp_path, {**base, "test_predictions": good}))
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(files) == {"prediction.csv", "prediction.zip"}

    bad_catalog = _catalog(tmp_path, {**base, "test_predictions": _bad(kind)})
    with pytest.raises(SubmissionError):
        SequentialRunner().run(_build_only(), bad_catalog)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}  # no temp files either
    assert after == files
