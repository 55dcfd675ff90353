"""Redis glob-style pattern matching (``*``, ``?``, ``[a-z]``, ``[^x]``, ``\\`` escapes)."""

from __future__ import annotations

import re
from collections.abc import Callable

_cache: dict[tuple[bytes, bool], Callable[[bytes], object]] = {}


def _translate(pat: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == 42:  # *
            while i + 1 < n and pat[i + 1] == 42:
                i += 1
            out += b".*"
        elif c == 63:  # ?
            out += b"."
        elif c == 92 and i + 1 < n:  # backslash
            i += 1
            out += re.escape(pat[i : i + 1])
        elif c == 91:  # [
            i += 1
            neg = i < n and pat[i] == 94
            if neg:
                i += 1
            items = bytearray()
            while i < n and pat[i] != 93:
                if pat[i] == 92 and i + 1 < n:
                    i += 1
                    items += re.escape(pat[i : i + 1])
                elif i + 2 < n and pat[i + 1] == 45 and pat[i + 2] != 93:
                    a, b = pat[i], pat[i + 2]
                    if a > b:
                        a, b = b, a
                    items += b"\\x%02x-\\x%02x" % (a, b)
                    i += 2
                else:
                    items += re.escape(pat[i : i + 1])
                i += 1
            if not items:
                out += b"[^\\s\\S]" if not neg else b"[\\s\\S]"
            else:
                out += b"[" + (b"^" if neg else b"") + bytes(items) + b"]"
        else:
            out += re.escape(pat[i : i + 1])
        i += 1
    return bytes(out)


def _tokens(pat: bytes) -> list[tuple]:
    """Pattern -> tokens: ("*",), ("?",), ("=", byte), ("[", frozenset, negated)."""
    toks: list[tuple] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == 42:
            if not toks or toks[-1] != ("*",):
                toks.append(("*",))
        elif c == 63:
            toks.append(("?",))
        elif c == 92 and i + 1 < n:
            i += 1
            toks.append(("=", pat[i]))
        elif c == 91:
            i += 1
            neg = i < n and pat[i] == 94
            if neg:
                i += 1
            members: set[int] = set()
            while i < n and pat[i] != 93:
                if pat[i] == 92 and i + 1 < n:
                    i += 1
                    members.add(pat[i])
                elif i + 2 < n and pat[i + 1] == 45 and pat[i + 2] != 93:
                    a, b = sorted((pat[i], pat[i + 2]))
                    members.update(range(a, b + 1))
                    i += 2
                else:
                    members.add(pat[i])
                i += 1
            toks.append(("[", frozenset(members), neg))
        else:
            toks.append(("=", c))
        i += 1
    return toks


def _linear_matcher(pattern: bytes, nocase: bool) -> Callable[[bytes], bool]:
    """Wildcard matching without exponential backtracking (for patterns with many ``*``)."""
    toks = _tokens(pattern.lower() if nocase else pattern)
    if sum(1 for t in toks if t[0] == "*") > 1000:
        # Redis gives up (no match) past 1000 nested '*' to bound its recursion; do the same.
        return lambda name: False

    def one(t: tuple, ch: int) -> bool:
        kind = t[0]
        if kind == "?":
            return True
        if kind == "=":
            return t[1] == ch
        return (ch in t[1]) != t[2]

    def match(name: bytes) -> bool:
        s = name.lower() if nocase else name
        ti = si = 0
        star_t = star_s = -1
        nt, ns = len(toks), len(s)
        while si < ns:
            if ti < nt and toks[ti][0] == "*":
                star_t, star_s = ti, si
                ti += 1
            elif ti < nt and one(toks[ti], s[si]):
                ti += 1
                si += 1
            elif star_t >= 0:
                star_s += 1
                si = star_s
                ti = star_t + 1
            else:
                return False
        while ti < nt and toks[ti][0] == "*":
            ti += 1
        return ti == nt

    return match


def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], object]:
    """Return a predicate ``match(name) -> truthy`` for a Redis glob *pattern*."""
    key = (pattern, nocase)
    fn = _cache.get(key)
    if fn is None:
        if pattern == b"*":
            fn = _match_all
        elif pattern.count(b"*") > 3:
            fn = _linear_matcher(pattern, nocase)
        else:
            flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
            fn = re.compile(_translate(pattern), flags).fullmatch
        if len(_cache) > 1000:
            _cache.clear()
        _cache[key] = fn
    return fn


def _match_all(name: bytes) -> bool:
    return True


def glob_match(pattern: bytes, name: bytes, nocase: bool = False) -> bool:
    """True when *name* matches the Redis glob *pattern*."""
    return bool(compile_glob(pattern, nocase)(name))
