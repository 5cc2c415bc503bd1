"""Checks on the raw MicroLens_1M_x1 tables (docs/DATA_CONTRACT.md), run before any feature is written.

Each ``check_*`` function is pure, returns nothing and raises :class:`RawDataError`, whose
message names the file, the column, the first offending row (0-based) and what was expected
versus found, e.g.::

    train.parquet, column 'item_seq', row 5: expected 100 items per row (seq_width), found 99

:func:`list_matrix` turns a list column (pandas reads one as an object column of numpy
arrays, or as an Arrow list column) into a 2-D array through Arrow, a chunk of rows at a
time, running the list checks on each chunk; :func:`int_column` does the same for a scalar
integer column. :func:`parse_raw_tables` runs every check on the four tables and returns
them as arrays, so each raw column is converted exactly once.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mmctr.errors import MmctrError

__all__ = [
    "EMBEDDING_MAGNITUDE",
    "ITEM_COLUMNS",
    "MIN_ROWS",
    "MIN_ROWS_PER_CLASS",
    "RAW_FILES",
    "ROW_COLUMNS",
    "RawDataError",
    "check_columns",
    "check_enough_rows",
    "check_both_classes",
    "check_finite",
    "check_item_rows",
    "check_left_padded",
    "check_no_null_lists",
    "check_no_null_values",
    "check_no_nulls",
    "check_not_empty",
    "check_range",
    "check_row_lengths",
    "check_test_ids",
    "check_unique",
    "int_column",
    "list_matrix",
    "parse_item_info",
    "parse_raw_tables",
    "parse_split",
]

logger = logging.getLogger(__name__)

RAW_FILES = {
    "train": "train.parquet",
    "valid": "valid.parquet",
    "test": "test.parquet",
    "item_info": "item_info.parquet",
}
# label is required in train/valid only; in test it may be absent and is never read.
ROW_COLUMNS = ("user_id", "item_seq", "likes_level", "views_level", "item_id")
ITEM_COLUMNS = ("item_id", "item_tags", "item_emb_d128")
DEFAULT_CHUNK_ROWS = 1 << 18  # ~200 MB of int64 values per chunk at width 100
#: the largest magnitude an embedding value may have. Raw BERT and CLIP features lie far
#: inside (|x| of a few tens at most); beyond it squares and sums overflow float32 in the
#: item-embedding recipes and training (docs/DATA_CONTRACT.md)
EMBEDDING_MAGNITUDE = 1e4
#: the least data a run trains and validates on (docs/DATA_CONTRACT.md): rows, and rows
#: of each class (clicks, non-clicks). Far below any real set; below it AUC, early
#: stopping and the model's statistics mean nothing (a 2-row train split scored 0.37)
MIN_ROWS = {"train": 20, "valid": 10}
MIN_ROWS_PER_CLASS = {"train": 5, "valid": 2}


#: the fix every message ends with
CONTRACT_HINT = "fix the file (the data contract: docs/DATA_CONTRACT.md)"


class RawDataError(MmctrError, ValueError):
    """A raw table breaks the data contract (docs/DATA_CONTRACT.md).

    Attributes:
        file: the file's name, e.g. ``"train.parquet"``.
        column: the column, or ``None`` for the whole table.
        row: the first offending row (0-based), or ``None`` when no row applies.
        expected: what the contract asks for.
        found: what the table holds.
    """

    def __init__(
        self, file: str, column: str | None, row: int | None, expected: str, found: str
    ) -> None:
        self.file, self.column, self.row = file, column, row
        self.expected, self.found = expected, found
        where = [file]
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(
            f"{', '.join(where)}: expected {expected}, found {found}; {CONTRACT_HINT}"
        )

    def __reduce__(self) -> tuple:
        """Keep the error picklable (parallel runners) despite the custom ``__init__``."""
        return type(self), (self.file, self.column, self.row, self.expected, self.found)


def _first(mask: np.ndarray) -> int:
    """Index of the first True in a 1-D boolean mask (callers know there is one)."""
    return int(np.argmax(mask))


def _span(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"in {low}..{high}"
    return f">= {low}" if low is not None else f"<= {high}"


# --- whole-table checks ------------------------------------------------------------------


def check_not_empty(frame: pd.DataFrame, file: str) -> None:
    """Refuse a table with no rows."""
    if len(frame) == 0:
        raise RawDataError(
            file, None, None, "at least one row", "an empty table (0 rows)"
        )


def check_columns(frame: pd.DataFrame, file: str, columns: tuple[str, ...]) -> None:
    """Refuse a table that lacks one of ``columns`` (extra columns are ignored)."""
    for column in columns:
        if column not in frame.columns:
            raise RawDataError(
                file,
                column,
                None,
                f"a column '{column}' (required: {list(columns)})",
                f"no such column (columns: {[str(c) for c in frame.columns]})",
            )


# --- value checks (``values`` is 1-D (N,) or 2-D (N, W); ``row_offset`` is the chunk start)


def check_no_nulls(series: pd.Series, file: str, column: str) -> None:
    """Refuse a null (None, NaN, NA) in a scalar column."""
    isna = np.asarray(series.isna())
    if isna.any():
        raise RawDataError(file, column, _first(isna), "a value in every row", "a null")


def check_range(
    values: np.ndarray,
    file: str,
    column: str,
    *,
    low: float | None = None,
    high: float | None = None,
    what: str = "values",
    row_offset: int = 0,
) -> None:
    """Refuse values outside ``low..high`` (either bound may be ``None``).

    Min/max first, so the passing case allocates nothing.
    """
    if values.size == 0:
        return
    if (low is None or values.min() >= low) and (high is None or values.max() <= high):
        return
    bad = np.zeros(values.shape, dtype=bool)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    row = _first(bad.reshape(len(values), -1).any(axis=1))
    value = values[row][bad[row]].flat[0] if values.ndim > 1 else values[row]
    raise RawDataError(
        file,
        column,
        row_offset + row,
        f"{what} {_span(low, high)}",
        repr(value.item()),
    )


def check_finite(
    values: np.ndarray, file: str, column: str, *, row_offset: int = 0
) -> None:
    """Refuse NaN or ±inf."""
    finite = np.isfinite(values)
    if finite.all():
        return
    row = _first(~finite.reshape(len(values), -1).all(axis=1))
    value = values[row][~finite[row]].flat[0] if values.ndim > 1 else values[row]
    raise RawDataError(
        file, column, row_offset + row, "finite float32 values", repr(value.item())
    )


def check_unique(values: np.ndarray, file: str, column: str) -> None:
    """Refuse a value that occurs twice; the offending row is the earliest repeat."""
    order = np.argsort(values, kind="stable")
    repeat = values[order[1:]] == values[order[:-1]]
    if not repeat.any():
        return
    row = int(order[1:][repeat].min())
    first = _first(values == values[row])
    raise RawDataError(
        file,
        column,
        row,
        "unique ids",
        f"{values[row].item()!r} again (first at row {first})",
    )


def check_item_rows(item_ids: np.ndarray, file: str, column: str = "item_id") -> None:
    """Refuse an item table whose row i does not hold item i (row 0 = padding item 0).

    Item ids are therefore dense (0..V-1): sparse or huge ids are refused here, never
    turned into a giant embedding table.
    """
    wrong = item_ids != np.arange(len(item_ids))
    if wrong.any():
        row = _first(wrong)
        raise RawDataError(
            file,
            column,
            row,
            f"item id {row} (row i holds item i)",
            repr(item_ids[row].item()),
        )


def check_left_padded(
    item_seq: np.ndarray, file: str, column: str = "item_seq", *, row_offset: int = 0
) -> None:
    """Refuse a history that is not left-padded: a 0 after an item (right padding, a gap).

    Args:
        item_seq: (N, W) history ids, 0 = padding; valid rows are ``0 … 0 i1 … ik``.
    """
    if item_seq.shape[1] < 2:
        return
    real = item_seq != 0
    gap = real[:, :-1] & ~real[:, 1:]  # (N, W-1): an item followed by a 0
    if not gap.any():
        return
    row = _first(gap.any(axis=1))
    position = _first(gap[row])
    raise RawDataError(
        file,
        column,
        row_offset + row,
        "histories left-padded with 0 (zeros first, then the items, newest last, "
        "no 0 between items)",
        f"item {int(item_seq[row, position])} at position {position} followed by 0 at "
        f"position {position + 1} (right padding or a gap)",
    )


def check_both_classes(labels: np.ndarray, file: str, column: str = "label") -> None:
    """Refuse labels of one class only: AUC, and early stopping on it, need both."""
    if labels.size and labels.min() == labels.max():
        raise RawDataError(
            file,
            column,
            None,
            "both classes (0 and 1): AUC and early stopping need clicks and non-clicks",
            f"only label {labels.flat[0].item():g} in all {labels.size} rows",
        )


def check_enough_rows(
    labels: np.ndarray, file: str, min_rows: int, min_per_class: int, column: str = "label"
) -> None:
    """Refuse a labelled split below the minimum: ``min_rows`` rows, ``min_per_class``
    clicks and as many non-clicks."""
    clicks = int(np.count_nonzero(labels))
    others = int(labels.size) - clicks
    if labels.size >= min_rows and min(clicks, others) >= min_per_class:
        return
    raise RawDataError(
        file,
        column,
        None,
        f"at least {min_rows} rows with at least {min_per_class} clicks and "
        f"{min_per_class} non-clicks (the minimum to train and validate on)",
        f"{labels.size} rows: {clicks} click(s), {others} non-click(s)",
    )


def check_test_ids(frame: pd.DataFrame, file: str, column: str = "ID") -> None:
    """Refuse an ``ID`` column that is not the row number (0..N-1 in row order).

    ``prediction.csv`` numbers the test rows 0..N-1 in file order; an ``ID`` column that
    says otherwise would make the submission misaligned with its rows.
    """
    if column not in frame.columns:
        return
    ids = int_column(frame, file, column)
    wrong = ids != np.arange(len(ids))
    if wrong.any():
        row = _first(wrong)
        raise RawDataError(
            file,
            column,
            row,
            "IDs 0..N-1 in row order (prediction.csv numbers the test rows that way: "
            "sort the file by ID, or drop the column)",
            f"{ids[row].item()!r} where {row} belongs",
        )


def check_row_lengths(
    lengths: np.ndarray,
    file: str,
    column: str,
    expected: int,
    reason: str,
    *,
    row_offset: int = 0,
) -> None:
    """Refuse a list whose length differs from ``expected`` (ragged or wrong width)."""
    wrong = lengths != expected
    if wrong.any():
        row = _first(wrong)
        raise RawDataError(
            file,
            column,
            row_offset + row,
            f"{expected} items per row ({reason})",
            f"{int(lengths[row])} items",
        )


def check_no_null_lists(
    array: pa.Array | pa.ChunkedArray, file: str, column: str, *, row_offset: int = 0
) -> None:
    """Refuse a null in place of a list."""
    if array.null_count:
        row = _first(pc.is_null(array).to_numpy(zero_copy_only=False))
        raise RawDataError(
            file, column, row_offset + row, "a list in every row", "a null"
        )


def check_no_null_values(
    flat: pa.Array | pa.ChunkedArray,
    width: int,
    file: str,
    column: str,
    *,
    row_offset: int = 0,
) -> None:
    """Refuse a null inside a list; ``flat`` holds the lists' values, ``width`` per row."""
    if flat.null_count:
        index = _first(pc.is_null(flat).to_numpy(zero_copy_only=False))
        raise RawDataError(
            file,
            column,
            row_offset + index // width,
            "no null inside a list",
            f"a null at position {index % width}",
        )


