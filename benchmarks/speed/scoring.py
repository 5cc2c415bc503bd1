"""``scoring``: the default model over the test-set size."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import load_avg, log, read_params
from mmctr.engine.batching import BatchAssembler, build_item_table
from mmctr.engine.trainer import predict
from mmctr.models import build_model

from . import runtime
from .arrays import head
from .plan import VOCAB, Plan
from .trainee import training_preset


def measure_scoring(plan: Plan, rows: dict[str, np.ndarray], item_sources: dict[str, Any]) -> dict[str, Any]:
    name, params, _ = training_preset("default")
    batch_size = int(read_params("submission")["submission"]["batch_size"])
    torch.manual_seed(0)
    model = build_model(name, params, VOCAB).to(runtime.DEVICE).eval()
    load_start = load_avg()
    start = time.perf_counter()
    items = build_item_table(item_sources, model.item_features, runtime.DEVICE)
    data = BatchAssembler(head(rows, plan.scoring_rows, labels=False), items,
                          model.row_features, model.history_width, runtime.DEVICE)
    probs = predict(model, data, batch_size)
    elapsed = time.perf_counter() - start
    assert len(probs) == plan.scoring_rows and np.isfinite(probs).all()
    log(f"scoring: {plan.scoring_rows:,} rows in {elapsed:.1f}s")
    return {"rows": plan.scoring_rows, "batch_size": batch_size, "seconds": elapsed,
            "rows_per_s": plan.scoring_rows / elapsed, "load": f"{load_start} → {load_avg()}"}

