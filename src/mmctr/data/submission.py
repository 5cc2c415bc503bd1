"""The submission file's contract (docs/DATA_CONTRACT.md): one row per test row, ``ID``
0..N-1 in test row order and a probability column of finite values in [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ID_COLUMN", "SubmissionError", "check_submission"]

ID_COLUMN = "ID"  # the submission's row-id column


class SubmissionError(ValueError):
    """The submission breaks its contract (row count, IDs, probability values)."""


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
    if list(submission.columns) != [ID_COLUMN, column]:
        raise SubmissionError(
            f"submission columns must be ['{ID_COLUMN}', '{column}'], got {list(submission.columns)}"
        )
    if len(submission) != num_rows:
        raise SubmissionError(
            f"submission has {len(submission)} rows but the test split has {num_rows}: "
            "exactly one row per test row is required"
        )
    if not pd.api.types.is_numeric_dtype(submission[ID_COLUMN]):
        raise SubmissionError(f"'{ID_COLUMN}' must be integer, got dtype {submission[ID_COLUMN].dtype}")
    ids = submission[ID_COLUMN].to_numpy()
    bad = ids != np.arange(num_rows)
    if bad.any():
        row = _first(bad)
        raise SubmissionError(
            f"'{ID_COLUMN}' must be 0..{num_rows - 1} in test row order: row {row} has ID "
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
