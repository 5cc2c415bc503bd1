"""``data``: ``BatchAssembler`` alone on a real-scale split."""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import load_avg, log
from mmctr.engine.batching import BatchAssembler, build_item_table, epoch_batches
from mmctr.models import build_model

from . import runtime
from .plan import VOCAB, Plan
from .trainee import training_preset


def measure_data_path(plan: Plan, rows: dict[str, np.ndarray], item_sources: dict[str, Any]) -> list[dict]:
    """Batches/s of ``BatchAssembler`` alone, for the default and seed presets."""
    out = []
    for preset in ("default", "seed"):
        name, params, cfg = training_preset(preset)
        with torch.device("meta"):  # only the batch contract is needed
            model = build_model(name, params, VOCAB)
        start = time.perf_counter()
        items = build_item_table(item_sources, model.item_features, runtime.DEVICE)
        data = BatchAssembler(rows, items, model.row_features, model.history_width, runtime.DEVICE)
        runtime.sync()
        setup_s = time.perf_counter() - start
        data(torch.arange(cfg.batch_size))  # warm-up
        load_start = load_avg()
        n_batches, n_rows, widths = 0, 0, []
        start = time.perf_counter()
        for index in epoch_batches(len(data), cfg.batch_size, shuffle=True, seed=cfg.seed):
            batch = data(index)
            n_batches += 1
            n_rows += len(index)
            widths.append(batch["item_seq"].shape[1])
            if time.perf_counter() - start > plan.data_seconds:
                break
        runtime.sync()
        elapsed = time.perf_counter() - start
        out.append({"preset": preset, "rows": len(data), "batch_size": cfg.batch_size,
                    "features": ", ".join(model.item_features), "setup_s": setup_s,
                    "batches": n_batches, "batches_per_s": n_batches / elapsed,
                    "samples_per_s": n_rows / elapsed, "mean_width": float(np.mean(widths)),
                    "load": f"{load_start} → {load_avg()}"})
        log(f"data path {preset}: {n_batches / elapsed:.0f} batches/s, {n_rows / elapsed:,.0f} samples/s")
        del data, items
        gc.collect()
    return out

