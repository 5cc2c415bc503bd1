"""Kedro datasets used by mmctr: atomic saves, ``read_only`` and ``optional`` flags."""

from mmctr.datasets.arrays import NpzDataset, TorchDataset
from mmctr.datasets.atomic import (
    CSVDataset,
    JSONDataset,
    MatplotlibDataset,
    ParquetDataset,
    TextDataset,
    YAMLDataset,
    atomic_path,
)

__all__ = [
    "CSVDataset",
    "JSONDataset",
    "MatplotlibDataset",
    "NpzDataset",
    "ParquetDataset",
    "TextDataset",
    "TorchDataset",
    "YAMLDataset",
    "atomic_path",
]
