"""Checks on ``item_feature.parquet``, the raw per-modality item features (optional file).

Errors are the project's :class:`~mmctr.data.contract.RawDataError`
(file, column, first offending row, expected, found), e.g.::

    item_feature.parquet, column 'txt_emb_BERT', row 3: expected 768 items per row
    (width of modality 'text'), found 767 items
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from mmctr.data.contract import (
    EMBEDDING_MAGNITUDE,
    RawDataError,
    check_columns,
    check_not_empty,
    check_unique,
    int_column,
    list_matrix,
)

__all__ = ["ITEM_FEATURE_FILE", "parse_item_feature"]

logger = logging.getLogger(__name__)

ITEM_FEATURE_FILE = "item_feature.parquet"


def parse_item_feature(
    frame: pd.DataFrame,
    n_items: int,
    columns: Mapping[str, tuple[str, int]],
    *,
    file: str = ITEM_FEATURE_FILE,
    chunk_rows: int = 8192,
) -> dict[str, np.ndarray]:
    """Check the raw feature table and return one matrix per modality, row i = item i.

    Refuses: an empty table, a missing column, non-integer, duplicate or out-of-range item
    ids, an item of ``item_info.parquet`` without a row, a list of the wrong width, a null
    a non-finite value or one beyond :data:`~mmctr.data.contract.EMBEDDING_MAGNITUDE`. Rows may come in any order; an optional row for the padding
    item 0 is ignored; other columns (titles, counts ...) are ignored.

    Args:
        frame: the table as read by pandas.
        n_items: ``len(item_info)`` (items 1..n_items-1 plus the padding item 0).
        columns: modality name → (column, expected width).
        file: its file name (for messages).
        chunk_rows: rows converted at a time (bounds the temporary copy).

    Returns:
        modality name → float32 (n_items, width); row 0 all zero.
    """
    check_not_empty(frame, file)
    check_columns(frame, file, ("item_id", *(column for column, _ in columns.values())))
    ids = int_column(frame, file, "item_id", low=0, high=n_items - 1,
                     what="item ids of item_info.parquet")
    check_unique(ids, file, "item_id")
    present = np.zeros(n_items, dtype=bool)
    present[ids] = True
    missing = np.flatnonzero(~present[1:]) + 1
    if len(missing):
        raise RawDataError(
            file, "item_id", None,
            f"a row for every item 1..{n_items - 1} of item_info.parquet",
            f"no row for item {int(missing[0])} ({len(missing)} item(s) missing)",
        )
    out = {}
    for name, (column, width) in columns.items():
        values = list_matrix(frame[column], file, column, dtype=np.float32, width=width,
                             width_reason=f"width of modality '{name}'", finite=True,
                             magnitude=EMBEDDING_MAGNITUDE, chunk_rows=chunk_rows)
        matrix = np.zeros((n_items, width), dtype=np.float32)
        matrix[ids] = values
        matrix[0] = 0.0
        del values
        out[name] = matrix
    logger.info("%s passes every check: %d items, %s", file, n_items - 1,
                {name: m.shape[1] for name, m in out.items()})
    return out
