"""Every parameter block checked before any node runs.

A registry maps a top-level block of the parameters (``training``, ``synthetic``, ...) to a
validator: a function that turns the block into its frozen dataclass(es) and checks what
the dataclass alone cannot (presets, model names, positive sizes, combinations).
:func:`validate_parameters` runs the validator of every block present and ignores blocks
it does not know, so a new pipeline's block plugs in with one decorated function::

    @register("tuning")
    def _tuning(block, params):
        tuning_config(as_mapping(block, "params:tuning"))

Each stage keeps that function beside its dataclass, in ``pipelines/<stage>/config.py``;
:func:`load_stage_validators` imports those modules, so this one names no stage. Checks
of values several stages share (device, bf16, a training configuration) live in
:mod:`mmctr.engine.checks`.

``mmctr.hooks.ProjectHooks`` calls it before the pipeline runs: a typo costs a second,
not a regenerated data set, and nothing is written. Every failure is a
:class:`~mmctr.errors.ParameterError` whose message names the key and what it accepts.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

from mmctr.errors import ParameterError

__all__ = [
    "VALIDATORS",
    "as_mapping",
    "blocks_read_by",
    "check_preset",
    "load_stage_validators",
    "register",
    "validate_parameters",
]

Validator = Callable[[Any, Mapping[str, Any]], None]

#: block name -> validator(block, all parameters)
VALIDATORS: dict[str, Validator] = {}
#: block name -> blocks validated before it
_AFTER: dict[str, tuple[str, ...]] = {}

#: the package whose sub-packages are stages (each may have a ``config`` module)
STAGES_PACKAGE = "mmctr.pipelines"
#: configuration modules below the stages that register a block (cross-cutting blocks)
LIBRARY_CONFIGS = ("mmctr.tracking.config",)


def register(block: str, *, after: tuple[str, ...] = ()) -> Callable[[Validator], Validator]:
    """Register ``func`` as the validator of the parameter block ``block``.

    Args:
        block: the top-level parameter block.
        after: blocks whose validators must pass first (a block read through another's
            resolution, e.g. ``ablation`` resolves its variants over ``training``), so a
            mistake is reported under the block where it is made.
    """

    def decorator(func: Validator) -> Validator:
        VALIDATORS[block] = func
        _AFTER[block] = tuple(after)
        return func

    return decorator


def _in_order() -> list[str]:
    """The registered blocks, each after the blocks it names in ``after``."""
    ordered: list[str] = []

    def visit(block: str) -> None:
        if block in ordered or block not in VALIDATORS:
            return
        for first in _AFTER.get(block, ()):
            visit(first)
        ordered.append(block)

    for block in VALIDATORS:
        visit(block)
    return ordered


def validate_parameters(
    params: Mapping[str, Any], blocks: set[str] | None = None
) -> list[str]:
    """Run the validator of every block of ``params`` that has one.

    Args:
        params: all parameters (``context.params``: base, environment and ``--params``).
        blocks: check only these blocks (those the pipeline about to run reads);
            ``None``: every block.

    Returns:
        The names of the blocks checked.

    Raises:
        ParameterError: at the first invalid block.
    """
    load_stage_validators()
    checked = []
    for block in _in_order():
        validator = VALIDATORS[block]
        if block not in params or (blocks is not None and block not in blocks):
            continue
        try:
            validator(params[block], params)
        except ParameterError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            message = str(exc.args[0]) if exc.args else repr(exc)
            if not message.startswith("params:"):
                message = f"params:{block}: {message}"
            raise ParameterError(message) from exc
        checked.append(block)
    return checked


def load_stage_validators() -> None:
    """Import every stage's ``mmctr.pipelines.<stage>.config`` module (and
    :data:`LIBRARY_CONFIGS`).

    A stage owns its configuration: its ``config.py`` holds the dataclass and registers
    the block's validator with :func:`register` when imported. Importing them here (once;
    Python caches modules) fills :data:`VALIDATORS` without this module naming any stage.
    """
    package = importlib.import_module(STAGES_PACKAGE)
    names = [
        f"{STAGES_PACKAGE}.{module.name}.config"
        for module in pkgutil.iter_modules(package.__path__)
        if module.ispkg
    ]
    for name in (*names, *LIBRARY_CONFIGS):
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def blocks_read_by(dataset_names: set[str] | list[str]) -> set[str]:
    """The top-level parameter blocks behind ``params:<block>[.<key>...]`` inputs."""
    return {
        name.removeprefix("params:").split(".")[0]
        for name in dataset_names
        if name.startswith("params:")
    }


def as_mapping(block: Any, where: str) -> Mapping[str, Any]:
    """``block`` as a mapping (``None``: empty); anything else is refused."""
    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise ParameterError(f"{where}: expected a mapping of keys, got {block!r}")
    return block


def check_preset(block: Mapping[str, Any], where: str, hint: str = "") -> None:
    """``block["preset"]`` (default ``default``) must name one of ``block["presets"]``."""
    presets = as_mapping(block.get("presets"), f"{where}.presets")
    preset = block.get("preset", "default")
    if preset not in presets:
        raise ParameterError(
            f"{where}.preset: unknown preset {preset!r}; known: "
            f"{', '.join(sorted(presets))}{hint}"
        )
