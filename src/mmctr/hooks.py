"""Project hooks."""

from __future__ import annotations

import logging
import os

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class ProjectHooks:
    """Quiet third-party noise and keep every run offline."""

    @hook_impl
    def after_context_created(self, context) -> None:  # noqa: ANN001
        # No telemetry, no network at run time.
        os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("DO_NOT_TRACK", "true")
