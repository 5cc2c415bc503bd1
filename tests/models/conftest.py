"""Tiny vocabularies and a random batch factory matching ARCHITECTURE.md §4."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

TINY_VOCAB = {
    "item": 50,
    "tag": 20,
    "likes": 11,
    "views": 11,
    "max_len": 12,
    "emb_dim": 16,
    "num_tags": 5,
    "rq_layers": 3,
    "rq_codes": 8,
    "num_neighbors": 4,
    "row_stats": 6,
}

#: small dims so every variant builds and trains in milliseconds
TINY_TRANSFORMER = {
    "embedding_dim": 8,
    "mm_emb_dim": 8,
    "dim_feedforward": 16,
    "first_k_cols": 4,
    "dcn_hidden_units": [32, 16],
    "mlp_hidden_units": [8, 4],
}
TINY_DIN = {
    "embedding_dim": 8,
    "mm_emb_dim": 8,
    "attention_hidden_units": [16, 8],
    "dnn_hidden_units": [32, 16],
    "max_len": 8,
}

HISTORY_KEYS = ("item_seq", "seq_tags", "seq_emb", "seq_codes", "seq_nbrs", "seq_sim")


def make_item_table(vocab: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random item table (row 0 = all-zero padding item): tags, emb, codes, nbrs."""
    g = torch.Generator().manual_seed(seed)
    n, n_tags = vocab["item"], vocab["num_tags"]
    counts = torch.randint(1, n_tags + 1, (n, 1), generator=g)
    tags = torch.randint(1, vocab["tag"], (n, n_tags), generator=g)
    tags = torch.where(torch.arange(n_tags) >= n_tags - counts, tags, 0)  # left-padded
    table = {
        "tags": tags,
        "emb": torch.randn(n, vocab["emb_dim"], generator=g),
        "codes": torch.randint(
            1, vocab["rq_codes"] + 1, (n, vocab["rq_layers"]), generator=g
        ),
        "nbrs": torch.randint(1, n, (n, vocab["num_neighbors"]), generator=g),
    }
    for value in table.values():
        value[0] = 0
    return table


def make_batch(
    batch_size: int = 6,
    width: int = 10,
    vocab: dict | None = None,
    seed: int = 0,
    lengths: list[int] | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """Random batch with left-padded histories of random lengths in ``0..width``.

    The first row is always empty and the second always full, unless ``lengths`` is given.
    """
    vocab = vocab or TINY_VOCAB
    g = torch.Generator().manual_seed(seed + 1)
    table = make_item_table(vocab, seed)
    if lengths is None:
        lengths = torch.randint(0, width + 1, (batch_size,), generator=g).tolist()
        lengths[0], lengths[1 % batch_size] = 0, width
    length = torch.tensor(lengths).unsqueeze(1)  # (B, 1)
    real = torch.arange(width) >= width - length  # (B, T)
    seq = torch.where(
        real, torch.randint(1, vocab["item"], (batch_size, width), generator=g), 0
    )
    target = torch.randint(1, vocab["item"], (batch_size,), generator=g)
    batch = {
        "item_seq": seq,
        "item_id": target,
        "likes_level": torch.randint(0, vocab["likes"], (batch_size,), generator=g),
        "views_level": torch.randint(0, vocab["views"], (batch_size,), generator=g),
        "seq_sim": torch.where(
            real, torch.rand(batch_size, width, generator=g) * 2 - 1, 0.0
        ),
        "sim_stats": torch.rand(batch_size, 4, generator=g),
        "row_stats": torch.randn(batch_size, vocab.get("row_stats", 6), generator=g) * 3,
        "user_id": torch.randint(1, 10**9, (batch_size,), generator=g),
        "label": torch.randint(0, 2, (batch_size,), generator=g).float(),
    }
    for column, values in table.items():
        batch[f"item_{column}"] = values[target]
        batch[f"seq_{column}"] = values[seq]
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in batch.items()}


def cut_history(batch: dict[str, torch.Tensor], width: int) -> dict[str, torch.Tensor]:
    """The batch with every history tensor cut to its newest ``width`` columns."""
    return {k: v[:, -width:] if k in HISTORY_KEYS else v for k, v in batch.items()}


@pytest.fixture
def tiny_vocab() -> dict:
    return dict(TINY_VOCAB)


@pytest.fixture
def batch_factory() -> Callable[..., dict[str, torch.Tensor]]:
    return make_batch
