"""Node tests of the ``synthetic`` stage on the tiny preset (docs/DATA_CONTRACT.md, ARCHITECTURE.md §1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from mmctr.datasets import ParquetDataset
from mmctr.pipelines.synthetic import nodes
from tests.pipelines.synthetic.tiny_data import generate, tiny_params

SPLIT_COLUMNS = ["user_id", "item_seq", "likes_level", "views_level", "item_id", "label"]


def _stack(column: pd.Series) -> np.ndarray:
    return np.stack(column.to_numpy())


def _roundtrip(frame: pd.DataFrame, path) -> tuple[pd.DataFrame, pa.Schema]:
    ParquetDataset(filepath=str(path)).save(frame)
    return pd.read_parquet(path), pq.read_schema(path)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_split_files_have_the_exact_schema(tiny, tmp_path, split):
    frame, schema = _roundtrip(tiny[f"raw_{split}"], tmp_path / f"{split}.parquet")
    columns = SPLIT_COLUMNS if split != "test" else SPLIT_COLUMNS[:-1]
    assert list(frame.columns) == columns
    assert schema.field("item_seq").type == pa.list_(pa.int64())
    for name in ("user_id", "likes_level", "views_level", "item_id"):
        assert schema.field(name).type == pa.int64() and frame[name].dtype == np.int64
    assert frame["item_seq"].dtype == object and isinstance(frame["item_seq"].iloc[0], np.ndarray)
    seq = _stack(frame["item_seq"])
    assert seq.shape == (len(frame), 100) and seq.dtype == np.int64
    lengths = (seq > 0).sum(axis=1)
    left_padded = np.arange(100)[None, :] >= (100 - lengths)[:, None]
    np.testing.assert_array_equal(seq > 0, left_padded)  # zeros left, items right
    n_items = len(tiny["raw_item_info"]) - 1
    assert seq.max() <= n_items and frame["item_id"].between(1, n_items).all()
    assert frame["likes_level"].between(0, 10).all() and frame["views_level"].between(0, 10).all()
    if split == "test":
        assert "label" not in schema.names
    else:
        assert schema.field("label").type == pa.float64()
        assert set(np.unique(frame["label"])) == {0.0, 1.0}


def test_item_info_file_has_the_exact_schema(tiny, tmp_path):
    frame, schema = _roundtrip(tiny["raw_item_info"], tmp_path / "item_info.parquet")
    assert list(frame.columns) == ["item_id", "item_tags", "item_emb_d128"]
    assert schema.field("item_id").type == pa.int64()
    assert schema.field("item_tags").type == pa.list_(pa.int64())
    assert schema.field("item_emb_d128").type == pa.list_(pa.float32())
    np.testing.assert_array_equal(frame["item_id"], np.arange(len(frame)))  # row i = item i
    tags, emb = _stack(frame["item_tags"]), _stack(frame["item_emb_d128"])
    assert tags.shape == (len(frame), 5) and tags.dtype == np.int64
    assert emb.shape == (len(frame), 128) and emb.dtype == np.float32
    assert not tags[0].any() and not emb[0].any()  # padding item
    n_tags = tiny["synthetic_oracle"]["n_tags"]
    assert (tags[1:] > 0).any(axis=1).all() and tags.max() <= n_tags
    np.testing.assert_array_equal(tags > 0, np.sort(tags > 0, axis=1))  # left-padded
    assert np.isfinite(emb).all() and (np.abs(emb[1:]).sum(axis=1) > 0).all()


def test_click_rate_is_calibrated(tiny):
    for split in ("train", "valid", "test"):
        assert tiny[f"{split}_truth"]["label"].mean() == pytest.approx(0.25, abs=0.05)
    assert tiny["raw_train"]["label"].mean() == pytest.approx(0.25, abs=0.04)


def test_history_lengths_look_like_microlens(tiny):
    lengths = (_stack(tiny["raw_train"]["item_seq"]) > 0).sum(axis=1)
    assert 6.5 <= lengths.mean() <= 9.5
    assert 5 <= np.median(lengths) <= 7
    assert lengths.max() >= 40 and (lengths == 0).mean() < 0.01


def test_cold_items_are_never_train_targets(tiny):
    cold = tiny["world"].cold
    assert not cold[0] and cold[1:].mean() == pytest.approx(0.10, abs=0.01)
    assert not cold[tiny["raw_train"]["item_id"]].any()
    assert cold[np.concatenate([tiny["raw_valid"]["item_id"], tiny["raw_test"]["item_id"]])].any()
    assert cold[_stack(tiny["raw_train"]["item_seq"])].any()  # cold items do appear in histories
    assert tiny["synthetic_oracle"]["train_cold_targets"] == 0


def test_same_seed_same_data_other_seed_other_data(tiny):
    again = generate(tiny_params())
    for name in ("raw_train", "raw_valid", "raw_test", "raw_item_info"):
        a, b = tiny[name], again[name]
        assert list(a.columns) == list(b.columns)
        for col in a.columns:
            left, right = a[col].to_numpy(), b[col].to_numpy()
            if left.dtype == object:
                left, right = np.stack(left), np.stack(right)
            np.testing.assert_array_equal(left, right)
    pd.testing.assert_frame_equal(tiny["synthetic_truth"], again["synthetic_truth"])
    assert tiny["synthetic_oracle"] == again["synthetic_oracle"]
    other = nodes.valid_split(nodes.make_world(tiny_params(seed=7)))[0]
    assert not np.array_equal(_stack(other["item_seq"]), _stack(tiny["raw_valid"]["item_seq"]))


def test_oracle_matches_the_stored_truth(tiny):
    truth, oracle = tiny["synthetic_truth"], tiny["synthetic_oracle"]
    assert list(truth.columns) == ["split", "row", "label", "prob"]
    for split in ("valid", "test"):
        part = truth[truth["split"] == split]
        np.testing.assert_array_equal(part["row"], np.arange(len(tiny[f"raw_{split}"])))
        assert oracle[f"{split}_auc"] == pytest.approx(roc_auc_score(part["label"], part["prob"]))
        assert oracle[f"{split}_click_rate"] == pytest.approx(part["label"].mean())
        assert part["prob"].between(0, 1).all()
    assert oracle["valid_auc"] > 0.75  # the signal is strong enough to learn from
    # without the hidden item and user offsets the click model is weaker, yet informative
    for split in ("train", "valid", "test"):
        assert 0.6 < oracle[f"{split}_content_auc"] < oracle[f"{split}_auc"]
    assert oracle["n_train"] == len(tiny["raw_train"]) and oracle["seed"] == 2025


def test_truth_stays_out_of_the_raw_files(tiny):
    assert "label" not in tiny["raw_test"].columns
    for frame in (tiny["raw_train"], tiny["raw_valid"], tiny["raw_test"]):
        assert "prob" not in frame.columns
    valid = tiny["synthetic_truth"].query("split == 'valid'")
    np.testing.assert_array_equal(valid["label"], tiny["raw_valid"]["label"])  # real labels
    assert (tiny["synthetic_truth"]["split"] == "test").sum() == len(tiny["raw_test"])


def test_levels_reveal_item_quality(tiny):
    train = tiny["raw_train"]
    assert roc_auc_score(train["label"], train["likes_level"]) > 0.6


def test_bad_parameters_fail_early():
    with pytest.raises(ValueError, match="unknown key"):
        nodes.make_world(tiny_params(recency_dacay=2.0))
    with pytest.raises(ValueError, match="preset"):
        nodes.make_world(tiny_params(preset="huge"))
    with pytest.raises(ValueError, match="unknown key"):
        nodes.make_world(tiny_params(presets={"tiny": {"n_rows": 1}}))


def _co_consumption(raw_train: pd.DataFrame, group: np.ndarray) -> float:
    """Share of same-group pairs among a train row's history items (beyond chance)."""
    seq = _stack(raw_train["item_seq"])[:, -10:]
    g = np.where(seq > 0, group[seq], -1)
    same = (g[:, :, None] == g[:, None, :]) & (g[:, :, None] >= 0)
    real = (seq[:, :, None] > 0) & (seq[:, None, :] > 0)
    off = ~np.eye(seq.shape[1], dtype=bool)
    return float(same[:, off].sum() / max(real[:, off].sum(), 1))


