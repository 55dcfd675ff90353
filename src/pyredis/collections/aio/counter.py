"""``AsyncRedisCounter``: the asyncio twin of :class:`~pyredis.collections.RedisCounter`."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.counter import CounterPlans, counts_of


class AsyncRedisCounter(CounterPlans, AsyncContainer):
    """A Counter in a Redis hash, with coroutine methods.

    ``await c.update('abc')``, ``await c['a']`` (0 when missing), ``await c.most_common(3)``;
    in-place arithmetic is ``await c.iadd(other)`` (also ``isub``, ``ior``, ``iand``).
    """

    redis_type = "hash"

    def __init__(
        self,
        arg: Iterable[Any] | Mapping[Any, int] | None = None,
        /,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
        **kwargs: int,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        counts = counts_of(arg, kwargs)
        if counts:
            self._defer(self._p_incr(counts))

    async def getitem(self, k: Any) -> int:
        return await self._run(self._p_get(k))

    __getitem__ = getitem
    get = getitem

    async def set(self, k: Any, n: int) -> None:
        await self._run(self._p_set(k, n))

    setitem = set

    async def delete(self, k: Any) -> None:
        await self._run(self._p_del(k))

    delitem = delete

    async def len(self) -> int:
        return await self._run(self._p_len())

    async def contains(self, k: Any) -> bool:
        return await self._run(self._p_contains(k))

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._pages(self._p_page)

    async def to_counter(self) -> collections.Counter[Any]:
        return await self._run(self._p_counts())

    copy = to_counter

    async def items(self) -> list[tuple[Any, int]]:
        return list((await self.to_counter()).items())

    async def update(self, arg: Any = None, /, **kwargs: int) -> None:
        await self._run(self._p_incr(await self._counts(arg, kwargs)))

    async def subtract(self, arg: Any = None, /, **kwargs: int) -> None:
        await self._run(self._p_incr(await self._counts(arg, kwargs), sign=-1))

    async def _counts(self, arg: Any, kwargs: Mapping[str, int]) -> collections.Counter[Any]:
        if isinstance(arg, AsyncRedisCounter):
            arg = await arg.to_counter()
        return counts_of(arg, kwargs)

    async def most_common(self, n: int | None = None) -> list[tuple[Any, int]]:
        return (await self.to_counter()).most_common(n)

    async def elements(self) -> list[Any]:
        return list((await self.to_counter()).elements())

    async def total(self) -> int:
        return sum((await self.to_counter()).values())

    async def _inplace(self, other: Any, op: Callable[[Any, Any], Any]) -> AsyncRedisCounter:
        counts = await self._counts(other, {})
        await self._run(self._p_transform(lambda current: op(current, counts)))
        return self

    async def iadd(self, other: Any) -> AsyncRedisCounter:
        """``self += other`` atomically (non-positive counts dropped, like Counter)."""
        return await self._inplace(other, lambda a, b: a + b)

    async def isub(self, other: Any) -> AsyncRedisCounter:
        return await self._inplace(other, lambda a, b: a - b)

    async def ior(self, other: Any) -> AsyncRedisCounter:
        return await self._inplace(other, lambda a, b: a | b)

    async def iand(self, other: Any) -> AsyncRedisCounter:
        return await self._inplace(other, lambda a, b: a & b)

    async def equals(self, other: Any) -> bool:
        if isinstance(other, AsyncRedisCounter):
            other = await other.to_counter()
        return await self.to_counter() == collections.Counter(dict(other))
