"""Project hooks."""

from __future__ import annotations

import logging
import os
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


def _rank() -> int:
    """This process's rank under torchrun (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


class ProjectHooks:
    """Keep runs offline; under ``torchrun`` only rank 0 writes.

    ``torchrun --nproc_per_node=N -m kedro run --pipelines training`` starts N
    copies of the run; each trains on its shard (see ``mmctr.engine.distributed``).
    Ranks other than 0 read the catalog as usual but every save becomes a no-op,
    so the model, metrics and reports are written once, by rank 0.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("DO_NOT_TRACK", "true")

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        if _rank() == 0:
            return
        logging.getLogger("mmctr").setLevel(logging.WARNING)
        for name in catalog.keys():
            dataset = catalog.get(name)
            if dataset is not None:
                dataset.save = _skip_save(name)


def _skip_save(name: str):
    def save(data: Any) -> None:
        logger.debug("rank %d: not writing '%s' (rank 0 writes)", _rank(), name)

    return save
