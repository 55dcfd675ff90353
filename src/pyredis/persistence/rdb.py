"""The RDB file format (version 10, what redis-server 7.0 writes): writer and reader.

The writer produces exactly the encodings 7.0 uses: strings (integer / LZF / raw), lists as
quicklist-2 nodes of listpacks, hashes and sorted sets as listpacks while small, intsets for small
integer sets, streams as listpack nodes with their consumer groups. The reader also accepts every
encoding older versions wrote (linked lists, ziplists, zipmaps, quicklist v1, string-encoded zset
scores, stream format 1) so that any file redis-server 7.0 can load also loads here.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from pyredis import REDIS_VERSION
from pyredis.persistence import listpack as lp
from pyredis.persistence import lzf
from pyredis.persistence.crc64 import crc64
from pyredis.protocol.numbers import parse_ll

log = logging.getLogger("pyredis")

RDB_VERSION = 10

# value types
T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_MODULE, T_MODULE_2 = 6, 7
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST = 9, 10, 11, 12, 13
T_LIST_QUICKLIST, T_STREAM_LISTPACKS, T_HASH_LISTPACK, T_ZSET_LISTPACK = 14, 15, 16, 17
T_LIST_QUICKLIST_2, T_STREAM_LISTPACKS_2 = 18, 19

# opcodes
OP_FUNCTION2, OP_FUNCTION, OP_MODULE_AUX, OP_IDLE, OP_FREQ = 0xF5, 0xF6, 0xF7, 0xF8, 0xF9
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF

QUICKLIST_PLAIN, QUICKLIST_PACKED = 1, 2
PACKED_THRESHOLD = 1 << 30


class RDBError(Exception):
    """A malformed or unsupported RDB file / DUMP payload."""


# ==================================================================================================
# Encoding
# ==================================================================================================
_LEN1 = [bytes((i,)) for i in range(64)]
_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack


def enc_len(n: int) -> bytes:
    if n < 64:
        return _LEN1[n]
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _enc_int(v: int) -> bytes | None:
    if -128 <= v <= 127:
        return b"\xc0" + (v & 0xFF).to_bytes(1, "little")
    if -32768 <= v <= 32767:
        return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
    if -2147483648 <= v <= 2147483647:
        return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    return None


def enc_str(s: bytes, compress: bool = True) -> bytes:
    """A string as RDB stores it: integer-encoded when it is a short canonical integer, LZF
    compressed when longer than 20 bytes and compressible (with *compress*), else raw."""
    n = len(s)
    if n <= 11 and n:
        c = s[0]
        if 48 <= c <= 57 or c == 45:
            v = parse_ll(s)
            if v is not None:
                e = _enc_int(v)
                if e is not None:
                    return e
    elif n > 20 and compress:
        z = lzf.compress(s)
        if z is not None:
            return b"\xc3" + enc_len(len(z)) + enc_len(n) + z
    if n < 64:
        return _LEN1[n] + s
    return enc_len(n) + s


class Encoder:
    """Serializes values of every type (``encode(value) -> type byte + payload``)."""

    def __init__(self, config: Any, compress: bool = True) -> None:
        self.config = config
        self.compress = compress
        v = config.values if hasattr(config, "values") else config
        self.list_fill = v["list-max-listpack-size"]
        self.zset_entries = v["zset-max-listpack-entries"]
        self.zset_value = v["zset-max-listpack-value"]
        self.stream_node_bytes = v["stream-node-max-bytes"]
        self.stream_node_entries = v["stream-node-max-entries"]
        self.by_type: dict[type, Callable[[Any], bytes]] = {}
        self._register_types()

    def _register_types(self) -> None:
        from pyredis.engine.hash import HashValue
        from pyredis.engine.list import ListValue
        from pyredis.engine.set import SetValue

        self.by_type[ListValue] = self.enc_list
        self.by_type[HashValue] = self.enc_hash
        self.by_type[SetValue] = self.enc_set
        try:
            from pyredis.engine.zset import ZSetValue

            self.by_type[ZSetValue] = self.enc_zset
        except ImportError:  # pragma: no cover - type module not present yet
            pass
        try:
            from pyredis.engine.stream import StreamValue

            self.by_type[StreamValue] = self.enc_stream
        except ImportError:  # pragma: no cover
            pass

    def encode(self, v: Any) -> bytes:
        """Type byte + serialized value."""
        if type(v) is bytes:
            return b"\x00" + enc_str(v, self.compress)
        fn = self.by_type.get(type(v))
        if fn is None:
            module_encode = getattr(v, "rdb_encode", None)  # a module type (pyredis.modules)
            if module_encode is not None:
                return module_encode(self.compress)
            for cls, f in self.by_type.items():
                if isinstance(v, cls):
                    fn = f
                    break
            else:
                raise RDBError(f"cannot serialize values of type {type(v).__name__}")
        return fn(v)

    # -- lists: quicklist 2 with listpack nodes ------------------------------------------------------
    def enc_list(self, v: Iterable[bytes]) -> bytes:
        fill = self.list_fill
        if fill < 0:
            max_bytes = 4096 << (-fill - 1)
            max_count = 1 << 62
        else:
            max_bytes = 8192
            max_count = max(fill, 1)
        nodes: list[bytes] = []
        entries: list[bytes] = []
        size = 7
        entry = lp.lp_entry
        comp = self.compress
        for item in v:
            if len(item) >= PACKED_THRESHOLD:
                if entries:
                    nodes.append(_LEN1[QUICKLIST_PACKED] + enc_str(_lp_from_entries(entries), comp))
                    entries, size = [], 7
                nodes.append(_LEN1[QUICKLIST_PLAIN] + enc_str(item, comp))
                continue
            e = entry(item)
            if entries and (size + len(e) > max_bytes or len(entries) >= max_count):
                nodes.append(_LEN1[QUICKLIST_PACKED] + enc_str(_lp_from_entries(entries), comp))
                entries, size = [], 7
            entries.append(e)
            size += len(e)
        if entries:
            nodes.append(_LEN1[QUICKLIST_PACKED] + enc_str(_lp_from_entries(entries), comp))
        return b"\x12" + enc_len(len(nodes)) + b"".join(nodes)

    # -- hashes ------------------------------------------------------------------------------------------
    def enc_hash(self, v: dict) -> bytes:
        comp = self.compress
        if not getattr(v, "big", True):
            flat: list[bytes] = []
            for k, val in v.items():
                flat.append(k)
                flat.append(val)
            return b"\x10" + enc_str(lp.lp_encode(flat), comp)
        parts = [b"\x04", enc_len(len(v))]
        for k, val in v.items():
            parts.append(enc_str(k, comp))
            parts.append(enc_str(val, comp))
        return b"".join(parts)

    # -- sets --------------------------------------------------------------------------------------------
    def enc_set(self, v: set) -> bytes:
        comp = self.compress
        if not getattr(v, "big", True):
            return b"\x0b" + enc_str(lp.intset_encode([int(x) for x in v]), comp)
        parts = [b"\x02", enc_len(len(v))]
        parts.extend([enc_str(x, comp) for x in v])
        return b"".join(parts)

    # -- sorted sets ------------------------------------------------------------------------------------
    def enc_zset(self, v: Any) -> bytes:
        comp = self.compress
        pairs = zset_items(v)
        if not zset_is_big(v):
            flat: list[bytes] = []
            for member, score in pairs:
                flat.append(member)
                flat.append(score_bytes(score))
            return b"\x11" + enc_str(lp.lp_encode(flat), comp)
        parts = [b"\x05", enc_len(len(pairs))]
        for member, score in reversed(pairs):
            parts.append(enc_str(member, comp))
            parts.append(_pack_d(score))
        return b"".join(parts)

    # -- streams ----------------------------------------------------------------------------------------
    def enc_stream(self, v: Any) -> bytes:
        from pyredis.persistence.stream_codec import encode_stream

        return encode_stream(self, v)


def _lp_from_entries(entries: list[bytes]) -> bytes:
    body = b"".join(entries)
    n = len(entries)
    return struct.pack("<IH", len(body) + 7, n if n < 65535 else 65535) + body + b"\xff"


def score_bytes(score: float) -> bytes:
    """A zset score as Redis stores it in a listpack (``d2string``: integral values as integers)."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if math.copysign(1.0, score) < 0 else b"0"
    if score.is_integer() and -(1 << 52) < score < (1 << 52):
        return b"%d" % int(score)
    return b"%.17g" % score


