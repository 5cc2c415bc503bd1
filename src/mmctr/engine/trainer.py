"""The training loop: plain functions, seeded, resumable, data-parallel.

``train_model(cfg, model, train, valid, item_sources) -> TrainResult`` reads straight
down: setup → resume → epochs (batches → loss → step) → validation → early stopping
→ checkpoint. With ``cfg.world_size > 1`` it spawns that many processes (Gloo on
CPU, NCCL on CUDA); under ``torchrun`` it joins the process group torchrun set up.
Only rank 0 evaluates, logs progress and writes.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mmctr.data.shards import ShardedRows
from mmctr.engine import distributed as ddp
from mmctr.engine.batching import BatchAssembler, build_item_table, epoch_batches
from mmctr.engine.checkpoint import (
    load_checkpoint,
    rng_state,
    run_key,
    save_checkpoint,
    set_rng_state,
)
from mmctr.engine.metrics import auc, logloss
from mmctr.engine.precision import (
    Bf16Weights,
    autocast,
    keep_freed_memory,
    resolve_bf16,
)
from mmctr.engine.streaming import epoch_of, train_source
from mmctr.errors import NonFiniteError
from mmctr.progress import progress as progress_of

__all__ = [
    "TrainConfig",
    "TrainResult",
    "make_optimizer",
    "predict",
    "resolve_device",
    "train_model",
    "train_step",
]

# Called on rank 0 with each epoch's history row; returning True stops training after
# that epoch (an exception it raises, e.g. a pruned search trial, ends training).
EpochCallback = Callable[[dict[str, float]], bool]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. Defaults are the seed's (docs/SEED_MODEL.md)."""

    batch_size: int = 128
    learning_rate: float = 5e-4  # Adam
    epochs: int = 100
    patience: int = 5  # epochs without a better valid AUC before stopping
    # stop at once when an epoch's valid AUC falls more than this below the best (0: off):
    # a fall that large is memorisation, not noise (at 3.6M rows the second pass over the
    # same rows costs 0.008 whatever the learning rate; waiting `patience` epochs for it to
    # come back only spends time)
    stop_drop: float = 0.0
    max_grad_norm: float = 10.0
    # after an epoch without a better valid AUC: multiply the learning rate by this
    # (FuxiCTR's reduce-on-plateau; 1.0 = off) and, with plateau_restore, go back to the
    # best weights first. CTR models tend to overfit from the second epoch on; a smaller
    # step from the best point often still gains.
    plateau_factor: float = 1.0
    plateau_restore: bool = False
    # learning rate of the embedding tables (ids, tags, levels, biases); None: learning_rate.
    # Adam moves a parameter by ~lr per update whatever its gradient, and an item's rows
    # are updated only in the few batches that contain it: at the dense layers' rate an
    # item seen 5 times in an epoch barely leaves its initial value.
    embedding_learning_rate: float | None = None
    embedding_l2: float = 0.0  # DIN baseline: 1e-6 on embedding tables
    # the embedding tables stop learning after this many epochs (0: never); the dense
    # layers go on. A table row is fit to the very rows it is seen in, so a second pass
    # over the same rows memorises them (valid AUC falls from the second epoch at 3.6M rows)
    freeze_tables_after: int = 0
    seed: int = 20242025
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # matmuls in bfloat16: auto = where native (CUDA, CPU AMX / AVX512-BF16), else off
    bf16: bool | str = False
    # with bf16: Linear weights held in bf16, fp32 masters in the optimizer (no per-step
    # weight casts); False: plain autocast (casts the fp32 weights in every forward)
    bf16_master_weights: bool = True
    # CPU: let the allocator reuse freed memory instead of page-faulting it back each step
    keep_freed_memory: bool = True
    compile: bool = False  # torch.compile the model
    eval_batch_size: int = 4096
    max_steps_per_epoch: int | None = None  # a fixed budget (ablation)
    world_size: int = 1  # data-parallel processes
    checkpoint_dir: str | None = None  # None: no checkpoints, no resume
    resume: bool = True  # False forces a fresh start
    progress: bool = True  # tqdm bar with live loss and samples/s
    log_every: int = 20  # steps between progress-bar updates (each one syncs the device)


