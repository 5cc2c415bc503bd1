import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io.core import DatasetError, Version

from mmctr.datasets import (
    CSVDataset,
    JSONDataset,
    NpzDataset,
    ParquetDataset,
    TorchDataset,
    atomic_path,
)


def _only_file(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_save_leaves_previous_file_byte_identical_and_no_temp(tmp_path):
    ds = ParquetDataset(filepath=str(tmp_path / "x.parquet"))
    ds.save(pd.DataFrame({"a": [1, 2]}))
    before = (tmp_path / "x.parquet").read_bytes()
    bad = pd.DataFrame({"a": [object(), object()]})  # pyarrow cannot serialise this
    with pytest.raises(DatasetError):
        ds.save(bad)
    assert (tmp_path / "x.parquet").read_bytes() == before
    assert _only_file(tmp_path) == ["x.parquet"]


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and _only_file(tmp_path) == ["out.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and _only_file(tmp_path) == ["out.txt"]


def test_read_only_refuses_and_optional_returns_none(tmp_path):
    path = tmp_path / "raw.parquet"
    ParquetDataset(filepath=str(path)).save(pd.DataFrame({"a": [1]}))
    with pytest.raises(DatasetError, match="read-only"):
        ParquetDataset(filepath=str(path), read_only=True).save(pd.DataFrame({"a": [2]}))
    assert pd.read_parquet(path)["a"].tolist() == [1]
    assert JSONDataset(filepath=str(tmp_path / "none.json"), optional=True).load() is None


def test_npz_round_trip_is_lazy_and_previews_from_headers(tmp_path):
    ds = NpzDataset(filepath=str(tmp_path / "f.npz"))
    ds.save({"seq": np.arange(12, dtype=np.int32).reshape(3, 4), "y": np.ones(3, np.float32)})
    loaded = ds.load()
    assert sorted(loaded) == ["seq", "y"] and not loaded._cache  # nothing read yet
    np.testing.assert_array_equal(loaded["seq"][1], [4, 5, 6, 7])
    assert list(loaded._cache) == ["seq"]
    assert ds.preview()["data"] == [["seq", "int32", "3 × 4"], ["y", "float32", "3"]]


def test_versioned_torch_dataset_keeps_every_version(tmp_path):
    path = str(tmp_path / "model.pt")
    TorchDataset(filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(
        {"state_dict": {"w": torch.zeros(2)}, "model_name": "a"})
    TorchDataset(filepath=path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(
        {"state_dict": {"w": torch.ones(2)}, "model_name": "b"})
    latest = TorchDataset(filepath=path, version=Version(None, None))
    assert latest.load()["model_name"] == "b"
    assert '"model_name": "b"' in latest.preview()
    assert len(list((tmp_path / "model.pt").iterdir())) == 2


def test_zip_csv_holds_prediction_csv(tmp_path):
    import zipfile

    ds = CSVDataset(filepath=str(tmp_path / "p.zip"),
                    save_args={"index": False,
                               "compression": {"method": "zip", "archive_name": "prediction.csv"}},
                    fs_args={"open_args_save": {"mode": "wb"}})
    ds.save(pd.DataFrame({"ID": [0, 1], "Task1": [0.25, 0.5]}))
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert zf.namelist() == ["prediction.csv"]
        assert zf.read("prediction.csv").decode().splitlines() == ["ID,Task1", "0,0.25", "1,0.5"]


def test_npz_save_streams_to_disk_without_an_in_memory_copy(tmp_path):
    """A 3.6M-row split is 1.5 GB: saving must not hold a second copy of it in memory."""
    import tracemalloc

    array = np.arange(16 * 2**20, dtype=np.float32).reshape(-1, 64)  # 64 MiB
    ds = NpzDataset(filepath=str(tmp_path / "big.npz"))
    tracemalloc.start()
    try:
        ds.save({"x": array})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < array.nbytes / 2  # an in-memory buffer of the file would be ≥ 64 MiB
    # a failure mid-write keeps the previous file whole
    with pytest.raises(DatasetError):
        ds.save({"x": array, "y": np.array([lambda: 0], dtype=object)})  # unpicklable
    np.testing.assert_array_equal(ds.load()["x"], array)
    assert _only_file(tmp_path) == ["big.npz"]
