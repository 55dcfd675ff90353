"""Shutdown in the persistence subsystem: the SHUTDOWN / SIGTERM sequence and the final save.

As in redis-server 7.0: a signal only schedules the shutdown, the cron starts it; unless NOW is
given or ``shutdown-timeout`` is 0, a master with lagging replicas first pauses writes, asks for
ACKs and waits (up to ``shutdown-timeout`` seconds, INFO ``shutdown_in_milliseconds``) until every
replica acknowledged the whole stream; then children are killed, the AOF flushed, the final RDB
saved. A failing save (without FORCE) cancels the shutdown; SHUTDOWN ABORT cancels one in progress.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from pyredis.persistence.aof import AOF_OFF, AOF_WAIT_REWRITE
from pyredis.persistence.jobs import CHILD_RDB

log = logging.getLogger("pyredis")

SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."


class _ShutdownBlocked:
    """``c.blocked`` of a client whose SHUTDOWN waits for lagging replicas (BLOCKED_SHUTDOWN)."""

    timeout = 0.0


SHUTDOWN_BLOCKED = _ShutdownBlocked()


class Shutdown:
    """Mixin of :class:`~pyredis.persistence.manager.Persistence`: shutdown."""

    shutdown_asap = 0  # the signal that scheduled a shutdown (the cron starts it)
    shutdown_deadline = 0.0  # while waiting for lagging replicas (shutdown_mstime)
    shutdown_paused = False

    # -- the sequence -----------------------------------------------------------------------------------
    def shutdown_initiated(self) -> bool:
        return self.shutdown_deadline > 0

    def shutdown_signal(self, srv: Any, sig: int) -> None:
        """sigShutdownHandler: schedule; a second SIGINT while one is scheduled exits at once."""
        if self.shutdown_asap and sig == signal.SIGINT:
            log.warning("You insist... exiting now.")
            try:
                os.unlink(self.temp_path(os.getpid()))
            except OSError:
                pass
            os._exit(1)
        if self.loading:
            log.warning("Received shutdown signal during loading, scheduling shutdown.")
        else:
            log.warning("Received %s scheduling shutdown...", "SIGINT" if sig == signal.SIGINT else "SIGTERM")
        self.shutdown_asap = sig

    def shutdown_cron(self, srv: Any) -> None:
        """``events.cron``: start a signalled shutdown; finish one whose replicas caught up or timed out."""
        if self.shutdown_asap and not self.shutdown_initiated():
            sig = self.shutdown_asap
            mode = srv.config["shutdown-on-sigint" if sig == signal.SIGINT else "shutdown-on-sigterm"]
            flags = set() if mode == "default" else set(mode.split())
            self.begin_shutdown(srv, flags)
        elif self.shutdown_initiated():
            if time.time() >= self.shutdown_deadline or self._replicas_in_sync(srv):
                self._finish_shutdown(srv)

    def begin_shutdown(self, srv: Any, flags: set[str], c: Any = None) -> str | None:
        """prepareForShutdown: None when the server stops (or waits for replicas, *c* blocked until
        the end); an error reply when the shutdown failed and was cancelled."""
        if self.shutdown_initiated():
            if c is not None:
                self._block(c)
            return None
        if self.loading:
            flags = (flags - {"save"}) | {"nosave"}
        srv.shutdown_flags = flags
        log.warning("User requested shutdown...")
        timeout = srv.config["shutdown-timeout"]
        if "now" not in flags and timeout and not self._replicas_in_sync(srv):
            self.shutdown_deadline = time.time() + timeout
            self._pause_writes(srv)
            log.info("Waiting for replicas before shutting down.")
            if c is not None:
                self._block(c)
            return None
        return None if self._finish_shutdown(srv) else SHUTDOWN_FAILED

    def abort_shutdown(self, srv: Any) -> bool:
        """SHUTDOWN ABORT: False when no shutdown is scheduled or in progress."""
        if self.shutdown_initiated():
            self._cancel_shutdown(srv)
        elif self.shutdown_asap:
            self.shutdown_asap = 0
        else:
            return False
        log.info("Shutdown manually aborted.")
        return True

    def shutdown_remaining_ms(self) -> int | None:
        """INFO shutdown_in_milliseconds (None unless waiting for replicas)."""
        if not self.shutdown_initiated():
            return None
        return max(0, int((self.shutdown_deadline - time.time()) * 1000))

    def shutdown_blocked(self) -> int:
        """Clients blocked in SHUTDOWN (counted in INFO blocked_clients)."""
        return sum(1 for c in self.__dict__.get("shutdown_waiters", ()) if c.blocked is SHUTDOWN_BLOCKED)

    def _replicas_in_sync(self, srv: Any) -> bool:
        repl = srv.replication
        off = repl.offset
        return all(r.ack_off == off for r in repl.master.replicas)

    def _pause_writes(self, srv: Any) -> None:
        repl = srv.replication
        if not srv.paused_until:
            repl.master.feed_raw(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
            srv.paused_until = self.shutdown_deadline + 86400.0
            srv.pause_all = False
            self.shutdown_paused = True
            srv.hold_gate("pause", True)
            for hook in srv.events.paused:
                hook(srv)

    def _block(self, c: Any) -> None:
        c.blocked = SHUTDOWN_BLOCKED
        waiting = self.__dict__.setdefault("shutdown_waiters", [])
        waiting.append(c)

    def _cancel_shutdown(self, srv: Any) -> None:
        """cancelShutdown: clear the state, error the SHUTDOWN callers, resume writes."""
        self.shutdown_asap = 0
        self.shutdown_deadline = 0.0
        srv.shutdown_flags = set()
        for c in self.__dict__.pop("shutdown_waiters", []):
            if c.blocked is SHUTDOWN_BLOCKED and not getattr(c, "closed", False):
                c.blocked = None
                c.write_error(SHUTDOWN_FAILED)
                c.unblock()
        if self.shutdown_paused:
            self.shutdown_paused = False
            srv.paused_until = 0.0
            for hook in srv.events.unpaused:
                hook(srv)

    def _finish_shutdown(self, srv: Any) -> bool:
        """finishShutdown: report lagging replicas, then the final steps; stop the server if they worked."""
        repl = srv.replication
        off = repl.offset
        reps = list(repl.master.replicas)
        lagging = 0
        now = time.time()
        for r in reps:
            if r.ack_off != off:
                lagging += 1
                from pyredis.server.replication.master import ONLINE, STATE_NAMES

                lag = int(now - r.ack_time) if r.state == ONLINE else 0
                log.warning("Lagging replica %s reported offset %d behind master, lag=%d, state=%s.", r.name(),
                            off - r.ack_off, lag, STATE_NAMES[r.state])
        if reps:
            log.info("%d of %d replicas are in sync when shutting down.", len(reps) - lagging, len(reps))
        err = self.prepare_shutdown(srv, set(getattr(srv, "shutdown_flags", None) or ()), announce=False)
        if err is not None:
            log.warning("Errors trying to shut down the server. Check the logs for more information.")
            self._cancel_shutdown(srv)
            return False
        self.shutdown_deadline = 0.0
        srv.request_shutdown()
        return True

    # -- shutdown ---------------------------------------------------------------------------------------
    def prepare_shutdown(self, srv: Any, flags: set[str], announce: bool = True) -> str | None:
        """The final steps: kill children, flush the AOF, save if asked."""
        force = "force" in flags
        if announce:
            log.warning("User requested shutdown...")
        if self.child is not None:
            if self.child.kind == CHILD_RDB:
                log.warning("There is a child saving an .rdb. Killing it!")
            else:
                if self.aof.state == AOF_WAIT_REWRITE:  # the dataset is not in the AOF yet
                    if not force:
                        log.warning("Writing initial AOF, can't exit.")
                        return SHUTDOWN_FAILED
                    log.warning("Writing initial AOF. Exit anyway.")
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
            if not ok:
                if not force:
                    log.warning("Error trying to save the DB, can't exit.")
                    return SHUTDOWN_FAILED
                log.warning("Error trying to save the DB. Exit anyway.")
        self.shutdown_saved = True
        return None

    def on_shutdown_signal(self, srv: Any, sig: int) -> bool:
        """SIGTERM/SIGINT: schedule the shutdown (the cron runs it); False: keep running for now."""
        self.shutdown_signal(srv, sig)
        return False

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
