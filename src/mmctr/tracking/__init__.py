"""Run tracking, MLflow-free at import: what nodes call and what the hook installs.

Nodes that train several models (ablation variants, tuning trials) open a *child run*
per model with :func:`child_run`; the project hook (:mod:`mmctr.tracking.hooks`)
installs an MLflow-backed recorder while a tracked ``kedro run`` is in progress, so
each child becomes a run nested under that command's parent run. With tracking off
(or outside a tracked run) :func:`child_run` yields a handle that records nothing,
and nothing of MLflow is ever imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from mmctr.tracking.config import TrackingConfig, recorded_training, tracking_config

__all__ = [
    "ChildRun",
    "Recorder",
    "TrackingConfig",
    "active_recorder",
    "child_run",
    "record_child_run",
    "recorded_training",
    "set_recorder",
    "tracking_config",
]


class ChildRun(Protocol):
    """One nested run: metrics as they come, a final status."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, str]) -> None: ...

    def end(self, status: str) -> None:
        """``FINISHED``, ``FAILED`` or ``KILLED`` (a pruned trial); once ended, the
        context manager leaves the status as it is."""


class Recorder(Protocol):
    def child_run(self, name: str, params: Mapping[str, Any],
                  parameters: Mapping[str, Any] | None) -> contextlib.AbstractContextManager[ChildRun]: ...


class _NullRun:
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        return None

    def set_tags(self, tags: Mapping[str, str]) -> None:
        return None

    def end(self, status: str) -> None:
        return None


_active: Recorder | None = None


def set_recorder(recorder: Recorder | None) -> None:
    """Install (or, with ``None``, remove) the recorder of the run in progress."""
    global _active  # noqa: PLW0603 - one tracked run per process, set by the hook
    _active = recorder


def active_recorder() -> Recorder | None:
    """The recorder of the tracked run in progress, or ``None``."""
    return _active


@contextlib.contextmanager
def child_run(
    name: str,
    params: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Iterator[ChildRun]:
    """A run nested under the current tracked run (a no-op handle when untracked).

    Args:
        name: the run's name (``ablation/din``, ``trial-007`` ...).
        params: flat parameters to log (what distinguishes this child).
        parameters: the full parameters this child ran with, logged as the YAML file a
            ``kedro run`` can reproduce it from (see :func:`recorded_training`).

    Yields:
        A :class:`ChildRun`. An exception ends it ``FAILED`` and propagates, unless
        :meth:`ChildRun.end` set a status first.
    """
    if _active is None:
        yield _NullRun()
        return
    with _active.child_run(name, dict(params or {}), parameters) as run:
        yield run


def record_child_run(
    name: str,
    params: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None,
    metrics: Mapping[str, Any],
) -> None:
    """A finished child run in one call: its parameters and final metrics (only the
    numbers of ``metrics`` are logged). Does nothing when untracked."""
    with child_run(name, params, parameters) as run:
        run.log_metrics(metrics)
