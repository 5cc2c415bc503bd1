"""The collaborative stage's row work on Spark: baskets, pair counts, PMI links.

The in-memory recipe (:mod:`mmctr.data.collaborative`) in three Spark steps, whose only
results that reach the driver are per item:

1. **baskets**: the newest ``window`` history items of every train row, one basket per
   user (``by_user``) or per row (identical row baskets once with ``dedupe``); each
   (basket, item) pair once. Beyond ``pair_budget`` (Σ basket size²) a seeded share of
   the baskets is kept, chosen by a hash of the basket key (the in-memory path draws its
   own share: the two agree whenever the budget holds);
2. **pairs**: every ordered pair of distinct items of a basket, counted over baskets
   (``C_ij``, the co-occurrence matrix without its diagonal), and per item its total
   ``Σ_j C_ij``;
3. **links**: the PMI of every pair with ``C_ij ≥ min_pairs``, computed by
   :func:`mmctr.data.collaborative.pmi_values`' formula in numpy on the executors
   (``mapInArrow``), and each item's ``links`` best (most shared baskets, then PMI).

The driver then makes the factors from the links exactly as the in-memory stage does
(:func:`mmctr.data.collaborative.factors_from_links`), so both paths give the same
``item_collab`` (integers exactly, floats within rounding). Optionally the factors are
MLlib ALS's instead (:mod:`mmctr.spark.factors`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from mmctr.data.collaborative import FactorSettings, factors_from_links

__all__ = ["basket_items", "coverage_counts", "item_collab", "item_links", "pair_counts"]

logger = logging.getLogger(__name__)


def basket_items(train: Any, cfg: FactorSettings) -> Any:
    """``(basket long, item int)``: each basket's distinct items (module doc, step 1)."""
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
    return _within_budget(pairs.distinct(), cfg)


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


def pair_counts(pairs: Any) -> Any:
    """``(i int, j int, c long)``: baskets holding both items, for every ordered pair i ≠ j."""
    from pyspark.sql import functions as F

    baskets = pairs.groupBy("basket").agg(F.collect_list("item").alias("items"))
    ordered = (baskets.select(F.explode("items").alias("i"), "items")
               .select("i", F.explode("items").alias("j")).where(F.col("i") != F.col("j")))
    return ordered.groupBy("i", "j").agg(F.count("*").alias("c"))


def _pmi_batches(batches: Iterator[pa.RecordBatch], count: np.ndarray, context: np.ndarray,
                 total: float) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: each pair's PMI, the in-memory formula in float64 numpy."""
    for batch in batches:
        i = batch.column("i").to_numpy()
        j = batch.column("j").to_numpy()
        c = batch.column("c").to_numpy().astype(np.float64)
        pmi = np.log(c * total / (count[i] * context[j]))
        yield pa.RecordBatch.from_arrays([pa.array(i), pa.array(j), pa.array(c), pa.array(pmi)],
                                         names=["i", "j", "c", "pmi"])


def item_links(counts: Any, num_items: int, cfg: FactorSettings
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """Each item's ``links`` most co-consumed items (module doc, step 3).

    Args:
        counts: :func:`pair_counts`' DataFrame.
        num_items: the vocabulary size V.
        cfg: the factor settings (``smoothing``, ``min_pairs``, ``links``).

    Returns:
        ``(ids, pmi, positive)``: int32 (V, links) (0 = none), float32 (V, links), best
        first, as :func:`mmctr.data.collaborative.item_links`; and how many pairs have a
        positive PMI.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    count = np.zeros(num_items, dtype=np.float64)
    for row in counts.groupBy("i").agg(F.sum("c").alias("n")).collect():
        count[row["i"]] = row["n"]
    ids = np.zeros((num_items, cfg.links), dtype=np.int32)
    values = np.zeros((num_items, cfg.links), dtype=np.float32)
    if count.sum() == 0:
        return ids, values, 0
    context = count**cfg.smoothing
    total = float(context.sum())
    tables = counts.sparkSession.sparkContext.broadcast((count, context, total))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from _pmi_batches(batches, *tables.value)

    pmi = counts.mapInArrow(run, "i int, j int, c double, pmi double").where(F.col("pmi") > 0)
    positive = pmi.count()
    best = Window.partitionBy("i").orderBy(F.col("c").desc(), F.col("pmi").desc(), F.col("j"))
    kept = (pmi.where(F.col("c") >= cfg.min_pairs)
            .withColumn("rank", F.row_number().over(best) - 1)
            .where(F.col("rank") < cfg.links).select("i", "j", "pmi", "rank"))
    table = kept.toArrow()
    i, rank = table.column("i").to_numpy(), table.column("rank").to_numpy()
    ids[i, rank] = table.column("j").to_numpy()
    values[i, rank] = table.column("pmi").to_numpy()
    return ids, values, int(positive)


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
    from pyspark.sql import functions as F

    timing: dict[str, float] = {}
    start = time.perf_counter()
    pairs = basket_items(train, cfg).cache()
    basket_count = np.zeros(num_items, dtype=np.float32)
    for row in pairs.groupBy("item").count().collect():
        basket_count[row["item"]] = row["count"]
    baskets = pairs.select(F.countDistinct("basket")).first()[0]
    timing["baskets_s"] = time.perf_counter() - start
    start = time.perf_counter()
    counts = pair_counts(pairs).cache()
    link_ids, link_pmi, positive = item_links(counts, num_items, cfg)
    counts.unpersist()
    pairs.unpersist()
    timing["ppmi_s"] = time.perf_counter() - start
    arrays, info = factors_from_links(link_ids, link_pmi, basket_count, cfg)
    info = {"baskets": int(baskets), "ppmi_nonzeros": positive, **info, **timing,
            "svd_s": info["svd_s"]}
    logger.info("collaborative (Spark): %d baskets, PPMI %d non-zeros, %d of %d items with a "
                "factor (%.1fs)", info["baskets"], positive, info["items_with_factor"],
                num_items - 1, info["baskets_s"] + info["ppmi_s"] + info["svd_s"])
    return arrays, info


def _coverage_batches(batches: Iterator[pa.RecordBatch], has: np.ndarray
                      ) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: one row of coverage counts per batch."""
    from mmctr.data.shards import table_arrays

    for batch in batches:
        rows = table_arrays(pa.Table.from_batches([batch]))
        target = np.asarray(rows["item_id"])
        seq = np.asarray(rows["item_seq"]).reshape(len(target), -1)
        real = seq[seq != 0]
        counts = [len(target), int(has[target].sum()), len(real), int(has[real].sum())]
        yield pa.RecordBatch.from_arrays([pa.array([v], pa.int64()) for v in counts],
                                         names=["rows", "targets", "history", "covered"])


def coverage_counts(frame: Any, has_factor: np.ndarray) -> tuple[int, int, int, int]:
    """One split's ``(rows, targets with a factor, history items, those with a factor)``."""
    from pyspark.sql import functions as F

    has = frame.sparkSession.sparkContext.broadcast(np.asarray(has_factor).astype(bool))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from _coverage_batches(batches, has.value)

    counts = frame.select("item_id", "item_seq").mapInArrow(
        run, "rows long, targets long, history long, covered long")
    total = counts.agg(*(F.sum(c) for c in ("rows", "targets", "history", "covered"))).first()
    return tuple(int(v or 0) for v in total)
