"""The data contract of the row tables, checked on Spark with the in-memory checks' words.

Every Arrow batch of a raw table is checked on the executors by the functions of
:mod:`mmctr.data.contract` themselves (``list_matrix``, ``check_left_padded``,
``int_column``), on runs of rows that are contiguous in the file; each run reports its
first :class:`~mmctr.data.contract.RawDataError` as a small record. The driver keeps the
one the in-memory path would raise first (column by column; for ``item_seq`` chunk by
chunk of ``chunk_rows``; within that, the kind of check, then the row) and raises it with
its row renumbered to the row's position in its file (Spark's ``_metadata.row_index``).
The same defect therefore gives the same message on both paths.

Whole-table checks (an empty table, a missing column, labels of one class, test ``ID``
not 0..N-1) are answered by small aggregates and the same functions.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mmctr.data import contract as memory
from mmctr.data.contract import ROW_COLUMNS, RawDataError

__all__ = ["ROW_INDEX", "SplitSpec", "check_split", "with_row_index"]

ROW_INDEX = "row"  # each row's position in its file (0-based)

# which check raised, in the order the in-memory path runs them (innermost raising frame)
_LIST_STAGES = {"_arrow_lists": 0, "check_no_null_lists": 1, "check_row_lengths": 2,
                "check_no_null_values": 3, "list_matrix": 4, "_check_integral": 5,
                "check_range": 6, "check_finite": 7}
_SCALAR_STAGES = {"check_no_nulls": 0, "int_column": 1, "_check_integral": 2,
                  "check_range": 3, "check_test_ids": 4}
_ERROR_SCHEMA = ("rank int, chunk long, stage int, row long, column string, expected string,"
                 " found string, value long")


@dataclass(frozen=True)
class SplitSpec:
    """What one row table must hold (the arguments of ``mmctr.data.contract.parse_split``)."""

    file: str
    n_items: int
    labelled: bool
    seq_width: int | None
    width_reason: str
    level_max: int | None
    chunk_rows: int
    has_ids: bool = False  # test.parquet with an ID column

    def scalar_checks(self) -> list[tuple[str, dict[str, Any]]]:
        """(column, ``int_column`` bounds) in the in-memory order, after ``item_seq``."""
        target = {"low": 1, "high": self.n_items - 1,
                  "what": "target item ids (item 0 is padding)"}
        levels = {"low": 0, "high": self.level_max, "what": "levels"}
        checks = [("item_id", target), ("likes_level", levels), ("views_level", levels),
                  ("user_id", {})]
        if self.labelled:
            checks.append(("label", {"low": 0, "high": 1, "what": "labels"}))
        return checks


def with_row_index(frame: Any) -> Any:
    """``frame`` (read from one parquet file) with each row's position in it as ``row``."""
    from pyspark.sql import functions as F

    return frame.withColumn(ROW_INDEX, F.col("_metadata.row_index"))


def _stage(exc: BaseException, stages: dict[str, int]) -> int:
    names = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
    return next((stages[n] for n in reversed(names) if n in stages), max(stages.values()))


def _record(exc: RawDataError, rank: int, chunk: int, stage: int, offset: int,
            value: int = 0) -> dict[str, Any]:
    row = offset + (exc.row or 0)
    return {"rank": rank, "chunk": chunk, "stage": stage, "row": row, "column": exc.column,
            "expected": exc.expected, "found": exc.found, "value": value}


def _list_errors(frame: pd.DataFrame, spec: SplitSpec, offset: int) -> list[dict[str, Any]]:
    """``item_seq``'s first defect in this run: the list checks (rank 1), left padding (2)."""
    chunk = offset // spec.chunk_rows
    try:
        seq = memory.list_matrix(frame["item_seq"], spec.file, "item_seq", dtype=np.int32,
                                 width=spec.seq_width, width_reason=spec.width_reason,
                                 chunk_rows=len(frame) or 1, low=0, high=spec.n_items - 1,
                                 what="item ids (rows of item_info)")
    except RawDataError as exc:
        return [_record(exc, 1, chunk, _stage(exc, _LIST_STAGES), offset)]
    try:
        memory.check_left_padded(seq, spec.file, "item_seq")
    except RawDataError as exc:
        return [_record(exc, 2, chunk, 0, offset)]
    return []


def _scalar_errors(frame: pd.DataFrame, spec: SplitSpec, offset: int) -> list[dict[str, Any]]:
    """The first defect of each scalar column in this run (ranks 0 and 3 on)."""
    found = []
    if spec.has_ids:
        found += _id_errors(frame, spec, offset)
    for rank, (column, bounds) in enumerate(spec.scalar_checks(), start=3):
        try:
            memory.int_column(frame, spec.file, column, **bounds)
        except RawDataError as exc:
            found.append(_record(exc, rank, 0, _stage(exc, _SCALAR_STAGES), offset))
    return found


def _id_errors(frame: pd.DataFrame, spec: SplitSpec, offset: int) -> list[dict[str, Any]]:
    try:
        ids = memory.int_column(frame, spec.file, "ID")
    except RawDataError as exc:
        return [_record(exc, 0, 0, _stage(exc, _SCALAR_STAGES), offset)]
    wrong = np.flatnonzero(ids != np.arange(offset, offset + len(ids)))
    if not len(wrong):
        return []
    row = int(wrong[0])
    exc = RawDataError(spec.file, "ID", row, "", "")
    return [_record(exc, 0, 0, _SCALAR_STAGES["check_test_ids"], offset, int(ids[row]))]


