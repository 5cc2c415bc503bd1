"""The default chain without ``synthetic``: the stages that read the real download.

A pipeline package of its own (not only a registry entry) so that Kedro, which imports
just the requested pipeline modules, can load it by name. Its stages come from
``mmctr.pipeline_registry.DEFAULT_CHAIN`` (the chain is written once), each in its
namespace (``mmctr.pipeline_registry.as_stage``), as in ``__default__``.
"""

from kedro.pipeline import Pipeline

from mmctr.pipeline_registry import DEFAULT_CHAIN, chain

#: the stage that writes the synthetic stand-in for the download
GENERATOR = "synthetic"
STAGES = tuple(name for name in DEFAULT_CHAIN if name != GENERATOR)


def create_pipeline(**kwargs) -> Pipeline:
    return chain(STAGES)
