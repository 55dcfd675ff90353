"""DEBUG DIGEST / DIGEST-VALUE: an order-independent SHA1 digest of the dataset, like Redis's.

Unordered collections (sets, hashes) are combined with XOR so their digest does not depend on
iteration order; ordered ones (lists, sorted sets, streams) are hashed in order.
"""

from __future__ import annotations

from hashlib import sha1
from typing import Any

ZERO = b"\0" * 20


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(20, "big")


def value_digest(v: Any) -> bytes:
    """The 20-byte digest of one value."""
    if type(v) is bytes:
        return sha1(b"string\0" + v).digest()
    module_digest = getattr(v, "module_digest", None)  # a module type (pyredis.modules)
    if module_digest is not None:
        return module_digest()
    name = v.TYPE_NAME
    acc = ZERO
    if isinstance(v, dict):
        for k, x in v.items():
            acc = _xor(acc, sha1(k + b"\0" + x).digest())
    elif isinstance(v, (set, frozenset)):
        for m in v:
            acc = _xor(acc, sha1(m).digest())
    elif hasattr(v, "items_ordered"):
        h = sha1()
        for m, score in v.items_ordered():
            h.update(b"%d:%s%r" % (len(m), m, score).encode() if isinstance(m, str) else
                     b"%d:" % len(m) + m + repr(score).encode())
        acc = h.digest()
    elif name == b"stream":
        h = sha1()
        for eid, fields in v.entries():
            h.update(b"%d" % eid)
            for f in fields:
                h.update(b"%d:" % len(f) + f)
        h.update(b"%d-%d-%d" % (v.last_id, v.length, len(v.groups)))
        acc = h.digest()
    else:
        h = sha1()
        for item in v:
            h.update(b"%d:" % len(item) + item)
        acc = h.digest()
    return sha1(name + b"\0" + acc).digest()


def dataset_digest(keyspace: Any) -> str:
    """Hex digest of every database (40 zeros for an empty dataset, as Redis)."""
    acc = ZERO
    empty = True
    for db in keyspace.dbs:
        for key in db.keys():
            v = db.data[key]
            empty = False
            d = sha1(b"db%d\0" % db.id + key + b"\0" + value_digest(v))
            when = db.expires.get(key)
            if when is not None:
                d.update(b"!!expire!!%d" % when)
            acc = _xor(acc, d.digest())
    return "0" * 40 if empty else acc.hex()
