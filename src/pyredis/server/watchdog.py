"""The software watchdog (``watchdog-period``, Redis's debug.c): when the event loop has not come back
to its cron for longer than the period, the log gets Redis's ``--- WATCHDOG TIMER EXPIRED ---`` block
with the stack of the thread running the loop (a Python stack: the honest equivalent of Redis's C
backtrace), once per stall. Redis uses SIGALRM; a daemon thread watching the cron's heartbeat does
the same without interrupting system calls. Off (0) by default; a period shorter than two cron
ticks is raised to that, as Redis does."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import Any

log = logging.getLogger("pyredis")


class Watchdog:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.period = 0.0  # seconds; 0: off
        self._beat = time.monotonic()
        self._loop_thread: int | None = None
        self._fired = False
        self.held = False  # a replica's load of its master's RDB: the cron does not count as a beat
        self._thread: threading.Thread | None = None
        server.config.on_change("watchdog-period", self.configure)
        server.events.cron.append(self.beat)

    def configure(self, period_ms: int) -> None:
        """CONFIG SET watchdog-period (milliseconds; 0 stops it)."""
        if period_ms > 0:
            hz = max(int(self.server.config["hz"]), 1)
            period_ms = max(period_ms, 2 * (1000 // hz))
            self.server.config.values["watchdog-period"] = period_ms  # CONFIG GET shows it, as in Redis
        self.period = period_ms / 1000
        self.beat(self.server)
        if self.period and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="pyredis-watchdog", daemon=True)
            self._thread.start()

    def beat(self, server: Any) -> None:
        """Cron tick: the loop is alive (not while a replica loads its master's RDB: serverCron does not run
        inside rdbLoad, whose events come from processEventsWhileBlocked)."""
        if self.held:
            return
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._fired = False

    def _watch(self) -> None:
        while self.period:
            time.sleep(min(self.period / 4, 0.05))
            if not self._fired and self.period and time.monotonic() - self._beat > self.period:
                self._fired = True
                self._report()
        self._thread = None

    def _report(self) -> None:
        frame = sys._current_frames().get(self._loop_thread or 0)
        stack = "".join(traceback.format_stack(frame)) if frame is not None else "(no stack)\n"
        log.warning("\n--- WATCHDOG TIMER EXPIRED ---\n%s--------\n", stack)
