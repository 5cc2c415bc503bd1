"""mmctr speed and memory benchmark: everything measured in one run.

    python benchmarks/benchmark.py            # full run (~15 min on 2 cores), writes results.md
    python benchmarks/benchmark.py --quick    # smoke run (~2-3 min), prints only
    python benchmarks/benchmark.py --sections peak,train   # some sections (prints only)
    python benchmarks/benchmark.py --device cpu   # the CPU on a machine with a GPU (default: auto)

Sections (all by default):

- ``threads``: the scoring workload in fresh processes under OpenMP's defaults,
  ``OMP_WAIT_POLICY=PASSIVE``, a short spin ``GOMP_SPINCOUNT=1000`` (what ``import mmctr``
  and this benchmark set, unless ``--omp-default`` or the shell chose) and one thread.
- ``peak``: fp32 and bf16 GFLOP/s of large square matmuls (best of several; bf16 in
  the three operand layouts a Linear layer's forward/backward use).
- ``attention``: which scaled-dot-product-attention kernel the Transformer layer runs in
  training and in eval (profiler).
- ``train``: samples/s and achieved GFLOP/s of ``transformer_dcn`` at the ``seed`` training
  preset (fp32, bf16 autocast, and ``cross_net: mix``) and at the ``default`` preset (fp32,
  bf16), on batches cut by the model's ``history_width`` exactly as training does. Each
  step is :func:`mmctr.engine.trainer.train_step`, the trainer's own step. FLOPs are
  counted by ``torch.utils.flop_counter.FlopCounterMode`` over forward + backward at the
  executed shapes: on a meta-device twin that replays each timed step's history-length
  buckets (so counting adds nothing to the timed step), checked against a count over a
  real step.
- ``data``: the data path alone: ``BatchAssembler`` on a real-scale split (3,600,000 rows x
  width 100, 91,718-item table), and its ratio to the default model's consumption rate.
- ``pipelines``: wall time and peak RSS of ``kedro run --pipelines
  feature_engineering,item_embedding,semantic_similarity`` on the ``full`` synthetic preset, in a
  temporary copy of the project (removed afterwards); then the same run on pyarrow's own
  default pool, ``ARROW_DEFAULT_MEMORY_POOL=mimalloc`` (``import mmctr`` picks jemalloc
  on Linux: mimalloc keeps the memory of freed tables).
- ``scoring``: :func:`mmctr.engine.trainer.predict` of the default model over the
  379,142-row test-set size.

Data for ``train``/``data``/``scoring`` is generated here with the real vocabulary sizes
and real-like history lengths (log-normal, median 6, mean 8, clipped to 0..100, as the
synthetic generator); item ids are uniform (the worst case for the gathers' caches).
Public tools only: torch, numpy, PyYAML, kedro (the project's own dependencies).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# OpenMP reads its wait policy and spin count once, when torch loads it. libgomp's
# default (a long spin, then sleep) stalls every parallel region on a shared machine whose
# other jobs keep the cores busy; PASSIVE threads sleep at once, which slows small kernels
# on an idle machine; `import mmctr` sets a short spin (GOMP_SPINCOUNT=1000) unless the
# shell chose, and so does this benchmark unless --omp-default. The ``threads`` section
# measures each setting in fresh processes.
OMP_ENV = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
if "--omp-default" not in sys.argv and "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

import numpy as np  # noqa: E402
import torch  # noqa: E402

OMP_AT_TORCH = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}  # what OpenMP read
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from mmctr.data.kernels import ROW_STATS  # noqa: E402
from mmctr.engine.batching import BatchAssembler, build_item_table, epoch_batches  # noqa: E402
from mmctr.engine.fit import resolve_training  # noqa: E402
from mmctr.engine.precision import (  # noqa: E402
    Bf16Weights,
    cpu_bf16_units,
    keep_freed_memory,
    native_bf16,
    resolve_bf16,
)
from mmctr.engine.trainer import (  # noqa: E402
    TrainConfig,
    make_optimizer,
    predict,
    resolve_device,
    train_step,
)
from mmctr.models import build_model, count_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("threads", "peak", "attention", "train", "epoch", "data", "pipelines", "scoring")

# MicroLens_1M_x1 sizes (docs/DATA_CONTRACT.md)
VOCAB = {"item": 91_718, "tag": 11_740, "likes": 11, "views": 11, "max_len": 100,
         "emb_dim": 128, "num_tags": 5, "row_stats": len(ROW_STATS)}
TRAIN_ROWS, TEST_ROWS, WIDTH = 3_600_000, 379_142, 100
HISTORY_MEDIAN, HISTORY_MEAN = 6.0, 8.0

# the speed and memory targets
TARGET_FP32_PEAK = 0.50
TARGET_BF16_PEAK = 0.35
TARGET_DATA_RATIO = 50.0
TARGET_PIPELINE_S = 300.0
TARGET_PIPELINE_GB = 8.0
TARGET_SCORING_S = 120.0
TARGET_CROSS_RATIO = 10.0
# the data stages between the raw files and training (item_embedding: the item table's
# embedding, by default the provided one, which semantic_similarity reads)
DATA_STAGES = "feature_engineering,item_embedding,semantic_similarity"
TARGET_DEFAULT_BF16_SPEEDUP = 1.5
TARGET_EPOCH_S = 480.0
DEVICE = torch.device("cpu")  # --device


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much to measure (full run vs ``--quick``)."""

    fp32_sizes: tuple[int, ...] = (2048, 4096)
    fp32_reps: int = 3
    bf16_size: int = 2048  # nt / tn layouts
    bf16_nn_size: int = 1024  # the slow layout: one smaller matmul
    bf16_reps: int = 3
    seed_warmup: int = 5  # the allocator's heap settles over the first steps
    seed_steps: int = 6
    seed_bf16_steps: int = 1  # emulated bf16 only (~5 min a step on an AVX2-only CPU): 0 skips it
    default_warmup: int = 20
    default_steps: int = 200
    default_bf16_steps: int = 3  # emulated bf16 only
    epoch_rows: int = TRAIN_ROWS
    data_rows: int = TRAIN_ROWS
    data_seconds: float = 10.0
    scoring_rows: int = TEST_ROWS
    pipeline_preset: str = "full"
    probe_rows: int = 40_000


QUICK = Plan(fp32_sizes=(1024,), fp32_reps=2, bf16_size=512, bf16_nn_size=256, bf16_reps=1,
             seed_warmup=1, seed_steps=1, seed_bf16_steps=0, default_warmup=1,
             default_steps=20, default_bf16_steps=1, data_rows=400_000, data_seconds=2.0,
             epoch_rows=200_000,
             scoring_rows=40_000, pipeline_preset="tiny", probe_rows=10_000)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def read_params(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())


