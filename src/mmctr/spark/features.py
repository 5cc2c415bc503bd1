"""feature_engineering's row work on Spark: cut histories, cast, profile (no collect).

Each split stays a Spark DataFrame from the raw file to its shards; only aggregates
(level maxima, history-length counts, distinct counts) reach the driver. The columns and
dtypes are those of ``docs/ARCHITECTURE.md`` §2, plus ``row``, the row's position in its
raw file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmctr.spark.contract import ROW_INDEX

__all__ = ["history_lengths", "percentile_from_counts", "split_features",
           "split_profile"]


def split_features(frame: Any, width: int, max_len: int, labelled: bool) -> Any:
    """One split's model inputs (a Spark DataFrame, lazy).

    Args:
        frame: the checked raw table with its ``row`` column.
        width: its ``item_seq`` width.
        max_len: history kept: the newest ``max_len`` items, left-padded with 0.
        labelled: keep ``label`` (never for test).

    Returns:
        ``row`` long, ``item_seq`` array<int> (max_len), ``item_id``, ``likes_level``,
        ``views_level`` int, ``user_id`` long, ``label`` float when labelled.
    """
    from pyspark.sql import functions as F

    seq = F.col("item_seq")
    if width >= max_len:
        seq = F.slice(seq, width - max_len + 1, max_len)
    else:
        seq = F.concat(F.array_repeat(F.lit(0).cast("long"), max_len - width), seq)
    columns = [F.col(ROW_INDEX).cast("long").alias(ROW_INDEX),
               seq.cast("array<int>").alias("item_seq"),
               *(F.col(c).cast("int").alias(c) for c in ("item_id", "likes_level", "views_level")),
               F.col("user_id").cast("long").alias("user_id")]
    if labelled:
        columns.append(F.col("label").cast("float").alias("label"))
    return frame.select(*columns)


def history_lengths(frame: Any) -> dict[int, int]:
    """How many rows have each history length (non-padding items of ``item_seq``)."""
    from pyspark.sql import functions as F

    length = F.size(F.filter("item_seq", lambda x: x != 0)).alias("length")
    return {int(r["length"]): int(r["count"]) for r in frame.groupBy(length).count().collect()}


def percentile_from_counts(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """``np.percentile(np.repeat(values, counts), q)`` (linear) without the repeat."""
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum(counts[order])
    position = q / 100 * (cumulative[-1] - 1)
    low, high = int(np.floor(position)), int(np.ceil(position))
    at = lambda i: values[np.searchsorted(cumulative, i, side="right")]  # noqa: E731
    return float(at(low) + (at(high) - at(low)) * (position - low))


def split_profile(frame: Any, lengths: Mapping[int, int], labelled: bool) -> dict[str, Any]:
    """The in-memory profile's numbers for one split, from Spark aggregates."""
    from pyspark.sql import functions as F

    values = np.array(sorted(lengths), dtype=np.int64)
    counts = np.array([lengths[v] for v in values], dtype=np.int64)
    rows = int(counts.sum())
    aggregates = [F.countDistinct("user_id"), F.countDistinct("item_id")]
    if labelled:
        aggregates.append(F.avg("label"))
    stats = frame.agg(*aggregates).first()
    profile: dict[str, Any] = {"rows": rows}
    if labelled:
        profile["click_rate"] = float(stats[2])
    profile["history_length"] = {
        "mean": float((values * counts).sum() / rows),
        "median": percentile_from_counts(values, counts, 50),
        "p90": percentile_from_counts(values, counts, 90),
        "max": int(values.max()),
    }
    profile["empty_history_share"] = float(lengths.get(0, 0) / rows)
    profile["users"], profile["target_items"] = int(stats[0]), int(stats[1])
    return profile


def cold_targets(frame: Any, train: Any) -> dict[str, Any]:
    """Targets never a train target: distinct items and share of the split's rows."""
    cold = frame.join(train.select("item_id").distinct(), "item_id", "left_anti")
    rows = frame.count()
    return {"cold_target_items": cold.select("item_id").distinct().count(),
            "cold_target_row_share": float(cold.count() / rows) if rows else 0.0}
