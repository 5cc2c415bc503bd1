"""Tuning pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import best_parameters, history_plot, importance_plot, tune_study


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=tune_study,
                inputs=[
                    "train_features",
                    "train_similarity",
                    "valid_features",
                    "valid_similarity",
                    "item_features_embedded",
                    "item_semantics",
                    "vocab",
                    "params:training",
                    "params:tuning",
                ],
                outputs=["tuning_study", "tuning_trials"],
                name="tune_study_node",
            ),
            Node(
                func=best_parameters,
                inputs=["tuning_study", "params:training", "params:tuning"],
                outputs=["tuned_parameters", "tuning_best"],
                name="tuning_best_node",
            ),
            Node(
                func=history_plot,
                inputs="tuning_study",
                outputs="tuning_history_plot",
                name="tuning_history_plot_node",
            ),
            Node(
                func=importance_plot,
                inputs="tuning_study",
                outputs="tuning_importance_plot",
                name="tuning_importance_plot_node",
            ),
        ]
    )
