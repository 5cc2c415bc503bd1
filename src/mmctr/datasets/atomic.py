"""Atomic writes for Kedro datasets: a file appears whole or not at all.

Every dataset the project writes goes through :class:`AtomicSaveMixin`: the data is
first written to a hidden temporary path beside the target, then moved into place
with :func:`os.replace` (atomic on POSIX). A save that fails, or a process that is
killed mid-write, leaves the previous file byte-identical and no partial file behind.

The mixin also adds two flags useful in the catalog:

* ``read_only: true`` refuses every save (the real MicroLens download is never
  overwritten);
* ``optional: true`` makes ``load`` return ``None`` when the file does not exist
  (hidden test labels exist for synthetic data only).
"""

from __future__ import annotations

import inspect
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io.core import DatasetError, get_filepath_str
from kedro_datasets._typing import TablePreview
from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.pandas import ParquetDataset as _ParquetDataset
from kedro_datasets.text import TextDataset as _TextDataset
from kedro_datasets.yaml import YAMLDataset as _YAMLDataset

__all__ = [
    "AtomicSaveMixin",
    "CSVDataset",
    "JSONDataset",
    "MatplotlibDataset",
    "ParquetDataset",
    "TextDataset",
    "YAMLDataset",
    "atomic_path",
]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


class atomic_path:  # noqa: N801 - used like a function: ``with atomic_path(p) as tmp``
    """Context manager yielding a temporary path that replaces ``path`` on success.

    Example:
        >>> with atomic_path(Path("out.npz")) as tmp:  # doctest: +SKIP
        ...     np.savez(tmp, a=1)
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.tmp = self.path.parent / f".{self.path.name}.tmp-{os.getpid()}"

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove(self.tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            _remove(self.tmp)
            return
        if self.tmp.is_dir() and self.path.is_dir():
            # a directory cannot replace a non-empty directory in one step:
            # move the old one aside first, then drop it.
            old = self.path.parent / f".{self.path.name}.old-{os.getpid()}"
            os.replace(self.path, old)
            os.replace(self.tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.path)


class AtomicSaveMixin:
    """Mixin for fsspec-based kedro-datasets classes (see module docstring).

    The parent class must build its write path from ``self._get_save_path()``, as
    every file dataset in kedro-datasets does. Non-local protocols (s3, gcs, ...)
    are written directly: object stores publish an object only once it is complete.
    """

    def __init__(
        self, *args: Any, read_only: bool = False, optional: bool = False, **kwargs: Any
    ) -> None:
        self._read_only = read_only
        self._optional = optional
        super().__init__(*args, **kwargs)

    def load(self) -> Any:
        if self._optional and not self._exists():
            return None
        return inspect.unwrap(super().load)(self)

    def save(self, data: Any) -> None:
        if self._read_only:
            raise DatasetError(
                f"{self} is read-only: refusing to write to "
                f"'{self._filepath}'. This path holds input data that the project "
                "must never generate or overwrite."
            )
        raw_save = inspect.unwrap(super().save)
        if getattr(self, "_protocol", "file") not in ("file", "local"):
            raw_save(self, data)
            return
        final = PurePosixPath(self._get_save_path())
        with atomic_path(get_filepath_str(final, self._protocol)) as tmp:
            self._get_save_path = lambda: PurePosixPath(tmp.as_posix())
            try:
                raw_save(self, data)
            finally:
                del self._get_save_path

    def _describe(self) -> dict[str, Any]:
        return {
            **super()._describe(),
            "read_only": self._read_only,
            "optional": self._optional,
        }


def _jsonable(value: Any) -> Any:
    """A preview cell kedro-viz can serialise (list columns hold numpy arrays).

    Arrays show their last six values (histories are left-padded, newest last).
    """
    if isinstance(value, np.ndarray):
        tail = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v)
                         for v in value[-6:].tolist())
        return f"[{'…, ' if len(value) > 6 else ''}{tail}] ({len(value)})"
    if isinstance(value, np.generic):
        return value.item()
    return value


class _TablePreviewMixin:
    def preview(self, nrows: int = 5) -> TablePreview:
        """kedro-viz table preview with list cells shown as short strings."""
        table = super().preview(nrows)
        table["data"] = [[_jsonable(v) for v in row] for row in table["data"]]
        return TablePreview(table)


class ParquetDataset(_TablePreviewMixin, AtomicSaveMixin, _ParquetDataset):
    """``pandas.ParquetDataset`` with atomic saves, ``read_only`` and ``optional``."""


class CSVDataset(_TablePreviewMixin, AtomicSaveMixin, _CSVDataset):
    """``pandas.CSVDataset`` with atomic saves, ``read_only`` and ``optional``."""


class JSONDataset(AtomicSaveMixin, _JSONDataset):
    """``json.JSONDataset`` with atomic saves, ``read_only`` and ``optional``."""


class TextDataset(AtomicSaveMixin, _TextDataset):
    """``text.TextDataset`` with atomic saves, ``read_only`` and ``optional``."""


class MatplotlibDataset(AtomicSaveMixin, _MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` with atomic saves (closes the figure after)."""


class YAMLDataset(AtomicSaveMixin, _YAMLDataset):
    """``yaml.YAMLDataset`` with atomic saves, ``read_only`` and ``optional``."""
