"""This server as a replica (replication.c, replica side): the handshake state machine, the full
sync payload, loading it, applying the command stream, ACKs, timeouts and reconnects."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from pyredis.persistence.aof import AOF_OFF, encode_command
from pyredis.protocol.quoting import repr_arg
from pyredis.server.client import REPLY_OFF, Client
from pyredis.server.replication.stream import CommandStream, PayloadReader, StreamError

if TYPE_CHECKING:
    from pyredis.server.replication.core import Replication

log = logging.getLogger("pyredis")

DENY_LOADING_CONFIGS = {b"appendonly", b"repl-diskless-load", b"dir"}  # DENY_LOADING_CONFIG parameters
NONE, CONNECT, CONNECTING, HANDSHAKE, TRANSFER, CONNECTED = range(6)
STATE_NAMES = {NONE: "none", CONNECT: "connect", CONNECTING: "connecting", HANDSHAKE: "handshake",
               TRANSFER: "sync", CONNECTED: "connected"}


class LinkError(Exception):
    """The link with the master failed; the message was logged."""


class MasterClient(Client):
    """The client executing the master's stream: no replies, master's flags, killing it drops the link."""

    fake = False

    def __init__(self, role: ReplicaRole, dbid: int) -> None:
        srv = role.server
        super().__init__(srv, srv.new_client_id())
        self.role = role
        self.is_master = True
        self.authenticated = True
        self.acl_restricted = False
        self.reply_mode = REPLY_OFF
        self.db = srv.keyspace.dbs[dbid if 0 <= dbid < len(srv.keyspace.dbs) else 0]
        self.flags_extra = "M"
        self.addr = f"{role.repl.masterhost}:{role.repl.masterport}"
        self.closed = False

    def close(self) -> None:
        self.role.drop_link("Connection with master lost.")

    def write_error(self, message: str) -> None:
        """An error from the master's stream: the data diverged; logged as redis-server does."""
        srv = self.server
        srv.count_error(message)
        repl = self.role.repl
        repl.stat_unexpected_error_replies += 1
        name = self.cmd.fullname if self.cmd is not None else "<unknown>"
        log.warning("== CRITICAL == This replica is sending an error to its master: '%s' after processing the "
                    "command '%s'", message[:4096], name)
        b = repl.backlog
        if b is not None and b.histlen:
            tail = b.read_from(max(b.first, b.offset - 255))
            log.warning("Latest backlog is: '%s'", repr_arg(tail).decode())

    def query_buffer_size(self) -> int:
        return self.role.stream.buffered


