"""The pipeline through a real Kedro catalog of mmctr datasets in tmp_path.

A good run writes every output; a run on a corrupted raw file raises and leaves every
earlier output byte-identical (nothing is saved when the checks fail).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mmctr.data.contract import RawDataError
from mmctr.datasets import JSONDataset, MatplotlibDataset, NpzDataset, ParquetDataset
from mmctr.pipelines.feature_engineering import create_pipeline
from tests.data.cases import BAD_INPUTS, BadInput
from tests.fixtures import make_raw_tables, write_raw_tables

RAW = "01_raw/MicroLens_1M_x1"
OUTPUTS = {
    "train_features": "04_feature/train_features.npz",
    "valid_features": "04_feature/valid_features.npz",
    "test_features": "04_feature/test_features.npz",
    "item_features": "04_feature/item_features.npz",
    "vocab": "04_feature/vocab.json",
    "data_profile": "08_reporting/data_profile.json",
    "history_length_plot": "08_reporting/history_length.png",
}


def make_catalog(root: Path, params: dict | None = None) -> DataCatalog:
    """The pipeline's datasets (as in conf/base/catalog_*.yml), rooted at ``root``."""
    datasets = {
        f"raw_{name}": ParquetDataset(filepath=str(root / RAW / f"{name}.parquet"))
        for name in ("train", "valid", "test", "item_info")
    }
    for name, path in OUTPUTS.items():
        kind = {".npz": NpzDataset, ".json": JSONDataset, ".png": MatplotlibDataset}
        datasets[name] = kind[Path(path).suffix](filepath=str(root / path))
    datasets["params:feature_engineering"] = MemoryDataset(params or {})
    return DataCatalog(datasets)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and RAW not in str(p.relative_to(root))
    }


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """Good raw files, one full run; the data folder and its output bytes."""
    root = tmp_path_factory.mktemp("data")
    write_raw_tables(make_raw_tables(), root / RAW)
    SequentialRunner().run(create_pipeline(), make_catalog(root))
    return root, _snapshot(root)


def test_good_run_writes_every_output(good_run) -> None:
    root, snapshot = good_run
    assert set(snapshot) == set(OUTPUTS.values())
    catalog = make_catalog(root)
    train = catalog.load("train_features")
    assert train["item_seq"].shape == (64, 100) and train["item_seq"].dtype == np.int32
    assert "label" not in catalog.load("test_features")
    assert json.loads((root / OUTPUTS["vocab"]).read_text())["item"] == 31
    profile = json.loads((root / OUTPUTS["data_profile"]).read_text())
    assert profile["splits"]["train"]["rows"] == 64
    assert (root / OUTPUTS["history_length_plot"]).read_bytes()[:4] == b"\x89PNG"


def test_rerun_on_the_same_files_is_byte_identical(good_run, tmp_path) -> None:
    root, snapshot = good_run
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    SequentialRunner().run(create_pipeline(), make_catalog(tmp_path))
    assert _snapshot(tmp_path) == snapshot


def test_new_raw_files_change_the_outputs(good_run, tmp_path) -> None:
    """What the test below relies on: a good run on seed-1 files rewrites the outputs."""
    root, snapshot = good_run
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    write_raw_tables(make_raw_tables(seed=1), tmp_path / RAW)
    SequentialRunner().run(create_pipeline(), make_catalog(tmp_path))
    changed = _snapshot(tmp_path)
    assert all(
        changed[path] != snapshot[path]
        for path in snapshot
        if "04_feature/" in path and "vocab" not in path
    )


@pytest.mark.parametrize(
    "case", [c for c in BAD_INPUTS if c.parquet], ids=lambda c: c.name
)
def test_bad_raw_file_stops_the_run_and_keeps_earlier_outputs(
    good_run, tmp_path, case: BadInput
) -> None:
    root, snapshot = good_run
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    # new raw files (another seed, so any output written would differ), one corrupted
    write_raw_tables(case.corrupt(make_raw_tables(seed=1)), tmp_path / RAW)
    with pytest.raises(RawDataError) as caught:
        SequentialRunner().run(create_pipeline(), make_catalog(tmp_path, case.params))
    message = str(caught.value)
    assert message.startswith(case.file) and f"expected {case.expected}" in message
    assert caught.value.row == case.row and caught.value.column == case.column
    assert _snapshot(tmp_path) == snapshot  # byte-identical, no stray temp files
