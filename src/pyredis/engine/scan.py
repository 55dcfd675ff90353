"""Stateless SCAN cursors with Redis's guarantee.

Elements are visited in the order of a 63-bit hash; the cursor is the hash of the next element
to return. A snapshot sorted by hash is taken when an iteration starts (cursor 0) and reused by
later calls; elements present from start to end of an iteration are therefore always returned,
elements deleted meanwhile are skipped, elements added meanwhile may or may not be returned.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable

_MASK = (1 << 63) - 1


def element_hash(x: bytes) -> int:
    return (hash(x) & _MASK) or 1


class ScanCache:
    """Snapshots of element orders for the collections being scanned (bounded LRU)."""

    def __init__(self, size: int = 64) -> None:
        self._snaps: OrderedDict[int, tuple[object, list[int], list[bytes]]] = OrderedDict()
        self.size = size

    def page(
        self, owner: object, cursor: int, count: int, elements: Callable[[], Iterable[bytes]],
        alive: Callable[[bytes], bool],
    ) -> tuple[int, list[bytes]]:
        """Return ``(next_cursor, elements)`` for one SCAN call over *owner*."""
        oid = id(owner)
        snap = self._snaps.get(oid)
        if cursor == 0 or snap is None or snap[0] is not owner:
            items = sorted((element_hash(e), e) for e in elements())
            snap = (owner, [h for h, _ in items], [e for _, e in items])
            self._snaps[oid] = snap
            if len(self._snaps) > self.size:
                self._snaps.popitem(last=False)
        else:
            self._snaps.move_to_end(oid)
        _, hashes, elems = snap
        i = bisect_left(hashes, cursor) if cursor else 0
        out: list[bytes] = []
        n = len(elems)
        visited = 0
        while i < n and visited < count:
            e = elems[i]
            if alive(e):
                out.append(e)
            visited += 1
            i += 1
        # Keep elements sharing the boundary hash on the same page.
        while i < n and hashes[i] == hashes[i - 1]:
            if alive(elems[i]):
                out.append(elems[i])
            i += 1
        if i >= n:
            self._snaps.pop(oid, None)
            return 0, out
        return hashes[i], out
