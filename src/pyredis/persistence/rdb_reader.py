"""Loading RDB files (whole images, or step by step for a server that serves clients meanwhile)
and DUMP payloads."""

from __future__ import annotations

import gc
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from pyredis._speedups import KEY_DICT_TYPES
from pyredis.persistence.accel import fast as _fast
from pyredis.persistence.crc64 import crc64
from pyredis.persistence.rdb_format import (
    OP_AUX,
    OP_EOF,
    OP_EXPIRETIME,
    OP_EXPIRETIME_MS,
    OP_FREQ,
    OP_FUNCTION,
    OP_FUNCTION2,
    OP_IDLE,
    OP_MODULE_AUX,
    OP_RESIZEDB,
    OP_SELECTDB,
    RDB_VERSION,
    NeedMore,
    RDBError,
    Reader,
    _unpack_Q,
    key_delay,
)
from pyredis.persistence.rdb_types import fast_builders, load_value

log = logging.getLogger("pyredis")

NEED = -1  # what a streamed load yields when it needs more bytes


def _load_function(server: Any, code: bytes, replace: bool = False) -> None:
    """Load a function library found in an RDB file (an existing library is an error unless *replace*)."""
    from pyredis.commands.errors import CommandError

    try:
        server.scripting.load_library(code, replace)
    except CommandError as e:
        raise RDBError(e.message) from None


def set_idle_freq(server: Any, db: Any, key: bytes, idle: int, freq: int) -> None:
    """Apply an IDLETIME/FREQ (RESTORE, RDB IDLE/FREQ opcodes) like ``objectSetLRUOrLFU``."""
    if "lfu" in server.config["maxmemory-policy"]:
        if freq >= 0:
            server.eviction.set_lfu_freq(db, key, freq)
    elif idle >= 0 and hasattr(db, "lru"):
        server.keyspace.track_lru = True
        db.lru[key] = time.time() - idle


class LoadResult:
    """What a load found: counts, aux fields, per-db sizes."""

    def __init__(self) -> None:
        self.keys_loaded = 0
        self.keys_expired = 0
        self.empty_keys_skipped = 0
        self.aux: dict[bytes, bytes] = {}
        self.version = 0
        self.functions: list[bytes] = []
        self.end = 0


def load_rdb_bytes(server: Any, data: bytes, **kw: Any) -> LoadResult:
    """Load an RDB image into the server's keyspace (which the caller emptied if needed).

    ``into`` may give a list of ``(data, expires)`` dicts per db instead of the live keyspace.
    Raises :class:`RDBError` describing the problem (``offset`` attribute: where).
    """
    gen = iter_load_rdb(server, data, **kw)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def iter_load_rdb(server: Any, data: bytes, *, check_crc: bool = True, skip_expired: bool = True,
                  into: list | None = None, pos: int = 0, replace_functions: bool = False,
                  on_key: Callable[[int, bytes, Any, int | None], None] | None = None,
                  every: int = 0, stats: Any = None, reader: Reader | None = None, defer_functions: bool = False):
    """Generator form of :func:`load_rdb_bytes`: yields the offset reached every *every* bytes
    (0: never) so that a caller can serve clients meanwhile; returns the LoadResult.

    *reader*: a streamed image (persistence/loading_stream.py) instead of *data*: the generator yields
    ``NEED`` when it ran out of bytes, and goes on where it stopped once the caller fed the reader more.
    *defer_functions*: libraries are only collected in ``LoadResult.functions`` (a swapdb load loads them
    when it swaps the datasets)."""
    gen = _load_rdb(server, data, check_crc, skip_expired, into, pos, replace_functions, on_key, every, stats,
                    reader, defer_functions)
    was_gc = gc.isenabled()
    try:
        while True:
            # Loading makes no reference cycles: the collector would only rescan the growing
            # keyspace again and again. It runs as usual while the caller serves clients.
            gc.disable()
            try:
                offset = next(gen)
            except StopIteration as stop:
                return stop.value
            finally:
                if was_gc:
                    gc.enable()
            yield offset
    except RDBError as e:
        if not hasattr(e, "offset"):
            e.offset = pos  # type: ignore[attr-defined]
        raise


