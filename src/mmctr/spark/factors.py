"""Collaborative item factors on Spark: MLlib ALS on implicit train feedback.

Each train row says its user consumed every item of its history and, when ``label`` is 1,
clicked its target: one (user, item, count) triple per distinct pair. ALS (implicit
preferences) factorises that matrix; the item side becomes ``item_factors`` (V, rank),
row 0 and items never seen all zero. Factors learned by another library are not equal
to those of a numpy implementation: they are judged by their neighbours and AUC.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["AlsConfig", "item_factors"]


@dataclasses.dataclass(frozen=True)
class AlsConfig:
    """ALS settings (``params:spark.als``)."""

    rank: int = 32  # factor width
    max_iter: int = 10
    reg_param: float = 0.05
    alpha: float = 10.0  # implicit-feedback confidence per interaction
    seed: int = 2025

    def __post_init__(self) -> None:
        for name in ("rank", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"params:spark.als.{name} must be >= 1")
        if self.reg_param < 0 or self.alpha <= 0:
            raise ValueError("params:spark.als: reg_param must be >= 0 and alpha > 0")


def interactions(train: Any) -> Any:
    """(user, item, count) of the train split: history items, and clicked targets."""
    from pyspark.sql import functions as F

    history = train.select(F.col("user_id").alias("user"),
                           F.explode(F.filter("item_seq", lambda x: x != 0)).alias("item"))
    clicks = train.filter(F.col("label") > 0).select(F.col("user_id").alias("user"),
                                                    F.col("item_id").alias("item"))
    pairs = history.unionByName(clicks)
    return pairs.groupBy("user", "item").agg(F.count("*").cast("float").alias("count"))


def item_factors(train: Any, num_items: int, cfg: AlsConfig) -> np.ndarray:
    """Item factors float32 (V, rank) by implicit ALS; rows of unseen items are 0."""
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    # ALS takes int ids: users are hashed into 0..2^31-2 (a collision merges two users'
    # rows, harmless for the item side) without a global sort of the users
    user_index = F.pmod(F.xxhash64("user"), F.lit(2**31 - 1)).cast("int").alias("user_index")
    data = interactions(train).select(user_index, F.col("item").cast("int"), "count")
    als = ALS(rank=cfg.rank, maxIter=cfg.max_iter, regParam=cfg.reg_param, alpha=cfg.alpha,
              implicitPrefs=True, seed=cfg.seed, userCol="user_index", itemCol="item",
              ratingCol="count", coldStartStrategy="drop", nonnegative=False)
    model = als.fit(data)
    factors = np.zeros((num_items, cfg.rank), dtype=np.float32)
    for row in model.itemFactors.collect():
        factors[row["id"]] = row["features"]
    factors[0] = 0.0
    return factors

