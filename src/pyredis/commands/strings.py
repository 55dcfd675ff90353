"""String commands (t_string.c): GET, SET and friends, counters, ranges, LCS."""

from __future__ import annotations

from pyredis.commands.args import get_int, parse_expire_arg
from pyredis.commands.errors import NOT_INTEGER, OVERFLOW, CommandError, WrongType, syntax_error, wrong_args
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.protocol.numbers import LLONG_MAX, LLONG_MIN, parse_ll
from pyredis.protocol.types import NULL_ARRAY, OK, MapReply

STRING = notify.STRING
GENERIC = notify.GENERIC


def get_string(c, key: bytes) -> bytes | None:
    """The string at *key* (None if missing); WRONGTYPE for other types."""
    v = c.db.lookup_read(key)
    if v is None or type(v) is bytes:
        return v
    raise WrongType()


def get_string_w(c, key: bytes) -> bytes | None:
    """Like :func:`get_string` for write paths (no hit/miss accounting)."""
    v = c.db.get(key)
    if v is None or type(v) is bytes:
        return v
    raise WrongType()


def max_string_size(c) -> int:
    return c.server.config.values["proto-max-bulk-len"]


def check_string_size(c, size: int) -> None:
    if size > max_string_size(c):
        raise CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")


@command("get", 2, "readonly fast", 1, 1, 1)
def cmd_get(c, argv):
    v = c.db.lookup_read(argv[1])
    if v is None or type(v) is bytes:
        return v
    raise WrongType()


_SET_OPTS = {b"nx", b"xx", b"get", b"keepttl", b"ex", b"px", b"exat", b"pxat"}


def set_generic(c, key: bytes, value: bytes, nx: bool, xx: bool, get: bool, expire_at: int | None,
                keepttl: bool, ok=OK, argv: list[bytes] | None = None):
    db = c.db
    old = None
    if get:
        old = get_string(c, key)
    if nx or xx:
        exists = db.get(key) is not None
        if (nx and exists) or (xx and not exists):
            return old if get else None
    db.set(key, value, keep_ttl=keepttl)
    c.changed(key, STRING, b"set")
    if expire_at is not None:
        db.set_expire(key, expire_at)
        c.repl = [[b"SET", key, value, b"PXAT", b"%d" % expire_at]]
        c.notify(GENERIC, b"expire", key)
    elif get:  # propagated without the GET argument, as the client wrote it otherwise
        if argv is None:
            argv = [b"SET", key, value] + ([b"KEEPTTL"] if keepttl else [])
        c.repl = [argv[:3] + [a for a in argv[3:] if a.lower() != b"get"]]
    return old if get else ok


@command("set", -3, "write denyoom", 1, 1, 1)
def cmd_set(c, argv):
    if len(argv) == 3:
        db = c.db
        key = argv[1]
        if db.keyspace.notify_flags & notify.NEW and key not in db.data:
            c.notify(notify.NEW, b"new", key)  # dbAdd's "new" event
        db.data[key] = argv[2]
        if db.expires:
            db.expires.pop(key, None)
        if db.keyspace.track_lru:  # LRU/LFU access clock (OBJECT IDLETIME/FREQ, eviction)
            db.touch(key)
        c.changed(key, STRING, b"set")
        return OK
    nx = xx = get = keepttl = False
    unit = None
    exp_arg = None
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        nxt = argv[i + 1] if i + 1 < n else None
        if opt == b"nx" and not xx:
            nx = True
        elif opt == b"xx" and not nx:
            xx = True
        elif opt == b"get":
            get = True
        elif opt == b"keepttl" and unit is None:
            keepttl = True
        elif opt in (b"ex", b"px", b"exat", b"pxat") and not keepttl and unit is None and nxt is not None:
            unit = opt
            exp_arg = nxt
            i += 1
        else:
            raise syntax_error()
        i += 1
    expire_at = None
    if unit is not None:
        expire_at = parse_expire_arg(c, exp_arg, unit in (b"px", b"pxat"), unit in (b"exat", b"pxat"), "set")
    return set_generic(c, argv[1], argv[2], nx, xx, get, expire_at, keepttl, argv=argv)


@command("setnx", 3, "write denyoom fast", 1, 1, 1)
def cmd_setnx(c, argv):
    if c.db.get(argv[1]) is not None:
        return 0
    c.db.set(argv[1], argv[2])
    c.changed(argv[1], STRING, b"set")
    return 1


def _setex(c, argv, unit_ms: bool, name: str):
    expire_at = parse_expire_arg(c, argv[2], unit_ms, False, name)
    return set_generic(c, argv[1], argv[3], False, False, False, expire_at, False)


@command("setex", 4, "write denyoom", 1, 1, 1)
def cmd_setex(c, argv):
    return _setex(c, argv, False, "setex")


@command("psetex", 4, "write denyoom", 1, 1, 1)
def cmd_psetex(c, argv):
    return _setex(c, argv, True, "psetex")


