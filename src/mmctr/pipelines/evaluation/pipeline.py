"""Evaluation pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import compute_breakdown, compute_metrics, gather_rows, score_valid
from .plots import plot_auc_by_history, plot_calibration, plot_learning_curves, plot_roc


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=score_valid,
                inputs=[
                    "model",
                    "valid_features",
                    "valid_similarity",
                    "item_features_embedded",
                    "item_semantics",
                    "params:evaluation",
                ],
                outputs="valid_predictions",
                name="score_valid_node",
            ),
            Node(
                func=gather_rows,
                inputs=[
                    "valid_predictions",
                    "valid_features",
                    "test_predictions",
                    "test_features",
                    "train_features",
                    "synthetic_truth",
                ],
                outputs="evaluation_rows",
                name="gather_rows_node",
            ),
            Node(
                func=compute_metrics,
                inputs=["evaluation_rows", "synthetic_oracle", "training_history", "model"],
                outputs="evaluation_metrics",
                name="compute_metrics_node",
            ),
            Node(
                func=compute_breakdown,
                inputs=["evaluation_rows", "params:evaluation"],
                outputs="evaluation_breakdown",
                name="compute_breakdown_node",
            ),
            Node(
                func=plot_roc,
                inputs="evaluation_rows",
                outputs="roc_plot",
                name="plot_roc_node",
            ),
            Node(
                func=plot_calibration,
                inputs=["evaluation_rows", "params:evaluation"],
                outputs="calibration_plot",
                name="plot_calibration_node",
            ),
            Node(
                func=plot_learning_curves,
                inputs="training_history",
                outputs="learning_curve_plot",
                name="plot_learning_curves_node",
            ),
            Node(
                func=plot_auc_by_history,
                inputs="evaluation_breakdown",
                outputs="auc_by_history_plot",
                name="plot_auc_by_history_node",
            ),
        ]
    )
