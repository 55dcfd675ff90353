"""Streams in RDB (types 15 and 19) and as AOF rewrite commands.

Each radix-tree node is stored as its 16-byte master ID followed by a listpack::

    count, deleted, num-fields, field_1..field_N, 0            (master entry)
    flags, ms-diff, seq-diff, [num-fields, f, v, ...] | [v...], lp-count   (each entry)

``flags`` has bit 1 for a deleted entry and bit 2 when the entry uses the master fields
(only the values are stored then). After the nodes: length, last ID, (type 19) first ID, max
deleted ID, entries added, then the consumer groups with their PEL and consumers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pyredis.persistence import listpack as lp
from pyredis.persistence.rdb_format import RDBError, Reader, enc_len, enc_str
from pyredis.persistence.unverified import (
    LoadPanic,
    Unverified,
    first_entry_readable,
    last_valid_id_missing,
    shallow_listpack_ok,
)

MAX64 = (1 << 64) - 1
F_DELETED, F_SAMEFIELDS = 1, 2


def _raw_id(eid: int) -> bytes:
    return eid.to_bytes(16, "big")


def _wrap(d: int) -> int:
    d &= MAX64
    return d - (1 << 64) if d >> 63 else d


def encode_stream(enc: Any, s: Any) -> bytes:
    comp = enc.compress
    parts: list[bytes] = []
    nodes = [n for n in s.nodes if n.ids]
    parts.append(b"\x13")
    parts.append(enc_len(len(nodes)))
    entry = lp.lp_entry
    for node in nodes:
        mid = node.master_id
        mms, mseq = mid >> 64, mid & MAX64
        fields = node.fields
        nf = len(fields)
        ents = [entry(len(node.ids)), entry(0), entry(nf)]
        ents.extend(entry(f) for f in fields)
        ents.append(entry(0))
        for eid, fv in zip(node.ids, node.values, strict=True):
            msd = entry(_wrap((eid >> 64) - mms))
            seqd = entry(_wrap((eid & MAX64) - mseq))
            n = len(fv) >> 1
            if n == nf and fv[0::2] == fields:
                ents.append(entry(F_SAMEFIELDS))
                ents.append(msd)
                ents.append(seqd)
                ents.extend(entry(v) for v in fv[1::2])
                ents.append(entry(n + 3))
            else:
                ents.append(entry(0))
                ents.append(msd)
                ents.append(seqd)
                ents.append(entry(n))
                ents.extend(entry(x) for x in fv)
                ents.append(entry(2 * n + 4))
        body = b"".join(ents)
        cnt = len(ents)
        blob = (len(body) + 7).to_bytes(4, "little") + (cnt if cnt < 65535 else 65535).to_bytes(2, "little") \
            + body + b"\xff"
        parts.append(enc_str(_raw_id(mid), comp))
        parts.append(enc_str(blob, comp))
    last = s.last_id
    first = s.first_id
    maxdel = s.max_deleted_id
    parts.append(enc_len(s.length))
    parts.append(enc_len(last >> 64) + enc_len(last & MAX64))
    parts.append(enc_len(first >> 64) + enc_len(first & MAX64))
    parts.append(enc_len(maxdel >> 64) + enc_len(maxdel & MAX64))
    parts.append(enc_len(s.entries_added & MAX64))
    parts.append(enc_len(len(s.groups)))
    for name, g in s.groups.items():
        parts.append(enc_str(name, comp))
        parts.append(enc_len(g.last_id >> 64) + enc_len(g.last_id & MAX64))
        parts.append(enc_len(g.entries_read & MAX64))
        parts.append(enc_len(len(g.pel)))
        for eid, pe in g.pel.items():
            parts.append(_raw_id(eid) + (pe.delivery_time & MAX64).to_bytes(8, "little") + enc_len(pe.delivery_count))
        parts.append(enc_len(len(g.consumers)))
        for cname, c in g.consumers.items():
            parts.append(enc_str(cname, comp))
            parts.append((c.seen_time & MAX64).to_bytes(8, "little"))
            parts.append(enc_len(len(c.pel)))
            parts.extend(_raw_id(eid) for eid in c.pel)
    return b"".join(parts)


def _b(x: bytes | int) -> bytes:
    return x if type(x) is bytes else b"%d" % x


def _signed(n: int) -> int:
    return n - (1 << 64) if n >> 63 else n


def decode_stream(r: Reader, version: int) -> Any:
    from pyredis.engine.stream import ConsumerGroup, PendingEntry, StreamValue

    s = StreamValue()
    nnodes = r.length()
    prev_last = -1
    deep = getattr(r, "deep", True)
    blobs: dict[int, bytes] = {}  # the radix tree: node key -> listpack
    bad = ""  # unsanitized: why a node (that passed Redis's header checks) does not decode
    for _ in range(nnodes):
        key = r.string()
        if len(key) != 16:
            raise RDBError("Stream node key entry is not the size of a stream ID")
        mid = int.from_bytes(key, "big")
        blob = r.string()
        if not deep:
            if not shallow_listpack_ok(blob):
                raise RDBError("Stream listpack integrity check failed.")
            if blob[6] == 0xFF:
                raise RDBError("Empty listpack inside stream")
        if mid in blobs:
            raise RDBError("Listpack re-added with existing key")
        blobs[mid] = blob
        if not deep:
            try:
                prev_last = _decode_node(s, mid, blob, prev_last)
            except (lp.BlobError, IndexError, ValueError, TypeError, KeyError, struct.error) as e:
                bad = bad or "Stream listpack integrity check failed. (%s)" % e
            continue
        prev_last = _decode_node(s, mid, blob, prev_last)
    length = r.length()
    if length and not blobs:
        raise RDBError("Stream length inconsistent with rax entries")
    if length != s.length and not bad:
        if deep:
            raise lp.BlobError("stream length")
        bad = "stream length %d, entries %d" % (length, s.length)
    s.last_id = (r.length() << 64) | r.length()
    if version >= 2:
        s.first_id = (r.length() << 64) | r.length()
        s.max_deleted_id = (r.length() << 64) | r.length()
        s.entries_added = r.length()
    else:
        s.first_id = s.nodes[0].ids[0] if s.nodes else 0
        s.max_deleted_id = 0
        s.entries_added = s.length
    ngroups = r.length()
    for _ in range(ngroups):
        name = r.string()
        glast = (r.length() << 64) | r.length()
        if version >= 2:
            entries_read = _signed(r.length())
        else:
            est = getattr(s, "estimate_read_counter", None)
            entries_read = est(glast) if est is not None else -1
        if name in s.groups:
            raise RDBError("Duplicated consumer group name")
        g = ConsumerGroup(name, glast, entries_read)
        s.groups[name] = g
        npel = r.length()
        for _ in range(npel):
            eid = int.from_bytes(r.raw(16), "big")
            dt = r.ms_time()
            dc = r.length()
            if eid in g.pel:
                raise RDBError("Duplicated global PEL entry loading stream consumer group")
            g.pel[eid] = PendingEntry(None, dt, dc)
        ncons = r.length()
        for _ in range(ncons):
            cname = r.string()
            seen = r.ms_time()
            if cname in g.consumers:
                raise RDBError("Duplicate stream consumer detected.")
            c = g.add_consumer(cname, seen)
            n = r.length()
            for _ in range(n):
                eid = int.from_bytes(r.raw(16), "big")
                pe = g.pel.get(eid)
                if pe is None:
                    raise RDBError("Consumer entry not found in group global PEL")
                if pe.consumer is not None:
                    raise RDBError("Stream consumer PEL entry already has a consumer assigned")
                pe.consumer = c
                c.pel[eid] = pe
        for pe in g.pel.values():
            if pe.consumer is None:  # checked by deep sanitization only: XPENDING would crash Redis
                if deep:
                    raise RDBError("Stream CG PEL entry without consumer")
                bad = bad or "Stream CG PEL entry without consumer"
    if bad:
        if version < 2 and not first_entry_readable([blobs[k] for k in sorted(blobs)]):  # Redis walks to the first ID loading it
            raise LoadPanic("lpValidateNext(lp, &p, lpBytes(lp))", "listpack.c:1373", assertion=True)
        nodes = [blobs[k] for k in sorted(blobs)]
        raise Unverified(bad, length if length and last_valid_id_missing(nodes) else 0)
    return s


def _decode_node(s: Any, mid: int, blob: bytes, prev_last: int) -> int:
    """Decode one node's listpack into *s*; returns the last live ID (for the ascending check)."""
    if blob[4:6] != b"\xff\xff":  # streamValidateListpackIntegrity does not check the header's count
        blob = blob[:4] + b"\xff\xff" + blob[6:]
    items = lp.lp_decode(blob, ints=True)
    if not items:
        raise lp.BlobError("Empty listpack inside stream")
    mms, mseq = mid >> 64, mid & MAX64
    try:
        count, deleted, nf = items[0], items[1], items[2]
        if type(count) is not int or type(deleted) is not int or type(nf) is not int or nf < 0:
            raise lp.BlobError("stream master entry")
        fields = [_b(x) for x in items[3 : 3 + nf]]
        p = 3 + nf
        if items[p] != 0:
            raise lp.BlobError("stream master entry terminator")
        p += 1
        entries = []
        seen_deleted = 0
        last = mid
        n = len(items)
        while p < n:
            flags, msd, seqd = items[p], items[p + 1], items[p + 2]
            p += 3
            eid = (((mms + msd) & MAX64) << 64) | ((mseq + seqd) & MAX64)
            if flags & F_SAMEFIELDS:
                vals = items[p : p + nf]
                p += nf
                fv: list[bytes] = []
                for f, v in zip(fields, vals, strict=True):
                    fv.append(f)
                    fv.append(_b(v))
                want = nf + 3
            else:
                k = items[p]
                p += 1
                fv = [_b(x) for x in items[p : p + 2 * k]]
                if len(fv) != 2 * k:
                    raise lp.BlobError("stream entry")
                p += 2 * k
                want = 2 * k + 4
            if items[p] != want:
                raise lp.BlobError("stream entry lp-count")
            p += 1
            if p > n:
                raise lp.BlobError("stream entry")
            if eid <= prev_last and not (flags & F_DELETED):
                raise lp.BlobError("stream IDs not ascending")
            last = eid
            if flags & F_DELETED:
                seen_deleted += 1
                continue
            entries.append((eid, fv))
            prev_last = eid
    except (IndexError, ValueError, TypeError):
        raise lp.BlobError("stream listpack") from None
    if len(entries) != count:
        raise lp.BlobError("stream node entry count")
    if entries:
        s.load_node(mid, fields, entries, deleted=seen_deleted, last_id=last)
    return prev_last


