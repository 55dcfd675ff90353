"""HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

Values are strings in Redis's HLL layout (see :mod:`pyredis.engine.hll`).  Decoded values are kept
in a small identity-keyed cache so that a run of commands on the same key does not re-decode
the sparse opcodes each time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from pyredis.commands.errors import CommandError, WrongType
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.protocol.types import OK, Status

if TYPE_CHECKING:
    from pyredis.engine import hll as H
# The handlers import pyredis.engine.hll where they use it (its register masks are ~0.2 MB): a server
# that never sees a PF* command does not load it.

STRING = notify.STRING

HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID = "INVALIDOBJ Corrupted HLL object detected"

_CACHE: OrderedDict[int, tuple[bytes, H.HLL]] = OrderedDict()
_CACHE_SIZE = 32


def _take(value: object) -> H.HLL:
    """Decode a stored value for modification (WRONGTYPE unless it is a well-formed HLL)."""
    from pyredis.engine import hll as H

    if type(value) is not bytes:
        raise WrongType()
    hit = _CACHE.pop(id(value), None)
    if hit is not None and hit[0] is value:
        return hit[1]
    if not H.check(value):
        raise CommandError(HLL_WRONGTYPE)
    return H.HLL.load(value)


def _keep(value: bytes, h: H.HLL) -> None:
    _CACHE[id(value)] = (value, h)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def _store(c, key: bytes, h: H.HLL) -> bytes:
    value = h.dump()
    c.db.set(key, value, keep_ttl=True)
    _keep(value, h)
    return value


def _registers(value: object) -> tuple[bytes, bool]:
    """(one byte per register, is dense) of a stored value, without disturbing the cache."""
    from pyredis.engine import hll as H

    if type(value) is not bytes:
        raise WrongType()
    hit = _CACHE.get(id(value))
    if hit is not None and hit[0] is value:
        h = hit[1]
    else:
        if not H.check(value):
            raise CommandError(HLL_WRONGTYPE)
        if value[4] == H.DENSE:
            return H.unpack_dense(value[H.HDR_SIZE :]), True
        h = H.HLL.load(value)
    try:
        return h.registers(), not h.is_sparse
    except H.InvalidHLL:
        raise CommandError(INVALID) from None


def _signed(card: int) -> int:
    return card - (1 << 64) if card >> 63 else card


def _sparse_max(c) -> int:
    return c.server.config.values["hll-sparse-max-bytes"]


@command("pfadd", -2, "write denyoom fast", 1, 1, 1)
def cmd_pfadd(c, argv):
    from pyredis.engine import hll as H

    key = argv[1]
    v = c.db.get(key)
    if v is None:
        h = H.HLL.new()
        updated = 1
    else:
        h = _take(v)
        updated = 0
    maxb = _sparse_max(c)
    try:
        updated += h.add_many(argv[2:], maxb)
    except H.InvalidHLL as e:
        if updated or e.args[0]:
            # redis-server keeps the edits made before the corrupt spot (silently: no event).
            h.invalidate()
            _store(c, key, h)
        raise CommandError(INVALID) from None
    if not updated:
        _keep(v, h)
        return 0
    h.invalidate()
    _store(c, key, h)
    c.changed(key, STRING, b"pfadd")
    c.server.dirty += updated - 1
    return 1


@command("pfcount", -2, "readonly", 1, -1, 1)
def cmd_pfcount(c, argv):
    from pyredis.engine import hll as H

    db = c.db
    if len(argv) > 2:
        acc = 0
        for key in argv[1:]:
            v = db.lookup_read(key)
            if v is None:
                continue
            regs, _ = _registers(v)
            acc = H.lanes_max(acc, int.from_bytes(regs, "little"))
        return _signed(H.estimate(H.histogram(acc.to_bytes(H.REGISTERS, "little"))))
    key = argv[1]
    v = db.lookup_read(key)
    if v is None:
        return 0
    h = _take(v)
    card = h.cached()
    if card is not None:
        _keep(v, h)
        return _signed(card)
    try:
        card = h.count()
    except H.InvalidHLL:
        _keep(v, h)
        raise CommandError(INVALID) from None
    h.set_cache(card)
    _store(c, key, h)
    # The cached cardinality is part of the value: a change to propagate, not a keyspace event.
    db.signal_modified(key)
    c.server.dirty += 1
    return _signed(card)


@command("pfmerge", -2, "write denyoom", 1, -1, 1)
def cmd_pfmerge(c, argv):
    from pyredis.engine import hll as H

    db = c.db
    acc = 0
    use_dense = False
    for key in argv[1:]:
        v = db.lookup_read(key)
        if v is None:
            continue
        regs, dense = _registers(v)
        use_dense |= dense
        acc = H.lanes_max(acc, int.from_bytes(regs, "little"))
    dest = argv[1]
    v = db.get(dest)
    h = H.HLL.new() if v is None else _take(v)
    try:
        if use_dense and h.is_sparse:
            h.to_dense()
        h.merge_from(acc.to_bytes(H.REGISTERS, "little"), _sparse_max(c))
    except H.InvalidHLL:
        raise CommandError(INVALID) from None
    h.invalidate()
    _store(c, dest, h)
    c.changed(dest, STRING, b"pfadd")
    return OK


@command("pfdebug", 3, "write denyoom admin", 2, 2, 1)
def cmd_pfdebug(c, argv):
    from pyredis.engine import hll as H

    sub = argv[1].lower()
    key = argv[2]
    v = c.db.get(key)
    if v is None:
        raise CommandError("ERR The specified key does not exist")
    h = _take(v)
    try:
        if sub == b"getreg":
            if h.is_sparse:
                h.to_dense()
                _store(c, key, h)
                c.server.dirty += 1
            else:
                _keep(v, h)
            return list(h.registers())
        if sub == b"decode":
            _keep(v, h)
            if not h.is_sparse:
                raise CommandError("ERR HLL encoding is not sparse")
            return h.sparse.describe()  # type: ignore[union-attr]
        if sub == b"encoding":
            _keep(v, h)
            return Status(b"sparse" if h.is_sparse else b"dense")
        if sub == b"todense":
            if not h.is_sparse:
                _keep(v, h)
                return 0
            h.to_dense()
            _store(c, key, h)
            c.server.dirty += 1
            return 1
    except H.InvalidHLL:
        raise CommandError(INVALID) from None
    _keep(v, h)
    raise CommandError("ERR Unknown PFDEBUG subcommand '%s'" % argv[1].decode("utf-8", "replace"))


@command("pfselftest", 1, "admin", 0, 0, 0)
def cmd_pfselftest(c, argv):
    from pyredis.engine import hll as H

    if not H.self_test():
        raise CommandError("ERR TESTFAILED HyperLogLog self test failed")
    return OK
