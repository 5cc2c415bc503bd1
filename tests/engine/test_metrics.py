import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from mmctr.engine.metrics import auc, grouped_auc, logloss, metric_dict


def test_auc_and_logloss_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(rng.random(300) * 0.5 + y * 0.3, 0, 1)
    assert auc(y, p) == roc_auc_score(y, p)
    assert np.isclose(logloss(y, p), log_loss(y, np.clip(p, 1e-7, 1 - 1e-7)))
    assert np.isnan(auc(np.ones(5), np.arange(5)))


def test_grouped_auc_weights_by_rows_and_skips_one_class_users():
    rng = np.random.default_rng(1)
    g = rng.integers(0, 30, 1500)
    y = rng.integers(0, 2, 1500)
    s = rng.normal(size=1500) + y
    s[::5] = 0.0  # ties
    g[:10], y[:10] = 999, 1  # one-class user: skipped
    ref, w = [], []
    for k in np.unique(g):
        m = g == k
        if len(np.unique(y[m])) == 2:
            ref.append(roc_auc_score(y[m], s[m]))
            w.append(m.sum())
    assert np.isclose(grouped_auc(y, s, g), np.average(ref, weights=w))
    assert set(metric_dict(y, np.clip(s, 0, 1), g)) == {"auc", "logloss", "rows", "gauc"}
