"""Project settings. See https://docs.kedro.org/en/stable/configure/configuration_basics/."""

from kedro.config import OmegaConfigLoader

from mmctr.hooks import ProjectHooks
from mmctr.session import MmctrSession
from mmctr.spark.hooks import SparkHooks
from mmctr.tracking.hooks import TrackingHooks

# SparkHooks: one SparkSession from conf/<env>/spark.yml (the spark environment only)
HOOKS = (ProjectHooks(), TrackingHooks(), SparkHooks())

# `kedro run` without --pipelines runs the parameter `default_pipeline`
SESSION_CLASS = MmctrSession

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment (test, microlens, gpu, ...) overrides single keys of base,
    # not whole top-level blocks
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
    "config_patterns": {"spark": ["spark*", "spark*/**"]},
}