# ---------------------------------------------------------------- machine
def machine_info() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    flags = set((re.search(r"flags\s*:\s*(.*)", cpuinfo) or [None, ""])[1].split())
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s*(\d+)", meminfo)
    isa = ", ".join(f"{f} {'yes' if f in flags else 'no'}"
                    for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"))
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = " (+ uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
    return {
        "date (UTC)": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "CPU": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores usable": str(len(os.sched_getaffinity(0))),
        "memory": f"{int(mem.group(1)) / 2**20:.1f} GiB" if mem else "unknown",
        "ISA flags": isa,
        "torch": f"{torch.__version__}, {torch.get_num_threads()} threads, "
                 f"CPU capability {torch.backends.cpu.get_cpu_capability()}, "
                 f"MKL {torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()}",
        "bf16 matmul units (CPU)": f"{cpu_bf16_units()}; native: {native_bf16(torch.device('cpu'))}",
        "measured on": _device_name(DEVICE),
        "allocator": "glibc told to keep freed memory (as the trainer does)" if MEMORY_KEPT
                     else "library default",
        "OpenMP": f"{torch.__config__.parallel_info().splitlines()[2].strip()}; "
                  + ", ".join(f"{k} {v or 'unset (library default)'}"
                              f"{' (set by the benchmark)' if v and not OMP_ENV[k] else ''}"
                              for k, v in OMP_AT_TORCH.items()) + ", "
                  f"OMP_NUM_THREADS {os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "python / OS": f"{platform.python_version()} / {platform.platform()}",
        "project commit": f"{commit}{dirty}" if commit else "unknown",
    }


MEMORY_KEPT = False


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}, native bf16 {native_bf16(device)})"
    return f"cpu ({len(os.sched_getaffinity(0))} cores)"


def sync() -> None:
    """Wait for queued device work (CUDA) before reading a clock."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def _git(*args: str) -> str:
    try:  # read-only queries
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


# ---------------------------------------------------------------- threads probe
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
                args = [sys.executable, str(Path(__file__).resolve()), "--probe", str(plan.probe_rows)]
                if changes.get("GOMP_SPINCOUNT", "") is None:
                    args.append("--omp-default")
                load_start = load_avg()
                done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
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


# ---------------------------------------------------------------- matmul peak
def _best_gflops(fn: Callable[[], Any], flops: float, reps: int) -> float:
    fn()  # warm-up
    sync()
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def cross_layer_gemms(reps: int) -> dict[str, dict[str, float]]:
    """GFLOP/s of the seed's cross-layer GEMMs (128 rows against a 9,088 x 9,088 weight: not
    a peak), fp32 and bf16, each call with a fresh output as in training: forward ``nt``,
    input gradient ``nn``, weight gradient ``tn``."""
    batch, width = 128, 9088
    cross: dict[str, dict[str, float]] = {}
    for dtype, label in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        x = torch.randn(batch, width, device=DEVICE, dtype=dtype)
        g = torch.randn(batch, width, device=DEVICE, dtype=dtype)
        weight = torch.randn(width, width, device=DEVICE, dtype=dtype)
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
    scale = 4 if DEVICE.type == "cuda" else 1
    rows = []
    fp32 = 0.0
    for n in (size * scale for size in plan.fp32_sizes):
        a, b = torch.randn(n, n, device=DEVICE), torch.randn(n, n, device=DEVICE)
        c = torch.empty(n, n, device=DEVICE)
        rate = _best_gflops(lambda a=a, b=b, c=c: torch.mm(a, b, out=c), 2 * n**3, plan.fp32_reps)
        rows.append(("fp32", "nn", n, plan.fp32_reps, rate))
        fp32 = max(fp32, rate)
        log(f"peak fp32 {n}: {rate:.1f} GFLOP/s")
    bf16 = 0.0
    for layout, n, reps in (("nt", plan.bf16_size * scale, plan.bf16_reps),
                            ("tn", plan.bf16_size * scale, plan.bf16_reps),
                            ("nn", plan.bf16_nn_size * scale, plan.bf16_reps)):
        a = torch.randn(n, n, dtype=torch.bfloat16, device=DEVICE)
        b = torch.randn(n, n, dtype=torch.bfloat16, device=DEVICE)
        lhs = a.t() if layout[0] == "t" else a
        rhs = b.t() if layout[1] == "t" else b
        out = torch.empty(n, n, dtype=torch.bfloat16, device=DEVICE)
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
    if DEVICE.type == "cpu" and MEMORY_KEPT:  # the same GEMMs under the default allocator
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--probe-gemm",
                               str(plan.fp32_reps)], capture_output=True, text=True, timeout=900)
        if done.returncode == 0:
            for label, rates in json.loads(done.stdout.strip().splitlines()[-1]).items():
                for layout, rate in rates.items():
                    rows.append((f"{label}, seed cross layer, glibc's default allocator",
                                 layout, "–", plan.fp32_reps, rate))
                    log(f"{label} seed cross-layer GEMM {layout}, default allocator: {rate:.1f} GFLOP/s")
    return {"rows": rows, "fp32": fp32, "bf16": bf16, "bf16_layouts": layouts,
            "cross_gemm": sum(cross["fp32"].values()) / 3,
            "cross_gemm_bf16": sum(cross["bf16"].values()) / 3}


# ---------------------------------------------------------------- attention kernels
def attention_kernels() -> dict[str, str]:
    """The SDPA kernel the seed's Transformer layer runs, in training and in eval."""
    from torch.profiler import profile

    from mmctr.models.layers import TargetHistoryTransformer

    layer = TargetHistoryTransformer(64, dropout=0.2)
    history, target = torch.randn(8, 20, 64), torch.randn(8, 64)
    seq = torch.randint(0, 3, (8, 20))
    found = {}
    for mode in ("train", "eval"):
        layer.train(mode == "train")
        with torch.set_grad_enabled(mode == "train"), profile() as prof:
            out = layer(history, target, seq)
            if mode == "train":
                out.sum().backward()
        names = sorted({e.key for e in prof.key_averages()
                        if "scaled_dot_product" in e.key and e.key != "aten::scaled_dot_product_attention"
                        and "backward" not in e.key})
        found[mode] = ", ".join(names) or "none"
    return found


# ---------------------------------------------------------------- synthetic arrays
def make_items(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray] | None]:
    v, width = VOCAB["item"], VOCAB["num_tags"]
    counts = 1 + rng.binomial(width - 1, 0.35, v)
    tags = rng.integers(1, VOCAB["tag"], (v, width), dtype=np.int32)
    tags[np.arange(width)[None, :] < (width - counts)[:, None]] = 0
    emb = rng.standard_normal((v, VOCAB["emb_dim"]), dtype=np.float32)
    tags[0], emb[0] = 0, 0.0
    return {"item_features": {"item_tags": tags, "item_emb": emb}, "item_semantics": None}


