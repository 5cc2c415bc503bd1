"""Sharded splits: written, read back exactly, manifest ordered and fingerprinted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmctr.data.shards import MANIFEST, ShardedRows, build_manifest, write_shards
from mmctr.datasets import ShardedDataset
from mmctr.errors import DataFileError


def _arrays(n: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"item_seq": rng.integers(0, 9, (n, 4)).astype(np.int32),
            "item_id": np.arange(n, dtype=np.int32),
            "hist_sim": rng.random((n, 4)).astype(np.float32)}


def test_round_trip_in_file_order(tmp_path):
    arrays = _arrays()
    manifest = write_shards(arrays, tmp_path / "split", shard_rows=3)
    assert [s["rows"] for s in manifest["shards"]] == [3, 3, 3, 1]
    assert [s["first_row"] for s in manifest["shards"]] == [0, 3, 6, 9]
    rows = ShardedRows(tmp_path / "split")
    assert sorted(rows) == sorted(arrays) and rows.num_rows == 10
    for key, value in arrays.items():
        np.testing.assert_array_equal(rows[key], value)
        assert rows[key].dtype == value.dtype
    np.testing.assert_array_equal(rows.read_shard(1, ("item_id",))["item_id"], [3, 4, 5])


def test_fingerprint_follows_content(tmp_path):
    first = write_shards(_arrays(), tmp_path / "a", shard_rows=4)["fingerprint"]
    assert write_shards(_arrays(), tmp_path / "b", shard_rows=4)["fingerprint"] == first
    changed = _arrays()
    changed["item_id"][7] = 99
    assert write_shards(changed, tmp_path / "c", shard_rows=4)["fingerprint"] != first


def test_gap_between_shards_is_refused(tmp_path):
    write_shards(_arrays(), tmp_path / "split", shard_rows=4)
    (tmp_path / "split" / "part-00001.parquet").unlink()
    with pytest.raises(DataFileError, match="starting at row 8"):
        build_manifest(tmp_path / "split")


def test_renamed_columns(tmp_path):
    write_shards(_arrays(), tmp_path / "split", shard_rows=4)
    rows = ShardedRows(tmp_path / "split").renamed({"seq_sim": "hist_sim"})
    assert "seq_sim" in rows and "hist_sim" not in rows
    np.testing.assert_array_equal(rows["seq_sim"], _arrays()["hist_sim"])


def test_dataset_saves_whole_folder(tmp_path):
    dataset = ShardedDataset(filepath=str(tmp_path / "split"), shard_rows=4)
    dataset.save(_arrays())
    assert json.loads((tmp_path / "split" / MANIFEST).read_text())["rows"] == 10
    dataset.save(_arrays(5))  # replaces the folder: no shard of the old split remains
    assert dataset.load().num_rows == 5 and len(list((tmp_path / "split").glob("*.parquet"))) == 2
    with pytest.raises(Exception, match="no manifest") as caught:
        ShardedDataset(filepath=str(tmp_path / "absent")).load()
    assert isinstance(caught.value, DataFileError) or isinstance(
        caught.value.__cause__, DataFileError)


def test_lineage_reads_the_manifest_fingerprint(tmp_path):
    from mmctr.lineage import _loaded_file, content_hash

    write_shards(_arrays(), tmp_path / "split", shard_rows=4)
    assert _loaded_file(tmp_path / "split") == tmp_path / "split" / MANIFEST
    before = content_hash(_loaded_file(tmp_path / "split"))
    changed = _arrays()
    changed["hist_sim"][0, 0] += 1
    write_shards(changed, tmp_path / "split", shard_rows=4)  # same files, new content
    assert content_hash(_loaded_file(tmp_path / "split")) != before
