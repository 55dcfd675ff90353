"""DEBUG subcommands that describe one value or table: OBJECT, SDSLEN, LISTPACK, QUICKLIST, HTSTATS[-KEY].

The figures follow redis-server 7.0's layout for the same data (see :mod:`pyredis.engine.lowlevel`);
``serializedlength`` is the length of the value's RDB serialization, as Redis computes it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from pyredis.commands.debug import _long_arg, atoi, debug_subcommand, exactly
from pyredis.commands.errors import CommandError
from pyredis.engine.hash import HashValue
from pyredis.engine.list import ListValue
from pyredis.engine.lowlevel import dict_stats, held_table_size, sdslen_report
from pyredis.engine.set import SetValue
from pyredis.engine.types import encoding_of, object_refcount
from pyredis.engine.zset import ZSetValue
from pyredis.protocol.types import Status, Verbatim

NO_SUCH_KEY = "ERR no such key"
LRU_CLOCK_MAX = (1 << 24) - 1
LP_HEADER = 7  # total bytes (4) + count (2) + end marker (1)


def _stored(c, key: bytes) -> Any:
    """The stored value (even when logically expired, like Redis's ``dictFind``) or ``no such key``."""
    v = c.db.data.get(key)
    if v is None:
        raise CommandError(NO_SUCH_KEY)
    return v


def quicklist_nodes(items: list[bytes], fill: int, packed_threshold: int) -> list[tuple[int, int]]:
    """(entries, listpack bytes) of each node of the quicklist Redis builds by pushing *items*.

    An element of *packed_threshold* bytes or more gets a plain node of its own (its size is the
    element's length); others fill listpacks up to the ``list-max-listpack-size`` limit.
    """
    if fill < 0:
        max_bytes, max_count = 4096 << (min(-fill, 5) - 1), 1 << 62
    else:
        max_bytes, max_count = 8192, max(fill, 1)
    from pyredis.persistence import listpack as lp

    nodes: list[tuple[int, int]] = []
    count, size = 0, LP_HEADER
    for item in items:
        if len(item) >= packed_threshold:
            if count:
                nodes.append((count, size))
                count, size = 0, LP_HEADER
            nodes.append((1, len(item)))
            continue
        e = len(lp.lp_entry(item))
        if count and (size + e > max_bytes or count >= max_count):
            nodes.append((count, size))
            count, size = 0, LP_HEADER
        count += 1
        size += e
    if count:
        nodes.append((count, size))
    return nodes


def _ql_extra(c, v: ListValue) -> str:
    vals = c.server.config.values
    nodes = quicklist_nodes(list(v), vals["list-max-listpack-size"], c.server.debug.packed_threshold)
    n = len(nodes) or 1
    total = sum(cnt for cnt, _ in nodes)
    return (f" ql_nodes:{len(nodes)} ql_avg_node:{total / n:.2f} ql_listpack_max:{vals['list-max-listpack-size']}"
            f" ql_compressed:{1 if vals['list-compress-depth'] else 0}"
            f" ql_uncompressed_size:{sum(sz for _, sz in nodes)}")


@debug_subcommand("object", exactly(3))
def _object(c, argv):
    key = argv[2]
    v = _stored(c, key)
    cfg = c.server.config
    enc = encoding_of(v, cfg).decode()
    from pyredis.persistence.rdb_types import Encoder  # the RDB codec loads on first use

    rdb = Encoder(cfg, cfg["rdbcompression"])
    rdb.packed_threshold = c.server.debug.packed_threshold
    serialized = len(rdb.encode(v)) - 1  # without the type byte
    idle = c.db.idle_time(key)
    lru = (int(time.time()) - idle) & LRU_CLOCK_MAX
    extra = _ql_extra(c, v) if type(v) is ListValue else ""
    rc = object_refcount(v, c.server.config)
    return Status(f"Value at:0x{id(v):x} refcount:{rc} encoding:{enc} serializedlength:{serialized} "
                  f"lru:{lru} lru_seconds_idle:{idle}{extra}".encode())


@debug_subcommand("sdslen", exactly(3))
def _sdslen(c, argv):
    key = argv[2]
    v = _stored(c, key)
    if type(v) is not bytes or encoding_of(v, c.server.config) == b"int":
        raise CommandError("ERR Not an sds encoded string.")
    return Status(sdslen_report(key, v).encode())


def _listpack_items(v: Any) -> list[bytes] | None:
    """The flat listpack content of a listpack-encoded hash or zset, None for other encodings."""
    if type(v) is HashValue and not v.big:
        return [x for kv in v.items() for x in kv]
    if type(v) is ZSetValue and not v.big:
        return [x for m, s in v.items_ordered() for x in (m, b"%.17g" % s)]
    return None


def _print_listpack(items: list[bytes]) -> None:
    from pyredis.persistence import listpack as lp

    entries = [lp.lp_entry(x) for x in items]
    out = [f"{{total bytes {LP_HEADER + sum(map(len, entries))}}} {{num entries {len(items)}}}"]
    pos = 6
    for i, (x, e) in enumerate(zip(items, entries, strict=True)):
        out.append(f"{{\n\taddr: 0x{pos:x},\n\tindex: {i:2d},\n\toffset: {pos:1d},\n\thdr+entrylen+backlen: {len(e)},"
                   f"\n\tstring: {x.decode('latin-1')!r}\n}}")
        pos += len(e)
    out.append("{end}\n")
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


@debug_subcommand("listpack", exactly(3))
def _listpack(c, argv):
    v = _stored(c, argv[2])
    items = _listpack_items(v)
    if items is None:
        raise CommandError("ERR Not a listpack encoded object.")
    _print_listpack(items)
    return Status(b"Listpack structure printed on stdout")


@debug_subcommand("quicklist", lambda argc: argc in (3, 4))
def _quicklist(c, argv):
    v = _stored(c, argv[2])
    full = atoi(argv[3]) if len(argv) == 4 else 0
    if type(v) is not ListValue:
        raise CommandError("ERR Not a quicklist encoded object.")
    vals = c.server.config.values
    nodes = quicklist_nodes(list(v), vals["list-max-listpack-size"], c.server.debug.packed_threshold)
    out = [f"{{count : {len(v)}}}", f"{{len : {len(nodes)}}}", f"{{fill : {vals['list-max-listpack-size']}}}",
           f"{{compress : {vals['list-compress-depth']}}}", "{bookmark_count : 0}"]
    for i, (cnt, sz) in enumerate(nodes):
        out.append(f"{{quicklist node({i})\n{{container : {'PACKED' if cnt > 1 or sz < 1 << 30 else 'PLAIN'}, "
                   f"count : {cnt}, sz : {sz}, encoding : RAW}}}}")
        if full:
            out.append("(listpack contents not shown)")
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    return Status(b"Quicklist structure printed on stdout")


@debug_subcommand("htstats", exactly(3))
def _htstats(c, argv):
    dbid = _long_arg(argv[2])
    dbs = c.server.keyspace.dbs
    if dbid < 0 or dbid >= len(dbs):
        raise CommandError("ERR Out of range database")
    db = dbs[dbid]
    nkeys, nexp = len(db.data), len(db.expires)
    size_keys = size_exp = 0
    child = c.server.persistence.child
    if child is not None and dbid < len(child.dict_used):  # no rehash while a child process runs
        size_keys = held_table_size(nkeys, child.dict_used[dbid][0])
        size_exp = held_table_size(nexp, child.dict_used[dbid][1])
    text = ("[Dictionary HT]\n" + dict_stats(db.data.keys(), nkeys, size_keys)
            + "[Expires HT]\n" + dict_stats(db.expires.keys(), nexp, size_exp))
    return Verbatim(text.encode())


@debug_subcommand("htstats-key", exactly(3))
def _htstats_key(c, argv):
    v = _stored(c, argv[2])
    if type(v) is SetValue and v.big or type(v) is HashValue and v.big:
        keys: Any = v
    elif type(v) is ZSetValue and v.big:
        keys = v.d
    else:
        raise CommandError("ERR The value stored at the specified key is not represented using an hash table")
    return Verbatim(dict_stats(keys, len(keys)).encode())
