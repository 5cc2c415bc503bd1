"""spark_features → spark_collaborative → item_embedding → item semantics → spark_similarity → training → evaluation → submission.

The default of ``kedro run --env spark``: the row work of the data stages runs on Spark
(``spark_features``, ``spark_collaborative``, ``spark_similarity``), the per-item half of ``semantic_similarity``
(neighbours, RQ codes) and ``item_embedding`` read only the item table, and training
streams the similarity shards. Each stage keeps its namespace.
"""

from kedro.pipeline import Pipeline

from mmctr.pipeline_registry import as_stage, chain, stage_pipeline

#: semantic_similarity's per-item outputs (its per-row ones come from spark_similarity)
ITEM_SEMANTICS = ("item_semantics", "rq_codebooks", "rq_report", "rq_reconstruction_plot")


def create_pipeline(**kwargs) -> Pipeline:
    semantics = as_stage(stage_pipeline("semantic_similarity"), "semantic_similarity")
    return (chain(("spark_features", "spark_collaborative", "item_embedding"))
            + semantics.to_outputs(*ITEM_SEMANTICS)
            + chain(("spark_similarity", "training", "evaluation", "submission")))
