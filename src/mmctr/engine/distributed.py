"""Data-parallel plumbing for :mod:`mmctr.engine.trainer` (``torch.distributed``).

Two ways in:

* ``world_size: N`` in the training parameters: :func:`spawn` starts N local
  processes (Gloo on CPU, NCCL on CUDA, one GPU each) and returns rank 0's result;
* ``torchrun`` (one or several machines): the environment already names RANK,
  WORLD_SIZE and LOCAL_RANK, and :func:`init_if_needed` joins that process group.

Split arrays reach spawned workers as memory-mapped ``.npy`` files, so N processes
share one copy of the data in the page cache.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from mmctr.data.shards import ShardedRows

__all__ = ["broadcast_flag", "in_distributed_env", "init_if_needed", "mean_across_ranks",
           "spawn", "wrap"]

logger = logging.getLogger(__name__)


def in_distributed_env() -> bool:
    """True inside a process group or a process started by torchrun."""
    return dist.is_available() and (dist.is_initialized() or "RANK" in os.environ)


def _backend(device: str) -> str:
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return "nccl" if cuda and dist.is_nccl_available() else "gloo"


def init_if_needed(device: str) -> tuple[int, int, int]:
    """Join the process group the environment describes; ``(rank, world, local_rank)``."""
    if not in_distributed_env():
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group(backend=_backend(device))
    local_rank = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    if torch.cuda.is_available() and _backend(device) == "nccl":
        torch.cuda.set_device(local_rank)
    return dist.get_rank(), dist.get_world_size(), local_rank


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel around ``model`` (gradients all-reduced in backward)."""
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def broadcast_flag(flag: bool, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every rank (early stopping decided where validation ran)."""
    tensor = torch.tensor([int(flag)], device=device if device.type == "cuda" else "cpu")
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def broadcast_state(state: Mapping[str, torch.Tensor], optimizer: torch.optim.Optimizer,
                    device: torch.device) -> None:
    """Rank 0's weights (``state``: the model's live tensors, e.g. ``model.state_dict()``)
    and learning rates on every rank (after a plateau step that only rank 0, where
    validation ran, decided)."""
    with torch.no_grad():
        for tensor in state.values():
            dist.broadcast(tensor, src=0)
    lrs = torch.tensor([g["lr"] for g in optimizer.param_groups], dtype=torch.float64,
                       device=device if device.type == "cuda" else "cpu")
    dist.broadcast(lrs, src=0)
    for group, lr in zip(optimizer.param_groups, lrs.tolist(), strict=True):
        group["lr"] = lr


def mean_across_ranks(value: float, device: torch.device) -> float:
    tensor = torch.tensor([value], dtype=torch.float64,
                          device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(tensor)
    return float(tensor.item()) / dist.get_world_size()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spill(arrays: Mapping[str, np.ndarray] | None, folder: Path) -> Any:
    if arrays is None or isinstance(arrays, ShardedRows):  # shards: every rank reads its own
        return arrays
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, value in arrays.items():
        paths[key] = str(folder / f"{key}.npy")
        np.save(paths[key], np.asarray(value))
    return paths


def _unspill(paths: Any) -> Any:
    if paths is None or isinstance(paths, ShardedRows):
        return paths
    return {key: np.load(path, mmap_mode="c") for key, path in paths.items()}


def _worker(rank: int, world_size: int, port: int, fn: Callable, cfg: Any, model: nn.Module,
            spilled: dict[str, Any], run_info: Any, result_path: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    if rank != 0:
        logging.getLogger("mmctr").setLevel(logging.WARNING)
    dist.init_process_group(backend=_backend(cfg.device), rank=rank, world_size=world_size)
    try:
        item_sources = {k: _unspill(v) for k, v in spilled["items"].items()}
        result = fn(cfg, model, _unspill(spilled["train"]), _unspill(spilled["valid"]),
                    item_sources, run_info)
        if rank == 0:
            torch.save(result, result_path)
    finally:
        dist.destroy_process_group()


def spawn(fn: Callable, cfg: Any, model: nn.Module, train: Mapping[str, np.ndarray],
          valid: Mapping[str, np.ndarray], item_sources: Mapping[str, Any],
          run_info: Any) -> Any:
    """Run ``fn`` in ``cfg.world_size`` local processes; return rank 0's result."""
    logger.info("data-parallel training in %d processes (%s)", cfg.world_size,
                _backend(cfg.device))
    with tempfile.TemporaryDirectory(prefix="mmctr-ddp-") as tmp:
        folder = Path(tmp)
        spilled = {"train": _spill(train, folder / "train"),
                   "valid": _spill(valid, folder / "valid"),
                   "items": {k: _spill(v, folder / k) for k, v in item_sources.items()}}
        result_path = str(folder / "result.pt")
        mp.spawn(_worker, nprocs=cfg.world_size, join=True,
                 args=(cfg.world_size, _free_port(), fn, cfg, model, spilled, run_info,
                       result_path))
        return torch.load(result_path, weights_only=False)
