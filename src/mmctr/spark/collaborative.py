"""The collaborative stage's row work on Spark: baskets from the rows, links per item block.

The in-memory recipe (:mod:`mmctr.data.collaborative`) in three steps:

1. **baskets** (Spark SQL over the rows): the newest ``window`` history items of every train
   row, one basket per user (``by_user``) or per row (identical row baskets once with
   ``dedupe``); each (basket, item) pair once. Beyond ``pair_budget`` (Σ basket size²) a
   seeded share of the baskets is kept, chosen by a hash of the basket key (the in-memory
   path draws its own share: the two agree whenever the budget holds);
2. the (basket, item) pairs reach the driver as the baskets × items matrix: its size is
   bounded by ``pair_budget``, whatever the number of rows;
3. **links per block of items** (Spark tasks): the matrix is broadcast, and each task makes
   its items' rows of the co-occurrence, their PMI and their best links with
   :func:`mmctr.data.collaborative.block_links`, the function the in-memory stage runs
   block after block. Only (items, links) tables come back.

The driver then makes the factors from the links exactly as the in-memory stage does
(:func:`mmctr.data.collaborative.factors_from_links`), so both paths give the same
``item_collab``. Optionally the factors are MLlib ALS's instead (:mod:`mmctr.spark.factors`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from scipy import sparse

from mmctr.data.collaborative import (
    FactorSettings,
    block_links,
    collab_of_baskets,
    cooccurrence_totals,
    item_blocks,
)
from mmctr.data.collaborative_report import coverage_counts as shard_coverage
from mmctr.data.shards import ShardedRows, table_arrays
from mmctr.spark.session import active_session
from mmctr.spark.shards import map_shards

__all__ = ["basket_items", "basket_matrix", "coverage_counts", "item_collab", "links"]

logger = logging.getLogger(__name__)


def basket_items(train: Any, cfg: FactorSettings) -> Any:
    """``(basket long, item int)``: each basket's distinct items (module doc, step 1)."""
    return _within_budget(_basket_pairs(train, cfg), cfg)


def _basket_pairs(train: Any, cfg: FactorSettings) -> Any:
    """Every basket's distinct items, before the budget."""
    from pyspark.sql import functions as F

    window = F.expr(f"slice(item_seq, greatest(size(item_seq) - {cfg.window - 1}, 1), "
                    f"{cfg.window})")
    rows = train.select("user_id", window.alias("items"), "row")
    rows = rows.where(F.exists("items", lambda x: x != 0))
    if cfg.by_user:
        key = F.col("user_id")
    elif cfg.dedupe:  # identical row baskets once: the window's values are the key
        rows = rows.dropDuplicates(["items"])
        key = F.xxhash64("items")
    else:
        key = F.col("row")
    pairs = rows.select(key.cast("long").alias("basket"),
                        F.explode(F.filter("items", lambda x: x != 0)).alias("item"))
    return pairs.distinct()


def _within_budget(pairs: Any, cfg: FactorSettings) -> Any:
    """A seeded share of the baskets when Σ size² exceeds ``cfg.pair_budget`` (logged)."""
    from pyspark.sql import functions as F

    sizes = pairs.groupBy("basket").count()
    work, baskets = sizes.agg(F.sum(F.col("count") * F.col("count")), F.count("*")).first()
    work = float(work or 0.0)
    if work <= cfg.pair_budget:
        return pairs
    share = cfg.pair_budget / work
    # a uniform draw in [0, 1) per basket from a hash of its key and the seed
    draw = F.pmod(F.xxhash64("basket", F.lit(cfg.seed)), F.lit(1 << 53)) / F.lit(float(1 << 53))
    logger.warning("collaborative: %.2e pair products exceed pair_budget %.2e: using a random "
                   "%.0f%% of the %d baskets", work, cfg.pair_budget, 100 * share, baskets)
    return pairs.where(draw < share)


def basket_matrix(pairs: Any, num_items: int) -> sparse.csr_matrix:
    """The (basket, item) pairs as the binary baskets × items CSR matrix, on the driver.

    Its size is bounded by ``pair_budget`` (Σ basket size² ≥ its entries), not by the rows.
    Baskets are numbered in the order of their keys.
    """
    table = pairs.toArrow()
    if table is None or not table.num_rows:
        return sparse.csr_matrix((0, num_items), dtype=np.float32)
    keys, items = table.column("basket").to_numpy(), table.column("item").to_numpy()
    _, basket = np.unique(keys, return_inverse=True)
    return sparse.csr_matrix((np.ones(len(items), dtype=np.float32), (basket, items)),
                             shape=(int(basket.max()) + 1, num_items))


def links(spark: Any, baskets: sparse.csr_matrix, cfg: FactorSettings
          ) -> tuple[np.ndarray, np.ndarray, int]:
    """Every item's links, one block of items per Spark task (module doc, steps 2-3).

    The baskets are broadcast; each task makes its items' rows of the co-occurrence and
    their links with :func:`mmctr.data.collaborative.block_links`, the in-memory stage's
    own function, and returns only those (V_block, links) tables.
    """
    num_items = baskets.shape[1]
    if not baskets.nnz:
        return (np.zeros((num_items, cfg.links), np.int32),
                np.zeros((num_items, cfg.links), np.float32), 0)
    context = spark.sparkContext
    blocks = item_blocks(baskets, cfg.block_pairs, at_least=context.defaultParallelism)
    shared = context.broadcast((baskets, cooccurrence_totals(baskets)))

    def run(block: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray, int]:
        matrix, count = shared.value
        return (block[0], *block_links(matrix, matrix.tocsc(), count, *block, cfg))

    parts = sorted(context.parallelize(blocks, len(blocks)).map(run).collect(),
                   key=lambda part: part[0])
    shared.unpersist()
    return (np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
            sum(p[3] for p in parts))


def item_collab(train: Any, num_items: int, cfg: FactorSettings
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The collaborative stage's ``item_collab`` and facts, the row work on Spark.

    Args:
        train: the train split's features (a Spark DataFrame with ``row``, ``item_seq``,
            ``user_id``); labels and targets are not read.
        num_items: the vocabulary size V.
        cfg: the factor settings (``params:collaborative``).

    Returns:
        As :func:`mmctr.data.collaborative.item_factors`.
    """
    start = time.perf_counter()
    pairs = _basket_pairs(train, cfg).cache()  # read twice: the budget's sizes, then kept
    baskets = basket_matrix(_within_budget(pairs, cfg), num_items)
    pairs.unpersist()
    spark = train.sparkSession
    return collab_of_baskets(baskets, cfg, lambda matrix, settings: links(spark, matrix, settings),
                             time.perf_counter() - start)


def coverage_counts(rows: ShardedRows, has_factor: np.ndarray) -> tuple[int, int, int, int]:
    """One split's :func:`mmctr.data.collaborative_report.coverage_counts`, one Spark task
    per shard (read with pyarrow), summed."""
    def count(job: tuple[int, str]) -> tuple[int, int, int, int]:
        found = table_arrays(pq.read_table(job[1], columns=["item_id", "item_seq"]))
        return shard_coverage(found["item_id"], found["item_seq"], has_factor)

    parts = map_shards(active_session(), rows.files, count)
    return tuple(int(sum(part[i] for part in parts)) for i in range(4))
