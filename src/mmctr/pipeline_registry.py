"""Project pipelines."""

from __future__ import annotations

import importlib
import pkgutil

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline, pipeline

import mmctr.pipelines

# The main run, in order. `ablation` is left out: it trains many models and is run
# on purpose with `kedro run --pipelines ablation`.
DEFAULT_CHAIN = (
    "synthetic",
    "feature_engineering",
    "collaborative",
    "item_embedding",
    "semantic_similarity",
    "training",
    "evaluation",
    "submission",
)
#: registry entries made of several stages (not namespaced themselves)
COMPOSITES = ("__default__", "real_data", "spark")


def as_stage(stage: Pipeline, name: str) -> Pipeline:
    """``stage`` as the namespaced modular pipeline ``name``, names of data unchanged.

    Kedro-viz draws a namespace as one box that opens on its nodes, and
    ``kedro run --namespaces NAME`` runs it. Every dataset the stage reads or writes, and
    every parameter, is listed as the namespace's input, output or parameter, so no
    dataset or parameter name gets the prefix: only node names do
    (``training.train_node``). A stage that already namespaces its nodes is kept as is.
    """
    if stage.nodes and all(node.namespace for node in stage.nodes):
        return stage
    params = {name_ for name_ in stage.inputs() if name_.startswith("params:")}
    return pipeline(
        stage,
        namespace=name,
        inputs=stage.inputs() - params - {"parameters"},
        outputs=stage.all_outputs(),
        parameters=params,
    )


def pipeline_names() -> list[str]:
    """Every pipeline the project registers (its packages, plus ``__default__``)."""
    packages = [m.name for m in pkgutil.iter_modules(mmctr.pipelines.__path__) if m.ispkg]
    return sorted({*packages, "__default__"})


def stage_pipeline(name: str) -> Pipeline:
    """The plain (not namespaced) pipeline of the stage package ``name``."""
    return importlib.import_module(f"mmctr.pipelines.{name}.pipeline").create_pipeline()


def chain(names: tuple[str, ...] | list[str]) -> Pipeline:
    """The stages ``names``, each namespaced (:func:`as_stage`), as one pipeline."""
    return sum((as_stage(stage_pipeline(name), name) for name in names), Pipeline([]))


def all_stages() -> dict[str, Pipeline]:
    """Every stage pipeline, built from its package (whatever Kedro loaded for this run)."""
    return {name: stage_pipeline(name) for name in pipeline_names() if name not in COMPOSITES}


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Every stage is a namespaced modular pipeline (:func:`as_stage`). ``__default__``
    chains the stages of :data:`DEFAULT_CHAIN`; ``real_data`` (its own package) is the
    same chain without ``synthetic``, the default of the ``microlens`` environment.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    found = find_pipelines(raise_errors=True)
    pipelines = {
        name: stage if name in COMPOSITES else as_stage(stage, name)
        for name, stage in found.items()
    }
    chain = [pipelines[name] for name in DEFAULT_CHAIN if name in pipelines]
    pipelines["__default__"] = sum(chain, Pipeline([]))
    return pipelines
