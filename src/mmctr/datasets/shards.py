"""A split stored as parquet shards with a manifest (:mod:`mmctr.data.shards`).

``save`` takes a Spark DataFrame (each partition becomes a shard, written by the
executors) or a dict of numpy arrays (cut into shards of ``shard_rows`` rows); the folder
is written beside the target and moved into place whole, with its ``_manifest.json``, so
a killed save leaves the previous split intact. ``load`` returns
:class:`~mmctr.data.shards.ShardedRows`, which needs no Spark: training streams it shard
by shard, and code written for in-memory arrays reads its columns. Example::

    train_similarity:
      type: mmctr.datasets.ShardedDataset
      filepath: data/05_model_input/spark/train_similarity
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from mmctr.data.shards import MANIFEST, ShardedRows, write_manifest, write_shards
from mmctr.datasets.atomic import atomic_path, shown_path
from mmctr.errors import DataFileError

__all__ = ["ShardedDataset"]


class ShardedDataset(AbstractDataset):
    """Parquet shards plus a manifest in the folder ``filepath`` (see the module doc).

    Args:
        filepath: the split's folder (local).
        shard_rows: rows per shard (numpy arrays; at most that many per part from Spark).
        read_only: refuse every save.
    """

    def __init__(self, *, filepath: str, shard_rows: int = 1 << 18, read_only: bool = False,
                 metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self._protocol = "file"
        self._shard_rows = int(shard_rows)
        self._read_only = read_only
        self.metadata = metadata

    def load(self) -> ShardedRows:
        if not self._exists():
            raise DataFileError(shown_path(self._filepath), "a sharded split (_manifest.json)",
                                "no such folder or no manifest",
                                "Run the stage that writes it first")
        return ShardedRows(Path(self._filepath))

    def save(self, data: Any) -> None:
        if self._read_only:
            raise DatasetError(f"{self} is read-only: refusing to write '{self._filepath}'")
        with atomic_path(Path(self._filepath)) as tmp:
            if isinstance(data, Mapping):
                write_shards(data, tmp, self._shard_rows)
            elif hasattr(data, "write_shards"):  # ShardTasks: the Python workers write the parts
                data.write_shards(tmp)
                write_manifest(tmp)
            elif hasattr(data, "write"):  # a Spark DataFrame: the executors write the parts
                # at most shard_rows rows a part: a partition becomes several contiguous parts
                (data.write.mode("overwrite").option("maxRecordsPerFile", self._shard_rows)
                 .parquet(str(tmp)))
                write_manifest(tmp)
            else:
                raise DatasetError(f"{type(self).__name__} saves a Spark DataFrame, "
                                   f"ShardTasks or a dict of arrays, got {type(data).__name__}")

    def _exists(self) -> bool:
        return (Path(self._filepath) / MANIFEST).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "shard_rows": self._shard_rows,
                "read_only": self._read_only}
