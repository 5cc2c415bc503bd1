import dataclasses

import numpy as np
import pytest
import torch

from mmctr.engine.batching import BatchAssembler, build_item_table
from mmctr.engine.trainer import TrainConfig, make_optimizer, predict, train_model

from .conftest import TinyModel, killed_after_saves

CFG = TrainConfig(batch_size=64, learning_rate=0.02, epochs=4, patience=2, seed=3,
                  device="cpu", progress=False)


def _train(tiny_data, cfg=CFG):
    torch.manual_seed(cfg.seed)
    model = TinyModel(tiny_data["num_items"])
    return model, train_model(cfg, model, tiny_data["train"], tiny_data["valid"], tiny_data["items"])


def test_training_learns_and_records_history(tiny_data):
    _, result = _train(tiny_data)
    assert len(result.history) == 4
    assert result.best_auc > 0.7
    assert {"epoch", "train_loss", "valid_auc", "valid_logloss", "epoch_seconds", "samples_per_s"} <= set(result.history[0])
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_training_is_deterministic_on_cpu(tiny_data):
    _, a = _train(tiny_data)
    _, b = _train(tiny_data)
    for key in a.state_dict:
        assert torch.equal(a.state_dict[key], b.state_dict[key])
    assert [r["valid_auc"] for r in a.history] == [r["valid_auc"] for r in b.history]


def test_early_stopping_keeps_the_best_weights(tiny_data):
    cfg = dataclasses.replace(CFG, learning_rate=0.5, epochs=30, patience=1)
    model, result = _train(tiny_data, cfg)
    aucs = [r["valid_auc"] for r in result.history]
    assert len(aucs) < 30  # stopped early
    assert result.best_auc == max(aucs) and result.best_epoch == int(np.argmax(aucs)) + 1
    model.load_state_dict(result.state_dict)
    items = build_item_table(tiny_data["items"], model.item_features)
    probs = predict(model, BatchAssembler(tiny_data["valid"], items, history_width=model.history_width))
    from mmctr.engine.metrics import auc
    assert np.isclose(auc(tiny_data["valid"]["label"], probs), result.best_auc)


def test_bf16_autocast_trains_on_cpu(tiny_data):
    _, result = _train(tiny_data, dataclasses.replace(CFG, bf16=True, epochs=2))
    assert all(np.isfinite(r["train_loss"]) for r in result.history)


def test_resume_from_checkpoint_matches_uninterrupted_run(tiny_data, tmp_path):
    cfg = dataclasses.replace(CFG, checkpoint_dir=str(tmp_path), epochs=4, patience=10)
    _, full = _train(tiny_data, cfg)
    assert not list(tmp_path.glob("*.pt"))  # removed once finished
    # interrupted right after the 2nd epoch's checkpoint
    with killed_after_saves(2), pytest.raises(KeyboardInterrupt):
        _train(tiny_data, cfg)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    _, resumed = _train(tiny_data, cfg)
    assert [r["valid_auc"] for r in resumed.history] == [r["valid_auc"] for r in full.history]
    for key in full.state_dict:
        assert torch.equal(full.state_dict[key], resumed.state_dict[key])


def test_plateau_lowers_the_learning_rate_from_the_best_weights(tiny_data, caplog):
    cfg = dataclasses.replace(CFG, learning_rate=0.5, epochs=6, patience=3,
                              plateau_factor=0.1, plateau_restore=True)
    with caplog.at_level("INFO", logger="mmctr.engine.trainer"):
        _, result = _train(tiny_data, cfg)
    rates = [float(r.getMessage().split("learning rate now ")[1].split()[0])
             for r in caplog.records if "learning rate now" in r.getMessage()]
    assert rates, "a plateau must have happened with lr 0.5"
    assert rates[0] == pytest.approx(0.05) and all(
        b == pytest.approx(a * 0.1) for a, b in zip(rates, rates[1:], strict=False))
    # off by default: the same run without it never changes the rate
    caplog.clear()
    with caplog.at_level("INFO", logger="mmctr.engine.trainer"):
        _train(tiny_data, dataclasses.replace(cfg, plateau_factor=1.0))
    assert not any("learning rate now" in r.getMessage() for r in caplog.records)
    assert result.best_auc == max(r["valid_auc"] for r in result.history)


