"""SORT and SORT_RO (sort.c): numeric/ALPHA sorting of lists, sets and sorted sets, BY/GET patterns."""

from __future__ import annotations

from itertools import islice
from typing import Any

from pyredis.commands.errors import NOT_INTEGER, CommandError, WrongType, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.zsets import key_ready
from pyredis.engine import notify
from pyredis.engine.zset import ZSetValue, strtod_c_string
from pyredis.protocol.numbers import parse_ll

DBL_MIN = 2.2250738585072014e-308


def _sort_score(b: bytes) -> float | None:
    """``strtod`` as SORT uses it: leading spaces ok, no trailing garbage, NaN/ERANGE refused."""
    r = strtod_c_string(b)
    if r is None:
        return None
    v, erange = r
    if erange or v != v or (v != 0.0 and -DBL_MIN < v < DBL_MIN):
        return None
    return v


def _cstr(b: bytes) -> bytes:
    nul = b.find(b"\0")
    return b if nul < 0 else b[:nul]


def lookup_by_pattern(c, pattern: bytes, subst: bytes) -> bytes | None:
    """The value a BY/GET pattern designates for element *subst* (``#``, ``key*``, ``hash*->field``)."""
    if pattern == b"#" or pattern[:2] == b"#\0":
        return subst
    cpat = _cstr(pattern)
    p = cpat.find(b"*")
    if p < 0:
        return None
    f = cpat.find(b"->", p + 1)
    field = None
    suffix_end = len(pattern)
    if f >= 0 and f + 2 < len(cpat):
        field = pattern[f + 2:]
        suffix_end = f
    key = pattern[:p] + subst + pattern[p + 1:suffix_end]
    o = c.db.lookup_read(key)
    if o is None:
        return None
    if field is not None:
        if getattr(o, "TYPE_NAME", None) != b"hash":
            return None
        return o.get(field)
    return o if type(o) is bytes else None


def _elements(v: Any) -> list[bytes]:
    """Elements in the order Redis iterates them (intsets in numeric order)."""
    ordered = getattr(v, "ordered", None)
    return ordered() if ordered is not None else list(v)


def _sort_generic(c, argv: list[bytes], readonly: bool):
    desc = alpha = False
    limit_start, limit_count = 0, -1
    storekey: bytes | None = None
    sortby: bytes | None = None
    dontsort = False
    getops: list[bytes] = []
    n = len(argv)
    j = 2
    while j < n:
        o = argv[j].lower()
        left = n - j - 1
        if o == b"asc":
            desc = False
        elif o == b"desc":
            desc = True
        elif o == b"alpha":
            alpha = True
        elif o == b"limit" and left >= 2:
            a = parse_ll(argv[j + 1])
            b = parse_ll(argv[j + 2])
            if a is None or b is None:
                raise CommandError(NOT_INTEGER)
            limit_start, limit_count = a, b
            j += 2
        elif not readonly and o == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif o == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in _cstr(sortby):
                dontsort = True
            elif (c.acl_restricted or c.in_script) and not c.server.acl.full_key_access(c):
                raise CommandError("ERR BY option of SORT denied due to insufficient ACL permissions.")
            j += 1
        elif o == b"get" and left >= 1:
            if (c.acl_restricted or c.in_script) and not c.server.acl.full_key_access(c):
                raise CommandError("ERR GET option of SORT denied due to insufficient ACL permissions.")
            getops.append(argv[j + 1])
            j += 1
        else:
            raise syntax_error()
        j += 1
    v = c.db.lookup_read(argv[1])
    tname = None if v is None else getattr(v, "TYPE_NAME", None)
    if v is not None and tname not in (b"list", b"set", b"zset"):
        raise WrongType()
    if dontsort and tname == b"set" and (storekey is not None or c.in_script):
        dontsort = False
        alpha = True
        sortby = None
    vectorlen = 0 if v is None else len(v)
    start = 0 if limit_start < 0 else limit_start
    end = vectorlen - 1 if limit_count < 0 else start + limit_count - 1
    if start >= vectorlen:
        start = vectorlen - 1
        end = vectorlen - 2
    if end >= vectorlen:
        end = vectorlen - 1
    vector: list[bytes]
    if v is None:
        vector = []
    elif dontsort and tname in (b"list", b"zset"):
        k = end - start + 1
        if k <= 0:
            vector = []
        elif tname == b"list":
            if desc:
                vector = list(islice(reversed(v), start, start + k))
            else:
                vector = list(islice(iter(v), start, start + k))
        else:
            assert isinstance(v, ZSetValue)
            total = len(v.sl)
            if desc:
                vector = [m for _, m in v.sl.islice(total - start - k, total - start, reverse=True)]
            else:
                vector = [m for _, m in v.sl.islice(start, start + k)]
        end -= start
        start = 0
    elif tname == b"zset":
        assert isinstance(v, ZSetValue)
        vector = list(v.d)
    else:
        vector = _elements(v)
    if not dontsort and vector:
        if alpha:
            if sortby is not None:
                keys = [lookup_by_pattern(c, sortby, e) for e in vector]
                order = sorted(range(len(vector)), key=lambda i: (keys[i] is not None, keys[i] or b""),
                               reverse=desc)
            else:
                order = sorted(range(len(vector)), key=vector.__getitem__, reverse=desc)
        else:
            bad = False
            scores: list[float] = []
            for e in vector:
                byval = lookup_by_pattern(c, sortby, e) if sortby is not None else e
                if byval is None:
                    scores.append(0.0)
                    continue
                s = _sort_score(byval)
                if s is None:
                    bad = True
                    s = 0.0
                scores.append(s)
            if bad:
                raise CommandError("ERR One or more scores can't be converted into double")
            order = sorted(range(len(vector)), key=lambda i: (scores[i], vector[i]), reverse=desc)
        vector = [vector[i] for i in order]
    selected = vector[start:end + 1] if end >= start else []
    if storekey is None:
        if not getops:
            return selected
        out: list = []
        for e in selected:
            for g in getops:
                out.append(lookup_by_pattern(c, g, e))
        return out
    if getops:
        items = []
        for e in selected:
            for g in getops:
                val = lookup_by_pattern(c, g, e)
                items.append(b"" if val is None else val)
    else:
        items = selected
    db = c.db
    if items:
        from pyredis.engine.list import ListValue

        db.set(storekey, ListValue(items))
        c.changed(storekey, notify.LIST, b"sortstore")
        c.server.dirty += len(items) - 1
        key_ready(c, storekey)
    elif db.delete(storekey):
        c.changed(storekey, notify.GENERIC, b"del")
    return len(items)


def _sort_keys(argv: list[bytes]) -> list[int]:
    """SORT's key positions: the source and the last STORE target."""
    keys = [1]
    store = None
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    n = len(argv)
    while i < n:
        a = argv[i].lower()
        if a in skip:
            i += skip[a]
        elif a == b"store" and i + 1 < n:
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


@command("sort", -2, "write denyoom movablekeys", 1, 1, 1, getkeys=_sort_keys)
def cmd_sort(c, argv):
    return _sort_generic(c, argv, False)


@command("sort_ro", -2, "readonly movablekeys", 1, 1, 1, getkeys=lambda argv: [1])
def cmd_sort_ro(c, argv):
    return _sort_generic(c, argv, True)
