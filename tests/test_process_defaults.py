"""`import mmctr` sets OpenMP's spin count and pyarrow's pool unless the shell chose."""

import json
import os
import subprocess
import sys

import pytest

PRINT = ("import json, os, mmctr; print(json.dumps({k: os.environ.get(k) for k in "
         "('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'ARROW_DEFAULT_MEMORY_POOL')}))")


def _env_after_import(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "ARROW_DEFAULT_MEMORY_POOL")}
    done = subprocess.run([sys.executable, "-c", PRINT], env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_short_spin_is_the_default():
    seen = _env_after_import()
    assert seen["GOMP_SPINCOUNT"] == "1000" and seen["OMP_WAIT_POLICY"] is None
    if sys.platform == "linux":
        assert seen["ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc"


@pytest.mark.parametrize("env", [{"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "5"},
                                 {"ARROW_DEFAULT_MEMORY_POOL": "system"}])
def test_the_shell_wins(env):
    seen = _env_after_import(**env)
    for key, value in env.items():
        assert seen[key] == value
    if "OMP_WAIT_POLICY" in env:
        assert seen["GOMP_SPINCOUNT"] is None
