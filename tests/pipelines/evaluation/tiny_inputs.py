"""Tiny hand-made inputs shared by the evaluation and submission tests (ARCHITECTURE.md §2-5)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

NUM_ITEMS = 30  # 29 real items + padding row 0
WIDTH = 6  # history width (max_len)
VOCAB = {"item": NUM_ITEMS, "tag": 10, "likes": 11, "views": 11, "max_len": WIDTH,
         "emb_dim": 128, "num_tags": 5}
MODEL_PARAMS = {"embedding_dim": 4, "mm_emb_dim": 4, "dim_feedforward": 8, "first_k_cols": 2,
                "dcn_hidden_units": [8], "mlp_hidden_units": [4]}


def tiny_artifact() -> dict[str, Any]:
    """A saved ``transformer_dcn`` artifact with seeded random weights."""
    from mmctr.models import build_model

    torch.manual_seed(0)
    model = build_model("transformer_dcn", MODEL_PARAMS, VOCAB)
    return {"model_name": "transformer_dcn", "model_params": dict(MODEL_PARAMS),
            "vocab": dict(VOCAB), "state_dict": model.state_dict(), "best_epoch": 2}


def tiny_items() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    tags = rng.integers(1, VOCAB["tag"], size=(NUM_ITEMS, 5)).astype(np.int32)
    tags[:, :2] = 0  # left padding
    emb = rng.normal(size=(NUM_ITEMS, 128)).astype(np.float32)
    tags[0], emb[0] = 0, 0.0
    return {"item_tags": tags, "item_emb": emb}


def tiny_semantics() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    neighbors = rng.integers(1, NUM_ITEMS, size=(NUM_ITEMS, 3)).astype(np.int32)
    codes = rng.integers(1, 5, size=(NUM_ITEMS, 2)).astype(np.int32)
    neighbors[0], codes[0] = 0, 0
    return {"neighbors": neighbors, "neighbor_scores": np.ones((NUM_ITEMS, 3), np.float32),
            "rq_codes": codes}


def tiny_split(rows: int, seed: int, labels: bool = True) -> dict[str, np.ndarray]:
    """A split with every history length 0..WIDTH, left-padded, newest last."""
    rng = np.random.default_rng(seed)
    lengths = np.arange(rows) % (WIDTH + 1)
    seq = rng.integers(1, NUM_ITEMS, size=(rows, WIDTH)).astype(np.int32)
    seq[np.arange(WIDTH)[None, :] < (WIDTH - lengths)[:, None]] = 0
    out = {
        "item_seq": seq,
        "item_id": rng.integers(1, NUM_ITEMS, size=rows).astype(np.int32),
        "likes_level": rng.integers(0, 11, size=rows).astype(np.int32),
        "views_level": rng.integers(0, 11, size=rows).astype(np.int32),
        "user_id": rng.integers(1, 6, size=rows).astype(np.int64),
    }
    if labels:
        out["label"] = (np.arange(rows) % 3 == 0).astype(np.float32)
    return out


def tiny_similarity(features: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    seq = features["item_seq"]
    sim = rng.uniform(-1, 1, size=seq.shape).astype(np.float32) * (seq != 0)
    return {"hist_sim": sim, "sim_stats": rng.uniform(size=(len(seq), 4)).astype(np.float32)}
