"""The learned recipe ``co_click``: a projection of the raw features trained on train clicks.

Pairs (``pairs``): ``history`` (the default) pairs each train row's newest history item
with the ``history_items`` items before it: no label and no target is read. ``clicks``
pairs every clicked train row's target with its newest ``history_items`` history items;
that leaks: a clicked row's own (target, history) pair trains the embedding its features
are then computed from. Measured on the default synthetic world (100K train rows, the
embedding trained on a random half of the rows): the AUC of the mean target-history
cosine is 0.686 on the rows whose clicks trained it against 0.659 on the other half, so a
model learns to trust on train a signal that valid and test do not have. Each item's raw features are standardised and reduced by
PCA to ``input_dim`` components; the projection is the top ``dim`` components plus a
learned correction (linear or a small MLP, starting at zero), trained so that the two
items of a pair come close: symmetric InfoNCE with in-batch negatives (cosine similarity / temperature).
Because the projection reads the raw features, items never clicked (cold, or only in
valid/test) still get an embedding. Only the train split is ever read: no valid or test
row, label or item pair can leak into the embedding.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["CoClickConfig", "click_pairs", "train_projection"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CoClickConfig:
    """``params:item_embedding.co_click``."""

    input_dim: int = 128  # raw features reduced by PCA (concat) before the projection
    hidden: int = 0  # correction: 0 linear, else an MLP of this hidden width
    pairs: str = "history"  # "history" (label-free) or "clicks" (leaks train labels)
    history_items: int = 5  # history items paired with the newest one / the clicked target
    max_pairs: int = 2_000_000  # pairs kept (a seeded random subset beyond that)
    steps: int = 300  # optimiser steps
    batch_size: int = 1024  # pairs per step (in-batch negatives: 2·batch - 2 per pair)
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("input_dim", "history_items", "max_pairs", "steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"params:item_embedding.co_click.{name} must be >= 1")
        if self.pairs not in ("history", "clicks"):
            raise ValueError("params:item_embedding.co_click.pairs must be history or clicks")
        if self.hidden < 0 or self.temperature <= 0 or self.learning_rate <= 0:
            raise ValueError(
                "params:item_embedding.co_click: hidden >= 0, temperature > 0, learning_rate > 0"
            )


def click_pairs(train_features: Mapping[str, np.ndarray], cfg: CoClickConfig) -> np.ndarray:
    """Item pairs of the train split that should come close (``cfg.pairs``, module doc):
    (newest history item, earlier history item) or (clicked target, history item).

    Args:
        train_features: the train split (``item_seq`` (N, T) left-padded, newest last;
            ``item_id`` (N,); ``label`` (N,)). Only the train split may be passed.
        cfg: the recipe's configuration.

    Returns:
        int32 (P, 2); pairs of an item with itself and padding are left out; at most
        ``max_pairs`` (a random subset drawn with ``seed``).
    """
    seq = np.asarray(train_features["item_seq"])
    if cfg.pairs == "history":
        clicked = np.arange(len(seq))  # every row; the newest history item is the anchor
        k = min(cfg.history_items, seq.shape[1] - 1)
        hist = seq[:, seq.shape[1] - 1 - k : -1]  # (N, k) the k items before the newest
        target = np.broadcast_to(seq[:, -1:], hist.shape)
    else:
        clicked = np.flatnonzero(np.asarray(train_features["label"]) > 0.5)
        k = min(cfg.history_items, seq.shape[1])
        hist = seq[clicked, seq.shape[1] - k :]  # (C, k) newest k
        target = np.broadcast_to(np.asarray(train_features["item_id"])[clicked, None], hist.shape)
    keep = (hist > 0) & (hist != target) & (target > 0)
    pairs = np.stack([target[keep], hist[keep]], axis=1).astype(np.int32)
    if len(pairs) > cfg.max_pairs:
        rng = np.random.default_rng(cfg.seed)
        pairs = pairs[np.sort(rng.choice(len(pairs), cfg.max_pairs, replace=False))]
    logger.info("co_click: %d pairs from %d clicked train rows", len(pairs), len(clicked))
    return pairs


class _Projection(nn.Module):
    """``x[:, :out_dim] + g(x)``: the top principal components plus a learned correction.

    ``g`` is linear (``hidden == 0``) or a one-hidden-layer MLP; its last layer starts at
    zero, so training starts from the PCA embedding and moves it towards the clicks.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.out_dim = out_dim
        last = nn.Linear(hidden or in_dim, out_dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.g = last if hidden == 0 else nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, out_dim)
        return x[:, : self.out_dim] + self.g(x)


def train_projection(
    features: np.ndarray, pairs: np.ndarray, dim: int, cfg: CoClickConfig
) -> tuple[np.ndarray, dict[str, float]]:
    """Train the projection on ``pairs`` and embed every item.

    Args:
        features: float32 (V, F) input features, row 0 the padding item.
        pairs: int32 (P, 2) item pairs that should come close (P ≥ 1).
        dim: output width.
        cfg: the recipe's configuration.

    Returns:
        ``(emb, info)``: float32 (V, dim) unit-norm projections (row 0 zero) and
        ``{"pairs", "first_loss", "last_loss"}`` (mean InfoNCE over the first/last 50 steps).
    """
    if len(pairs) == 0:
        raise ValueError(
            "item_embedding recipe 'co_click': no clicked train row with a history item; "
            "it needs click data (use another recipe)"
        )
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    pair_t = torch.from_numpy(pairs.astype(np.int64))
    if x.shape[1] < dim:
        raise ValueError(f"item_embedding co_click: input_dim {x.shape[1]} < dim {dim}")
    model = _Projection(x.shape[1], cfg.hidden, dim)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    labels = torch.arange(min(cfg.batch_size, len(pairs)))
    losses = []
    model.train()
    for _ in range(cfg.steps):
        batch = pair_t[torch.randint(len(pair_t), (len(labels),), generator=gen)]
        a = F.normalize(model(x[batch[:, 0]]), dim=1)  # (B, dim)
        b = F.normalize(model(x[batch[:, 1]]), dim=1)
        logits = a @ b.T / cfg.temperature  # (B, B): the diagonal holds the positives
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    with torch.no_grad():
        emb = torch.cat([F.normalize(model(c), dim=1) for c in x.split(65536)]).numpy()
    emb[0] = 0.0
    window = min(50, len(losses))
    info = {"pairs": int(len(pairs)), "first_loss": float(np.mean(losses[:window])),
            "last_loss": float(np.mean(losses[-window:]))}
    logger.info("co_click: InfoNCE %.3f → %.3f over %d steps", info["first_loss"],
                info["last_loss"], cfg.steps)
    return emb.astype(np.float32), info
