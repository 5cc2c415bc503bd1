"""Dataset loads that fail are reported in the project's format; raw-file provenance;
the debris of killed saves."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import DatasetError

from mmctr.datasets import (
    JSONDataset,
    NoneDataset,
    NpzDataset,
    ParquetDataset,
    remove_stale_temporaries,
)
from mmctr.errors import DataFileError


def _cause(exc: BaseException) -> BaseException:
    while not isinstance(exc, DataFileError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _load_error(dataset) -> DataFileError:
    with pytest.raises(Exception) as caught:
        dataset.load()
    error = _cause(caught.value)
    assert isinstance(error, DataFileError), caught.value
    return error


@pytest.mark.parametrize("kind", [ParquetDataset, NpzDataset, JSONDataset])
def test_a_missing_file_says_which_and_what_to_do(tmp_path, kind):
    error = _load_error(kind(filepath=str(tmp_path / "nothing.here")))
    assert "found no such file" in str(error) and "Run the stage that writes it" in str(error)


@pytest.mark.parametrize("kind", [ParquetDataset, NpzDataset, JSONDataset])
def test_a_zero_byte_file(tmp_path, kind):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    error = _load_error(kind(filepath=str(path)))
    assert "found an empty file (0 bytes: an interrupted copy?). Copy or regenerate" in str(error)


def test_a_truncated_parquet_file(tmp_path):
    path = tmp_path / "train.parquet"
    pd.DataFrame({"a": np.arange(1000)}).to_parquet(path)
    path.write_bytes(path.read_bytes()[:300])
    error = _load_error(ParquetDataset(filepath=str(path)))
    assert str(error).startswith(f"{path}: expected a Parquet file, found a file that cannot be read (")
    assert "truncated or not in that format" in str(error)


def test_a_truncated_npz_file(tmp_path):
    path = tmp_path / "train_features.npz"
    NpzDataset(filepath=str(path)).save({"a": np.arange(1000)})
    path.write_bytes(path.read_bytes()[:100])
    assert "cannot be read (BadZipFile" in str(_load_error(NpzDataset(filepath=str(path))))


def test_the_generator_stamps_its_files_and_real_data_refuses_them(tmp_path):
    path = tmp_path / "train.parquet"
    ParquetDataset(filepath=str(path), provenance="synthetic").save(pd.DataFrame({"a": [1]}))
    assert pd.read_parquet(path).attrs == {"mmctr_provenance": "synthetic"}
    real = ParquetDataset(filepath=str(path), real_data=True)
    error = _load_error(real)
    assert "expected the real MicroLens_1M_x1 download, found a file written by this " \
           "project's synthetic generator" in str(error)
    with pytest.raises(DatasetError, match="read-only"):
        real.save(pd.DataFrame({"a": [2]}))

    pd.DataFrame({"a": [3]}).to_parquet(path)  # a download: no stamp
    assert real.load()["a"].tolist() == [3]


def test_real_data_says_where_the_files_go(tmp_path):
    error = _load_error(ParquetDataset(filepath=str(tmp_path / "x.parquet"), real_data=True))
    assert "Put the real MicroLens_1M_x1 files (train.parquet, valid.parquet, test.parquet, " \
           "item_info.parquet) in data/01_raw/MicroLens_1M_x1/" in str(error)


def test_none_dataset_holds_nothing():
    dataset = NoneDataset(filepath="data/08_reporting/synthetic_truth.parquet", optional=True)
    assert dataset.load() is None
    with pytest.raises(DatasetError, match="holds no data"):
        dataset.save(1)


def test_only_dead_processes_temporaries_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    import os

    (tmp_path / "v1").mkdir()
    debris = [tmp_path / f".train.npz.tmp-{pid}", tmp_path / "v1" / f".model.pt.tmp-{pid}",
              tmp_path / f".model.pt.old-{pid}"]
    debris[2].mkdir()
    for path in debris[:2]:
        path.write_bytes(b"half")
    kept = [tmp_path / f".x.npz.tmp-{os.getpid()}", tmp_path / "train.npz",
            tmp_path / "notes.tmp-12"]
    for path in kept:
        path.write_bytes(b"keep")
    removed = remove_stale_temporaries([tmp_path])
    assert sorted(removed) == sorted(debris)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in debris)


@pytest.mark.parametrize("kind", [ParquetDataset, NpzDataset, JSONDataset])
def test_a_symlink_loop_is_one_line_not_a_format_error(tmp_path, kind):
    (tmp_path / "a.file").symlink_to(tmp_path / "b.file")
    (tmp_path / "b.file").symlink_to(tmp_path / "a.file")
    error = _load_error(kind(filepath=str(tmp_path / "a.file")))
    assert "found a symbolic link that loops back to itself" in str(error)
    assert "\n" not in str(error)


def test_a_link_to_nothing_names_its_target(tmp_path):
    (tmp_path / "train.parquet").symlink_to(tmp_path / "elsewhere.parquet")
    error = _load_error(ParquetDataset(filepath=str(tmp_path / "train.parquet")))
    assert f"found a symbolic link to {tmp_path / 'elsewhere.parquet'}, which does not exist" in str(error)


@pytest.mark.parametrize("kind", [ParquetDataset, NpzDataset, JSONDataset])
def test_a_directory_where_a_file_belongs_is_named(tmp_path, kind):
    (tmp_path / "train.parquet").mkdir()
    error = _load_error(kind(filepath=str(tmp_path / "train.parquet")))
    assert "found a directory. Move the directory away and put the file there" in str(error)


def test_an_unreadable_file_says_permission_denied_not_truncated(tmp_path, monkeypatch):
    path = tmp_path / "train.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    # tests may run as root, whom chmod does not stop: the check asks os.access
    monkeypatch.setattr("mmctr.datasets.atomic.os.access", lambda p, mode: False)
    error = _load_error(ParquetDataset(filepath=str(path)))
    assert "found a file this user may not read (permission denied)" in str(error)
    assert "truncated" not in str(error)


def test_a_permission_error_while_reading_is_reported_as_such(tmp_path, monkeypatch):
    path = tmp_path / "features.npz"
    np.savez(path, a=np.zeros(2))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("mmctr.datasets.arrays.np.load", denied)
    error = _load_error(NpzDataset(filepath=str(path)))
    assert "permission denied" in str(error) and "truncated" not in str(error)
