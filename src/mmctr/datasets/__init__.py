"""Kedro datasets used by mmctr: atomic saves, ``read_only`` and ``optional`` flags."""

from mmctr.datasets.arrays import NpzDataset, TorchDataset
from mmctr.datasets.atomic import (
    CSVDataset,
    JSONDataset,
    MatplotlibDataset,
    NoneDataset,
    ParquetDataset,
    TextDataset,
    YAMLDataset,
    atomic_path,
    remove_stale_temporaries,
)
from mmctr.datasets.shards import ShardedDataset

#: datasets of the serving stages (mmctr.datasets.serving)
_SERVING = ("BinaryDataset", "ModelBundleDataset", "ParquetChunksDataset")

__all__ = [
    "CSVDataset",
    "JSONDataset",
    "MatplotlibDataset",
    "NoneDataset",
    "NpzDataset",
    "ParquetDataset",
    "ShardedDataset",
    "TextDataset",
    "TorchDataset",
    "YAMLDataset",
    "atomic_path",
    "remove_stale_temporaries",
    "BinaryDataset",
    "ModelBundleDataset",
    "ParquetChunksDataset",
]


def __getattr__(name: str) -> object:
    """The serving datasets, imported on first use (they load torch)."""
    if name in _SERVING:
        from mmctr.datasets import serving

        return getattr(serving, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
