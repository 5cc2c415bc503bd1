"""``params:collaborative`` checked before any node runs (the dataclass:
:class:`mmctr.data.collaborative.CollaborativeConfig`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmctr.data.collaborative import CollaborativeConfig, collaborative_config
from mmctr.parameters import register

__all__ = ["CollaborativeConfig", "collaborative_config"]


@register("collaborative")
def _validate(block: Any, params: Mapping[str, Any]) -> None:
    collaborative_config(block)
