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
]
