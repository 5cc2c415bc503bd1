"""Tiny inputs of the item_embedding stage: small raw widths, a few hundred items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmctr.config import deep_merge

CONF = Path(__file__).resolve().parents[3] / "conf"
WIDTHS = {"text": 12, "image": 16}
N_ITEMS = 120  # items 1..N_ITEMS (+ padding row 0)


def params(**overrides: Any) -> dict[str, Any]:
    """``params:item_embedding`` from base, with small widths and a short co_click run."""
    base = yaml.safe_load((CONF / "base" / "parameters_item_embedding.yml").read_text())
    small = {
        "dim": 8,
        "modalities": {"text": {"width": WIDTHS["text"], "dim": 4},
                       "image": {"width": WIDTHS["image"], "dim": 4}},
        "svd_solver": "full",
        "co_click": {"input_dim": 12, "steps": 20, "batch_size": 64},
        "report": {"queries": 50, "k": 5},
    }
    return deep_merge(deep_merge(base["item_embedding"], small), overrides)


def latent(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N_ITEMS, 6)).astype(np.float32)


def raw_item_feature(seed: int = 0) -> pd.DataFrame:
    """A real-schema feature table: text sees latent dims 0-3, image dims 2-5, plus noise."""
    rng = np.random.default_rng(seed + 1)
    z = latent(seed)
    text = np.tanh(z[:, :4] @ rng.normal(size=(4, WIDTHS["text"])))
    image = np.tanh(z[:, 2:] @ rng.normal(size=(4, WIDTHS["image"]))) * 3 + 1
    text += 0.1 * rng.normal(size=text.shape)
    image += 0.1 * rng.normal(size=image.shape)
    return pd.DataFrame({
        "item_id": np.arange(1, N_ITEMS + 1, dtype=np.int64),
        "item_title": [f"item {i}" for i in range(1, N_ITEMS + 1)],
        "txt_emb_BERT": list(text.astype(np.float32)),
        "img_emb_CLIPRN50": list(image.astype(np.float32)),
    })


def item_features(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 2)
    emb = rng.normal(size=(N_ITEMS + 1, 128)).astype(np.float32)
    tags = rng.integers(1, 20, size=(N_ITEMS + 1, 5)).astype(np.int32)
    emb[0], tags[0] = 0.0, 0
    return {"item_tags": tags, "item_emb": emb}


def split(seed: int, rows: int = 400, width: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 3)
    seq = rng.integers(1, N_ITEMS + 1, size=(rows, width)).astype(np.int32)
    lengths = rng.integers(0, width + 1, size=rows)
    seq[np.arange(width)[None, :] < (width - lengths)[:, None]] = 0
    return {
        "item_seq": seq,
        "item_id": rng.integers(1, N_ITEMS + 1, size=rows).astype(np.int32),
        "label": rng.integers(0, 2, size=rows).astype(np.float32),
        "user_id": rng.integers(1, 50, size=rows).astype(np.int64),
        "likes_level": rng.integers(0, 11, size=rows).astype(np.int32),
        "views_level": rng.integers(0, 11, size=rows).astype(np.int32),
    }
