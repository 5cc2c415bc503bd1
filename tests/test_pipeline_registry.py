"""Every stage is a namespaced modular pipeline whose data and parameter names are
those of the stage's own ``create_pipeline`` (src/mmctr/pipeline_registry.py)."""

import pytest

from mmctr.pipeline_registry import DEFAULT_CHAIN, all_stages, as_stage, pipeline_names


def test_pipeline_names_are_the_packages():
    names = pipeline_names()
    assert set(DEFAULT_CHAIN) | {"ablation", "real_data", "__default__"} <= set(names)


@pytest.mark.parametrize("name", [*DEFAULT_CHAIN, "ablation"])
def test_each_stage_is_one_namespace_with_unchanged_dataset_names(name):
    plain = all_stages()[name]
    stage = as_stage(plain, name)
    assert {node.namespace for node in stage.nodes} == {name}
    assert {node.name for node in stage.nodes} == {f"{name}.{n.name}" for n in plain.nodes}
    assert stage.all_inputs() == plain.all_inputs()
    assert stage.all_outputs() == plain.all_outputs()
    assert as_stage(stage, name) is stage  # already namespaced: kept
