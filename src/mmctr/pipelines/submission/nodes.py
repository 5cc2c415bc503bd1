"""Submission nodes: score the test split, then build and check ``prediction.csv``.

The submission (docs/DATA_CONTRACT.md) has one row per test row: ``ID`` (0..N-1 in test row
order) and the click probability in a column named by ``probability_column``
(``Task1`` for the organisers' scorer). :func:`build_submission` refuses to return
a frame that breaks that contract, so Kedro saves nothing and a previous good file
stays as it was.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from mmctr.data.submission import ID_COLUMN, SubmissionError, check_submission
from mmctr.engine.scoring import score_split
from mmctr.pipelines.submission.config import submission_config

logger = logging.getLogger(__name__)

__all__ = [
    "build_submission",
    "score_test",
]

ID = ID_COLUMN
PROB = "prob"  # probability column of ``test_predictions``


def _num_rows(features: dict[str, np.ndarray]) -> int:
    return int(np.asarray(features["item_id"]).shape[0])


def score_test(
    model: dict[str, Any],
    test_features: dict[str, np.ndarray],
    test_similarity: dict[str, np.ndarray] | None,
    item_features: dict[str, np.ndarray],
    item_semantics: dict[str, np.ndarray] | None,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Click probabilities of every test row under the trained model.

    Args:
        model: the saved model artifact (``model`` catalog entry).
        test_features: test split arrays (ARCHITECTURE.md §2), no labels.
        test_similarity: test target-history similarities (§3).
        item_features: item table (tags, frozen embeddings).
        item_semantics: RQ codes and nearest neighbours per item.
        params: the ``submission`` parameter block.

    Returns:
        ``test_predictions``: columns ``ID`` (int64, 0..N-1 in test row order) and
        ``prob`` (float32).
    """
    cfg = submission_config(params)
    probs = score_split(model, test_features, test_similarity, item_features,
                        item_semantics, cfg.scoring)
    return pd.DataFrame({ID: np.arange(len(probs), dtype=np.int64), PROB: probs})


def build_submission(
    test_predictions: pd.DataFrame,
    test_features: dict[str, np.ndarray],
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the checked submission frame (docs/DATA_CONTRACT.md).

    Args:
        test_predictions: columns ``ID`` and ``prob`` (from :func:`score_test`).
        test_features: test split arrays, for the expected row count.
        params: the ``submission`` parameter block.

    Returns:
        The submission (columns ``ID`` and ``probability_column``) twice: for
        ``prediction_csv`` and for ``prediction_zip``.

    Raises:
        SubmissionError: when the submission breaks its contract (see
            :func:`~mmctr.data.submission.check_submission`); nothing is then saved.
    """
    cfg = submission_config(params)
    missing = [c for c in (ID, PROB) if c not in test_predictions.columns]
    if missing:
        raise SubmissionError(
            f"test_predictions lacks column(s) {missing}; has {list(test_predictions.columns)}"
        )
    submission = pd.DataFrame({
        ID: test_predictions[ID].to_numpy(),
        cfg.probability_column: test_predictions[PROB].to_numpy(),
    })
    check_submission(submission, _num_rows(test_features), cfg.probability_column)
    submission[ID] = submission[ID].astype(np.int64)
    logger.info(
        "submission: %d rows, mean %s %.4f", len(submission), cfg.probability_column,
        float(submission[cfg.probability_column].mean()) if len(submission) else float("nan"),
    )
    return submission, submission.copy()
