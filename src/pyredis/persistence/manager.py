"""Persistence state of a server: SAVE/BGSAVE, save points, the AOF, loading, shutdown, INFO.

This is ``server.persistence``. The events it listens to (wired in ``Server.__init__``):
``events.cron`` (child process monitoring, save points, scheduled BGSAVE/rewrite, AOF flush/fsync,
automatic AOF rewrite), ``events.ready`` (load the dataset at start-up), ``events.shutdown`` and
``events.shutdown_signal`` (final save). While active it also feeds ``server.propagators`` (the AOF,
while open) and ``events.checks`` (LOADING during start-up loading; MISCONF while a save or an AOF
write failed). It uses ``server.scripting`` (function libraries in RDB files) and
``server.eviction`` (used memory, LFU counters).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from pyredis.persistence import aof as aofmod
from pyredis.persistence.aof import AOF, AOF_OFF, AOF_ON, AOF_WAIT_REWRITE, AOFError
from pyredis.persistence.rdb import RDBError, iter_load_rdb, load_rdb_bytes, save_rdb_file
from pyredis.persistence.rewrite import write_base_file

log = logging.getLogger("pyredis")

BGSAVE_RETRY_DELAY = 5
MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
               "Commands that may modify the data set are disabled, because this instance is configured to "
               "report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
               "Please check the Redis logs for details about the RDB error.")
CHILD_RDB, CHILD_AOF = "rdb", "aof"
_SIGUSR1 = getattr(signal, "SIGUSR1", 10)  # kills a child without marking the save failed


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
        self.cow_peak = 0
        self.cow_at = 0.0
        self.result: tuple[bool, int] | None = None  # (exited normally with 0, signal)

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


class Persistence:
    """RDB and AOF persistence for one :class:`~pyredis.server.app.Server`."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.aof = AOF(server)
        self.child: Job | None = None
        self.bgsave_scheduled = False
        self.lastbgsave_ok = True
        self.lastbgsave_try = 0.0
        self.last_bgsave_time = -1
        self.rdb_saves = 0
        self.dirty_before_bgsave = 0
        self.keys_loaded = 0
        self.keys_expired = 0
        self.loading = False
        self.loading_start = 0
        self.loading_total = 0
        self.loading_start_f = 0.0
        self.loaded = 0
        self.stopped = False
        self.shutdown_saved = False
        self.check_installed = False
        self._limit_delay = 0
        self._limit_until = 0.0
        self._child_info: _ChildInfo | None = None
        self.skip_checksum = False  # DEBUG SET-SKIP-CHECKSUM-VALIDATION
        self.rdb_last_cow = 0
        self.aof_last_cow = 0
        self.last_aux: dict[bytes, bytes] = {}  # aux fields of the last RDB loaded (replication ids)
        self.rdb_done_hooks: list[Callable[[bool], None]] = []  # a BGSAVE ended (replication sends it)

    # -- installation -------------------------------------------------------------------------------
    def install(self) -> None:
        """Hook into the keyspace (expired keys are propagated) and the configuration."""
        srv = self.server
        ks = srv.keyspace
        if getattr(ks.propagate_del, "__name__", "") == "<lambda>":
            ks.propagate_del = self._propagate_expired
        srv.config.on_change("appendonly", self._on_appendonly)
        srv.config.on_change("aof-disable-auto-gc", self._on_auto_gc)

    def _propagate_expired(self, db: Any, key: bytes) -> None:
        """An expired key is deleted in the AOF / replicas too (DEL, or UNLINK with lazyfree-lazy-expire)."""
        srv = self.server
        if srv.propagators:
            argv = [b"UNLINK" if srv.config["lazyfree-lazy-expire"] else b"DEL", key]
            for fn in srv.propagators:
                fn(db.id, argv)

    # -- paths ----------------------------------------------------------------------------------------
    def rdb_path(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg["dir"], cfg["dbfilename"])

    def temp_path(self, pid: int) -> str:
        return os.path.join(self.server.config["dir"], "temp-%d.rdb" % pid)

    # -- functions --------------------------------------------------------------------------------------
    def _functions(self) -> list[bytes]:
        return self.server.scripting.function_codes()

    # -- foreground save ------------------------------------------------------------------------------
    def save(self, count: bool = True) -> bool:
        """SAVE: write the RDB in the foreground. False (logged) on failure."""
        srv = self.server
        path = self.rdb_path()
        tmp = self.temp_path(os.getpid())
        try:
            save_rdb_file(srv, path, tmp_path=tmp)
        except OSError as e:
            if not os.path.isdir(os.path.dirname(tmp)) or e.filename == tmp:
                log.warning("Failed opening the temp RDB file temp-%d.rdb (in server root dir %s) for saving: %s",
                            os.getpid(), srv.config["dir"], e.strerror)
            else:
                log.warning("Write error saving DB on disk: %s", e.strerror)
            return False
        log.info("DB saved on disk")
        srv.dirty = 0
        srv.lastsave = int(time.time())
        self.lastbgsave_ok = True
        if count:
            self.rdb_saves += 1
        self._update_misconf()
        return True

    # -- background jobs --------------------------------------------------------------------------------
    def has_child(self) -> bool:
        return self.child is not None

    def _snapshot(self) -> list:
        """A consistent copy of the keyspace (for the no-fork path)."""
        from pyredis.engine.types import copy_value

        out = []
        for db in self.server.keyspace.dbs:
            data = {k: (v if type(v) is bytes else copy_value(v)) for k, v in db.data.items()}
            out.append((db.id, data, dict(db.expires)))
        return out

    def _start_job(self, kind: str, work: Callable[[list | None, list[bytes], int], None]) -> Job | None:
        """Run ``work(dbs, functions, pid)`` in a forked child or, without fork, a thread."""
        job = Job(kind, time.time())
        functions = self._functions()
        if fork_supported():
            for h in log.handlers:
                try:
                    h.flush()
                except Exception:  # noqa: BLE001
                    pass
            job.keys_total = sum(len(db.data) for db in self.server.keyspace.dbs)
            rfd, wfd = os.pipe()
            t0 = time.perf_counter()
            try:
                pid = os.fork()
            except OSError as e:
                os.close(rfd)
                os.close(wfd)
                log.warning("Can't save in background: fork: %s", e.strerror)
                return None
            if pid == 0:
                code = 1
                try:
                    os.close(rfd)
                    self._child_setup()
                    self._child_info = _ChildInfo(wfd, "RDB" if kind == CHILD_RDB else "AOF rewrite")
                    work(None, functions, os.getpid())
                    self._child_info.finish()
                    code = 0
                except BaseException:  # noqa: BLE001 - the child must always exit
                    log.exception("background save failed")
                finally:
                    os._exit(code)
            os.close(wfd)
            os.set_blocking(rfd, False)
            job.info_fd = rfd
            job.pid = job.tmp_pid = pid
            stats = self.server.stats
            stats.latest_fork_usec = int((time.perf_counter() - t0) * 1e6)
            stats.total_forks += 1
        else:
            dbs = self._snapshot()
            pid = os.getpid()

            def run() -> None:
                try:
                    work(dbs, functions, pid)
                    job.ok = True
                except Exception:  # noqa: BLE001
                    log.exception("background save failed")

            job.pid = 0
            job.thread = threading.Thread(target=run, name=f"bg-{kind}", daemon=True)
            job.tmp_pid = pid
            job.thread.start()
        self.child = job
        return job

    def _progress(self, done: int) -> None:
        info = self._child_info
        if info is not None:
            info.report(done)

    def _child_setup(self) -> None:
        gc.disable()
        for sig in (signal.SIGTERM, signal.SIGINT, _SIGUSR1):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass
        for srv in self.server.listeners:
            for s in srv.sockets or ():
                try:
                    os.close(s.fileno())
                except OSError:
                    pass
        if self.aof.fd >= 0:
            try:
                os.close(self.aof.fd)
            except OSError:
                pass
            self.aof.fd = -1

    def bgsave(self) -> bool:
        """Start a background RDB save; False when it could not start."""
        srv = self.server
        if self.child is not None:
            return False
        self.dirty_before_bgsave = srv.dirty
        self.lastbgsave_try = time.time()
        path = self.rdb_path()
        tmp_for = self.temp_path

        def work(dbs: list | None, functions: list[bytes], pid: int) -> None:
            save_rdb_file(srv, path, tmp_path=tmp_for(pid), dbs=dbs, functions=functions, progress=self._progress)
            log.info("DB saved on disk")

        job = self._start_job(CHILD_RDB, work)
        if job is None:
            self.lastbgsave_ok = False
            self._update_misconf()
            return False
        log.info("Background saving started by pid %d", job.pid or os.getpid())
        self.bgsave_scheduled = False
        return True

    def _rdb_done(self, ok: bool, sig: int) -> None:
        srv = self.server
        job = self.child
        assert job is not None
        if ok:
            log.info("Background saving terminated with success")
            srv.dirty = max(srv.dirty - self.dirty_before_bgsave, 0)
            srv.lastsave = int(time.time())
            self.lastbgsave_ok = True
            self.rdb_saves += 1
        elif not sig:
            log.warning("Background saving error")
            self.lastbgsave_ok = False
        else:
            log.warning("Background saving terminated by signal %d", sig)
            self._remove(self.temp_path(job.tmp_pid))
            if sig != _SIGUSR1:
                self.lastbgsave_ok = False
        self.last_bgsave_time = int(time.time() - job.start)
        self._update_misconf()
        for hook in self.rdb_done_hooks:
            hook(ok)

    @staticmethod
    def _remove(path: str) -> None:
        try:
            os.unlink(path)
        except OSError:
            pass

    def kill_child(self) -> None:
        job = self.child
        if job is None:
            return
        job.kill()
        job.close_info()
        if job.kind == CHILD_RDB:
            self._remove(self.temp_path(job.tmp_pid))
            log.warning("Background saving terminated by signal %d", _SIGUSR1)
            self.child = None
            for hook in self.rdb_done_hooks:
                hook(False)
        else:
            self._remove(os.path.join(self.server.config["dir"], "temp-rewriteaof-bg-%d.aof" % job.tmp_pid))
            log.warning("Background AOF rewrite terminated by signal %d", _SIGUSR1)
            self.aof.last_rewrite_time = int(time.time() - job.start)
        self.child = None

    def poll_child(self) -> None:
        job = self.child
        if job is None:
            return
        job.read_info()
        res = job.poll()
        if res is None:
            return
        job.read_info()
        job.close_info()
        ok, sig = res
        if ok:
            if job.kind == CHILD_RDB:
                self.rdb_last_cow = job.cow
            else:
                self.aof_last_cow = job.cow
        try:
            if job.kind == CHILD_RDB:
                self._rdb_done(ok, sig)
            else:
                self._aof_done(ok, sig)
        finally:
            self.child = None

    # -- AOF rewrite --------------------------------------------------------------------------------------
    def start_rewrite(self) -> bool:
        """BGREWRITEAOF: open a new incr file, then write a new base in the background."""
        srv = self.server
        a = self.aof
        if self.child is not None:
            return False
        try:
            os.makedirs(a.dirpath, exist_ok=True)
        except OSError as e:
            log.warning("Can't open or create append-only dir %s: %s", srv.config["appenddirname"], e.strerror)
            a.last_rewrite_ok = False
            return False
        if a.manifest is None:
            try:
                a.load_manifest()
            except AOFError:
                a.manifest = None
        a.selected_db = -1
        if a.state != AOF_OFF:
            try:
                a.switch_to_new_incr()
                self._feed_on()
            except OSError as e:
                log.warning("Can't open new incr AOF: %s", e.strerror)
                a.last_rewrite_ok = False
                return False
        a.rewrites += 1
        preamble = srv.config["aof-use-rdb-preamble"]
        directory = srv.config["dir"]

        def work(dbs: list | None, functions: list[bytes], pid: int) -> None:
            name = "temp-rewriteaof-bg-%d.aof" % pid
            write_base_file(srv, os.path.join(directory, name), preamble, dbs=dbs, functions=functions,
                            progress=self._progress)
            log.info("Successfully created the temporary AOF base file %s", name)

        job = self._start_job(CHILD_AOF, work)
        if job is None:
            a.last_rewrite_ok = False
            log.warning("Can't rewrite append only file in background: fork failed")
            return False
        log.info("Background append only file rewriting started by pid %d", job.pid or os.getpid())
        a.rewrite_scheduled = False
        a.rewrite_start = time.time()
        return True

    def _aof_done(self, ok: bool, sig: int) -> None:
        srv = self.server
        a = self.aof
        job = self.child
        assert job is not None
        tmpname = "temp-rewriteaof-bg-%d.aof" % job.tmp_pid
        tmpfile = os.path.join(srv.config["dir"], tmpname)
        if ok:
            log.info("Background AOF rewrite terminated with success")
            m = a.manifest.copy() if a.manifest is not None else aofmod.Manifest()
            base = a.new_base_name(m, srv.config["aof-use-rdb-preamble"])
            try:
                os.replace(tmpfile, a.path(base))
                log.info("Successfully renamed the temporary AOF base file %s into %s", tmpname, base)
                if a.state == AOF_WAIT_REWRITE and a.temp_incr:
                    incr = a.new_incr_name(m)
                    os.replace(a.path(a.temp_incr), a.path(incr))
                    a.temp_incr = None
                keep_last = a.fd >= 0
                incrs = m.incr[:-1] if keep_last and m.incr else list(m.incr)
                for info in incrs:
                    info.type = aofmod.HIST
                    m.history.insert(0, info)
                    m.incr.remove(info)
                a.persist_manifest(m)
            except OSError as e:
                log.warning("Error trying to rename the temporary AOF file %s into %s: %s", tmpname, base, e.strerror)
                a.last_rewrite_ok = False
                a.rewrite_failures += 1
                self._remove(tmpfile)
                self._after_rewrite(job)
                return
            a.manifest = m
            a.base_size = _size(a.path(base))
            if a.fd >= 0:
                a.current_size = a.base_size + a.last_incr_size
                a.rewrite_base_size = a.current_size
            a.delete_history(m)
            a.last_rewrite_ok = True
            a.rewrite_failures = 0
            log.info("Background AOF rewrite finished successfully")
            if a.state == AOF_WAIT_REWRITE:
                a.state = AOF_ON
        elif not sig:
            a.last_rewrite_ok = False
            a.rewrite_failures += 1
            log.warning("Background AOF rewrite terminated with error")
        else:
            if sig != _SIGUSR1:
                a.last_rewrite_ok = False
                a.rewrite_failures += 1
            log.warning("Background AOF rewrite terminated by signal %d", sig)
        self._remove(tmpfile)
        self._after_rewrite(job)

    def _after_rewrite(self, job: Job) -> None:
        a = self.aof
        if a.state == AOF_WAIT_REWRITE:
            a.buf = []
            if a.temp_incr:
                if a.fd >= 0:
                    os.close(a.fd)
                    a.fd = -1
                    self._feed_off()
                log.info("Removing the temp incr aof file %s in the background", a.temp_incr)
                self._remove(a.path(a.temp_incr))
                a.temp_incr = None
            a.rewrite_scheduled = True
        a.last_rewrite_time = int(time.time() - job.start)

    def rewrite_limited(self) -> bool:
        """After 3 consecutive rewrite failures, automatic/scheduled rewrites back off (1, 2, 4... 60 min)."""
        a = self.aof
        if a.rewrite_failures < 3:
            self._limit_delay = 0
            self._limit_until = 0.0
            return False
        if self._limit_until:
            if time.time() < self._limit_until:
                return True
            self._limit_until = 0.0
            return False
        self._limit_delay = min(self._limit_delay * 2 if self._limit_delay else 1, 60)
        self._limit_until = time.time() + self._limit_delay * 60
        log.warning("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d "
                    "minutes", self._limit_delay)
        return True

    # -- AOF on/off ---------------------------------------------------------------------------------------
    def _feed_on(self) -> None:
        props = self.server.propagators
        if self.aof.feed not in props:
            props.append(self.aof.feed)
        self.aof.attach()

    def _feed_off(self) -> None:
        props = self.server.propagators
        if self.aof.feed in props:
            props.remove(self.aof.feed)
        self.aof.detach()

    def _on_appendonly(self, value: bool) -> None:
        a = self.aof
        if value and a.state == AOF_OFF:
            self.start_aof()
        elif not value and a.state != AOF_OFF:
            self.stop_aof()

    def _on_auto_gc(self, disabled: bool) -> None:
        m = self.aof.manifest
        if not disabled and m is not None and m.history:
            self.server.config.values["aof-disable-auto-gc"] = False
            self.aof.delete_history(m)

    def start_aof(self) -> bool:
        a = self.aof
        a.state = AOF_WAIT_REWRITE
        caller = getattr(self.server, "current_client", None)
        if caller is not None and getattr(caller, "in_exec", False):
            a.rewrite_scheduled = True
            log.warning("AOF was enabled during a transaction. An AOF background was scheduled to happen as soon as "
                        "possible.")
        elif self.child is not None and self.child.kind != CHILD_AOF:
            a.rewrite_scheduled = True
            log.warning("AOF was enabled but there is already another background operation. An AOF background was "
                        "scheduled to happen as soon as possible.")
        else:
            if self.child is not None:
                log.warning("AOF was enabled but there is already an AOF rewriting in background. Stopping "
                            "background AOF and starting a rewrite now.")
                self.kill_child()
            if not self.start_rewrite():
                a.state = AOF_OFF
                log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. "
                            "Check the above logs for more info about the error.")
                return False
        a.last_fsync = time.time()
        return True

    def stop_aof(self) -> None:
        a = self.aof
        a.close(fsync=True)
        self._feed_off()
        a.selected_db = -1
        a.state = AOF_OFF
        a.rewrite_scheduled = False
        if self.child is not None and self.child.kind == CHILD_AOF:
            self.kill_child()
            if a.temp_incr:
                self._remove(a.path(a.temp_incr))
                a.temp_incr = None
        a.buf = []

    # -- cron -------------------------------------------------------------------------------------------
    def cron(self, server: Any) -> None:
        if self.loading:
            return
        a = self.aof
        if a.fd >= 0:
            a.cron()
        if self.child is not None:
            self.poll_child()
            if self.child is not None:
                return
        now = time.time()
        cfg = server.config
        if self.bgsave_scheduled and (now - self.lastbgsave_try > BGSAVE_RETRY_DELAY or self.lastbgsave_ok):
            if self.bgsave():
                return
        if a.rewrite_scheduled and not self.rewrite_limited():
            if self.start_rewrite():
                return
        for seconds, changes in cfg["save"]:
            if server.dirty >= changes and now - server.lastsave > seconds and (
                    now - self.lastbgsave_try > BGSAVE_RETRY_DELAY or self.lastbgsave_ok):
                log.info("%d changes in %d seconds. Saving...", changes, seconds)
                self.bgsave()
                return
        perc = cfg["auto-aof-rewrite-percentage"]
        if a.state == AOF_ON and perc and a.current_size > cfg["auto-aof-rewrite-min-size"]:
            base = a.rewrite_base_size or 1
            growth = (a.current_size * 100 // base) - 100
            if growth >= perc and not self.rewrite_limited():
                log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
                self.start_rewrite()

    def after_flushall(self, c: Any, argv: list[bytes]) -> None:
        """FLUSHALL kills a running BGSAVE and saves at once when save points are configured."""
        if self.child is not None and self.child.kind == "rdb":
            self.kill_child()
        if self.server.config["save"]:
            self.save(count=False)
            if c.repl is None:
                c.repl = [list(argv)]

    # -- MISCONF ----------------------------------------------------------------------------------------
    def misconf(self) -> str | None:
        srv = self.server
        if srv.keyspace.is_replica:
            return None
        cfg = srv.config
        if cfg["stop-writes-on-bgsave-error"] and cfg["save"] and not self.lastbgsave_ok:
            return MISCONF_RDB
        if self.aof.state != AOF_OFF and not self.aof.last_write_ok:
            return "MISCONF Errors writing to the AOF file: " + self.aof.last_write_error
        return None

    def _update_misconf(self) -> None:
        srv = self.server
        bad = not self.lastbgsave_ok or not self.aof.last_write_ok
        checks = srv.events.checks
        if bad and not self.check_installed:
            checks.append(self.check_write)
            self.check_installed = True
        elif not bad and self.check_installed:
            if self.check_write in checks:
                checks.remove(self.check_write)
            self.check_installed = False
        srv.hold_gate("persistence-errors", bad)

    def check_write(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        """Refuse writes (and PING) while persistence is failing, like Redis's MISCONF."""
        if not (cmd.write or cmd.name == "ping" or cmd.name == "exec"):
            return True
        if cmd.name == "exec" and not any(q[0].write for q in (c.multi or ())):
            return True
        msg = self.misconf()
        if msg is None:
            return True
        self.server.reject(c, cmd, msg)
        return False

    # -- loading ----------------------------------------------------------------------------------------
    def iter_load_rdb_data(self, data: bytes, pos: int = 0, *, aof_preamble: bool = False, every: int = 0):
        """Generator loading an RDB image (whole file or AOF preamble); returns the offset after it."""
        srv = self.server
        res = yield from iter_load_rdb(srv, data, pos=pos, skip_expired=not aof_preamble, every=every,
                                       stats=self, check_crc=not self.skip_checksum)
        aux = self.last_aux = res.aux
        if b"redis-ver" in aux:
            log.info("Loading RDB produced by version %s", aux[b"redis-ver"].decode("utf-8", "replace"))
        if b"ctime" in aux:
            try:
                age = int(time.time()) - int(aux[b"ctime"])
                log.info("RDB age %d seconds", max(age, 0))
            except ValueError:
                pass
        if b"used-mem" in aux:
            try:
                log.info("RDB memory usage when created %.2f Mb", int(aux[b"used-mem"]) / (1024 * 1024))
            except ValueError:
                pass
        if aux.get(b"aof-base") == b"1":
            log.info("RDB is base AOF")
        if res.empty_keys_skipped:
            log.warning("Done loading RDB, keys loaded: %d, keys expired: %d, empty keys skipped: %d.",
                        res.keys_loaded, res.keys_expired, res.empty_keys_skipped)
        else:
            log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", res.keys_loaded, res.keys_expired)
        self.keys_loaded = res.keys_loaded
        self.keys_expired = res.keys_expired
        return res.end

    def load_rdb_data(self, data: bytes, pos: int = 0, *, aof_preamble: bool = False) -> int:
        """Load an RDB image in the foreground; returns the offset after it."""
        self._begin_loading(len(data))
        try:
            return _drain(self.iter_load_rdb_data(data, pos, aof_preamble=aof_preamble))
        finally:
            self._end_loading()

    def _begin_loading(self, total: int) -> None:
        self.server.keyspace.loading = True
        self.loading = True
        self.loading_start = int(time.time())
        self.loading_start_f = time.time()
        self.loading_total = total
        self.loaded = 0

    def _end_loading(self) -> None:
        self.server.keyspace.loading = False
        self.loading = False
        self.aof.loading = False

    def _aof_executor(self) -> Callable[[list[bytes]], None]:
        from pyredis.commands.errors import CommandError
        from pyredis.commands.registry import TABLE
        from pyredis.server.client import REPLY_OFF, Client

        srv = self.server
        fake = Client(srv, 0)
        fake.authenticated = True
        fake.reply_mode = REPLY_OFF
        a = self.aof

        def execute(argv: list[bytes]) -> None:
            cmd = TABLE.get(argv[0]) or TABLE.get(argv[0].lower())
            if cmd is None:
                raise AOFError("Unknown command '%s' reading the append only file %s"
                               % (argv[0].decode("utf-8", "replace"), a.loading_name))
            if cmd.subcommands is not None and len(argv) > 1:
                sub = cmd.subcommands.get(argv[1].lower())
                if sub is not None:
                    cmd = sub
            if cmd.handler is None:
                return
            fake.cmd = cmd
            try:
                cmd.handler(fake, argv)
            except CommandError:
                pass
            fake.repl = None
            fake.out.clear()

        return execute

    def iter_load_aof(self, every: int = 0):
        """Generator loading the AOF (manifest already read); returns 'ok', 'empty' or 'missing'."""
        a = self.aof
        a.loading = True
        self.server.keyspace.loading = True

        def load_rdb(data: bytes, pos: int, name: str):
            return self.iter_load_rdb_data(data, pos, aof_preamble=True, every=every)

        try:
            return (yield from a.iter_load(self._aof_executor(), load_rdb, every))
        finally:
            a.loading = False

    def load_aof(self) -> str:
        """Load the AOF in the foreground (DEBUG LOADAOF)."""
        self._begin_loading(self.aof.total_size())
        try:
            return _drain(self.iter_load_aof())
        finally:
            self._end_loading()

    # -- start-up ---------------------------------------------------------------------------------------
    def _startup_steps(self, every: int):
        """Generator doing the start-up load (AOF when enabled, else the RDB)."""
        a = self.aof
        t0 = time.time()
        if a.state == AOF_ON:
            a.load_manifest()
            self._begin_loading(a.total_size())
            yield from self.iter_load_aof(every)
            a.open_incr_at_start()
            self._feed_on()
        else:
            try:
                with open(self.rdb_path(), "rb") as fh:
                    data = fh.read()
            except FileNotFoundError:
                return
            self._begin_loading(len(data))
            yield from self.iter_load_rdb_data(data, every=every)
            log.info("DB loaded from disk: %.3f seconds", time.time() - t0)

    def _report_load_error(self, e: BaseException) -> None:
        if isinstance(e, AOFError):
            where = getattr(e, "line", None)
            if where is not None:
                log.warning("\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
                log.warning("Reading the manifest file, at line %d\n", where[0])
                log.warning(">>> '%s'\n", where[1])
            log.warning("%s", e)
        elif isinstance(e, RDBError):
            msg = str(e)
            offset = getattr(e, "offset", 0)
            if msg.startswith("Unexpected EOF"):
                log.warning("Short read or OOM loading DB. Unrecoverable error, aborting now.")
            if getattr(e, "crc", False):
                log.warning("%s", msg)
                msg = "RDB CRC error"
            log.warning("Internal error in RDB reading offset %d, function at rdb.c:0 -> %s", offset, msg)
            # what redis-check-rdb reports on the file, as redis-server logs it before exiting
            log.warning("--- RDB ERROR DETECTED ---")
            log.warning("[offset %d] %s", offset, msg)
            log.warning("Terminating server after rdb file reading failure.")
        elif isinstance(e, OSError):
            log.warning("Fatal error loading the DB: %s. Exiting.", e.strerror)
        else:
            log.error("Fatal error loading the DB: %s. Exiting.", e, exc_info=e)

    def load_at_startup(self, server: Any) -> bool:
        """Load the dataset in the foreground. False (logged): refuse to start."""
        try:
            _drain(self._startup_steps(0))
        except Exception as e:  # noqa: BLE001 - never start silently empty on a file we can't read
            self._report_load_error(e)
            return False
        finally:
            self._end_loading()
        self.server.dirty = 0
        return True

    def on_ready(self, server: Any) -> Any:
        """CLI start-up hook (after binding, before "Ready to accept connections"): a coroutine loading
        the dataset while clients get -LOADING; SystemExit(1) when the files cannot be loaded."""
        return self._load_serving()

    async def _load_serving(self) -> None:
        srv = self.server
        every = max(int(srv.config.values.get("loading-process-events-interval-bytes", 2 << 20)), 1024)
        checks = srv.events.checks
        checks.insert(0, self._check_loading)
        srv.hold_gate("loading")
        ok = True
        try:
            for _ in self._startup_steps(every):
                await asyncio.sleep(0)
        except Exception as e:  # noqa: BLE001
            self._report_load_error(e)
            ok = False
        finally:
            self._end_loading()
            if self._check_loading in checks:
                checks.remove(self._check_loading)
            srv.hold_gate("loading", False)
        if not ok:
            raise SystemExit(1)
        srv.dirty = 0

    def _check_loading(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        if self.loading and not cmd.loading:
            self.server.reject(c, cmd, "LOADING Redis is loading the dataset in memory")
            return False
        return True

    def reload_rdb(self, save: bool = True, flush: bool = True, merge: bool = False) -> str | None:
        """DEBUG RELOAD; returns an error message or None."""
        if save and not self.save(count=False):
            return "ERR"
        if flush:
            self._empty_data(with_functions=True)
        path = self.rdb_path()
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            self._load_merge(data, merge)
        except (OSError, RDBError) as e:
            log.warning("Error loading the RDB: %s", e)
            return "ERR Error trying to load the RDB dump, check server logs."
        log.warning("DB reloaded by DEBUG RELOAD")
        return None

    def _load_merge(self, data: bytes, merge: bool) -> None:
        srv = self.server
        if not merge:
            self.load_rdb_data(data)
            return
        # MERGE: a duplicate key replaces the existing one.
        tmp = [({}, {}) for _ in srv.keyspace.dbs]
        srv.keyspace.loading = True
        try:
            load_rdb_bytes(srv, data, into=tmp, replace_functions=True)
        finally:
            srv.keyspace.loading = False
        for db, (d, e) in zip(srv.keyspace.dbs, tmp, strict=True):
            for k, v in d.items():
                db.data[k] = v
                if k in e:
                    db.expires[k] = e[k]
                else:
                    db.expires.pop(k, None)

    def _empty_data(self, with_functions: bool = False) -> None:
        srv = self.server
        for db in srv.keyspace.dbs:
            db.flush()
        if with_functions:
            srv.scripting.flush_functions()

    def debug_loadaof(self) -> None:
        a = self.aof
        if a.state == AOF_ON:
            a.flush(force_fsync=True)
        self._empty_data(with_functions=True)
        a.load_manifest()
        if a.manifest is not None:
            a.delete_history(a.manifest)
        res = self.load_aof()
        if res not in ("ok", "empty", "missing"):
            os._exit(1)
        self.server.dirty = 0
        log.warning("Append Only File loaded by DEBUG LOADAOF")

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

    # -- INFO -------------------------------------------------------------------------------------------
    def info(self, srv: Any) -> list[tuple[str, object]]:
        self.poll_child()
        now = time.time()
        job = self.child
        a = self.aof
        rdb_running = job is not None and job.kind == CHILD_RDB
        aof_running = job is not None and job.kind == CHILD_AOF
        cow = cow_peak = cow_age = processed = total = 0
        perc = 0.0
        if job is not None:
            job.read_info()
            cow, cow_peak, processed, total = job.cow, job.cow_peak, job.keys_processed, job.keys_total
            cow_age = int(now - job.cow_at) if job.cow_at else 0
            perc = processed * 100.0 / total if total else 0.0
        out: list[tuple[str, object]] = [
            ("loading", int(self.loading)), ("async_loading", 0), ("current_cow_peak", cow_peak),
            ("current_cow_size", cow), ("current_cow_size_age", cow_age), ("current_fork_perc", "%.2f" % perc),
            ("current_save_keys_processed", processed), ("current_save_keys_total", total),
            ("rdb_changes_since_last_save", srv.dirty), ("rdb_bgsave_in_progress", int(rdb_running)),
            ("rdb_last_save_time", srv.lastsave), ("rdb_last_bgsave_status", "ok" if self.lastbgsave_ok else "err"),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_time),
            ("rdb_current_bgsave_time_sec", int(now - job.start) if rdb_running else -1),
            ("rdb_saves", self.rdb_saves), ("rdb_last_cow_size", self.rdb_last_cow),
            ("rdb_last_load_keys_expired", self.keys_expired), ("rdb_last_load_keys_loaded", self.keys_loaded),
            ("aof_enabled", int(a.state != AOF_OFF)), ("aof_rewrite_in_progress", int(aof_running)),
            ("aof_rewrite_scheduled", int(a.rewrite_scheduled)),
            ("aof_last_rewrite_time_sec", a.last_rewrite_time),
            ("aof_current_rewrite_time_sec", int(now - job.start) if aof_running else -1),
            ("aof_last_bgrewrite_status", "ok" if a.last_rewrite_ok else "err"), ("aof_rewrites", a.rewrites),
            ("aof_rewrites_consecutive_failures", a.rewrite_failures),
            ("aof_last_write_status", "ok" if a.last_write_ok else "err"), ("aof_last_cow_size", self.aof_last_cow),
            ("module_fork_in_progress", 0), ("module_fork_last_cow_size", 0),
        ]
        if a.state != AOF_OFF:
            out += [
                ("aof_current_size", a.current_size), ("aof_base_size", a.base_size),
                ("aof_pending_rewrite", int(a.rewrite_scheduled)),
                ("aof_buffer_length", sum(len(b) for b in a.buf)),
                ("aof_pending_bio_fsync", int(a.fsync_pending)), ("aof_delayed_fsync", a.delayed_fsync),
            ]
        if self.loading:
            loaded = min(self.loaded, self.loading_total)
            perc = loaded * 100.0 / self.loading_total if self.loading_total else 0.0
            elapsed = now - self.loading_start_f
            eta = int((self.loading_total - loaded) / (loaded / elapsed)) if loaded and elapsed > 0 else 1
            out += [
                ("loading_start_time", self.loading_start), ("loading_total_bytes", self.loading_total),
                ("loading_rdb_used_mem", 0), ("loading_loaded_bytes", loaded), ("loading_loaded_perc", "%.2f" % perc),
                ("loading_eta_seconds", eta),
            ]
        return out


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


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _drain(gen: Any) -> Any:
    """Run a loading generator to its end; returns its value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
