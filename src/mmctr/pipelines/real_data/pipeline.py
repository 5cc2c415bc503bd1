"""feature_engineering → item_embedding → semantic_similarity → training → evaluation → submission.

A pipeline package of its own (not only a registry entry) so that Kedro, which imports
just the requested pipeline modules, can load it by name.
"""

from kedro.pipeline import Pipeline

from mmctr.pipelines import (
    evaluation,
    feature_engineering,
    item_embedding,
    semantic_similarity,
    submission,
    training,
)


def create_pipeline(**kwargs) -> Pipeline:
    stages = (feature_engineering, item_embedding, semantic_similarity, training, evaluation, submission)
    return sum((stage.create_pipeline() for stage in stages), Pipeline([]))
