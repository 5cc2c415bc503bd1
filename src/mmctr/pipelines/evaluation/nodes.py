"""Evaluation nodes: score valid, gather labelled rows, metrics and breakdowns.

Hidden test labels exist only for synthetic data (``synthetic_truth``, columns
split, row, label, prob); on the real download ``synthetic_truth`` is ``None`` and
every test metric is skipped. All metrics come from :mod:`mmctr.engine.metrics`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mmctr.engine.fit import trainable_parameters
from mmctr.engine.metrics import auc, logloss, metric_dict
from mmctr.engine.scoring import score_split
from mmctr.pipelines.evaluation.config import evaluation_config

logger = logging.getLogger(__name__)

__all__ = [
    "SPLITS",
    "bucket_labels",
    "compute_breakdown",
    "compute_metrics",
    "gather_rows",
    "score_valid",
]

SPLITS = ("valid", "test")
BREAKDOWN_COLUMNS = ["split", "breakdown", "bucket", "rows", "click_rate", "auc", "logloss"]


def score_valid(
    model: dict[str, Any],
    valid_features: dict[str, np.ndarray],
    valid_similarity: dict[str, np.ndarray] | None,
    item_features: dict[str, np.ndarray],
    item_semantics: dict[str, np.ndarray] | None,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Click probabilities of every valid row under the trained model.

    Args:
        model: the saved model artifact (``model`` catalog entry).
        valid_features: valid split arrays (with ``label``).
        valid_similarity: valid target-history similarities.
        item_features: item table (tags, frozen embeddings).
        item_semantics: RQ codes and nearest neighbours per item.
        params: the ``evaluation`` parameter block.

    Returns:
        ``valid_predictions``: columns ``row`` (int64), ``prob`` (float32),
        ``label`` (float32), in valid row order.
    """
    cfg = evaluation_config(params)
    probs = score_split(model, valid_features, valid_similarity, item_features,
                        item_semantics, cfg.scoring)
    return pd.DataFrame(
        {
            "row": np.arange(len(probs), dtype=np.int64),
            "prob": probs,
            "label": np.asarray(valid_features["label"], dtype=np.float32),
        }
    )


def _history_length(features: Mapping[str, np.ndarray]) -> np.ndarray:
    return (np.asarray(features["item_seq"]) != 0).sum(axis=1).astype(np.int64)


def _truth(synthetic_truth: pd.DataFrame | None, split: str, num_rows: int) -> pd.DataFrame | None:
    """The truth rows of ``split`` sorted by row, or ``None`` when there are none."""
    if synthetic_truth is None:
        return None
    part = synthetic_truth[synthetic_truth["split"] == split]
    if part.empty:
        return None
    part = part.sort_values("row")
    rows = part["row"].to_numpy()
    if len(part) != num_rows or not np.array_equal(rows, np.arange(num_rows)):
        raise ValueError(
            f"synthetic_truth has {len(part)} '{split}' rows but the {split} split has "
            f"{num_rows}, or its rows are not 0..{num_rows - 1}: the truth belongs to "
            "other data (regenerate the synthetic data)"
        )
    return part


def _split_rows(
    split: str,
    predictions: pd.DataFrame,
    id_column: str,
    features: Mapping[str, np.ndarray],
    labels: np.ndarray,
    true_prob: np.ndarray,
    train_items: np.ndarray,
) -> pd.DataFrame:
    num_rows = int(np.asarray(features["item_id"]).shape[0])
    ids = predictions[id_column].to_numpy()
    if len(predictions) != num_rows or not np.array_equal(ids, np.arange(num_rows)):
        raise ValueError(
            f"{split} predictions have {len(predictions)} rows (column '{id_column}') but "
            f"the {split} split has {num_rows}; expected rows 0..{num_rows - 1} in order"
        )
    return pd.DataFrame(
        {
            "split": split,
            "row": np.arange(num_rows, dtype=np.int64),
            "user_id": np.asarray(features["user_id"]),
            "history_length": _history_length(features),
            "cold": ~np.isin(np.asarray(features["item_id"]), train_items),
            "label": np.asarray(labels, dtype=np.float64),
            "prob": predictions["prob"].to_numpy(dtype=np.float64),
            "true_prob": np.asarray(true_prob, dtype=np.float64),
        }
    )


