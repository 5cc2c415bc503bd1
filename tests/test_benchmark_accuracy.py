"""The accuracy benchmark's worlds, overrides and table (benchmarks/accuracy.py), without runs."""

from benchmarks import accuracy


def test_a_world_runs_the_default_chain_split_at_training():
    assert accuracy.DATA_STAGES + accuracy.MODEL_STAGES == accuracy.DEFAULT_CHAIN
    assert "item_embedding" in accuracy.DATA_STAGES
    assert accuracy.MODEL_STAGES[0] == "training"


def test_world_parameters_merge_the_worlds_and_the_command_lines_training_overrides():
    world = accuracy.World({"preset": "small", "seed": 7}, training={"epochs": 1, "model": {"a": 1}})
    overrides = accuracy.training_overrides(["model.dense_input=false", "batch_size=64"])
    params = accuracy.world_parameters(world, overrides, seeds=2)
    assert params["synthetic"] == {"preset": "small", "seed": 7}
    assert params["training"] == {"epochs": 1, "batch_size": 64,
                                  "model": {"a": 1, "dense_input": False}}
    assert params["ablation"] == {"run": ["lightgbm"], "seeds": 2}
    assert set(accuracy.DEFAULT_WORLDS) <= set(accuracy.WORLDS)


def test_the_table_row_gives_means_spreads_and_gaps():
    models = [{"test_auc": a, "valid_auc": 0.7, "rows": 100, "epochs": 3, "best_epoch": 1,
               "samples_per_s": 1000.0, "seconds": 2.0, "valid_by_epoch": [0.7, 0.69, 0.65]}
              for a in (0.70, 0.72)]
    result = {"models": models, "tree": {"test_auc": 0.69, "test_auc_std": 0.001, "train_seconds": 0.5},
              "oracle": {"test_auc": 0.80, "test_content_auc": 0.75}, "train_rows": 1000, "prep_s": 3.0}
    row = accuracy.table_row("small", result)
    assert row["model_test_auc"] == "0.7100 ± 0.0141"
    assert row["tree_test_auc"] == "0.6900 ± 0.0010"
    assert row["model_minus_tree"] == "+0.0200" and row["gap_to_oracle"] == "0.0900"
    assert row["valid_auc_by_epoch (seed 1)"] == "0.7000 → 0.6900 → 0.6500"
    text = accuracy.report([row], ["small"], "python -m benchmarks.accuracy --worlds small", 1.0)
    assert text.startswith("# Accuracy across worlds\n\n`python -m benchmarks.accuracy --worlds small`")
    assert "| small | 1000 | 100 | 2 |" in text
