"""``AsyncRedisDeque``: the asyncio twin of :class:`~pyredis.collections.RedisDeque`."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.aio.list import AsyncRedisList
from pyredis.collections.deque import DequePlans


class AsyncRedisDeque(DequePlans, AsyncRedisList):
    """A deque in a Redis list, with coroutine methods and an optional ``maxlen``."""

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
        AsyncContainer.__init__(self, redis=redis, key=key, serializer=serializer)
        values = list(iterable)
        if values or maxlen is not None:
            self._defer(self._p_init(values))

    @property
    def maxlen(self) -> int | None:
        return self._maxlen

    async def append(self, value: Any) -> None:
        await self._run(self._p_append(value, left=False))

    async def appendleft(self, value: Any) -> None:
        await self._run(self._p_append(value, left=True))

    async def extendleft(self, values: Iterable[Any]) -> None:
        await self._run(self._p_extend(list(values), left=True))

    async def pop(self) -> Any:  # type: ignore[override]
        return await self._run(self._p_pop(-1))

    async def popleft(self) -> Any:
        return await self._run(self._p_pop(0))

    async def rotate(self, n: int = 1) -> None:
        await self._run(self._p_rotate(n))

    async def to_deque(self) -> collections.deque[Any]:
        return collections.deque(await self.to_list(), self._maxlen)

    copy = to_deque  # type: ignore[assignment]
