"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The main run, in order. `ablation` is left out: it trains many models and is run
# on purpose with `kedro run --pipelines ablation`.
DEFAULT_CHAIN = (
    "synthetic",
    "feature_engineering",
    "item_embedding",
    "semantic_similarity",
    "training",
    "evaluation",
    "submission",
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    ``__default__`` chains synthetic → feature_engineering → item_embedding →
    semantic_similarity →
    training → evaluation → submission; ``real_data`` (its own package) is the same
    chain without ``synthetic``, the default of the ``microlens`` environment.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    chain = [pipelines[name] for name in DEFAULT_CHAIN if name in pipelines]
    pipelines["__default__"] = sum(chain, Pipeline([]))
    return pipelines