@dataclass
class TrainResult:
    """What training returns: the best weights and the per-epoch history."""

    state_dict: dict[str, torch.Tensor]
    history: list[dict[str, float]]
    best_epoch: int
    best_auc: float
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` takes CUDA when present (the process's local GPU under DDP)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


@torch.no_grad()
def predict(
    model: nn.Module,
    assembler: BatchAssembler,
    batch_size: int = 4096,
    bf16: bool = False,
    progress: bool = False,
) -> np.ndarray:
    """Click probabilities for every row of ``assembler``, in row order."""
    was_training = model.training
    model.eval()
    outs = []
    batches = epoch_batches(len(assembler), batch_size, shuffle=False)
    total = math.ceil(len(assembler) / batch_size)
    shown = progress_of(batches, "scoring", total=total, enabled=progress, unit="batches",
                        leave=False)
    for index in shown:
        with autocast(assembler.device, bf16):
            logits = model(assembler(index))
        outs.append(torch.sigmoid(logits.float()))
    model.train(was_training)
    if not outs:
        return np.zeros(0, dtype=np.float32)
    return torch.cat(outs).cpu().numpy().astype(np.float32)


def _data_fingerprint(rows: Mapping[str, np.ndarray]) -> list[Any]:
    if isinstance(rows, ShardedRows):  # streamed from shards: their content fingerprint
        return [rows.fingerprint]
    seq = rows["item_seq"]
    return [list(seq.shape), int(np.asarray(rows["item_id"][:1000], dtype=np.int64).sum()),
            float(np.asarray(rows.get("label", np.zeros(1)))[:1000].sum())]


def _embedding_l2(model: nn.Module) -> torch.Tensor:
    return sum(m.weight.pow(2).sum() for m in model.modules() if isinstance(m, nn.Embedding))


def make_optimizer(
    model: nn.Module, cfg: TrainConfig, device: torch.device, weights: Bf16Weights | None = None
) -> torch.optim.Adam:
    """Adam, fused (one multi-tensor kernel) on CPU and CUDA.

    Same update rule as the default per-parameter loop; on the seed model's 268M
    parameters the loop cost ~4 s per step on 2 cores, the fused kernel ~0.7 s. With
    ``weights`` the optimizer holds the fp32 masters of the model's bf16 weights.
    """
    fused = device.type in ("cpu", "cuda")
    params = list(model.parameters())
    if weights is not None:
        params = weights.parameters(params)
    if cfg.embedding_learning_rate is None and not cfg.freeze_tables_after:
        return torch.optim.Adam(params, lr=cfg.learning_rate, fused=fused)
    tables = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    params = [p for p in params if p.requires_grad]
    table_lr = cfg.embedding_learning_rate or cfg.learning_rate
    groups = [
        {"params": [p for p in params if id(p) not in tables], "lr": cfg.learning_rate,
         "tables": False},
        {"params": [p for p in params if id(p) in tables], "lr": table_lr, "tables": True},
    ]
    return torch.optim.Adam([g for g in groups if g["params"]], fused=fused)


def _dropped(cfg: TrainConfig, best: Mapping[str, Any], history: list[dict[str, float]]) -> bool:
    """Whether the last epoch's valid AUC fell more than ``cfg.stop_drop`` below the best."""
    return bool(cfg.stop_drop and history
                and best["auc"] - history[-1]["valid_auc"] > cfg.stop_drop)


def _freeze_tables(cfg: TrainConfig, optimizer: torch.optim.Optimizer, epoch: int) -> None:
    """From epoch ``cfg.freeze_tables_after`` (0-based here) on, the tables' group learns
    at rate 0 (no update; the optimizer's state, saved with it, carries this on resume)."""
    if not cfg.freeze_tables_after or epoch < cfg.freeze_tables_after:
        return
    for group in optimizer.param_groups:
        if group.get("tables") and group["lr"] != 0.0:
            group["lr"] = 0.0
            logger.info("epoch %d: embedding tables frozen (freeze_tables_after %d); the dense "
                        "layers go on", epoch + 1, cfg.freeze_tables_after)


def train_step(
    cfg: TrainConfig,
    net: nn.Module,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    batch: Mapping[str, torch.Tensor],
    device: torch.device,
    weights: Bf16Weights | None = None,
) -> torch.Tensor:
    """One optimisation step: forward (bf16 autocast when ``cfg.bf16`` is true), loss,
    backward, gradient clipping, optimizer step.

    Args:
        net: what runs the forward pass (``model`` itself, or its DDP / compiled wrapper).
        model: the bare model (embedding L2, gradients).
        weights: the model's bf16 weights and their fp32 masters (which ``optimizer``
            holds), or None.

    Returns:
        The detached loss: a device tensor, so the step never waits for the device.
    """
    if isinstance(cfg.bf16, str):
        raise ValueError(f"train_step needs bf16 resolved to true/false, got {cfg.bf16!r}")
    with autocast(device, cfg.bf16):
        logits = net(batch)
    loss = loss_fn(logits.float(), batch["label"])
    if cfg.embedding_l2 > 0:
        loss = loss + cfg.embedding_l2 * _embedding_l2(model)
    model.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if weights is not None:  # clip while the bf16 gradients move into the fp32 masters
        weights.clip_and_move(params, cfg.max_grad_norm)
    else:
        nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
    optimizer.step()
    if weights is not None:
        weights.refresh()
    return loss.detach()


def _refuse_non_finite(
    what: str, values: Any, epoch: int, cfg: TrainConfig, ckpt_path: Path | None
) -> None:
    """Stop training when ``values`` (the epoch's loss or the valid predictions) hold a
    NaN or an infinity, before anything of this epoch is saved.

    The run's checkpoint (earlier, finite epochs) is removed: resuming from it would
    replay the same steps into the same NaN, so the next run starts afresh.

    Raises:
        NonFiniteError: naming the stage (training), the epoch and the likely causes.
    """
    if np.isfinite(np.asarray(values, dtype=np.float64)).all():
        return
    if ckpt_path is not None and ckpt_path.exists():
        ckpt_path.unlink()
    raise NonFiniteError(
        f"training, epoch {epoch}: the {what} is not a finite number (NaN or inf), so "
        "training stopped before the model and its best weights were saved. Likely cause: "
        f"a learning rate too high for this model (learning_rate {cfg.learning_rate:g}, "
        f"max_grad_norm {cfg.max_grad_norm:g}) or extreme feature values; lower "
        "training.learning_rate and rerun (the run's checkpoint was removed: the next run "
        "starts afresh)"
    )


def _reduce_on_plateau(
    cfg: TrainConfig,
    load_weights: Callable[[Mapping[str, torch.Tensor]], None],
    optimizer: torch.optim.Optimizer,
    best: Mapping[str, Any],
    device: torch.device,
) -> None:
    """Scale the learning rate by ``cfg.plateau_factor``; with ``plateau_restore``, reload
    the best weights first (the optimizer's moments are kept)."""
    if cfg.plateau_restore and best["state"] is not None:
        load_weights({k: v.to(device) for k, v in best["state"].items()})
    for group in optimizer.param_groups:
        group["lr"] *= cfg.plateau_factor
    logger.info("valid AUC did not improve: learning rate now %.3g%s",
                optimizer.param_groups[0]["lr"],
                " (from the best weights)" if cfg.plateau_restore else "")


def train_model(
    cfg: TrainConfig,
    model: nn.Module,
    train: Mapping[str, np.ndarray],
    valid: Mapping[str, np.ndarray],
    item_sources: Mapping[str, Mapping[str, np.ndarray] | None],
    run_info: Mapping[str, Any] | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> TrainResult:
    """Train ``model`` with early stopping on valid AUC; return the best weights.

    Args:
        cfg: optimisation settings.
        model: a model from :func:`mmctr.models.build_model` (its initial weights).
        train: train split arrays (with ``label``), see :mod:`mmctr.engine.batching`.
        valid: valid split arrays (with ``label``).
        item_sources: ``{"item_features": ..., "item_semantics": ...}``.
        run_info: the model's name/params, hashed into the checkpoint's file name so
            that only the same run resumes from it.
        on_epoch_end: optional, called on rank 0 after each epoch's validation with a
            copy of the history row (``epoch``, ``valid_auc`` ...); ``True`` stops
            training after that epoch. Absent, training is unchanged.

    Returns:
        A :class:`TrainResult`; on every rank of a distributed run, with rank 0's result.
    """
    if cfg.world_size > 1 and not ddp.in_distributed_env():
        if on_epoch_end is not None:  # it would run in a spawned child, not here
            raise ValueError("on_epoch_end needs world_size 1 or a torchrun launch")
        return ddp.spawn(_train, cfg, model, train, valid, item_sources, run_info)
    return _train(cfg, model, train, valid, item_sources, run_info, on_epoch_end)


def _train(  # noqa: C901 - reads straight down, like nanoGPT's train.py
    cfg: TrainConfig,
    model: nn.Module,
    train: Mapping[str, np.ndarray],
    valid: Mapping[str, np.ndarray],
    item_sources: Mapping[str, Mapping[str, np.ndarray] | None],
    run_info: Mapping[str, Any] | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> TrainResult:
    # ---- setup -------------------------------------------------------------
    rank, world_size, local_rank = ddp.init_if_needed(cfg.device)
    is_main = rank == 0
    device = resolve_device(cfg.device, local_rank)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    cfg = dataclasses.replace(cfg, bf16=resolve_bf16(cfg.bf16, device, "training.bf16"))
    if cfg.keep_freed_memory and device.type == "cpu":
        keep_freed_memory()
    model.to(device)
    weights = (Bf16Weights(model, in_backward=world_size == 1)
               if cfg.bf16 and cfg.bf16_master_weights else None)
    if weights is not None:
        logger.info("bf16: %d Linear weights held in bf16, fp32 masters in the optimizer",
                    len(weights))
    # the fp32 weights (the masters where the model holds bf16 copies)
    weights_of = weights.state_dict if weights is not None else (lambda m: m.state_dict())

    def load_weights(state: Mapping[str, torch.Tensor]) -> None:
        if weights is not None:
            weights.load_state_dict(model, state)
        else:
            model.load_state_dict(state)

    items = build_item_table(item_sources, model.item_features, device)
    assembler_args = dict(row_features=model.row_features, history_width=model.history_width)
    train_data = train_source(train, items=items, device=device, **assembler_args)  # shards stream
    valid_data = BatchAssembler(valid, items, device=device, **assembler_args)
    optimizer = make_optimizer(model, cfg, device, weights)
    loss_fn = nn.BCEWithLogitsLoss()

    # ---- resume --------------------------------------------------------------
    ckpt_path = None
    if cfg.checkpoint_dir:
        key = run_key(asdict(cfg) | {"world_size": world_size, "progress": None, "log_every": None,
                                     "resume": None}, dict(run_info or {}), _data_fingerprint(train))
        ckpt_path = Path(cfg.checkpoint_dir) / f"run-{key}.pt"
    start_epoch, history = 0, []
    best = {"auc": -math.inf, "epoch": -1, "bad_epochs": 0, "state": None}
    checkpoint = load_checkpoint(ckpt_path) if (ckpt_path and cfg.resume) else None
    if checkpoint is not None:
        load_weights(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start_epoch, history, best = checkpoint["epoch"] + 1, checkpoint["history"], checkpoint["best"]
        set_rng_state(checkpoint["rng"])
    net = ddp.wrap(model, device) if world_size > 1 else model
    net = torch.compile(net, dynamic=True) if cfg.compile else net

    # ---- epochs --------------------------------------------------------------
    stop = best["bad_epochs"] >= cfg.patience or _dropped(cfg, best, history)
    for epoch in range(start_epoch, cfg.epochs):
        if stop:
            break
        torch.manual_seed(cfg.seed + 7919 * (epoch + 1) + rank)  # dropout: resume-exact
        _freeze_tables(cfg, optimizer, epoch)
        net.train()
        batches = epoch_of(train_data, cfg.batch_size, seed=cfg.seed, epoch=epoch, rank=rank,
                           world_size=world_size, max_batches=cfg.max_steps_per_epoch)
        # a bar on a terminal, a log line every 30 s without one (never one long line)
        bar = progress_of(batches, f"epoch {epoch + 1}/{cfg.epochs}", unit="batches",
                          enabled=cfg.progress and is_main, leave=False, dynamic_ncols=True)
        t0, seen = time.perf_counter(), 0
        loss_sum = torch.zeros((), device=device)
        for step, batch in enumerate(bar, start=1):
            loss_sum += train_step(cfg, net, model, optimizer, loss_fn, batch, device, weights)
            seen += len(batch["label"])
            if step % cfg.log_every == 0 or step == len(batches):
                rate = seen * world_size / max(time.perf_counter() - t0, 1e-9)
                bar.set_postfix(loss=f"{loss_sum.item() / step:.4f}", samples_s=f"{rate:,.0f}")
        train_seconds = time.perf_counter() - t0
        train_loss = loss_sum.item() / max(len(batches), 1)
        if world_size > 1:
            train_loss = ddp.mean_across_ranks(train_loss, device)
        _refuse_non_finite("training loss", train_loss, epoch + 1, cfg,
                           ckpt_path if is_main else None)

        # ---- validation (rank 0), early stopping, checkpoint --------------------
        if is_main:
            probs = predict(model, valid_data, cfg.eval_batch_size, cfg.bf16)
            _refuse_non_finite("model's valid prediction", probs, epoch + 1, cfg, ckpt_path)
            row = {"epoch": epoch + 1, "train_loss": train_loss,
                   "valid_auc": auc(valid["label"], probs),
                   "valid_logloss": logloss(valid["label"], probs),
                   "epoch_seconds": train_seconds,
                   "samples_per_s": seen * world_size / max(train_seconds, 1e-9)}
            history.append(row)
            logger.info("epoch %d: loss %.4f, valid AUC %.4f, logloss %.4f, %.1fs (%.0f samples/s)",
                        epoch + 1, train_loss, row["valid_auc"], row["valid_logloss"],
                        train_seconds, row["samples_per_s"])
            if row["valid_auc"] > best["auc"] or best["state"] is None:
                best = {"auc": row["valid_auc"], "epoch": epoch + 1, "bad_epochs": 0,
                        "state": copy.deepcopy({k: v.cpu() for k, v in weights_of(model).items()})}
            else:
                best["bad_epochs"] += 1
            stop = best["bad_epochs"] >= cfg.patience
            if not stop and _dropped(cfg, best, history):
                logger.info("valid AUC %.4f is %.4f below the best (%.4f, epoch %d), more than "
                            "stop_drop %g: stopping", row["valid_auc"],
                            best["auc"] - row["valid_auc"], best["auc"], best["epoch"],
                            cfg.stop_drop)
                stop = True
            if best["bad_epochs"] and not stop and cfg.plateau_factor != 1.0:
                _reduce_on_plateau(cfg, load_weights, optimizer, best, device)
            if on_epoch_end is not None and on_epoch_end(dict(row)):
                logger.info("stopped after epoch %d by the epoch callback", epoch + 1)
                stop = True
            if ckpt_path is not None:
                save_checkpoint(ckpt_path, {
                    "model": weights_of(model), "optimizer": optimizer.state_dict(),
                    "epoch": epoch, "best": best, "history": history, "rng": rng_state(),
                    "train_config": asdict(cfg), "run_info": dict(run_info or {})})
        if world_size > 1:
            stop = ddp.broadcast_flag(stop, device)
            if cfg.plateau_factor != 1.0:  # every rank follows rank 0's plateau step
                ddp.broadcast_state(weights_of(model), optimizer, device)
                if weights is not None:
                    weights.refresh()
    if stop and is_main:
        logger.info("early stopping: best valid AUC %.4f at epoch %d", best["auc"], best["epoch"])

    if is_main and ckpt_path is not None and ckpt_path.exists():
        ckpt_path.unlink()  # finished: the next identical command trains afresh
    state = best["state"] if best["state"] is not None else weights_of(model)
    if weights is not None:
        weights.release()  # the model leaves in fp32
    return TrainResult(state_dict=state, history=history, best_epoch=best["epoch"],
                       best_auc=best["auc"], extra={"world_size": world_size})