def zset_items(v: Any) -> list[tuple[bytes, float]]:
    """(member, score) pairs of a sorted set in ascending order."""
    return [(m, s) for s, m in v.sl]


def zset_is_big(v: Any) -> bool:
    return bool(v.big)


# ==================================================================================================
# Whole files
# ==================================================================================================
class RDBSink:
    """Buffers the file body, computes the running CRC64 and writes in large chunks."""

    def __init__(self, fh: BinaryIO | None, checksum: bool = True) -> None:
        self.fh = fh
        self.parts: list[bytes] = []
        self.size = 0
        self.crc = 0
        self.checksum = checksum
        self.total = 0
        self.keep: list[bytes] | None = [] if fh is None else None

    def write(self, b: bytes) -> None:
        self.parts.append(b)
        self.size += len(b)
        if self.size >= 1 << 20:
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
            self.fh.write(data)
        else:
            assert self.keep is not None
            self.keep.append(data)


def aux_fields(server: Any, aof_base: bool = False) -> list[tuple[bytes, bytes]]:
    used = 0
    fn = server.extensions.get("used_memory") if server is not None else None
    if fn is not None:
        try:
            used = int(fn(server))
        except Exception:  # noqa: BLE001 - memory figures are informative only
            used = 0
    return [
        (b"redis-ver", REDIS_VERSION.encode()), (b"redis-bits", b"64"), (b"ctime", b"%d" % int(time.time())),
        (b"used-mem", b"%d" % used), (b"aof-base", b"1" if aof_base else b"0"),
    ]


