"""List commands (t_list.c): pushes, pops, ranges, LPOS, LMOVE, LMPOP.

Reusable non-blocking helpers for the blocking variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
BLMPOP): :func:`lookup_list`, :func:`list_pop`, :func:`list_move`, :func:`lmpop_parse`,
:func:`lmpop_first`. Every push onto a key goes through :func:`_key_ready` so that clients
blocked on the key get served.
"""

from __future__ import annotations

from typing import Any

from pyredis.commands.args import get_int, parse_mpop, rank_range, where_left
from pyredis.commands.errors import NO_SUCH_KEY, OUT_OF_RANGE, CommandError, WrongType, syntax_error
from pyredis.commands.registry import command
from pyredis.engine import notify
from pyredis.engine.list import ListValue
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.parser import BULK_HEADERS
from pyredis.protocol.types import NULL_ARRAY, OK, Raw
from pyredis.server.blocking import signal_key_ready

LIST = notify.LIST
GENERIC = notify.GENERIC


_HDR = BULK_HEADERS


def bulk_array(items: list[bytes]) -> Raw:
    """Pre-encoded non-empty array of bulk strings (the same bytes in RESP2 and RESP3)."""
    lens = list(map(len, items))
    lo = min(lens)
    if lo == max(lens):  # same-length elements: one join with the header as separator
        hd = _HDR[lo] if lo < 1024 else b"$%d\r\n" % lo
        return Raw(b"*%d\r\n%s%s\r\n" % (len(items), hd, (b"\r\n" + hd).join(items)))
    h = _HDR
    parts = [b"*%d\r\n" % len(items)]
    ap = parts.append
    for x, n in zip(items, lens, strict=True):
        ap(h[n] if n < 1024 else b"$%d\r\n" % n)
        ap(x)
        ap(b"\r\n")
    return Raw(b"".join(parts))


# -- blocked clients ---------------------------------------------------------------------------------
def _key_ready(c, key: bytes) -> None:
    """Tell the blocking machinery that *key* received elements (the single place doing so)."""
    signal_key_ready(c, key)


# -- helpers -----------------------------------------------------------------------------------------
def lookup_list(c, key: bytes, write: bool = False) -> ListValue | None:
    """The list at *key* (None if missing); WRONGTYPE for other types."""
    v = c.db.get(key) if write else c.db.lookup_read(key)
    if v is None or type(v) is ListValue:
        return v
    raise WrongType()


def _removed_if_empty(c, key: bytes, lst: ListValue) -> None:
    if not lst:
        c.db.delete(key)
        c.notify(GENERIC, b"del", key)


def pop_from(c, key: bytes, lst: ListValue, left: bool, count: int | None) -> Any:
    """Pop from the existing non-empty *lst* at *key*: one element (count None) or up to *count*.

    Emits ``lpop``/``rpop`` (and ``del`` when emptied)."""
    if count is None:
        out: Any = lst.popleft() if left else lst.pop()
    else:
        n = min(count, len(lst))
        pop = lst.popleft if left else lst.pop
        out = [pop() for _ in range(n)]
        c.server.dirty += n - 1
    c.changed(key, LIST, b"lpop" if left else b"rpop")
    _removed_if_empty(c, key, lst)
    return out


def list_pop(c, key: bytes, left: bool, count: int | None = None) -> Any:
    """LPOP/RPOP on *key*: None when the key is missing, else the element(s) popped."""
    lst = lookup_list(c, key, True)
    if lst is None:
        return None
    return pop_from(c, key, lst, left, count)


def push_onto(c, key: bytes, lst: ListValue | None, items: list[bytes], left: bool) -> ListValue:
    """Push *items* onto *lst* (created at *key* when None); emits lpush/rpush, wakes blocked clients."""
    if lst is None:
        lst = ListValue()
        c.db.add(key, lst)
    if left:
        lst.extendleft(items)
    else:
        lst.extend(items)
    c.changed(key, LIST, b"lpush" if left else b"rpush")
    _key_ready(c, key)
    return lst


def list_move(c, src: bytes, dst: bytes, wherefrom_left: bool, whereto_left: bool) -> bytes | None:
    """LMOVE: pop from *src*, push onto *dst*; None when *src* is missing or empty."""
    lst = lookup_list(c, src, True)
    if lst is None:
        return None
    dlst = lookup_list(c, dst, True)
    v = lst.popleft() if wherefrom_left else lst.pop()
    push_onto(c, dst, dlst, [v], whereto_left)
    c.changed(src, LIST, b"lpop" if wherefrom_left else b"rpop")
    _removed_if_empty(c, src, lst)
    c.server.dirty -= 1
    return v


