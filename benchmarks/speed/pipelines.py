"""``pipelines``: wall time and peak RSS of the data stages' ``kedro run``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import copy_project, kedro_command, load_avg, log, run_measured

from .plan import DATA_STAGES, Plan


def _kedro(args: list[str], cwd: Path, name: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """``kedro run`` with ``args`` in ``cwd``, measured; the log in ``cwd/<name>.log``."""
    logfile = cwd / f"{name}.log"
    run = run_measured(kedro_command(*args), cwd, logfile, extra_env)
    run["log"] = logfile
    return run


def _failed(run: dict[str, Any], what: str) -> RuntimeError:
    return RuntimeError(f"{what} run failed: {run['log'].read_text()[-3000:]}")


def measure_pipelines(plan: Plan) -> dict[str, Any]:
    """Generate the plan's synthetic preset in a temporary project copy (not measured), then
    time the data stages as configured and on pyarrow's own default pool (mimalloc)."""
    tmp = Path(tempfile.mkdtemp(prefix="mmctr-bench-"))
    try:
        copy_project(tmp)
        log(f"pipelines: generating the '{plan.pipeline_preset}' synthetic preset in {tmp} (not measured)")
        synth = _kedro(["--pipelines", "synthetic", "--params", f"synthetic.preset={plan.pipeline_preset}"],
                       tmp, "synthetic")
        if synth["rc"] != 0:
            raise _failed(synth, "synthetic")
        log(f"pipelines: synthetic took {synth['wall_s']:.0f}s; measuring {DATA_STAGES}")
        load_start = load_avg()
        run = _kedro(["--pipelines", DATA_STAGES], tmp, "measured")
        if run["rc"] != 0:
            raise _failed(run, "measured")
        run.update(preset=plan.pipeline_preset, synthetic_s=synth["wall_s"],
                   load=f"{load_start} → {load_avg()}")
        log(f"pipelines: {run['wall_s']:.0f}s, peak {run['peak_gb']:.2f} GB ({run['peak_node']})")
        # the same run on pyarrow's own default pool (mimalloc), which keeps memory it has
        # freed; `import mmctr` picks jemalloc on Linux instead
        load_start = load_avg()
        variant = _kedro(["--pipelines", DATA_STAGES], tmp, "variant",
                         {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"})
        if variant["rc"] == 0:
            variant["load"] = f"{load_start} → {load_avg()}"
            run["arrow_mimalloc"] = variant
            log(f"pipelines, ARROW_DEFAULT_MEMORY_POOL=mimalloc: {variant['wall_s']:.0f}s, "
                f"peak {variant['peak_gb']:.2f} GB")
        return run
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
