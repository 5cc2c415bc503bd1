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

A load that fails because the file is missing, empty (0 bytes) or unreadable (truncated,
not the format) raises :class:`~mmctr.errors.DataFileError`: the file, what was expected,
what was found and what to do, instead of the reader's own exception.

:class:`ParquetDataset` adds two flags for the raw files:

* ``provenance: synthetic`` stamps every saved table (its parquet metadata, through
  ``DataFrame.attrs``) with who wrote it;
* ``real_data: true`` (the ``microlens`` environment) refuses every save, refuses to
  read a file stamped ``synthetic``, and says where the real download goes when a file
  is missing.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from kedro.io.core import AbstractDataset, DatasetError, get_filepath_str
from kedro_datasets._typing import TablePreview
from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.pandas import ParquetDataset as _ParquetDataset
from kedro_datasets.text import TextDataset as _TextDataset
from kedro_datasets.yaml import YAMLDataset as _YAMLDataset

from mmctr.errors import DataFileError, MmctrError

__all__ = [
    "AtomicSaveMixin",
    "CSVDataset",
    "JSONDataset",
    "MatplotlibDataset",
    "ParquetDataset",
    "NoneDataset",
    "TextDataset",
    "YAMLDataset",
    "atomic_path",
    "path_problem",
    "remove_stale_temporaries",
    "shown_path",
]

#: readers' exceptions that mean "this file is not what it should be" (anything else,
#: e.g. MemoryError, keeps its own traceback)
_UNREADABLE = (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile)

