"""A KedroSession whose default pipeline is chosen by the environment.

``kedro run`` with no ``--pipelines`` runs the pipeline named by the parameter
``default_pipeline``: ``__default__`` (synthetic data → … → submission) in the
base environment, ``real_data`` (everything but ``synthetic``) in ``microlens``,
so a real download is never generated over.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.session import KedroSession


class MmctrSession(KedroSession):
    """KedroSession that reads its default pipeline from the parameters."""

    def run(  # type: ignore[override]
        self,
        pipeline_name: str | None = None,
        pipeline_names: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if not pipeline_name and not pipeline_names:
            params = self._get_config_loader()["parameters"]
            pipeline_names = [str(params.get("default_pipeline", "__default__"))]
        elif pipeline_name:
            pipeline_names = [pipeline_name]
        return super().run(pipeline_names=pipeline_names, **kwargs)