# --- conversions that check as they go ------------------------------------------------


def _wrong_type(
    file: str,
    column: str,
    series: pd.Series,
    row: int,
    row_offset: int,
    expected: str,
    found: str,
) -> RawDataError:
    """A type error at ``series``' local ``row``, quoting the value found there."""
    value = series.iloc[row]
    if isinstance(value, np.generic):
        value = value.item()
    return RawDataError(
        file,
        column,
        row_offset + row,
        expected,
        f"{found} (value {value!r})",
    )


def _is_number_list(value: Any) -> bool:
    """Whether one cell holds a 1-D list of numbers (``None`` is left to the null check)."""
    if value is None:
        return True
    if not isinstance(value, list | tuple | np.ndarray):
        return False
    array = np.asarray(value)
    return array.ndim == 1 and (array.size == 0 or array.dtype.kind in "iuf")


def _check_integral(
    values: np.ndarray, file: str, column: str, row_offset: int = 0
) -> None:
    """Refuse float values that are not whole numbers (floats are fine if they are)."""
    whole = np.isfinite(values) & (values == np.round(values))
    if not whole.all():
        row = _first(~whole.reshape(len(values), -1).all(axis=1))
        value = values[row][~whole[row]].flat[0] if values.ndim > 1 else values[row]
        raise RawDataError(
            file, column, row_offset + row, "integer values", f"{value.item()!r}"
        )


