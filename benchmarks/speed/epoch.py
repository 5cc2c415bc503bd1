"""``epoch``: one epoch of the default model at real scale."""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np

from benchmarks.common import load_avg, log
from mmctr.engine.batching import epoch_batches
from mmctr.models import count_parameters

from . import runtime
from .plan import Plan
from .trainee import trainee


def measure_epoch(plan: Plan, rows: dict[str, np.ndarray], item_sources: dict[str, Any]) -> dict[str, Any]:
    """One epoch of the default training configuration over ``rows`` (real scale: 3.6M),
    as the trainer runs it: its batches, its step, its precision (``bf16: auto``)."""
    t = trainee("default", rows, item_sources)
    cfg, data = t.cfg, t.data
    batches = list(epoch_batches(len(data), cfg.batch_size, shuffle=True, seed=cfg.seed))
    load_start = load_avg()
    start = time.perf_counter()
    for i, index in enumerate(batches, start=1):
        t.step(data(index))
        if i % max(len(batches) // 10, 1) == 0:
            log(f"epoch: {i:,}/{len(batches):,} steps, {i * cfg.batch_size / (time.perf_counter() - start):,.0f} samples/s")
    runtime.sync()
    seconds = time.perf_counter() - start
    out = {"rows": len(data), "batch_size": cfg.batch_size, "steps": len(batches),
           "precision": t.precision, "seconds": seconds,
           "samples_per_s": len(data) / seconds, "load": f"{load_start} → {load_avg()}",
           "params": count_parameters(t.model)}
    log(f"epoch: {len(data):,} rows in {seconds / 60:.2f} min ({out['samples_per_s']:,.0f} samples/s)")
    del t, data
    gc.collect()
    return out