def gather_rows(
    valid_predictions: pd.DataFrame,
    valid_features: dict[str, np.ndarray],
    test_predictions: pd.DataFrame,
    test_features: dict[str, np.ndarray],
    train_features: dict[str, np.ndarray],
    synthetic_truth: pd.DataFrame | None,
) -> pd.DataFrame:
    """One labelled frame of every row that can be evaluated.

    Valid rows always; test rows only when ``synthetic_truth`` holds hidden test
    labels. A target item is *cold* when it is never a train target.

    Args:
        valid_predictions: columns row, prob, label (valid row order).
        valid_features: valid split arrays.
        test_predictions: columns ID, prob (test row order).
        test_features: test split arrays.
        train_features: train split arrays (only ``item_id`` is read).
        synthetic_truth: columns split, row, label, prob; ``None`` on real data.

    Returns:
        Columns split, row, user_id, history_length, cold, label, prob, true_prob
        (the generator's click probability; NaN when unknown).
    """
    train_items = np.unique(np.asarray(train_features["item_id"]))
    n_valid = int(np.asarray(valid_features["item_id"]).shape[0])
    valid_truth = _truth(synthetic_truth, "valid", n_valid)
    labels = np.asarray(valid_features["label"], dtype=np.float64)
    if valid_truth is not None and not np.array_equal(valid_truth["label"].to_numpy(), labels):
        logger.warning("synthetic_truth valid labels differ from valid_features labels")
    valid_true_prob = (
        valid_truth["prob"].to_numpy() if valid_truth is not None else np.full(n_valid, np.nan)
    )
    frames = [
        _split_rows("valid", valid_predictions, "row", valid_features, labels, valid_true_prob,
                    train_items)
    ]
    n_test = int(np.asarray(test_features["item_id"]).shape[0])
    test_truth = _truth(synthetic_truth, "test", n_test)
    if test_truth is None:
        logger.info("no hidden test labels (real data): test metrics are skipped")
    else:
        frames.append(
            _split_rows(
                "test", test_predictions, "ID", test_features, test_truth["label"].to_numpy(),
                test_truth["prob"].to_numpy(), train_items,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _clean(value: Any) -> Any:
    """JSON-safe scalars: numpy → Python, NaN/inf → None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _split_metrics(split: str, part: pd.DataFrame, oracle: Mapping[str, Any]) -> dict[str, Any]:
    """``<split>_{auc,logloss,gauc,rows}`` and, when the truth is known, the oracle's
    values and the gaps (see :func:`compute_metrics`)."""
    out: dict[str, Any] = {}
    labels, probs = part["label"].to_numpy(), part["prob"].to_numpy()
    for key, value in metric_dict(labels, probs, part["user_id"].to_numpy()).items():
        out[f"{split}_{key}"] = int(value) if key == "rows" else value
    true_prob = part["true_prob"].to_numpy()
    known = bool(np.isfinite(true_prob).all())
    for name, fn in (("auc", auc), ("logloss", logloss)):
        value = oracle.get(f"{split}_{name}")
        if value is None and known:
            value = fn(labels, true_prob)
        if value is not None:
            out[f"{split}_oracle_{name}"] = float(value)
    if f"{split}_oracle_auc" in out:
        out[f"{split}_oracle_auc_gap"] = out[f"{split}_oracle_auc"] - out[f"{split}_auc"]
    if f"{split}_oracle_logloss" in out:
        out[f"{split}_oracle_logloss_gap"] = (
            out[f"{split}_logloss"] - out[f"{split}_oracle_logloss"]
        )
    return out


def _model_summary(model: Mapping[str, Any], training_history: pd.DataFrame | None) -> dict[str, Any]:
    """The model's name, size, best epoch and training throughput."""
    history = training_history if training_history is not None else pd.DataFrame()
    out: dict[str, Any] = {
        "model_name": str(model["model_name"]),
        "trainable_parameters": trainable_parameters(model),
    }
    best_epoch = model.get("best_epoch")
    if best_epoch is None and "valid_auc" in history and len(history):
        best_epoch = history.loc[history["valid_auc"].idxmax(), "epoch"]
    out["best_epoch"] = int(best_epoch) if best_epoch is not None else None
    out["epochs_trained"] = len(history)
    if len(history):
        out["best_valid_auc"] = float(history["valid_auc"].max())
        if "samples_per_s" in history:
            out["mean_samples_per_s"] = float(history["samples_per_s"].mean())
    return out


def compute_metrics(
    evaluation_rows: pd.DataFrame,
    synthetic_oracle: dict[str, Any] | None,
    training_history: pd.DataFrame,
    model: dict[str, Any],
) -> dict[str, Any]:
    """Headline metrics: AUC, logloss, user-grouped AUC, the oracle gap, the model.

    Args:
        evaluation_rows: from :func:`gather_rows`.
        synthetic_oracle: the generator's own scores (``valid_auc``, ``test_auc``,
            ``valid_logloss``, ...) or ``None``; missing values are recomputed from
            ``true_prob`` when it is known.
        training_history: per-epoch train_loss, valid_auc, ... (training output).
        model: the saved model artifact.

    Returns:
        A flat dict: ``<split>_{auc,logloss,gauc,rows}`` for valid (and test when
        labels exist); ``<split>_oracle_{auc,logloss}``, ``<split>_oracle_auc_gap``
        (oracle − model) and ``<split>_oracle_logloss_gap`` (model − oracle) when
        the truth is known; ``has_test_labels``, ``model_name``,
        ``trainable_parameters``, ``best_epoch``, ``epochs_trained``,
        ``best_valid_auc`` and ``mean_samples_per_s``. Undefined values are ``None``.
    """
    oracle = dict(synthetic_oracle or {})
    out: dict[str, Any] = {}
    for split in SPLITS:
        part = evaluation_rows[evaluation_rows["split"] == split]
        if not part.empty:
            out.update(_split_metrics(split, part, oracle))
    out["has_test_labels"] = bool((evaluation_rows["split"] == "test").any())
    out.update(_model_summary(model, training_history))
    for split in SPLITS:
        if f"{split}_auc" in out:
            logger.info("%s: AUC %s, logloss %s, gAUC %s, oracle gap %s", split,
                        out[f"{split}_auc"], out[f"{split}_logloss"], out[f"{split}_gauc"],
                        out.get(f"{split}_oracle_auc_gap"))
    return {key: _clean(value) for key, value in out.items()}


def bucket_labels(edges: tuple[int, ...] | list[int]) -> list[str]:
    """Names of the buckets ``[e_i, e_{i+1})``: ``"0"``, ``"1-2"``, ``"3-5"``, ..."""
    return [
        str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}"
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]


def _history_bucket(lengths: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """Bucket name per row; lengths outside the edges get open buckets ``<e0`` / ``eN+``."""
    names = np.array([f"<{edges[0]}", *bucket_labels(edges), f"{edges[-1]}+"], dtype=object)
    return names[np.digitize(lengths, edges)]


def _group_metrics(part: pd.DataFrame) -> dict[str, float]:
    labels, probs = part["label"].to_numpy(), part["prob"].to_numpy()
    return {
        "rows": len(part),
        "click_rate": float(labels.mean()) if len(part) else float("nan"),
        "auc": auc(labels, probs),
        "logloss": logloss(labels, probs),
    }


def compute_breakdown(evaluation_rows: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Metrics by history-length bucket and by cold versus warm target item.

    Every configured history bucket appears (``rows`` 0 and NaN metrics when
    empty); open buckets below the first or beyond the last edge appear only when
    they hold rows.

    Args:
        evaluation_rows: from :func:`gather_rows`.
        params: the ``evaluation`` parameter block (``history_buckets``).

    Returns:
        Columns split, breakdown (``history_length`` / ``target_item``), bucket,
        rows, click_rate, auc, logloss.
    """
    edges = evaluation_config(params).history_buckets
    inner = bucket_labels(edges)
    records = []
    for split in SPLITS:
        part = evaluation_rows[evaluation_rows["split"] == split]
        if part.empty:
            continue
        buckets = _history_bucket(part["history_length"].to_numpy(), edges)
        order = [f"<{edges[0]}", *inner, f"{edges[-1]}+"]
        for name in order:
            rows = part[buckets == name]
            if name in inner or len(rows):
                records.append({"split": split, "breakdown": "history_length", "bucket": name,
                                **_group_metrics(rows)})
        for name, mask in (("cold", part["cold"]), ("warm", ~part["cold"])):
            records.append({"split": split, "breakdown": "target_item", "bucket": name,
                            **_group_metrics(part[mask.to_numpy()])})
    return pd.DataFrame.from_records(records, columns=BREAKDOWN_COLUMNS)
