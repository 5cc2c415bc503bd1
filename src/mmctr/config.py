"""Typed configuration: every ``params:`` block becomes a frozen dataclass at once.

Unknown keys fail early with the list of known ones, so a typo in a YAML file or in
``--params`` never passes silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["deep_merge", "from_params"]

T = TypeVar("T")


def from_params(cls: type[T], params: Mapping[str, Any] | None, where: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a parameter mapping.

    Args:
        cls: a dataclass type.
        params: the ``params:<block>`` mapping (``None`` means all defaults).
        where: the block's name, used in error messages (e.g. ``"params:training"``).

    Returns:
        An instance of ``cls``; list values are turned into tuples (hashable, frozen).

    Raises:
        ValueError: on keys ``cls`` does not define.
    """
    params = dict(params or {})
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(
            f"{where or cls.__name__}: unknown key(s) {unknown}; expected some of {sorted(fields)}"
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``override``, merging nested mappings key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
