"""``threads``: the scoring workload in fresh processes under each OpenMP setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import ROOT, load_avg, log, read_params
from mmctr.engine.batching import epoch_batches
from mmctr.engine.trainer import predict

from .arrays import make_items, make_rows
from .plan import Plan
from .trainee import trainee

PROBES = (  # (label, environment changes): None removes the variable
    ("torch default threads, OpenMP defaults", {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None}),
    ("torch default threads, OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE",
                                                        "GOMP_SPINCOUNT": None}),
    ("torch default threads, GOMP_SPINCOUNT=1000 (mmctr's)", {"OMP_WAIT_POLICY": None,
                                                               "GOMP_SPINCOUNT": "1000"}),
    ("1 thread (OMP_NUM_THREADS=1)", {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None,
                                      "OMP_NUM_THREADS": "1"}),
)


def probe_scoring(rows: int) -> dict[str, float]:
    """The scoring workload on ``rows`` rows, then 200 fp32 training steps of the default
    model (after 20 untimed), in this process (run as a subprocess)."""
    rng = np.random.default_rng(7)
    item_sources, split = make_items(rng), make_rows(rows, rng)
    t = trainee("default", split, item_sources, bf16=False)
    batch_size = int(read_params("submission")["submission"]["batch_size"])
    predict(t.model, t.data, batch_size)  # warm-up pass (predict switches to eval and back)
    start = time.perf_counter()
    predict(t.model, t.data, batch_size)
    scoring = rows / (time.perf_counter() - start)
    cfg = t.cfg
    batches = list(epoch_batches(rows, cfg.batch_size, shuffle=True, seed=cfg.seed, max_batches=220))
    for i, index in enumerate(batches):
        if i == 20:
            start = time.perf_counter()
        t.step(t.data(index))
    training = 200 * cfg.batch_size / (time.perf_counter() - start)
    return {"rows": rows, "rows_per_s": scoring, "train_samples_per_s": training,
            "threads": torch.get_num_threads()}


def measure_threads(plan: Plan) -> list[dict[str, Any]]:
    """The scoring workload in fresh processes under each OpenMP setting (they are read
    once, at start-up): as the machine is, then with one busy process per core started by
    this benchmark (what a shared machine looks like)."""
    out = []
    for busy in (0, len(os.sched_getaffinity(0))):
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            for label, changes in PROBES:
                env = dict(os.environ)
                for key, value in changes.items():
                    if value is None:
                        env.pop(key, None)
                    else:
                        env[key] = value
                args = [sys.executable, "-m", "benchmarks.speed", "--probe", str(plan.probe_rows)]
                if changes.get("GOMP_SPINCOUNT", "") is None:
                    args.append("--omp-default")
                load_start = load_avg()
                done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
                if done.returncode != 0:
                    raise RuntimeError(f"probe failed: {done.stderr[-2000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                out.append({"label": label, "busy": busy, **result,
                            "load": f"{load_start} → {load_avg()}"})
                log(f"threads probe, {busy} busy processes, {label}: {result['rows_per_s']:,.0f} "
                    f"rows/s scoring, {result['train_samples_per_s']:,.0f} samples/s training")
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    return out

