"""ALS item factors (MLlib) judged by what they find: neighbours and AUC on a planted world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmctr.engine.metrics import auc
from mmctr.spark.factors import AlsConfig, item_factors

pytestmark = pytest.mark.spark

CLUSTERS, ITEMS, USERS = 4, 40, 160


def _planted(spark):
    """Users consume and click items of their own cluster (item i is in (i - 1) % 4)."""
    rng = np.random.default_rng(0)
    rows = []
    for row in range(1200):
        user = row % USERS
        own = np.arange(1, ITEMS + 1)[(np.arange(ITEMS)) % CLUSTERS == user % CLUSTERS]
        seq = np.zeros(10, dtype=np.int32)
        seq[-6:] = rng.choice(own, 6)
        rows.append({"user_id": user, "item_seq": seq.tolist(),
                     "item_id": int(rng.choice(own)), "label": float(rng.random() < 0.5)})
    frame = pd.DataFrame(rows)
    return spark.createDataFrame(frame, "user_id long, item_seq array<int>, item_id int, "
                                        "label float")


def test_als_neighbours_share_the_planted_cluster(spark):
    factors = item_factors(_planted(spark), ITEMS + 1, AlsConfig(rank=8, max_iter=8, seed=1))
    assert factors.shape == (ITEMS + 1, 8) and not factors[0].any()
    unit = factors[1:] / np.linalg.norm(factors[1:], axis=1, keepdims=True)
    cosine = unit @ unit.T
    cluster = np.arange(ITEMS) % CLUSTERS
    same = cluster[:, None] == cluster[None, :]
    off_diagonal = ~np.eye(ITEMS, dtype=bool)
    pair_auc = auc(same[off_diagonal].astype(np.float32), cosine[off_diagonal])
    np.fill_diagonal(cosine, -np.inf)
    neighbours = np.argsort(-cosine, axis=1)[:, :5]
    overlap = np.mean(cluster[neighbours] == cluster[:, None])
    assert pair_auc > 0.95 and overlap > 0.9, (pair_auc, overlap)
