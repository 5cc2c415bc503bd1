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

from mmctr.engine.scoring import score_split
from mmctr.pipelines.submission.config import ID_COLUMN, submission_config

logger = logging.getLogger(__name__)

__all__ = [
    "SubmissionError",
    "build_submission",
    "check_submission",
    "score_test",
]

ID = ID_COLUMN
PROB = "prob"  # probability column of ``test_predictions``


class SubmissionError(ValueError):
    """The submission breaks its contract (row count, IDs, probability values)."""


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


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_submission(submission: pd.DataFrame, num_rows: int, column: str) -> None:
    """Raise :class:`SubmissionError` unless ``submission`` is a valid submission.

    Args:
        submission: the frame to check.
        num_rows: rows of the test split.
        column: name of the probability column.

    Raises:
        SubmissionError: on wrong columns, a row count other than ``num_rows``, IDs
            other than 0..N-1 in order, or a probability that is not finite or not in
            [0, 1]; the message names the first offending row, its ID and its value.
    """
    if list(submission.columns) != [ID, column]:
        raise SubmissionError(
            f"submission columns must be ['{ID}', '{column}'], got {list(submission.columns)}"
        )
    if len(submission) != num_rows:
        raise SubmissionError(
            f"submission has {len(submission)} rows but the test split has {num_rows}: "
            "exactly one row per test row is required"
        )
    if not pd.api.types.is_numeric_dtype(submission[ID]):
        raise SubmissionError(f"'{ID}' must be integer, got dtype {submission[ID].dtype}")
    ids = submission[ID].to_numpy()
    bad = ids != np.arange(num_rows)
    if bad.any():
        row = _first(bad)
        raise SubmissionError(
            f"'{ID}' must be 0..{num_rows - 1} in test row order: row {row} has ID "
            f"{ids[row].item()!r}, expected {row}"
        )
    try:
        probs = submission[column].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise SubmissionError(
            f"'{column}' must be numeric, got dtype {submission[column].dtype}"
        ) from err
    checks = (
        (~np.isfinite(probs), "is not finite"),
        (probs < 0.0, "is below 0"),
        (probs > 1.0, "is above 1"),
    )
    for mask, what in checks:
        if mask.any():
            row = _first(mask)
            raise SubmissionError(
                f"'{column}' {what} at row {row} (ID {ids[row].item()}): {probs[row].item()!r} "
                f"({int(mask.sum())} such row(s)); every probability must be finite and "
                "within [0, 1]"
            )


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
            :func:`check_submission`); nothing is then saved.
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
