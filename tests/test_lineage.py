"""Stage fingerprints (src/mmctr/lineage.py) and the debris of killed runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmctr.errors import StaleInputError
from mmctr.lineage import stamp_path

from .conftest import run_kedro

FEATURES = Path("data/04_feature")
SRC = Path(__file__).resolve().parents[1] / "src"


def _stamp(path: Path) -> dict:
    return json.loads(stamp_path(path).read_text())


def _outputs(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes()
            for p in sorted((project / "data").rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_every_output_is_stamped_and_a_rerun_writes_the_same_fingerprints(prepared_project):
    stamp = _stamp(prepared_project / FEATURES / "train_features.npz")
    assert stamp["stage"] == "feature_engineering"
    assert stamp["node"] == "feature_engineering.build_features_node"
    assert {"raw_train", "raw_item_info", "params:feature_engineering"} <= set(stamp["inputs"])
    similarity = _stamp(prepared_project / "data/05_model_input/train_similarity.npz")
    # lineage passes through the in-memory normalised embeddings to the item table
    embedded = _stamp(prepared_project / FEATURES / "item_features_embedded.npz")
    assert similarity["inputs"]["item_features_embedded"] == embedded["fingerprint"]
    assert embedded["inputs"]["item_features"] == _stamp(
        prepared_project / FEATURES / "item_features.npz")["fingerprint"]
    run_kedro(prepared_project, pipelines=["feature_engineering"])
    assert _stamp(prepared_project / FEATURES / "train_features.npz") == stamp


@pytest.mark.slow
def test_a_mixed_set_of_features_is_refused_and_nothing_is_written(prepared_project):
    path = prepared_project / FEATURES / "test_features.npz"
    stamp = _stamp(path)
    stamp_path(path).write_text(json.dumps({**stamp, "fingerprint": "another-run"}))
    before = _outputs(prepared_project)
    with pytest.raises(StaleInputError, match=(
            r"test_features and train_features, valid_features, vocab come from "
            r"different runs of feature_engineering.build_features_node \(a run stopped "
            r"between two saves\): rerun `kedro run --pipelines feature_engineering")):
        run_kedro(prepared_project, pipelines=["semantic_similarity"])
    assert _outputs(prepared_project) == before


@pytest.mark.slow
def test_an_interrupted_save_is_refused_until_its_stage_reruns(prepared_project):
    path = prepared_project / FEATURES / "valid_features.npz"
    stamp_path(path).write_text(json.dumps({"pending": True,
                                            "node": "feature_engineering.build_features_node"}))
    with pytest.raises(StaleInputError, match=r"valid_features \(data/04_feature/valid_features"
                       r".npz\) was being written when an earlier run stopped"):
        run_kedro(prepared_project, pipelines=["semantic_similarity"])
    run_kedro(prepared_project, pipelines=["feature_engineering"])
    run_kedro(prepared_project, pipelines=["semantic_similarity"])  # consistent again


@pytest.mark.slow
def test_outputs_made_from_older_inputs_name_the_stage_to_rerun(prepared_project):
    run_kedro(prepared_project, pipelines=["feature_engineering"],
              params={"feature_engineering": {"max_len": 50}})
    with pytest.raises(StaleInputError, match=(
            r"made from an older \w+_features than the one there now: "
            r"rerun `kedro run --pipelines collaborative,item_embedding,semantic_similarity`")):
        run_kedro(prepared_project, pipelines=["training"])
    assert not (prepared_project / "data/06_models/model.pt").exists()


@pytest.mark.slow
def test_another_runs_file_swapped_in_with_its_stamp_kept_is_refused(prepared_project):
    features = prepared_project / FEATURES
    kept = {p.name: p.read_bytes() for p in features.iterdir() if p.is_file()}
    run_kedro(prepared_project, pipelines=["feature_engineering"],
              params={"feature_engineering": {"max_len": 50}})
    other_run = (features / "train_features.npz").read_bytes()
    for name, data in kept.items():  # this run's files and stamps back ...
        (features / name).write_bytes(data)
    run_kedro(prepared_project, pipelines=["semantic_similarity"])  # ... consistent again
    (features / "train_features.npz").write_bytes(other_run)  # one swapped, stamp kept
    with pytest.raises(StaleInputError, match=(
            r"train_features \(data/04_feature/train_features.npz\) is not the file its "
            r"stamp describes: its content changed after the run that wrote it \(the file "
            r"was replaced or edited\): rerun `kedro run --pipelines feature_engineering,collaborative,"
            r"item_embedding,semantic_similarity`")):
        run_kedro(prepared_project, pipelines=["training"])
    assert not (prepared_project / "data/06_models/model.pt").exists()


@pytest.mark.slow
def test_a_copied_project_keeps_its_fingerprints(prepared_project, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(prepared_project, copy, copy_function=shutil.copy)  # new mtimes
    monkeypatch.chdir(copy)
    run_kedro(copy, pipelines=["training"], params={"training": {"epochs": 1}})
    assert (copy / "data/06_models/model.pt").exists()


def test_content_hash_reads_what_a_file_holds_not_when_it_was_written(tmp_path):
    from mmctr.lineage import HASH_BLOCK, content_hash

    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * (HASH_BLOCK + 7))
    b.write_bytes(b"x" * (HASH_BLOCK + 7))
    os.utime(b, (1, 1))
    assert content_hash(a) == content_hash(b)
    b.write_bytes(b"x" * HASH_BLOCK + b"y" * 7)
    assert content_hash(a) != content_hash(b)


KILLED_RUN = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
import mmctr.datasets.arrays as arrays

write = arrays._NpzDataset._write
def slow_write(self, data, fh):  # the second feature file hangs half-written
    if "valid_features" in str(self._filepath):
        fh.write(b"PK half a file")
        fh.flush()
        time.sleep(600)
    write(self, data, fh)
arrays._NpzDataset._write = slow_write

from conftest import run_kedro
run_kedro(Path.cwd(), pipelines=["feature_engineering"], params={{"feature_engineering": {{"max_len": 50}}}})
"""


@pytest.mark.slow
def test_after_kill_9_the_next_run_removes_the_debris_and_refuses_the_mixed_set(prepared_project):
    env = {**os.environ, "PYTHONPATH": str(SRC), "KEDRO_DISABLE_TELEMETRY": "1"}
    script = KILLED_RUN.format(tests=str(Path(__file__).parent))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=prepared_project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = prepared_project / FEATURES
    deadline = time.monotonic() + 120
    while not list(folder.glob(".valid_features.npz.tmp-*")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never hung"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(folder.glob(".*.tmp-*"))  # the debris of the kill
    with pytest.raises(StaleInputError, match="rerun `kedro run --pipelines feature_engineering"):
        run_kedro(prepared_project, pipelines=["semantic_similarity"])
    assert not list((prepared_project / "data").rglob(".*.tmp-*"))  # removed by that run
    run_kedro(prepared_project, pipelines=["feature_engineering", "collaborative", "item_embedding",
                                           "semantic_similarity"])
    assert not list((prepared_project / "data").rglob(".*.tmp-*"))
