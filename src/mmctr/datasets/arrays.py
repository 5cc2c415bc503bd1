"""Datasets for dicts of numpy arrays (``.npz``) and for torch checkpoints (``.pt``).

Both are versionable, local-or-fsspec, and save atomically through
:class:`~mmctr.datasets.atomic.AtomicSaveMixin`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
import numpy as np
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)
from kedro_datasets._typing import JSONPreview, TablePreview

from mmctr.datasets.atomic import AtomicSaveMixin

__all__ = ["LazyArrays", "NpzDataset", "TorchDataset"]


class _FileDataset(AbstractVersionedDataset):
    """Shared fsspec plumbing: subclasses implement ``_read(fh)`` / ``_write(data, fh)``."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(
            protocol, **deepcopy(credentials or {}), **deepcopy(fs_args or {})
        )
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def load(self) -> Any:
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(load_path, mode="rb") as fh:
            return self._read(fh)

    def save(self, data: Any) -> None:
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.makedirs(str(PurePosixPath(save_path).parent), exist_ok=True)
        # straight into the file, no in-memory copy (a 3.6M-row split is 1.5 GB): the
        # local path is already a temporary one (AtomicSaveMixin), and object stores
        # publish an object only once it is complete
        with self._fs.open(save_path, mode="wb") as fh:
            self._write(data, fh)
        self._invalidate_cache()

    def _exists(self) -> bool:
        try:
            path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "version": self._version}

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _read(self, fh: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write(self, data: Any, fh: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class LazyArrays(Mapping):
    """Read-only mapping over an ``.npz`` file that reads each array on first access.

    A consumer that needs one column of a 3.6M-row split (say ``item_id``) does not
    pay for the others (``item_seq`` alone is 1.4 GB at the real scale).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        with np.load(path, allow_pickle=False) as npz:
            self._keys = tuple(npz.files)
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            if key not in self._keys:
                raise KeyError(key)
            with np.load(self._path, allow_pickle=False) as npz:
                self._cache[key] = npz[key]
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"LazyArrays({self._path!r}, keys={list(self._keys)})"


class _NpzDataset(_FileDataset):
    def load(self) -> Mapping[str, np.ndarray]:
        if self._protocol in ("file", "local"):
            return LazyArrays(get_filepath_str(self._get_load_path(), self._protocol))
        return super().load()

    def _read(self, fh: Any) -> dict[str, np.ndarray]:
        with np.load(fh, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}

    def _write(self, data: dict[str, np.ndarray], fh: Any) -> None:
        if not isinstance(data, Mapping):
            raise DatasetError(f"{type(self).__name__} saves a dict of arrays, got {type(data)}")
        np.savez(fh, **{key: np.asarray(value) for key, value in data.items()})


class _TorchDataset(_FileDataset):
    def _read(self, fh: Any) -> Any:
        import torch

        return torch.load(io.BytesIO(fh.read()), map_location="cpu", weights_only=True)

    def _write(self, data: Any, fh: Any) -> None:
        import torch

        torch.save(data, fh)


class NpzDataset(AtomicSaveMixin, _NpzDataset):
    """A ``dict[str, np.ndarray]`` stored as an uncompressed ``.npz`` file.

    Loads lazily (:class:`LazyArrays`) from local disk. Example catalog entry::

        train_features:
          type: mmctr.datasets.NpzDataset
          filepath: data/04_feature/train_features.npz
    """

    def preview(self) -> TablePreview:
        """kedro-viz table preview: one row per array (name, dtype, shape).

        Read from the array headers only, so a 1.4 GB history matrix costs nothing.
        """
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        rows = []
        with self._fs.open(load_path, mode="rb") as fh, zipfile.ZipFile(fh) as zf:
            for name in zf.namelist():
                with zf.open(name) as member:
                    major, _ = np.lib.format.read_magic(member)
                    read = (np.lib.format.read_array_header_1_0 if major == 1
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(member)
                rows.append([name.removesuffix(".npy"), str(dtype), " × ".join(map(str, shape))])
        return TablePreview({"index": list(range(len(rows))),
                             "columns": ["array", "dtype", "shape"], "data": rows})


class TorchDataset(AtomicSaveMixin, _TorchDataset):
    def preview(self) -> JSONPreview:
        """kedro-viz JSON preview: everything but the tensors (name, config, metrics)."""
        import json

        data = self.load()
        if not isinstance(data, dict):
            return JSONPreview(json.dumps({"type": type(data).__name__}))
        shown = {k: v for k, v in data.items() if k not in ("state_dict", "history")}
        return JSONPreview(json.dumps(shown, default=str))

    """Any ``torch.save``-able object of tensors and plain Python values.

    Loaded with ``weights_only=True``, so a checkpoint cannot run code on load.
    """
