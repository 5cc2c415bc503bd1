"""The learned recipe: label-free history pairs (or clicked train rows), a seeded projection."""

import numpy as np
import pytest

from mmctr.data.co_click import (
    CoClickConfig,
    click_pairs,
    train_projection,
)


def test_pairs_are_clicked_targets_with_their_newest_history_items():
    train = {
        "item_seq": np.array([[0, 0, 4, 5, 6], [1, 2, 3, 4, 5], [0, 0, 0, 0, 9]], dtype=np.int32),
        "item_id": np.array([7, 8, 9], dtype=np.int32),
        "label": np.array([1.0, 0.0, 1.0], dtype=np.float32),
    }
    pairs = click_pairs(train, CoClickConfig(pairs="clicks", history_items=2))
    # row 0 (clicked): newest two 5, 6; row 1 not clicked; row 2: 9 is the target itself
    assert pairs.tolist() == [[7, 5], [7, 6]] and pairs.dtype == np.int32


def test_history_pairs_read_neither_labels_nor_targets():
    train = {
        "item_seq": np.array([[0, 0, 4, 5, 6], [1, 2, 3, 4, 5], [0, 0, 0, 0, 9]], dtype=np.int32),
        "item_id": np.array([7, 8, 9], dtype=np.int32),
        "label": np.array([1.0, 0.0, 1.0], dtype=np.float32),
    }
    pairs = click_pairs(train, CoClickConfig(history_items=2))
    # the newest history item with the two before it; row 2 has a single item: no pair
    assert pairs.tolist() == [[6, 4], [6, 5], [5, 3], [5, 4]]
    other = {**train, "item_id": train["item_id"][::-1], "label": 1 - train["label"]}
    assert (click_pairs(other, CoClickConfig(history_items=2)) == pairs).all()
    with pytest.raises(ValueError, match="pairs"):
        CoClickConfig(pairs="targets")


def test_max_pairs_draws_a_seeded_subset():
    rng = np.random.default_rng(0)
    train = {"item_seq": rng.integers(1, 50, (200, 5)).astype(np.int32),
             "item_id": rng.integers(50, 60, 200).astype(np.int32),
             "label": np.ones(200, dtype=np.float32)}
    a = click_pairs(train, CoClickConfig(max_pairs=100, seed=3))
    assert len(a) == 100 and (a == click_pairs(train, CoClickConfig(max_pairs=100, seed=3))).all()


def test_projection_pulls_pairs_together_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(61, 12)).astype(np.float32)
    x[0] = 0
    pairs = np.stack([np.arange(1, 31), np.arange(31, 61)], axis=1).astype(np.int32)
    cfg = CoClickConfig(input_dim=12, steps=150, batch_size=30, learning_rate=1e-2)
    emb, info = train_projection(x, pairs, 8, cfg)
    assert emb.shape == (61, 8) and (emb[0] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(emb[1:], axis=1), 1, atol=1e-5)
    assert info["last_loss"] < info["first_loss"]
    cos = (emb[pairs[:, 0]] * emb[pairs[:, 1]]).sum(axis=1)
    assert cos.mean() > 0.5  # pairs of unrelated random points, now close
    again, _ = train_projection(x, pairs, 8, cfg)
    np.testing.assert_array_equal(emb, again)


def test_no_pairs_is_a_clear_error():
    with pytest.raises(ValueError, match="no clicked train row"):
        train_projection(np.zeros((5, 4), np.float32), np.zeros((0, 2), np.int32), 2,
                         CoClickConfig(input_dim=4))
