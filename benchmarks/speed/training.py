"""``train``: samples/s and achieved GFLOP/s of the seed and default presets."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import load_avg, log
from mmctr.engine.batching import epoch_batches
from mmctr.engine.precision import native_bf16
from mmctr.models import build_model, count_parameters

from . import runtime
from .plan import VOCAB, Plan
from .trainee import Trainee, trainee, training_preset


def _meta(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(v.shape, dtype=v.dtype, device="meta") for k, v in batch.items()}


class BucketReplay:
    """Records the history-length buckets the real model's Transformer picks on each call
    (a wrapper around ``_buckets``, no measurable cost) and replays them, as meta-device
    row indices, on a meta-device twin: the twin then runs exactly the executed shapes."""

    def __init__(self, real: nn.Module, meta: nn.Module) -> None:
        self.calls: list[list[tuple[int, int]] | None] = []
        self.queue: list[list[tuple[int, int]] | None] = []
        layer, twin = getattr(real, "transformer", None), getattr(meta, "transformer", None)
        if layer is None or twin is None:
            return
        choose = layer._buckets

        def record(item_seq: torch.Tensor):
            groups = choose(item_seq)
            self.calls.append(None if groups is None else [(len(r), w) for r, w in groups])
            return groups

        def replay(item_seq: torch.Tensor):
            groups = self.queue.pop(0)
            if groups is None:
                return None
            return [(torch.empty(n, dtype=torch.long, device="meta"), w) for n, w in groups]

        layer._buckets, twin._buckets = record, replay

    def start(self) -> None:
        self.calls.clear()

    def arm(self) -> None:
        self.queue = list(self.calls)


def count_step_flops(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[int, dict[str, int]]:
    """FLOPs of forward + backward at this batch's shapes, with per-module totals."""
    counter = FlopCounterMode(display=False)
    with counter:
        loss = F.binary_cross_entropy_with_logits(model(batch).float(), batch["label"])
        loss.backward()
    model.zero_grad(set_to_none=True)
    modules = {name: int(sum(ops.values())) for name, ops in counter.get_flop_counts().items()}
    return int(counter.get_total_flops()), modules


def measure_training(
    label: str,
    preset: str,
    rows: dict[str, np.ndarray],
    item_sources: dict[str, Any],
    batches: Sequence[torch.Tensor],
    warmup: int,
    bf16: bool = False,
    master_weights: bool = True,
    overrides: dict[str, Any] | None = None,
    profile_step: bool = False,
) -> dict[str, Any]:
    """Time ``train_step`` on ``batches`` (the first ``warmup`` untimed) exactly as the
    trainer runs it (bf16: the trainer's fp32-master path unless ``master_weights`` is
    False, plain autocast then); with ``profile_step``, one more (untimed) step on the
    first timed batch under the profiler splits its time into matmuls, optimizer and the
    rest."""
    t = trainee(preset, rows, item_sources, bf16, master_weights, overrides)
    n_params = count_parameters(t.model)
    with torch.device("meta"):
        meta_model = build_model(t.name, t.params, VOCAB).train()
    replay = BucketReplay(t.model, meta_model)
    load_start = load_avg()
    records, check = [], None
    for i, index in enumerate(batches):
        t0 = time.perf_counter()
        batch = t.data(index)
        runtime.sync()
        replay.start()
        t1 = time.perf_counter()
        if i == 0 and warmup > 0:  # cross-check the meta count against a real step
            counter = FlopCounterMode(display=False)
            with counter:
                t.step(batch)
            replay.arm()
            check = (int(counter.get_total_flops()), count_step_flops(meta_model, _meta(batch))[0])
            runtime.sync()
            t2 = time.perf_counter()
        else:
            t.step(batch)
            runtime.sync()
            t2 = time.perf_counter()
        if i < warmup:
            continue
        replay.arm()
        groups = replay.calls[0] if replay.calls else None
        width = batch["item_seq"].shape[1]
        tokens = sum(n * w for n, w in groups) if groups else len(index) * width
        flops, modules = count_step_flops(meta_model, _meta(batch))
        records.append({"assemble_s": t1 - t0, "step_s": t2 - t1, "width": width,
                        "tokens": tokens, "rows": len(index), "flops": flops, "modules": modules,
                        "index": index})
        if len(batches) - warmup <= 20 or (i + 1 - warmup) % 20 == 0:
            log(f"{label}: step {i + 1 - warmup}/{len(batches) - warmup} width "
                f"{records[-1]['width']} {t2 - t1:.3f}s ({flops / 1e9:.2f} GFLOP)")
    breakdown = None
    if profile_step and records:
        breakdown = _profile_step(t, t.data(records[0]["index"]))
        breakdown["gflops"] = records[0]["flops"] / 1e9 / max(breakdown["matmul_s"], 1e-9)
    precision, batch_size = t.precision, t.cfg.batch_size
    del t
    gc.collect()
    samples = sum(r["rows"] for r in records)
    loop_s = sum(r["assemble_s"] + r["step_s"] for r in records)
    step_s = sum(r["step_s"] for r in records)
    flops = sum(r["flops"] for r in records)
    cross = sum(v for r in records for k, v in r["modules"].items() if k.endswith(".crossnet"))
    return {
        "label": label, "preset": preset, "bf16": bf16, "precision": precision,
        "batch_size": batch_size,
        "params": n_params, "steps": len(records), "samples": samples,
        "widths": [r["width"] for r in records], "records": records,
        "token_width": sum(r["tokens"] for r in records) / max(samples, 1),
        "samples_per_s": samples / loop_s, "consume_per_s": samples / step_s,
        "step_s": step_s / max(len(records), 1), "gflop_per_step": flops / 1e9 / max(len(records), 1),
        "gflops": flops / loop_s / 1e9, "cross_flops_per_sample": cross / max(samples, 1),
        "flops_per_sample": flops / max(samples, 1), "flop_check": check,
        "load": f"{load_start} → {load_avg()}", "breakdown": breakdown,
    }


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")
OPTIMIZER_OPS = ("aten::_fused_adam_", "aten::_foreach_copy_", "Optimizer.zero_grad")


