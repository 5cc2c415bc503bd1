"""A KedroSession whose default pipeline is chosen by the environment.

``kedro run`` with no ``--pipelines`` runs the pipeline named by the parameter
``default_pipeline``: ``__default__`` (synthetic data → … → submission) in the
base environment, ``real_data`` (everything but ``synthetic``) in ``microlens``,
so a real download is never generated over. A pipeline name the project does not
register is refused with the list of those it does.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.session import KedroSession

from mmctr.errors import PipelineNameError


def check_pipeline_names(names: list[str], known: list[str]) -> None:
    """Refuse a name not in ``known``, listing the known ones.

    Raises:
        PipelineNameError: naming the unknown pipeline(s) and every known one.
    """
    unknown = [name for name in names if name not in known]
    if unknown:
        shown = ", ".join(sorted(n for n in known if n != "__default__"))
        raise PipelineNameError(
            f"unknown pipeline {', '.join(map(repr, unknown))}; this project has: {shown} "
            "(e.g. `kedro run --pipelines training`; `kedro run` runs the default chain)"
        )


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
        from mmctr.pipeline_registry import pipeline_names as registered

        check_pipeline_names(list(pipeline_names), registered())
        return super().run(pipeline_names=pipeline_names, **kwargs)
