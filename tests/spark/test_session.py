"""Without Java (or PySpark) a Spark stage stops with one clear line (no Spark started)."""

from __future__ import annotations

import pytest

from mmctr.errors import MmctrError
from mmctr.spark import session
from mmctr.spark.session import SparkUnavailableError, java_executable


def test_missing_java_is_one_clear_line(monkeypatch, tmp_path):
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    assert java_executable() is None
    with pytest.raises(SparkUnavailableError) as caught:
        session.spark_session({"spark.master": "local[1]"})
    message = str(caught.value)
    assert isinstance(caught.value, MmctrError) and "\n" not in message
    assert "Java 17" in message and "JAVA_HOME" in message


def test_java_home_without_java_is_named(monkeypatch, tmp_path):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkUnavailableError, match=f"JAVA_HOME={tmp_path}"):
        session.spark_session()
