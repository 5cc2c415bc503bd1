"""What every benchmark shares: the machine, clocks, peak memory, project copies, markdown.

Nothing here imports torch at module level, so a benchmark can still set OpenMP's
environment before torch loads (see :mod:`benchmarks.speed`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def log(message: str) -> None:
    """One timestamped progress line on stdout (benchmarks print their figures)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_avg() -> str:
    """The 1/5/15-minute load averages, ``a/b/c``."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def utc_now() -> str:
    """The date and time in UTC, ``YYYY-MM-DD HH:MM:SS``."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def read_params(name: str) -> dict[str, Any]:
    """``conf/base/parameters_<name>.yml`` as a dict."""
    return yaml.safe_load((ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())


# ---------------------------------------------------------------- machine
def _proc(name: str) -> str:
    path = Path("/proc") / name
    return path.read_text() if path.exists() else ""


def cpu_model() -> str:
    """The CPU's model name (``lscpu``'s "Model name")."""
    model = re.search(r"model name\s*:\s*(.*)", _proc("cpuinfo"))
    return model.group(1).strip() if model else platform.processor() or "unknown"


def cpu_flags() -> set[str]:
    """The CPU's feature flags from ``/proc/cpuinfo``."""
    match = re.search(r"flags\s*:\s*(.*)", _proc("cpuinfo"))
    return set(match.group(1).split()) if match else set()


def cpu_name() -> str:
    """The CPU model and whether it multiplies bf16 natively (AVX512-BF16, AMX)."""
    flags = cpu_flags()
    return (f"{cpu_model()}; avx512_bf16 {'yes' if 'avx512_bf16' in flags else 'no'}, "
            f"AMX {'yes' if 'amx_bf16' in flags else 'no'}")


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0))


def git(*args: str) -> str:
    """A read-only git query in the project (empty when git is missing or fails)."""
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def project_commit() -> str:
    """The project's short commit, marked when the work tree has uncommitted changes."""
    commit = git("rev-parse", "--short", "HEAD")
    dirty = " (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{commit}{dirty}" if commit else "unknown"


def machine() -> dict[str, str]:
    """The date, CPU, cores, memory, ISA flags, Python/OS and project commit."""
    mem = re.search(r"MemTotal:\s*(\d+)", _proc("meminfo"))
    flags = cpu_flags()
    return {
        "date (UTC)": utc_now(),
        "CPU": cpu_model(),
        "cores usable": str(cores()),
        "memory": f"{int(mem.group(1)) / 2**20:.1f} GiB" if mem else "unknown",
        "ISA flags": ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ISA_FLAGS),
        "python / OS": f"{platform.python_version()} / {platform.platform()}",
        "project commit": project_commit(),
    }


def command_line(module: str, argv: Sequence[str]) -> str:
    """How a benchmark was started: ``python -m <module> <argv>``."""
    return " ".join(["python", "-m", module, *argv])


# ---------------------------------------------------------------- time and memory
@contextlib.contextmanager
def timed() -> Iterator[dict[str, float]]:
    """``with timed() as t: ...`` then ``t["s"]``: wall seconds of the block."""
    out = {"s": 0.0}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["s"] = time.perf_counter() - start


def peak_rss_gb() -> float:
    """This process's peak resident memory so far, in GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# a small intermediate process starts the command: a child's maximum RSS starts from its
# parent's RSS at fork, so the measured process must not be forked from a large one
_WRAPPER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "max_rss_kb": usage.ru_maxrss}, f)
"""


def _tree_rss_kb(pid: int) -> int:
    """VmRSS summed over ``pid``'s descendants (not ``pid`` itself)."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    for child in map(int, children):
        try:
            match = re.search(r"VmRSS:\s*(\d+)", Path(f"/proc/{child}/status").read_text())
        except OSError:
            continue
        total += int(match.group(1)) if match else 0
        total += _tree_rss_kb(child)
    return total


def _watch_rss(pid: int, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        samples.append((time.perf_counter(), _tree_rss_kb(pid)))


def _peak_event(samples: list[tuple[float, int]], events: list[tuple[float, str]]) -> str:
    """The first event at or after the largest RSS sample."""
    if not samples:
        return "?"
    t_peak = max(samples, key=lambda s: s[1])[0]
    return next((name for t, name in events if t >= t_peak), "after the last event")


def run_measured(cmd: Sequence[str], cwd: Path, logfile: Path, extra_env: dict[str, str] | None = None,
                 event: str = r"Completed node:\s*(\S+)") -> dict[str, Any]:
    """Run ``cmd`` in ``cwd``: wall time, peak RSS (``wait4``) and the event at the peak.

    Output goes to ``logfile``; lines matching ``event`` (by default Kedro's "Completed
    node") are timestamped, and RSS sampled every 0.25 s names the one at the peak.

    Returns:
        ``rc``, ``wall_s``, ``peak_gb``, ``peak_node``, ``nodes`` (the events in order).
    """
    env = dict(os.environ, COLUMNS="250", KEDRO_DISABLE_TELEMETRY="true", PYTHONUNBUFFERED="1",
               **(extra_env or {}))
    events: list[tuple[float, str]] = []
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    report = logfile.with_suffix(".rusage.json")
    report.unlink(missing_ok=True)
    start = time.perf_counter()
    with logfile.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, str(report), *cmd], cwd=cwd, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        watcher = threading.Thread(target=_watch_rss, args=(proc.pid, samples, stop), daemon=True)
        watcher.start()
        for line in proc.stdout:
            sink.write(line)
            match = re.search(event, line)
            if match:
                events.append((time.perf_counter(), match.group(1)))
        proc.wait()
    wall = time.perf_counter() - start
    stop.set()
    watcher.join()
    usage = json.loads(report.read_text()) if report.exists() else {"rc": 1, "max_rss_kb": 0}
    return {"rc": usage["rc"] or proc.returncode, "wall_s": wall, "peak_gb": usage["max_rss_kb"] / 2**20,
            "peak_node": _peak_event(samples, events), "nodes": [name for _, name in events]}


def kedro_command(*args: str) -> list[str]:
    """``kedro run`` with ``args``, through this interpreter."""
    return [sys.executable, "-m", "kedro", "run", *args]


# ---------------------------------------------------------------- project copies
def copy_project(dest: Path) -> Path:
    """The project's ``conf`` (without ``local``) and ``pyproject.toml`` in ``dest``, with
    empty ``src/`` and ``data/``: ``kedro run`` there runs the installed package."""
    shutil.copytree(ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local"))
    (dest / "conf" / "local").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    if (ROOT / ".telemetry").exists():
        shutil.copy2(ROOT / ".telemetry", dest / ".telemetry")
    (dest / "src").mkdir(exist_ok=True)
    (dest / "data").mkdir(exist_ok=True)
    return dest


# ---------------------------------------------------------------- markdown
def markdown_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A markdown table as lines, followed by a blank line."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]