def _load_rdb(server: Any, data: bytes, check_crc: bool, skip_expired: bool, into: list | None, pos: int,
              replace_functions: bool, on_key: Callable[[int, bytes, Any, int | None], None] | None,
              every: int, stats: Any, sr: Reader | None = None, defer_functions: bool = False):
    res = LoadResult()
    if sr is not None:
        while len(sr.data) < 9 and not getattr(sr, "final", True):
            yield NEED
        data, pos = sr.data, 0
    if len(data) - pos < 9 or data[pos : pos + 5] != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file")
    try:
        version = int(data[pos + 5 : pos + 9])
    except ValueError:
        raise RDBError("Wrong signature trying to load DB from file") from None
    if version < 1 or version > RDB_VERSION:
        raise RDBError("Can't handle RDB format version %d" % version)
    res.version = version
    cfg = server.config
    if sr is None:
        r = Reader(data, cfg, pos + 9)
    else:
        r = sr
        r.pos = 9
    ks = server.keyspace
    ndbs = len(ks.dbs)
    if into is None:
        targets = [(db.data, db.expires) for db in ks.dbs]
    else:
        targets = into
    load_fn = None if defer_functions else _load_function
    load_delay = cfg.values.get("key-load-delay", 0) if hasattr(cfg, "values") else 0
    next_yield = pos + every if every else (1 << 62 if sr is not None else len(data) + 1)
    try:
        yield from _load_loop(r, res, server, data, skip_expired, into, replace_functions, on_key, next_yield,
                              every, stats, targets, ks, ndbs, load_fn, load_delay)
    except RDBError as e:
        e.offset = r.pos  # type: ignore[attr-defined]
        raise
    if version >= 5:
        while r.pos + 8 > len(r.data) and not getattr(r, "final", True):
            yield NEED
        data = r.data
        if r.pos + 8 > len(data):
            e = RDBError("Unexpected EOF reading RDB file")
            e.offset = r.pos + r.base  # type: ignore[attr-defined]
            raise e
        expected = _unpack_Q(data, r.pos)[0]
        if check_crc and cfg["rdbchecksum"] and expected != 0:
            got = crc64(getattr(r, "crc", 0), memoryview(data)[pos : r.pos])
            if got != expected:
                e = RDBError("Wrong RDB checksum expected: (%x) got (%x). Aborting now." % (expected, got))
                e.offset = r.pos  # type: ignore[attr-defined]
                e.crc = True  # type: ignore[attr-defined]
                raise e
        r.pos += 8
    res.end = r.pos
    return res


