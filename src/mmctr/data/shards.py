"""A split stored as parquet shards plus a manifest, read one shard at a time.

A sharded split is a folder::

    train_similarity/
      _manifest.json        rows, columns, per shard: file, rows, first_row, sha256
      part-00000-….parquet  one shard: a contiguous run of the split's rows, file order
      part-00001-….parquet

Spark writes the part files (one per partition, :mod:`mmctr.datasets.shards`); numpy
arrays are written by :func:`write_shards`. Either way each shard carries the column
``row`` (the row's position in its raw file), so the manifest lists the shards in file
order and checks that they cover every row exactly once. Names starting with ``_`` or
``.`` are ignored by Spark's and Arrow's readers, so the manifest lives beside the data.

:class:`ShardedRows` is what a load returns: a read-only ``Mapping`` of whole columns
(concatenated on first access, for the small valid/test splits and for code written for
in-memory arrays) and :meth:`ShardedRows.read_shard` for code that streams
(:mod:`mmctr.engine.streaming`), whose memory is then bounded by one shard.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmctr.errors import DataFileError

__all__ = [
    "MANIFEST",
    "ROW",
    "ShardedRows",
    "arrays_table",
    "build_manifest",
    "read_manifest",
    "table_arrays",
    "write_shards",
]

MANIFEST = "_manifest.json"
ROW = "row"  # each row's position in its raw file
_BLOCK = 1 << 20  # bytes hashed at a time


def _list_array(value: np.ndarray, fixed_size: bool) -> pa.Array:
    rows, width = value.shape[0], value.shape[1]
    flat = pa.array(value.reshape(-1))
    if fixed_size:
        return pa.FixedSizeListArray.from_arrays(flat, width)
    return pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32) * width), flat)


def arrays_table(arrays: Mapping[str, np.ndarray], fixed_size: bool = True) -> pa.Table:
    """Column arrays as an Arrow table: (N,) columns as they are, (N, W) as lists of W
    (fixed-size lists, or plain lists for readers without them, e.g. Spark's Arrow)."""
    columns = {}
    for key, value in arrays.items():
        value = np.ascontiguousarray(value)
        columns[key] = pa.array(value) if value.ndim == 1 else _list_array(value, fixed_size)
    return pa.table(columns)


def _column_array(column: pa.ChunkedArray) -> np.ndarray:
    """One Arrow column as numpy: a list column of equal widths becomes (N, W)."""
    kind = column.type
    if not (pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind)
            or pa.types.is_large_list(kind)):
        return column.to_numpy()
    flat = pc.list_flatten(column).to_numpy()
    rows = len(column)
    return flat.reshape(rows, flat.size // rows if rows else 0)


def table_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """An Arrow table as writable numpy column arrays (list columns as 2-D arrays)."""
    arrays = {name: _column_array(table.column(name)) for name in table.column_names}
    return {k: v if v.flags.writeable else v.copy() for k, v in arrays.items()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _shard_entry(path: Path) -> dict[str, Any]:
    rows = pq.ParquetFile(path).metadata.num_rows
    first = None
    if rows and ROW in pq.read_schema(path).names:
        first = int(pc.min(pq.read_table(path, columns=[ROW]).column(ROW)).as_py())
    return {"file": path.name, "rows": rows, "first_row": first, "sha256": _sha256(path)}


def build_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of the parquet shards in ``folder`` (empty shards left out).

    Shards are ordered by their first ``row`` (file order), which must make the rows
    0..N-1 contiguous: a split whose shards overlap or leave a gap is refused.

    Raises:
        DataFileError: when the shards do not cover each row exactly once.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(("_", ".")))
    shards = [entry for entry in map(_shard_entry, files) if entry["rows"]]
    if all(s["first_row"] is not None for s in shards):
        shards.sort(key=lambda s: s["first_row"])
        expected = 0
        for shard in shards:
            if shard["first_row"] != expected:
                raise DataFileError(str(folder), f"shards covering rows from {expected} on",
                                    f"{shard['file']} starting at row {shard['first_row']}",
                                    "Rewrite the split (its shards overlap or leave a gap)")
            expected += shard["rows"]
    columns = pq.read_schema(folder / shards[0]["file"]).names if shards else []
    fingerprint = hashlib.sha256(
        json.dumps([columns, [s["sha256"] for s in shards]]).encode()).hexdigest()[:16]
    return {"rows": sum(s["rows"] for s in shards), "columns": columns,
            "fingerprint": fingerprint, "shards": shards}


def write_manifest(folder: str | Path) -> dict[str, Any]:
    """Build the manifest of ``folder`` and write it there (``_manifest.json``)."""
    manifest = build_manifest(folder)
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a sharded split.

    Raises:
        DataFileError: when the folder has no readable manifest.
    """
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataFileError(str(path), "the manifest of a sharded split",
                            f"no readable manifest ({type(exc).__name__})",
                            "Rerun the stage that writes the split") from exc


def write_shards(
    arrays: Mapping[str, np.ndarray], folder: str | Path, shard_rows: int
) -> dict[str, Any]:
    """Write column arrays as parquet shards of at most ``shard_rows`` rows, plus manifest.

    Args:
        arrays: (N, ...) columns; a ``row`` column is added (0..N-1) when absent.
        folder: created if needed; must not hold other shards.
        shard_rows: rows per shard (bounds the memory of a reader that streams).

    Returns:
        The manifest.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    num_rows = len(next(iter(arrays.values())))
    if ROW not in arrays:
        arrays = {**arrays, ROW: np.arange(num_rows, dtype=np.int64)}
    for index, start in enumerate(range(0, num_rows, shard_rows)):
        part = {k: v[start:start + shard_rows] for k, v in arrays.items()}
        pq.write_table(arrays_table(part), folder / f"part-{index:05d}.parquet")
    return write_manifest(folder)


class ShardedRows(Mapping):
    """A sharded split (see the module doc): columns on demand, shards one at a time.

    Args:
        folder: the split's folder (with ``_manifest.json``).
        rename: batch key -> stored column, for columns exposed under another name.
    """

    def __init__(self, folder: str | Path, rename: Mapping[str, str] | None = None) -> None:
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self._rename = dict(rename or {})
        stored = [c for c in self.manifest["columns"] if c != ROW]
        hidden = set(self._rename.values())
        self._keys = tuple([c for c in stored if c not in hidden] + list(self._rename))
        self._cache: dict[str, np.ndarray] = {}

    @property
    def num_rows(self) -> int:
        return int(self.manifest["rows"])

    @property
    def shard_rows(self) -> list[int]:
        return [int(s["rows"]) for s in self.manifest["shards"]]

    @property
    def files(self) -> list[str]:
        """The shards' paths, in manifest (row) order."""
        return [str(self.folder / shard["file"]) for shard in self.manifest["shards"]]

    @property
    def fingerprint(self) -> str:
        """The content fingerprint of every shard (the manifest's)."""
        return str(self.manifest["fingerprint"])

    def renamed(self, rename: Mapping[str, str]) -> ShardedRows:
        """The same shards with columns also exposed as ``rename``'s keys."""
        return ShardedRows(self.folder, {**self._rename, **rename})

    def _stored(self, key: str) -> str:
        return self._rename.get(key, key)

    def read_shard(self, index: int, columns: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Shard ``index`` (manifest order) as numpy columns under this object's keys."""
        keys = self._keys if columns is None else columns
        table = pq.read_table(self.files[index], columns=sorted({self._stored(k) for k in keys}))
        arrays = table_arrays(table)
        return {key: arrays[self._stored(key)] for key in keys}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        if key not in self._cache:
            parts = [self.read_shard(i, (key,))[key] for i in range(len(self.shard_rows))]
            self._cache[key] = np.concatenate(parts) if parts else np.zeros(0)
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return (f"ShardedRows({str(self.folder)!r}, rows={self.num_rows}, "
                f"shards={len(self.shard_rows)})")
