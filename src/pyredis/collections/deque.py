"""``RedisDeque``: a ``collections.deque`` stored in a Redis list (maxlen, rotate...)."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

from pyredis.collections.list import ListPlans, RedisList, sequence_equal
from pyredis.collections.ops import Cmd, Eval, Pipe, Plan
from pyredis.collections.scripts import LIST_ROTATE


class DequePlans(ListPlans):
    """Deque-only plans shared by :class:`RedisDeque` and its async twin."""

    def _check_maxlen(self, maxlen: int | None) -> int | None:
        if maxlen is not None:
            if not isinstance(maxlen, int) or maxlen < 0:
                raise ValueError("maxlen must be a non-negative integer")
        return maxlen

    def _p_init(self, values: list[Any]) -> Plan[None]:
        """Constructor data: extend, then trim whatever the key already held to maxlen."""
        yield from self._p_extend(values)
        yield from self._p_trim()

    def _p_append(self, value: Any, left: bool) -> Plan[None]:
        if self._maxlen == 0:
            return
        cmds: list[Any] = [("LPUSH" if left else "RPUSH", self.key, self._enc(value))]
        if self._maxlen is not None:
            trim = (
                ("LTRIM", self.key, 0, self._maxlen - 1) if left else ("LTRIM", self.key, -self._maxlen, -1)
            )
            yield Pipe([*cmds, trim])
        else:
            yield Cmd(cmds[0])

    def _p_rotate(self, n: int) -> Plan[None]:
        yield Eval(LIST_ROTATE, (self.key,), (int(n),))


class RedisDeque(DequePlans, RedisList):
    """A deque in a Redis list.  ``RedisDeque([1, 2], maxlen=10, redis=client)``.

    With ``maxlen`` appends on one end discard items from the other, atomically.
    """

    def __init__(
        self,
        iterable: Iterable[Any] = (),
        /,
        maxlen: int | None = None,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
    ):
        self._maxlen = self._check_maxlen(maxlen)
        super(RedisList, self).__init__(redis=redis, key=key, serializer=serializer)
        self._run(self._p_init(list(iterable)))

    @property
    def maxlen(self) -> int | None:
        return self._maxlen

    def append(self, value: Any) -> None:
        self._run(self._p_append(value, left=False))

    def appendleft(self, value: Any) -> None:
        self._run(self._p_append(value, left=True))

    def extendleft(self, values: Iterable[Any]) -> None:
        """Prepend every value (so they end up reversed, like ``deque.extendleft``)."""
        self._run(self._p_extend(list(values), left=True))

    def pop(self) -> Any:  # type: ignore[override]
        """Remove and return the rightmost item; IndexError if empty."""
        return self._run(self._p_pop(-1))

    def popleft(self) -> Any:
        """Remove and return the leftmost item; IndexError if empty."""
        return self._run(self._p_pop(0))

    def rotate(self, n: int = 1) -> None:
        """Rotate ``n`` steps to the right (left if negative), atomically."""
        self._run(self._p_rotate(n))

    def to_deque(self) -> collections.deque[Any]:
        """A plain deque copy (same maxlen), in one round trip."""
        return collections.deque(self.to_list(), self._maxlen)

    copy = to_deque  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RedisList):
            other = other.to_list()
        return sequence_equal(self.to_list(), other)

    def __repr__(self) -> str:
        extra = "" if self._maxlen is None else f", maxlen={self._maxlen}"
        return f"{type(self).__name__}({self.to_list()!r}{extra}, key={self.key!r})"
