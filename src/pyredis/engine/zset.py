"""Sorted sets: the value type, Redis's score parsing and the score/lex range machinery.

A :class:`ZSetValue` keeps ``member -> score`` in a dict and ``(score, member)`` pairs in a sorted
list (a ``SortedList`` of tuples, or the accelerator's unboxed ``ScoreList``) in Redis's order (score,
then member bytes), so insert, delete, rank and range lookups are O(log n). OBJECT ENCODING reports
``listpack`` until the set outgrows ``zset-max-listpack-entries``/``-value`` (sticky ``skiplist``
afterwards, like Redis). While
"listpack", a ``-0`` score is stored as ``0`` (Redis stores integral listpack scores as integers).
"""

from __future__ import annotations

import re
from math import inf, nextafter

from sortedcontainers import SortedList

from pyredis import _speedups

# -- number parsing (C strtod semantics) -----------------------------------------------------------
_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)")
_INF = re.compile(rb"([+-]?)(?:inf|infinity)", re.I)
_NAN = re.compile(rb"[+-]?nan(?:\([0-9a-zA-Z_]*\))?", re.I)
_NONZERO_MANTISSA = re.compile(rb"[1-9]")
_HEX_NONZERO = re.compile(rb"[1-9a-fA-F]")
_SPACES = b" \t\n\v\f\r"


def _strtod(s: bytes) -> tuple[float, bool] | None:
    """Parse all of *s* like C ``strtod``: ``(value, erange)``, or None if *s* is not a number.

    ``erange`` is set for overflow to infinity and underflow to zero. NaN is returned as is.
    """
    if _DEC.fullmatch(s):
        v = float(s)
        if v in (inf, -inf):
            return v, True
        if v == 0.0:
            mant = s.split(b"e")[0].split(b"E")[0]
            return v, bool(_NONZERO_MANTISSA.search(mant))
        return v, False
    m = _INF.fullmatch(s)
    if m:
        return (-inf if m.group(1) == b"-" else inf), False
    m = _HEX.fullmatch(s)
    if m:
        body = m.group(2)
        try:
            v = float.fromhex(body.decode())
        except OverflowError:
            return (-inf if m.group(1) == b"-" else inf), True
        if m.group(1) == b"-":
            v = -v
        if v == 0.0:
            mant = re.split(rb"[pP]", body)[0]
            return v, bool(_HEX_NONZERO.search(mant))
        return v, False
    if _NAN.fullmatch(s):
        return float("nan"), False
    return None


def parse_score(b: bytes) -> float | None:
    """Redis's strict double parsing (``getDoubleFromObject``): None when not a valid float.

    Refuses empty strings, leading spaces, trailing garbage, NaN, overflow and underflow to 0;
    accepts ``inf``/``infinity`` and hex floats like ``strtod``.
    """
    try:
        v = float(b)
    except ValueError:
        return _parse_score_slow(b)
    # float() is laxer than strtod: surrounding spaces, '_' separators, overflow to inf.
    if b[0] in _SPACES or b[-1] in _SPACES or b"_" in b or v != v:
        return None
    if v == inf or v == -inf:
        return v if (b"n" in b or b"N" in b) else None
    if v == 0.0 and len(b) > 1:
        mant = b.split(b"e")[0].split(b"E")[0]
        if _NONZERO_MANTISSA.search(mant):
            return None
    return v


def _parse_score_slow(b: bytes) -> float | None:
    if not b or b[0] in _SPACES:
        return None
    r = _strtod(b)
    if r is None:
        return None
    v, erange = r
    if v != v or erange:
        return None
    return v


def strtod_c_string(b: bytes) -> tuple[float, bool] | None:
    """``strtod`` on *b* read as a C string (up to its first NUL), leading spaces allowed.

    Returns (value, erange), (0.0, False) for an empty string, None when nothing parses.
    """
    nul = b.find(b"\0")
    if nul >= 0:
        b = b[:nul]
    if not b:
        return 0.0, False
    s = b.lstrip(_SPACES)
    return _strtod(s) if s else None


