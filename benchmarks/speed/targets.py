"""The targets table: each target met, missed or not measurable here, by how much and why.

One function per target, each given the run's results and returning its row(s);
:func:`targets` lists them in the report's order.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from mmctr.engine.precision import cpu_bf16_units, native_bf16

from . import runtime
from .plan import (
    TARGET_BF16_PEAK,
    TARGET_CROSS_RATIO,
    TARGET_DATA_RATIO,
    TARGET_DEFAULT_BF16_SPEEDUP,
    TARGET_EPOCH_S,
    TARGET_FP32_PEAK,
    TARGET_PIPELINE_GB,
    TARGET_PIPELINE_S,
    TARGET_SCORING_S,
    TEST_ROWS,
    TRAIN_ROWS,
    VOCAB,
)

Row = list[str]


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _no_native_bf16(res: dict[str, Any]) -> str:
    return (f"not measurable on this machine: {res['machine']['measured on']} has no native bf16 "
            f"matmul (CPU bf16 units: {cpu_bf16_units()}; `lscpu` lists neither amx_bf16 nor "
            "avx512_bf16), so PyTorch emulates bf16 far slower than fp32 and `bf16: auto` keeps "
            "training in fp32. Run this benchmark on an AMX / AVX512-BF16 CPU or a GPU")


def secs(x: float) -> str:
    return f"{x:.2f}s" if x >= 1 else f"{x * 1e3:.1f} ms"


def breakdown_text(r: dict[str, Any], peak: float) -> str:
    b = r.get("breakdown")
    if not b:
        return ""
    return (f"In a profiled step ({secs(b['wall_s'])}) the matmuls took {secs(b['matmul_s'])} "
            f"({b['gflops']:.0f} GFLOP/s, {pct(b['gflops'] / peak)} of peak), the optimizer "
            f"(fused Adam{' + master copies' if r['precision'].endswith('masters') else ''} + "
            f"zero_grad) {secs(b['optimizer_s'])} over {r['params'] / 1e6:.1f}M parameters, "
            f"everything else {secs(b['other_s'])} (casts, clipping, dropout, norms, embedding "
            "gradients, small kernels)")


def _spikes(r: dict[str, Any]) -> str:
    """Steps over 1.3x the median: allocator page faults, other jobs."""
    times = sorted(rec["step_s"] for rec in r["records"])
    median = times[len(times) // 2]
    slow = [t for t in times if t > 1.3 * median]
    if not slow:
        return ""
    return (f"; {len(slow)} of {len(times)} timed steps took over 1.3x the median "
            f"({', '.join(secs(t) for t in slow)} vs {secs(median)}): without them "
            f"{r['gflop_per_step'] / median:.0f} GFLOP/s")


@dataclasses.dataclass(frozen=True)
class Seen:
    """What every target reads: the peak, the training runs by label, native bf16, the load."""

    res: dict[str, Any]
    peak: dict[str, Any] | None
    train: dict[str, dict[str, Any]]
    native: bool
    shared: str

    @classmethod
    def of(cls, res: dict[str, Any]) -> Seen:
        return cls(res, res.get("peak"), {r["label"]: r for r in res.get("train", [])},
                   native_bf16(runtime.DEVICE),
                   f"; load {res['load_start']} on {len(os.sched_getaffinity(0))} cores at the start")


def seed_fp32(s: Seen) -> list[Row]:
    if not (s.peak and "seed fp32" in s.train):
        return []
    peak, r = s.peak, s.train["seed fp32"]
    frac = r["gflops"] / peak["fp32"]
    why = ""
    if frac < TARGET_FP32_PEAK:
        ideal = r["gflop_per_step"] / peak["fp32"]
        cross = r["cross_flops_per_sample"] / max(r["flops_per_sample"], 1)
        why = (f"short by {pct(TARGET_FP32_PEAK - frac)} of peak ({TARGET_FP32_PEAK / frac:.2f}x). "
               f"At peak the step's matmuls would take {ideal:.2f}s; the step took "
               f"{r['step_s']:.2f}s. {pct(cross)} of the FLOPs are the cross network's GEMMs "
               f"(128 rows against a 9,088 x 9,088 weight: {peak['cross_gemm']:.0f} GFLOP/s in "
               f"isolation, see the peak table). {breakdown_text(r, peak['fp32'])}{s.shared}")
    return [[f"seed fp32 training ≥ {pct(TARGET_FP32_PEAK)} of fp32 peak",
             f"{r['gflops']:.1f} / {peak['fp32']:.1f} GFLOP/s = {pct(frac)}",
             "met" if frac >= TARGET_FP32_PEAK else "missed", why]]


def _seed_bf16_native(s: Seen, name: str) -> Row:
    peak, r = s.peak, s.train["seed bf16"]
    frac = r["gflops"] / peak["bf16"]
    why = ""
    if frac < TARGET_BF16_PEAK:
        why = (f"short by {pct(TARGET_BF16_PEAK - frac)} of peak. At peak the step's matmuls "
               f"would take {r['gflop_per_step'] / peak['bf16']:.2f}s; the step took "
               f"{r['step_s']:.2f}s; the seed cross layer's GEMMs reach "
               f"{peak['cross_gemm_bf16']:.0f} GFLOP/s in isolation. "
               f"{breakdown_text(r, peak['bf16'])}{_spikes(r)}{s.shared}")
    return [name, f"{r['gflops']:.1f} / {peak['bf16']:.1f} GFLOP/s = {pct(frac)}",
            "met" if frac >= TARGET_BF16_PEAK else "missed", why]


def seed_bf16(s: Seen) -> list[Row]:
    name = f"seed bf16 training ≥ {pct(TARGET_BF16_PEAK)} of bf16 peak"
    if not (s.peak and s.train):
        return []
    if "seed bf16" in s.train and s.native:
        return [_seed_bf16_native(s, name)]
    if not s.native:
        r = s.train.get("seed bf16")
        measured = (f"{r['gflops']:.2f} / {s.peak['bf16']:.1f} GFLOP/s (emulated)" if r else "–")
        return [[name, measured, "not measurable here", _no_native_bf16(s.res)]]
    return [[name, "not measured", "–", "skipped in this run"]]


def _default_bf16_why(s: Seen, f32: dict[str, Any], b16: dict[str, Any], ratio: float) -> str:
    if ratio >= TARGET_DEFAULT_BF16_SPEEDUP or not f32.get("breakdown"):
        return ""
    b = f32["breakdown"]
    share = b["matmul_s"] / b["wall_s"]
    return (f"short by {TARGET_DEFAULT_BF16_SPEEDUP / ratio:.2f}x. The default model is "
            f"small ({f32['params'] / 1e6:.1f}M parameters, "
            f"{f32['flops_per_sample'] / 1e6:.2f} MFLOP a sample): in a profiled fp32 step "
            f"({b['wall_s'] * 1e3:.1f} ms) the matmuls take {pct(share)} of the time, so "
            f"even free matmuls would give at most {1 / max(1 - share, 1e-9):.2f}x; the "
            f"rest is per-kernel overhead, dropout masks, the embedding gradients and "
            f"the optimizer. bf16 step: {breakdown_text(b16, s.peak['bf16'] if s.peak else 1.0)}"
            f"{s.shared}")


def default_bf16(s: Seen) -> list[Row]:
    name = f"default bf16 training ≥ {TARGET_DEFAULT_BF16_SPEEDUP:.1f}x default fp32"
    if "default fp32" in s.train and "default bf16" in s.train and s.native:
        f32, b16 = s.train["default fp32"], s.train["default bf16"]
        ratio = b16["samples_per_s"] / f32["samples_per_s"]
        return [[name, f"{b16['samples_per_s']:,.0f} vs {f32['samples_per_s']:,.0f} samples/s "
                 f"= {ratio:.2f}x", "met" if ratio >= TARGET_DEFAULT_BF16_SPEEDUP else "missed",
                 _default_bf16_why(s, f32, b16, ratio)]]
    if "default fp32" in s.train and not s.native:
        return [[name, "–", "not measurable here", _no_native_bf16(s.res)]]
    return []


def epoch(s: Seen) -> list[Row]:
    if "epoch" not in s.res:
        return []
    e = s.res["epoch"]
    scale = e["rows"] / TRAIN_ROWS
    minutes = e["seconds"] / 60 / scale
    ok = minutes * 60 <= TARGET_EPOCH_S
    measured = (f"{e['seconds'] / 60:.2f} min for {e['rows']:,} rows ({e['samples_per_s']:,.0f} "
                f"samples/s, {e['precision']})")
    if e["rows"] != TRAIN_ROWS:
        measured += f"; {minutes:.2f} min extrapolated to {TRAIN_ROWS:,} rows (not the target's scale)"
    return [[f"default model, one epoch over {TRAIN_ROWS:,} rows ≤ {TARGET_EPOCH_S / 60:.0f} min",
             measured, "met" if ok else "missed", f"load {e['load']}"]]


def data_path(s: Seen) -> list[Row]:
    data = {r["preset"]: r for r in s.res.get("data", [])}
    if not ("default" in data and "default fp32" in s.train):
        return []
    d, consume = data["default"], s.train["default fp32"]["consume_per_s"]
    ratio = d["samples_per_s"] / consume
    why = "" if ratio >= TARGET_DATA_RATIO else (
        f"short by {TARGET_DATA_RATIO / ratio:.1f}x: a default batch (width "
        f"{d['mean_width']:.0f}) takes {1e6 / d['batches_per_s']:.0f} µs to assemble, most "
        f"of it the random reads of 128-d float embedding rows (target and history) from a "
        f"{VOCAB['item'] * VOCAB['emb_dim'] * 4 / 2**20:.0f} MB item table that does not "
        f"stay in cache, against {1e3 * d['batch_size'] / consume:.1f} "
        f"ms for the model's step: assembly is {100 * ratio ** -1:.0f}% of a training step"
        f"{s.shared}")
    return [[f"data path ≥ {TARGET_DATA_RATIO:.0f}x default model consumption",
             f"{d['samples_per_s']:,.0f} vs {consume:,.0f} "
             f"samples/s = {ratio:.0f}x", "met" if ratio >= TARGET_DATA_RATIO else "missed", why]]


def pipelines(s: Seen) -> list[Row]:
    if "pipelines_error" in s.res:
        failed = [["data stages on the full preset", "failed", "not measured", s.res["pipelines_error"]]]
    else:
        failed = []
    if "pipelines" not in s.res:
        return failed
    p = s.res["pipelines"]
    scale = "" if p["preset"] == "full" else f" (preset {p['preset']}: not the target's scale)"
    wall_ok, mem_ok = p["wall_s"] <= TARGET_PIPELINE_S, p["peak_gb"] <= TARGET_PIPELINE_GB
    stages = "feature_engineering + item_embedding + semantic_similarity (full)"
    return [[f"{stages} ≤ {TARGET_PIPELINE_S / 60:.0f} min",
             f"{p['wall_s'] / 60:.2f} min{scale}", "met" if wall_ok else "missed",
             "" if wall_ok else f"over by {p['wall_s'] - TARGET_PIPELINE_S:.0f}s (load {p['load']})"],
            [f"{stages} ≤ {TARGET_PIPELINE_GB:.0f} GB peak",
             f"{p['peak_gb']:.2f} GB{scale}", "met" if mem_ok else "missed",
             "" if mem_ok else (f"over by {p['peak_gb'] - TARGET_PIPELINE_GB:.2f} GB; the peak "
                                f"falls in node `{p['peak_node']}`")], *failed]


def scoring(s: Seen) -> list[Row]:
    if "scoring" not in s.res:
        return []
    r = s.res["scoring"]
    ok = r["seconds"] <= TARGET_SCORING_S * r["rows"] / TEST_ROWS
    return [[f"scoring {TEST_ROWS:,} test rows (default model) ≤ {TARGET_SCORING_S / 60:.0f} min",
             f"{r['seconds']:.1f}s for {r['rows']:,} rows ({r['rows_per_s']:,.0f} rows/s)",
             "met" if ok else "missed", "" if ok else f"load {r['load']}"]]


def cross_net(s: Seen) -> list[Row]:
    if not ("seed fp32" in s.train and "seed fp32, cross_net: mix" in s.train):
        return []
    full, mix = s.train["seed fp32"], s.train["seed fp32, cross_net: mix"]
    ratio = full["cross_flops_per_sample"] / max(mix["cross_flops_per_sample"], 1)
    return [[f"cross_net: mix ≥ {TARGET_CROSS_RATIO:.0f}x cheaper cross network (seed, 9,088-d)",
             f"{full['cross_flops_per_sample'] / 1e6:.0f} vs {mix['cross_flops_per_sample'] / 1e6:.1f} "
             f"MFLOP/sample (fwd+bwd) = {ratio:.1f}x", "met" if ratio >= TARGET_CROSS_RATIO else "missed", ""]]


#: the targets in the report's order
TARGETS: tuple[Callable[[Seen], list[Row]], ...] = (
    seed_fp32, seed_bf16, default_bf16, epoch, data_path, pipelines, scoring, cross_net)


def targets(res: dict[str, Any]) -> list[Row]:
    """Every target's row(s): [target, measured, met / missed / not measurable, why]."""
    seen = Seen.of(res)
    return [row for target in TARGETS for row in target(seen)]