def rewrite_stream(key: bytes, s: Any, emit: Callable[[list[bytes]], None]) -> None:
    """Commands recreating stream *s* (XADD..., XSETID, XGROUP CREATE, XCLAIM, CREATECONSUMER)."""
    from pyredis.engine.stream import format_id

    if s.length:
        for node in s.nodes:
            for eid, fv in zip(node.ids, node.values, strict=True):
                emit([b"XADD", key, format_id(eid), *fv])
    else:
        emit([b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"])
    emit([b"XSETID", key, format_id(s.last_id), b"ENTRIESADDED", b"%d" % s.entries_added,
          b"MAXDELETEDID", format_id(s.max_deleted_id)])
    for name, g in s.groups.items():
        emit([b"XGROUP", b"CREATE", key, name, format_id(g.last_id), b"ENTRIESREAD", b"%d" % g.entries_read])
        for cname, c in g.consumers.items():
            if not c.pel:
                emit([b"XGROUP", b"CREATECONSUMER", key, name, cname])
                continue
            for eid, pe in c.pel.items():
                emit([b"XCLAIM", key, name, cname, b"0", format_id(eid), b"TIME", b"%d" % pe.delivery_time,
                      b"RETRYCOUNT", b"%d" % pe.delivery_count, b"JUSTID", b"FORCE"])
