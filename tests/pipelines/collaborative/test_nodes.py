"""Nodes of the ``collaborative`` stage and a pipeline slice on an in-memory catalog."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from mmctr.parameters import ParameterError, validate_parameters
from mmctr.pipelines.collaborative import create_pipeline
from mmctr.pipelines.collaborative.nodes import collaborative_report, learn_item_factors

CONF = Path(__file__).resolve().parents[3] / "conf"
PARAMS = {**yaml.safe_load((CONF / "base" / "parameters_collaborative.yml").read_text())
          ["collaborative"], "dim": 4, "links": 5}
ITEMS = 40


def _split(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Users 0..49 follow items 1..10, users 50..99 items 11..20 (and a random item 21..39)."""
    users = rng.integers(0, 100, rows)
    seq = np.zeros((rows, 6), dtype=np.int32)
    base = np.where(users < 50, 1, 11)
    seq[:, 2:5] = base[:, None] + rng.integers(0, 10, (rows, 3))
    seq[:, 5] = rng.integers(21, ITEMS, rows)
    return {"item_seq": seq, "item_id": rng.integers(1, ITEMS, rows).astype(np.int32),
            "user_id": users.astype(np.int64), "label": rng.integers(0, 2, rows).astype(np.float32)}


@pytest.fixture
def splits():
    rng = np.random.default_rng(0)
    return {name: _split(rng, n) for name, n in (("train", 300), ("valid", 40), ("test", 40))}


def test_factors_read_neither_labels_nor_targets(splits):
    train = splits["train"]
    first, _ = learn_item_factors(train, {"item": ITEMS}, PARAMS)
    flipped = {**train, "label": 1 - train["label"], "item_id": train["item_id"][::-1].copy()}
    second, _ = learn_item_factors(flipped, {"item": ITEMS}, PARAMS)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert first["factors"].shape == (ITEMS, 4) and first["has_factor"][0] == 0


def test_no_history_falls_back_on_content_with_a_warning(splits, caplog):
    empty = {**splits["train"], "item_seq": np.zeros_like(splits["train"]["item_seq"])}
    with caplog.at_level(logging.WARNING):
        arrays, info = learn_item_factors(empty, {"item": ITEMS}, PARAMS)
    assert info["fallback"] and "content alone" in caplog.text
    assert not arrays["has_factor"].any() and not arrays["factors"].any()


def test_report_coverage_norms_and_neighbours(splits):
    arrays, info = learn_item_factors(splits["train"], {"item": ITEMS}, PARAMS)
    emb = np.random.default_rng(1).normal(size=(ITEMS, 8)).astype(np.float32)
    report, fig = collaborative_report(arrays, info, splits["train"], splits["valid"],
                                       splits["test"], {"item_emb": emb}, PARAMS)
    assert isinstance(fig, Figure)
    cover = report["coverage"]
    assert cover["items_with_factor"] == int(arrays["has_factor"].sum())
    assert 0 < cover["valid_history_share"] <= 1
    assert sum(b["items"] for b in report["norm_by_popularity"]) == ITEMS - 1
    example = report["neighbour_examples"][0]
    assert len(example["neighbours"]) == PARAMS["neighbours"]
    # the most frequent item's neighbours are mostly of its own user group
    group = range(1, 11) if example["item"] <= 10 else range(11, 21)
    assert sum(n in group for n in example["neighbours"]) >= 3


def test_unknown_key_is_rejected_before_the_run():
    with pytest.raises(ParameterError, match="unknown"):
        validate_parameters({"collaborative": {**PARAMS, "dims": 3}})


def test_pipeline_slice(splits):
    emb = np.random.default_rng(1).normal(size=(ITEMS, 8)).astype(np.float32)
    inputs = {"params:collaborative": PARAMS, "vocab": {"item": ITEMS},
              "item_features": {"item_emb": emb},
              **{f"{name}_features": rows for name, rows in splits.items()}}
    outputs = ["item_collab", "collaborative_info", "collaborative_report", "collaborative_plot"]
    catalog = DataCatalog({**{k: MemoryDataset(v) for k, v in inputs.items()},
                           **{k: MemoryDataset(copy_mode="assign") for k in outputs}})
    pipeline = create_pipeline()
    assert all(n.name.endswith("_node") for n in pipeline.nodes)
    assert pipeline.outputs() == {"collaborative_report", "collaborative_plot"}  # + consumed
    assert pipeline.all_outputs() >= {"item_collab"}
    SequentialRunner().run(pipeline, catalog)
    report = catalog["collaborative_report"].load()
    assert report["coverage"]["items"] == ITEMS - 1 and report["fallback"] is None
