"""Pipeline-slice run of ``synthetic`` on an in-memory catalog."""

from __future__ import annotations

import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mmctr.pipelines.synthetic import create_pipeline
from tests.pipelines.synthetic.tiny_data import tiny_params

OUTPUTS = ["raw_train", "raw_valid", "raw_test", "raw_item_info", "raw_item_feature", "raw_item_emb",
           "synthetic_truth", "synthetic_oracle"]


def test_pipeline_slice_outputs():
    pipeline = create_pipeline()
    assert all(n.name.endswith("_node") for n in pipeline.nodes)
    assert pipeline.inputs() == {"params:synthetic"}
    assert set(pipeline.outputs()) == set(OUTPUTS)
    catalog = DataCatalog(
        {
            "params:synthetic": MemoryDataset(tiny_params()),
            **{name: MemoryDataset(copy_mode="assign") for name in OUTPUTS},
        }
    )

    SequentialRunner().run(pipeline, catalog)

    params = tiny_params()
    sizes = params["presets"][params["preset"]]
    for split in ("train", "valid", "test"):
        frame = catalog[f"raw_{split}"].load()
        assert len(frame) == sizes[f"n_{split}"]
        assert np.stack(frame["item_seq"].to_numpy()).shape == (len(frame), 100)
    assert len(catalog["raw_item_info"].load()) == sizes["n_items"] + 1
    assert len(catalog["raw_item_feature"].load()) == len(catalog["raw_item_emb"].load()) == sizes["n_items"]
    truth = catalog["synthetic_truth"].load()
    assert len(truth) == sizes["n_valid"] + sizes["n_test"]
    oracle = catalog["synthetic_oracle"].load()
    assert 0.5 < oracle["valid_auc"] <= 1 and 0.5 < oracle["test_auc"] <= 1
