"""Training nodes: train the configured model (the library is :mod:`mmctr.engine.fit`),
then bundle it with what scoring needs (:mod:`mmctr.serving.bundle`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmctr.engine.batching import merge_rows
from mmctr.engine.fit import fit, model_vocab, resolve_training
from mmctr.serving.bundle import ModelBundle, make_bundle

__all__ = ["bundle_model", "train"]


def train(
    train_features: dict[str, np.ndarray],
    train_similarity: dict[str, np.ndarray],
    valid_features: dict[str, np.ndarray],
    valid_similarity: dict[str, np.ndarray],
    item_features: dict[str, np.ndarray],
    item_semantics: dict[str, np.ndarray],
    vocab: dict[str, int],
    params: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train the configured model with early stopping on valid AUC.

    Args:
        train_features: train split arrays (with labels).
        train_similarity: train target-history similarities.
        valid_features: valid split arrays (with labels).
        valid_similarity: valid similarities.
        item_features: item table (tags, frozen embeddings).
        item_semantics: RQ codes and nearest neighbours per item.
        vocab: vocabulary sizes.
        params: the ``training`` parameter block.

    Returns:
        The model artifact (best weights + everything needed to rebuild it) and the
        per-epoch history.
    """
    name, model_params, cfg = resolve_training(params)
    artifact = fit(
        name, model_params, cfg,
        merge_rows(train_features, train_similarity),
        merge_rows(valid_features, valid_similarity),
        {"item_features": item_features, "item_semantics": item_semantics},
        model_vocab(vocab, item_semantics, train_similarity, item_features),
    )
    return artifact, pd.DataFrame(artifact["history"])


def bundle_model(
    model: dict[str, Any],
    item_features: dict[str, np.ndarray],
    item_semantics: dict[str, np.ndarray] | None,
    item_popularity: dict[str, np.ndarray],
    vocab: dict[str, int],
    threshold: float,
    seq_width: int | None,
    item_collab: dict[str, np.ndarray] | None = None,
) -> ModelBundle:
    """The trained model with everything scoring new rows needs (docs/SERVING.md).

    Args:
        model: the model artifact from :func:`train`.
        item_features: the item table it trained on (tags, embeddings).
        item_semantics: RQ codes and nearest neighbours per item.
        item_popularity: train counts per item (``row_stats`` reads them).
        vocab: vocabulary sizes (``max_len``: the history width kept).
        threshold: ``params:semantic_similarity.threshold`` (``sim_stats``).
        seq_width: ``params:feature_engineering.seq_width``: the widest history a request
            may carry (``None``: ``max_len``).
        item_collab: the collaborative stage's tables (kept when the model reads
            ``collab_stats``; ``None`` when there are none).

    Returns:
        The bundle (saved versioned, beside ``model``).
    """
    return make_bundle(model, item_features, item_semantics, item_popularity,
                       threshold, seq_width or int(vocab["max_len"]), item_collab)
