"""``ContextTimer``: measure elapsed wall time (milliseconds) in a ``with`` block."""

from __future__ import annotations

import time
from typing import Any


class ContextTimer:
    """``with ContextTimer() as t: ...; t.elapsed()`` → milliseconds (int).

    Also ``start()``/``stop()`` by hand; ``elapsed()`` while running gives the time so far.
    """

    def __init__(self) -> None:
        self._started: float | None = None
        self._stopped: float | None = None

    def start(self) -> None:
        if self._started is not None:
            raise RuntimeError("timer has already been started")
        self._started = time.perf_counter()

    def stop(self) -> None:
        if self._started is None:
            raise RuntimeError("timer hasn't yet been started")
        if self._stopped is not None:
            raise RuntimeError("timer has already been stopped")
        self._stopped = time.perf_counter()

    def elapsed(self) -> int:
        """Milliseconds between start and stop (or now, if still running)."""
        if self._started is None:
            raise RuntimeError("timer hasn't yet been started")
        end = self._stopped if self._stopped is not None else time.perf_counter()
        return int((end - self._started) * 1000)

    def __enter__(self) -> ContextTimer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