class ReplicaRole:
    """The link with our master."""

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.server = repl.server
        self.state = NONE
        self.task: asyncio.Task | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.master: MasterClient | None = None
        self.cached: tuple[str, int, int] | None = None  # (replid, reploff, dbid) of the last master
        self.reploff = 0
        self.read_reploff = 0
        self.stream = CommandStream()
        # the master's commands held by CLIENT PAUSE (read, not yet applied; resume_held is an
        # events.unpaused listener through Replication._resume_held, registered when it is composed)
        self.held: list = []
        self.last_io = 0.0
        self.down_since = 0.0
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = 0.0
        self.pre_psync_master = False

    def connected(self) -> bool:
        return self.state == CONNECTED

    # -- REPLICAOF ------------------------------------------------------------------------------------
    def start(self) -> None:
        """replicationSetMaster's tail: (re)connect now."""
        self.cancel()
        self.state = CONNECT
        repl = self.repl
        log.info("Connecting to MASTER %s:%d", repl.masterhost, repl.masterport)
        self.connect()

    def connect(self) -> None:
        loop = self.server.loop
        if loop is None:
            return
        self.state = CONNECTING
        self.task = loop.create_task(self._run())

    def cancel(self) -> None:
        """cancelReplicationHandshake / free the master client."""
        t = self.task
        self.task = None
        if t is not None and not t.done():
            t.cancel()
        if self.writer is not None:
            try:
                self.writer.transport.abort()
            except Exception:  # noqa: BLE001
                pass
            self.writer = None
        if self.master is not None:
            self._free_master(cache=True)

    def stop(self) -> None:
        """REPLICAOF NO ONE: forget the master entirely."""
        self.cancel()
        self.cached = None
        self.state = NONE

    def drop_link(self, why: str) -> None:
        """The master connection is gone (error, timeout, CLIENT KILL TYPE master)."""
        if self.master is None and self.state not in (TRANSFER, HANDSHAKE, CONNECTING):
            return
        if self.master is not None:
            log.warning(why)
        t = self.task
        self.task = None
        if self.writer is not None:
            try:
                self.writer.transport.abort()
            except Exception:  # noqa: BLE001
                pass
            self.writer = None
        if self.master is not None:
            self._free_master(cache=True)
        if t is not None and not t.done() and t is not asyncio.current_task():
            t.cancel()
        self.down_since = time.time()
        self.state = CONNECT
        repl = self.repl
        if repl.masterhost is not None and self.server.loop is not None:
            log.info("Reconnecting to MASTER %s:%d", repl.masterhost, repl.masterport)
            self.connect()

    def _free_master(self, cache: bool) -> None:
        m = self.master
        self.master = None
        if m is None:
            return
        m.closed = True
        self.server.clients.pop(m.id, None)
        if cache:
            log.info("Caching the disconnected master state.")
            self.cached = (self.repl.replid, self.reploff, m.db.id)
        self.down_since = time.time()

    def cache_myself(self) -> None:
        """replicationCacheMasterUsingMyself: a master turned replica PSYNCs with its own history."""
        repl = self.repl
        self.reploff = self.read_reploff = repl.offset
        self.cached = (repl.replid, repl.offset, 0)
        log.info("Before turning into a replica, using my own master parameters to synthesize a cached master: "
                 "I may be able to synchronize with the new master with just a partial transfer.")

    # -- the link task ----------------------------------------------------------------------------------
    async def _run(self) -> None:
        me = asyncio.current_task()
        try:
            await self._link()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - a bug must not kill the replication loop
            if self.task is not me:
                # Superseded (REPLICAOF, drop_link) while an await swallowed the cancellation (asyncio.wait_for
                # in 3.11 may return or raise instead): the state belongs to the new link, leave it alone.
                return
            self._failed(e)

    def _stale(self, writer: asyncio.StreamWriter | None = None) -> None:
        """A superseded link task stops here (*writer*, its new connection, closed) instead of using the new
        link's state (cancel() closed the connection it had)."""
        if self.task is not asyncio.current_task():
            if writer is not None:
                writer.transport.abort()
            raise asyncio.CancelledError

    def _failed(self, e: Exception) -> None:
        """The link task failed: log it as redis-server does and retry from the cron."""
        if isinstance(e, LinkError):
            self._link_failed()
        elif isinstance(e, (OSError, asyncio.IncompleteReadError, ConnectionError)):
            if self.master is not None:
                self.task = None
                self.drop_link("Connection with master lost.")
                return
            if self.state == CONNECTING:
                msg = e.strerror if isinstance(e, OSError) and e.strerror else "Connection timed out"
                log.warning("Error condition on socket for SYNC: %s", msg)
            elif self.state == TRANSFER:
                log.warning("I/O error trying to sync with MASTER: %s",
                            "connection lost" if isinstance(e, asyncio.IncompleteReadError) else e)
            else:
                log.warning("Master did not respond to command during SYNC handshake")
            self._link_failed()
        else:
            import traceback

            log.warning("replication link failed: %s",
                        "".join(traceback.format_exception(e)).replace("\n", " | "))
            self._link_failed()

    def _link_failed(self) -> None:
        self.task = None
        if self.writer is not None:
            try:
                self.writer.transport.abort()
            except Exception:  # noqa: BLE001
                pass
            self.writer = None
        if self.master is not None:
            self._free_master(cache=True)
        if self.repl.masterhost is not None:
            self.state = CONNECT  # the cron retries once a second
        if not self.down_since:
            self.down_since = time.time()

    async def _readline(self, reader: asyncio.StreamReader) -> bytes:
        timeout = self.server.config["repl-timeout"]
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
        except asyncio.TimeoutError:
            log.warning("Timeout connecting to the MASTER...")
            raise LinkError from None
        self._stale()
        if not line:
            raise ConnectionResetError("connection closed")
        self.last_io = time.time()
        return line.rstrip(b"\r\n")

    async def _link(self) -> None:
        repl = self.repl
        srv = self.server
        cfg = srv.config
        self.state = CONNECTING
        log.info("MASTER <-> REPLICA sync started")
        ssl_ctx = srv.tls.outgoing_context("replication")  # tls-replication: the client context, else plain
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(repl.masterhost, repl.masterport, limit=1 << 20, ssl=ssl_ctx,
                                    local_addr=(cfg["bind-source-addr"], 0) if cfg["bind-source-addr"] else None),
            cfg["repl-timeout"])
        self._stale(writer)
        self.writer = writer
        log.info("Non blocking connect for SYNC fired the event.")
        self.state = HANDSHAKE
        writer.write(encode_command([b"PING"]))
        line = await self._readline(reader)
        if line[:1] == b"-" and not (line.startswith(b"-NOAUTH") or line.startswith(b"-NOPERM")
                                     or line.startswith(b"-ERR operation not permitted")):
            log.warning("Error reply to PING from master: '%s'", line[1:].decode("utf-8", "replace"))
            raise LinkError
        log.info("Master replied to PING, replication can continue...")
        cmds = []
        if cfg["masterauth"]:
            user = cfg["masteruser"]
            auth = [b"AUTH", user.encode(), cfg["masterauth"].encode()] if user else \
                [b"AUTH", cfg["masterauth"].encode()]
            cmds.append(auth)
        port = cfg["replica-announce-port"] or (cfg["tls-replication"] and cfg["tls-port"]) or srv.port
        cmds.append([b"REPLCONF", b"listening-port", b"%d" % port])
        if cfg["replica-announce-ip"]:
            cmds.append([b"REPLCONF", b"ip-address", cfg["replica-announce-ip"].encode()])
        cmds.append([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        writer.write(b"".join(encode_command(a) for a in cmds))
        for a in cmds:
            line = await self._readline(reader)
            if line[:1] != b"-":
                continue
            err = line[1:].decode("utf-8", "replace")
            if a[0] == b"AUTH":
                log.warning("Unable to AUTH to MASTER: %s", err)
                raise LinkError
            what = {b"listening-port": "REPLCONF listening-port", b"ip-address": "REPLCONF ip-address"}.get(
                a[1], "REPLCONF capa")
            log.info("(Non critical) Master does not understand %s: %s", what, err)
        # PSYNC
        if self.cached is not None:
            replid, off = self.cached[0], self.cached[1] + 1
            log.info("Trying a partial resynchronization (request %s:%d).", replid, off)
        else:
            replid, off = "?", -1
            log.info("Partial resynchronization not possible (no cached master)")
        psync = [b"PSYNC", replid.encode(), b"%d" % off]
        failing_over = self.repl.failover.state == 2  # FAILOVER_IN_PROGRESS
        if failing_over:
            psync.append(b"FAILOVER")
        writer.write(encode_command(psync))
        while True:
            line = await self._readline(reader)
            if line:
                break  # empty lines are keepalives sent before the reply
        if failing_over:
            self.repl.failover.psync_result(line.startswith((b"+FULLRESYNC", b"+CONTINUE")))
        if line.startswith(b"+FULLRESYNC"):
            parts = line.split()
            new_id = parts[1].decode() if len(parts) > 1 else "?"
            new_off = int(parts[2]) if len(parts) > 2 else -1
            log.info("Full resync from master: %s:%d", new_id, new_off)
            await self._full_sync(reader, new_id, new_off)
        elif line.startswith(b"+CONTINUE"):
            parts = line.split()
            log.info("Successful partial resynchronization with master.")
            assert self.cached is not None
            cached_id, cached_off, dbid = self.cached
            if len(parts) > 1 and parts[1].decode() != cached_id:
                new = parts[1].decode()
                repl.replid2 = cached_id
                repl.second_replid_offset = repl.offset + 1
                repl.replid = new
                log.warning("Master replication ID changed to %s", new)
                repl.master.disconnect_all()
            self.cached = None
            if repl.backlog is None:  # e.g. restarted from an RDB's replication fields
                repl.create_backlog(cached_off)
            log.info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            self._attach_master(dbid, cached_off)
            await self._stream(reader, b"")
        elif line.startswith(b"-NOMASTERLINK") or line.startswith(b"-LOADING"):
            log.info("Master is currently unable to PSYNC but should be in the future: %s",
                     line[1:].decode("utf-8", "replace"))
            raise LinkError
        else:
            log.warning("Unexpected reply to PSYNC from master: %s", line.decode("utf-8", "replace"))
            raise LinkError

    async def _full_sync(self, reader: asyncio.StreamReader, replid: str, offset: int) -> None:
        srv = self.server
        cfg = srv.config
        self.state = TRANSFER
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = time.time()
        mode = cfg["repl-diskless-load"]
        diskless_load = mode == "swapdb" or (mode == "on-empty-db" and not any(db.data for db in srv.keyspace.dbs))
        # Async loading: the old dataset is a point in time of the same history: keep serving it.
        async_load = diskless_load and mode == "swapdb" and replid == self.repl.replid
        try:
            if diskless_load:
                from pyredis.server.replication.diskless_load import load_from_socket

                aux, rest = await load_from_socket(self, reader, mode == "swapdb", async_load)
                self._synced(aux, replid, offset)
            else:
                rdb, rest = await self._receive(reader)
                await self._install(rdb, replid, offset)
        finally:
            if async_load:
                self._async_loading(False)
            else:
                self._loading(False)
        await self._stream(reader, rest)

    def link_error(self) -> LinkError:
        return LinkError()

    def stop_aof(self) -> None:
        """Before loading the master's RDB the AOF goes off (stopAppendOnly): it restarts with a rewrite of the
        new dataset once the sync succeeded (restartAOFAfterSYNC)."""
        pers = self.repl.persistence
        if pers.aof.state != AOF_OFF:
            pers.stop_aof()

    def restart_aof(self) -> None:
        pers = self.repl.persistence
        if self.server.config["appendonly"] and pers.aof.state == AOF_OFF and not pers.start_aof():
            log.warning("Failed enabling the AOF after successful master synchronization! "
                        "Trying it again in one second.")

    def attach_to_new_master(self) -> None:
        """replicationAttachToNewMaster: the cached master goes, our replicas must resync with the new history."""
        self.cached = None
        self.repl.master.disconnect_all()

    async def _receive(self, reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
        """Read the ``$len`` / ``$EOF:`` payload to disk (the diskless load is diskless_load.py)."""
        payload = PayloadReader()
        announced = False
        rest: bytes | None = None
        timeout = self.server.config["repl-timeout"]
        while rest is None:
            try:
                data = await asyncio.wait_for(reader.read(1 << 17), timeout)
            except asyncio.TimeoutError:
                log.warning("Timeout receiving bulk data from MASTER... If the problem persists try to set the "
                            "'repl-timeout' parameter in redis.conf to a larger value.")
                raise LinkError from None
            self._stale()
            if not data:
                raise ConnectionResetError("connection lost")
            self.last_io = self.transfer_lastio = time.time()
            try:
                rest = payload.feed(data)
            except StreamError as e:
                log.warning("%s", e)
                raise LinkError from None
            if payload.header_done and not announced:
                announced = True
                if payload.eof_mark is not None:
                    log.info("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
                    self.transfer_size = 0
                else:
                    log.info("MASTER <-> REPLICA sync: receiving %d bytes from master to disk", payload.size)
                    self.transfer_size = payload.size
            self.transfer_read = payload.read
        return payload.data(), rest

    def _loading(self, on: bool) -> None:
        """Clients get -LOADING while a diskless load runs (INFO loading:1)."""
        srv = self.server
        pers = self.repl.persistence
        checks = srv.events.checks
        srv.watchdog.held = on
        if on:
            pers._begin_loading(0)
            if pers._check_loading not in checks:
                checks.insert(0, pers._check_loading)
            srv.hold_gate("repl-loading", True)
        else:
            pers._end_loading()
            if pers._check_loading in checks:
                checks.remove(pers._check_loading)
            srv.hold_gate("repl-loading", False)

    def _async_loading(self, on: bool) -> None:
        """INFO async_loading:1 while the old dataset is served; commands flagged no_async_loading
        (and CONFIG SET of deny-loading parameters) get -LOADING."""
        pers = self.repl.persistence
        pers.async_loading = on
        self.server.watchdog.held = on
        checks = self.server.events.checks
        if on and self._check_async not in checks:
            checks.insert(0, self._check_async)
        elif not on and self._check_async in checks:
            checks.remove(self._check_async)
        self.server.hold_gate("repl-async-loading", on)

    def _check_async(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        deny = "no_async_loading" in cmd.flags
        if not deny and cmd.fullname == "config|set":
            deny = any(a.lower() in DENY_LOADING_CONFIGS for a in argv[2::2])
        if deny:
            self.server.reject(c, cmd, "LOADING Redis is loading the dataset in memory")
            return False
        return True

    async def _install(self, rdb: bytes, replid: str, offset: int) -> None:
        """Replace the dataset with the master's RDB received to disk (readSyncBulkPayload's second half)."""
        repl = self.repl
        srv = self.server
        cfg = srv.config
        pers = repl.persistence
        if pers.child is not None:
            log.info("Replica is about to load the RDB file received from the master, but there is a pending RDB "
                     "child running. Killing process %d and removing its temp file to avoid any race",
                     pers.child.pid or os.getpid())
            pers.kill_child()
        self.attach_to_new_master()
        tmp = os.path.join(cfg["dir"], "temp-%d.%d.rdb" % (int(time.time()), os.getpid()))
        try:
            with open(tmp, "wb") as fh:
                fh.write(rdb)
            os.replace(tmp, pers.rdb_path())
        except OSError as e:
            log.warning("Failed trying to rename the temp DB into %s in MASTER <-> REPLICA synchronization: %s",
                        cfg["dbfilename"], e.strerror)
            raise LinkError from None
        from pyredis.persistence.rdb import RDBError

        self.stop_aof()
        log.info("MASTER <-> REPLICA sync: Flushing old data")
        pers._empty_data(with_functions=True)
        log.info("MASTER <-> REPLICA sync: Loading DB in memory")
        self._loading(True)
        try:
            aux = await self._load(rdb)
        except RDBError as e:
            log.warning("Failed trying to load the MASTER synchronization DB from disk: %s", e)
            pers._empty_data(with_functions=True)
            raise LinkError from None
        self._synced(aux, replid, offset)

    def _synced(self, aux: dict, replid: str, offset: int) -> None:
        """The new dataset is in: adopt the master's history and stream."""
        repl = self.repl
        try:
            dbid = int(aux.get(b"repl-stream-db", b"0"))
        except ValueError:
            dbid = 0
        repl.replid = replid
        repl.clear_replid2()
        repl.create_backlog(offset)
        self._attach_master(dbid, offset)
        log.info("MASTER <-> REPLICA sync: Finished with success")
        self.restart_aof()

    async def _load(self, rdb: bytes) -> dict:
        """Load the RDB received to disk (repl-stream-db and friends are returned from its aux fields), processing
        events every loading-process-events-interval-bytes as Redis does (clients get -LOADING meanwhile)."""
        from pyredis.persistence.rdb import iter_load_rdb

        srv = self.server
        pers = self.repl.persistence
        every = max(int(srv.config.values.get("loading-process-events-interval-bytes", 2 << 20)), 1024)
        pers._begin_loading(len(rdb))
        done = False
        try:
            gen = iter_load_rdb(srv, rdb, stats=pers, check_crc=not pers.skip_checksum, replace_functions=True,
                                every=every, skip_expired=False)
            try:
                while True:
                    next(gen)
                    await asyncio.sleep(0)
                    self._stale()
            except StopIteration as stop:
                res = stop.value
            done = True
        finally:
            pers._end_loading()
            if not done:
                pers._empty_data(with_functions=True)  # no half-loaded dataset when the link is cancelled
        log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", res.keys_loaded, res.keys_expired)
        return res.aux

    def _attach_master(self, dbid: int, offset: int) -> None:
        self.reploff = self.read_reploff = offset
        m = MasterClient(self, dbid)
        self.master = m
        self.server.clients[m.id] = m
        self.state = CONNECTED
        self.down_since = 0.0
        self.last_io = time.time()
        self.stream = CommandStream()
        self.held = []
        self.repl.refresh_gate()

    async def _stream(self, reader: asyncio.StreamReader, first: bytes) -> None:
        """Apply the command stream until the link drops."""
        if first:
            self._apply(first)
        self.send_ack()
        self._apply_on_read(reader)
        dbg = os.environ.get("PYREDIS_REPL_DEBUG")
        last = time.time()
        while True:
            data = await reader.read(1 << 16)
            self._stale()
            if dbg:
                now = time.time()
                if now - last > 0.2:
                    log.warning("DBG gap %.3f before %d bytes", now - last, len(data))
                last = now
            if not data:
                self.task = None
                self.drop_link("Connection with master lost.")
                return
            self.last_io = time.time()
            self._apply(data)

    def _apply_on_read(self, reader: asyncio.StreamReader) -> None:
        """Apply the stream in the protocol's read callback (as readQueryFromClient does), not one loop
        iteration later when the StreamReader wakes this task: a client's command read in the same poll
        would otherwise run before the master's write it follows (a stale GET right after the master's
        reply). EOF drops the link in the same callback, so a client's INFO in that poll sees it down;
        errors still reach the task through the reader."""
        me = asyncio.current_task()
        buffered = bytes(reader._buffer)  # type: ignore[attr-defined]
        reader._buffer.clear()  # type: ignore[attr-defined]

        def on_read(data: bytes) -> None:
            if self.task is not me or self.master is None or not data:
                return
            self.last_io = time.time()
            try:
                self._apply(data)
            except Exception as e:  # noqa: BLE001 - a bug must not kill the replication loop
                self._failed(e)

        feed_eof = reader.feed_eof

        def on_eof() -> None:
            feed_eof()
            if self.task is me and self.master is not None:  # the link is down in this read, as in Redis
                self.drop_link("Connection with master lost.")

        reader.feed_data = on_read  # type: ignore[method-assign]
        reader.feed_eof = on_eof  # type: ignore[method-assign]
        if buffered:
            on_read(buffered)

    def _apply(self, data: bytes) -> None:
        m = self.master
        if m is None:
            return
        self.read_reploff += len(data)
        m.last_interaction = time.time()
        try:
            cmds = self.stream.feed(data)
        except StreamError as e:
            log.warning("Protocol error from master: %s", e)
            self.drop_link("Connection with master lost.")
            return
        if self.held:
            cmds = self.held + cmds
            self.held = []
        self._execute_stream(m, cmds)

    def resume_held(self, server: Any = None) -> None:
        """``events.unpaused`` (and the cron): apply what the master sent while clients were paused."""
        m = self.master
        if self.held and m is not None and not self._paused_for(m, self.held[0][0]):
            cmds, self.held = self.held, []
            self._execute_stream(m, cmds)

    def _paused_for(self, m: MasterClient, argv: list[bytes]) -> bool:
        """Is the master's command held by CLIENT PAUSE? (Redis pauses the master link like a client.)"""
        srv = self.server
        if not argv or not srv.paused_until or time.time() >= srv.paused_until:
            return False
        if srv.pause_all:
            return True
        cmd = srv.commands.get(argv[0].lower())
        if cmd is None:
            return False
        if cmd.subcommands is not None and len(argv) > 1:
            cmd = cmd.subcommands.get(argv[1].lower(), cmd)
        return srv.blocking.may_write(m, cmd, argv)

    def _execute_stream(self, m: MasterClient, cmds: list) -> None:
        srv = self.server
        raws: list[bytes] = []
        execute = srv.execute
        ks = srv.keyspace
        ks.applying_master = True
        try:
            self._run_commands(m, cmds, raws, execute)
        finally:
            ks.applying_master = False
        if raws:
            self.repl.master.feed_raw(b"".join(raws))
        srv.current_client = None
        if srv.ready_keys:
            srv.blocking.serve_ready()

    def _run_commands(self, m: MasterClient, cmds: list, raws: list, execute: Any) -> None:
        for i, (argv, raw) in enumerate(cmds):
            if argv and self.server.paused_until and self._paused_for(m, argv):
                self.held = cmds[i:]
                return
            if argv:
                m.cmd = None
                if argv[0].lower() == b"replconf" and len(argv) > 1 and argv[1].lower() == b"getack":
                    self.send_ack()
                else:
                    execute(m, argv)
            self.reploff += len(raw)
            raws.append(raw)
            if self.master is not m:
                break

    def send_ack(self) -> None:
        w = self.writer
        if w is not None and self.state == CONNECTED and not w.is_closing():
            w.write(encode_command([b"REPLCONF", b"ACK", b"%d" % self.reploff]))

    # -- cron (once a second) ---------------------------------------------------------------------------
    def cron(self) -> None:
        repl = self.repl
        if repl.masterhost is None:
            return
        now = time.time()
        timeout = self.server.config["repl-timeout"]
        if self.state == CONNECTED and now - self.last_io > timeout:
            log.warning("MASTER timeout: no data nor PING received...")
            self.drop_link("Connection with master lost.")
            return
        if self.held:
            self.resume_held()
        if self.state == CONNECT:
            log.info("Connecting to MASTER %s:%d", repl.masterhost, repl.masterport)
            self.connect()
        elif self.state == CONNECTED:
            self.send_ack()

    def _abort_task(self) -> None:
        t = self.task
        self.task = None
        if t is not None and not t.done():
            t.cancel()
        self._link_failed()
