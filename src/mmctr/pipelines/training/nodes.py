"""Training nodes: train the configured model (the library is :mod:`mmctr.engine.fit`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmctr.engine.batching import merge_rows
from mmctr.engine.fit import fit, model_vocab, resolve_training

__all__ = ["train"]


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
