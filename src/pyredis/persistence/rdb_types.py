"""Per-type RDB codecs: :class:`Encoder` (value -> type byte + payload, the encodings redis-server
7.0 writes) and :func:`load_value` (type byte + payload -> value, every encoding 7.0 can load).

Strings are integer / LZF / raw encoded; lists as quicklist-2 nodes of listpacks; hashes and sorted
sets as listpacks while small; intsets for small integer sets; streams through
:mod:`stream_codec`. Old encodings (linked lists, ziplists, zipmaps, quicklist v1, string-encoded
zset scores, stream format 1) are decoded only.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from typing import Any

from pyredis.persistence import listpack as lp
from pyredis.persistence.accel import fast as _fast
from pyredis.persistence.rdb_format import (
    _LEN1,
    PACKED_THRESHOLD,
    QUICKLIST_PACKED,
    QUICKLIST_PLAIN,
    T_HASH,
    T_HASH_LISTPACK,
    T_HASH_ZIPLIST,
    T_HASH_ZIPMAP,
    T_LIST,
    T_LIST_QUICKLIST,
    T_LIST_QUICKLIST_2,
    T_LIST_ZIPLIST,
    T_MODULE,
    T_MODULE_2,
    T_SET,
    T_SET_INTSET,
    T_STREAM_LISTPACKS,
    T_STREAM_LISTPACKS_2,
    T_STRING,
    T_ZSET,
    T_ZSET_2,
    T_ZSET_LISTPACK,
    T_ZSET_ZIPLIST,
    RDBError,
    Reader,
    _pack_d,
    enc_len,
    enc_str,
    score_bytes,
)
from pyredis.persistence.stream_codec import decode_stream, encode_stream
from pyredis.persistence.unverified import LoadPanic, Unverified, shallow_listpack_ok


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
        #: elements this long or longer get a plain quicklist node (DEBUG QUICKLIST-PACKED-THRESHOLD)
        self.packed_threshold = PACKED_THRESHOLD
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
        if _fast is not None:
            return _fast.quicklist_nodes(v, max_bytes, max_count, self.compress, self.packed_threshold)
        return self.enc_list_py(v, max_bytes, max_count)

    def enc_list_py(self, v: Iterable[bytes], max_bytes: int, max_count: int) -> bytes:
        """The pure-Python quicklist writer (the reference of ``_rdbfast.quicklist_nodes``)."""
        nodes: list[bytes] = []
        entries: list[bytes] = []
        size = 7
        entry = lp.lp_entry_py
        comp = self.compress
        threshold = self.packed_threshold
        for item in v:
            if len(item) >= threshold:
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
            return b"\x10" + enc_str(lp.lp_encode_pairs(v), comp)
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
        return encode_stream(self, v)


def _lp_from_entries(entries: list[bytes]) -> bytes:
    body = b"".join(entries)
    n = len(entries)
    return struct.pack("<IH", len(body) + 7, n if n < 65535 else 65535) + body + b"\xff"



def zset_items(v: Any) -> list[tuple[bytes, float]]:
    """(member, score) pairs of a sorted set in ascending order."""
    return [(m, s) for s, m in v.sl]


def zset_is_big(v: Any) -> bool:
    return bool(v.big)


def load_value(r: Reader, t: int) -> Any:
    """Load a value of RDB type *t*; returns None for an empty collection (to be skipped)."""
    if t == T_STRING:
        return r.string()
    fn = _LOADERS.get(t)
    if fn is None:
        if t == T_MODULE_2:
            from pyredis.modules.datatype import load_module_value

            return load_module_value(r)
        if t == T_MODULE:
            raise r.fail("The RDB file contains module data I can't load: no matching module type")
        raise r.fail("Unknown RDB encoding type %d" % t)
    start = r.pos
    try:
        return fn(r)
    except RDBError:
        raise
    except (lp.BlobError, struct.error, IndexError, ValueError, OverflowError, TypeError, KeyError) as e:
        err = r.fail("%s (%s)" % (_INTEGRITY.get(t, "Data integrity check failed."), e))
        shallow = _SHALLOW.get(t)
        if shallow is None or getattr(r, "deep", True):
            raise err from None
    r.pos = start
    shallow(r)  # raises when Redis's own (header) checks reject it too
    raise Unverified(str(err))


def _shallow_hash_listpack(r: Reader) -> None:
    if not shallow_listpack_ok(r.string()):
        raise r.fail("Hash listpack integrity check failed.")


def _shallow_quicklist2(r: Reader) -> None:
    n = r.length()
    for _ in range(n):
        container = r.length()
        if container not in (QUICKLIST_PACKED, QUICKLIST_PLAIN):
            raise r.fail("Quicklist integrity check failed.")
        blob = r.string()
        if not blob:
            raise r.fail("Quicklist integrity check failed.")
        if container == QUICKLIST_PACKED and not shallow_listpack_ok(blob):
            raise r.fail("Listpack integrity check failed.")


#: Redis's checks of the blobs it keeps as they are when deep sanitization is off.
_SHALLOW: dict[int, Callable[[Reader], None]] = {
    T_HASH_LISTPACK: _shallow_hash_listpack,
    T_LIST_QUICKLIST_2: _shallow_quicklist2,
}


def fast_builders(config: Any) -> dict[int, Callable[..., Any]]:
    """Value constructors for ``_rdbfast.read_records``: ``{type: fn(items, longest) -> value}``
    for the encodings it decodes itself (hash and zset listpacks, intsets, plain sets, quicklist 2).

    *items* are the decoded elements (zsets: ``(member, score)`` pairs, and a third argument: the
    same as ``(score, member)`` when the listpack held them in order with no zero score, else None),
    *longest* the longest element's length. Each does what the matching ``_load_*``/``_make_*`` pair
    does and raises on what they reject (the record is then re-read by the Python loader, which
    reports it).
    """
    from pyredis.engine.hash import HashValue
    from pyredis.engine.list import ListValue
    from pyredis.engine.set import SetValue
    from pyredis.engine.zset import ZSetValue
    from pyredis.persistence.zset_codec import build_zset

    v = config.values if hasattr(config, "values") else config
    h_entries, h_value = v["hash-max-listpack-entries"], v["hash-max-listpack-value"]
    s_entries = v["set-max-intset-entries"]
    z_entries, z_value = v["zset-max-listpack-entries"], v["zset-max-listpack-value"]
    from_sorted = ZSetValue.from_sorted
    update_flat = getattr(HashValue, "update_flat", None)  # the accelerator's KeyTable

    def hash_listpack(flat: list, longest: int) -> Any:
        if len(flat) % 2:
            raise lp.BlobError("odd number of hash elements")
        if update_flat is not None:
            h = HashValue.__new__(HashValue)  # .big is set below
            update_flat(h, flat)
        else:
            it = iter(flat)
            h = HashValue(zip(it, it, strict=False))  # the length was checked even
        if len(h) * 2 != len(flat):
            raise lp.BlobError("duplicate hash fields")
        h.big = len(h) > h_entries or longest > h_value
        return h

    def set_plain(members: list, longest: int) -> Any:
        s = SetValue.build(members, config)
        if len(s) != len(members):
            raise lp.BlobError("duplicate set members")
        return s

    def set_intset(members: list, longest: int) -> Any:
        s = SetValue(members)  # the intset was checked strictly ascending: no duplicates
        s.big = len(s) > s_entries
        return s

    def zset_listpack(pairs: list, longest: int, entries: list | None = None) -> Any:
        if entries is not None:
            z = from_sorted(pairs, entries, len(pairs) > z_entries or longest > z_value)
            if len(z) != len(pairs):
                z = None
        else:
            z = build_zset(config, pairs, longest)
        if z is None:
            raise lp.BlobError("duplicate zset members")
        return z

    def list_quicklist2(items: list, longest: int) -> Any:
        return ListValue(items)

    return {T_SET: set_plain, T_HASH_LISTPACK: hash_listpack, T_SET_INTSET: set_intset, T_ZSET_LISTPACK: zset_listpack,
            T_LIST_QUICKLIST_2: list_quicklist2}


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
    flat = lp.lp_decode(r.string())
    if not getattr(r, "deep", True) and len(flat) > 2 * _cfg(r, "hash-max-listpack-entries"):
        # unsanitized: Redis converts it to a dict here and panics on a duplicate field
        if len(set(flat[0::2])) * 2 != len(flat) and not len(flat) % 2:
            raise LoadPanic("Listpack corruption detected", "t_hash.c:1161", hexdump="listpack with dup elements")
    return _make_hash(r, flat)


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


# what C strtod() reads from the start of a string: decimal and hex floats, inf/infinity, nan
_STRTOD = re.compile(rb"[ \t\n\v\f\r]*([+-]?(?:(0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)"
                     rb"(?:[pP][+-]?[0-9]+)?)|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN]))")


def _score(b: bytes | int) -> float:
    """A compact zset's score as Redis reads it (``zzlStrtod``: ``strtod`` of the first 127 bytes,
    trailing garbage ignored, 0 when nothing parses). NaN is refused (Redis keeps it, then asserts)."""
    if type(b) is int:
        return float(b)
    m = _STRTOD.match(b[:127])
    if m is None:
        return 0.0
    text = m.group(1)
    v = float.fromhex(text.decode()) if m.group(2) else float(text)
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

