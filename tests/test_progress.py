"""Progress without a terminal: log lines, never a bar's carriage returns."""

import logging

from tqdm.auto import tqdm

from mmctr.progress import LoggedProgress, progress


def test_without_a_terminal_progress_is_logged_not_drawn(caplog, capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    shown = progress(range(4), "epoch 1/2", unit="batches", interval=0.0, leave=False)
    assert isinstance(shown, LoggedProgress)
    with caplog.at_level(logging.INFO, logger="mmctr.progress"):
        for step in shown:
            shown.set_postfix(loss=f"{step / 10:.4f}")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("epoch 1/2: 1/4 batches (25%), ") and lines[0].endswith("loss=0.0000")
    assert lines[-1].startswith("epoch 1/2: 4/4 batches (100%), ")
    assert "\r" not in capsys.readouterr().err


def test_on_a_terminal_it_is_a_tqdm_bar_and_off_it_is_silent(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert isinstance(progress(range(3), "scoring"), tqdm)
    assert progress(range(3), "scoring", enabled=False).disable


def test_each_count_is_logged_once(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    with caplog.at_level(logging.INFO, logger="mmctr.progress"):
        list(progress(range(3), "scoring", interval=0.0))
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "scoring: 1/3 it (33%)", "scoring: 2/3 it (67%)", "scoring: 3/3 it (100%)"]
