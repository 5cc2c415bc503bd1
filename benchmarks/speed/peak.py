"""``peak``: fp32 and bf16 matmul GFLOP/s, and the seed cross layer's GEMMs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from benchmarks.common import ROOT, log

from . import runtime
from .plan import Plan


def _best_gflops(fn: Callable[[], Any], flops: float, reps: int) -> float:
    fn()  # warm-up
    runtime.sync()
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        runtime.sync()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def cross_layer_gemms(reps: int) -> dict[str, dict[str, float]]:
    """GFLOP/s of the seed's cross-layer GEMMs (128 rows against a 9,088 x 9,088 weight: not
    a peak), fp32 and bf16, each call with a fresh output as in training: forward ``nt``,
    input gradient ``nn``, weight gradient ``tn``."""
    batch, width = 128, 9088
    cross: dict[str, dict[str, float]] = {}
    for dtype, label in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        x = torch.randn(batch, width, device=runtime.DEVICE, dtype=dtype)
        g = torch.randn(batch, width, device=runtime.DEVICE, dtype=dtype)
        weight = torch.randn(width, width, device=runtime.DEVICE, dtype=dtype)
        cross[label] = {}
        for layout, fn in (("nt", lambda x=x, w=weight: F.linear(x, w)),
                           ("nn", lambda g=g, w=weight: g @ w),
                           ("tn", lambda g=g, x=x: g.t() @ x)):
            cross[label][layout] = _best_gflops(fn, 2 * batch * width**2, reps)
        del x, g, weight
    return cross


def measure_peak(plan: Plan) -> dict[str, Any]:
    """fp32: a @ b at each size. bf16: the three layouts of a Linear layer:
    ``nt`` = x @ W^T (forward), ``tn`` = g^T @ x (weight gradient), ``nn`` = g @ W (input
    gradient). The bf16 peak is the best of them. On CUDA the sizes are 4x larger."""
    scale = 4 if runtime.DEVICE.type == "cuda" else 1
    rows = []
    fp32 = 0.0
    for n in (size * scale for size in plan.fp32_sizes):
        a, b = torch.randn(n, n, device=runtime.DEVICE), torch.randn(n, n, device=runtime.DEVICE)
        c = torch.empty(n, n, device=runtime.DEVICE)
        rate = _best_gflops(lambda a=a, b=b, c=c: torch.mm(a, b, out=c), 2 * n**3, plan.fp32_reps)
        rows.append(("fp32", "nn", n, plan.fp32_reps, rate))
        fp32 = max(fp32, rate)
        log(f"peak fp32 {n}: {rate:.1f} GFLOP/s")
    bf16 = 0.0
    for layout, n, reps in (("nt", plan.bf16_size * scale, plan.bf16_reps),
                            ("tn", plan.bf16_size * scale, plan.bf16_reps),
                            ("nn", plan.bf16_nn_size * scale, plan.bf16_reps)):
        a = torch.randn(n, n, dtype=torch.bfloat16, device=runtime.DEVICE)
        b = torch.randn(n, n, dtype=torch.bfloat16, device=runtime.DEVICE)
        lhs = a.t() if layout[0] == "t" else a
        rhs = b.t() if layout[1] == "t" else b
        out = torch.empty(n, n, dtype=torch.bfloat16, device=runtime.DEVICE)
        rate = _best_gflops(lambda lhs=lhs, rhs=rhs, out=out: torch.mm(lhs, rhs, out=out),
                            2 * n**3, reps)
        rows.append(("bf16", layout, n, reps, rate))
        bf16 = max(bf16, rate)
        log(f"peak bf16 {layout} {n}: {rate:.2f} GFLOP/s")
    layouts = {r[1]: r[4] for r in rows if r[0] == "bf16"}
    cross = cross_layer_gemms(plan.fp32_reps)
    for label, rates in cross.items():
        for layout, rate in rates.items():
            rows.append((f"{label}, seed cross layer 128 x 9,088 x 9,088", layout, "–",
                         plan.fp32_reps, rate))
            log(f"{label} seed cross-layer GEMM {layout}: {rate:.1f} GFLOP/s")
    if runtime.DEVICE.type == "cpu" and runtime.MEMORY_KEPT:  # the same GEMMs under the default allocator
        done = subprocess.run([sys.executable, "-m", "benchmarks.speed", "--probe-gemm", str(plan.fp32_reps)],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        if done.returncode == 0:
            for label, rates in json.loads(done.stdout.strip().splitlines()[-1]).items():
                for layout, rate in rates.items():
                    rows.append((f"{label}, seed cross layer, glibc's default allocator",
                                 layout, "–", plan.fp32_reps, rate))
                    log(f"{label} seed cross-layer GEMM {layout}, default allocator: {rate:.1f} GFLOP/s")
    return {"rows": rows, "fp32": fp32, "bf16": bf16, "bf16_layouts": layouts,
            "cross_gemm": sum(cross["fp32"].values()) / 3,
            "cross_gemm_bf16": sum(cross["bf16"].values()) / 3}