def write_rdb(server: Any, fh: BinaryIO | None, *, dbs: list | None = None, aof_base: bool = False,
              functions: list[bytes] | None = None, progress: Callable[[int], None] | None = None) -> RDBSink:
    """Serialize the keyspace (or *dbs*: ``[(dbid, data, expires), ...]``) to *fh*.

    With ``fh=None`` the bytes are kept in ``sink.keep``. Returns the sink (``total`` bytes).
    """
    cfg = server.config
    sink = RDBSink(fh, cfg["rdbchecksum"])
    enc = Encoder(cfg, cfg["rdbcompression"])
    comp = enc.compress
    w = sink.write
    w(b"REDIS%04d" % RDB_VERSION)
    for k, v in aux_fields(server, aof_base):
        w(b"\xfa" + enc_str(k, comp) + enc_str(v, comp))
    if functions is None:
        fn = server.extensions.get("rdb_functions")
        functions = list(fn(server)) if fn is not None else []
    for code in functions:
        w(b"\xf5" + enc_str(code, comp))
    if dbs is None:
        dbs = [(db.id, db.data, db.expires) for db in server.keyspace.dbs]
    save_lru = _lru_mode(cfg)
    idle_fn = _idle_getter(server) if save_lru == "lru" else None
    freq_fn = server.extensions.get("lfu_freq") if save_lru == "lfu" else None
    encode = enc.encode
    done = 0
    delay = cfg.values.get("rdb-key-save-delay", 0) if hasattr(cfg, "values") else 0
    for dbid, data, expires in dbs:
        if not data:
            continue
        w(b"\xfe" + enc_len(dbid))
        w(b"\xfb" + enc_len(len(data)) + enc_len(len(expires)))
        parts: list[bytes] = []
        append = parts.append
        db_obj = server.keyspace.dbs[dbid] if (idle_fn or freq_fn) else None
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
                _key_delay(delay)
            done += 1
            if len(parts) >= 2048:
                w(b"".join(parts))
                parts.clear()
            if progress is not None and not done & 1023:
                progress(done)
        if parts:
            w(b"".join(parts))
    if progress is not None:
        progress(done)
    w(b"\xff")
    sink.flush()
    crc = sink.crc if sink.checksum else 0
    tail = struct.pack("<Q", crc)
    if fh is not None:
        fh.write(tail)
    else:
        assert sink.keep is not None
        sink.keep.append(tail)
    sink.total += 8
    return sink