def test_co_consumption_off_is_the_content_world_and_on_adds_its_ceiling():
    off = generate(tiny_params(group_prob=0.0, w_group=0.0))
    assert off["world"].groups is None
    oracle = off["synthetic_oracle"]
    assert oracle["test_co_consumption_auc"] == oracle["test_content_auc"]
    on = generate(tiny_params(group_prob=0.4, w_group=8.0))
    group = on["world"].groups.group
    assert group[0] == -1 and (group[1:] >= 0).all()
    # histories now hold items of the same group beyond chance (~1 / number of groups)
    assert _co_consumption(on["raw_train"], group) > 1.5 * _co_consumption(off["raw_train"], group)
    # the group term is in the click: content alone reaches less than content + groups
    o = on["synthetic_oracle"]
    assert o["test_content_auc"] + 0.02 < o["test_co_consumption_auc"] < o["test_auc"] + 1e-9
    # the embedding and the tags carry no group: items of one group are not closer
    emb = on["world"].emb[1:] / np.linalg.norm(on["world"].emb[1:], axis=1, keepdims=True)
    g = group[1:]
    same = (g[:, None] == g[None, :]) & ~np.eye(len(g), dtype=bool)
    cos = emb @ emb.T
    assert abs(cos[same].mean() - cos[~same].mean()) < 0.05
