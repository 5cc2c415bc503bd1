"""A tiny bundle (the default model's inputs: similarity and row statistics) and its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mmctr.models import build_model
from mmctr.serving.bundle import ModelBundle, make_bundle
from tests.pipelines.evaluation.tiny_inputs import (
    MODEL_PARAMS,
    NUM_ITEMS,
    VOCAB,
    tiny_items,
    tiny_semantics,
    tiny_split,
)

PARAMS = {**MODEL_PARAMS, "similarity_input": True, "dense_input": True}
MAX_HISTORY = 10  # the data contract's width for these rows (wider than VOCAB max_len 6)


def tiny_bundle(params: dict | None = None) -> ModelBundle:
    """A ``transformer_dcn`` bundle with seeded weights over the tiny item table."""
    vocab = {**VOCAB, "row_stats": 12}
    torch.manual_seed(0)
    model = build_model("transformer_dcn", params or PARAMS, vocab)
    artifact = {"model_name": "transformer_dcn", "model_params": params or PARAMS,
                "vocab": vocab, "state_dict": model.eval().state_dict(), "best_epoch": 1}
    popularity = {"target_count": np.arange(NUM_ITEMS, dtype=np.float32),
                  "history_count": np.full(NUM_ITEMS, 2.0, np.float32)}
    return make_bundle(artifact, tiny_items(), tiny_semantics(), popularity, 0.5, MAX_HISTORY)


def request_frame(rows: int = 20, seed: int = 3) -> pd.DataFrame:
    """Request rows as a JSON client sends them: histories without padding."""
    split = tiny_split(rows, seed=seed, labels=False)
    return pd.DataFrame({
        "user_id": split["user_id"],
        "item_seq": [r[r != 0].tolist() for r in split["item_seq"]],
        "likes_level": split["likes_level"],
        "views_level": split["views_level"],
        "item_id": split["item_id"],
    })


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return tiny_bundle()


@pytest.fixture(scope="module")
def scorer(bundle):
    from mmctr.serving.scorer import BundleScorer

    return BundleScorer(bundle)


def padded_features(rows, width: int) -> dict:
    """The feature stage's arrays of request ``rows``: histories left-padded to ``width``."""
    seq = np.zeros((len(rows), width), dtype=np.int32)
    for i, items in enumerate(rows["item_seq"]):
        if len(items):
            seq[i, width - len(items):] = items
    return {"item_seq": seq, **{c: rows[c].to_numpy(np.int32) for c in
                                ("item_id", "likes_level", "views_level")},
            "user_id": rows["user_id"].to_numpy(np.int64)}
