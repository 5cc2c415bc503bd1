"""Unit tests of the feature_engineering nodes and their helpers (tiny fixture data)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from mmctr.data.contract import parse_item_info
from mmctr.data.features import build_item_features, dense_tag_ids, infer_vocab
from mmctr.pipelines.feature_engineering.config import FeatureEngineeringConfig
from mmctr.pipelines.feature_engineering.nodes import (
    build_features,
    plot_history_lengths,
    profile_data,
)
from tests.fixtures import make_raw_tables

SPLITS = ("train", "valid", "test")


def _raw_matrix(frame, column="item_seq"):
    return np.stack(frame[column].to_list())


def _build(tables, **params):
    return build_features(
        tables["train"], tables["valid"], tables["test"], tables["item_info"], params
    )


@pytest.fixture(scope="module")
def tables():
    return make_raw_tables(n_train=64, n_valid=16, n_test=16, n_items=30, n_tags=12)


@pytest.fixture(scope="module")
def built(tables):
    return _build(tables)


def test_build_features_follows_the_contract(tables, built) -> None:
    """ARCHITECTURE.md §2: keys, dtypes, shapes; labels for train/valid only."""
    assert set(built) == {"train", "valid", "test", "items", "vocab"}
    for split in SPLITS:
        features, raw = built[split], tables[split]
        n = len(raw)
        expected = {
            "item_seq": (np.int32, (n, 100)),
            "item_id": (np.int32, (n,)),
            "likes_level": (np.int32, (n,)),
            "views_level": (np.int32, (n,)),
            "user_id": (np.int64, (n,)),
        }
        if split != "test":
            expected["label"] = (np.float32, (n,))
        assert {k: (v.dtype.type, v.shape) for k, v in features.items()} == expected
        np.testing.assert_array_equal(features["item_seq"], _raw_matrix(raw))
        for name in ("item_id", "likes_level", "views_level", "user_id"):
            np.testing.assert_array_equal(features[name], raw[name].to_numpy())
        if split != "test":
            np.testing.assert_array_equal(features["label"], raw["label"].to_numpy())


def test_item_features_row_i_is_item_i(tables, built) -> None:
    items = built["items"]
    assert items["item_tags"].dtype == np.int32 and items["item_tags"].shape == (31, 5)
    assert items["item_emb"].dtype == np.float32 and items["item_emb"].shape == (
        31,
        128,
    )
    np.testing.assert_array_equal(
        items["item_tags"], _raw_matrix(tables["item_info"], "item_tags")
    )
    np.testing.assert_array_equal(
        items["item_emb"], _raw_matrix(tables["item_info"], "item_emb_d128")
    )
    assert not items["item_tags"][0].any() and not items["item_emb"][0].any()


def test_build_item_features_zeroes_a_nonzero_padding_row(tables) -> None:
    parsed = parse_item_info(tables["item_info"])
    parsed["item_emb"][0] = 1.0
    items = build_item_features(parsed)
    assert not items["item_emb"][0].any()
    assert parsed["item_emb"][0].all()  # the input is left as it was


def test_vocab_sizes_are_inferred_from_the_data(tables, built) -> None:
    levels = {
        name: max(int(tables[s][f"{name}_level"].max()) for s in SPLITS)
        for name in ("likes", "views")
    }
    assert built["vocab"] == {
        "item": 31,  # len(item_info), padding id 0 included
        "tag": 13,  # n_tags + 1
        "likes": levels["likes"] + 1,
        "views": levels["views"] + 1,
        "max_len": 100,
        "emb_dim": 128,
        "num_tags": 5,
    }
    json.dumps(built["vocab"])


def test_infer_vocab_uses_the_largest_level_of_any_split(built) -> None:
    features = {s: dict(built[s]) for s in SPLITS}
    features["test"]["views_level"] = features["test"]["views_level"].copy()
    features["test"]["views_level"][0] = 17
    assert infer_vocab(features, built["items"], max_len=100)["views"] == 18


def test_history_cut_keeps_the_newest_items(tables) -> None:
    out = _build(tables, max_len=10)
    raw = _raw_matrix(tables["train"])
    seq = out["train"]["item_seq"]
    assert seq.shape == (64, 10) and seq.flags.c_contiguous
    np.testing.assert_array_equal(seq, raw[:, -10:])
    # row 1 has a full history: its 10 newest (last) items are kept, in order
    assert (raw[1] != 0).all()
    np.testing.assert_array_equal(seq[1], raw[1, 90:])
    assert out["vocab"]["max_len"] == 10


def test_chunked_conversion_gives_identical_features(tables, built) -> None:
    out = _build(tables, chunk_rows=7)
    for key in ("train", "valid", "test", "items"):
        for name, array in built[key].items():
            np.testing.assert_array_equal(out[key][name], array)
    assert out["vocab"] == built["vocab"]


def test_config_rejects_unknown_keys_and_bad_values(tables) -> None:
    with pytest.raises(ValueError, match="unknown key"):
        _build(tables, max_length=10)
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        FeatureEngineeringConfig(max_len=0)
    assert FeatureEngineeringConfig().seq_width == 100


@pytest.fixture(scope="module")
def profile(built):
    return profile_data(
        built["train"], built["valid"], built["test"], built["items"], {}
    )


def test_profile_data(tables, built, profile) -> None:
    json.dumps(profile)  # serialisable as is
    assert profile["items"] == 30 and profile["max_len"] == 100
    tags = _raw_matrix(tables["item_info"], "item_tags")
    assert profile["tags"] == len(np.unique(tags[tags > 0]))
    train_targets = set(tables["train"]["item_id"])
    for split in SPLITS:
        raw, stats = tables[split], profile["splits"][split]
        lengths = (_raw_matrix(raw) != 0).sum(axis=1)
        assert stats["rows"] == len(raw)
        assert stats["history_length"] == {
            "mean": pytest.approx(lengths.mean()),
            "median": pytest.approx(np.median(lengths)),
            "p90": pytest.approx(np.percentile(lengths, 90)),
            "max": int(lengths.max()),
        }
        assert stats["empty_history_share"] == pytest.approx(np.mean(lengths == 0))
        assert stats["users"] == raw["user_id"].nunique()
        assert stats["target_items"] == raw["item_id"].nunique()
        assert ("click_rate" in stats) == (split != "test")
        if split != "test":
            assert stats["click_rate"] == pytest.approx(raw["label"].mean())
        if split != "train":
            cold = set(raw["item_id"]) - train_targets
            assert stats["cold_target_items"] == len(cold)
            assert stats["cold_target_row_share"] == pytest.approx(
                raw["item_id"].isin(cold).mean()
            )
        counts = profile["history_length_histogram"]["counts"][split]
        assert sum(counts) == len(raw)
        assert counts[0] == np.sum(lengths == 0)  # one bin per length by default


def test_profile_counts_cold_targets() -> None:
    seq = np.zeros((2, 3), dtype=np.int32)
    features = {
        "item_seq": seq,
        "item_id": np.array([1, 1], dtype=np.int32),
        "user_id": np.array([1, 2]),
    }
    valid = {**features, "item_id": np.array([1, 2], dtype=np.int32)}
    test = {**features, "item_id": np.array([3, 3], dtype=np.int32)}
    items = {"item_tags": np.zeros((4, 5), dtype=np.int32)}
    profile = profile_data(features, valid, test, items, {"max_len": 3})
    assert profile["splits"]["valid"]["cold_target_items"] == 1
    assert profile["splits"]["valid"]["cold_target_row_share"] == 0.5
    assert profile["splits"]["test"]["cold_target_items"] == 1
    assert profile["splits"]["test"]["cold_target_row_share"] == 1.0
    assert profile["splits"]["train"]["empty_history_share"] == 1.0


def test_plot_history_lengths(profile) -> None:
    fig = plot_history_lengths(profile)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [t.get_text().split()[0] for t in ax.get_legend().get_texts()] == list(
        SPLITS
    )


def test_sparse_tag_ids_are_renumbered_never_a_giant_table():
    tables = make_raw_tables()
    tags = np.array([np.array(t) for t in tables["item_info"]["item_tags"]], dtype=np.int64)
    sparse = np.where(tags > 0, tags * 10**8 + 7, 0).astype(np.int32)  # up to ~1.2e9
    out = build_features(tables["train"], tables["valid"], tables["test"],
                         tables["item_info"].assign(item_tags=list(sparse)), {})
    assert out["vocab"]["tag"] <= 13  # 12 tags + padding, not 1.2e9 rows
    np.testing.assert_array_equal(out["items"]["item_tags"] > 0, sparse > 0)
    dense = out["items"]["item_tags"]
    assert (np.diff(np.where(sparse > 0, sparse, 0), axis=1) >= 0).all() == (
        np.diff(dense, axis=1) >= 0).all()  # order kept
    kept = tags.astype(np.int32)
    assert dense_tag_ids(kept) is kept  # dense ids (as in the real data) are never changed


def test_profile_warns_of_degenerate_inputs(built, profile) -> None:
    assert profile["warnings"] == []
    train = {**built["train"], "item_seq": np.zeros_like(built["train"]["item_seq"]),
             "item_id": np.full_like(built["train"]["item_id"], 3)}
    items = {**built["items"], "item_emb": np.zeros_like(built["items"]["item_emb"])}
    warnings = profile_data(train, built["valid"], built["test"], items, {})["warnings"]
    assert [w.split(":")[0] for w in warnings] == [
        "no histories at all", "all-zero item embeddings", "a single item"]
    items["item_emb"] = np.ones_like(items["item_emb"])
    warnings = profile_data(built["train"], built["valid"], built["test"], items, {})["warnings"]
    assert [w.split(":")[0] for w in warnings] == ["constant item embeddings"]
