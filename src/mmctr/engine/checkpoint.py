"""Training checkpoints: written atomically every epoch, read back on resume.

A checkpoint is a dict (nanoGPT style) of model and optimizer state, epoch,
best metric, early-stopping state, the best weights so far, the history and every
RNG state, so a run killed at any point resumes from its last finished epoch and
ends exactly as an uninterrupted run would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmctr.datasets.atomic import atomic_path

__all__ = ["load_checkpoint", "rng_state", "run_key", "save_checkpoint", "set_rng_state"]

logger = logging.getLogger(__name__)


def run_key(*parts: Any) -> str:
    """A short stable hash of the run's configuration and data fingerprint."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, checkpoint: dict[str, Any]) -> None:
    """Write ``checkpoint`` to ``path`` atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    # ``epoch`` is stored 0-based (the loop index); logged 1-based like "epoch N: ..."
    logger.info("checkpoint: epoch %d written to %s", checkpoint["epoch"] + 1, path)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or ``None`` if there is none."""
    if not path.exists():
        return None
    # RNG states hold numpy arrays and tuples: not loadable with weights_only=True.
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    logger.info("resuming from %s (epoch %d done)", path, checkpoint["epoch"] + 1)
    return checkpoint
