"""A tiny model and tiny split arrays for engine tests (independent of mmctr.models)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn


class TinyModel(nn.Module):
    """Mean of history embeddings · target embedding + level bias: learns quickly."""

    item_features = ("tags", "emb")
    row_features = ()

    def __init__(self, num_items: int, dim: int = 8) -> None:
        super().__init__()
        self.items = nn.Embedding(num_items, dim, padding_idx=0)
        self.proj = nn.Linear(4, dim, bias=False)
        self.levels = nn.Embedding(11, 1)
        self.drop = nn.Dropout(0.2)

    def history_width(self, longest: int, width: int) -> int:
        return min(width, max(longest, 1))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        seq = self.items(batch["item_seq"]) + self.proj(batch["seq_emb"])  # (B, T, D)
        mask = (batch["item_seq"] != 0).unsqueeze(-1).float()
        hist = (seq * mask).sum(1) / mask.sum(1).clamp(min=1)
        target = self.drop(self.items(batch["item_id"]) + self.proj(batch["item_emb"]))
        return (hist * target).sum(-1) + self.levels(batch["likes_level"]).squeeze(-1)


def make_split(n: int, num_items: int, width: int, seed: int, labels: bool = True):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, width + 1, n)
    seq = rng.integers(1, num_items, (n, width)).astype(np.int32)
    seq[np.arange(width)[None, :] < (width - lengths)[:, None]] = 0
    target = rng.integers(1, num_items, n).astype(np.int32)
    likes = rng.integers(0, 11, n).astype(np.int32)
    # clicks: target in the same parity class as most history items, or high likes
    parity = ((seq % 2 == target[:, None] % 2) & (seq != 0)).sum(1) / np.maximum(lengths, 1)
    prob = 1 / (1 + np.exp(-(4 * (parity - 0.5) + 0.3 * (likes - 5))))
    rows = {
        "item_seq": seq,
        "item_id": target,
        "likes_level": likes,
        "views_level": rng.integers(0, 11, n).astype(np.int32),
        "user_id": rng.integers(0, 50, n).astype(np.int64),
    }
    if labels:
        rows["label"] = (rng.random(n) < prob).astype(np.float32)
    return rows


@pytest.fixture
def tiny_data():
    num_items, width = 40, 12
    rng = np.random.default_rng(1)
    items = {
        "item_features": {
            "item_tags": rng.integers(0, 9, (num_items, 5)).astype(np.int32),
            "item_emb": rng.normal(size=(num_items, 4)).astype(np.float32),
        },
        "item_semantics": None,
    }
    items["item_features"]["item_emb"][0] = 0
    return {
        "num_items": num_items,
        "train": make_split(2000, num_items, width, 2),
        "valid": make_split(500, num_items, width, 3),
        "items": items,
    }


@contextlib.contextmanager
def killed_after_saves(n: int) -> Iterator[None]:
    """Inside, the trainer's n-th checkpoint is written and then the run dies
    (KeyboardInterrupt), as a kill right after a save would leave it."""
    from mmctr.engine import trainer

    original, calls = trainer.save_checkpoint, {"n": 0}

    def save_then_die(path, checkpoint):
        original(path, checkpoint)
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt("killed")

    trainer.save_checkpoint = save_then_die
    try:
        yield
    finally:
        trainer.save_checkpoint = original
