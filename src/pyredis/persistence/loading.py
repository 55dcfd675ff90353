"""Loading in the persistence subsystem: RDB/AOF loading, start-up loading (with -LOADING), DEBUG RELOAD."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from pyredis.persistence.aof import AOF_ON, AOFError

log = logging.getLogger("pyredis")


class Loading:
    """Mixin of :class:`~pyredis.persistence.manager.Persistence`: loading datasets."""

    # -- loading ----------------------------------------------------------------------------------------
    def iter_load_rdb_data(self, data: bytes, pos: int = 0, *, aof_preamble: bool = False, every: int = 0,
                           startup: bool = False):
        """Generator loading an RDB image (whole file or AOF preamble); returns the offset after it.

        *startup*: the start-up load, as redis-server does it: a replica keeps keys already expired
        (its master will delete them), a master drops them and remembers them in ``expired_at_load``
        (the replication subsystem puts their DELs in the backlog)."""
        # the RDB codec loads on first use (~0.6 MB of start-up RSS otherwise)
        from pyredis.persistence.rdb import iter_load_rdb

        srv = self.server
        replica = startup and bool((srv.config["replicaof"] or "").split())
        res = yield from iter_load_rdb(srv, data, pos=pos, skip_expired=not aof_preamble and not startup,
                                       every=every, stats=self, check_crc=not self.skip_checksum)
        if startup and not replica:
            self._drop_expired_at_load(res)
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

    def _drop_expired_at_load(self, res: Any) -> None:
        """A master's start-up load: keys whose TTL passed are not kept (counted as expired)."""
        now = int(time.time() * 1000)
        gone: list[tuple[int, bytes]] = []
        for db in self.server.keyspace.dbs:
            exp = db.expires
            if not exp:
                continue
            dead = [k for k, when in exp.items() if when < now]
            for k in dead:
                db.data.pop(k, None)
                exp.pop(k, None)
                gone.append((db.id, k))
        self.expired_at_load = gone
        res.keys_loaded -= len(gone)
        res.keys_expired += len(gone)

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
        self.loading_rdb_used_mem = 0

    def _end_loading(self) -> None:
        self.server.keyspace.loading = False
        self.loading = False
        self.aof.loading = False

    def _aof_executor(self) -> Callable[[list[bytes]], None]:
        from pyredis.commands.errors import CommandError
        from pyredis.commands.registry import TABLE
        from pyredis.server.client import REPLY_OFF, Client

        srv = self.server
        table = getattr(srv, "commands", TABLE)
        fake = Client(srv, 0)
        fake.authenticated = True
        fake.reply_mode = REPLY_OFF
        a = self.aof

        def execute(argv: list[bytes]) -> None:
            cmd = table.get(argv[0]) or table.get(argv[0].lower())  # renamed names too, as in Redis
            if cmd is None:
                raise AOFError("Unknown command '%s' reading the append only file %s"
                               % (argv[0].decode("utf-8", "replace"), a.loading_name))
            if cmd.subcommands is not None and len(argv) > 1:
                sub = cmd.subcommands.get(argv[1].lower())
                if sub is not None:
                    cmd = sub
            ar = cmd.arity
            if cmd.handler is None or (ar > 0 and len(argv) != ar) or len(argv) < -ar:
                return  # Redis runs it unchecked (undefined behaviour); here it fails as a wrong-arity call
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
            yield from self.iter_load_rdb_data(data, every=every, startup=True)
            log.info("DB loaded from disk: %.3f seconds", time.time() - t0)

    def _report_load_error(self, e: BaseException) -> None:
        from pyredis.persistence.rdb_format import RDBError

        if getattr(e, "logged", False):  # said already, in Redis's words
            return
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

    def begin_startup_loading(self) -> None:
        """CLI start-up, before the listeners are bound: from the first accepted connection clients get
        -LOADING while there is a dataset to load (Redis loads before its event loop first runs, so no
        client ever sees the dataset empty or half-loaded; binding several addresses and TLS lets ours
        run in between)."""
        srv = self.server
        srv.events.checks.insert(0, self._check_loading)
        srv.hold_gate("loading")
        if self.aof.state == AOF_ON or os.path.exists(self.rdb_path()):
            self.loading = True

    def on_ready(self, server: Any) -> Any:
        """CLI start-up hook (after binding, before "Ready to accept connections"): a coroutine loading
        the dataset while clients get -LOADING; SystemExit(1) when the files cannot be loaded."""
        return self._load_serving()

    async def _load_serving(self) -> None:
        srv = self.server
        every = max(int(srv.config.values.get("loading-process-events-interval-bytes", 2 << 20)), 1024)
        checks = srv.events.checks
        if self._check_loading not in checks:
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
        from pyredis.persistence.rdb_format import RDBError

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
        from pyredis.persistence.rdb import load_rdb_bytes

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
        srv = self.server
        checks = srv.events.checks
        checks.insert(0, self._check_loading)  # clients served meanwhile (a slow script) get LOADING
        srv.hold_gate("loading")
        try:
            res = self.load_aof()
        finally:
            if self._check_loading in checks:
                checks.remove(self._check_loading)
            srv.hold_gate("loading", False)
        if res not in ("ok", "empty", "missing"):
            os._exit(1)
        self.server.dirty = 0
        log.warning("Append Only File loaded by DEBUG LOADAOF")


def _drain(gen: Any) -> Any:
    """Run a loading generator to its end; returns its value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
