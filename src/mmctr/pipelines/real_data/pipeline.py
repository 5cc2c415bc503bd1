"""feature_engineering → collaborative → item_embedding → semantic_similarity → training → evaluation → submission.

A pipeline package of its own (not only a registry entry) so that Kedro, which imports
just the requested pipeline modules, can load it by name. Each stage keeps its namespace
(``mmctr.pipeline_registry.as_stage``), as in ``__default__``.
"""

from kedro.pipeline import Pipeline

from mmctr.pipelines import (
    collaborative,
    evaluation,
    feature_engineering,
    item_embedding,
    semantic_similarity,
    submission,
    training,
)

STAGES = {
    "feature_engineering": feature_engineering,
    "collaborative": collaborative,
    "item_embedding": item_embedding,
    "semantic_similarity": semantic_similarity,
    "training": training,
    "evaluation": evaluation,
    "submission": submission,
}


def create_pipeline(**kwargs) -> Pipeline:
    from mmctr.pipeline_registry import as_stage

    stages = (as_stage(stage.create_pipeline(), name) for name, stage in STAGES.items())
    return sum(stages, Pipeline([]))