def _profile_step(t: Trainee, batch: dict[str, torch.Tensor]) -> dict[str, float]:
    """Wall time of one profiled step and the self time of its matmuls and optimizer
    (fused Adam, the masters' gradient and weight copies); device time on CUDA."""
    from torch.profiler import ProfilerActivity, profile

    cuda = runtime.DEVICE.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        t.step(batch)
        runtime.sync()
        wall = time.perf_counter() - start
    events = prof.key_averages()

    def self_s(event: Any) -> float:
        return (event.self_device_time_total if cuda else event.self_cpu_time_total) / 1e6

    matmul = sum(self_s(e) for e in events if e.key in MATMUL_OPS or "scaled_dot_product" in e.key)
    optim = sum(self_s(e) for e in events if e.key.startswith(OPTIMIZER_OPS))
    return {"wall_s": wall, "matmul_s": matmul, "optimizer_s": optim,
            "other_s": max(wall - matmul - optim, 0.0)}


def run_training(plan: Plan, rows: dict[str, np.ndarray], item_sources: dict[str, Any]) -> list[dict]:
    """The seed and default presets in fp32 and bf16 (the trainer's fp32-master path, and
    plain autocast for comparison) on the same batches. Without native bf16 a seed bf16
    step takes minutes: then only the narrowest ``seed_bf16_steps`` batches are timed."""
    native = native_bf16(runtime.DEVICE)
    results = []
    _, _, seed_cfg = training_preset("seed")
    seed_batches = list(epoch_batches(len(rows["item_id"]), seed_cfg.batch_size, shuffle=True,
                                      seed=seed_cfg.seed, max_batches=plan.seed_warmup + plan.seed_steps))
    fp32 = measure_training("seed fp32", "seed", rows, item_sources, seed_batches, plan.seed_warmup,
                            profile_step=True)
    results.append(fp32)
    results.append(measure_training("seed fp32, cross_net: mix", "seed", rows, item_sources,
                                    seed_batches, plan.seed_warmup, overrides={"cross_net": "mix"}))
    if native:
        results.append(measure_training("seed bf16", "seed", rows, item_sources, seed_batches,
                                        plan.seed_warmup, bf16=True, profile_step=True))
        results.append(measure_training("seed bf16, autocast only", "seed", rows, item_sources,
                                        seed_batches, plan.seed_warmup, bf16=True,
                                        master_weights=False))
    elif plan.seed_bf16_steps > 0:
        # the narrowest of the fp32 batches (an emulated bf16 step costs minutes), compared
        # with the fp32 step on the very same batches
        chosen = sorted(fp32["records"], key=lambda r: r["width"])[: plan.seed_bf16_steps]
        bf16 = measure_training("seed bf16", "seed", rows, item_sources,
                                [r["index"] for r in chosen], 0, bf16=True)
        same = sum(r["step_s"] for r in chosen) / len(chosen)
        bf16["note"] = (f"emulated bf16, on the narrowest fp32 batch(es) (width "
                        f"{[r['width'] for r in chosen]}), fp32 step on the same batch {same:.2f}s")
        bf16["fp32_same_batch_step_s"] = same
        results.append(bf16)
    _, _, default_cfg = training_preset("default")
    default_batches = list(epoch_batches(len(rows["item_id"]), default_cfg.batch_size, shuffle=True,
                                         seed=default_cfg.seed,
                                         max_batches=plan.default_warmup + plan.default_steps))
    results.append(measure_training("default fp32", "default", rows, item_sources,
                                    default_batches, plan.default_warmup, profile_step=True))
    if native:
        results.append(measure_training("default bf16", "default", rows, item_sources,
                                        default_batches, plan.default_warmup, bf16=True,
                                        profile_step=True))
        results.append(measure_training("default bf16, autocast only", "default", rows,
                                        item_sources, default_batches, plan.default_warmup,
                                        bf16=True, master_weights=False))
    elif plan.default_bf16_steps > 0:
        results.append(measure_training(
            "default bf16", "default", rows, item_sources,
            default_batches[: 1 + plan.default_bf16_steps], 1, bf16=True))
    return results