def make_rows(n: int, rng: np.random.Generator, chunk: int = 500_000) -> dict[str, np.ndarray]:
    """A split with real-like history lengths (log-normal, median 6, mean 8, 0..100)."""
    sigma = math.sqrt(2 * math.log(HISTORY_MEAN / HISTORY_MEDIAN))
    seq = np.empty((n, WIDTH), dtype=np.int32)
    cols = np.arange(WIDTH, dtype=np.int32)[None, :]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        length = np.clip(np.rint(HISTORY_MEDIAN * np.exp(sigma * rng.standard_normal(hi - lo))),
                         0, WIDTH).astype(np.int32)
        block = rng.integers(1, VOCAB["item"], (hi - lo, WIDTH), dtype=np.int32)
        block[cols < (WIDTH - length)[:, None]] = 0
        seq[lo:hi] = block
    return {
        "item_seq": seq,
        "item_id": rng.integers(1, VOCAB["item"], n, dtype=np.int32),
        "likes_level": rng.integers(0, 11, n, dtype=np.int32),
        "views_level": rng.integers(0, 11, n, dtype=np.int32),
        "user_id": rng.integers(0, 1_000_000, n, dtype=np.int64),
        "label": (rng.random(n, dtype=np.float32) < 0.25).astype(np.float32),
        # the similarity stage's per-row arrays the default model reads (values: noise)
        "sim_stats": rng.standard_normal((n, 4), dtype=np.float32),
        "row_stats": rng.standard_normal((n, VOCAB["row_stats"]), dtype=np.float32),
    }


def head(rows: dict[str, np.ndarray], n: int, labels: bool = True) -> dict[str, np.ndarray]:
    return {k: v[:n] for k, v in rows.items() if labels or k != "label"}


# ---------------------------------------------------------------- training
def training_preset(preset: str, **overrides: Any) -> tuple[str, dict[str, Any], TrainConfig]:
    block = dict(read_params("training")["training"], preset=preset)
    name, model_params, cfg = resolve_training(block)
    model_params = {**model_params, **overrides}
    return name, model_params, dataclasses.replace(cfg, device=str(DEVICE), progress=False,
                                                   checkpoint_dir=None)


@dataclasses.dataclass
class Trainee:
    """A model set up as the trainer sets it up: precision, bf16 masters, batches, optimizer."""

    name: str
    params: dict[str, Any]
    cfg: TrainConfig
    model: nn.Module
    weights: Bf16Weights | None
    data: BatchAssembler
    optimizer: torch.optim.Optimizer
    loss_fn: nn.Module

    @property
    def precision(self) -> str:
        if not self.cfg.bf16:
            return "fp32"
        return "bf16, fp32 masters" if self.weights is not None else "bf16 autocast"

    def step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return train_step(self.cfg, self.model, self.model, self.optimizer, self.loss_fn, batch,
                          DEVICE, self.weights)


def trainee(preset: str, rows: dict[str, np.ndarray], item_sources: dict[str, Any],
            bf16: bool | None = None, master_weights: bool | None = None,
            overrides: dict[str, Any] | None = None) -> Trainee:
    """``preset`` (with model ``overrides``) on ``rows``, in training mode on ``DEVICE``;
    ``bf16`` / ``master_weights`` None: the preset's settings (``auto`` resolved)."""
    name, params, cfg = training_preset(preset, **(overrides or {}))
    bf16 = resolve_bf16(cfg.bf16, DEVICE, "training.bf16") if bf16 is None else bf16
    master_weights = cfg.bf16_master_weights if master_weights is None else master_weights
    cfg = dataclasses.replace(cfg, bf16=bf16, bf16_master_weights=master_weights)
    torch.manual_seed(cfg.seed)
    model = build_model(name, params, VOCAB).to(DEVICE).train()
    weights = Bf16Weights(model, in_backward=True) if bf16 and master_weights else None
    data = BatchAssembler(rows, build_item_table(item_sources, model.item_features, DEVICE),
                          model.row_features, model.history_width, DEVICE)
    return Trainee(name, params, cfg, model, weights, data,
                   make_optimizer(model, cfg, DEVICE, weights), nn.BCEWithLogitsLoss())


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
        sync()
        replay.start()
        t1 = time.perf_counter()
        if i == 0 and warmup > 0:  # cross-check the meta count against a real step
            counter = FlopCounterMode(display=False)
            with counter:
                t.step(batch)
            replay.arm()
            check = (int(counter.get_total_flops()), count_step_flops(meta_model, _meta(batch))[0])
            sync()
            t2 = time.perf_counter()
        else:
            t.step(batch)
            sync()
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

    cuda = DEVICE.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        t.step(batch)
        sync()
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
    native = native_bf16(DEVICE)
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


# ---------------------------------------------------------------- real-scale epoch
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
    sync()
    seconds = time.perf_counter() - start
    out = {"rows": len(data), "batch_size": cfg.batch_size, "steps": len(batches),
           "precision": t.precision, "seconds": seconds,
           "samples_per_s": len(data) / seconds, "load": f"{load_start} → {load_avg()}",
           "params": count_parameters(t.model)}
    log(f"epoch: {len(data):,} rows in {seconds / 60:.2f} min ({out['samples_per_s']:,.0f} samples/s)")
    del t, data
    gc.collect()
    return out


# ---------------------------------------------------------------- data path
def measure_data_path(plan: Plan, rows: dict[str, np.ndarray], item_sources: dict[str, Any]) -> list[dict]:
    """Batches/s of ``BatchAssembler`` alone, for the default and seed presets."""
    out = []
    for preset in ("default", "seed"):
        name, params, cfg = training_preset(preset)
        with torch.device("meta"):  # only the batch contract is needed
            model = build_model(name, params, VOCAB)
        start = time.perf_counter()
        items = build_item_table(item_sources, model.item_features, DEVICE)
        data = BatchAssembler(rows, items, model.row_features, model.history_width, DEVICE)
        sync()
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
        sync()
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


# ---------------------------------------------------------------- pipelines
# a small intermediate process starts kedro: a child's maximum RSS starts from its
# parent's RSS at fork, so kedro must not be forked from this (large) process
_WRAPPER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "max_rss_kb": usage.ru_maxrss}, f)
"""


def _tree_rss_kb(pid: int) -> int:
    """VmRSS summed over ``pid``'s descendants (not ``pid`` itself)."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    for child in map(int, children):
        try:
            match = re.search(r"VmRSS:\s*(\d+)", Path(f"/proc/{child}/status").read_text())
        except OSError:
            continue
        total += int(match.group(1)) if match else 0
        total += _tree_rss_kb(child)
    return total


