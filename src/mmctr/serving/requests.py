"""Check a request (rows in the MicroLens row schema) and turn it into feature arrays.

A request is a table with ``user_id``, ``item_seq``, ``likes_level``, ``views_level`` and
``item_id`` (no label; extra columns are ignored). Histories may be narrower than the data
contract's width (a JSON client sends just the items, oldest first) but never wider; they
are left-padded to that width and cut to the model's ``max_len`` exactly as
``feature_engineering`` cuts the raw files. Every check of the data contract that applies
to a row is made with the contract's own functions; a breach is one :class:`RequestError`
that names the row and the column.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mmctr.data.contract import (
    ROW_COLUMNS,
    RawDataError,
    _arrow_lists,
    check_left_padded,
    int_column,
)
from mmctr.data.features import cut_history
from mmctr.errors import MmctrError

__all__ = ["RequestError", "RequestSpec", "parse_requests"]

_WHERE = "request"


class RequestError(MmctrError, ValueError):
    """A request breaks the row schema; the message names the row and the column."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        self.row, self.column = row, column
        super().__init__(message)

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.row, self.column)


@dataclasses.dataclass(frozen=True)
class RequestSpec:
    """What a request may hold, from the bundle: ids and levels the model has rows for."""

    num_items: int  # item table rows V (0 = padding)
    likes: int  # likes_level vocabulary (levels 0..likes-1)
    views: int
    max_history: int  # widest history accepted (the data contract's width)
    max_len: int  # history width the model was trained on

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> RequestSpec:
        vocab, features = meta["vocab"], meta["features"]
        return cls(int(vocab["item"]), int(vocab["likes"]), int(vocab["views"]),
                   int(features["max_history"]), int(features["max_len"]))


def _request_error(exc: RawDataError, row_offset: int) -> RequestError:
    """The contract's error in the request's words (row counted from the first row)."""
    row = None if exc.row is None else exc.row + row_offset
    where = [_WHERE] + ([f"row {row}"] if row is not None else [])
    where += [f"column '{exc.column}'"] if exc.column is not None else []
    return RequestError(f"{', '.join(where)}: expected {exc.expected}, found {exc.found}",
                        row, exc.column)


def parse_requests(
    frame: pd.DataFrame, spec: RequestSpec, row_offset: int = 0
) -> dict[str, np.ndarray]:
    """Check a request and build its feature arrays (ARCHITECTURE.md §2).

    Args:
        frame: the request rows.
        spec: the bundle's limits.
        row_offset: the first row's number in the whole request (chunked files).

    Returns:
        ``item_seq`` int32 (N, max_len); ``item_id``, ``likes_level``, ``views_level``
        int32 (N,); ``user_id`` int64 (N,).

    Raises:
        RequestError: an empty request, a missing or mistyped column, a null, an item id
            outside the item table, a level outside the model's vocabulary, a history
            wider than ``max_history`` or not left-padded.
    """
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise RequestError(f"{_WHERE}: expected at least one row, found an empty request")
    missing = [c for c in ROW_COLUMNS if c not in frame.columns]
    if missing:
        raise RequestError(
            f"{_WHERE}, column '{missing[0]}': expected the columns {list(ROW_COLUMNS)}, "
            f"found no such column (columns: {[str(c) for c in frame.columns]})",
            column=missing[0])
    try:
        return _parse(frame, spec)
    except RawDataError as exc:
        raise _request_error(exc, row_offset) from None


def _parse(frame: pd.DataFrame, spec: RequestSpec) -> dict[str, np.ndarray]:
    n = spec.num_items
    levels = {name: int_column(frame, _WHERE, f"{name}_level", low=0, high=size - 1,
                               what="levels the model knows").astype(np.int32)
              for name, size in (("likes", spec.likes), ("views", spec.views))}
    return {
        "item_seq": cut_history(_histories(frame["item_seq"], spec), spec.max_len),
        "item_id": int_column(frame, _WHERE, "item_id", low=1, high=n - 1,
                              what="item ids of the model's item table").astype(np.int32),
        "likes_level": levels["likes"],
        "views_level": levels["views"],
        "user_id": int_column(frame, _WHERE, "user_id"),
    }


def _histories(series: pd.Series, spec: RequestSpec) -> np.ndarray:
    """Lists of up to ``max_history`` item ids → int32 (N, max_history), left-padded 0."""
    column, width = "item_seq", spec.max_history
    array = _arrow_lists(series, _WHERE, column, 0)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    if array.null_count:
        row = int(np.flatnonzero(pc.is_null(array).to_numpy(zero_copy_only=False))[0])
        raise RawDataError(_WHERE, column, row, "a list of item ids in every row", "a null")
    wide = lengths > width
    if wide.any():
        row = int(np.flatnonzero(wide)[0])
        raise RawDataError(_WHERE, column, row, f"at most {width} history items "
                           "(the data contract's width)", f"{int(lengths[row])} items")
    flat = pc.list_flatten(array)
    parent = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
    _check_values(flat, parent)
    values = flat.to_numpy(zero_copy_only=False)
    _check_ids(values, parent, spec.num_items)
    values = values.astype(np.int64, copy=False)
    starts = array.offsets.to_numpy()[:-1]
    position = np.arange(len(values)) - starts[parent]  # index inside its list
    out = np.zeros((len(lengths), width), dtype=np.int32)
    out[parent, width - lengths[parent] + position] = values
    check_left_padded(out, _WHERE, column)
    return out


def _check_values(flat: pa.Array, parent: np.ndarray) -> None:
    """Refuse nulls, non-numbers and fractions inside the history lists."""
    column = "item_seq"
    if flat.null_count:
        index = int(np.flatnonzero(pc.is_null(flat).to_numpy(zero_copy_only=False))[0])
        raise RawDataError(_WHERE, column, int(parent[index]), "no null inside a list",
                           "a null")
    kind = flat.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)):
        row = int(parent[0]) if len(parent) else 0
        raise RawDataError(_WHERE, column, row, "lists of integer item ids",
                           f"lists of {kind}")
    if pa.types.is_floating(kind):
        values = flat.to_numpy(zero_copy_only=False)
        bad = ~(np.isfinite(values) & (values == np.round(values)))
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise RawDataError(_WHERE, column, int(parent[index]), "integer item ids",
                               repr(float(values[index])))


def _check_ids(values: np.ndarray, parent: np.ndarray, num_items: int) -> None:
    """Refuse history ids outside the item table ``0..num_items-1`` (before any cast)."""
    bad = (values < 0) | (values >= num_items)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise RawDataError(_WHERE, "item_seq", int(parent[index]),
                           f"item ids of the model's item table in 0..{num_items - 1}",
                           repr(values[index].item()))