def _key_delay(usec: int) -> None:
    """``rdb-key-save-delay`` / ``key-load-delay`` (test knobs): sleep per key."""
    if usec > 0:
        time.sleep(usec / 1e6)


def _idle_getter(server: Any) -> Callable[[Any, bytes], int] | None:
    """OBJECT IDLETIME's source for a key, without turning access tracking on."""
    ks = server.keyspace
    if not hasattr(ks, "track_lru"):
        return None
    now = time.time()
    epoch = getattr(ks, "lru_epoch", now)
    return lambda db, key: int(now - db.lru.get(key, epoch))


def set_idle_freq(server: Any, db: Any, key: bytes, idle: int, freq: int) -> None:
    """Apply an IDLETIME/FREQ (RESTORE, RDB IDLE/FREQ opcodes) like ``objectSetLRUOrLFU``."""
    if "lfu" in server.config["maxmemory-policy"]:
        if freq >= 0:
            fn = server.extensions.get("set_lfu_freq")
            if fn is not None:
                fn(db, key, freq)
    elif idle >= 0 and hasattr(db, "lru"):
        server.keyspace.track_lru = True
        db.lru[key] = time.time() - idle


def _lru_mode(cfg: Any) -> str:
    pol = cfg["maxmemory-policy"]
    if "lru" in pol:
        return "lru"
    if "lfu" in pol:
        return "lfu"
    return ""


def save_rdb_file(server: Any, path: str, *, tmp_path: str | None = None, fsync: bool = True,
                  aof_base: bool = False, dbs: list | None = None, functions: list[bytes] | None = None,
                  progress: Callable[[int], None] | None = None) -> int:
    """Write the dataset to ``tmp_path`` then rename it over *path*; returns the file size."""
    tmp = tmp_path or os.path.join(os.path.dirname(os.path.abspath(path)), "temp-%d.rdb" % os.getpid())
    try:
        with open(tmp, "wb", buffering=0) as raw:
            sink = write_rdb(server, raw, dbs=dbs, aof_base=aof_base, functions=functions, progress=progress)
            if fsync:
                os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
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


# ==================================================================================================
# Decoding
# ==================================================================================================
_unpack_q = struct.Struct("<q").unpack_from
_unpack_Q = struct.Struct("<Q").unpack_from
_unpack_d = struct.Struct("<d").unpack_from
_unpack_i = struct.Struct("<i").unpack_from


