"""Collaborative factors and links from histories (mmctr.data.collaborative)."""

from __future__ import annotations

import numpy as np
import pytest

from mmctr.data.collaborative import (
    FactorSettings,
    basket_matrix,
    cooccurrence,
    item_factors,
    item_links,
    pmi_values,
)


def _histories(rng: np.random.Generator, rows: int = 400, width: int = 8) -> np.ndarray:
    """Items 1..10 are consumed together (group A), 11..20 together (group B), 21..40 alone:
    each row draws from one group, plus one random item."""
    seq = np.zeros((rows, width), dtype=np.int32)
    for r in range(rows):
        group = 1 + 10 * (r % 2)
        seq[r, 2:-1] = rng.integers(group, group + 10, width - 3)
        seq[r, -1] = rng.integers(21, 41)
    return seq


def test_baskets_count_an_item_once_and_merge_a_users_rows():
    seq = np.array([[0, 3, 3, 5], [0, 0, 2, 5], [0, 0, 0, 0], [0, 3, 3, 5]])
    by_row = basket_matrix(seq, 7, FactorSettings(by_user=False, dedupe=True))
    assert by_row.shape == (2, 7)  # the empty row is dropped, the repeated row too
    np.testing.assert_array_equal(by_row.toarray()[0], [0, 0, 0, 1, 0, 1, 0])
    users = np.array([9, 9, 4, 4])
    by_user = basket_matrix(seq, 7, FactorSettings(by_user=True), users).toarray()
    assert by_user.shape == (2, 7)
    np.testing.assert_array_equal(sorted(map(tuple, by_user)),
                                  sorted([(0, 0, 1, 1, 0, 1, 0), (0, 0, 0, 1, 0, 1, 0)]))


def test_links_rank_by_shared_baskets_and_keep_positive_pmi():
    seq = np.array([[1, 2, 3]] * 3 + [[1, 4, 5]] + [[6, 7, 8]] * 2)
    co = cooccurrence(basket_matrix(seq, 9, FactorSettings(by_user=False, dedupe=False)))
    ids, pmi = item_links(co, pmi_values(co, 0.75), links=3, min_pairs=2)
    assert set(ids[1]) == {2, 3, 0}  # 4, 5 share a single basket with 1: below min_pairs
    assert ids[4].tolist() == [0, 0, 0] and (pmi[ids == 0] == 0).all()
    assert (pmi[ids > 0] > 0).all()


def test_items_consumed_together_get_close_factors_and_rare_items_none():
    rng = np.random.default_rng(0)
    seq = _histories(rng)
    seq[0, 0] = 45  # item 45 appears in one basket only
    arrays, info = item_factors(seq, 50, FactorSettings(dim=4, min_count=3, by_user=False))
    f, has = arrays["factors"], arrays["has_factor"]
    assert has[0] == 0 and has[45] == 0 and not f[45].any() and not f[0].any()
    assert has[1:41].all() and info["items_with_factor"] == 40
    unit = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    same = unit[1:11] @ unit[1:11].T
    other = unit[1:11] @ unit[11:21].T
    assert same[~np.eye(10, dtype=bool)].mean() > other.mean() + 0.5
    # the strongest links of a group-A item are group-A items
    assert set(arrays["link_ids"][3][:5]) <= set(range(1, 11))


def test_factors_are_deterministic():
    seq = _histories(np.random.default_rng(1))
    a, _ = item_factors(seq, 50, FactorSettings(dim=4))
    b, _ = item_factors(seq, 50, FactorSettings(dim=4))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_no_history_gives_no_factor():
    arrays, info = item_factors(np.zeros((5, 4), dtype=np.int32), 10, FactorSettings(dim=3))
    assert info["items_with_factor"] == 0 and not arrays["factors"].any()
    assert not arrays["link_ids"].any()


