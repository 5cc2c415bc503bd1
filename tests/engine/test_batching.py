import numpy as np
import torch

from mmctr.engine.batching import (
    BatchAssembler,
    build_item_table,
    epoch_batches,
    merge_rows,
)


def _assembler(tiny_data, cut=True):
    items = build_item_table(tiny_data["items"], ("tags", "emb"))
    width_fn = (lambda longest, width: min(width, max(longest, 1))) if cut else None
    return BatchAssembler(tiny_data["train"], items, history_width=width_fn)


def test_batch_gathers_item_features_for_target_and_history(tiny_data):
    asm = _assembler(tiny_data, cut=False)
    index = torch.tensor([3, 0, 17])
    batch = asm(index)
    rows, feats = tiny_data["train"], tiny_data["items"]["item_features"]
    np.testing.assert_array_equal(batch["item_seq"].numpy(), rows["item_seq"][[3, 0, 17]])
    np.testing.assert_array_equal(batch["item_emb"].numpy(), feats["item_emb"][rows["item_id"][[3, 0, 17]]])
    np.testing.assert_array_equal(batch["seq_tags"].numpy(), feats["item_tags"][rows["item_seq"][[3, 0, 17]]])
    assert batch["seq_emb"].shape == (3, 12, 4) and batch["item_seq"].dtype == torch.int64
    assert batch["label"].dtype == torch.float32


def test_history_is_cut_to_the_longest_real_history_keeping_newest(tiny_data):
    asm = _assembler(tiny_data)
    lengths = (tiny_data["train"]["item_seq"] != 0).sum(1)
    short = np.flatnonzero(lengths <= 3)[:5]
    batch = asm(torch.from_numpy(short))
    longest = int(lengths[short].max())
    assert batch["item_seq"].shape[1] == max(longest, 1)
    np.testing.assert_array_equal(
        batch["item_seq"].numpy(), tiny_data["train"]["item_seq"][short][:, 12 - max(longest, 1):]
    )


def test_similarity_rows_are_cut_with_the_history(tiny_data):
    train = tiny_data["train"]
    sim = {"hist_sim": np.where(train["item_seq"] != 0, 0.5, 0).astype(np.float32),
           "sim_stats": np.ones((len(train["item_id"]), 4), np.float32)}
    rows = merge_rows(train, sim)
    items = build_item_table(tiny_data["items"], ("emb",))
    asm = BatchAssembler(rows, items, ("seq_sim", "sim_stats"), lambda lo, w: max(lo, 1))
    batch = asm(torch.arange(10))
    assert batch["seq_sim"].shape == batch["item_seq"].shape
    assert torch.equal(batch["seq_sim"] != 0, batch["item_seq"] != 0)
    assert batch["sim_stats"].shape == (10, 4)


def test_epoch_batches_depend_only_on_seed_and_epoch_and_shard_evenly():
    a = torch.cat(list(epoch_batches(103, 10, shuffle=True, seed=5, epoch=2)))
    b = torch.cat(list(epoch_batches(103, 10, shuffle=True, seed=5, epoch=2)))
    c = torch.cat(list(epoch_batches(103, 10, shuffle=True, seed=5, epoch=3)))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert sorted(a.tolist()) == list(range(103))
    shards = [torch.cat(list(epoch_batches(103, 10, shuffle=True, seed=5, epoch=2, rank=r, world_size=2)))
              for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 51
    assert not set(shards[0].tolist()) & set(shards[1].tolist())
