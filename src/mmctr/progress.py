"""Progress of long loops: a tqdm bar on a terminal, periodic log lines elsewhere.

Without a terminal (a log file, CI, ``nohup``), a tqdm bar writes every redraw behind a
carriage return, so the whole bar becomes one very long line. There, :func:`progress`
draws no bar and logs one line every ``interval`` seconds instead (and one at the end
when the loop ran longer than that)::

    epoch 1/5: 120/532 batches (23%), 31.2s, loss=0.4812, samples_s=3,912
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm

__all__ = ["LoggedProgress", "progress"]

logger = logging.getLogger(__name__)

#: seconds between two log lines of a loop when there is no terminal
LOG_INTERVAL_S = 30.0


class LoggedProgress:
    """An iterable with tqdm's ``set_postfix`` that logs instead of drawing a bar."""

    def __init__(self, iterable: Iterable[Any], desc: str, total: int | None,
                 unit: str, interval: float) -> None:
        self._iterable, self.desc, self.unit, self.interval = iterable, desc, unit, interval
        self.total = total if total is not None else _length(iterable)
        self._postfix: dict[str, Any] = {}
        self.n = 0

    def set_postfix(self, **values: Any) -> None:
        self._postfix = values

    def close(self) -> None:
        """Nothing to close (tqdm's interface)."""

    def _line(self, start: float) -> str:
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = "".join(f", {k}={v}" for k, v in self._postfix.items())
        return f"{self.desc}: {done} {self.unit}{share}, {time.perf_counter() - start:.1f}s{extra}"

    def __iter__(self) -> Iterator[Any]:
        start = last = time.perf_counter()
        logged = 0  # the count of the last line logged
        for item in self._iterable:
            yield item
            self.n += 1
            if time.perf_counter() - last >= self.interval:
                last, logged = time.perf_counter(), self.n
                logger.info(self._line(start))
        if 0 < logged < self.n:  # it logged on the way: say where it ended
            logger.info(self._line(start))

    def __len__(self) -> int:
        return self.total or 0


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def progress(
    iterable: Iterable[Any],
    desc: str,
    *,
    total: int | None = None,
    enabled: bool = True,
    unit: str = "it",
    interval: float = LOG_INTERVAL_S,
    **bar_args: Any,
) -> Any:
    """``iterable`` with progress shown: a tqdm bar on a terminal (``bar_args`` go to
    tqdm), a log line every ``interval`` seconds without one, nothing when not
    ``enabled``."""
    if not enabled:
        return tqdm(iterable, total=total, desc=desc, disable=True)
    if sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, **bar_args)
    return LoggedProgress(iterable, desc, total, unit, interval)
