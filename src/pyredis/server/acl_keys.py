"""ACL permission checks on keys: which arguments of a command are keys and what access they need
(read/write), from the key specs of the command table (Redis 7.0's ``getKeysFromCommandWithSpecs``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyredis.commands.registry import Command, metadata
from pyredis.protocol.numbers import parse_ll

# Key permission flags.
READ, WRITE = 1, 2
RW = READ | WRITE

_SPECS: dict[Command, list[tuple]] = {}


def _pairs(d: Any) -> dict:
    if isinstance(d, dict) and "%" in d:
        items = d["%"]
        return dict(zip(items[::2], items[1::2], strict=False))
    return {}


def _need(flags: Iterable[str]) -> int:
    fl = set(flags)
    need = READ if "access" in fl else 0
    if fl & {"insert", "delete", "update"}:
        need |= WRITE
    return need


def _compile_specs(cmd: Command) -> list[tuple]:
    meta = metadata()["info"].get(cmd.fullname)
    out: list[tuple] = []
    if not meta:
        if cmd.first:  # declared positions only: treat the keys as read-write
            out.append((RW, "index", cmd.first, "range",
                        (cmd.last - cmd.first if cmd.last >= 0 else cmd.last, cmd.step, 0)))
        return out
    raw = meta[8]["~"] if isinstance(meta[8], dict) else meta[8]
    for spec in raw:
        d = _pairs(spec)
        flags = [f["+"] if isinstance(f, dict) else f for f in d.get("flags", {}).get("~", [])]
        if "incomplete" in flags and cmd.getkeys is not None:
            # the specs cannot find every key (MIGRATE): the command's own key finder does
            return [(_need(flags), "getkeys", None, None, None)]
        if "not_key" in flags:
            continue
        bs, fk = _pairs(d["begin_search"]), _pairs(d["find_keys"])
        bspec, fspec = _pairs(bs.get("spec")), _pairs(fk.get("spec"))
        if bs.get("type") == "index":
            begin: Any = bspec["index"]
        elif bs.get("type") == "keyword":
            begin = (bspec["keyword"].encode().lower(), bspec["startfrom"])
        else:
            continue  # "unknown" (SORT's BY/GET/STORE): handled by key_requirements
        if fk.get("type") == "range":
            find: Any = (fspec["lastkey"], fspec["keystep"], fspec["limit"])
        elif fk.get("type") == "keynum":
            find = (fspec["keynumidx"], fspec["firstkey"], fspec["keystep"])
        else:
            continue
        out.append((_need(flags), bs["type"], begin, fk["type"], find))
    if (len(out) == 1 and out[0][1] == "index" and out[0][3] == "range" and out[0][4][0] == 0
            and cmd.fullname not in ("set", "bitfield", "sort")):
        return [(out[0][0], "single", out[0][2], None, None)]
    return out


def _fallback(cmd: Command, argv: list[bytes]) -> list[tuple[int, int]]:
    """A key spec out of range (a bad or huge numkeys): like getKeysFromCommandWithSpecs, the
    command's own key finder answers for the whole command, its keys needing no particular access."""
    return [(i, 0) for i in cmd.getkeys(argv)] if cmd.getkeys is not None else []


def key_requirements(cmd: Command, argv: list[bytes]) -> list[tuple[int, int]]:
    """``(argv index, READ/WRITE bits needed)`` for every key of the command (Redis key specs)."""
    specs = _SPECS.get(cmd)
    if specs is None:
        specs = _SPECS[cmd] = _compile_specs(cmd)
    if not specs:
        return []
    n = len(argv)
    kind = specs[0][1]
    if kind == "single":  # one key at a fixed position (most commands)
        idx = specs[0][2]
        return [(idx, specs[0][0])] if idx < n else []
    if kind == "getkeys":
        need = specs[0][0]
        assert cmd.getkeys is not None
        return [(i, need) for i in cmd.getkeys(argv)]
    out: list[tuple[int, int]] = []
    for need, btype, begin, ftype, find in specs:
        if btype == "index":
            first = begin
        else:
            kw, frm = begin
            first = -1
            rng = range(frm, n - 1) if frm > 0 else range(n + frm, 1, -1)  # as Redis: not the last one
            for i in rng:
                if argv[i].lower() == kw:
                    first = i + 1
                    break
            if first < 0:
                continue
        if first >= n:
            return _fallback(cmd, argv)
        if ftype == "range":
            lastkey, step, limit = find
            if lastkey >= 0:
                last = first + lastkey
            elif limit > 1:
                last = first + (n - first) // limit + lastkey
            else:
                last = n + lastkey
        else:
            numidx, firstkey, step = find
            idx = first + numidx
            num = parse_ll(argv[idx]) if idx < n else None
            if num is None or num < 0:
                return _fallback(cmd, argv)
            num = ((num + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)  # Redis casts numkeys to an int
            first = first + firstkey
            last = first + num - 1
        if last >= n or last < first:
            return _fallback(cmd, argv)
        out.extend((i, need) for i in range(first, last + 1, step))
    name = cmd.fullname
    if name == "set" and out:
        rw = any(a.lower() == b"get" for a in argv[3:])
        out = [(out[0][0], RW if rw else WRITE)]
    elif name == "bitfield" and out:
        rw = any(a.lower() in (b"set", b"incrby") for a in argv[2:])
        out = [(out[0][0], RW if rw else READ)]
    elif name == "sort":  # the STORE key (the last one given is the one used)
        store = 0
        i = 2
        while i < n:
            o = argv[i].lower()
            if o == b"limit":
                i += 3
                continue
            if o in (b"get", b"by"):
                i += 2
                continue
            if o == b"store" and i + 1 < n:
                store = i + 1
                i += 2
                continue
            i += 1
        if store:
            out.append((store, WRITE))
    return out


# channel-carrying commands: name -> (first channel index, only that one, arguments are patterns)
