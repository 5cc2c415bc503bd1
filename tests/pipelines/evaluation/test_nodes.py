"""Node tests of the ``evaluation`` stage on hand-made predictions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import log_loss, roc_auc_score

from mmctr.pipelines.evaluation.nodes import (
    bucket_labels,
    compute_breakdown,
    compute_metrics,
    gather_rows,
    score_valid,
)
from mmctr.pipelines.evaluation.plots import (
    plot_auc_by_history,
    plot_calibration,
    plot_learning_curves,
    plot_roc,
)
from tests.pipelines.evaluation.tiny_inputs import (
    tiny_artifact,
    tiny_items,
    tiny_semantics,
    tiny_similarity,
    tiny_split,
)

CONF = Path(__file__).resolve().parents[3] / "conf"
PARAMS = {"history_buckets": [0, 1, 3, 6, 11, 21, 51, 101], "batch_size": 4, "device": "cpu",
          "bf16": False, "calibration_bins": 5, "progress": False}
HISTORY = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.6, 0.5, 0.45],
                        "valid_auc": [0.7, 0.8, 0.79], "valid_logloss": [0.6, 0.52, 0.53],
                        "epoch_seconds": [1.0, 1.0, 1.0], "samples_per_s": [100.0, 200.0, 300.0]})


def _features(lengths, items, users, labels=None) -> dict[str, np.ndarray]:
    """Hand-made split: histories of the given lengths (width 8, left-padded)."""
    n, width = len(items), 8
    seq = np.zeros((n, width), dtype=np.int32)
    for r, length in enumerate(lengths):
        if length:
            seq[r, -length:] = np.arange(1, length + 1)
    out = {"item_seq": seq, "item_id": np.asarray(items, np.int32),
           "likes_level": np.ones(n, np.int32), "views_level": np.ones(n, np.int32),
           "user_id": np.asarray(users, np.int64)}
    if labels is not None:
        out["label"] = np.asarray(labels, np.float32)
    return out


# valid: 8 rows; users 1, 2 (4 rows each); items 1, 2 warm (train targets), 7, 8 cold
VALID = _features([0, 0, 1, 2, 3, 5, 8, 8], [1, 7, 2, 8, 1, 7, 2, 8], [1, 1, 1, 1, 2, 2, 2, 2],
                  [0, 1, 1, 0, 1, 0, 1, 0])
VALID_PROB = np.array([0.1, 0.6, 0.7, 0.3, 0.8, 0.4, 0.35, 0.5])
TEST = _features([0, 1, 4, 6, 0, 2], [2, 9, 1, 9, 1, 2], [3, 3, 3, 4, 4, 4])
TEST_PROB = np.array([0.2, 0.9, 0.3, 0.6, 0.4, 0.7])
TEST_LABEL = np.array([0, 1, 0, 1, 1, 0])
TRAIN = _features([1, 1, 1], [1, 2, 2], [1, 1, 1], [0, 1, 0])


def _valid_predictions() -> pd.DataFrame:
    return pd.DataFrame({"row": np.arange(8), "prob": VALID_PROB, "label": VALID["label"]})


def _test_predictions() -> pd.DataFrame:
    return pd.DataFrame({"ID": np.arange(6), "prob": TEST_PROB})


def _truth() -> pd.DataFrame:
    valid = pd.DataFrame({"split": "valid", "row": np.arange(8), "label": VALID["label"],
                          "prob": np.linspace(0.2, 0.8, 8)})
    test = pd.DataFrame({"split": "test", "row": np.arange(6)[::-1], "label": TEST_LABEL[::-1],
                         "prob": np.array([0.1, 0.8, 0.2, 0.9, 0.7, 0.3])[::-1]})
    return pd.concat([valid, test], ignore_index=True)  # test rows deliberately reversed


def _rows(truth: pd.DataFrame | None) -> pd.DataFrame:
    return gather_rows(_valid_predictions(), VALID, _test_predictions(), TEST, TRAIN, truth)


@pytest.fixture(scope="module")
def artifact():
    return tiny_artifact()


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="unknown key"):
        compute_breakdown(_rows(None), {**PARAMS, "buckets": [0, 1]})
    with pytest.raises(ValueError, match="strictly increasing"):
        compute_breakdown(_rows(None), {**PARAMS, "history_buckets": [0, 5, 5]})


def test_score_valid_rows_labels_and_order(artifact):
    features = tiny_split(9, seed=2)
    sim = tiny_similarity(features, seed=3)
    args = (tiny_items(), tiny_semantics())
    out = score_valid(artifact, features, sim, *args, PARAMS)
    assert list(out.columns) == ["row", "prob", "label"]
    np.testing.assert_array_equal(out["row"], np.arange(9))
    np.testing.assert_array_equal(out["label"], features["label"])
    assert np.all((out["prob"] > 0) & (out["prob"] < 1))
    perm = np.random.default_rng(0).permutation(9)
    shuffled = score_valid(artifact, {k: v[perm] for k, v in features.items()},
                           {k: v[perm] for k, v in sim.items()}, *args,
                           {**PARAMS, "batch_size": 64})
    np.testing.assert_allclose(shuffled["prob"], out["prob"].to_numpy()[perm], rtol=1e-5, atol=1e-6)


def test_gather_rows_real_data_has_valid_only():
    rows = _rows(None)
    assert (rows["split"] == "valid").all() and len(rows) == 8
    np.testing.assert_array_equal(rows["history_length"], [0, 0, 1, 2, 3, 5, 8, 8])
    np.testing.assert_array_equal(rows["cold"], [False, True, False, True] * 2)
    assert rows["true_prob"].isna().all()
    np.testing.assert_allclose(rows["prob"], VALID_PROB)


def test_gather_rows_aligns_test_truth_by_row():
    rows = _rows(_truth())
    test = rows[rows["split"] == "test"]
    np.testing.assert_array_equal(test["label"], TEST_LABEL)
    np.testing.assert_allclose(test["true_prob"], [0.1, 0.8, 0.2, 0.9, 0.7, 0.3])
    np.testing.assert_array_equal(test["cold"], [False, True, False, True, False, False])
    np.testing.assert_array_equal(test["history_length"], [0, 1, 4, 6, 0, 2])


def test_gather_rows_rejects_mismatches():
    truth = _truth()
    with pytest.raises(ValueError, match="synthetic_truth has 5 'test' rows"):
        gather_rows(_valid_predictions(), VALID, _test_predictions(), TEST, TRAIN,
                    truth.iloc[:-1])
    with pytest.raises(ValueError, match="test predictions have 5 rows"):
        gather_rows(_valid_predictions(), VALID, _test_predictions().iloc[:5], TEST, TRAIN, truth)


def _gauc(labels, probs, users) -> float:
    """Reference user-grouped AUC: per-user sklearn AUC weighted by rows."""
    values, weights = [], []
    for user in np.unique(users):
        mask = users == user
        if len(np.unique(labels[mask])) == 2:
            values.append(roc_auc_score(labels[mask], probs[mask]))
            weights.append(mask.sum())
    return float(np.average(values, weights=weights))


def test_metrics_equal_sklearn_with_truth(artifact):
    truth = _truth()
    metrics = compute_metrics(_rows(truth), None, HISTORY, artifact)
    labels = VALID["label"]
    assert metrics["valid_auc"] == pytest.approx(roc_auc_score(labels, VALID_PROB))
    assert metrics["valid_logloss"] == pytest.approx(log_loss(labels, VALID_PROB))
    assert metrics["valid_gauc"] == pytest.approx(_gauc(labels, VALID_PROB, VALID["user_id"]))
    assert metrics["test_auc"] == pytest.approx(roc_auc_score(TEST_LABEL, TEST_PROB))
    assert metrics["test_logloss"] == pytest.approx(log_loss(TEST_LABEL, TEST_PROB))
    assert metrics["test_gauc"] == pytest.approx(_gauc(TEST_LABEL, TEST_PROB, TEST["user_id"]))
    test_truth = truth[truth["split"] == "test"].sort_values("row")
    oracle = roc_auc_score(test_truth["label"], test_truth["prob"])
    assert metrics["test_oracle_auc"] == pytest.approx(oracle)
    assert metrics["test_oracle_auc_gap"] == pytest.approx(oracle - metrics["test_auc"])
    assert metrics["valid_oracle_auc_gap"] == pytest.approx(
        metrics["valid_oracle_auc"] - metrics["valid_auc"])
    assert metrics["test_oracle_logloss"] == pytest.approx(
        log_loss(test_truth["label"], test_truth["prob"]))
    assert metrics["has_test_labels"] is True
    assert metrics["model_name"] == "transformer_dcn"
    assert metrics["best_epoch"] == 2 and metrics["epochs_trained"] == 3
    assert metrics["best_valid_auc"] == pytest.approx(0.8)
    json.dumps(metrics, allow_nan=False)  # plain JSON, no NaN


def test_metrics_prefer_the_saved_oracle(artifact):
    metrics = compute_metrics(_rows(_truth()), {"test_auc": 0.99, "valid_auc": 0.95}, HISTORY,
                              artifact)
    assert metrics["test_oracle_auc"] == 0.99
    assert metrics["test_oracle_auc_gap"] == pytest.approx(0.99 - metrics["test_auc"])
    assert metrics["valid_oracle_auc"] == 0.95


def test_metrics_without_truth_skip_test(artifact):
    metrics = compute_metrics(_rows(None), None, HISTORY, artifact)
    assert metrics["has_test_labels"] is False
    assert not [k for k in metrics if k.startswith("test_") or "oracle" in k]
    assert metrics["valid_auc"] == pytest.approx(roc_auc_score(VALID["label"], VALID_PROB))
    json.dumps(metrics, allow_nan=False)


def test_bucket_labels():
    assert bucket_labels([0, 1, 3, 6, 11]) == ["0", "1-2", "3-5", "6-10"]


def test_breakdown_by_history_and_cold_warm():
    out = compute_breakdown(_rows(_truth()), {**PARAMS, "history_buckets": [0, 1, 3, 6]})
    assert list(out.columns) == ["split", "breakdown", "bucket", "rows", "click_rate", "auc",
                                 "logloss"]
    hist = out[(out["split"] == "valid") & (out["breakdown"] == "history_length")]
    # lengths 0,0 | 1,2 | 3,5 | 8,8 (beyond the last edge: open bucket "6+")
    assert list(hist["bucket"]) == ["0", "1-2", "3-5", "6+"]
    assert list(hist["rows"]) == [2, 2, 2, 2]
    labels = VALID["label"]
    groups = {"0": [0, 1], "1-2": [2, 3], "3-5": [4, 5], "6+": [6, 7]}
    for bucket, idx in groups.items():
        got = hist.set_index("bucket").loc[bucket]
        assert got["click_rate"] == pytest.approx(labels[idx].mean())
        assert got["auc"] == pytest.approx(roc_auc_score(labels[idx], VALID_PROB[idx]))
        want = log_loss(labels[idx], VALID_PROB[idx], labels=[0, 1])
        assert got["logloss"] == pytest.approx(want)
    cw = out[(out["split"] == "valid") & (out["breakdown"] == "target_item")].set_index("bucket")
    cold, warm = [1, 3, 5, 7], [0, 2, 4, 6]
    assert cw.loc["cold", "rows"] == 4 and cw.loc["warm", "rows"] == 4
    assert cw.loc["cold", "auc"] == pytest.approx(roc_auc_score(labels[cold], VALID_PROB[cold]))
    assert cw.loc["warm", "click_rate"] == pytest.approx(labels[warm].mean())
    test = out[(out["split"] == "test") & (out["breakdown"] == "history_length")]
    # test lengths 0,1,4,6,0,2 → "0": 2, "1-2": 2, "3-5": 1, "6+": 1
    assert list(test["rows"]) == [2, 2, 1, 1]
    test_cw = out[(out["split"] == "test") & (out["breakdown"] == "target_item")]
    assert list(test_cw["rows"]) == [2, 4]


def test_breakdown_keeps_empty_buckets_and_skips_test_without_labels():
    out = compute_breakdown(_rows(None), PARAMS)
    assert set(out["split"]) == {"valid"}
    hist = out[out["breakdown"] == "history_length"]
    assert list(hist["bucket"]) == ["0", "1-2", "3-5", "6-10", "11-20", "21-50", "51-100"]
    assert list(hist["rows"]) == [2, 2, 2, 2, 0, 0, 0]
    assert hist["auc"].iloc[4:].isna().all()


def _renders(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")


def test_plots_with_truth():
    rows = _rows(_truth())
    roc = plot_roc(rows)
    _renders(roc)
    labels = [line.get_label() for line in roc.axes[0].get_lines()]
    assert sum(label.startswith(("valid", "test")) for label in labels) == 4  # model + oracle
    _renders(plot_calibration(rows, PARAMS))
    _renders(plot_learning_curves(HISTORY))
    _renders(plot_auc_by_history(compute_breakdown(rows, PARAMS)))


def test_plots_without_truth_and_empty_history():
    rows = _rows(None)
    roc = plot_roc(rows)
    labels = [line.get_label() for line in roc.axes[0].get_lines()]
    assert [label for label in labels if label != "chance"] == [
        f"valid model (AUC {roc_auc_score(VALID['label'], VALID_PROB):.4f})"]
    _renders(roc)
    _renders(plot_calibration(rows, PARAMS))
    _renders(plot_learning_curves(HISTORY.iloc[:0]))
    _renders(plot_auc_by_history(compute_breakdown(rows, PARAMS)))


def test_auc_by_history_shows_each_buckets_row_count():
    breakdown = compute_breakdown(_rows(_truth()), PARAMS)
    fig = plot_auc_by_history(breakdown)
    _renders(fig)
    shown = [t.get_text() for t in fig.axes[1].texts]
    hist = breakdown[breakdown["breakdown"] == "history_length"]
    buckets = list(dict.fromkeys(hist["bucket"]))
    expected = []
    for split in [s for s in ("valid", "test") if (hist["split"] == s).any()]:
        part = hist[hist["split"] == split].set_index("bucket").reindex(buckets)
        expected += [f"{int(r):,}" for r in part["rows"].fillna(0)]
    assert shown == expected and any(text != "0" for text in shown)