def lmpop_parse(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """Parse ``numkeys key... LEFT|RIGHT [COUNT n]`` from *numkeys_idx*: (keys, left, count)."""
    keys, side, count = parse_mpop(argv, numkeys_idx, (b"left", b"right"))
    return keys, side == 0, count


def lmpop_first(c, keys: list[bytes], left: bool, count: int) -> list | None:
    """Pop from the first non-empty list among *keys*: ``[key, [elements]]`` or None.

    Propagates as ``LPOP key count`` / ``RPOP key count`` like Redis."""
    for key in keys:
        lst = lookup_list(c, key, True)
        if lst is not None:
            items = pop_from(c, key, lst, left, count)
            c.repl = [[b"LPOP" if left else b"RPOP", key, b"%d" % min(count, len(items))]]
            return [key, items]
    return None


# -- pushes ------------------------------------------------------------------------------------------
def _push(c, argv: list[bytes], left: bool, xx: bool) -> int:
    key = argv[1]
    db = c.db
    v = db.get(key)
    if v is None:
        if xx:
            return 0
        v = ListValue()
        db.add(key, v)
    elif type(v) is not ListValue:
        raise WrongType()
    n = len(argv) - 2
    if n == 1:
        if left:
            v.appendleft(argv[2])
        else:
            v.append(argv[2])
    else:
        if left:
            v.extendleft(argv[2:])
        else:
            v.extend(argv[2:])
        c.server.dirty += n - 1
    c.changed(key, LIST, b"lpush" if left else b"rpush")
    if db.blocked:
        signal_key_ready(c, key)
    return len(v)


@command("lpush", -3, "write denyoom fast", 1, 1, 1)
def cmd_lpush(c, argv):
    return _push(c, argv, True, False)


@command("rpush", -3, "write denyoom fast", 1, 1, 1)
def cmd_rpush(c, argv):
    return _push(c, argv, False, False)


@command("lpushx", -3, "write denyoom fast", 1, 1, 1)
def cmd_lpushx(c, argv):
    return _push(c, argv, True, True)


@command("rpushx", -3, "write denyoom fast", 1, 1, 1)
def cmd_rpushx(c, argv):
    return _push(c, argv, False, True)


@command("linsert", 5, "write denyoom", 1, 1, 1)
def cmd_linsert(c, argv):
    w = argv[2].lower()
    if w == b"after":
        after = True
    elif w == b"before":
        after = False
    else:
        raise syntax_error()
    key = argv[1]
    lst = lookup_list(c, key, True)
    if lst is None:
        return 0
    try:
        i = lst.index(argv[3])
    except ValueError:
        return -1
    lst.insert(i + 1 if after else i, argv[4])
    c.changed(key, LIST, b"linsert")
    return len(lst)


# -- pops --------------------------------------------------------------------------------------------
def _pop_count(c, argv: list[bytes], left: bool):
    if len(argv) > 3:
        raise CommandError("ERR wrong number of arguments for '%s' command" % ("lpop" if left else "rpop"))
    count = parse_ll(argv[2])
    if count is None or count < 0:
        raise CommandError("ERR value is out of range, must be positive")
    lst = lookup_list(c, argv[1], True)
    if lst is None:
        return NULL_ARRAY
    if count == 0:
        return []
    return pop_from(c, argv[1], lst, left, count)


def _pop_one(c, argv, left: bool):
    """LPOP/RPOP without a count: the common case, kept short."""
    key = argv[1]
    db = c.db
    v = db.get(key)
    if v is None:
        return None
    if type(v) is not ListValue:
        raise WrongType()
    x = v.popleft() if left else v.pop()
    c.changed(key, LIST, b"lpop" if left else b"rpop")
    if not v:
        db.delete(key)
        c.notify(GENERIC, b"del", key)
    return x


@command("lpop", -2, "write fast", 1, 1, 1)
def cmd_lpop(c, argv):
    return _pop_one(c, argv, True) if len(argv) == 2 else _pop_count(c, argv, True)


@command("rpop", -2, "write fast", 1, 1, 1)
def cmd_rpop(c, argv):
    return _pop_one(c, argv, False) if len(argv) == 2 else _pop_count(c, argv, False)


@command("lmpop", -4, "write movablekeys", getkeys=lambda argv: _lmpop_keys(argv, 1))
def cmd_lmpop(c, argv):
    keys, left, count = lmpop_parse(argv, 1)
    r = lmpop_first(c, keys, left, count)
    return NULL_ARRAY if r is None else r


def _lmpop_keys(argv: list[bytes], idx: int) -> list[int]:
    nk = parse_ll(argv[idx]) if len(argv) > idx else None
    if nk is None or nk <= 0 or idx + nk >= len(argv):
        return []
    return list(range(idx + 1, idx + 1 + nk))


@command("lmove", 5, "write denyoom", 1, 2, 1)
def cmd_lmove(c, argv):
    wf = where_left(argv[3])
    wt = where_left(argv[4])
    return list_move(c, argv[1], argv[2], wf, wt)


@command("rpoplpush", 3, "write denyoom", 1, 2, 1)
def cmd_rpoplpush(c, argv):
    return list_move(c, argv[1], argv[2], False, True)


# -- reads -------------------------------------------------------------------------------------------
@command("llen", 2, "readonly fast", 1, 1, 1)
def cmd_llen(c, argv):
    lst = lookup_list(c, argv[1])
    return 0 if lst is None else len(lst)


@command("lrange", 4, "readonly", 1, 1, 1)
def cmd_lrange(c, argv):
    start = get_int(argv[2])
    stop = get_int(argv[3])
    lst = lookup_list(c, argv[1])
    if lst is None:
        return []
    r = rank_range(start, stop, len(lst))
    if r is None:
        return []
    items = lst.range(r[0], r[1])
    return bulk_array(items) if len(items) > 8 else items


@command("lindex", 3, "readonly", 1, 1, 1)
def cmd_lindex(c, argv):
    lst = lookup_list(c, argv[1])
    if lst is None:
        return None
    i = get_int(argv[2])
    n = len(lst)
    if i < 0:
        i += n
    if i < 0 or i >= n:
        return None
    return lst[i]


@command("lset", 4, "write denyoom", 1, 1, 1)
def cmd_lset(c, argv):
    lst = lookup_list(c, argv[1], True)
    if lst is None:
        raise CommandError(NO_SUCH_KEY)
    i = get_int(argv[2])
    n = len(lst)
    if i < 0:
        i += n
    if i < 0 or i >= n:
        raise CommandError(OUT_OF_RANGE)
    lst[i] = argv[3]
    c.changed(argv[1], LIST, b"lset")
    return OK


@command("ltrim", 4, "write", 1, 1, 1)
def cmd_ltrim(c, argv):
    start = get_int(argv[2])
    stop = get_int(argv[3])
    key = argv[1]
    lst = lookup_list(c, key, True)
    if lst is None:
        return OK
    n = len(lst)
    r = rank_range(start, stop, n)
    if r is None:
        lst.clear()
    elif r != (0, n - 1):
        lst.trim(r[0], r[1])
    c.changed(key, LIST, b"ltrim")
    c.server.dirty += n - len(lst) - 1  # Redis counts the removed elements (none: not propagated)
    _removed_if_empty(c, key, lst)
    return OK


@command("lrem", 4, "write", 1, 1, 1)
def cmd_lrem(c, argv):
    count = get_int(argv[2])
    key = argv[1]
    lst = lookup_list(c, key, True)
    if lst is None:
        return 0
    removed = lst.remove_matching(argv[3], count)
    if removed:
        c.changed(key, LIST, b"lrem")
        c.server.dirty += removed - 1
        _removed_if_empty(c, key, lst)
    return removed


@command("lpos", -3, "readonly", 1, 1, 1)
def cmd_lpos(c, argv):
    rank = 1
    count = -1
    maxlen = 0
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if i + 1 >= n:
            raise syntax_error()
        if opt == b"rank":
            rank = get_int(argv[i + 1])
            if rank == 0:
                raise CommandError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                                   "second ... or use negative to start from the end of the list")
            if rank == -(1 << 63):  # Redis negates it in C: behaves like -1
                rank = -1
        elif opt == b"count":
            count = get_int(argv[i + 1], "ERR COUNT can't be negative")
            if count < 0:
                raise CommandError("ERR COUNT can't be negative")
        elif opt == b"maxlen":
            maxlen = get_int(argv[i + 1], "ERR MAXLEN can't be negative")
            if maxlen < 0:
                raise CommandError("ERR MAXLEN can't be negative")
        else:
            raise syntax_error()
        i += 2
    lst = lookup_list(c, argv[1])
    if lst is None:
        return [] if count != -1 else None
    x = argv[2]
    size = len(lst)
    if count == -1 and rank == 1 and maxlen == 0:
        try:
            return lst.index(x)
        except ValueError:
            return None
    want = count if count > 0 else (1 if count == -1 else size)
    skip = abs(rank) - 1
    limit = maxlen if maxlen else size
    out: list[int] = []
    if rank > 0:
        idx = 0
        for e in lst:
            if idx >= limit:
                break
            if e == x:
                if skip:
                    skip -= 1
                else:
                    out.append(idx)
                    if len(out) >= want:
                        break
            idx += 1
    else:
        idx = size - 1
        checked = 0
        for e in reversed(lst):
            if checked >= limit:
                break
            if e == x:
                if skip:
                    skip -= 1
                else:
                    out.append(idx)
                    if len(out) >= want:
                        break
            idx -= 1
            checked += 1
    if count == -1:
        return out[0] if out else None
    return out