def parse_score_lenient(b: bytes) -> float | None:
    """``strtod`` as used for score ranges: leading spaces allowed, "" is 0, overflow gives inf."""
    r = strtod_c_string(b)
    if r is None or r[0] != r[0]:
        return None
    return r[0]


# -- formatting -----------------------------------------------------------------------------------
_LL_HALF = float((1 << 62) - 1)  # (double)(LLONG_MAX/2)


def format_listpack_score(v: float) -> bytes:
    """How a listpack stores a score: integral values as integers, others as ``%.17g``."""
    if -_LL_HALF <= v <= _LL_HALF and v == int(v):
        return b"%d" % int(v)
    if v == inf:
        return b"inf"
    if v == -inf:
        return b"-inf"
    return b"%.17g" % v


# -- ranges ---------------------------------------------------------------------------------------
class ScoreRange:
    """A score interval as ZRANGEBYSCORE takes it (``(`` prefix for exclusive bounds)."""

    __slots__ = ("min", "max", "minex", "maxex")

    def __init__(self, mn: float, mx: float, minex: bool, maxex: bool) -> None:
        self.min, self.max, self.minex, self.maxex = mn, mx, minex, maxex

    def empty(self) -> bool:
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))

    def gte_min(self, v: float) -> bool:
        return v > self.min if self.minex else v >= self.min

    def lte_max(self, v: float) -> bool:
        return v < self.max if self.maxex else v <= self.max


def _parse_bound(b: bytes) -> tuple[float, bool] | None:
    if b[:1] == b"(":
        v = parse_score_lenient(b[1:])
        return None if v is None else (v, True)
    v = parse_score_lenient(b)
    return None if v is None else (v, False)


def parse_score_range(bmin: bytes, bmax: bytes) -> ScoreRange | None:
    """Parse a ZRANGEBYSCORE ``min max`` pair; None when either is not a float."""
    lo = _parse_bound(bmin)
    hi = _parse_bound(bmax)
    if lo is None or hi is None:
        return None
    return ScoreRange(lo[0], hi[0], lo[1], hi[1])


# Lex bounds: (kind, value, exclusive) with kind -1 for "-", 1 for "+", 0 for a string.
LexBound = tuple[int, bytes, bool]


def _parse_lex_item(b: bytes) -> LexBound | None:
    if not b:
        return None
    c = b[0]
    if c == 43:  # '+'
        return (1, b"", False) if len(b) == 1 else None
    if c == 45:  # '-'
        return (-1, b"", False) if len(b) == 1 else None
    if c == 40:  # '('
        return (0, b[1:], True)
    if c == 91:  # '['
        return (0, b[1:], False)
    return None


