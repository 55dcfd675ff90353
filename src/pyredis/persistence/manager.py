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

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from pyredis.persistence.aof import AOF, AOF_OFF, AOF_ON
from pyredis.persistence.aof_control import AofControl
from pyredis.persistence.jobs import (
    _SIGUSR1,
    BGSAVE_RETRY_DELAY,
    CHILD_AOF,
    CHILD_RDB,
    MISCONF_AOF_SCRIPT,
    MISCONF_RDB,
    MISCONF_RDB_SCRIPT,
    Job,
    JobFailed,
    _ChildInfo,
    fork_supported,
)
from pyredis.persistence.loading import Loading
from pyredis.persistence.shutdown import Shutdown

log = logging.getLogger("pyredis")
class Persistence(AofControl, Loading, Shutdown):
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
        self.async_loading = False  # a replica's diskless swapdb load serving the old dataset
        self.expired_at_load: list[tuple[int, bytes]] = []  # a master's start-up load: keys already expired
        self.loading = False
        self.loading_start = 0
        self.loading_total = 0
        self.loading_rdb_used_mem = 0  # the used-mem aux field of the image being loaded
        self.loading_start_f = 0.0
        self.loaded = 0
        self.stopped = False
        self.shutdown_saved = False
        self.check_installed = False
        self._limit_delay = 0
        self._limit_until = 0.0
        self._ignored_log = 0.0  # "Replica is applying a command even though ..." (every 10 s at most)
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
        """SAVE: write the RDB in the foreground. False (logged) on failure; a failed SAVE leaves
        ``rdb_last_bgsave_status`` as it was, as in Redis (*count*: SAVE counts in ``rdb_saves``)."""
        # the RDB codec loads on first use (~0.6 MB of start-up RSS otherwise)
        from pyredis.persistence.rdb import save_rdb_file

        srv = self.server
        path = self.rdb_path()
        tmp = self.temp_path(os.getpid())
        if count:
            self.rdb_saves += 1
        try:
            save_rdb_file(srv, path, tmp_path=tmp)
        except OSError as e:
            self.log_save_error(e, os.getpid())
            return False
        log.info("DB saved on disk")
        srv.dirty = 0
        srv.lastsave = int(time.time())
        self.lastbgsave_ok = True
        self.update_misconf()
        return True

    def log_save_error(self, e: OSError, pid: int) -> None:
        """``rdbSave``'s log line for a failed save (``rdb_op`` is set by ``save_rdb_file``)."""
        op = getattr(e, "rdb_op", "rdbSaveRio")
        cfg = self.server.config
        tmpname = "temp-%d.rdb" % pid
        if op == "open":
            log.warning("Failed opening the temp RDB file %s (in server root dir %s) for saving: %s", tmpname,
                        cfg["dir"], e.strerror)
        elif op == "rename":
            log.warning("Error moving temp DB file %s on the final destination %s (in server root dir %s): %s",
                        tmpname, cfg["dbfilename"], cfg["dir"], e.strerror)
        else:
            log.warning("Write error saving DB on disk(%s): %s", op, e.strerror)

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
                    self._child_setup("redis-rdb-bgsave" if kind == CHILD_RDB else "redis-aof-rewrite")
                    self._child_info = _ChildInfo(wfd, "RDB" if kind == CHILD_RDB else "AOF rewrite")
                    work(None, functions, os.getpid())
                    self._child_info.finish()
                    code = 0
                except JobFailed:
                    pass  # already logged in Redis's words
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
                except JobFailed:
                    pass
                except Exception:  # noqa: BLE001
                    log.exception("background save failed")

            job.pid = 0
            job.thread = threading.Thread(target=run, name=f"bg-{kind}", daemon=True)
            job.tmp_pid = pid
            job.thread.start()
        job.dict_used = [(len(db.data), len(db.expires)) for db in self.server.keyspace.dbs]
        self.child = job
        return job

    def _progress(self, done: int) -> None:
        info = self._child_info
        if info is not None:
            info.report(done)

    def _child_setup(self, title: str = "redis-rdb-bgsave") -> None:
        from pyredis.server.logfmt import RedisFormatter

        gc.disable()
        RedisFormatter.role = "C"  # the child's log lines, as redis-server marks them
        _die_with_parent()
        self.server.process.child(title)  # oom-score-adj's child value, the child's process title
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
        self.rdb_saves += 1  # counted when started, as rdbSaveBackground does
        self.dirty_before_bgsave = srv.dirty
        self.lastbgsave_try = time.time()
        path = self.rdb_path()
        tmp_for = self.temp_path
        # the RDB codec loads on first use (~0.6 MB of start-up RSS otherwise)
        from pyredis.persistence.rdb import save_rdb_file

        def work(dbs: list | None, functions: list[bytes], pid: int) -> None:
            try:
                save_rdb_file(srv, path, tmp_path=tmp_for(pid), dbs=dbs, functions=functions, progress=self._progress)
            except OSError as e:
                self.log_save_error(e, pid)
                raise JobFailed from None
            log.info("DB saved on disk")

        job = self._start_job(CHILD_RDB, work)
        if job is None:
            self.lastbgsave_ok = False
            self.update_misconf()
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
        elif not sig:
            log.warning("Background saving error")
            self.lastbgsave_ok = False
        else:
            log.warning("Background saving terminated by signal %d", sig)
            self._remove(self.temp_path(job.tmp_pid))
            if sig != _SIGUSR1:
                self.lastbgsave_ok = False
        self.last_bgsave_time = int(time.time() - job.start)
        self.update_misconf()
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
        owner = job.owner
        if owner is not None:  # a diskless replication transfer: its owner reaps it
            self.child = None
            owner.killed()
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
        owner = job.owner
        if owner is not None:  # a diskless transfer relays to the pipe's end, but a killed child ends it now
            res = job.poll()
            if res is not None and res != (True, 0):
                owner.child_died()
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

    # -- cron -------------------------------------------------------------------------------------------
    def cron(self, server: Any) -> None:
        self.shutdown_cron(server)
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
    def misconf(self, script: bool = False) -> str | None:
        """``writeCommandsDeniedByDiskError``'s error (None: writes are accepted); *script*: the wording
        for a script with flags refused before it runs (``scriptPrepareForRun``)."""
        cfg = self.server.config
        if cfg["stop-writes-on-bgsave-error"] and cfg["save"] and not self.lastbgsave_ok:
            return MISCONF_RDB_SCRIPT if script else MISCONF_RDB
        if self.aof.state != AOF_OFF:
            err = self.aof.write_error()
            if err is not None:
                return (MISCONF_AOF_SCRIPT if script else "MISCONF Errors writing to the AOF file: ") + err
        return None

    def update_misconf(self) -> None:
        srv = self.server
        bad = not self.lastbgsave_ok or self.aof.write_error() is not None
        checks = srv.events.checks
        if bad and not self.check_installed:
            checks.insert(0, self.check_write)  # before NOREPLICAS / READONLY / MASTERDOWN, as in processCommand
            self.check_installed = True
        elif not bad and self.check_installed:
            if self.check_write in checks:
                checks.remove(self.check_write)
            self.check_installed = False
        srv.hold_gate("persistence-errors", bad)

    def check_write(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        """Refuse writes (and PING) while persistence is failing, like Redis's MISCONF. The master's
        stream is not refused: a replica panics, or with ``replica-ignore-disk-write-errors`` applies it."""
        queued_flags = self.server.scripting.queued_flags  # a script's declared flags stand in for EVAL's
        if cmd.name == "exec":
            if not any(queued_flags(q, a)[0] for q, a in (c.multi or ())):
                return True
        elif cmd.name != "ping" and not queued_flags(cmd, argv)[0]:
            return True
        msg = self.misconf()
        if msg is None:
            return True
        if getattr(c, "is_master", False):
            if not self.server.config["replica-ignore-disk-write-errors"] and cmd.name != "ping":
                from pyredis.server import crash

                crash.panic(self.server, "Replica was unable to write command to disk.", "server.c:3890")
            now = time.time()
            if now > self._ignored_log + 10:
                self._ignored_log = now
                log.warning("Replica is applying a command even though it is unable to write to disk.")
            return True
        self.server.reject(c, cmd, msg)
        return False

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
            ("loading", int(self.loading)), ("async_loading", int(self.async_loading)), ("current_cow_peak", cow_peak),
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
            ("aof_last_write_status", "ok" if a.write_error() is None else "err"), ("aof_last_cow_size", self.aof_last_cow),
            ("module_fork_in_progress", 0), ("module_fork_last_cow_size", 0),
        ]
        if a.state != AOF_OFF:
            out += [
                ("aof_current_size", a.current_size), ("aof_base_size", a.rewrite_base_size),
                ("aof_pending_rewrite", int(a.rewrite_scheduled)),
                ("aof_buffer_length", sum(len(b) for b in a.buf)),
                ("aof_pending_bio_fsync", int(a.fsync_pending)), ("aof_delayed_fsync", a.delayed_fsync),
            ]
        if self.loading:
            total, used = self.loading_total, self.loading_rdb_used_mem
            loaded = min(self.loaded, total) if total else self.loaded
            perc, remaining = 0.0, 1
            if total:
                perc, remaining = loaded * 100.0 / total, total - loaded
            elif used:  # a streamed image of unknown size: the used-mem aux field is the estimate
                perc, remaining = min(loaded * 100.0 / used, 99.99), max(used - loaded, 1)
            elapsed = int(now) - self.loading_start
            eta = int(elapsed * remaining / (loaded + 1)) if elapsed else 1
            out += [
                ("loading_start_time", self.loading_start), ("loading_total_bytes", total),
                ("loading_rdb_used_mem", used), ("loading_loaded_bytes", loaded), ("loading_loaded_perc", "%.2f" % perc),
                ("loading_eta_seconds", eta),
            ]
        return out


def _die_with_parent() -> None:
    """A fork child exits when its parent is killed (kill -9, the OOM killer) instead of writing an RDB
    nobody waits for: PR_SET_PDEATHSIG on Linux."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
