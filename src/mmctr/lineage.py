"""Fingerprints of stage outputs, so no stage reads a mixed set.

Every file a node saves gets a small stamp beside it, ``.<file name>.stamp.json``::

    {"fingerprint": "…", "node": "feature_engineering.build_features_node",
     "stage": "feature_engineering", "inputs": {"raw_train": "…", "params:…": "…"}}

The fingerprint of a node run is a hash of the node's name and of the fingerprints of
its inputs: a parameter's value, a stamped file's fingerprint, or an unstamped file's
content hash (the real download). It does not depend on when or where the node ran, so
rerunning a stage on the same inputs and parameters writes the same fingerprints, and a
copied project passes. The stamp also records the content hash of the file it describes
(BLAKE2b over 1 MiB blocks, :func:`content_hash`; the latest version of a versioned
dataset): modification times are never used.

Before a node runs, :meth:`Lineage.check_inputs` refuses (:class:`StaleInputError`, with
the stage to rerun):

* an input whose stamp says it was being written when a run stopped (the stamp is
  marked ``pending`` before the save and completed after it);
* two outputs of the same node from different runs (a run stopped between two saves);
* an input made from something that has changed since (its recorded input differs from
  that input's current fingerprint, or from what another input recorded for it);
* an input whose content is not what its stamp recorded (another run's file copied over
  it, its stamp kept).

Files without a stamp (the real download, files from an older version) are trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro.io.core import get_filepath_str

from mmctr.data.shards import MANIFEST
from mmctr.datasets.atomic import atomic_path, shown_path
from mmctr.errors import StaleInputError

__all__ = ["Lineage", "content_hash", "dataset_path", "read_stamp", "stamp_path"]

logger = logging.getLogger(__name__)


def dataset_path(dataset: Any) -> Path | None:
    """The local path a file dataset is saved to (a folder for versioned ones)."""
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None or getattr(dataset, "_protocol", "file") not in ("file", "local"):
        return None
    return Path(get_filepath_str(filepath, getattr(dataset, "_protocol", "file")))


def stamp_path(path: Path) -> Path:
    """Where the stamp of ``path`` lives: ``.<name>.stamp.json`` beside it."""
    return path.parent / f".{path.name}.stamp.json"


def read_stamp(path: Path | None) -> dict[str, Any] | None:
    """The stamp of ``path``, or ``None`` when there is none (or it is unreadable)."""
    if path is None:
        return None
    try:
        return json.loads(stamp_path(path).read_text())
    except (OSError, ValueError):
        return None


def _write_stamp(path: Path, stamp: Mapping[str, Any]) -> None:
    with atomic_path(stamp_path(path)) as tmp:
        tmp.write_text(json.dumps(stamp, indent=1, sort_keys=True))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: bytes read at a time when hashing a file's content
HASH_BLOCK = 1 << 20


def _loaded_file(path: Path) -> Path | None:
    """The file a dataset at ``path`` loads: the file itself, or for a versioned folder
    the file of its latest version (version names sort in time order); for a sharded
    split, its manifest (which holds every shard's content hash)."""
    if (path / MANIFEST).is_file():
        return path / MANIFEST
    if path.is_file():
        return path
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        if files:
            return max(files, key=lambda p: str(p.relative_to(path)))
    return None


def content_hash(path: Path) -> str:
    """BLAKE2b (16 bytes) of a file's bytes, read in 1 MiB blocks: what the file holds,
    whatever its name, copy or modification time."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class Lineage:
    """Computes node fingerprints, checks inputs, writes stamps (see the module doc).

    Args:
        catalog: the run's catalog.
        stage_of: dataset name -> the stage (pipeline) that writes it, or ``None``.
        write: whether this process writes stamps (``False`` on DDP ranks other than 0).
    """

    def __init__(
        self,
        catalog: Any,
        stage_of: Callable[[str], str | None],
        write: bool = True,
        stage_order: tuple[str, ...] = (),
    ) -> None:
        self._catalog = catalog
        self._stage_of = stage_of
        self._stage_order = stage_order
        self._through_memory: dict[str, dict[str, str]] = {}
        self._write = write
        self._current: dict[str, str] = {}  # datasets produced in this run
        self._runs: dict[str, tuple[str, dict[str, str]]] = {}  # node -> (fp, inputs)
        self._hashes: dict[tuple[str, int, int, int], str] = {}  # file stat -> content

    def _content(self, path: Path | None) -> str | None:
        """The content hash of the file ``path`` loads (hashed once per run)."""
        file = _loaded_file(path) if path is not None else None
        if file is None:
            return None
        stat = file.stat()
        key = (str(file), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if key not in self._hashes:
            self._hashes[key] = content_hash(file)
        return self._hashes[key]

    def _replaced(self, path: Path | None, stamp: Mapping[str, Any]) -> str | None:
        """The content hash of ``path`` when it is not what ``stamp`` recorded, else None
        (stamps of older versions record no content: trusted)."""
        recorded = stamp.get("content")
        if recorded is None:
            return None
        now = self._content(path)
        return now if now is not None and now != recorded else None

    def _path(self, name: str) -> Path | None:
        try:
            dataset = self._catalog.get(name)
        except Exception:  # noqa: BLE001 - an unknown or pattern dataset: no path
            return None
        return dataset_path(dataset) if dataset is not None else None

    def _stamped_path(self, name: str) -> Path | None:
        """Where ``name``'s stamp is written, ``None`` when it is not (read-only data)."""
        if not self._write:
            return None
        try:
            dataset = self._catalog.get(name)
        except Exception:  # noqa: BLE001
            return None
        if dataset is None or getattr(dataset, "_read_only", False):
            return None
        return dataset_path(dataset)

    def current(self, name: str, value: Any = None) -> str | None:
        """The fingerprint of dataset ``name`` now (``None``: unknown)."""
        if name.startswith("params:") or name == "parameters":
            return "param:" + _digest(value)
        if name in self._current:
            return self._current[name]
        path = self._path(name)
        if path is None:
            return None
        stamp = read_stamp(path)
        if stamp is not None and not stamp.get("pending"):
            replaced = self._replaced(path, stamp)
            return stamp.get("fingerprint") if replaced is None else f"content:{replaced}"
        content = self._content(path)
        return None if content is None else f"content:{content}"

    def _order(self, stage: str) -> int:
        order = self._stage_order
        return order.index(stage) if stage in order else len(order)

    def _stage(self, name: str, stamp: Mapping[str, Any] | None = None) -> str:
        stage = (stamp or {}).get("stage") or self._stage_of(name)
        return stage or "the stage that writes it"

    def _problems(self, names: list[str]) -> list[tuple[list[str], str]]:
        """Every inconsistency among the datasets ``names``: (stages to rerun, message)."""
        stamps, problems = self._readable_stamps(names)
        problems += self._mixed_runs(stamps)
        problems += self._stale(stamps)
        return problems

    def _readable_stamps(
        self, names: list[str]
    ) -> tuple[dict[str, dict[str, Any]], list[tuple[list[str], str]]]:
        """The complete stamps of ``names`` whose files hold what they record, and the
        problems of the others (interrupted saves, replaced files)."""
        problems: list[tuple[list[str], str]] = []
        stamps: dict[str, dict[str, Any]] = {}
        for name in names:
            if name in self._current:
                continue  # written by this run: consistent by construction
            path = self._path(name)
            stamp = read_stamp(path)
            if stamp is None:
                continue
            if stamp.get("pending"):
                problems.append(([self._stage(name, stamp)], (
                    f"{name} ({shown_path(path)}) was being written when an earlier run "
                    "stopped, so it may not match the files beside it")))
            elif self._replaced(path, stamp) is not None:
                problems.append(([self._stage(name, stamp)], (
                    f"{name} ({shown_path(path)}) is not the file its stamp describes: its "
                    "content changed after the run that wrote it (the file was replaced "
                    "or edited)")))
            else:
                stamps[name] = stamp
        return stamps, problems

    def _mixed_runs(self, stamps: Mapping[str, Mapping[str, Any]]) -> list[tuple[list[str], str]]:
        """Outputs of one node from different runs of it."""
        problems: list[tuple[list[str], str]] = []
        by_node: dict[str, list[str]] = {}
        for name, stamp in stamps.items():
            by_node.setdefault(stamp.get("node", ""), []).append(name)
        for producer, group in by_node.items():
            runs: dict[str, list[str]] = {}
            for n in sorted(group):
                runs.setdefault(stamps[n].get("fingerprint", ""), []).append(n)
            if len(runs) > 1:
                parts = sorted(runs.values(), key=len)
                problems.append(([self._stage(n, stamps[n]) for n in group], (
                    f"{', '.join(parts[0])} and {', '.join(parts[-1])} come from different "
                    f"runs of {producer} (a run stopped between two saves)")))
        return problems

    def _stale(self, stamps: Mapping[str, Mapping[str, Any]]) -> list[tuple[list[str], str]]:
        """Inputs made from an upstream dataset that has changed since, or from two runs."""
        problems: list[tuple[list[str], str]] = []
        recorded: dict[str, dict[str, str]] = {}  # upstream -> {input: fingerprint}
        for name, stamp in stamps.items():
            for upstream, print_ in stamp.get("inputs", {}).items():
                if not upstream.startswith("params:"):
                    recorded.setdefault(upstream, {})[name] = print_
        for upstream, seen in recorded.items():
            now = self.current(upstream)
            stale = sorted(n for n, p in seen.items() if now is not None and p != now)
            if stale:
                problems.append(([self._stage(n, stamps[n]) for n in stale], (
                    f"{', '.join(stale)} {'was' if len(stale) == 1 else 'were'} made from "
                    f"an older {upstream} than the one there now")))
            elif now is None and len(set(seen.values())) > 1:
                problems.append(([self._stage(n, stamps[n]) for n in seen], (
                    f"{', '.join(sorted(seen))} were made from different runs of {upstream}")))
        return problems

    def check(self, names: list[str]) -> None:
        """Refuse a mixed or interrupted set of datasets ``names``.

        The message names the first problem of the earliest stage and every stage to
        rerun, in chain order.

        Raises:
            StaleInputError: naming the inputs and the stages to rerun.
        """
        names = [n for n in names if not (n.startswith("params:") or n == "parameters")]
        problems = self._problems(names)
        if not problems:
            return
        problems.sort(key=lambda p: min(self._order(s) for s in p[0]))
        stages = sorted({s for p in problems for s in p[0]}, key=self._order)
        raise StaleInputError(
            f"{problems[0][1]}: rerun `kedro run --pipelines {','.join(stages)}`"
        )

    def check_inputs(self, node: Any, inputs: Mapping[str, Any]) -> None:
        """:meth:`check` the node's inputs, then remember the node's fingerprint.

        The fingerprints recorded for a node include, for an input held in memory
        (produced earlier in this run, e.g. normalised embeddings), the inputs of the node
        that made it, so lineage passes through intermediate datasets.
        """
        self.check(list(node.inputs))
        prints: dict[str, str] = {}
        for name in node.inputs:
            prints.update(self._through_memory.get(name, {}))
        for name in node.inputs:
            print_ = self.current(name, inputs.get(name))
            if print_ is not None:
                prints[name] = print_
        self._runs[node.name] = (_digest({"node": node.name, "inputs": prints}), prints)

    def before_save(self, name: str, node: Any) -> None:
        """Mark ``name``'s stamp pending: a kill during the save leaves that mark."""
        path = self._stamped_path(name)
        if path is not None:
            _write_stamp(path, {"pending": True, "node": node.name})

    def after_save(self, name: str, node: Any) -> None:
        """Record ``name`` as written by ``node``'s run (its stamp, its fingerprint)."""
        fingerprint, prints = self._runs.get(node.name, (_digest(node.name), {}))
        self._current[name] = fingerprint
        if self._path(name) is None:
            self._through_memory[name] = prints
        path = self._stamped_path(name)
        if path is not None:
            _write_stamp(path, {
                "fingerprint": fingerprint,
                "content": self._content(path),
                "node": node.name,
                "stage": node.namespace or self._stage_of(name),
                "inputs": prints,
            })
