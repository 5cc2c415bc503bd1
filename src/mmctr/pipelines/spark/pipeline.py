"""spark_features → item_embedding → item semantics → spark_similarity → training → evaluation → submission.

The default of ``kedro run --env spark``: the row work of the data stages runs on Spark
(``spark_features``, ``spark_similarity``), the per-item half of ``semantic_similarity``
(neighbours, RQ codes) and ``item_embedding`` read only the item table, and training
streams the similarity shards. Each stage keeps its namespace.
"""

from kedro.pipeline import Pipeline

from mmctr.pipelines import (
    evaluation,
    item_embedding,
    semantic_similarity,
    spark_features,
    spark_similarity,
    submission,
    training,
)

#: semantic_similarity's per-item outputs (its per-row ones come from spark_similarity)
ITEM_SEMANTICS = ("item_semantics", "rq_codebooks", "rq_report", "rq_reconstruction_plot")


def create_pipeline(**kwargs) -> Pipeline:
    from mmctr.pipeline_registry import as_stage

    semantics = as_stage(semantic_similarity.create_pipeline(), "semantic_similarity")
    stages = [
        as_stage(spark_features.create_pipeline(), "spark_features"),
        as_stage(item_embedding.create_pipeline(), "item_embedding"),
        semantics.to_outputs(*ITEM_SEMANTICS),
        as_stage(spark_similarity.create_pipeline(), "spark_similarity"),
        as_stage(training.create_pipeline(), "training"),
        as_stage(evaluation.create_pipeline(), "evaluation"),
        as_stage(submission.create_pipeline(), "submission"),
    ]
    return sum(stages, Pipeline([]))
