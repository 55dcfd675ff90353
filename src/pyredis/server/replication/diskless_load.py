"""The replica's diskless load (``repl-diskless-load on-empty-db|swapdb``, readSyncBulkPayload with
rdbLoadRio over the connection): the RDB is parsed while it arrives from the master's socket, never
buffered whole. Every ``loading-process-events-interval-bytes`` the load lets the loop serve clients
(-LOADING, or the old dataset with async loading) and sends the master a newline (once a second). In
the ``$EOF:<mark>`` form the image ends where the parser finds its end: the next 40 bytes must be the
mark and what follows is the command stream. A short read or a lost link discards the partial load
with Redis's log lines and the link is retried."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from pyredis.persistence.jobs import CHILD_RDB
from pyredis.persistence.loading_stream import StreamReader
from pyredis.server.replication.stream import EOF_MARK_LEN, PayloadReader, StreamError

if TYPE_CHECKING:
    from pyredis.server.replication.replica import ReplicaRole

log = logging.getLogger("pyredis")

READ = 1 << 20


class _ShortRead(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


async def _read(role: ReplicaRole, reader: asyncio.StreamReader, timeout: float) -> bytes:
    """One read from the master (rioConnRead with repl-timeout as the receive timeout)."""
    try:
        data = await asyncio.wait_for(reader.read(READ), timeout)
    except asyncio.TimeoutError:
        raise _ShortRead("Connection timed out") from None
    role._stale()
    if not data:
        raise _ShortRead("Connection reset by peer")
    role.last_io = role.transfer_lastio = time.time()
    return data  # not counted in transfer_read: Redis counts only what goes to the disk file


async def _fill(role: ReplicaRole, reader: asyncio.StreamReader, sr: StreamReader, timeout: float,
                need: int = 0) -> bytes:
    """Feed the reader until the record it stopped in may be complete: at least *need* pending bytes, or
    twice what was pending (a large record is not parsed again for every chunk), or when nothing more
    has arrived yet. Returns bytes beyond an announced size (the command stream)."""
    target = max(need, sr.pending * 2, sr.pending + 16384)
    extra = b""
    while not sr.final:
        extra += sr.feed(await _read(role, reader, timeout))
        if sr.pending >= target or (sr.pending >= need and not getattr(reader, "_buffer", b"")):
            break
    return extra


async def _header(role: ReplicaRole, reader: asyncio.StreamReader, timeout: float) -> tuple[PayloadReader, bytes]:
    payload = PayloadReader()
    while True:
        try:
            data = await asyncio.wait_for(reader.read(READ), timeout)
        except asyncio.TimeoutError:
            log.warning("Timeout receiving bulk data from MASTER... If the problem persists try to set the "
                        "'repl-timeout' parameter in redis.conf to a larger value.")
            raise role.link_error() from None
        role._stale()
        if not data:
            raise ConnectionResetError("connection lost")
        role.last_io = role.transfer_lastio = time.time()
        try:
            body = payload.header(data)
        except StreamError as e:
            log.warning("%s", e)
            raise role.link_error() from None
        if body is not None:
            return payload, body


async def load_from_socket(role: ReplicaRole, reader: asyncio.StreamReader, swapdb: bool,
                           async_load: bool) -> tuple[dict, bytes]:
    """Receive and load the master's RDB; returns its aux fields and the bytes after it (the command stream).
    Raises the role's LinkError (logged) when the load fails."""
    from pyredis.persistence.rdb import RDBError, iter_load_rdb
    from pyredis.persistence.rdb_reader import NEED, _load_function

    srv = role.server
    cfg = srv.config
    pers = role.repl.persistence
    timeout = cfg["repl-timeout"]
    payload, body = await _header(role, reader, timeout)
    mark = payload.eof_mark
    if mark is not None:
        log.info("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser")
        role.transfer_size = 0
    else:
        log.info("MASTER <-> REPLICA sync: receiving %d bytes from master to parser", payload.size)
        role.transfer_size = payload.size
    role.stop_aof()
    child = pers.child
    if child is not None and getattr(child, "kind", None) == CHILD_RDB:
        pers.kill_child()
    tmpdbs: list | None = None
    if swapdb:
        tmpdbs = [({}, {}) for _ in srv.keyspace.dbs]
    else:
        role.attach_to_new_master()
        log.info("MASTER <-> REPLICA sync: Flushing old data")
        pers._empty_data(with_functions=True)
    log.info("MASTER <-> REPLICA sync: Loading DB in memory")
    if async_load:
        role._async_loading(True)
    else:
        role._loading(True)
    pers.loading_total = max(payload.size, 0)
    pers.loaded = 0
    sr = StreamReader(cfg, -1 if mark is not None else payload.size)
    rest = sr.feed(body)
    role.transfer_read = 0  # INFO master_sync_read_bytes stays 0 while loading from the socket, as in Redis
    every = max(int(cfg.values.get("loading-process-events-interval-bytes", 2 << 20)), 1024)
    gen = iter_load_rdb(srv, b"", reader=sr, stats=pers, check_crc=not pers.skip_checksum, skip_expired=False,
                        replace_functions=True, into=tmpdbs, every=every, defer_functions=swapdb)
    done = False
    newline_sent = 0
    res: Any = None
    try:
        try:
            while True:
                try:
                    step = next(gen)
                except StopIteration as stop:
                    res = stop.value
                    break
                if step == NEED:
                    rest += await _fill(role, reader, sr, timeout)
                    continue
                # processEventsWhileBlocked
                now = int(time.time())
                w = role.writer
                if now != newline_sent and w is not None and not w.is_closing():
                    w.write(b"\n")
                    newline_sent = now
                await asyncio.sleep(0)
                role._stale()
            if mark is not None:
                if sr.pending < EOF_MARK_LEN:
                    rest += await _fill(role, reader, sr, timeout, EOF_MARK_LEN)
                if sr.take(EOF_MARK_LEN) != mark:
                    log.warning("Replication stream EOF marker is broken")
                    raise role.link_error()
            rest = sr.rest() + rest
        except _ShortRead as e:
            gen.close()
            log.warning("Short read or OOM loading DB. Unrecoverable error, aborting now.")
            log.warning("Internal error in RDB reading offset %d, function at rdb.c:3249 -> Unexpected EOF reading "
                        "RDB file. Failure loading rdb format from socket, assuming connection error, resuming "
                        "operation.", sr.consumed)
            log.warning("Failed trying to load the MASTER synchronization DB from socket: %s", e.why)
            raise role.link_error() from None
        except RDBError as e:
            log.warning("%s", e)
            log.warning("Failed trying to load the MASTER synchronization DB from socket: %s", e)
            raise role.link_error() from None
        done = True
    finally:
        if not done:
            gen.close()
            if swapdb:
                log.info("MASTER <-> REPLICA sync: Discarding temporary DB in background")
            else:
                pers._empty_data(with_functions=True)  # no half-loaded dataset
    log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", res.keys_loaded, res.keys_expired)
    if tmpdbs is not None:
        role.attach_to_new_master()
        log.info("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
        for db, (d, e) in zip(srv.keyspace.dbs, tmpdbs, strict=True):
            db.flush()
            db.data.update(d)
            db.expires.update(e)
        srv.scripting.flush_functions()
        for code in res.functions:
            try:
                _load_function(srv, code, True)
            except RDBError as err:
                log.warning("Failed loading a function library of the master's RDB: %s", err)
        log.info("MASTER <-> REPLICA sync: Discarding old DB in background")
    srv.dirty += 1
    return res.aux, rest
