"""Shutdown in the persistence subsystem: SHUTDOWN / SIGTERM preparation and the final save."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from pyredis.persistence.aof import AOF_OFF
from pyredis.persistence.jobs import CHILD_RDB

log = logging.getLogger("pyredis")


class Shutdown:
    """Mixin of :class:`~pyredis.persistence.manager.Persistence`: shutdown."""

    # -- shutdown ---------------------------------------------------------------------------------------
    def prepare_shutdown(self, srv: Any, flags: set[str]) -> str | None:
        """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: kill children, flush the AOF, save if asked."""
        force = "force" in flags
        log.warning("User requested shutdown...")
        if self.child is not None:
            if self.child.kind == CHILD_RDB:
                log.warning("There is a child saving an .rdb. Killing it!")
            else:
                log.warning("There is a child rewriting the AOF. Killing it!")
            self.kill_child()
        a = self.aof
        if a.state != AOF_OFF:
            log.info("Calling fsync() on the AOF file.")
            a.flush(force_fsync=True)
        save = "save" in flags or ("nosave" not in flags and bool(srv.config["save"]))
        if save:
            log.info("Saving the final RDB snapshot before exiting.")
            with _insist_exits(self.temp_path(os.getpid())):
                ok = self.save(count=False)
            if not ok and not force:
                log.warning("Error trying to save the DB, can't exit.")
                return "ERR Errors trying to SHUTDOWN. Check logs."
        self.shutdown_saved = True
        return None

    def on_shutdown_signal(self, srv: Any, sig: int) -> bool:
        """SIGTERM/SIGINT: prepare the shutdown as ``shutdown-on-sig*`` says; False keeps running."""
        mode = srv.config["shutdown-on-sigint" if sig == signal.SIGINT else "shutdown-on-sigterm"]
        flags = set() if mode == "default" else set(mode.split())
        err = self.prepare_shutdown(srv, flags)
        return err is None

    def on_shutdown(self, srv: Any) -> None:
        """Server stopping (SHUTDOWN already prepared, or a signal): final save and AOF close."""
        if not self.shutdown_saved:
            flags = getattr(srv, "shutdown_flags", None) or set()
            mode = srv.config["shutdown-on-sigterm"]
            if mode in ("save", "nosave"):
                flags = {mode}
            self.prepare_shutdown(srv, set(flags))
        self.aof.close(fsync=True)
        self._feed_off()
        self.stopped = True


class _insist_exits:
    """While the final save runs: a second SIGINT/SIGTERM removes the temp file and exits now."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.saved: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        log.warning("You insist... exiting now.")
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        os._exit(1)

    def __enter__(self) -> _insist_exits:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    self.saved[sig] = signal.signal(sig, self._handler)
                except (OSError, ValueError):
                    pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self.saved.items():
            try:
                signal.signal(sig, old)
            except (OSError, ValueError, TypeError):
                pass