#: what the synthetic generator writes into its parquet files' metadata
PROVENANCE_KEY = "mmctr_provenance"
REAL_DATA_HELP = (
    "Put the real MicroLens_1M_x1 files (train.parquet, valid.parquet, test.parquet, "
    "item_info.parquet) in data/01_raw/MicroLens_1M_x1/ (see docs/DATA_CONTRACT.md), "
    "or run `kedro run` without --env microlens to use synthetic data"
)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def shown_path(path: str | os.PathLike) -> str:
    """``path`` relative to the working directory (the project) when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
    except (RuntimeError, OSError):  # a symlink loop: shown without resolving it
        absolute, cwd = os.path.abspath(path), os.getcwd()
        return os.path.relpath(absolute, cwd) if absolute.startswith(cwd + os.sep) else absolute


def _temporary_owner(name: str) -> int | None:
    """The pid in a temporary name ``.<file>.tmp-<pid>`` / ``.<file>.old-<pid>``."""
    if not name.startswith("."):
        return None
    for marker in (".tmp-", ".old-"):
        head, sep, pid = name.rpartition(marker)
        if sep and head and pid.isdigit():
            return int(pid)
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(folders: list[str | os.PathLike]) -> list[Path]:
    """Remove what an interrupted save left: ``.*.tmp-<pid>`` / ``.*.old-<pid>`` entries.

    Only entries whose process is gone are removed (a concurrent run's temporaries stay).
    Each folder is searched recursively (versioned datasets keep one folder per version).

    Returns:
        The paths removed.
    """
    removed = []
    for folder in dict.fromkeys(Path(f) for f in folders):
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            for name in [*files, *dirs]:
                pid = _temporary_owner(name)
                if pid is not None and not _alive(pid):
                    _remove(Path(root) / name)
                    removed.append(Path(root) / name)
            dirs[:] = [d for d in dirs if _temporary_owner(d) is None]
    return removed


class atomic_path:  # lower case: used like a function: ``with atomic_path(p) as tmp``
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


def path_problem(path: Path) -> tuple[str, str] | None:
    """What stops ``path`` from being read as a file, before any reader tries, as
    ``(found, what to do)``: a symbolic link that loops or leads nowhere, a directory, a
    file this user may not read. ``None`` when none applies (a missing file included)."""
    if path.is_symlink():
        try:
            path = path.resolve(strict=True)
        except RuntimeError:  # Python's message for ELOOP
            return ("a symbolic link that loops back to itself",
                    "Point the link at the real file (`ls -l` shows where it goes)")
        except OSError:
            return (f"a symbolic link to {os.readlink(path)}, which does not exist",
                    "Point the link at the real file, or put the file there")
    if path.is_dir():
        return ("a directory", "Move the directory away and put the file there")
    if path.exists() and not os.access(path, os.R_OK):
        return ("a file this user may not read (permission denied)",
                f"Give read permission (`chmod u+r {shown_path(path)}`) or run as its owner")
    return None


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
        self._check_path()
        if self._optional and not self._exists():
            return None
        try:
            return inspect.unwrap(super().load)(self)
        except MmctrError:
            raise
        except (DatasetError, *_UNREADABLE) as exc:
            error = self._load_error(exc)
            if error is None:
                raise
            raise error from exc

    def _local_path(self) -> Path | None:
        """The local file a load reads (``None`` for object stores or no version yet)."""
        if getattr(self, "_protocol", "file") not in ("file", "local"):
            return None
        try:
            return Path(get_filepath_str(self._get_load_path(), self._protocol))
        except DatasetError:
            return None

    def _check_path(self) -> None:
        """Refuse, in one line, a path that no reader could open as a file
        (:func:`path_problem`): a symlink loop, a directory, no read permission.

        Raises:
            DataFileError: naming the file, what was found and what to do.
        """
        path = self._local_path()
        problem = path_problem(path) if path is not None else None
        if problem is not None:
            kind = f"a {type(self).__name__.removesuffix('Dataset')} file"
            raise DataFileError(shown_path(path), kind, *problem)

    def _missing_help(self) -> str:
        return (
            "Run the stage that writes it first (`kedro run` runs them all; "
            "docs/ARCHITECTURE.md lists who writes what)"
        )

    def _load_error(self, exc: Exception) -> DataFileError | None:
        """The project's message for a failed load, or ``None`` to keep ``exc``."""
        path = self._local_path()
        shown = shown_path(path) if path is not None else str(self._filepath)
        kind = f"a {type(self).__name__.removesuffix('Dataset')} file"
        if path is None or not path.exists():
            if path is None and not isinstance(exc, DatasetError):
                return None
            return DataFileError(shown, kind, "no such file", self._missing_help())
        if path.is_file() and path.stat().st_size == 0:
            return DataFileError(
                shown, kind, "an empty file (0 bytes: an interrupted copy?)",
                "Copy or regenerate the file",
            )
        if isinstance(exc, DatasetError) and not isinstance(exc.__cause__, _UNREADABLE):
            return None
        cause = exc.__cause__ if isinstance(exc, DatasetError) else exc
        if isinstance(cause, PermissionError):
            return DataFileError(shown, kind, "a file this user may not read (permission "
                                 "denied)", "Give read permission or run as its owner")
        first_line = (str(cause).strip().splitlines() or [""])[0][:160]
        return DataFileError(
            shown, kind,
            f"a file that cannot be read ({type(cause).__name__}: {first_line})",
            "It is truncated or not in that format: copy or regenerate it",
        )

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
    """``pandas.ParquetDataset`` with atomic saves, ``read_only``, ``optional``,
    ``provenance`` and ``real_data`` (see the module docstring)."""

    def __init__(
        self, *args: Any, provenance: str | None = None, real_data: bool = False,
        **kwargs: Any,
    ) -> None:
        if real_data:
            kwargs["read_only"] = True
        self._provenance, self._real_data = provenance, real_data
        super().__init__(*args, **kwargs)

    def load(self) -> Any:
        if self._real_data:
            self._refuse_synthetic()
        return super().load()

    def save(self, data: Any) -> None:
        if self._provenance is not None and not self._read_only:
            data = data.copy(deep=False)
            data.attrs = {**data.attrs, PROVENANCE_KEY: self._provenance}
        super().save(data)

    def _missing_help(self) -> str:
        return REAL_DATA_HELP if self._real_data else super()._missing_help()

    def _refuse_synthetic(self) -> None:
        """Refuse (``real_data`` only) a file the synthetic generator wrote."""
        path = self._local_path() if self._real_data else None
        if path is None or not path.is_file():
            return
        try:
            metadata = pq.read_schema(path).metadata or {}
            attrs = json.loads(metadata.get(b"PANDAS_ATTRS", b"{}"))
        except (*_UNREADABLE, pa.ArrowException):
            return  # the load itself reports an unreadable file
        if attrs.get(PROVENANCE_KEY) == "synthetic":
            raise DataFileError(
                shown_path(path),
                "the real MicroLens_1M_x1 download",
                "a file written by this project's synthetic generator",
                "Move it away and put the real files there (synthetic data lives in "
                "data/01_raw/synthetic/MicroLens_1M_x1/ and is read by `kedro run` "
                "without --env microlens); nothing was written",
            )

    def _describe(self) -> dict[str, Any]:
        return {
            **super()._describe(),
            "provenance": self._provenance,
            "real_data": self._real_data,
        }


class NoneDataset(AbstractDataset):
    """A dataset that holds nothing: ``load`` returns ``None``, ``save`` refuses.

    The ``microlens`` environment maps the generator's hidden labels and oracle to it,
    so a leftover synthetic truth file is never read beside real data. Any other
    argument (a ``filepath`` soft-merged from base) is ignored.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._ignored = sorted(kwargs)

    def load(self) -> None:
        return None

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self} holds no data in this environment: refusing to save")

    def _describe(self) -> dict[str, Any]:
        return {"holds": "nothing in this environment"}


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
