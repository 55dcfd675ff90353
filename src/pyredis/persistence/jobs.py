"""Background jobs of the persistence subsystem: forked children (or threads) and the child-info pipe."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

log = logging.getLogger("pyredis")

BGSAVE_RETRY_DELAY = 5
MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
               "Commands that may modify the data set are disabled, because this instance is configured to "
               "report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
               "Please check the Redis logs for details about the RDB error.")
MISCONF_RDB_SCRIPT = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
                      "disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.")
MISCONF_AOF_SCRIPT = ("MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to "
                      "disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: ")
CHILD_RDB, CHILD_AOF = "rdb", "aof"
_SIGUSR1 = getattr(signal, "SIGUSR1", 10)  # kills a child without marking the save failed


class JobFailed(Exception):
    """A background job failed and has logged why (the child exits with status 1, no traceback)."""


def fork_supported() -> bool:
    return hasattr(os, "fork") and os.environ.get("PYREDIS_NO_FORK") != "1"


class Job:
    """A background save: a forked child (``pid``) or, without fork, a thread over a snapshot."""

    def __init__(self, kind: str, start: float) -> None:
        self.kind = kind
        self.start = start
        self.pid = 0
        self.thread: threading.Thread | None = None
        self.ok = False
        self.tmpfile = ""
        self.tmp_pid = 0  # the pid naming the job's temporary file
        self.info_fd = -1  # read end of the child-info pipe
        self.info_buf = b""
        self.keys_total = 0
        self.keys_processed = 0
        self.cow = 0
        # each db's (keys, expires) when the job began: Redis's dicts do not grow while a child runs
        self.dict_used: list[tuple[int, int]] = []
        self.cow_peak = 0
        self.cow_at = 0.0
        self.result: tuple[bool, int] | None = None  # (exited normally with 0, signal)
        self.owner: Any = None  # a diskless transfer, which reaps its child itself (not persistence)

    def poll(self) -> tuple[bool, int] | None:
        """None while running; else (success, killing signal or 0)."""
        if self.result is not None:
            return self.result
        if self.thread is not None:
            if self.thread.is_alive():
                return None
            self.result = (self.ok, 0)
            return self.result
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.result = (False, 0)
            return self.result
        if pid == 0:
            return None
        if os.WIFSIGNALED(status):
            self.result = (False, os.WTERMSIG(status))
        else:
            self.result = (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, 0)
        return self.result

    def read_info(self) -> None:
        """Take the child's latest progress report ("keys cow" lines) from the pipe."""
        if self.info_fd < 0:
            return
        while True:
            try:
                chunk = os.read(self.info_fd, 4096)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                self.close_info()
                break
            self.info_buf += chunk
        *lines, self.info_buf = self.info_buf.split(b"\n")
        for line in lines:
            parts = line.split()
            if len(parts) == 2:
                self.keys_processed, self.cow = int(parts[0]), int(parts[1])
                self.cow_peak = max(self.cow_peak, self.cow)
                self.cow_at = time.time()

    def close_info(self) -> None:
        if self.info_fd >= 0:
            try:
                os.close(self.info_fd)
            except OSError:
                pass
            self.info_fd = -1

    def kill(self) -> None:
        if self.result is not None:  # already reaped (its pid may be another process's by now): cancelled
            self.result = (False, _SIGUSR1)
            return
        if self.pid:
            try:
                os.kill(self.pid, _SIGUSR1)
            except OSError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.result = (False, _SIGUSR1)
        elif self.thread is not None:
            self.thread.join()
            self.result = (False, _SIGUSR1)


class _ChildInfo:
    """In a forked child: report progress and copy-on-write size to the parent (at most once a second)."""

    def __init__(self, fd: int, what: str) -> None:
        self.fd = fd
        self.what = what
        self.last = 0.0
        self.done = 0
        self.peak = 0
        self.samples: list[int] = []

    def report(self, done: int, force: bool = False) -> None:
        self.done = done
        now = time.time()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        cow = private_dirty()
        self.peak = max(self.peak, cow)
        self.samples.append(cow)
        try:
            os.write(self.fd, b"%d %d\n" % (done, cow))
        except OSError:
            pass

    def finish(self) -> None:
        self.report(self.done, force=True)
        cur = self.samples[-1] if self.samples else 0
        avg = sum(self.samples) // len(self.samples) if self.samples else 0
        mb = 1024 * 1024
        log.info("Fork CoW for %s: current %d MB, peak %d MB, average %d MB", self.what, cur // mb, self.peak // mb,
                 avg // mb)


def private_dirty() -> int:
    """Bytes of this process's memory written since fork (Linux ``Private_Dirty``), else 0."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
