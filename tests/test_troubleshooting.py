"""Every message of the checks before a run and of numeric sanity is in the troubleshooting
page, and still in the code that raises it."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PHRASES = {
    "is not the file its stamp describes": "src/mmctr/lineage.py",
    "expected embedding values in": None,  # RawDataError: expected {what} {span}
    "the minimum to train and validate on": "src/mmctr/data/contract.py",
    "is not a finite number": "src/mmctr/engine/trainer.py",
    "a symbolic link that loops back to itself": "src/mmctr/datasets/atomic.py",
    "which does not exist": "src/mmctr/datasets/atomic.py",
    "Move the directory away and put the file there": "src/mmctr/datasets/atomic.py",
    "a file this user may not read (permission denied)": "src/mmctr/datasets/atomic.py",
    "no histories at all": "src/mmctr/data/features.py",
    "all-zero item embeddings": "src/mmctr/data/features.py",
    "constant item embeddings": "src/mmctr/data/features.py",
    "a single item": "src/mmctr/data/features.py",
}


@pytest.mark.parametrize("phrase", sorted(PHRASES))
def test_each_message_is_in_the_troubleshooting_page_and_the_code(phrase):
    page = (ROOT / "docs/TROUBLESHOOTING.md").read_text()
    assert "## Checks before a run and numeric sanity" in page
    assert phrase in page
    if PHRASES[phrase] is not None:
        assert phrase in (ROOT / PHRASES[phrase]).read_text()
