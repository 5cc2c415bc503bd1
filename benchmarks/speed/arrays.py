"""Synthetic arrays at the real vocabulary sizes with real-like history lengths."""

from __future__ import annotations

import math

import numpy as np

from .plan import HISTORY_MEAN, HISTORY_MEDIAN, VOCAB, WIDTH


def make_items(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray] | None]:
    v, width = VOCAB["item"], VOCAB["num_tags"]
    counts = 1 + rng.binomial(width - 1, 0.35, v)
    tags = rng.integers(1, VOCAB["tag"], (v, width), dtype=np.int32)
    tags[np.arange(width)[None, :] < (width - counts)[:, None]] = 0
    emb = rng.standard_normal((v, VOCAB["emb_dim"]), dtype=np.float32)
    tags[0], emb[0] = 0, 0.0
    return {"item_features": {"item_tags": tags, "item_emb": emb}, "item_semantics": None}


def make_rows(n: int, rng: np.random.Generator, chunk: int = 500_000) -> dict[str, np.ndarray]:
    """A split with real-like history lengths (log-normal, median 6, mean 8, 0..100)."""
    sigma = math.sqrt(2 * math.log(HISTORY_MEAN / HISTORY_MEDIAN))
    seq = np.empty((n, WIDTH), dtype=np.int32)
    cols = np.arange(WIDTH, dtype=np.int32)[None, :]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        length = np.clip(np.rint(HISTORY_MEDIAN * np.exp(sigma * rng.standard_normal(hi - lo))),
                         0, WIDTH).astype(np.int32)
        block = rng.integers(1, VOCAB["item"], (hi - lo, WIDTH), dtype=np.int32)
        block[cols < (WIDTH - length)[:, None]] = 0
        seq[lo:hi] = block
    return {
        "item_seq": seq,
        "item_id": rng.integers(1, VOCAB["item"], n, dtype=np.int32),
        "likes_level": rng.integers(0, 11, n, dtype=np.int32),
        "views_level": rng.integers(0, 11, n, dtype=np.int32),
        "user_id": rng.integers(0, 1_000_000, n, dtype=np.int64),
        "label": (rng.random(n, dtype=np.float32) < 0.25).astype(np.float32),
        # the similarity stage's per-row arrays the default model reads (values: noise)
        "sim_stats": rng.standard_normal((n, 4), dtype=np.float32),
        "row_stats": rng.standard_normal((n, VOCAB["row_stats"]), dtype=np.float32),
    }


def head(rows: dict[str, np.ndarray], n: int, labels: bool = True) -> dict[str, np.ndarray]:
    return {k: v[:n] for k, v in rows.items() if labels or k != "label"}