def test_embedding_tables_get_their_own_learning_rate(tiny_data):
    model = TinyModel(tiny_data["num_items"])
    cfg = dataclasses.replace(CFG, embedding_learning_rate=0.3)
    optimizer = make_optimizer(model, cfg, torch.device("cpu"))
    groups = {g["lr"]: g["params"] for g in optimizer.param_groups}
    tables = [m.weight for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    assert tables and all(any(p is t for p in groups[0.3]) for t in tables)
    assert all(not any(p is t for t in tables) for p in groups[CFG.learning_rate])
    assert len(make_optimizer(model, CFG, torch.device("cpu")).param_groups) == 1
def test_frozen_tables_stop_learning_after_their_epoch_and_resume_frozen(tiny_data, tmp_path):
    """freeze_tables_after=1: the tables keep their epoch-1 values, the dense layers go on;
    a run interrupted after epoch 2 resumes with the tables still frozen."""
    snapshots = []
    cfg = dataclasses.replace(CFG, epochs=3, patience=10, freeze_tables_after=1)
    torch.manual_seed(cfg.seed)
    model = TinyModel(tiny_data["num_items"])

    def keep(row):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return False

    train_model(cfg, model, tiny_data["train"], tiny_data["valid"], tiny_data["items"],
                on_epoch_end=keep)
    first, last = snapshots[0], snapshots[-1]
    for table in ("items.weight", "levels.weight"):
        assert torch.equal(first[table], last[table]), table
    assert not torch.equal(first["proj.weight"], last["proj.weight"])
    # off: the tables move in every epoch
    _, free = _train(tiny_data, dataclasses.replace(cfg, freeze_tables_after=0))
    assert not torch.equal(free.state_dict["items.weight"], last["items.weight"])
    # resume: the tables' rate of 0 comes back with the optimizer's state
    ckpt = dataclasses.replace(cfg, checkpoint_dir=str(tmp_path))
    _, full = _train(tiny_data, ckpt)
    with killed_after_saves(2), pytest.raises(KeyboardInterrupt):
        _train(tiny_data, ckpt)
    _, resumed = _train(tiny_data, ckpt)
    for key in full.state_dict:
        assert torch.equal(full.state_dict[key], resumed.state_dict[key]), key


def test_a_large_valid_drop_stops_at_once_and_keeps_the_best(tiny_data, tmp_path, caplog):
    """stop_drop: the epoch whose valid AUC falls more than it below the best ends training
    (patience not waited for), the best weights kept; 0 waits for patience as before."""
    cfg = dataclasses.replace(CFG, learning_rate=0.5, epochs=12, patience=10)
    _, waited = _train(tiny_data, cfg)
    aucs = [r["valid_auc"] for r in waited.history]
    drops = [max(aucs[:i]) - a for i, a in enumerate(aucs) if i]
    assert len(aucs) == 12 and max(drops) > 0.01, aucs  # lr 0.5 overshoots
    threshold = max(drops) / 2
    first = next(i for i, d in enumerate(drops, start=1) if d > threshold)
    with caplog.at_level("INFO", logger="mmctr.engine.trainer"):
        _, stopped = _train(tiny_data, dataclasses.replace(cfg, stop_drop=threshold))
    assert len(stopped.history) == first + 1
    assert [r["valid_auc"] for r in stopped.history] == aucs[:first + 1]
    assert stopped.best_auc == max(aucs[:first + 1]) and "stop_drop" in caplog.text
    # a run killed after that epoch's checkpoint does not train on when resumed
    ckpt = dataclasses.replace(cfg, stop_drop=threshold, checkpoint_dir=str(tmp_path))
    with killed_after_saves(first + 1), pytest.raises(KeyboardInterrupt):
        _train(tiny_data, ckpt)
    _, resumed = _train(tiny_data, ckpt)
    assert len(resumed.history) == first + 1


def test_epoch_callback_sees_each_row_and_can_stop_or_abort(tiny_data):
    seen = []

    def stop_after_two(row):
        seen.append(row)
        return row["epoch"] == 2

    _, plain = _train(tiny_data)
    torch.manual_seed(CFG.seed)
    model = TinyModel(tiny_data["num_items"])
    stopped = train_model(CFG, model, tiny_data["train"], tiny_data["valid"],
                          tiny_data["items"], on_epoch_end=stop_after_two)
    assert [r["epoch"] for r in seen] == [1, 2]
    assert len(stopped.history) == 2
    # the callback only observes: the epochs it saw match a run without it
    assert [r["valid_auc"] for r in stopped.history] == [r["valid_auc"] for r in plain.history[:2]]

    class Abort(Exception):
        pass

    def abort(row):
        raise Abort(row["epoch"])

    with pytest.raises(Abort):
        train_model(CFG, TinyModel(tiny_data["num_items"]), tiny_data["train"],
                    tiny_data["valid"], tiny_data["items"], on_epoch_end=abort)


class PoisonedModel(TinyModel):
    """TinyModel whose logits turn NaN after ``after`` training forwards (or, with
    ``in_eval``, whenever it predicts)."""

    def __init__(self, num_items: int, after: int = 0, in_eval: bool = False) -> None:
        super().__init__(num_items)
        self.after, self.in_eval, self.calls = after, in_eval, 0

    def forward(self, batch):
        logits = super().forward(batch)
        self.calls += self.training
        if (self.training and self.calls > self.after) or (self.in_eval and not self.training):
            logits = logits * float("nan")
        return logits


def test_a_nan_loss_stops_training_before_saving_and_the_next_run_starts_afresh(
    tiny_data, tmp_path
):
    from mmctr.errors import NonFiniteError

    cfg = dataclasses.replace(CFG, checkpoint_dir=str(tmp_path), epochs=4, patience=10)
    torch.manual_seed(cfg.seed)
    poisoned = PoisonedModel(tiny_data["num_items"], after=2 * 32)  # 32 steps an epoch
    with pytest.raises(NonFiniteError, match=r"^training, epoch 3: the training loss is not a "
                       r"finite number .* Likely cause: a learning rate too high"):
        train_model(cfg, poisoned, tiny_data["train"], tiny_data["valid"], tiny_data["items"])
    assert not list(tmp_path.glob("*.pt"))  # epoch 2's checkpoint would replay into NaN
    _, fresh = _train(tiny_data, cfg)  # the next run: from epoch 1, as a first run would
    _, reference = _train(tiny_data, dataclasses.replace(CFG, epochs=4, patience=10))
    assert [r["epoch"] for r in fresh.history] == [1, 2, 3, 4]
    assert [r["valid_auc"] for r in fresh.history] == [r["valid_auc"] for r in reference.history]


def test_nan_predictions_stop_training_at_the_first_validation(tiny_data):
    from mmctr.errors import NonFiniteError

    model = PoisonedModel(tiny_data["num_items"], after=10**9, in_eval=True)
    with pytest.raises(NonFiniteError, match=r"training, epoch 1: the model's valid prediction"):
        train_model(CFG, model, tiny_data["train"], tiny_data["valid"], tiny_data["items"])


def test_the_checkpoint_message_numbers_epochs_like_the_epoch_line(tiny_data, tmp_path, caplog):
    import logging

    cfg = dataclasses.replace(CFG, checkpoint_dir=str(tmp_path), epochs=2, patience=10)
    with caplog.at_level(logging.INFO, logger="mmctr.engine"):
        _train(tiny_data, cfg)
    lines = [r.getMessage() for r in caplog.records
             if r.getMessage().startswith(("epoch ", "checkpoint: "))]
    assert [line.split(":")[0].split(" written")[0] for line in lines] == [
        "epoch 1", "checkpoint", "epoch 2", "checkpoint"]
    assert lines[1].startswith("checkpoint: epoch 1 written")
    assert lines[3].startswith("checkpoint: epoch 2 written")
