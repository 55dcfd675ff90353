"""Writing RDB files and DUMP payloads: the header, aux fields, functions, each database's keys
(with expires and LRU/LFU info), the EOF opcode and the CRC64 trailer."""

from __future__ import annotations

import errno
import gc
import os
import struct
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from pyredis import REDIS_VERSION
from pyredis.persistence.accel import fast as _fast
from pyredis.persistence.crc64 import crc64
from pyredis.persistence.rdb_format import RDB_VERSION, _pack_q, enc_len, enc_str, key_delay
from pyredis.persistence.rdb_types import Encoder


class RDBSink:
    """Buffers the file body, computes the running CRC64 and writes in large chunks."""

    def __init__(self, fh: BinaryIO | None, checksum: bool = True, chunk: int = 1 << 20) -> None:
        self.fh = fh
        self.chunk = chunk
        self.parts: list[bytes] = []
        self.size = 0
        self.crc = 0
        self.checksum = checksum
        self.total = 0
        self.keep: list[bytes] | None = [] if fh is None else None

    def write(self, b: bytes) -> None:
        self.parts.append(b)
        self.size += len(b)
        if self.size >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        data = b"".join(self.parts)
        self.parts = []
        self.size = 0
        if self.checksum:
            self.crc = crc64(self.crc, data)
        self.total += len(data)
        if self.fh is not None:
            write_all(self.fh, data)
        else:
            assert self.keep is not None
            self.keep.append(data)


def aux_fields(server: Any, aof_base: bool = False) -> list[tuple[bytes, bytes]]:
    used = 0
    if server is not None:
        try:
            used = int(server.eviction.used_memory())
        except Exception:  # noqa: BLE001 - memory figures are informative only
            used = 0
    return [
        (b"redis-ver", REDIS_VERSION.encode()), (b"redis-bits", b"64"), (b"ctime", b"%d" % int(time.time())),
        (b"used-mem", b"%d" % used),
        *(server.replication.rdb_aux() if getattr(server, "replication", None) is not None else ()),
        (b"aof-base", b"1" if aof_base else b"0"),
    ]


def write_rdb(server: Any, fh: BinaryIO | None, *, dbs: list | None = None, aof_base: bool = False,
              functions: list[bytes] | None = None, progress: Callable[[int], None] | None = None,
              chunk: int = 1 << 20) -> RDBSink:
    """Serialize the keyspace (or *dbs*: ``[(dbid, data, expires), ...]``) to *fh*, written *chunk* bytes at a
    time (a diskless transfer's pipe: 16 KB, as Redis's fd rio).

    With ``fh=None`` the bytes are kept in ``sink.keep``. Returns the sink (``total`` bytes).
    """
    cfg = server.config
    sink = RDBSink(fh, cfg["rdbchecksum"], chunk)
    enc = Encoder(cfg, cfg["rdbcompression"])
    debug = getattr(server, "debug", None)  # DebugState (absent on stand-in servers)
    if debug is not None:
        enc.packed_threshold = debug.packed_threshold
    comp = enc.compress
    w = sink.write
    w(b"REDIS%04d" % RDB_VERSION)
    for k, v in aux_fields(server, aof_base):
        w(b"\xfa" + enc_str(k, comp) + enc_str(v, comp))
    if functions is None:
        functions = server.scripting.function_codes()
    for code in functions:
        w(b"\xf5" + enc_str(code, comp))
    if dbs is None:
        dbs = [(db.id, db.data, db.expires) for db in server.keyspace.dbs]
    save_lru = _lru_mode(cfg)
    idle_fn = _idle_getter(server) if save_lru == "lru" else None
    freq_fn = server.eviction.lfu_freq if save_lru == "lfu" else None
    encode = enc.encode
    done = 0
    delay = cfg.values.get("rdb-key-save-delay", 0) if hasattr(cfg, "values") else 0
    plain = idle_fn is None and freq_fn is None and not delay
    was_gc = gc.isenabled()
    gc.disable()  # nothing here makes cycles; the collector would only rescan the keyspace
    try:
        for dbid, data, expires in dbs:
            if not data:
                continue
            w(b"\xfe" + enc_len(dbid))
            w(b"\xfb" + enc_len(len(data)) + enc_len(len(expires)))
            if plain and _fast is not None:
                done = _fast_db_keys(_fast.db_records, w, data, expires, encode, comp, progress, done)
                continue
            db_obj = server.keyspace.dbs[dbid] if (idle_fn or freq_fn) else None
            done = _db_keys(w, data, expires, encode, comp, progress, done, idle_fn, freq_fn, db_obj, delay)
    finally:
        if was_gc:
            gc.enable()
    if progress is not None:
        progress(done)
    w(b"\xff")
    sink.flush()
    crc = sink.crc if sink.checksum else 0
    tail = struct.pack("<Q", crc)
    if fh is not None:
        write_all(fh, tail)
    else:
        assert sink.keep is not None
        sink.keep.append(tail)
    sink.total += 8
    return sink



