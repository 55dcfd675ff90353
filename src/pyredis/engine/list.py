"""The list type: O(1) push/pop at both ends, compact storage for the middle of long lists.

A :class:`ListValue` keeps its elements in three parts, in order: ``left`` (a deque), ``mid``
(a deque of packed chunks) and ``right`` (a deque). Pushes and pops touch only the end deques;
when an end grows past ``SPILL`` elements its inner ``CHUNK`` elements are packed into one
``marshal`` blob (a few bytes of overhead per element instead of a Python object each, like
Redis's quicklist nodes); when an end runs empty the neighbouring chunk is unpacked. Lists
shorter than ``SPILL`` never pack anything.

Memory: an empty ``mid`` or ``right`` is the shared empty tuple ``_NONE`` instead of a deque (an
empty deque costs about 600 bytes), so a short list holds a single deque. Code reading these
parts treats them as sequences; code writing them first materializes a deque (``_right()``,
``_spill_*``). Readers outside this module must use the methods, not the parts.

The class offers the deque API other modules use (iteration both ways, ``len``, indexing,
``append``/``appendleft``/``extend``/``extendleft``/``pop``/``popleft``, ``index``, ``insert``,
``clear``) plus range helpers for the list commands.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from marshal import dumps, loads
from typing import Any

CHUNK = 256
SPILL = 2 * CHUNK

Chunk = tuple[int, bytes]
_NONE: tuple = ()  # an empty, shared, immutable stand-in for mid / right


def _pack(items: list[bytes]) -> Chunk:
    return (len(items), dumps(items))


def _chunks(items: list[bytes]) -> list[Chunk]:
    return [_pack(items[i : i + CHUNK]) for i in range(0, len(items), CHUNK)]


class ListValue:
    """A Redis list. Redis 7.0 always reports the ``quicklist`` encoding for lists."""

    __slots__ = ("left", "mid", "right", "midn", "__weakref__")
    TYPE_NAME = b"list"

    def __init__(self, items: Iterable[bytes] = ()) -> None:
        self.left: deque[bytes] = deque(items)
        self.mid: deque[Chunk] | tuple = _NONE
        self.right: deque[bytes] | tuple = _NONE
        self.midn = 0
        if len(self.left) > SPILL:
            self._reset(list(self.left))

    # -- representation ------------------------------------------------------------------------------
    def encoding(self, config: Any = None) -> bytes:
        return b"quicklist"

    def copy(self) -> ListValue:
        new = ListValue()
        new.left = self.left.copy()
        new.mid = deque(self.mid) if self.mid else _NONE
        new.right = deque(self.right) if self.right else _NONE
        new.midn = self.midn
        return new

    def __repr__(self) -> str:
        return f"ListValue({list(self)!r})"

    def __len__(self) -> int:
        return len(self.left) + self.midn + len(self.right)

    def __bool__(self) -> bool:
        return bool(self.left) or bool(self.right) or self.midn > 0

    def __iter__(self) -> Iterator[bytes]:
        if not self.mid:
            return chain(self.left, self.right)
        return chain(self.left, chain.from_iterable(loads(b) for _, b in self.mid), self.right)

    def __reversed__(self) -> Iterator[bytes]:
        if not self.mid:
            return chain(reversed(self.right), reversed(self.left))
        return chain(reversed(self.right), chain.from_iterable(reversed(loads(b)) for _, b in reversed(self.mid)),
                     reversed(self.left))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListValue):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def _reset(self, items: list[bytes]) -> None:
        """Replace the content with *items*, packed when long."""
        self.mid = _NONE
        self.midn = 0
        if len(items) <= SPILL:
            self.left = deque(items)
            self.right = _NONE
            return
        self.left = deque(items[:CHUNK])
        self.right = deque(items[-CHUNK:])
        middle = items[CHUNK:-CHUNK]
        self.mid = deque(_chunks(middle))
        self.midn = len(middle)

    # -- ends ------------------------------------------------------------------------------------------
    def _spill_left(self) -> None:
        items = list(self.left)
        keep = len(items) - (len(items) - CHUNK) // CHUNK * CHUNK
        self.left = deque(items[:keep])
        packed = _chunks(items[keep:])
        packed.reverse()
        if not self.mid:
            self.mid = deque()
        self.mid.extendleft(packed)
        self.midn += len(items) - keep

    def _spill_right(self) -> None:
        items = list(self.right)
        cut = (len(items) - CHUNK) // CHUNK * CHUNK
        self.right = deque(items[cut:])
        if not self.mid:
            self.mid = deque()
        self.mid.extend(_chunks(items[:cut]))
        self.midn += cut

    def _right(self) -> deque[bytes]:
        """``right`` as a deque that can be written."""
        r = self.right
        if r is _NONE:
            r = self.right = deque()
        return r  # type: ignore[return-value]

    def append(self, x: bytes) -> None:
        r = self.right
        if r is _NONE:
            r = self.right = deque()
        r.append(x)
        if len(r) > SPILL:
            self._spill_right()

    def appendleft(self, x: bytes) -> None:
        left = self.left
        left.appendleft(x)
        if len(left) > SPILL:
            self._spill_left()

    def extend(self, items: Iterable[bytes]) -> None:
        self._right().extend(items)
        if len(self.right) > SPILL:
            self._spill_right()

    def extendleft(self, items: Iterable[bytes]) -> None:
        self.left.extendleft(items)
        if len(self.left) > SPILL:
            self._spill_left()

    def pop(self) -> bytes:
        r = self.right
        if r:
            return r.pop()
        if self.mid:
            n, blob = self.mid.pop()
            self.midn -= n
            r = self.right = deque(loads(blob))
            return r.pop()
        return self.left.pop()

    def popleft(self) -> bytes:
        left = self.left
        if left:
            return left.popleft()
        if self.mid:
            n, blob = self.mid.popleft()
            self.midn -= n
            left = self.left = deque(loads(blob))
            return left.popleft()
        if not self.right:
            raise IndexError("pop from an empty list")
        return self.right.popleft()  # type: ignore[union-attr]

    def clear(self) -> None:
        self.left = deque()
        self.mid = _NONE
        self.right = _NONE
        self.midn = 0

    def replace_all(self, items: list[bytes]) -> None:
        self._reset(items)

    # -- positions -------------------------------------------------------------------------------------
    def _locate(self, i: int) -> tuple[int, int]:
        """(chunk position in ``mid``, offset) of index *i* (``0 <= i - len(left) < midn``)."""
        i -= len(self.left)
        mid = self.mid
        if i < self.midn // 2:
            for k, (n, _) in enumerate(mid):
                if i < n:
                    return k, i
                i -= n
        else:
            j = self.midn - i  # distance from the end of mid (1-based)
            k = len(mid)
            for n, _ in reversed(mid):
                k -= 1
                if j <= n:
                    return k, n - j
                j -= n
        raise IndexError(i)

    def __getitem__(self, i: int) -> bytes:
        size = len(self)
        if i < 0:
            i += size
        if i < 0 or i >= size:
            raise IndexError("list index out of range")
        nl = len(self.left)
        if i < nl:
            return self.left[i]
        if i >= nl + self.midn:
            return self.right[i - nl - self.midn]
        k, off = self._locate(i)
        return loads(self.mid[k][1])[off]

    def __setitem__(self, i: int, x: bytes) -> None:
        size = len(self)
        if i < 0:
            i += size
        if i < 0 or i >= size:
            raise IndexError("list index out of range")
        nl = len(self.left)
        if i < nl:
            self.left[i] = x
        elif i >= nl + self.midn:
            self.right[i - nl - self.midn] = x
        else:
            k, off = self._locate(i)
            items = loads(self.mid[k][1])
            items[off] = x
            self.mid[k] = _pack(items)

    def index(self, x: bytes) -> int:
        """Position of the first *x* (ValueError when absent)."""
        try:
            return self.left.index(x)
        except ValueError:
            pass
        base = len(self.left)
        for n, blob in self.mid:
            if blob.find(x) >= 0:
                items = loads(blob)
                try:
                    return base + items.index(x)
                except ValueError:
                    pass
            base += n
        return base + self.right.index(x)

    def insert(self, i: int, x: bytes) -> None:
        """Insert *x* before position *i* (``0 <= i <= len``)."""
        nl = len(self.left)
        if i <= nl:
            self.left.insert(i, x)
            if len(self.left) > SPILL:
                self._spill_left()
            return
        if i >= nl + self.midn:
            self._right().insert(i - nl - self.midn, x)
            if len(self.right) > SPILL:
                self._spill_right()
            return
        k, off = self._locate(i)
        items = loads(self.mid[k][1])
        items.insert(off, x)
        if len(items) > SPILL:
            half = len(items) // 2
            self.mid[k] = _pack(items[half:])
            self.mid.insert(k, _pack(items[:half]))
        else:
            self.mid[k] = _pack(items)
        self.midn += 1

    def range(self, start: int, stop: int) -> list[bytes]:
        """Elements ``start..stop`` inclusive (clamped: ``0 <= start <= stop < len``)."""
        left = self.left
        nl = len(left)
        if stop < nl:
            return list(islice(left, start, stop + 1))
        n = len(self)
        if not self.mid:
            if start >= nl:
                r = self.right
                if start - nl > n - 1 - stop:
                    out = list(islice(reversed(r), n - 1 - stop, n - start))
                    out.reverse()
                    return out
                return list(islice(r, start - nl, stop - nl + 1))
            return list(islice(chain(left, self.right), start, stop + 1))
        if start >= nl + self.midn:
            base = nl + self.midn
            return list(islice(self.right, start - base, stop - base + 1))
        out = []
        want = stop - start + 1
        if start < nl:
            out.extend(islice(left, start, nl))
            pos = nl
        else:
            pos = start
        k, off = self._locate(pos) if pos < nl + self.midn else (len(self.mid), 0)
        mid = self.mid
        while len(out) < want and k < len(mid):
            items = loads(mid[k][1])
            out.extend(items[off : off + want - len(out)])
            off = 0
            k += 1
        if len(out) < want:
            out.extend(islice(self.right, 0, want - len(out)))
        return out

    # -- bulk edits ------------------------------------------------------------------------------------
    def _drop_left(self, k: int) -> None:
        while k > 0:
            left = self.left
            if left:
                if k >= len(left):
                    k -= len(left)
                    self.left = deque()
                else:
                    for _ in range(k):
                        left.popleft()
                    return
            elif self.mid:
                n, blob = self.mid[0]
                if n <= k:
                    self.mid.popleft()
                    self.midn -= n
                    k -= n
                else:
                    self.mid.popleft()
                    self.midn -= n
                    self.left = deque(loads(blob)[k:])
                    return
            else:
                right = self.right
                for _ in range(min(k, len(right))):
                    right.popleft()
                return

    def _drop_right(self, k: int) -> None:
        while k > 0:
            right = self.right
            if right:
                if k >= len(right):
                    k -= len(right)
                    self.right = _NONE
                else:
                    for _ in range(k):
                        right.pop()
                    return
            elif self.mid:
                n, blob = self.mid[-1]
                self.mid.pop()
                self.midn -= n
                if n <= k:
                    k -= n
                else:
                    self.right = deque(loads(blob)[: n - k])
                    return
            else:
                left = self.left
                for _ in range(min(k, len(left))):
                    left.pop()
                return

    def trim(self, start: int, stop: int) -> None:
        """Keep only ``start..stop`` inclusive (clamped indexes; ``start > stop`` empties)."""
        n = len(self)
        if start > stop or start >= n:
            self.clear()
            return
        if stop - start + 1 <= SPILL:
            self._reset(self.range(start, stop))
            return
        self._drop_right(n - 1 - stop)
        self._drop_left(start)

    def remove_matching(self, x: bytes, count: int) -> int:
        """LREM: remove up to ``|count|`` occurrences of *x* (all when 0; from the tail when < 0)."""
        limit = abs(count) if count else -1
        removed = 0
        segments: list[Any] = [self.left, *self.mid, self.right]
        order = range(len(segments)) if count >= 0 else range(len(segments) - 1, -1, -1)
        for si in order:
            if removed == limit:
                break
            seg = segments[si]
            if seg is _NONE:
                continue
            if isinstance(seg, tuple):
                if seg[1].find(x) < 0:
                    continue
                items = loads(seg[1])
            else:
                if x not in seg:
                    continue
                items = list(seg)
            kept, r = _filter(items, x, limit - removed if limit > 0 else -1, count < 0)
            if r:
                removed += r
                segments[si] = _pack(kept) if isinstance(seg, tuple) else deque(kept)
        if removed:
            self.left = segments[0]
            self.right = segments[-1]
            mid = [s for s in segments[1:-1] if s[0]]
            self.mid = deque(mid) if mid else _NONE
            self.midn = sum(n for n, _ in mid)
            if not self.left and not self.right and self.midn and self.midn <= SPILL:
                self._reset(list(self))
        return removed


def _filter(items: list[bytes], x: bytes, limit: int, from_tail: bool) -> tuple[list[bytes], int]:
    """Drop up to *limit* (all when -1) elements equal to *x*, scanning from the tail if asked."""
    if limit < 0:
        kept = [e for e in items if e != x]
        return kept, len(items) - len(kept)
    removed = 0
    seq = reversed(items) if from_tail else items
    kept = []
    for e in seq:
        if removed < limit and e == x:
            removed += 1
        else:
            kept.append(e)
    if from_tail:
        kept.reverse()
    return kept, removed
