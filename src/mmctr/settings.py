"""Project settings. See https://docs.kedro.org/en/stable/configure/configuration_basics/."""

from kedro.config import OmegaConfigLoader

from mmctr.hooks import ProjectHooks
from mmctr.session import MmctrSession
from mmctr.tracking.hooks import TrackingHooks

HOOKS = (ProjectHooks(), TrackingHooks())

# `kedro run` without --pipelines runs the parameter `default_pipeline`
SESSION_CLASS = MmctrSession

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment (test, microlens, gpu, ...) overrides single keys of base,
    # not whole top-level blocks
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}