class LexRange:
    """A member interval as ZRANGEBYLEX takes it (``[a``, ``(a``, ``-``, ``+``)."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: LexBound, hi: LexBound) -> None:
        self.lo, self.hi = lo, hi

    def empty(self) -> bool:
        lk, lv, lex = self.lo
        hk, hv, hex_ = self.hi
        if lk == 1 or hk == -1:
            return True
        if lk == -1 or hk == 1:
            return False
        return lv > hv or (lv == hv and (lex or hex_))

    def gte_min(self, m: bytes) -> bool:
        k, v, ex = self.lo
        if k:
            return k < 0
        return m > v if ex else m >= v

    def lte_max(self, m: bytes) -> bool:
        k, v, ex = self.hi
        if k:
            return k > 0
        return m < v if ex else m <= v


def parse_lex_range(bmin: bytes, bmax: bytes) -> LexRange | None:
    lo = _parse_lex_item(bmin)
    hi = _parse_lex_item(bmax)
    if lo is None or hi is None:
        return None
    return LexRange(lo, hi)


# -- the value ------------------------------------------------------------------------------------
_new = object.__new__
_SL_LAYOUT = {"_len", "_load", "_lists", "_maxes", "_index", "_offset"}
_SL_ADOPT = set(SortedList([1]).__dict__) == _SL_LAYOUT and SortedList.DEFAULT_LOAD_FACTOR == 1000


def new_sorted_list() -> SortedList:
    """An empty sorted list of ``(score, member)``: the accelerator's ``ScoreList`` (16 bytes per
    member, unboxed) or a sortedcontainers ``SortedList`` of tuples (72)."""
    hot = _speedups.hotpath
    return SortedList() if hot is None else hot.ScoreList()


def sorted_list_of(items: list) -> SortedList:
    """A sorted list (:func:`new_sorted_list`) holding *items*, which must already be sorted.

    Under the accelerator the ``ScoreList`` takes them as they stand. Short lists are adopted as the
    SortedList's single sublist (the layout sortedcontainers 2.x builds itself for fewer than
    ``DEFAULT_LOAD_FACTOR`` items, checked at import), skipping its generic constructor: loading an
    RDB file builds many small sorted sets.
    """
    hot = _speedups.hotpath
    if hot is not None:
        return hot.score_list_of(items)
    n = len(items)
    if not _SL_ADOPT or not n or n > 1000:
        return SortedList(items)
    sl = _new(SortedList)
    sl._len = n
    sl._load = 1000
    sl._lists = [items]
    sl._maxes = [items[-1]]
    sl._index = []
    sl._offset = 0
    return sl


class ZSetValue:
    """A sorted set: ``d`` maps member -> score, ``sl`` holds ``(score, member)`` in order."""

    TYPE_NAME = b"zset"
    __slots__ = ("d", "sl", "big")

    def __init__(self) -> None:
        self.d: dict[bytes, float] = _speedups.key_dict()
        self.sl = new_sorted_list()
        self.big = False

    def __len__(self) -> int:
        return len(self.d)

    def __repr__(self) -> str:
        return f"ZSetValue({list(self.sl)!r})"

    def encoding(self, config: object = None) -> bytes:
        return b"skiplist" if self.big else b"listpack"

    def copy(self) -> ZSetValue:
        z = ZSetValue()
        z.d = _speedups.key_dict(self.d)
        z.sl = type(self.sl)(self.sl)
        z.big = self.big
        return z

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def from_pairs(cls, pairs, max_entries: int, max_value: int, longest: int | None = None) -> ZSetValue:
        """A new set from ``(member, score)`` pairs (a later duplicate member overrides an earlier
        one); encoding decided by size. *longest*: the longest member's length, when known."""
        z = _new(cls)
        d = z.d = _speedups.key_dict(pairs)
        if longest is None:
            longest = max(map(len, d), default=0)
        big = z.big = len(d) > max_entries or longest > max_value
        if not big:
            for m, s in d.items():
                if s == 0.0:
                    d[m] = 0.0  # -0 is stored as 0 in a listpack
        z.sl = sorted_list_of(sorted([(s, m) for m, s in d.items()]))
        return z

    @classmethod
    def from_sorted(cls, pairs: list, entries: list, big: bool) -> ZSetValue:
        """A new set from ``(member, score)`` *pairs* and the same as ``(score, member)`` *entries*,
        already in order, no score zero (an RDB listpack as Redis writes it): no sorting, and the
        entries list becomes the sorted list. A duplicate member leaves ``len(z) < len(pairs)``."""
        z = _new(cls)
        z.d = _speedups.key_dict(pairs)
        z.big = big
        z.sl = sorted_list_of(entries)
        return z

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        """Add a member known to be absent."""
        if not self.big:
            if len(self.d) >= max_entries or len(member) > max_value:
                self.big = True
            elif score == 0.0:
                score = 0.0
        self.d[member] = score
        self.sl.add((score, member))

    def update(self, member: bytes, old: float, score: float) -> None:
        """Change the score of a present member."""
        if not self.big and score == 0.0:
            score = 0.0
        sl = self.sl
        sl.remove((old, member))
        self.d[member] = score
        sl.add((score, member))

    def remove(self, member: bytes) -> bool:
        s = self.d.pop(member, None)
        if s is None:
            return False
        self.sl.remove((s, member))
        return True

    def delete_slice(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Remove items ``[start, stop)`` by rank; returns them."""
        sl = self.sl
        items = list(sl.islice(start, stop))
        if not items:
            return items
        if stop - start == len(sl):
            sl.clear()
            self.d.clear()
            return items
        d = self.d
        for _, m in items:
            del d[m]
        del sl[start:stop]
        return items

    # -- queries --------------------------------------------------------------------------------
    def items_ordered(self) -> list[tuple[bytes, float]]:
        """``(member, score)`` pairs in ascending order (persistence, SORT, ...)."""
        return [(m, s) for s, m in self.sl]

    def entries(self, start: int, stop: int, rev: bool = False) -> list[tuple[float, bytes]]:
        """The ``(score, member)`` entries of ranks ``[start, stop)``, highest rank first when *rev*."""
        out = self.sl[start:stop]
        if rev:
            out.reverse()
        return out

    @property
    def scores(self) -> dict[bytes, float]:
        """The member -> score mapping."""
        return self.d

    def rank(self, member: bytes) -> int | None:
        s = self.d.get(member)
        if s is None:
            return None
        return self.sl.bisect_left((s, member))

    def score_bounds(self, r: ScoreRange) -> tuple[int, int]:
        """Rank interval ``[lo, hi)`` of the members whose score is in *r*."""
        sl = self.sl
        n = len(sl)
        if r.minex:
            lo = n if r.min == inf else sl.bisect_left((nextafter(r.min, inf), b""))
        else:
            lo = sl.bisect_left((r.min, b""))
        if r.maxex:
            hi = sl.bisect_left((r.max, b""))
        else:
            hi = n if r.max == inf else sl.bisect_left((nextafter(r.max, inf), b""))
        return lo, max(lo, hi)

    def lex_bounds(self, r: LexRange) -> tuple[int, int]:
        """Rank interval ``[lo, hi)`` of the members in the lex range *r*.

        Exact when all scores are equal (the only case Redis defines); with mixed scores the
        result is the one of Redis's listpack scan from the head.
        """
        sl = self.sl
        n = len(sl)
        if not n or r.empty():
            return 0, 0
        s0 = sl[0][0]
        if s0 == sl[-1][0]:
            k, v, ex = r.lo
            if k:
                lo = 0 if k < 0 else n
            else:
                lo = sl.bisect_right((s0, v)) if ex else sl.bisect_left((s0, v))
            k, v, ex = r.hi
            if k:
                hi = n if k > 0 else 0
            else:
                hi = sl.bisect_left((s0, v)) if ex else sl.bisect_right((s0, v))
            return lo, max(lo, hi)
        if not (r.gte_min(sl[-1][1]) and r.lte_max(sl[0][1])):
            return 0, 0
        lo = 0
        for _, m in sl:
            if r.gte_min(m):
                break
            lo += 1
        hi = lo
        for _, m in sl.islice(lo):
            if not r.lte_max(m):
                break
            hi += 1
        return lo, hi

    def rev_lex_bounds(self, r: LexRange) -> tuple[int, int]:
        """Like :meth:`lex_bounds` for ZREVRANGEBYLEX (a listpack scan from the tail)."""
        sl = self.sl
        n = len(sl)
        if not n or r.empty():
            return 0, 0
        if sl[0][0] == sl[-1][0]:
            return self.lex_bounds(r)
        if not (r.gte_min(sl[-1][1]) and r.lte_max(sl[0][1])):
            return 0, 0
        hi = n
        for _, m in sl.islice(reverse=True):
            if r.lte_max(m):
                break
            hi -= 1
        lo = hi
        for _, m in sl.islice(0, hi, reverse=True):
            if not r.gte_min(m):
                break
            lo -= 1
        return lo, hi