def _watch_rss(pid: int, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        samples.append((time.perf_counter(), _tree_rss_kb(pid)))


def _kedro(args: list[str], cwd: Path, logfile: Path, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``kedro`` with ``args``; wall time, peak RSS (wait4) and the node at the peak."""
    env = dict(os.environ, COLUMNS="250", KEDRO_DISABLE_TELEMETRY="true", PYTHONUNBUFFERED="1",
               **(extra_env or {}))
    events: list[tuple[float, str]] = []
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    report = cwd / "rusage.json"
    report.unlink(missing_ok=True)
    start = time.perf_counter()
    with logfile.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, str(report), sys.executable, "-m", "kedro", "run", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        watcher = threading.Thread(target=_watch_rss, args=(proc.pid, samples, stop), daemon=True)
        watcher.start()
        for line in proc.stdout:
            sink.write(line)
            match = re.search(r"Completed node:\s*(\S+)", line)
            if match:
                events.append((time.perf_counter(), match.group(1)))
        proc.wait()
    wall = time.perf_counter() - start
    stop.set()
    watcher.join()
    usage = json.loads(report.read_text()) if report.exists() else {"rc": 1, "max_rss_kb": 0}
    peak_node = "?"
    if samples:
        t_peak = max(samples, key=lambda s: s[1])[0]
        peak_node = next((name for t, name in events if t >= t_peak), "after the last node")
    return {"rc": usage["rc"] or proc.returncode, "wall_s": wall, "peak_gb": usage["max_rss_kb"] / 2**20,
            "peak_node": peak_node, "nodes": [name for _, name in events]}


def measure_pipelines(plan: Plan) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="mmctr-bench-"))
    try:
        shutil.copytree(ROOT / "conf", tmp / "conf", ignore=shutil.ignore_patterns("local"))
        (tmp / "conf" / "local").mkdir()
        shutil.copy2(ROOT / "pyproject.toml", tmp / "pyproject.toml")
        if (ROOT / ".telemetry").exists():
            shutil.copy2(ROOT / ".telemetry", tmp / ".telemetry")
        (tmp / "src").mkdir()
        log(f"pipelines: generating the '{plan.pipeline_preset}' synthetic preset in {tmp} (not measured)")
        synth = _kedro(["--pipelines", "synthetic", "--params", f"synthetic.preset={plan.pipeline_preset}"],
                       tmp, tmp / "synthetic.log")
        if synth["rc"] != 0:
            raise RuntimeError(f"synthetic run failed: {(tmp / 'synthetic.log').read_text()[-3000:]}")
        log(f"pipelines: synthetic took {synth['wall_s']:.0f}s; measuring {DATA_STAGES}")
        load_start = load_avg()
        run = _kedro(["--pipelines", DATA_STAGES], tmp, tmp / "measured.log")
        if run["rc"] != 0:
            raise RuntimeError(f"measured run failed: {(tmp / 'measured.log').read_text()[-3000:]}")
        run.update(preset=plan.pipeline_preset, synthetic_s=synth["wall_s"],
                   load=f"{load_start} → {load_avg()}")
        log(f"pipelines: {run['wall_s']:.0f}s, peak {run['peak_gb']:.2f} GB ({run['peak_node']})")
        # the same run on pyarrow's own default pool (mimalloc), which keeps memory it has
        # freed; `import mmctr` picks jemalloc on Linux instead
        load_start = load_avg()
        variant = _kedro(["--pipelines", DATA_STAGES], tmp,
                         tmp / "variant.log", {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"})
        if variant["rc"] == 0:
            variant["load"] = f"{load_start} → {load_avg()}"
            run["arrow_mimalloc"] = variant
            log(f"pipelines, ARROW_DEFAULT_MEMORY_POOL=mimalloc: {variant['wall_s']:.0f}s, "
                f"peak {variant['peak_gb']:.2f} GB")
        return run
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- scoring
def measure_scoring(plan: Plan, rows: dict[str, np.ndarray], item_sources: dict[str, Any]) -> dict[str, Any]:
    name, params, _ = training_preset("default")
    batch_size = int(read_params("submission")["submission"]["batch_size"])
    torch.manual_seed(0)
    model = build_model(name, params, VOCAB).to(DEVICE).eval()
    load_start = load_avg()
    start = time.perf_counter()
    items = build_item_table(item_sources, model.item_features, DEVICE)
    data = BatchAssembler(head(rows, plan.scoring_rows, labels=False), items,
                          model.row_features, model.history_width, DEVICE)
    probs = predict(model, data, batch_size)
    elapsed = time.perf_counter() - start
    assert len(probs) == plan.scoring_rows and np.isfinite(probs).all()
    log(f"scoring: {plan.scoring_rows:,} rows in {elapsed:.1f}s")
    return {"rows": plan.scoring_rows, "batch_size": batch_size, "seconds": elapsed,
            "rows_per_s": plan.scoring_rows / elapsed, "load": f"{load_start} → {load_avg()}"}


# ---------------------------------------------------------------- report
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _no_native_bf16(res: dict[str, Any]) -> str:
    return (f"not measurable on this machine: {res['machine']['measured on']} has no native bf16 "
            f"matmul (CPU bf16 units: {cpu_bf16_units()}; `lscpu` lists neither amx_bf16 nor "
            "avx512_bf16), so PyTorch emulates bf16 far slower than fp32 and `bf16: auto` keeps "
            "training in fp32. Run this benchmark on an AMX / AVX512-BF16 CPU or a GPU")


def _secs(x: float) -> str:
    return f"{x:.2f}s" if x >= 1 else f"{x * 1e3:.1f} ms"


def _breakdown_text(r: dict[str, Any], peak: float) -> str:
    b = r.get("breakdown")
    if not b:
        return ""
    return (f"In a profiled step ({_secs(b['wall_s'])}) the matmuls took {_secs(b['matmul_s'])} "
            f"({b['gflops']:.0f} GFLOP/s, {_pct(b['gflops'] / peak)} of peak), the optimizer "
            f"(fused Adam{' + master copies' if r['precision'].endswith('masters') else ''} + "
            f"zero_grad) {_secs(b['optimizer_s'])} over {r['params'] / 1e6:.1f}M parameters, "
            f"everything else {_secs(b['other_s'])} (casts, clipping, dropout, norms, embedding "
            "gradients, small kernels)")


def _spikes(r: dict[str, Any]) -> str:
    """Steps over 1.3x the median: allocator page faults, other jobs."""
    times = sorted(rec["step_s"] for rec in r["records"])
    median = times[len(times) // 2]
    slow = [t for t in times if t > 1.3 * median]
    if not slow:
        return ""
    return (f"; {len(slow)} of {len(times)} timed steps took over 1.3x the median "
            f"({', '.join(_secs(t) for t in slow)} vs {_secs(median)}): without them "
            f"{r['gflop_per_step'] / median:.0f} GFLOP/s")


def targets(res: dict[str, Any]) -> list[list[str]]:  # noqa: C901 - one branch per target
    out = []
    peak, train = res.get("peak"), {r["label"]: r for r in res.get("train", [])}
    native = native_bf16(DEVICE)
    load = res["load_start"]
    shared = f"; load {load} on {len(os.sched_getaffinity(0))} cores at the start"
    if peak and "seed fp32" in train:
        r = train["seed fp32"]
        frac = r["gflops"] / peak["fp32"]
        why = ""
        if frac < TARGET_FP32_PEAK:
            ideal = r["gflop_per_step"] / peak["fp32"]
            cross = r["cross_flops_per_sample"] / max(r["flops_per_sample"], 1)
            why = (f"short by {_pct(TARGET_FP32_PEAK - frac)} of peak ({TARGET_FP32_PEAK / frac:.2f}x). "
                   f"At peak the step's matmuls would take {ideal:.2f}s; the step took "
                   f"{r['step_s']:.2f}s. {_pct(cross)} of the FLOPs are the cross network's GEMMs "
                   f"(128 rows against a 9,088 x 9,088 weight: {peak['cross_gemm']:.0f} GFLOP/s in "
                   f"isolation, see the peak table). {_breakdown_text(r, peak['fp32'])}{shared}")
        out.append([f"seed fp32 training ≥ {_pct(TARGET_FP32_PEAK)} of fp32 peak",
                    f"{r['gflops']:.1f} / {peak['fp32']:.1f} GFLOP/s = {_pct(frac)}",
                    "met" if frac >= TARGET_FP32_PEAK else "missed", why])
    name = f"seed bf16 training ≥ {_pct(TARGET_BF16_PEAK)} of bf16 peak"
    if peak and "seed bf16" in train and native:
        r = train["seed bf16"]
        frac = r["gflops"] / peak["bf16"]
        why = ""
        if frac < TARGET_BF16_PEAK:
            why = (f"short by {_pct(TARGET_BF16_PEAK - frac)} of peak. At peak the step's matmuls "
                   f"would take {r['gflop_per_step'] / peak['bf16']:.2f}s; the step took "
                   f"{r['step_s']:.2f}s; the seed cross layer's GEMMs reach "
                   f"{peak['cross_gemm_bf16']:.0f} GFLOP/s in isolation. "
                   f"{_breakdown_text(r, peak['bf16'])}{_spikes(r)}{shared}")
        out.append([name, f"{r['gflops']:.1f} / {peak['bf16']:.1f} GFLOP/s = {_pct(frac)}",
                    "met" if frac >= TARGET_BF16_PEAK else "missed", why])
    elif peak and train and not native:
        r = train.get("seed bf16")
        measured = (f"{r['gflops']:.2f} / {peak['bf16']:.1f} GFLOP/s (emulated)" if r else "–")
        out.append([name, measured, "not measurable here", _no_native_bf16(res)])
    elif peak and train:
        out.append([name, "not measured", "–", "skipped in this run"])
    name = f"default bf16 training ≥ {TARGET_DEFAULT_BF16_SPEEDUP:.1f}x default fp32"
    if "default fp32" in train and "default bf16" in train and native:
        f32, b16 = train["default fp32"], train["default bf16"]
        ratio = b16["samples_per_s"] / f32["samples_per_s"]
        why = ""
        if ratio < TARGET_DEFAULT_BF16_SPEEDUP and f32.get("breakdown"):
            b = f32["breakdown"]
            share = b["matmul_s"] / b["wall_s"]
            why = (f"short by {TARGET_DEFAULT_BF16_SPEEDUP / ratio:.2f}x. The default model is "
                   f"small ({f32['params'] / 1e6:.1f}M parameters, "
                   f"{f32['flops_per_sample'] / 1e6:.2f} MFLOP a sample): in a profiled fp32 step "
                   f"({b['wall_s'] * 1e3:.1f} ms) the matmuls take {_pct(share)} of the time, so "
                   f"even free matmuls would give at most {1 / max(1 - share, 1e-9):.2f}x; the "
                   f"rest is per-kernel overhead, dropout masks, the embedding gradients and "
                   f"the optimizer. bf16 step: {_breakdown_text(b16, peak['bf16'] if peak else 1.0)}"
                   f"{shared}")
        out.append([name, f"{b16['samples_per_s']:,.0f} vs {f32['samples_per_s']:,.0f} samples/s "
                    f"= {ratio:.2f}x", "met" if ratio >= TARGET_DEFAULT_BF16_SPEEDUP else "missed", why])
    elif "default fp32" in train and not native:
        out.append([name, "–", "not measurable here", _no_native_bf16(res)])
    if "epoch" in res:
        e = res["epoch"]
        scale = e["rows"] / TRAIN_ROWS
        minutes = e["seconds"] / 60 / scale
        ok = minutes * 60 <= TARGET_EPOCH_S
        measured = (f"{e['seconds'] / 60:.2f} min for {e['rows']:,} rows ({e['samples_per_s']:,.0f} "
                    f"samples/s, {e['precision']})")
        if e["rows"] != TRAIN_ROWS:
            measured += f"; {minutes:.2f} min extrapolated to {TRAIN_ROWS:,} rows (not the target's scale)"
        out.append([f"default model, one epoch over {TRAIN_ROWS:,} rows ≤ {TARGET_EPOCH_S / 60:.0f} min",
                    measured, "met" if ok else "missed", f"load {e['load']}"])
    data = {r["preset"]: r for r in res.get("data", [])}
    if "default" in data and "default fp32" in train:
        ratio = data["default"]["samples_per_s"] / train["default fp32"]["consume_per_s"]
        d = data["default"]
        why = "" if ratio >= TARGET_DATA_RATIO else (
            f"short by {TARGET_DATA_RATIO / ratio:.1f}x: a default batch (width "
            f"{d['mean_width']:.0f}) takes {1e6 / d['batches_per_s']:.0f} µs to assemble, most "
            f"of it the random reads of 128-d float embedding rows (target and history) from a "
            f"{VOCAB['item'] * VOCAB['emb_dim'] * 4 / 2**20:.0f} MB item table that does not "
            f"stay in cache, against {1e3 * d['batch_size'] / train['default fp32']['consume_per_s']:.1f} "
            f"ms for the model's step: assembly is {100 * ratio ** -1:.0f}% of a training step"
            f"{shared}")
        out.append([f"data path ≥ {TARGET_DATA_RATIO:.0f}x default model consumption",
                    f"{data['default']['samples_per_s']:,.0f} vs {train['default fp32']['consume_per_s']:,.0f} "
                    f"samples/s = {ratio:.0f}x", "met" if ratio >= TARGET_DATA_RATIO else "missed", why])
    if "pipelines" in res:
        p = res["pipelines"]
        scale = "" if p["preset"] == "full" else f" (preset {p['preset']}: not the target's scale)"
        wall_ok, mem_ok = p["wall_s"] <= TARGET_PIPELINE_S, p["peak_gb"] <= TARGET_PIPELINE_GB
        out.append([f"feature_engineering + item_embedding + semantic_similarity (full) ≤ {TARGET_PIPELINE_S / 60:.0f} min",
                    f"{p['wall_s'] / 60:.2f} min{scale}", "met" if wall_ok else "missed",
                    "" if wall_ok else f"over by {p['wall_s'] - TARGET_PIPELINE_S:.0f}s (load {p['load']})"])
        out.append([f"feature_engineering + item_embedding + semantic_similarity (full) ≤ {TARGET_PIPELINE_GB:.0f} GB peak",
                    f"{p['peak_gb']:.2f} GB{scale}", "met" if mem_ok else "missed",
                    "" if mem_ok else (f"over by {p['peak_gb'] - TARGET_PIPELINE_GB:.2f} GB; the peak "
                                       f"falls in node `{p['peak_node']}`")])
    if "pipelines_error" in res:
        out.append(["data stages on the full preset", "failed", "not measured",
                    res["pipelines_error"]])
    if "scoring" in res:
        s = res["scoring"]
        ok = s["seconds"] <= TARGET_SCORING_S * s["rows"] / TEST_ROWS
        out.append([f"scoring {TEST_ROWS:,} test rows (default model) ≤ {TARGET_SCORING_S / 60:.0f} min",
                    f"{s['seconds']:.1f}s for {s['rows']:,} rows ({s['rows_per_s']:,.0f} rows/s)",
                    "met" if ok else "missed", "" if ok else f"load {s['load']}"])
    if "seed fp32" in train and "seed fp32, cross_net: mix" in train:
        full, mix = train["seed fp32"], train["seed fp32, cross_net: mix"]
        ratio = full["cross_flops_per_sample"] / max(mix["cross_flops_per_sample"], 1)
        out.append([f"cross_net: mix ≥ {TARGET_CROSS_RATIO:.0f}x cheaper cross network (seed, 9,088-d)",
                    f"{full['cross_flops_per_sample'] / 1e6:.0f} vs {mix['cross_flops_per_sample'] / 1e6:.1f} "
                    f"MFLOP/sample (fwd+bwd) = {ratio:.1f}x", "met" if ratio >= TARGET_CROSS_RATIO else "missed", ""])
    return out


def render(res: dict[str, Any], argv: Sequence[str]) -> str:  # noqa: C901 - the report's sections in order
    lines = ["# mmctr benchmark results", "",
             f"Produced by `python benchmarks/benchmark.py{' ' + ' '.join(argv) if argv else ''}` "
             f"in {res['total_s'] / 60:.1f} min; every figure below comes from this one run. "
             "Regenerate with the same command.", ""]
    lines += ["## Machine", ""]
    info = dict(res["machine"], **{"load average (1/5/15 min) at start": res["load_start"],
                                   "load average at end": res["load_end"]})
    lines += _table(["", ""], list(info.items()))
    lines += ["Other engineers run jobs on this machine concurrently: a load average above the "
              "core count means the benchmark shared the CPU, and every rate below is lower "
              "than on an idle machine.", ""]
    lines += ["## Targets", ""]
    lines += _table(["target", "measured", "result", "why / by how much"], targets(res))
    if "threads" in res:
        lines += ["## OpenMP threads, idle and shared", "",
                  f"The scoring workload (default model, {res['threads'][0]['rows']:,} "
                  "rows, after a warm-up pass) and 200 fp32 training steps of the default model "
                  "(after 20 untimed) in fresh processes. libgomp's default spins "
                  "~300,000 iterations and then sleeps at every parallel region's barrier; when "
                  "other jobs keep the cores busy, each barrier waits for a descheduled thread. "
                  "`OMP_WAIT_POLICY=PASSIVE` threads sleep at once, slow to wake for the next "
                  "small kernel when the cores are idle. `GOMP_SPINCOUNT=1000` spins briefly: "
                  "what `import mmctr` sets unless the shell set a policy or a spin count, and "
                  "so does this benchmark unless `--omp-default`. Which wins depends on the load "
                  "(see the load column); OpenMP reads the variables once, when torch loads.", ""]
        base = {t["busy"]: t for t in reversed(res["threads"])}  # the first row per load
        lines += _table(["setting", "busy processes started", "threads", "scoring rows/s",
                         "vs defaults", "training samples/s", "vs defaults", "load avg"],
                        [[t["label"], t["busy"], t["threads"], f"{t['rows_per_s']:,.0f}",
                          f"{t['rows_per_s'] / base[t['busy']]['rows_per_s']:.2f}x",
                          f"{t['train_samples_per_s']:,.0f}",
                          f"{t['train_samples_per_s'] / base[t['busy']]['train_samples_per_s']:.2f}x",
                          t["load"]]
                         for t in res["threads"]])
    if "peak" in res:
        lines += ["## Matmul peak", "",
                  "Square matmuls, best of the repetitions after a warm-up. `nn` = A @ B, "
                  "`nt` = A @ Bᵀ (a Linear's forward), `tn` = Aᵀ @ B (its weight gradient); "
                  "the `nn` layout is also its input gradient. The peak of a dtype is its "
                  "best square row; the seed cross-layer rows (its forward, input and weight "
                  "gradients at batch 128, a fresh output each call as in training) show what "
                  "that skinny shape reaches. Rows marked 'glibc's default allocator' repeat "
                  "them in a child process without `keep_freed_memory`: there every fresh "
                  "output of 165-330 MB comes from new pages that the kernel faults in, which "
                  "is what made the weight-gradient layout look slow.", ""]
        lines += _table(["dtype", "layout", "n", "reps", "GFLOP/s"],
                        [[d, lay, n, r, f"{g:.2f}"] for d, lay, n, r, g in res["peak"]["rows"]])
        lines += [f"Peak: fp32 **{res['peak']['fp32']:.1f}** GFLOP/s, bf16 **{res['peak']['bf16']:.1f}** "
                  "GFLOP/s.", ""]
    if "attention" in res:
        a = res["attention"]
        lines += ["## Attention kernel", "",
                  "The Transformer layers call attention with `need_weights=False`, so it runs "
                  "as `scaled_dot_product_attention`; the kernel it picks (profiler, seed "
                  "layer with dropout 0.2):", ""]
        lines += _table(["mode", "kernel"], [["training", a["train"]], ["eval / scoring", a["eval"]]])
        lines += ["On the CPU the fused (flash) kernel has no dropout, so training with "
                  "attention dropout falls back to the exact math path; CUDA's fused kernels "
                  "take dropout.", ""]
    if "train" in res:
        peak = res.get("peak")
        rows = []
        for r in res["train"]:
            rows.append([r["label"], r["precision"], f"{r['params']:,}", r["batch_size"], r["steps"],
                         f"{np.mean(r['widths']):.0f} ({min(r['widths'])}–{max(r['widths'])})",
                         f"{r['token_width']:.1f}",
                         f"{r['step_s']:.3f}", _rate(r["samples_per_s"]), _rate(r["consume_per_s"]),
                         f"{r['gflop_per_step']:.2f}", f"{r['gflops']:.1f}",
                         _pct(r["gflops"] / peak["fp32"]) if peak else "–",
                         _pct(r["gflops"] / peak["bf16"]) if peak else "–", r["load"]])
        lines += ["## Training throughput", "",
                  "One step = `mmctr.engine.trainer.train_step` (forward, BCE, backward, clip, fused "
                  "Adam) on a batch from `BatchAssembler` cut to the model's `history_width`, after "
                  "warm-up step(s). Precision: `fp32`; `bf16, fp32 masters` = what the trainer "
                  "runs with bf16 on (Linear weights kept in bf16, fp32 masters in the optimizer, "
                  "refreshed after each step); `bf16 autocast` = plain autocast over fp32 weights "
                  "(re-cast every step), for comparison. 'batch width': the batch's cut; "
                  "'Transformer tokens/row': positions the encoder ran per row after length "
                  "buckets. samples/s counts assembly + step; 'model samples/s' the step alone. "
                  "FLOPs: forward + backward matmuls/attention (`FlopCounterMode`) at the executed "
                  "shapes, counted on a meta-device twin that replays the step's buckets (no "
                  "counting overhead in the timed step); achieved GFLOP/s as a fraction of both "
                  "peaks measured above.", ""]
        lines += _table(["config", "precision", "parameters", "batch", "timed steps",
                         "batch width mean (min–max)", "Transformer tokens/row",
                         "s/step", "samples/s", "model samples/s", "GFLOP/step", "GFLOP/s",
                         "% of fp32 peak", "% of bf16 peak", "load avg"], rows)
        checks = [f"{r['label']}: real step {c[0] / 1e9:.2f} GFLOP, meta count {c[1] / 1e9:.2f} GFLOP"
                  for r in res["train"] if (c := r["flop_check"])]
        if checks:
            lines += ["FLOP count check on the warm-up step (counted over the real step vs "
                      "from its shapes on the meta device): " + "; ".join(checks) + ".", ""]
        notes = [f"{r['label']}: {r['note']}." for r in res["train"] if r.get("note")]
        notes += [f"{r['label']}, one profiled step ({b['wall_s'] * 1e3:.1f} ms): matmuls "
                  f"{b['matmul_s'] * 1e3:.1f} ms ({b['gflops']:.1f} GFLOP/s), optimizer (fused Adam"
                  f"{', master copies' if r['precision'].endswith('masters') else ''}, zero_grad) "
                  f"{b['optimizer_s'] * 1e3:.1f} ms, everything else {b['other_s'] * 1e3:.1f} ms."
                  for r in res["train"] if (b := r.get("breakdown"))]
        lines += [*notes, ""] if notes else []
        by = {r["label"]: r for r in res["train"]}
        if "seed fp32" in by and "seed fp32, cross_net: mix" in by:
            full, mix = by["seed fp32"], by["seed fp32, cross_net: mix"]
            lines += ["### Cross network: full (CrossNetV2) vs `cross_net: mix` (seed, same batches)", ""]
            lines += _table(
                ["", "cross net MFLOP/sample", "step MFLOP/sample", "parameters", "samples/s"],
                [[lab, f"{r['cross_flops_per_sample'] / 1e6:.1f}", f"{r['flops_per_sample'] / 1e6:.0f}",
                  f"{r['params']:,}", f"{r['samples_per_s']:,.1f}"] for lab, r in (("full", full), ("mix", mix))]
                + [["ratio", f"{full['cross_flops_per_sample'] / max(mix['cross_flops_per_sample'], 1):.1f}x",
                    f"{full['flops_per_sample'] / mix['flops_per_sample']:.2f}x",
                    f"{full['params'] / mix['params']:.2f}x",
                    f"{mix['samples_per_s'] / full['samples_per_s']:.2f}x"]])
    if "epoch" in res:
        e = res["epoch"]
        lines += ["## The default model at real scale", "",
                  f"One epoch of the default training configuration (`kedro run`'s model, "
                  f"{e['params']:,} parameters, batch {e['batch_size']}, `bf16: auto` → "
                  f"{e['precision']}) over {e['rows']:,} rows, exactly as the trainer steps "
                  "(assembly + `train_step`, no validation).", ""]
        lines += _table(["rows", "steps", "precision", "minutes", "samples/s", "load avg"],
                        [[f"{e['rows']:,}", f"{e['steps']:,}", e["precision"],
                          f"{e['seconds'] / 60:.2f}", f"{e['samples_per_s']:,.0f}", e["load"]]])
    if "data" in res:
        lines += ["## Data path alone", "",
                  "`BatchAssembler` on a real-scale split (rows x width 100 int32; item table "
                  "91,718 rows with 5 tags and 128-d float32 embeddings), shuffled epoch order, "
                  "histories cut per batch as in training.", ""]
        lines += _table(["preset", "rows", "batch", "item columns", "setup s", "batches timed",
                         "mean width", "batches/s", "samples/s", "load avg"],
                        [[d["preset"], f"{d['rows']:,}", d["batch_size"], d["features"],
                          f"{d['setup_s']:.2f}", d["batches"], f"{d['mean_width']:.1f}",
                          f"{d['batches_per_s']:,.0f}", f"{d['samples_per_s']:,.0f}", d["load"]]
                         for d in res["data"]])
    if "pipelines" in res:
        p = res["pipelines"]
        lines += ["## feature_engineering + item_embedding + semantic_similarity", "",
                  f"`kedro run --pipelines {DATA_STAGES}` on the "
                  f"`{p['preset']}` synthetic preset in a temporary copy of the project (the "
                  f"synthetic run before it took {p['synthetic_s']:.0f}s and is not counted; the "
                  "runs inherit this process's environment, OpenMP setting included). Peak "
                  "memory = the kedro process's maximum RSS (`wait4`); the node at the peak from "
                  "RSS sampled every 0.25 s.", ""]
        arrow = os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "unset (pyarrow's default)")
        runs = [(f"as configured (ARROW_DEFAULT_MEMORY_POOL {arrow})", p)]
        if p.get("arrow_mimalloc"):
            runs.append(("ARROW_DEFAULT_MEMORY_POOL=mimalloc (pyarrow's default)", p["arrow_mimalloc"]))
        lines += _table(["run", "wall time", "peak RSS", "node at the peak", "nodes", "load avg"],
                        [[lab, f"{r['wall_s']:.0f}s ({r['wall_s'] / 60:.2f} min)", f"{r['peak_gb']:.2f} GB",
                          r["peak_node"], len(r["nodes"]), r["load"]] for lab, r in runs])
        if p.get("arrow_mimalloc"):
            lines += ["The second run repeats the first on pyarrow's own default pool "
                      "(mimalloc), which keeps memory it has freed (the raw parquet tables) in "
                      "the process; `import mmctr` sets `ARROW_DEFAULT_MEMORY_POOL` to jemalloc "
                      "on Linux unless it is set. The targets table uses the first run.", ""]
    if "scoring" in res:
        s = res["scoring"]
        lines += ["## Test-set scoring", "",
                  "`mmctr.engine.trainer.predict` with the default model over a `BatchAssembler` "
                  "(item table build included), batch size from `parameters_submission.yml`.", ""]
        lines += _table(["rows", "batch", "seconds", "rows/s", "load avg"],
                        [[f"{s['rows']:,}", s["batch_size"], f"{s['seconds']:.1f}",
                          f"{s['rows_per_s']:,.0f}", s["load"]]])
    lines += ["## Exact speed-ups in the default configuration", "",
              "- History cut per batch: `BatchAssembler` cuts every batch to "
              "`model.history_width(longest, width)` (tests: logits equal to the uncut model "
              "within 1e-5, both mask modes).",
              "- Length buckets (CPU): inside a batch, rows are grouped by the columns they "
              "need (`first_k_cols * 2**b`) and the Transformer runs each group at its own width "
              "(tests: logits and gradients equal to the whole batch within 1e-5, both mask "
              "modes); see 'Transformer tokens/row' above.",
              "- Attention as one `scaled_dot_product_attention` call on views of the packed "
              "QKV projection, without `nn.MultiheadAttention`'s layout copies (test: equal to "
              "`nn.TransformerEncoder` within 1e-5; kernel table above).",
              "- Vectorised batch assembly: `index_select` gathers on columns narrowed to the "
              "cut width, no per-row Python.",
              "- On CUDA: pinned host tensors and non-blocking copies; the item table lives on "
              "the device.",
              "- No host-device synchronisation in `train_step`: the loss is summed on the "
              "device and read only at progress-bar updates (`log_every`) and epoch end.",
              "- Fused Adam (`make_optimizer`): one multi-tensor kernel instead of a loop over "
              "parameters (same update rule).",
              "- bf16 with fp32 master weights (`training.bf16: auto`, on where the hardware "
              "multiplies bf16): the Linear weights live in bf16, so no step re-casts them; "
              "the optimizer updates fp32 masters and refreshes the copies in one pass (test: "
              "the same weights as plain autocast, and within tolerance of fp32).",
              "- Freed memory kept for reuse on CPU (`training.keep_freed_memory`): glibc would "
              "return every large freed block (a weight gradient, a cast weight) to the kernel "
              "and page-fault it back on the next step.",
              ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> None:  # noqa: C901 - options, then sections in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short smoke run (small sizes)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--output", type=Path, default=None,
                        help="markdown file to write (default: benchmarks/results.md for a full "
                             "run of every section; nothing otherwise)")
    parser.add_argument("--seed-bf16-steps", type=int, default=None,
                        help="bf16 seed steps (minutes each without native bf16; 0 skips)")
    parser.add_argument("--omp-default", action="store_true",
                        help="keep OpenMP's default wait policy and spin count (default: "
                             "GOMP_SPINCOUNT=1000 unless the shell set either)")
    parser.add_argument("--device", default="auto",
                        help="auto (default: CUDA when present), cpu, cuda or cuda:N: where the peak, train, epoch, "
                             "data and scoring sections run")
    parser.add_argument("--probe", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probe-gemm", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe is not None:  # a `threads` subprocess
        print(json.dumps(probe_scoring(args.probe)))
        return
    if args.probe_gemm is not None:  # the cross-layer GEMMs without keep_freed_memory
        print(json.dumps(cross_layer_gemms(args.probe_gemm)))
        return
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
    plan = QUICK if args.quick else Plan()
    if args.seed_bf16_steps is not None:
        plan = dataclasses.replace(plan, seed_bf16_steps=args.seed_bf16_steps)
    output = args.output
    if output is None and not args.quick and set(sections) == set(SECTIONS):
        output = ROOT / "benchmarks" / "results.md"
    global DEVICE, MEMORY_KEPT  # noqa: PLW0603 - set once, from the command line
    DEVICE = resolve_device(args.device)
    if DEVICE.type == "cpu":  # as the trainer does (training.keep_freed_memory)
        MEMORY_KEPT = keep_freed_memory()

    start = time.perf_counter()
    res: dict[str, Any] = {"machine": machine_info(), "load_start": load_avg()}
    log(f"machine: {json.dumps(res['machine'])}; load {res['load_start']}")
    if "threads" in sections:
        res["threads"] = measure_threads(plan)
    if "peak" in sections:
        res["peak"] = measure_peak(plan)
    if "attention" in sections:
        res["attention"] = attention_kernels()
        log(f"attention kernels: {res['attention']}")
    needs_data = {"train", "epoch", "data", "scoring"} & set(sections)
    if needs_data:
        rng = np.random.default_rng(2025)
        t0 = time.perf_counter()
        item_sources = make_items(rng)
        n_rows = max(plan.scoring_rows, 200_000,
                     plan.data_rows if "data" in sections else 0,
                     plan.epoch_rows if "epoch" in sections else 0)
        rows = make_rows(n_rows, rng)
        lengths = (rows["item_seq"] != 0).sum(1)
        log(f"generated {len(lengths):,} rows in {time.perf_counter() - t0:.1f}s: history length "
            f"mean {lengths.mean():.2f}, median {np.median(lengths):.0f}, max {lengths.max()}")
        del lengths
    if "train" in sections:
        res["train"] = run_training(plan, rows, item_sources)
    if "epoch" in sections:
        res["epoch"] = measure_epoch(plan, head(rows, plan.epoch_rows), item_sources)
    if "data" in sections:
        res["data"] = measure_data_path(plan, rows, item_sources)
    if "scoring" in sections:
        res["scoring"] = measure_scoring(plan, rows, item_sources)
    if needs_data:
        del rows, item_sources
        gc.collect()
    if "pipelines" in sections:
        try:
            res["pipelines"] = measure_pipelines(plan)
        except RuntimeError as exc:  # reported, the other sections' figures kept
            res["pipelines_error"] = str(exc).strip().splitlines()[-1][:500]
            log(f"pipelines failed: {res['pipelines_error']}")
    res["load_end"] = load_avg()
    res["total_s"] = time.perf_counter() - start
    text = render(res, raw_argv)
    print("\n" + text)
    if output is not None:
        output.write_text(text)
        log(f"wrote {output}")


if __name__ == "__main__":
    main()
