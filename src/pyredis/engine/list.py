"""The list type: a deque (O(1) push/pop at both ends) with Redis 7.0's encoding report."""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any


class ListValue(deque):
    """A Redis list. Redis 7.0 always reports the ``quicklist`` encoding for lists."""

    __slots__ = ()
    TYPE_NAME = b"list"

    def encoding(self, config: Any = None) -> bytes:
        return b"quicklist"

    def copy(self) -> ListValue:
        return ListValue(self)

    def range(self, start: int, stop: int) -> list[bytes]:
        """Elements ``start..stop`` inclusive (already clamped to ``0 <= start <= stop < len``)."""
        n = len(self)
        if start > n - 1 - stop:  # nearer to the tail: walk backwards
            out = list(islice(reversed(self), n - 1 - stop, n - start))
            out.reverse()
            return out
        return list(islice(self, start, stop + 1))

    def trim(self, start: int, stop: int) -> None:
        """Keep only ``start..stop`` inclusive (clamped indexes; ``start > stop`` empties)."""
        n = len(self)
        if start > stop or start >= n:
            self.clear()
            return
        left, right = start, n - 1 - stop
        if left + right <= n - left - right:
            for _ in range(left):
                self.popleft()
            for _ in range(right):
                self.pop()
        else:
            kept = self.range(start, stop)
            self.clear()
            self.extend(kept)

    def replace_all(self, items: list[bytes]) -> None:
        self.clear()
        self.extend(items)