def _runs(rows: np.ndarray, chunk_rows: int) -> list[tuple[int, int]]:
    """(start, stop) of the runs of consecutive file rows, cut at chunk boundaries."""
    cuts = np.flatnonzero((np.diff(rows) != 1) | (rows[1:] % chunk_rows == 0)) + 1
    bounds = [0, *cuts.tolist(), len(rows)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def batch_errors(batches: Iterator[pa.RecordBatch], spec: SplitSpec
                 ) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: each run's first defects, as records of ``_ERROR_SCHEMA``."""
    names = [f.split()[0] for f in _ERROR_SCHEMA.split(",")]
    for batch in batches:
        rows = batch.column(ROW_INDEX).to_numpy()
        frame = _as_read(pa.Table.from_batches([batch]).drop([ROW_INDEX])).to_pandas(
            types_mapper=pd.ArrowDtype)
        records = []
        for start, stop in _runs(rows, spec.chunk_rows) if len(rows) else []:
            run = frame.iloc[start:stop].reset_index(drop=True)
            offset = int(rows[start])
            records += _list_errors(run, spec, offset) + _scalar_errors(run, spec, offset)
        yield pa.RecordBatch.from_pylist(records, schema=_arrow_schema(names))


def _as_read(table: pa.Table) -> pa.Table:
    """Strings as ``pd.read_parquet`` gives them (large_string), so types read the same."""
    fields = [pa.field(f.name, pa.large_string()) if pa.types.is_string(f.type) else f
              for f in table.schema]
    return table.cast(pa.schema(fields))


def _arrow_schema(names: list[str]) -> pa.Schema:
    kinds = {"rank": pa.int32(), "chunk": pa.int64(), "stage": pa.int32(), "row": pa.int64(),
             "value": pa.int64()}
    return pa.schema([(n, kinds.get(n, pa.string())) for n in names])


def _raise_first(errors: list[Any], spec: SplitSpec) -> None:
    if not errors:
        return
    first = min(errors, key=lambda e: (e["rank"], e["chunk"], e["stage"], e["row"]))
    if first["column"] == "ID" and first["stage"] == _SCALAR_STAGES["check_test_ids"]:
        ids = np.append(np.arange(first["row"], dtype=np.int64), first["value"])
        memory.check_test_ids(pd.DataFrame({"ID": ids}), spec.file)
    raise RawDataError(spec.file, first["column"], first["row"], first["expected"],
                       first["found"])


def _table_checks(frame: Any, spec: SplitSpec) -> None:
    """An empty table, a missing column: as the in-memory path says them."""
    memory.check_not_empty(pd.DataFrame(index=range(min(frame.limit(1).count(), 1))),
                           spec.file)
    columns = ROW_COLUMNS + (("label",) if spec.labelled else ())
    raw = [c for c in frame.columns if c != ROW_INDEX]
    memory.check_columns(pd.DataFrame(columns=raw), spec.file, columns)


def _aggregates(frame: Any, spec: SplitSpec) -> dict[str, int]:
    """One pass: the level maxima (for the vocabulary) and, labelled, both classes checked."""
    from pyspark.sql import functions as F

    columns = [F.max("likes_level").alias("likes_level"), F.max("views_level").alias("views_level")]
    if spec.labelled:
        columns += [F.min("label").alias("low"), F.max("label").alias("high"),
                    F.count("label").alias("rows")]
    found = frame.agg(*columns).first().asDict()
    if spec.labelled:
        low, high, rows = found["low"], found["high"], found["rows"]
        memory.check_both_classes(np.broadcast_to(np.int64(low), (rows,)) if low == high
                                  else np.array([low, high], dtype=np.int64), spec.file)
    return {"likes_level": int(found["likes_level"] or 0),
            "views_level": int(found["views_level"] or 0)}


def first_width(frame: Any) -> int | None:
    """The ``item_seq`` width of the file's row 0 (``seq_width: null`` takes it)."""
    from pyspark.sql import functions as F

    row = frame.filter(F.col(ROW_INDEX) == 0).select(F.size("item_seq")).first()
    return None if row is None or row[0] is None or row[0] < 0 else int(row[0])


def check_split(frame: Any, spec: SplitSpec) -> dict[str, int]:
    """Check one row table on Spark; nothing is returned unless it passes.

    Args:
        frame: the table with its ``row`` column (:func:`with_row_index`).
        spec: what the table must hold.

    Returns:
        The largest ``likes_level`` and ``views_level`` (counted in the same pass as the
        class check).

    Raises:
        RawDataError: the in-memory path's message for the first defect.
    """
    _table_checks(frame, spec)
    columns = [ROW_INDEX, "item_seq", *(c for c, _ in spec.scalar_checks())]
    columns += ["ID"] if spec.has_ids else []
    errors = frame.select(*columns).mapInArrow(
        lambda batches: batch_errors(batches, spec), _ERROR_SCHEMA).collect()
    _raise_first([e.asDict() for e in errors], spec)
    return _aggregates(frame, spec)