class Reader:
    """Parses RDB data held in memory. Raises :class:`RDBError` on malformed input."""

    def __init__(self, data: bytes, config: Any, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.config = config
        self.empty_keys_skipped = 0

    def fail(self, msg: str = "Unexpected EOF reading RDB file") -> RDBError:
        return RDBError(msg)

    def need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise self.fail()

    def byte(self) -> int:
        p = self.pos
        if p >= len(self.data):
            raise self.fail()
        self.pos = p + 1
        return self.data[p]

    def raw(self, n: int) -> bytes:
        p = self.pos
        end = p + n
        if end > len(self.data):
            raise self.fail()
        self.pos = end
        return self.data[p:end]

    def length(self) -> int:
        """A length; raises on the special (encoded string) forms."""
        n, enc = self.length_enc()
        if enc:
            raise self.fail("Unknown length encoding in rdbLoadLen()")
        return n

    def length_enc(self) -> tuple[int, bool]:
        data = self.data
        p = self.pos
        if p >= len(data):
            raise self.fail()
        b = data[p]
        t = b >> 6
        if t == 0:
            self.pos = p + 1
            return b, False
        if t == 1:
            if p + 2 > len(data):
                raise self.fail()
            self.pos = p + 2
            return ((b & 0x3F) << 8) | data[p + 1], False
        if t == 3:
            self.pos = p + 1
            return b & 0x3F, True
        if b == 0x80:
            self.need(5)
            self.pos = p + 5
            return int.from_bytes(data[p + 1 : p + 5], "big"), False
        if b == 0x81:
            self.need(9)
            self.pos = p + 9
            return int.from_bytes(data[p + 1 : p + 9], "big"), False
        raise self.fail("Unknown length encoding %d in rdbLoadLen()" % b)

    def string(self) -> bytes:
        data = self.data
        p = self.pos
        if p < len(data):
            b = data[p]
            if b < 64:
                end = p + 1 + b
                if end > len(data):
                    raise self.fail()
                self.pos = end
                return data[p + 1 : end]
        n, enc = self.length_enc()
        if not enc:
            return self.raw(n)
        if n == 0:
            return b"%d" % _s8(self.raw(1))
        if n == 1:
            return b"%d" % int.from_bytes(self.raw(2), "little", signed=True)
        if n == 2:
            return b"%d" % int.from_bytes(self.raw(4), "little", signed=True)
        if n == 3:
            clen = self.length()
            ulen = self.length()
            comp = self.raw(clen)
            try:
                return lzf.decompress(comp, ulen)
            except lzf.LZFError:
                raise self.fail("Invalid LZF compressed string") from None
        raise self.fail("Unknown RDB string encoding type %d" % n)

    def double_str(self) -> float:
        n = self.byte()
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        s = self.raw(n)
        try:
            return float(s)
        except ValueError:
            raise self.fail("Bad double value") from None

    def double_bin(self) -> float:
        self.need(8)
        v = _unpack_d(self.data, self.pos)[0]
        self.pos += 8
        return v

    def ms_time(self) -> int:
        self.need(8)
        v = _unpack_q(self.data, self.pos)[0]
        self.pos += 8
        return v

    # -- objects ----------------------------------------------------------------------------------------
    def value(self, t: int) -> Any:
        """Load a value of RDB type *t*; returns None for an empty collection (to be skipped)."""
        if t == T_STRING:
            return self.string()
        fn = _LOADERS.get(t)
        if fn is None:
            if t == T_MODULE_2:
                from pyredis.modules.datatype import load_module_value

                return load_module_value(self)
            if t == T_MODULE:
                raise self.fail("The RDB file contains module data I can't load: no matching module type")
            raise self.fail("Unknown RDB encoding type %d" % t)
        try:
            return fn(self)
        except RDBError:
            raise
        except (lp.BlobError, struct.error, IndexError, ValueError, OverflowError, TypeError, KeyError) as e:
            raise self.fail("%s (%s)" % (_INTEGRITY.get(t, "Data integrity check failed."), e)) from None


def _s8(b: bytes) -> int:
    v = b[0]
    return v - 256 if v > 127 else v


# -- type loaders ---------------------------------------------------------------------------------------
def _cfg(r: Reader, name: str) -> Any:
    c = r.config
    return c.values[name] if hasattr(c, "values") else c[name]


def _load_list_plain(r: Reader) -> Any:
    from pyredis.engine.list import ListValue

    n = r.length()
    return ListValue([r.string() for _ in range(n)]) or None


def _load_list_ziplist(r: Reader) -> Any:
    from pyredis.engine.list import ListValue

    return ListValue(lp.zl_decode(r.string())) or None


def _load_list_quicklist(r: Reader) -> Any:
    from pyredis.engine.list import ListValue

    n = r.length()
    out = ListValue()
    for _ in range(n):
        blob = r.string()
        out.extend(lp.zl_decode(blob))  # empty nodes are skipped, as Redis does
    return out or None


def _load_list_quicklist2(r: Reader) -> Any:
    from pyredis.engine.list import ListValue

    n = r.length()
    out = ListValue()
    for _ in range(n):
        container = r.length()
        blob = r.string()
        if not blob:
            raise lp.BlobError("empty quicklist node")
        if container == QUICKLIST_PLAIN:
            out.append(blob)
        elif container == QUICKLIST_PACKED:
            items = lp.lp_decode(blob)
            if not items:
                continue  # Redis skips empty listpack nodes
            out.extend(items)
        else:
            raise r.fail("Quicklist integrity check failed.")
    return out or None


def _make_set(r: Reader, items: list[bytes]) -> Any:
    from pyredis.engine.set import SetValue

    s = SetValue.build(items, r.config)
    if len(s) != len(items):
        raise lp.BlobError("duplicate set members")
    return s


def _load_set(r: Reader) -> Any:
    n = r.length()
    if n == 0:
        return None
    return _make_set(r, [r.string() for _ in range(n)])


def _load_set_intset(r: Reader) -> Any:
    vals = lp.intset_decode(r.string())
    if not vals:
        return None
    return _make_set(r, [b"%d" % v for v in vals])


def _make_hash(r: Reader, flat: list[bytes]) -> Any:
    from pyredis.engine.hash import HashValue

    if len(flat) % 2:
        raise lp.BlobError("odd number of hash elements")
    h = HashValue(zip(flat[0::2], flat[1::2], strict=True))
    if len(h) * 2 != len(flat):
        raise lp.BlobError("duplicate hash fields")
    if not h:
        return None
    h.update_encoding(r.config)
    return h


def _load_hash(r: Reader) -> Any:
    n = r.length()
    flat = []
    for _ in range(n):
        flat.append(r.string())
        flat.append(r.string())
    return _make_hash(r, flat)


def _load_hash_zipmap(r: Reader) -> Any:
    return _make_hash(r, lp.zipmap_decode(r.string()))


def _load_hash_ziplist(r: Reader) -> Any:
    return _make_hash(r, lp.zl_decode(r.string()))


def _load_hash_listpack(r: Reader) -> Any:
    return _make_hash(r, lp.lp_decode(r.string()))


def _make_zset(r: Reader, pairs: list[tuple[bytes, float]], from_compact: bool) -> Any:
    from pyredis.persistence.zset_codec import build_zset

    if not pairs:
        return None
    z = build_zset(r.config, pairs)
    if z is None:
        raise lp.BlobError("duplicate zset members")
    return z


def _load_zset(r: Reader) -> Any:
    n = r.length()
    pairs = []
    for _ in range(n):
        m = r.string()
        s = r.double_str()
        if s != s:
            raise r.fail("Zset with NAN score detected")
        pairs.append((m, s))
    return _make_zset(r, pairs, False)


def _load_zset2(r: Reader) -> Any:
    n = r.length()
    pairs = []
    for _ in range(n):
        m = r.string()
        s = r.double_bin()
        if s != s:
            raise r.fail("Zset with NAN score detected")
        pairs.append((m, s))
    return _make_zset(r, pairs, False)


def _score(b: bytes | int) -> float:
    if type(b) is int:
        return float(b)
    v = float(b)
    if v != v:
        raise ValueError("nan score")
    return v


def _load_zset_compact(r: Reader, decode: Callable[..., list]) -> Any:
    items = decode(r.string(), ints=True)
    if len(items) % 2:
        raise lp.BlobError("odd number of zset elements")
    pairs = []
    for i in range(0, len(items), 2):
        m = items[i]
        if type(m) is int:
            m = b"%d" % m
        pairs.append((m, _score(items[i + 1])))
    return _make_zset(r, pairs, True)


def _load_zset_ziplist(r: Reader) -> Any:
    return _load_zset_compact(r, lp.zl_decode)


def _load_zset_listpack(r: Reader) -> Any:
    return _load_zset_compact(r, lp.lp_decode)


def _load_stream(r: Reader, version: int) -> Any:
    from pyredis.persistence.stream_codec import decode_stream

    return decode_stream(r, version)


_INTEGRITY = {
    T_HASH_ZIPMAP: "Zipmap integrity check failed.", T_LIST_ZIPLIST: "List ziplist integrity check failed.",
    T_SET_INTSET: "Intset integrity check failed.", T_ZSET_ZIPLIST: "Zset ziplist integrity check failed.",
    T_HASH_ZIPLIST: "Hash ziplist integrity check failed.", T_LIST_QUICKLIST: "Quicklist integrity check failed.",
    T_LIST_QUICKLIST_2: "Quicklist integrity check failed.", T_HASH_LISTPACK: "Hash listpack integrity check failed.",
    T_ZSET_LISTPACK: "Zset listpack integrity check failed.",
    T_STREAM_LISTPACKS: "Stream listpack integrity check failed.",
    T_STREAM_LISTPACKS_2: "Stream listpack integrity check failed.",
}

_LOADERS: dict[int, Callable[[Reader], Any]] = {
    T_LIST: _load_list_plain,
    T_SET: _load_set,
    T_ZSET: _load_zset,
    T_HASH: _load_hash,
    T_ZSET_2: _load_zset2,
    T_HASH_ZIPMAP: _load_hash_zipmap,
    T_LIST_ZIPLIST: _load_list_ziplist,
    T_SET_INTSET: _load_set_intset,
    T_ZSET_ZIPLIST: _load_zset_ziplist,
    T_HASH_ZIPLIST: _load_hash_ziplist,
    T_LIST_QUICKLIST: _load_list_quicklist,
    T_STREAM_LISTPACKS: lambda r: _load_stream(r, 1),
    T_HASH_LISTPACK: _load_hash_listpack,
    T_ZSET_LISTPACK: _load_zset_listpack,
    T_LIST_QUICKLIST_2: _load_list_quicklist2,
    T_STREAM_LISTPACKS_2: lambda r: _load_stream(r, 2),
}


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
                  every: int = 0, stats: Any = None):
    """Generator form of :func:`load_rdb_bytes`: yields the offset reached every *every* bytes
    (0: never) so that a caller can serve clients meanwhile; returns the LoadResult."""
    try:
        return (yield from _load_rdb(server, data, check_crc, skip_expired, into, pos, replace_functions,
                                     on_key, every, stats))
    except RDBError as e:
        if not hasattr(e, "offset"):
            e.offset = pos  # type: ignore[attr-defined]
        raise