@command("getset", 3, "write denyoom fast", 1, 1, 1)
def cmd_getset(c, argv):
    old = get_string(c, argv[1])
    c.db.set(argv[1], argv[2])
    c.changed(argv[1], STRING, b"set")
    c.repl = [[b"SET", argv[1], argv[2]]]  # GETSET propagates as SET
    return old


@command("getdel", 2, "write fast", 1, 1, 1)
def cmd_getdel(c, argv):
    old = get_string(c, argv[1])
    if old is not None:
        c.db.delete(argv[1])
        c.changed(argv[1], GENERIC, b"del")
        c.repl = [[b"DEL", argv[1]]]  # GETDEL propagates as DEL
    return old


@command("getex", -2, "write fast", 1, 1, 1)
def cmd_getex(c, argv):
    key = argv[1]
    unit = None
    exp_arg = None
    persist = False
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].lower()
        nxt = argv[i + 1] if i + 1 < n else None
        if opt in (b"ex", b"px", b"exat", b"pxat") and unit is None and not persist and nxt is not None:
            unit, exp_arg = opt, nxt
            i += 1
        elif opt == b"persist" and unit is None:
            persist = True
        else:
            raise syntax_error()
        i += 1
    expire_at = None
    if unit is not None:
        expire_at = parse_expire_arg(c, exp_arg, unit in (b"px", b"pxat"), unit in (b"exat", b"pxat"), "getex")
    v = get_string(c, key)
    if v is None:
        return None
    db = c.db
    if expire_at is not None:
        if expire_at <= c.server.keyspace.clock():
            db.delete(key)
            c.repl = [[b"DEL", key]]
            c.changed(key, GENERIC, b"del")
        else:
            db.set_expire(key, expire_at)
            c.repl = [[b"PEXPIREAT", key, b"%d" % expire_at]]
            c.changed(key, GENERIC, b"expire")
    elif persist:
        if db.persist(key):
            c.repl = [[b"PERSIST", key]]
            c.changed(key, GENERIC, b"persist")
    return v


@command("mget", -2, "readonly fast", 1, -1, 1)
def cmd_mget(c, argv):
    lookup = c.db.lookup_read
    out = []
    for k in argv[1:]:
        v = lookup(k)
        out.append(v if type(v) is bytes else None)
    return out


@command("mset", -3, "write denyoom", 1, -1, 2)
def cmd_mset(c, argv):
    if len(argv) % 2 == 0:
        raise wrong_args("mset")
    db = c.db
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        c.changed(argv[i], STRING, b"set")
    return OK


@command("msetnx", -3, "write denyoom", 1, -1, 2)
def cmd_msetnx(c, argv):
    if len(argv) % 2 == 0:
        raise wrong_args("msetnx")
    db = c.db
    for i in range(1, len(argv), 2):
        if db.get(argv[i]) is not None:
            return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        c.changed(argv[i], STRING, b"set")
    return 1


@command("append", 3, "write denyoom fast", 1, 1, 1)
def cmd_append(c, argv):
    key = argv[1]
    old = get_string_w(c, key)
    if old is None:
        new = argv[2]
    else:
        check_string_size(c, len(old) + len(argv[2]))
        new = old + argv[2]
    c.db.set(key, new, keep_ttl=True)
    c.changed(key, STRING, b"append")
    return len(new)


@command("strlen", 2, "readonly fast", 1, 1, 1)
def cmd_strlen(c, argv):
    v = get_string(c, argv[1])
    return 0 if v is None else len(v)


def _getrange(c, argv):
    start = get_int(argv[2])
    end = get_int(argv[3])
    v = get_string(c, argv[1])
    if v is None:
        return b""
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    end = max(end, 0)
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return v[start : end + 1]


@command("getrange", 4, "readonly", 1, 1, 1)
def cmd_getrange(c, argv):
    return _getrange(c, argv)


@command("substr", 4, "readonly", 1, 1, 1)
def cmd_substr(c, argv):
    return _getrange(c, argv)


@command("setrange", 4, "write denyoom", 1, 1, 1)
def cmd_setrange(c, argv):
    key, value = argv[1], argv[3]
    offset = get_int(argv[2])
    if offset < 0:
        raise CommandError("ERR offset is out of range")
    old = get_string_w(c, key)
    if old is None:
        if not value:
            return 0
        check_string_size(c, offset + len(value))
        new = b"\0" * offset + value
    else:
        if not value:
            return len(old)
        check_string_size(c, offset + len(value))
        if offset > len(old):
            old = old + b"\0" * (offset - len(old))
        new = old[:offset] + value + old[offset + len(value) :]
    c.db.set(key, new, keep_ttl=True)
    c.changed(key, STRING, b"setrange")
    return len(new)


def incr_by(c, key: bytes, delta: int, event: bytes) -> int:
    db = c.db
    old = db.get(key)
    if old is None:
        cur = 0
    elif type(old) is bytes:
        cur = parse_ll(old) if len(old) <= 20 else None
        if cur is None:
            raise CommandError(NOT_INTEGER)
    else:
        raise WrongType()
    new = cur + delta
    if new > LLONG_MAX or new < LLONG_MIN:
        raise CommandError(OVERFLOW)
    if old is None:
        db.set(key, b"%d" % new, keep_ttl=True)
    else:
        del old  # our reference released: an unshared value can be rewritten in place
        db.set_counter(key, b"%d" % new)
    c.changed(key, STRING, event)
    return new


