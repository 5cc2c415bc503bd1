"""Training batches streamed from a sharded split (:class:`mmctr.data.shards.ShardedRows`).

Memory is bounded by one shard (plus fewer than ``batch_size`` rows carried over to the
next), never by the split. One epoch:

1. the shards are permuted with a generator seeded by ``(seed, epoch)``;
2. rank ``r`` of ``world_size`` takes every ``world_size``-th shard of that order from
   ``r`` on: the ranks read disjoint shards;
3. each shard (with the rows the previous shard left over) is permuted with a generator
   seeded by ``(seed, epoch, shard)`` and cut into batches; a tail shorter than a batch
   moves on to the next shard, and the last one is a short batch;
4. under data parallelism every rank stops after the same number of batches (the least
   any rank has: ranks must all-reduce the same number of steps).

The order depends only on ``(seed, epoch)``, so a run resumed from its checkpoint (saved
at the end of each epoch) continues at the next epoch boundary with the same batches an
uninterrupted run would see.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import torch

from mmctr.data.shards import ShardedRows
from mmctr.engine.batching import BatchAssembler, epoch_batches

__all__ = ["ShardStream", "epoch_of", "rank_shards", "train_source"]


def _generator(*seeds: int) -> torch.Generator:
    value = 0
    for seed in seeds:
        value = value * 1_000_003 + int(seed)
    return torch.Generator().manual_seed(value % (2**63))


def rank_shards(num_shards: int, *, seed: int, epoch: int, rank: int, world_size: int,
                shuffle: bool = True) -> list[int]:
    """The shards rank ``rank`` reads in epoch ``epoch``, in reading order (disjoint)."""
    if shuffle:
        order = torch.randperm(num_shards, generator=_generator(seed, epoch)).tolist()
    else:
        order = list(range(num_shards))
    return order[rank::world_size]


class ShardStream:
    """Assembled training batches from a sharded split, one shard in memory at a time.

    Args:
        rows: the sharded split (features with their similarity columns).
        items, row_features, history_width, device: as :class:`BatchAssembler`.
    """

    def __init__(
        self,
        rows: ShardedRows,
        items: Mapping[str, torch.Tensor],
        row_features: tuple[str, ...] = (),
        history_width: Callable[[int, int], int] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.rows = rows
        self._assembler_args = {"items": items, "row_features": row_features,
                                "history_width": history_width, "device": device}
        self._keys = tuple(k for k in ("item_seq", "item_id", "likes_level", "views_level",
                                       "label", *row_features) if k in rows)

    def __len__(self) -> int:
        return self.rows.num_rows

    def num_batches(self, batch_size: int, *, seed: int, epoch: int, world_size: int) -> int:
        """Batches every rank takes this epoch (the least over the ranks)."""
        sizes = self.rows.shard_rows
        per_rank = [sum(sizes[i] for i in rank_shards(len(sizes), seed=seed, epoch=epoch,
                                                      rank=r, world_size=world_size))
                    for r in range(world_size)]
        return min(math.ceil(n / batch_size) for n in per_rank)

    def epoch(self, batch_size: int, *, seed: int, epoch: int, rank: int = 0,
              world_size: int = 1, max_batches: int | None = None
              ) -> Iterator[dict[str, torch.Tensor]]:
        """Yield this rank's batches of one epoch (see the module doc)."""
        limit = self.num_batches(batch_size, seed=seed, epoch=epoch, world_size=world_size)
        if max_batches is not None:
            limit = min(limit, max_batches)
        shards = rank_shards(len(self.rows.shard_rows), seed=seed, epoch=epoch, rank=rank,
                             world_size=world_size)
        produced, carry = 0, None
        for shard in shards:
            arrays = self.rows.read_shard(shard, self._keys)
            if carry is not None:
                arrays = {k: np.concatenate([carry[k], arrays[k]]) for k in arrays}
            assembler = BatchAssembler(arrays, **self._assembler_args)
            order = torch.randperm(len(assembler), generator=_generator(seed, epoch, shard))
            full = len(order) // batch_size * batch_size
            for index in order[:full].split(batch_size):
                if produced == limit:
                    return
                produced += 1
                yield assembler(index)
            tail = order[full:].numpy()
            carry = {k: v[tail] for k, v in arrays.items()} if len(tail) else None
        if carry is not None and produced < limit:
            yield BatchAssembler(carry, **self._assembler_args)(torch.arange(len(carry["item_id"])))


class _Sized:
    """An iterable of batches with a known length (for progress bars and averages)."""

    def __init__(self, batches: Iterator[dict[str, torch.Tensor]], length: int) -> None:
        self._batches, self._length = batches, length

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return iter(self._batches)

    def __len__(self) -> int:
        return self._length


def train_source(rows: Mapping[str, np.ndarray], **assembler_args) -> BatchAssembler | ShardStream:
    """A :class:`ShardStream` for a sharded split, a :class:`BatchAssembler` otherwise."""
    if isinstance(rows, ShardedRows):
        return ShardStream(rows, **assembler_args)
    return BatchAssembler(rows, **assembler_args)


def epoch_of(data: BatchAssembler | ShardStream, batch_size: int, *, seed: int, epoch: int,
             rank: int, world_size: int, max_batches: int | None) -> _Sized:
    """One epoch's shuffled training batches, assembled, from either source."""
    if isinstance(data, ShardStream):
        count = data.num_batches(batch_size, seed=seed, epoch=epoch, world_size=world_size)
        count = count if max_batches is None else min(count, max_batches)
        return _Sized(data.epoch(batch_size, seed=seed, epoch=epoch, rank=rank,
                                 world_size=world_size, max_batches=max_batches), count)
    indices = list(epoch_batches(len(data), batch_size, shuffle=True, seed=seed, epoch=epoch,
                                 rank=rank, world_size=world_size, max_batches=max_batches))
    return _Sized((data(index) for index in indices), len(indices))