def _load_rdb(server: Any, data: bytes, check_crc: bool, skip_expired: bool, into: list | None, pos: int,
              replace_functions: bool, on_key: Callable[[int, bytes, Any, int | None], None] | None,
              every: int, stats: Any):
    res = LoadResult()
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
    r = Reader(data, cfg, pos + 9)
    ks = server.keyspace
    ndbs = len(ks.dbs)
    if into is None:
        targets = [(db.data, db.expires) for db in ks.dbs]
    else:
        targets = into
    load_fn = server.extensions.get("rdb_load_function")
    load_delay = cfg.values.get("key-load-delay", 0) if hasattr(cfg, "values") else 0
    next_yield = pos + every if every else len(data) + 1
    try:
        yield from _load_loop(r, res, server, data, skip_expired, into, replace_functions, on_key, next_yield,
                              every, stats, targets, ks, ndbs, load_fn, load_delay)
    except RDBError as e:
        e.offset = r.pos  # type: ignore[attr-defined]
        raise
    if version >= 5:
        if r.pos + 8 > len(data):
            e = RDBError("Unexpected EOF reading RDB file")
            e.offset = r.pos  # type: ignore[attr-defined]
            raise e
        expected = _unpack_Q(data, r.pos)[0]
        if check_crc and cfg["rdbchecksum"] and expected != 0:
            got = crc64(0, memoryview(data)[pos : r.pos])
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
    while True:
        if r.pos >= next_yield:
            if stats is not None:
                stats.loaded = r.pos
            yield r.pos
            next_yield = r.pos + every
            now = int(time.time() * 1000)
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
        val = r.value(t)
        when, expire = expire, None
        if load_delay:
            _key_delay(load_delay)
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


# ==================================================================================================
# DUMP payloads
# ==================================================================================================
def dump_payload(value: Any, config: Any) -> bytes:
    """DUMP's serialization: type + value, RDB version (2 bytes LE), CRC64 (8 bytes LE)."""
    enc = Encoder(config, config["rdbcompression"])
    body = enc.encode(value) + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(0, body))


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


def load_payload(payload: bytes, config: Any) -> Any:
    """The value a DUMP payload holds; raises :class:`RDBError` when it is malformed.

    Like Redis, the value is read from the whole payload (footer included) and trailing bytes
    are ignored.
    """
    r = Reader(payload, config)
    t = r.byte()
    val = r.value(t)
    if val is None:
        raise RDBError("Bad data format")
    return val
