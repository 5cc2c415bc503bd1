"""semantic_similarity's per-row work on Spark, through the numpy kernels themselves.

Item popularity is counted per feature shard. The per-row similarity runs in Spark tasks
over the feature shards: each batch
of a split becomes numpy arrays and goes through
:func:`mmctr.data.kernels.history_similarity` and :func:`~mmctr.data.kernels.row_statistics`
on the executor, with the item table broadcast once per executor; with the collaborative
tables, :func:`~mmctr.data.kernels.collab_stats` too (its tables prepared once per Python
worker). There is no second implementation of any statistic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmctr.data.kernels import (
    collab_stats,
    history_similarity,
    prepare_collab,
    row_statistics,
)
from mmctr.data.shards import ShardedRows, arrays_table, table_arrays
from mmctr.engine.batching import item_occurrences
from mmctr.spark.session import active_session
from mmctr.spark.shards import ShardTasks, map_shards

__all__ = ["item_popularity", "similarity_batches", "split_similarity"]

#: prepared collaborative tables per broadcast, kept by each Python worker across tasks
_PREPARED: dict[str, dict[str, Any]] = {}


def item_popularity(train: ShardedRows, num_items: int) -> dict[str, np.ndarray]:
    """Train counts per item, as ``item_occurrences``: as the target, inside histories;
    one Spark task per feature shard counts it with
    :func:`mmctr.engine.batching.item_occurrences`, the counts are summed.

    Returns:
        ``{"target_count", "history_count"}``: float32 (V,) each; entry 0 is 0.
    """
    def count(job: tuple[int, str]) -> tuple[np.ndarray, np.ndarray]:
        rows = table_arrays(pq.read_table(job[1], columns=["item_id", "item_seq"]))
        return item_occurrences(rows["item_id"], rows["item_seq"], num_items)

    parts = map_shards(active_session(), train.files, count)
    target = sum((p[0] for p in parts), np.zeros(num_items, dtype=np.int64))
    history = sum((p[1] for p in parts), np.zeros(num_items, dtype=np.int64))
    return {"target_count": target.astype(np.float32),
            "history_count": history.astype(np.float32)}


def similarity_batches(batches: Iterator[pa.RecordBatch], tables: Mapping[str, Any],
                       threshold: float, chunk: int, collab: Mapping[str, Any] | None = None
                       ) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: each batch's features plus ``hist_sim``, ``sim_stats``,
    ``row_stats`` (and ``collab_stats`` with ``collab``, :func:`prepare_collab`'s tables)
    from the numpy kernels (on this executor's CPU, one thread)."""
    import torch

    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    for batch in batches:
        rows = table_arrays(pa.Table.from_batches([batch]))
        seq, target = rows["item_seq"].reshape(len(rows["item_id"]), -1), rows["item_id"]
        hist_sim, sim_stats = history_similarity(seq, target, tables["emb"], threshold,
                                                 chunk, cpu)
        stats = row_statistics(seq, target, tables["emb"], tables["tags"], hist_sim,
                               tables["popularity"], chunk, cpu)
        out = {**rows, "item_seq": seq, "hist_sim": hist_sim, "sim_stats": sim_stats,
               "row_stats": stats}
        if collab is not None:
            out["collab_stats"] = collab_stats(seq, target, collab, threshold, chunk, cpu)
        yield from arrays_table(out, fixed_size=False).to_batches()


def split_similarity(source: ShardedRows, item_emb: np.ndarray, item_tags: np.ndarray,
                     popularity: Mapping[str, np.ndarray], threshold: float, chunk: int,
                     item_collab: Mapping[str, np.ndarray] | None = None) -> Any:
    """One split's model-input rows with their similarity columns, written when saved.

    Args:
        source: the split's feature shards: one Spark task per shard reads it with pyarrow
            (:class:`~mmctr.spark.shards.ShardTasks`).
        item_emb: L2-normalised float32 (V, D); row 0 zero.
        item_tags: int (V, K).
        popularity: :func:`item_popularity`'s counts.
        threshold, chunk: ``params:semantic_similarity``'s.
        item_collab: the collaborative stage's tables; adds ``collab_stats``.

    Returns:
        A lazy writer of the shards (``write_shards(folder)``; the catalog's
        ``ShardedDataset`` calls it).
    """
    spark = active_session()
    tables = spark.sparkContext.broadcast({
        "emb": np.ascontiguousarray(item_emb, dtype=np.float32),
        "tags": np.asarray(item_tags),
        "popularity": np.stack([popularity["target_count"], popularity["history_count"]], 1)})
    collab = None if item_collab is None else spark.sparkContext.broadcast(
        {k: np.asarray(item_collab[k]) for k in ("factors", "has_factor", "link_ids", "link_pmi")
         if k in item_collab})
    key = uuid.uuid4().hex  # names this broadcast in the workers' cache

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        prepared = None
        if collab is not None:
            if key not in _PREPARED:
                _PREPARED.clear()  # one run's tables at a time
                _PREPARED[key] = prepare_collab(collab.value)
            prepared = _PREPARED[key]
        yield from similarity_batches(batches, tables.value, threshold, chunk, prepared)

    batch = int(spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch", "10000"))
    return ShardTasks(spark, source.files, run, batch)
