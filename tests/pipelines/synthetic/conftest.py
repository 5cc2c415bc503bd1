"""Tiny synthetic data, generated once per test session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipelines.synthetic.tiny_data import generate, tiny_params


@pytest.fixture(scope="session")
def tiny() -> dict[str, Any]:
    """All outputs of the tiny preset."""
    return generate(tiny_params())
