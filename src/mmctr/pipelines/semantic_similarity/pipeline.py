"""Wiring of the ``semantic_similarity`` stage (ARCHITECTURE.md §3)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.semantic_similarity.nodes import (
    assemble_item_semantics,
    item_popularity,
    normalise_embeddings,
    residual_quantization,
    split_similarity,
    top_k_neighbours,
)

SPLITS = ("train", "valid", "test")


def create_pipeline(**kwargs) -> Pipeline:
    """Item semantics (neighbours, RQ codes) and per-split history similarity."""
    return Pipeline(
        [
            Node(
                func=normalise_embeddings,
                inputs="item_features_embedded",
                outputs="item_emb_normalised",
                name="normalise_embeddings_node",
            ),
            Node(
                func=top_k_neighbours,
                inputs=["item_emb_normalised", "params:semantic_similarity"],
                outputs="item_neighbours",
                name="top_k_neighbours_node",
            ),
            Node(
                func=residual_quantization,
                inputs=["item_emb_normalised", "params:semantic_similarity"],
                outputs=[
                    "item_rq_codes",
                    "rq_codebooks",
                    "rq_report",
                    "rq_reconstruction_plot",
                ],
                name="residual_quantization_node",
            ),
            Node(
                func=assemble_item_semantics,
                inputs=["item_neighbours", "item_rq_codes", "item_collab"],
                outputs="item_semantics",
                name="assemble_item_semantics_node",
            ),
            Node(
                func=item_popularity,
                inputs=["train_features", "vocab"],
                outputs="item_popularity",
                name="item_popularity_node",
            ),
            *(
                Node(
                    func=split_similarity,
                    inputs=[
                        f"{split}_features",
                        "item_emb_normalised",
                        "params:semantic_similarity",
                        "item_features_embedded",
                        "item_popularity",
                        "item_collab",
                    ],
                    outputs=f"{split}_similarity",
                    name=f"{split}_similarity_node",
                )
                for split in SPLITS
            ),
        ]
    )