def test_collaborative_statistics_by_hand():
    import torch

    from mmctr.data.kernels import COLLAB_STATS, collaborative_statistics

    factors = np.zeros((6, 2), dtype=np.float32)
    factors[1], factors[2], factors[3] = [1, 0], [0, 1], [0.6, 0.8]  # item 4, 5: no factor
    has = np.array([0, 1, 1, 1, 0, 0])
    seq = np.array([[0, 2, 4, 3], [0, 0, 0, 0], [0, 0, 5, 1]])
    target = np.array([1, 1, 4])
    link_ids = np.zeros((6, 2), dtype=np.int32)
    link_pmi = np.zeros((6, 2), dtype=np.float32)
    link_ids[3, 0], link_pmi[3, 0] = 1, 2.0  # 3 lists 1: the pair (1, 3) is linked both ways
    out = collaborative_statistics(seq, target, factors, has, 0.5, 2, torch.device("cpu"),
                                   (link_ids, link_pmi))
    assert out.shape == (3, len(COLLAB_STATS))
    row = dict(zip(COLLAB_STATS, out[0], strict=True))
    # history 2 (cos 0), 4 (no factor: left out), 3 (cos 0.6, newest)
    assert row["collab_max"] == pytest.approx(0.6) and row["collab_mean"] == pytest.approx(0.3)
    assert row["collab_newest"] == pytest.approx(0.6) and row["collab_count_above"] == 1
    assert row["collab_mean_newest3"] == pytest.approx(0.3)
    assert row["target_has_factor"] == 1 and row["history_factor_share"] == pytest.approx(2 / 3)
    assert row["link_pmi_max"] == 2.0 and row["link_pmi_mean"] == pytest.approx(2 / 3)
    assert row["link_share"] == pytest.approx(1 / 3)
    assert out[1, 6] == 1 and not np.delete(out[1], 6).any()  # empty history: only the flag
    third = dict(zip(COLLAB_STATS, out[2], strict=True))
    assert third["target_has_factor"] == 0 and third["collab_max"] == 0


def test_pair_budget_keeps_a_seeded_share_of_the_baskets(caplog):
    seq = _histories(np.random.default_rng(2))
    full = basket_matrix(seq, 50, FactorSettings(by_user=False, dedupe=False))
    work = int((np.diff(full.indptr) ** 2).sum())
    cfg = FactorSettings(by_user=False, dedupe=False, pair_budget=work // 4)
    part = basket_matrix(seq, 50, cfg)
    assert 0.1 * full.shape[0] < part.shape[0] < 0.45 * full.shape[0]
    assert "pair_budget" in caplog.text
    assert (basket_matrix(seq, 50, cfg) != part).nnz == 0  # seeded


def test_links_lookup_matches_a_scan_of_both_lists():
    """Links.lookup: the pair's PMI from the first item's list, else the second's, else 0
    (a brute-force scan); the order of a row does not matter."""
    from mmctr.data.kernels import Links

    rng = np.random.default_rng(5)
    num, width = 60, 6
    ids = np.zeros((num, width), dtype=np.int32)
    pmi = np.zeros((num, width), dtype=np.float32)
    for item in range(1, num):
        chosen = rng.choice(np.arange(1, num), rng.integers(0, width + 1), replace=False)
        ids[item, :len(chosen)], pmi[item, :len(chosen)] = chosen, rng.random(len(chosen)) + 0.1
    a, b = rng.integers(0, num, 4000), rng.integers(0, num, 4000)

    def scan(x: int, y: int) -> float:
        for owner, other in ((x, y), (y, x)):
            hit = np.flatnonzero((ids[owner] == other) & (other > 0))
            if len(hit):
                return float(pmi[owner, hit[0]])
        return 0.0

    expected = np.array([scan(x, y) for x, y in zip(a, b, strict=True)], dtype=np.float32)
    assert (expected > 0).sum() > 100
    np.testing.assert_array_equal(Links.of(ids, pmi).lookup(a, b), expected)
    flipped = Links.of(ids[:, ::-1], pmi[:, ::-1])
    np.testing.assert_array_equal(flipped.lookup(a, b), expected)
    empty = Links.of(np.zeros((num, 0), np.int32), np.zeros((num, 0), np.float32))
    assert not empty.lookup(a, b).any()