def int_column(
    frame: pd.DataFrame,
    file: str,
    column: str,
    *,
    low: int | None = None,
    high: int | None = None,
    what: str = "values",
) -> np.ndarray:
    """A scalar integer column as int64 (N,), after checking nulls, type and range.

    Integer columns pass; float columns pass when every value is a whole number (labels may
    be stored as 0.0/1.0); anything else (strings, booleans, lists) is refused.
    """
    series = frame[column]
    check_no_nulls(series, file, column)
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy(dtype=np.int64)
    elif pd.api.types.is_float_dtype(dtype):
        floats = series.to_numpy(dtype=np.float64)
        _check_integral(floats, file, column)
        check_range(
            floats,
            file,
            column,
            low=np.iinfo(np.int64).min,
            high=np.iinfo(np.int64).max,
        )
        values = floats.astype(np.int64)
    else:
        raise _wrong_type(
            file, column, series, 0, 0, "an integer column", f"dtype {dtype}"
        )
    check_range(values, file, column, low=low, high=high, what=what)
    return values


def _arrow_lists(
    series: pd.Series, file: str, column: str, row_offset: int
) -> pa.Array | pa.ChunkedArray:
    """The chunk ``series`` as an Arrow list array; refuse a column that holds no lists."""
    expected = "a list of numbers in every row"
    if isinstance(series.dtype, pd.ArrowDtype):
        array = pa.array(series.array)  # zero-copy: the column already is Arrow
    elif series.dtype == object:
        try:
            # from_pandas=False keeps NaN inside float lists as NaN (not null)
            array = pa.array(series.to_numpy(), from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            # the failure path only: find the first cell that is not a list of numbers
            cells = series.to_numpy()
            row = next((i for i, v in enumerate(cells) if not _is_number_list(v)), 0)
            found = type(cells[row]).__name__
            raise _wrong_type(
                file, column, series, row, row_offset, expected, found
            ) from None
    else:
        found = f"dtype {series.dtype}"
        raise _wrong_type(file, column, series, 0, row_offset, expected, found)
    kind = array.type
    if pa.types.is_null(kind):  # every cell null
        check_no_null_lists(array, file, column, row_offset=row_offset)
    if not (
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
    ):
        row = _first(~pc.is_null(array).to_numpy(zero_copy_only=False))
        raise _wrong_type(
            file, column, series, row, row_offset, expected, f"{kind} values"
        )
    return array


def list_matrix(
    series: pd.Series,
    file: str,
    column: str,
    *,
    dtype: type[np.generic],
    width: int | None = None,
    width_reason: str = "",
    low: float | None = None,
    high: float | None = None,
    what: str = "values",
    finite: bool = False,
    magnitude: float | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> np.ndarray:
    """A fixed-width list column as a 2-D array ``(N, width)`` of ``dtype``, checked.

    Vectorised through Arrow (values buffer + list lengths), ``chunk_rows`` rows at a time so
    only one chunk of int64 values lives beside the output. Refuses: a column that is not a
    list column, a null list, a list whose length is not ``width`` (``None``: the length of
    row 0, i.e. ragged lists), a null inside a list, values of the wrong kind (integer
    ``dtype``: integers or whole floats; float ``dtype``: any number), values outside
    ``low..high`` (and outside ``dtype``'s range), non-finite values when ``finite`` and
    values with ``|x| > magnitude`` when ``magnitude`` is given.

    Args:
        series: the column, as read by pandas.
        file, column: named in error messages.
        dtype: the output dtype (e.g. ``np.int32``, ``np.float32``).
        width: the expected list length, or ``None`` to take row 0's.
        width_reason: why ``width`` is expected (shown in the message).
        low, high, what: the allowed value range and its name in the message.
        finite: refuse NaN/inf (checked before and after the cast to ``dtype``).
        magnitude: the largest allowed ``|x|`` (``None``: no bound), e.g.
            :data:`EMBEDDING_MAGNITUDE`.
        chunk_rows: rows converted at a time.

    Returns:
        ``(N, width)`` array of ``dtype``.
    """
    integer = np.issubdtype(dtype, np.integer)
    bounds = (
        np.iinfo(dtype) if integer else None
    )  # what fits without wrapping in the cast
    n = len(series)
    out: np.ndarray | None = None
    for start in range(0, n, chunk_rows):
        chunk = series.iloc[start : start + chunk_rows]
        array = _arrow_lists(chunk, file, column, start)
        check_no_null_lists(array, file, column, row_offset=start)
        lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
        if width is None:
            width, width_reason = int(lengths[0]), "as in row 0"
        check_row_lengths(lengths, file, column, width, width_reason, row_offset=start)
        flat = pc.list_flatten(array)
        check_no_null_values(flat, width, file, column, row_offset=start)
        value_type = flat.type
        numeric = pa.types.is_integer(value_type) or pa.types.is_floating(value_type)
        if not (numeric or pa.types.is_null(value_type)):
            row = _first(lengths > 0)
            kind = "integers" if integer else "numbers"
            raise RawDataError(
                file, column, start + row, f"lists of {kind}", f"lists of {value_type}"
            )
        values = flat.to_numpy(zero_copy_only=False).reshape(len(chunk), width)
        if integer and values.dtype.kind == "f":
            _check_integral(values, file, column, row_offset=start)
        if finite:  # before the range checks: NaN compares false with every bound
            check_finite(values, file, column, row_offset=start)
        check_range(
            values, file, column, low=low, high=high, what=what, row_offset=start
        )
        _check_bounds(values, file, column, bounds, magnitude, row_offset=start)
        if out is None:
            out = np.empty((n, width), dtype=dtype)
        out[start : start + len(chunk)] = values
        if finite:
            check_finite(
                out[start : start + len(chunk)], file, column, row_offset=start
            )
    if out is None:
        out = np.empty((0, width or 0), dtype=dtype)
    return out


def _check_bounds(
    values: np.ndarray,
    file: str,
    column: str,
    bounds: np.iinfo | None,
    magnitude: float | None,
    *,
    row_offset: int,
) -> None:
    """Refuse integers that do not fit ``bounds`` and values with ``|x| > magnitude``."""
    if bounds is not None:
        check_range(
            values,
            file,
            column,
            low=bounds.min,
            high=bounds.max,
            what=f"values that fit in {bounds.dtype.name}",
            row_offset=row_offset,
        )
    if magnitude is not None:
        check_range(
            values,
            file,
            column,
            low=-magnitude,
            high=magnitude,
            what="embedding values",
            row_offset=row_offset,
        )


# --- the tables --------------------------------------------------------------------------


def parse_item_info(
    item_info: pd.DataFrame,
    *,
    tags_width: int = 5,
    emb_dim: int = 128,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> dict[str, np.ndarray]:
    """Check ``item_info.parquet`` and return its columns as arrays.

    Refuses: an empty table, a missing column, non-integer or duplicate item ids, row i not
    holding item i, tags of the wrong width or negative, embeddings of the wrong width,
    not finite or beyond :data:`EMBEDDING_MAGNITUDE`, nulls anywhere.

    Returns:
        ``item_tags`` int32 (V, tags_width), ``item_emb`` float32 (V, emb_dim).
    """
    file = RAW_FILES["item_info"]
    check_not_empty(item_info, file)
    check_columns(item_info, file, ITEM_COLUMNS)
    item_ids = int_column(item_info, file, "item_id", low=0, what="item ids")
    check_unique(item_ids, file, "item_id")
    check_item_rows(item_ids, file)
    return {
        "item_tags": list_matrix(
            item_info["item_tags"],
            file,
            "item_tags",
            dtype=np.int32,
            width=tags_width,
            width_reason="tags_width",
            low=0,
            what="tag ids",
            chunk_rows=chunk_rows,
        ),
        "item_emb": list_matrix(
            item_info["item_emb_d128"],
            file,
            "item_emb_d128",
            dtype=np.float32,
            width=emb_dim,
            width_reason="emb_dim",
            finite=True,
            magnitude=EMBEDDING_MAGNITUDE,
            chunk_rows=chunk_rows,
        ),
    }


def parse_split(
    frame: pd.DataFrame,
    file: str,
    *,
    n_items: int,
    labelled: bool,
    seq_width: int | None = 100,
    width_reason: str = "seq_width",
    level_max: int | None = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> dict[str, np.ndarray]:
    """Check one of train/valid/test and return its columns as arrays.

    Refuses: an empty table, a missing column, a wrong type, nulls, ragged or wrong-width
    histories, histories not left-padded (a 0 after an item), item ids outside the item
    table (a target may not be the padding item 0), levels outside ``0..level_max``,
    labels other than 0/1 or of one class only, and in test an ``ID`` column that is not
    0..N-1 in row order. Other extra columns are ignored.

    Args:
        frame: the raw table.
        file: its file name (for messages).
        n_items: ``len(item_info)``; item ids must lie in ``0..n_items-1``.
        labelled: whether ``label`` is required and read (never for test).
        seq_width: the expected ``item_seq`` width, ``None`` for row 0's.
        width_reason: why that width (shown in the message).
        level_max: the largest allowed likes/views level, ``None`` for no bound.
        chunk_rows: rows of ``item_seq`` converted at a time.

    Returns:
        ``item_seq`` int32 (N, width); ``item_id``, ``likes_level``, ``views_level`` int32
        (N,); ``user_id`` int64 (N,); ``label`` float32 (N,) when ``labelled``.
    """
    check_not_empty(frame, file)
    check_columns(frame, file, ROW_COLUMNS + (("label",) if labelled else ()))
    if not labelled:
        check_test_ids(frame, file)
    item_range = {"low": 0, "high": n_items - 1, "what": "item ids (rows of item_info)"}
    item_seq = list_matrix(
        frame["item_seq"],
        file,
        "item_seq",
        dtype=np.int32,
        width=seq_width,
        width_reason=width_reason,
        chunk_rows=chunk_rows,
        **item_range,
    )
    for start in range(0, len(item_seq), chunk_rows):
        check_left_padded(
            item_seq[start : start + chunk_rows], file, "item_seq", row_offset=start
        )
    target_range = {
        "low": 1,
        "high": n_items - 1,
        "what": "target item ids (item 0 is padding)",
    }
    parsed = {
        "item_seq": item_seq,
        "item_id": int_column(frame, file, "item_id", **target_range).astype(np.int32),
        **{
            name: int_column(
                frame, file, name, low=0, high=level_max, what="levels"
            ).astype(np.int32)
            for name in ("likes_level", "views_level")
        },
        "user_id": int_column(frame, file, "user_id"),
    }
    if labelled:
        labels = int_column(frame, file, "label", low=0, high=1, what="labels")
        check_both_classes(labels, file)
        parsed["label"] = labels.astype(np.float32)
    return parsed


def parse_raw_tables(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    test: pd.DataFrame,
    item_info: pd.DataFrame,
    *,
    seq_width: int | None = 100,
    tags_width: int = 5,
    emb_dim: int = 128,
    level_max: int | None = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> dict[str, dict[str, np.ndarray]]:
    """Check all four raw tables, each converted once, and return them as arrays.

    item_info is checked first (its length bounds every item id), then train, valid,
    test; valid and test histories must be exactly as wide as train's; train and valid
    must hold :data:`MIN_ROWS` rows and :data:`MIN_ROWS_PER_CLASS` of each class.
    Nothing is returned unless every table passes.

    Returns:
        ``{"train", "valid", "test"}`` → :func:`parse_split` output (test never has
        ``label``), ``"item_info"`` → :func:`parse_item_info` output.

    Raises:
        RawDataError: at the first breach of the contract.
    """
    parsed = {
        "item_info": parse_item_info(
            item_info, tags_width=tags_width, emb_dim=emb_dim, chunk_rows=chunk_rows
        )
    }
    n_items = len(parsed["item_info"]["item_tags"])
    width, reason = seq_width, "seq_width"
    for split, frame in (("train", train), ("valid", valid), ("test", test)):
        parsed[split] = parse_split(
            frame,
            RAW_FILES[split],
            n_items=n_items,
            labelled=split != "test",
            seq_width=width,
            width_reason=reason,
            level_max=level_max,
            chunk_rows=chunk_rows,
        )
        if split == "train":  # test histories of a different width than train: refused
            width, reason = parsed["train"]["item_seq"].shape[1], "as in train.parquet"
    for split in ("train", "valid"):  # after every other check: theirs come first
        check_enough_rows(parsed[split]["label"], RAW_FILES[split], MIN_ROWS[split],
                          MIN_ROWS_PER_CLASS[split])
    logger.info(
        "Raw tables pass every check: %s rows, %d items, history width %d",
        {split: len(parsed[split]["item_id"]) for split in ("train", "valid", "test")},
        n_items,
        width,
    )
    return parsed
