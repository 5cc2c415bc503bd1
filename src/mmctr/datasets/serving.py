"""Datasets of the serving stages: the model bundle, row files read and written in chunks,
and binary files (the ONNX model).

* :class:`ModelBundleDataset` saves a :class:`~mmctr.serving.bundle.ModelBundle` (versioned
  like ``model.pt``) and loads :class:`BundleVersions`: the saved versions, one of which the
  node picks by its ``version`` parameter (the latest by default), read only then.
* :class:`ParquetChunksDataset` loads :class:`RowChunks` (a Parquet file read a chunk of
  rows at a time: memory bounded by the chunk, never by the file) and saves a DataFrame or
  any iterable of DataFrames, written chunk by chunk into one Parquet file.
* :class:`BinaryDataset` saves and loads ``bytes``.

All save atomically (:class:`~mmctr.datasets.atomic.AtomicSaveMixin`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from kedro.io.core import DatasetError, get_filepath_str

from mmctr.datasets.arrays import _FileDataset
from mmctr.datasets.atomic import AtomicSaveMixin, shown_path
from mmctr.serving.bundle import BundleError, ModelBundle, read_bundle, save_bundle

__all__ = [
    "BinaryDataset",
    "BundleVersions",
    "ModelBundleDataset",
    "ParquetChunksDataset",
    "RowChunks",
]


class BundleVersions:
    """The saved versions of a model bundle (``{version: path}``); reads one on request.

    Args:
        paths: version name -> file (``""`` for an unversioned file).
        fs: the fsspec filesystem holding them.
        default: the version ``load(None)`` reads (``--load-versions``), else the latest.
    """

    def __init__(self, paths: dict[str, str], fs: Any, default: str | None = None) -> None:
        self.paths, self._fs, self._default = dict(sorted(paths.items())), fs, default

    @property
    def versions(self) -> list[str]:
        """Version names, oldest first (Kedro's timestamps sort in time order)."""
        return list(self.paths)

    def load(self, version: str | None = None) -> tuple[str, ModelBundle]:
        """``(version, bundle)`` of ``version``; ``None``: the default or the latest.

        Raises:
            BundleError: an unknown version (the known ones are listed) or a bad file.
        """
        name = version or self._default or self.versions[-1]
        if name not in self.paths:
            known = ", ".join(self.versions[-5:])
            raise BundleError(f"model bundle version '{name}' does not exist; the latest "
                              f"are: {known} (or leave the version unset for the latest)")
        with self._fs.open(self.paths[name], mode="rb") as fh:
            return name, read_bundle(fh, shown_path(self.paths[name]))


class _BundleFile(_FileDataset):
    def load(self) -> BundleVersions:
        path = get_filepath_str(self._filepath, self._protocol)
        if self._version is None:
            if not self._fs.exists(path):
                raise DatasetError(f"no model bundle at '{path}'")
            return BundleVersions({"": path}, self._fs)
        found = self._fs.glob(f"{path}/*/{PurePosixPath(path).name}")
        paths = {PurePosixPath(p).parent.name: p for p in found}
        if not paths:
            raise DatasetError(f"no version of the model bundle in '{path}'")
        return BundleVersions(paths, self._fs, self._version.load)

    def _write(self, data: ModelBundle, fh: Any) -> None:
        if not isinstance(data, ModelBundle):
            raise DatasetError(f"{type(self).__name__} saves a ModelBundle, got {type(data)}")
        save_bundle(data, fh)

    def _read(self, fh: Any) -> ModelBundle:  # pragma: no cover - load() reads versions
        return read_bundle(fh, str(self._filepath))


class ModelBundleDataset(AtomicSaveMixin, _BundleFile):
    """A model bundle file (:mod:`mmctr.serving.bundle`); load gives its versions.

    Example catalog entry::

        model_bundle:
          type: mmctr.datasets.ModelBundleDataset
          filepath: data/06_models/model_bundle.pt
          versioned: true
    """

    def _missing_help(self) -> str:
        return "Train a model first (kedro run --pipelines training writes the bundle)"


class RowChunks:
    """A Parquet file of rows, read ``rows`` at a time.

    List columns come as Arrow-backed pandas columns (no per-row Python objects).
    """

    def __init__(self, path: str, fs: Any) -> None:
        self.path, self._fs = path, fs
        with fs.open(path, mode="rb") as fh:
            metadata = pq.ParquetFile(fh).metadata
        self.num_rows = int(metadata.num_rows)
        self.columns = list(metadata.schema.names)

    def chunks(self, rows: int) -> Iterator[pd.DataFrame]:
        """DataFrames of at most ``rows`` rows each, in file order."""
        with self._fs.open(self.path, mode="rb") as fh:
            for batch in pq.ParquetFile(fh).iter_batches(batch_size=rows):
                yield batch.to_pandas(types_mapper=_arrow_lists)


def _arrow_lists(kind: pa.DataType) -> pd.ArrowDtype | None:
    nested = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    return pd.ArrowDtype(kind) if nested or pa.types.is_fixed_size_list(kind) else None


class _ChunkedParquet(_FileDataset):
    def load(self) -> RowChunks:
        return RowChunks(get_filepath_str(self._get_load_path(), self._protocol), self._fs)

    def _write(self, data: pd.DataFrame | Iterable[pd.DataFrame], fh: Any) -> None:
        frames = [data] if isinstance(data, pd.DataFrame) else data
        writer = None
        try:
            for frame in frames:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(fh, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise DatasetError(f"{type(self).__name__}: nothing to write (no chunk)")


class ParquetChunksDataset(AtomicSaveMixin, _ChunkedParquet):
    """Parquet rows read in chunks (:class:`RowChunks`) and written from chunks."""

    def _missing_help(self) -> str:
        return "Name an existing Parquet file of rows (--params inference.requests=PATH)"


class _Binary(_FileDataset):
    def _read(self, fh: Any) -> bytes:
        return fh.read()

    def _write(self, data: bytes, fh: Any) -> None:
        fh.write(bytes(data))


class BinaryDataset(AtomicSaveMixin, _Binary):
    """Raw bytes (e.g. a serialised ONNX model)."""
