"""Pipeline-slice run of ``item_embedding`` on an in-memory catalog."""

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mmctr.pipelines.item_embedding import create_pipeline

from .tiny_inputs import N_ITEMS, item_features, params, raw_item_feature, split


class KeptDataset(MemoryDataset):
    """A memory dataset the runner cannot release once its last reader has run."""

    def _release(self) -> None:
        pass


class AbsentDataset(MemoryDataset):
    """An optional file that is not there: loads as ``None``."""

    def load(self) -> None:
        return None


OUTPUTS = ["item_features_embedded", "item_embedding_report", "item_embedding_agreement",
           "item_embedding_plot"]


def run(recipe: str, train: dict, raw=True) -> DataCatalog:
    inputs = {
        "raw_item_feature": raw_item_feature(),
        "item_features": item_features(),
        "train_features": train,
        "params:item_embedding": params(recipe=recipe),
    }
    catalog = DataCatalog({**{k: MemoryDataset(v) for k, v in inputs.items()},
                           **({} if raw else {"raw_item_feature": AbsentDataset()}),
                           **{k: KeptDataset(copy_mode="assign") for k in OUTPUTS}})
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog


def test_pipeline_reads_no_valid_or_test_data():
    pipeline = create_pipeline()
    assert set(pipeline.inputs()) == {"raw_item_feature", "item_features", "train_features",
                                      "params:item_embedding"}
    assert set(OUTPUTS) <= pipeline.all_outputs()
    assert all(n.name.endswith("_node") for n in pipeline.nodes)


@pytest.mark.parametrize("recipe", ["provided", "concat_pca", "per_modality_pca", "whitened"])
def test_slice_run_writes_the_table_and_report(recipe):
    catalog = run(recipe, split(0))
    table = catalog["item_features_embedded"].load()
    assert table["item_emb"].shape[0] == N_ITEMS + 1
    report = catalog["item_embedding_report"].load()
    assert report["used"] == recipe and report["dim"] == table["item_emb"].shape[1]
    assert catalog["item_embedding_agreement"].load().shape == (4, 5)


def test_learned_recipe_depends_on_train_clicks_only():
    train = split(0)
    first = run("co_click", train)["item_features_embedded"].load()["item_emb"]
    again = run("co_click", {k: v.copy() for k, v in train.items()})["item_features_embedded"]
    np.testing.assert_array_equal(first, again.load()["item_emb"])
    flipped = {**train, "label": 1 - train["label"]}
    other = run("co_click", flipped)["item_features_embedded"].load()["item_emb"]
    # the default pairs are label-free: flipping the clicks changes nothing
    np.testing.assert_array_equal(first, other)
    shuffled = {**train, "item_seq": train["item_seq"][::-1, ::-1].copy()}
    moved = run("co_click", shuffled)["item_features_embedded"].load()["item_emb"]
    assert not np.allclose(first, moved)  # the train histories are what it learns from


def test_without_item_feature_the_chain_keeps_the_shipped_embedding():
    catalog = run("concat_pca", split(0), raw=False)
    np.testing.assert_array_equal(catalog["item_features_embedded"].load()["item_emb"],
                                  item_features()["item_emb"])
    assert catalog["item_embedding_report"].load()["used"] == "provided"
