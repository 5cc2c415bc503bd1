"""``params:item_embedding``: its check. The configuration is the library's
(:class:`mmctr.data.embedding.ItemEmbeddingConfig`), which synthetic data and the
ablation's recipe variants share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmctr.data.embedding import embedding_config
from mmctr.parameters import as_mapping, register

__all__: list[str] = []


@register("item_embedding")
def _item_embedding(block: Any, params: Mapping[str, Any]) -> None:
    embedding_config(as_mapping(block, "params:item_embedding"))  # nested blocks checked at once
