"""Evaluation figures (nodes): ROC, reliability diagram, learning curves, AUC by history.

Each node returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, no backend switch); the catalog's ``MatplotlibDataset`` saves it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from mmctr.engine.metrics import auc
from mmctr.pipelines.evaluation.config import evaluation_config
from mmctr.pipelines.evaluation.nodes import SPLITS

logger = logging.getLogger(__name__)

__all__ = ["plot_auc_by_history", "plot_calibration", "plot_learning_curves", "plot_roc"]

COLORS = {"valid": "tab:blue", "test": "tab:orange"}


def _two_classes(labels: np.ndarray) -> bool:
    return np.unique(labels).size == 2


def plot_roc(evaluation_rows: pd.DataFrame) -> Figure:
    """ROC curves of the model on valid (and test when labelled), with the oracle's.

    Args:
        evaluation_rows: from ``gather_rows`` (split, label, prob, true_prob).

    Returns:
        The figure; the oracle (the generator's true probabilities) is drawn dashed
        when known.
    """
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="chance")
    for split in SPLITS:
        part = evaluation_rows[evaluation_rows["split"] == split]
        labels = part["label"].to_numpy()
        if part.empty or not _two_classes(labels):
            continue
        for column, style, who in (("prob", "-", "model"), ("true_prob", "--", "oracle")):
            scores = part[column].to_numpy()
            if not np.isfinite(scores).all():
                continue
            fpr, tpr, _ = roc_curve(labels, scores)
            ax.plot(fpr, tpr, ls=style, color=COLORS[split], lw=1.4 if who == "model" else 1.0,
                    label=f"{split} {who} (AUC {auc(labels, scores):.4f})")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC",
           xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_calibration(evaluation_rows: pd.DataFrame, params: dict[str, Any]) -> Figure:
    """Reliability diagram (``calibration_curve``, equal-width bins) and score histogram.

    Args:
        evaluation_rows: from ``gather_rows``.
        params: the ``evaluation`` parameter block (``calibration_bins``).

    Returns:
        The figure: observed click rate against mean predicted probability per bin
        (top) and the distribution of predicted probabilities (bottom).
    """
    bins = evaluation_config(params).calibration_bins
    fig = Figure(figsize=(5.5, 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="perfectly calibrated")
    for split in SPLITS:
        part = evaluation_rows[evaluation_rows["split"] == split]
        if part.empty:
            continue
        labels, probs = part["label"].to_numpy(), part["prob"].to_numpy()
        observed, predicted = calibration_curve(labels, probs, n_bins=bins, strategy="uniform")
        top.plot(predicted, observed, marker="o", ms=3, color=COLORS[split], label=split)
        bottom.hist(probs, bins=bins, range=(0, 1), histtype="step", color=COLORS[split],
                    label=split)
    top.set(ylabel="observed click rate", title="Reliability diagram", xlim=(0, 1), ylim=(0, 1))
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.set(xlabel="predicted probability", ylabel="rows")
    return fig


def plot_learning_curves(training_history: pd.DataFrame) -> Figure:
    """Train loss, valid logloss and valid AUC per epoch, best epoch marked.

    Args:
        training_history: columns epoch, train_loss, valid_auc, valid_logloss, ...

    Returns:
        The figure (losses left, valid AUC right).
    """
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    history = training_history if training_history is not None else pd.DataFrame()
    if len(history):
        epochs = history["epoch"].to_numpy()
        left.plot(epochs, history["train_loss"], marker="o", ms=3, label="train loss")
        left.plot(epochs, history["valid_logloss"], marker="o", ms=3, label="valid logloss")
        right.plot(epochs, history["valid_auc"], marker="o", ms=3, color="tab:green",
                   label="valid AUC")
        best = int(history["valid_auc"].to_numpy().argmax())
        right.axvline(epochs[best], color="grey", ls="--", lw=0.8,
                      label=f"best epoch {epochs[best]}")
    else:
        logger.warning("training history is empty: learning-curve plot left blank")
    left.set(xlabel="epoch", ylabel="binary cross-entropy", title="Losses")
    right.set(xlabel="epoch", ylabel="AUC", title="Validation AUC")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    return fig


def plot_auc_by_history(evaluation_breakdown: pd.DataFrame) -> Figure:
    """AUC per history-length bucket for valid (and test when labelled), with row shares.

    Args:
        evaluation_breakdown: from ``compute_breakdown``.

    Returns:
        The figure: AUC per bucket (lines) over each bucket's share of rows (bars),
        each bar labelled with its row count.
    """
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    share_ax = ax.twinx()
    hist = evaluation_breakdown[evaluation_breakdown["breakdown"] == "history_length"]
    buckets = list(dict.fromkeys(hist["bucket"]))  # first-seen order = bucket order
    x = np.arange(len(buckets))
    splits = [s for s in SPLITS if (hist["split"] == s).any()]
    width = 0.8 / max(len(splits), 1)
    for i, split in enumerate(splits):
        part = hist[hist["split"] == split].set_index("bucket").reindex(buckets)
        rows = part["rows"].fillna(0).to_numpy(dtype=float)
        share = rows / rows.sum() if rows.sum() else rows
        bars = share_ax.bar(x + (i - (len(splits) - 1) / 2) * width, share, width=width,
                            color=COLORS[split], alpha=0.2)
        # each bucket's row count on its bar: an AUC over 12 rows is not one over 12,000
        share_ax.bar_label(bars, labels=[f"{int(r):,}" for r in rows], fontsize="x-small",
                           color=COLORS[split], rotation=90, padding=2)
        ax.plot(x, part["auc"].to_numpy(dtype=float), marker="o", color=COLORS[split],
                label=f"{split} AUC")
    ax.set_xticks(x, buckets)
    ax.set(xlabel="history length (items)", ylabel="AUC", title="AUC by history length")
    share_ax.set_ylabel("share of rows (bars)")
    ax.set_zorder(share_ax.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.grid(alpha=0.3)
    if splits:
        ax.legend(loc="lower right", fontsize="small")
    return fig
