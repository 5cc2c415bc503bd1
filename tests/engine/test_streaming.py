"""Training streamed from shards: disjoint ranks, seeded order, same model as in memory."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmctr.data.shards import ShardedRows, write_shards
from mmctr.engine.batching import build_item_table
from mmctr.engine.streaming import ShardStream, rank_shards
from mmctr.engine.trainer import TrainConfig, train_model

from .conftest import TinyModel, killed_after_saves

CFG = TrainConfig(batch_size=64, learning_rate=0.02, epochs=4, patience=10, seed=3,
                  device="cpu", progress=False)


@pytest.fixture
def sharded(tiny_data, tmp_path) -> ShardedRows:
    write_shards(tiny_data["train"], tmp_path / "train", shard_rows=300)  # 7 shards
    return ShardedRows(tmp_path / "train")


def _stream(rows, tiny_data) -> ShardStream:
    items = build_item_table(tiny_data["items"], TinyModel.item_features)
    return ShardStream(rows, items)


def test_ranks_read_disjoint_shards_covering_all():
    taken = [rank_shards(7, seed=1, epoch=2, rank=r, world_size=3) for r in range(3)]
    assert sorted(sum(taken, [])) == list(range(7))
    assert taken != [rank_shards(7, seed=1, epoch=3, rank=r, world_size=3) for r in range(3)]


def test_one_epoch_sees_every_row_once_in_seeded_order(sharded, tiny_data):
    stream = _stream(sharded, tiny_data)
    batches = list(stream.epoch(64, seed=5, epoch=0))
    assert len(batches) == stream.num_batches(64, seed=5, epoch=0, world_size=1) == 32
    assert all(len(b["label"]) == 64 for b in batches[:-1])
    seen = torch.cat([b["item_id"] for b in batches]).numpy()
    np.testing.assert_array_equal(np.sort(seen), np.sort(tiny_data["train"]["item_id"]))
    again = torch.cat([b["item_id"] for b in stream.epoch(64, seed=5, epoch=0)]).numpy()
    np.testing.assert_array_equal(seen, again)
    other = torch.cat([b["item_id"] for b in stream.epoch(64, seed=5, epoch=1)]).numpy()
    assert not np.array_equal(seen, other)


def test_ranks_take_the_same_number_of_batches(sharded, tiny_data):
    stream = _stream(sharded, tiny_data)
    counts = [len(list(stream.epoch(64, seed=5, epoch=0, rank=r, world_size=2)))
              for r in range(2)]
    assert counts[0] == counts[1] == stream.num_batches(64, seed=5, epoch=0, world_size=2)


def test_model_from_shards_matches_the_in_memory_one(sharded, tiny_data):
    aucs = {}
    for name, train in (("memory", tiny_data["train"]), ("shards", sharded)):
        torch.manual_seed(CFG.seed)
        model = TinyModel(tiny_data["num_items"])
        result = train_model(CFG, model, train, tiny_data["valid"], tiny_data["items"])
        aucs[name] = result.best_auc
    # the same rows in another order: within the run-to-run spread of a reseeded run
    torch.manual_seed(CFG.seed + 1)
    reseeded = train_model(dataclasses.replace(CFG, seed=CFG.seed + 1),
                           TinyModel(tiny_data["num_items"]), tiny_data["train"],
                           tiny_data["valid"], tiny_data["items"]).best_auc
    spread = max(abs(reseeded - aucs["memory"]), 0.01)
    assert aucs["shards"] > 0.7
    assert abs(aucs["shards"] - aucs["memory"]) <= 3 * spread


def test_streamed_run_resumes_at_the_epoch_boundary(sharded, tiny_data, tmp_path):
    cfg = dataclasses.replace(CFG, checkpoint_dir=str(tmp_path / "ckpt"))

    def run():
        torch.manual_seed(cfg.seed)
        return train_model(cfg, TinyModel(tiny_data["num_items"]), sharded,
                           tiny_data["valid"], tiny_data["items"])

    full = run()
    with killed_after_saves(2), pytest.raises(KeyboardInterrupt):
        run()
    resumed = run()
    assert [r["valid_auc"] for r in resumed.history] == [r["valid_auc"] for r in full.history]
    for key in full.state_dict:
        assert torch.equal(full.state_dict[key], resumed.state_dict[key])
