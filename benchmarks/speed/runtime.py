"""Where the run measures (``--device``) and what it tells about the machine."""

from __future__ import annotations

import os

import torch

from benchmarks import common
from mmctr.engine.precision import cpu_bf16_units, keep_freed_memory, native_bf16
from mmctr.engine.trainer import resolve_device

from . import OMP_AT_TORCH, OMP_ENV

DEVICE = torch.device("cpu")  # set once by configure(), from --device
MEMORY_KEPT = False  # glibc told to keep freed memory (CPU, as the trainer does)


def configure(device: str) -> None:
    """Resolve ``--device`` and, on the CPU, keep freed memory as the trainer does."""
    global DEVICE, MEMORY_KEPT  # noqa: PLW0603 - set once, from the command line
    DEVICE = resolve_device(device)
    if DEVICE.type == "cpu":  # as the trainer does (training.keep_freed_memory)
        MEMORY_KEPT = keep_freed_memory()


def sync() -> None:
    """Wait for queued device work (CUDA) before reading a clock."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}, native bf16 {native_bf16(device)})"
    return f"cpu ({common.cores()} cores)"


def _openmp() -> str:
    settings = ", ".join(f"{k} {v or 'unset (library default)'}"
                         f"{' (set by the benchmark)' if v and not OMP_ENV[k] else ''}"
                         for k, v in OMP_AT_TORCH.items())
    return (f"{torch.__config__.parallel_info().splitlines()[2].strip()}; {settings}, "
            f"OMP_NUM_THREADS {os.environ.get('OMP_NUM_THREADS', 'unset')}")


def machine_info() -> dict[str, str]:
    """:func:`benchmarks.common.machine` plus torch, bf16 units, device, allocator, OpenMP."""
    info = common.machine()
    tail = {k: info.pop(k) for k in ("python / OS", "project commit")}
    info.update({
        "torch": f"{torch.__version__}, {torch.get_num_threads()} threads, "
                 f"CPU capability {torch.backends.cpu.get_cpu_capability()}, "
                 f"MKL {torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()}",
        "bf16 matmul units (CPU)": f"{cpu_bf16_units()}; native: {native_bf16(torch.device('cpu'))}",
        "measured on": device_name(DEVICE),
        "allocator": "glibc told to keep freed memory (as the trainer does)" if MEMORY_KEPT
                     else "library default",
        "OpenMP": _openmp(),
        **tail,
    })
    return info
