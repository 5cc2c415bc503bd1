"""One SparkSession per run, from ``conf/<env>/spark.yml`` (Kedro's PySpark pattern).

:func:`spark_session` checks that PySpark and Java are there first, so a machine without
them gets one line (:class:`SparkUnavailableError`) instead of a JVM launch failure.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmctr.errors import MmctrError

__all__ = ["SparkUnavailableError", "active_session", "java_executable", "shards_frame",
           "spark_session"]

logger = logging.getLogger(__name__)

#: the master when spark.yml names none (every core of this machine)
DEFAULT_MASTER = "local[*]"
#: an environment variable that overrides spark.master (CI runs on local[2])
MASTER_VARIABLE = "MMCTR_SPARK_MASTER"
#: settings the stages rely on, unless spark.yml says otherwise
DEFAULTS = {
    # one shard file never shares a partition with another, so a split read back from
    # its shards keeps each partition a contiguous run of rows (shards stay in file order)
    "spark.sql.files.openCostInBytes": str(1 << 30),
    "spark.ui.showConsoleProgress": "false",
}


class SparkUnavailableError(MmctrError, RuntimeError):
    """PySpark or Java is missing where a Spark stage must run."""


def java_executable() -> str | None:
    """The ``java`` Spark would start: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def _require() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailableError(
            "the spark environment needs PySpark: pip install -e \".[spark]\"") from exc
    if java_executable() is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']}" if "JAVA_HOME" in os.environ else "PATH"
        raise SparkUnavailableError(
            f"Spark needs Java 17 and found no java ({where}): install a JDK 17 "
            "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME")


def spark_session(conf: Mapping[str, Any] | None = None, app_name: str = "mmctr") -> Any:
    """The run's SparkSession, built once from ``conf`` (the ``spark.yml`` mapping).

    ``spark.master`` defaults to ``local[*]``; ``$MMCTR_SPARK_MASTER`` overrides it; under
    ``spark-submit`` (which starts the JVM first) the master it was given is kept.

    Raises:
        SparkUnavailableError: without PySpark or Java.
    """
    _require()
    from pyspark.sql import SparkSession

    settings = {**DEFAULTS, **{str(k): str(v) for k, v in (conf or {}).items()}}
    master = settings.pop("spark.master", DEFAULT_MASTER)
    if MASTER_VARIABLE in os.environ:
        settings["spark.master"] = os.environ[MASTER_VARIABLE]
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: spark.yml's
        settings["spark.master"] = master
    builder = SparkSession.builder.appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(settings.get("mmctr.log_level", "WARN"))
    logger.info("Spark %s on %s", session.version, session.sparkContext.master)
    return session


def active_session() -> Any:
    """The session the hook made (or a default one: tests, notebooks)."""
    _require()
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or spark_session()


def shards_frame(rows: Any) -> Any:
    """A sharded split (:class:`mmctr.data.shards.ShardedRows`) as a Spark DataFrame."""
    return active_session().read.parquet(str(rows.folder))
