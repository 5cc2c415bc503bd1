"""Node tests of the ``submission`` stage: scoring order and every submission guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmctr.data.submission import SubmissionError
from mmctr.pipelines.submission.nodes import (
    build_submission,
    score_test,
)
from tests.pipelines.evaluation.tiny_inputs import (
    tiny_artifact,
    tiny_items,
    tiny_semantics,
    tiny_similarity,
    tiny_split,
)

CONF = Path(__file__).resolve().parents[3] / "conf"
PARAMS = {"probability_column": "Task1", "batch_size": 4, "device": "cpu", "bf16": False,
          "progress": False}
N = 7


@pytest.fixture(scope="module")
def artifact():
    return tiny_artifact()


@pytest.fixture
def test_features():
    return tiny_split(N, seed=5, labels=False)


@pytest.fixture
def predictions():
    return pd.DataFrame({"ID": np.arange(N, dtype=np.int64),
                         "prob": np.linspace(0.0, 1.0, N, dtype=np.float32)})


def test_unknown_parameter_raises(predictions, test_features):
    with pytest.raises(ValueError, match="unknown key"):
        build_submission(predictions, test_features, {**PARAMS, "probabilty_column": "x"})


def test_score_test_rows_in_order(artifact, test_features):
    sim = tiny_similarity(test_features, seed=6)
    args = (tiny_items(), tiny_semantics())
    out = score_test(artifact, test_features, sim, *args, PARAMS)
    assert list(out.columns) == ["ID", "prob"]
    np.testing.assert_array_equal(out["ID"], np.arange(N))
    assert np.all((out["prob"] > 0) & (out["prob"] < 1))
    # reversing the rows reverses the scores: probabilities follow test row order
    rev = {k: v[::-1].copy() for k, v in test_features.items()}
    rev_sim = {k: v[::-1].copy() for k, v in sim.items()}
    out_rev = score_test(artifact, rev, rev_sim, *args, {**PARAMS, "batch_size": 64})
    np.testing.assert_allclose(out_rev["prob"].to_numpy()[::-1], out["prob"], rtol=1e-5, atol=1e-6)


def test_build_submission_good(predictions, test_features):
    csv, zipped = build_submission(predictions, test_features, PARAMS)
    assert list(csv.columns) == ["ID", "Task1"]
    assert csv["ID"].dtype == np.int64
    np.testing.assert_array_equal(csv["Task1"], predictions["prob"])
    pd.testing.assert_frame_equal(csv, zipped)
    assert csv is not zipped


def test_probability_column_is_a_parameter(predictions, test_features):
    csv, _ = build_submission(predictions, test_features, {**PARAMS, "probability_column": "p"})
    assert list(csv.columns) == ["ID", "p"]
    with pytest.raises(ValueError, match="probability_column"):
        build_submission(predictions, test_features, {**PARAMS, "probability_column": "ID"})


def _bad(kind: str) -> pd.DataFrame:
    """A broken ``test_predictions`` frame per guard."""
    frame = pd.DataFrame({"ID": np.arange(N, dtype=np.int64),
                          "prob": np.full(N, 0.5, dtype=np.float64)})
    if kind == "too_few_rows":
        return frame.iloc[:-1]
    if kind == "too_many_rows":
        return pd.concat([frame, frame.iloc[:1]], ignore_index=True)
    if kind == "ids_swapped":
        frame.loc[[2, 3], "ID"] = [3, 2]
    elif kind == "ids_from_one":
        frame["ID"] = frame["ID"] + 1
    elif kind == "nan":
        frame.loc[4, "prob"] = np.nan
    elif kind == "inf":
        frame.loc[4, "prob"] = np.inf
    elif kind == "above_one":
        frame.loc[4, "prob"] = 1.5
    elif kind == "below_zero":
        frame.loc[4, "prob"] = -0.25
    elif kind == "missing_prob":
        frame = frame.rename(columns={"prob": "p"})
    return frame


GUARDS = {
    "too_few_rows": r"6 rows but the test split has 7",
    "too_many_rows": r"8 rows but the test split has 7",
    "ids_swapped": r"row 2 has ID 3, expected 2",
    "ids_from_one": r"row 0 has ID 1, expected 0",
    "nan": r"'Task1' is not finite at row 4 \(ID 4\): nan",
    "inf": r"'Task1' is not finite at row 4 \(ID 4\): inf",
    "above_one": r"'Task1' is above 1 at row 4 \(ID 4\): 1.5",
    "below_zero": r"'Task1' is below 0 at row 4 \(ID 4\): -0.25",
    "missing_prob": r"lacks column\(s\) \['prob'\]",
}


@pytest.mark.parametrize("kind", sorted(GUARDS))
def test_guards_raise_with_the_offending_row(kind, test_features):
    with pytest.raises(SubmissionError, match=GUARDS[kind]):
        build_submission(_bad(kind), test_features, PARAMS)


def test_bounds_are_inclusive(test_features):
    frame = pd.DataFrame({"ID": np.arange(N), "prob": [0.0, 1.0, 0.5, 0.0, 1.0, 0.2, 0.9]})
    csv, _ = build_submission(frame, test_features, PARAMS)
    assert len(csv) == N