def _fast_db_keys(records: Callable[..., tuple[bytes, int]], w: Callable[[bytes], None], data: dict,
                  expires: dict, encode: Callable[[Any], bytes], comp: bool, progress: Callable[[int], None] | None,
                  done: int) -> int:
    """The keys of one db through the compiled record writer (``_rdbfast.db_records``), 1024 per call."""
    it = iter(data.items())
    while True:
        blob, n = records(it, expires, encode, 1024, comp)
        w(blob)
        done += n
        if n < 1024:
            return done
        if progress is not None:
            progress(done)


def _db_keys(w: Callable[[bytes], None], data: dict, expires: dict, encode: Callable[[Any], bytes], comp: bool,
             progress: Callable[[int], None] | None, done: int, idle_fn: Any, freq_fn: Any, db_obj: Any,
             delay: int) -> int:
    """The keys of one db: expire / IDLE / FREQ opcodes, then type, key and value of each."""
    parts: list[bytes] = []
    append = parts.append
    for key, val in data.items():
        if expires:
            when = expires.get(key)
            if when is not None:
                append(b"\xfc" + _pack_q(when))
        if idle_fn is not None:
            try:
                append(b"\xf8" + enc_len(int(idle_fn(db_obj, key))))
            except Exception:  # noqa: BLE001
                pass
        elif freq_fn is not None:
            try:
                append(b"\xf9" + bytes((int(freq_fn(db_obj, key)) & 0xFF,)))
            except Exception:  # noqa: BLE001
                pass
        if type(val) is bytes:
            append(b"\x00" + enc_str(key, comp) + enc_str(val, comp))
        else:
            t = encode(val)
            append(t[:1] + enc_str(key, comp))  # the type byte precedes the key
            append(memoryview(t)[1:])
        if delay:
            key_delay(delay)
        done += 1
        if len(parts) >= 2048 or delay:  # a delayed save trickles out as Redis's rio does
            w(b"".join(parts))
            parts.clear()
        if progress is not None and not done & 1023:
            progress(done)
    if parts:
        w(b"".join(parts))
    return done


def _idle_getter(server: Any) -> Callable[[Any, bytes], int] | None:
    """OBJECT IDLETIME's source for a key, without turning access tracking on."""
    ks = server.keyspace
    if not hasattr(ks, "track_lru"):
        return None
    now = time.time()
    epoch = getattr(ks, "lru_epoch", now)
    return lambda db, key: int(now - db.lru.get(key, epoch))



def _lru_mode(cfg: Any) -> str:
    pol = cfg["maxmemory-policy"]
    if "lru" in pol:
        return "lru"
    if "lfu" in pol:
        return "lfu"
    return ""


def write_all(fh: BinaryIO, data: bytes | memoryview) -> None:
    """Write all of *data* to an unbuffered file: a raw write may be short (a full disk, a file size
    limit), and the next one then raises the error."""
    view = memoryview(data)
    while view:
        n = fh.write(view)
        if n is None or n <= 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        view = view[n:]


def save_rdb_file(server: Any, path: str, *, tmp_path: str | None = None, fsync: bool = True,
                  aof_base: bool = False, dbs: list | None = None, functions: list[bytes] | None = None,
                  progress: Callable[[int], None] | None = None) -> int:
    """Write the dataset to ``tmp_path`` then rename it over *path*; returns the file size.

    An OSError carries ``rdb_op``, the step that failed as ``rdbSave`` logs it: ``open``,
    ``rdbSaveRio``, ``fsync``, ``fclose``, ``rename`` or ``fsyncFileDir``. The temporary file is
    removed and *path* is left as it was.
    """
    tmp = tmp_path or os.path.join(os.path.dirname(os.path.abspath(path)), "temp-%d.rdb" % os.getpid())
    op = "open"
    try:
        with open(tmp, "wb", buffering=0) as raw:
            op = "rdbSaveRio"
            sink = write_rdb(server, raw, dbs=dbs, aof_base=aof_base, functions=functions, progress=progress)
            if fsync:
                op = "fsync"
                os.fsync(raw.fileno())
            op = "fclose"
        op = "rename"
        os.replace(tmp, path)
    except BaseException as e:
        if isinstance(e, OSError):
            e.rdb_op = op  # type: ignore[attr-defined]
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return sink.total


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rdb_bytes(server: Any, **kw: Any) -> bytes:
    """The whole RDB image in memory."""
    sink = write_rdb(server, None, **kw)
    assert sink.keep is not None
    return b"".join(sink.keep)



def dump_payload(value: Any, config: Any) -> bytes:
    """DUMP's serialization: type + value, RDB version (2 bytes LE), CRC64 (8 bytes LE)."""
    enc = Encoder(config, config["rdbcompression"])
    body = enc.encode(value) + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(0, body))

