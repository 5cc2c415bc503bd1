"""Tiny synthetic data through the node functions (the test environment's preset)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mmctr.config import deep_merge
from mmctr.pipelines.synthetic import nodes

CONF = Path(__file__).resolve().parents[3] / "conf"


def tiny_params(**overrides: Any) -> dict[str, Any]:
    """``params:synthetic`` as the test environment sees it (base soft-merged with test)."""
    base = yaml.safe_load((CONF / "base" / "parameters_synthetic.yml").read_text())
    test = yaml.safe_load((CONF / "test" / "parameters_synthetic.yml").read_text())
    return {**deep_merge(base, test)["synthetic"], **overrides}


def generate(params: dict[str, Any]) -> dict[str, Any]:
    """Run every node of the stage in order; return all outputs by catalog name."""
    world = nodes.make_world(params)
    out: dict[str, Any] = {"world": world, "raw_item_info": nodes.item_info(world)}
    for split, func in (
        ("train", nodes.train_split),
        ("valid", nodes.valid_split),
        ("test", nodes.test_split),
    ):
        out[f"raw_{split}"], out[f"{split}_truth"] = func(world)
    out["synthetic_truth"], out["synthetic_oracle"] = nodes.oracle_report(
        world, out["train_truth"], out["valid_truth"], out["test_truth"]
    )
    return out