@command("incr", 2, "write denyoom fast", 1, 1, 1)
def cmd_incr(c, argv):
    return incr_by(c, argv[1], 1, b"incrby")


@command("decr", 2, "write denyoom fast", 1, 1, 1)
def cmd_decr(c, argv):
    return incr_by(c, argv[1], -1, b"incrby")  # Redis names every counter event "incrby"


@command("incrby", 3, "write denyoom fast", 1, 1, 1)
def cmd_incrby(c, argv):
    return incr_by(c, argv[1], get_int(argv[2]), b"incrby")


@command("decrby", 3, "write denyoom fast", 1, 1, 1)
def cmd_decrby(c, argv):
    delta = get_int(argv[2])
    if delta == LLONG_MIN:
        raise CommandError("ERR decrement would overflow")
    return incr_by(c, argv[1], -delta, b"incrby")


@command("incrbyfloat", 3, "write denyoom fast", 1, 1, 1)
def cmd_incrbyfloat(c, argv):
    key = argv[1]
    old = get_string_w(c, key)
    out = incr_float_value(old, argv[2])
    c.db.set(key, out, keep_ttl=True)
    c.changed(key, STRING, b"incrbyfloat")
    c.repl = [[b"SET", key, out, b"KEEPTTL"]]
    return out


def incr_float_value(old: bytes | None, incr: bytes) -> bytes:
    """The new value of INCRBYFLOAT/HINCRBYFLOAT, computed in long double like Redis."""
    from pyredis.protocol import longdouble as ld  # decimal/fractions: loaded on the first use

    cur = ld.parse_long_double(old) if old is not None else ld.ZERO
    if cur is None:
        raise CommandError("ERR value is not a valid float")
    delta = ld.parse_long_double(incr)
    if delta is None:
        raise CommandError("ERR value is not a valid float")
    new = ld.long_double_add(cur, delta)
    if isinstance(new, float):
        raise CommandError("ERR increment would produce NaN or Infinity")
    return ld.format_long_double_human(new)


@command("lcs", -3, "readonly", 1, 2, 1)
def cmd_lcs(c, argv):
    a = c.db.lookup_read(argv[1])
    b = c.db.lookup_read(argv[2])
    if (a is not None and type(a) is not bytes) or (b is not None and type(b) is not bytes):
        raise CommandError("ERR The specified keys must contain string values")
    a = a or b""
    b = b or b""
    want_len = want_idx = with_len = False
    minlen = 0
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"idx":
            want_idx = True
        elif opt == b"len":
            want_len = True
        elif opt == b"withmatchlen":
            with_len = True
        elif opt == b"minmatchlen" and i + 1 < len(argv):
            minlen = max(get_int(argv[i + 1]), 0)
            i += 1
        else:
            raise syntax_error()
        i += 1
    if want_len and want_idx:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    la, lb = len(a), len(b)
    if (la + 1) * (lb + 1) * 4 > c.server.config["proto-max-bulk-len"]:  # Redis's uint32 table
        raise CommandError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    # dp[i][j]: LCS length of a[:i], b[:j]
    dp = [[0] * (lb + 1) for _ in range(la + 1)]
    for i in range(1, la + 1):
        row, prev = dp[i], dp[i - 1]
        ai = a[i - 1]
        for j in range(1, lb + 1):
            if ai == b[j - 1]:
                row[j] = prev[j - 1] + 1
            else:
                row[j] = row[j - 1] if row[j - 1] > prev[j] else prev[j]
    total = dp[la][lb]
    if want_len:
        return total
    out = bytearray(total)
    matches = []
    i, j, idx = la, lb, total
    ar = br = None  # current range [start, end] in a and b
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            idx -= 1
            out[idx] = a[i - 1]
            if ar is None:
                ar, br = [i - 1, i - 1], [j - 1, j - 1]
            elif ar[0] == i and br[0] == j:
                ar[0], br[0] = i - 1, j - 1
            else:
                _emit(matches, ar, br, minlen, with_len)
                ar, br = [i - 1, i - 1], [j - 1, j - 1]
            i -= 1
            j -= 1
        elif dp[i - 1][j] > dp[i][j - 1]:
            i -= 1
        else:
            j -= 1
    if ar is not None:
        _emit(matches, ar, br, minlen, with_len)
    if not want_idx:
        return bytes(out)
    return MapReply([b"matches", matches, b"len", total])


def _emit(matches: list, ar: list, br: list, minlen: int, with_len: bool) -> None:
    length = ar[1] - ar[0] + 1
    if length >= minlen:
        m = [list(ar), list(br)]
        if with_len:
            m.append(length)
        matches.append(m)


__all__ = ["get_string", "set_generic", "NULL_ARRAY"]