def _load_loop(r: Reader, res: LoadResult, server: Any, data: bytes, skip_expired: bool, into: list | None,
               replace_functions: bool, on_key: Any, next_yield: int, every: int, stats: Any, targets: list,
               ks: Any, ndbs: int, load_fn: Any, load_delay: int):
    dbid = 0
    cur_data, cur_exp = targets[0]
    now = int(time.time() * 1000)
    expire: int | None = None
    idle = freq = -1
    fast_records = _fast.read_records if _fast is not None and on_key is None and not load_delay else None
    builders = fast_builders(server.config) if fast_records is not None else None
    while True:
        if r.pos >= next_yield:
            if stats is not None:
                stats.loaded = r.pos + r.base
            yield r.pos + r.base
            next_yield = r.pos + every
            now = int(time.time() * 1000)
        start = r.pos
        try:
            # the compiled loader writes plain dicts and KeyTables only (not a cluster node's slot-indexed db 0)
            if (fast_records is not None and expire is None and idle < 0 and freq < 0
                    and type(cur_data) in KEY_DICT_TYPES and type(cur_exp) is dict):
                loaded, expired = fast_records(r, cur_data, cur_exp, next_yield, now, skip_expired, builders)
                if loaded or expired:
                    res.keys_loaded += loaded
                    res.keys_expired += expired
                    continue
            t = r.byte()
            if t == OP_EXPIRETIME_MS:
                expire = r.ms_time()
                continue
            if t == OP_EXPIRETIME:
                expire = int.from_bytes(r.raw(4), "little", signed=True) * 1000
                continue
            if t == OP_FREQ:
                freq = r.byte()
                continue
            if t == OP_IDLE:
                idle = r.length()
                continue
            if t == OP_EOF:
                break
            if t == OP_SELECTDB:
                dbid = r.length()
                if dbid >= ndbs:
                    raise RDBError("FATAL: Data file was created with a Redis server configured to handle more than "
                                   "%d databases. Exiting\n" % ndbs)
                cur_data, cur_exp = targets[dbid]
                continue
            if t == OP_RESIZEDB:
                r.length()
                r.length()
                continue
            if t == OP_AUX:
                k = r.string()
                v = r.string()
                res.aux[k] = v
                if k == b"used-mem" and stats is not None:
                    try:
                        stats.loading_rdb_used_mem = int(v)
                    except ValueError:
                        pass
                continue
            if t == OP_MODULE_AUX:
                raise RDBError("The RDB file contains AUX module data I can't load: no matching module")
            if t == OP_FUNCTION:
                raise RDBError("Pre-release function format not supported.")
            if t == OP_FUNCTION2:
                code = r.string()
                res.functions.append(code)
                if load_fn is not None:
                    load_fn(server, code, replace_functions)
                continue
            key = r.string()
            val = load_value(r, t)
            when, expire = expire, None
            if load_delay:
                key_delay(load_delay)
            if val is None or (when is not None and skip_expired and when < now):
                idle = freq = -1
            if val is None:
                res.empty_keys_skipped += 1
                if res.empty_keys_skipped <= 10:
                    log.warning("rdbLoadObject skipping empty key: %s", key.decode("utf-8", "replace"))
                continue
            if when is not None and skip_expired and when < now:
                res.keys_expired += 1
                continue
            if key in cur_data:
                raise RDBError("Duplicate key '%s' found in RDB file" % key.decode("utf-8", "replace"))
            cur_data[key] = val
            if when is not None:
                cur_exp[key] = when
            if idle >= 0 or freq >= 0:
                if into is None:
                    set_idle_freq(server, ks.dbs[dbid], key, idle, freq)
                idle = freq = -1
            res.keys_loaded += 1
            if on_key is not None:
                on_key(dbid, key, val, when)
        except NeedMore:
            r.pos = start  # the record again, from its first byte, once the caller fed more
            yield NEED
            if every:
                next_yield = r.pos + every



def verify_payload(payload: bytes, skip_checksum: bool = False) -> bool:
    """RDB version and CRC64 footer of a DUMP payload (``DEBUG SET-SKIP-CHECKSUM-VALIDATION`` skips the CRC)."""
    if len(payload) < 10:
        return False
    ver = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if ver > RDB_VERSION:
        return False
    if skip_checksum:
        return True
    crc = struct.unpack_from("<Q", payload, len(payload) - 8)[0]
    return crc64(0, memoryview(payload)[:-8]) == crc


def load_payload(payload: bytes, config: Any, deep: bool = True) -> Any:
    """The value a DUMP payload holds; raises :class:`RDBError` when it is malformed.

    Like Redis, the value is read from the whole payload (footer included) and trailing bytes
    are ignored.  With *deep* False (sanitization off) a payload that passes Redis's header
    checks but does not decode raises :class:`~pyredis.persistence.unverified.Unverified`.
    """
    r = Reader(payload, config)
    r.deep = deep
    t = r.byte()
    val = load_value(r, t)
    if val is None:
        raise RDBError("Bad data format")
    return val
