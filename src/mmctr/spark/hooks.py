"""The hook that makes the run's SparkSession from ``conf/<env>/spark.yml``.

Environments without a ``spark.yml`` (every one but ``spark``) never import PySpark.
"""

from __future__ import annotations

from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from mmctr.spark.session import spark_session

__all__ = ["SparkHooks"]


class SparkHooks:
    """Kedro's PySpark pattern: one session per run, configured by ``spark.yml``."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        try:
            conf = context.config_loader["spark"]
        except (MissingConfigException, KeyError):
            return
        if conf:
            spark_session(conf, app_name=context.project_path.name)
