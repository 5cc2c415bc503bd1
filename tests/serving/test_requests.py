"""Request checks: one error naming the row and the column; good rows score as the
submission's code path scores the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mmctr.data.kernels import history_similarity, l2_normalise, row_statistics
from mmctr.engine.scoring import score
from mmctr.serving.requests import RequestError

from .conftest import padded_features, request_frame


def _submission_scores(bundle, rows: pd.DataFrame, width: int) -> np.ndarray:
    """What the pipelines compute: padded features, the similarity stage, engine.score."""
    features = padded_features(rows, width)
    seq = features["item_seq"]
    table = bundle.item_sources["item_features"]
    emb, cpu = l2_normalise(table["item_emb"]), torch.device("cpu")
    hist, stats = history_similarity(seq, features["item_id"], emb, 0.5, 7, cpu)
    dense = row_statistics(seq, features["item_id"], emb, table["item_tags"], hist,
                           bundle.popularity, 7, cpu)
    similarity = {"hist_sim": hist, "sim_stats": stats, "row_stats": dense}
    return score(bundle.artifact, features, similarity, bundle.item_sources, progress=False)


def test_scores_equal_the_submission_path(bundle, scorer):
    rows = request_frame(40)
    expected = _submission_scores(bundle, rows, 6)
    np.testing.assert_allclose(scorer.score(rows), expected, rtol=0, atol=1e-6)


def test_padded_and_unpadded_histories_score_the_same(scorer):
    rows = request_frame(10)
    padded = rows.assign(item_seq=[[0] * (10 - len(s)) + s for s in rows["item_seq"]])
    np.testing.assert_array_equal(scorer.score(padded), scorer.score(rows))


def test_a_history_wider_than_max_len_keeps_its_newest_items(scorer):
    rows = request_frame(4)
    wide = rows.assign(item_seq=[[5, 6, 7, 8] + [9] * 6] * 4)  # 10 items, max_len 6
    cut = rows.assign(item_seq=[[9] * 6] * 4)  # only the newest 6 are read
    np.testing.assert_array_equal(scorer.score(wide), scorer.score(cut))


def test_arrow_backed_columns_are_read_as_they_are(scorer):
    rows = request_frame(8)
    arrow = rows.assign(item_seq=pd.Series(rows["item_seq"],
                                           dtype=pd.ArrowDtype(__import__("pyarrow")
                                                               .list_(__import__("pyarrow")
                                                                      .int64()))))
    np.testing.assert_array_equal(scorer.score(arrow), scorer.score(rows))


def _bad(kind: str) -> tuple[pd.DataFrame, int | None, str | None, str]:
    rows = request_frame(6)
    seq = list(rows["item_seq"])
    cases = {
        "unknown item_id": (rows.assign(item_id=[1, 2, 3, 30, 4, 5]), 3, "item_id", "found 30"),
        "item_id 0": (rows.assign(item_id=[1, 0, 3, 3, 4, 5]), 1, "item_id", "found 0"),
        "history id outside": (rows.assign(item_seq=seq[:2] + [[3, 99]] + seq[3:]), 2,
                               "item_seq", "found 99"),
        "negative history id": (rows.assign(item_seq=seq[:4] + [[-2]] + seq[5:]), 4,
                                "item_seq", "found -2"),
        "history too wide": (rows.assign(item_seq=seq[:1] + [[1] * 11] + seq[2:]), 1,
                             "item_seq", "at most 10 history items"),
        "right padding": (rows.assign(item_seq=seq[:5] + [[4, 0]]), 5, "item_seq",
                          "right padding"),
        "string level": (rows.assign(likes_level=["1"] * 6), 0, "likes_level", "str"),
        "level outside vocabulary": (rows.assign(views_level=[0, 1, 2, 3, 4, 11]), 5,
                                     "views_level", "found 11"),
        "fractional id": (rows.assign(item_id=[1.0, 2.5, 3, 3, 4, 5]), 1, "item_id", "2.5"),
        "null id": (rows.assign(item_id=[1, 2, None, 3, 4, 5]), 2, "item_id", "a null"),
        "history not a list": (rows.assign(item_seq=[5] * 6), 0, "item_seq", "list"),
        "history of strings": (rows.assign(item_seq=[["a"]] * 6), 0, "item_seq", "string"),
        "missing column": (rows.drop(columns="views_level"), None, "views_level",
                           "no such column"),
        "empty request": (rows.iloc[:0], None, None, "empty request"),
    }
    return cases[kind]


KINDS = ["unknown item_id", "item_id 0", "history id outside", "negative history id",
         "history too wide", "right padding", "string level", "level outside vocabulary",
         "fractional id", "null id", "history not a list", "history of strings",
         "missing column", "empty request"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_request_is_one_error_naming_row_and_column(scorer, kind):
    frame, row, column, found = _bad(kind)
    with pytest.raises(RequestError) as caught:
        scorer.score(frame)
    message = str(caught.value)
    assert "\n" not in message and found in message
    assert caught.value.row == row and caught.value.column == column
    if row is not None:
        assert f"row {row}," in message
    if column is not None:
        assert f"column '{column}'" in message


def test_row_numbers_count_from_the_whole_file(scorer):
    frame, _, _, _ = _bad("unknown item_id")
    with pytest.raises(RequestError, match="row 1003,"):
        scorer.score(frame, row_offset=1000)


def test_items_never_seen_in_train_score_through_content(bundle, scorer):
    # popularity 0 for item 7 (never a train target or history item): still a probability
    bundle.popularity[7] = 0.0
    rows = request_frame(3).assign(item_id=7)
    probs = scorer.score(rows)
    assert np.isfinite(probs).all() and ((probs > 0) & (probs < 1)).all()
