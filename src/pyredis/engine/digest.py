"""DEBUG DIGEST / DIGEST-VALUE: the dataset digest redis-server 7.0 computes, bit for bit.

Two ways of folding data into a 20-byte digest ``D`` are used:

* *xor*: ``D ^= SHA1(data)`` -- order independent (set members; hash fields, zset members and keys
  xor in the SHA1 of their own 20-byte digest);
* *mix*: ``D = SHA1(D ^ SHA1(data))`` -- order dependent (list elements, stream entries).

A value's digest starts from zero, mixes its type code (4 bytes, big endian), then its contents;
a key that has a TTL xors in the literal ``!!expire!!`` (the time itself is not part of it).  The
dataset digest mixes each non-empty database's number (4 bytes, big endian) into the running
result and xors in, for every key, the digest that starts with the key mixed in and continues with
the value.  An empty dataset digests to twenty zero bytes.  Logically expired keys that are still
stored count, as in Redis (the digest does not look keys up, it walks the tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import sha1
from typing import Any

from pyredis.engine.hash import HashValue
from pyredis.engine.list import ListValue
from pyredis.engine.set import SetValue
from pyredis.engine.stream import MAX64, StreamValue
from pyredis.engine.zset import ZSetValue

ZERO = bytes(20)
#: Redis's object type codes (server.h ``OBJ_*``), as mixed into every value's digest.
TYPE_CODES: dict[type, int] = {bytes: 0, ListValue: 1, SetValue: 2, ZSetValue: 3, HashValue: 4, StreamValue: 6}
_EXPIRE_MARK = int.from_bytes(sha1(b"!!expire!!").digest(), "big")
#: SHA1 of each type code as mixed in (computed once).
_TYPE_HASH = {t: int.from_bytes(sha1(code.to_bytes(4, "big")).digest(), "big") for t, code in TYPE_CODES.items()}


_MODULE_HASH = int.from_bytes(sha1((5).to_bytes(4, "big")).digest(), "big")


def _h(data: bytes) -> int:
    return int.from_bytes(sha1(data).digest(), "big")


def _b(d: int) -> bytes:
    return d.to_bytes(20, "big")


def _mix(d: int, data: bytes) -> int:
    """``SHA1(d ^ SHA1(data))`` on 160-bit integers."""
    return int.from_bytes(sha1((d ^ _h(data)).to_bytes(20, "big")).digest(), "big")


def _mix_all(d: int, items: Iterable[bytes]) -> int:
    for item in items:
        d = _mix(d, item)
    return d


def format_score(score: float) -> bytes:
    """A sorted-set score as the digest sees it (C's ``%.17g``: ``inf``, ``-inf``, ``-0``...)."""
    return b"%.17g" % score


def _value_into(d: int, v: Any) -> int:
    """Fold value *v* into the running digest *d* (type code, then contents)."""
    t = type(v)
    th = _TYPE_HASH.get(t)
    if th is None:
        module_digest = getattr(v, "module_digest", None)  # a module type (pyredis.modules): OBJ_MODULE
        if module_digest is None:
            raise TypeError(f"no digest for values of type {t.__name__}")
        d = int.from_bytes(sha1((d ^ _MODULE_HASH).to_bytes(20, "big")).digest(), "big")
        x = module_digest()  # the type's digest callback's result, when it has one
        return d ^ _h(x) if x is not None else d
    d = int.from_bytes(sha1((d ^ th).to_bytes(20, "big")).digest(), "big")
    if t is bytes:
        return _mix(d, v)
    if t is ListValue:
        return _mix_all(d, v)
    if t is SetValue:
        for m in v:
            d ^= _h(m)
        return d
    if t is ZSetValue:
        for m, score in v.d.items():
            d ^= _h(_b(_mix(_mix(0, m), format_score(score))))
        return d
    if t is HashValue:
        for f, x in v.items():
            d ^= _h(_b(_mix(_mix(0, f), x)))
        return d
    # stream: every live entry in ID order, "ms.seq" then its fields and values
    for eid, fields in v.entries():
        d = _mix(d, b"%d.%d" % (eid >> 64, eid & MAX64))
        d = _mix_all(d, fields)
    return d


def _fold_value(d: int, v: Any, expiring: bool) -> int:
    d = _value_into(d, v)
    return d ^ _EXPIRE_MARK if expiring else d


def value_digest(v: Any, expiring: bool = False) -> bytes:
    """The 20-byte DEBUG DIGEST-VALUE of value *v* (*expiring*: the key has a TTL)."""
    return _fold_value(0, v, expiring).to_bytes(20, "big")


def key_digest(key: bytes, v: Any, expiring: bool) -> int:
    """One key's contribution to the dataset digest, as a 160-bit integer."""
    return _fold_value(_mix(0, key), v, expiring)


def dataset_digest_bytes(dbs: Iterable[Any]) -> bytes:
    """The 20-byte digest of the databases *dbs* (objects with ``id``, ``data``, ``expires``)."""
    final = 0
    for db in sorted(dbs, key=lambda db: db.id):
        data = db.data
        if not data:
            continue
        final = _mix(final, db.id.to_bytes(4, "big"))
        expires = db.expires
        for key, v in data.items():
            final ^= _h(_b(key_digest(key, v, key in expires)))
    return final.to_bytes(20, "big")


def dataset_digest(keyspace: Any) -> str:
    """Hex DEBUG DIGEST of every database of *keyspace* (40 zeros for an empty dataset)."""
    return dataset_digest_bytes(keyspace.dbs).hex()
