"""``AsyncHyperLogLog``: the asyncio twin of :class:`~pyredis.collections.HyperLogLog`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.base import random_key
from pyredis.collections.hyperloglog import HyperLogLogPlans


class AsyncHyperLogLog(HyperLogLogPlans, AsyncContainer):
    """``await h.add(x)``, ``await h.update(other, values)``, ``await h.len()``,
    ``await (h | other)`` (a new AsyncHyperLogLog)."""

    redis_type = "string"

    def __init__(
        self,
        iterable: Iterable[Any] = (),
        /,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        values = list(iterable)
        if values:
            self._defer(self._p_update([], values))

    async def _flush_others(self, others: tuple[Any, ...]) -> None:
        for other in others:
            if isinstance(other, AsyncContainer):
                await other._init()

    async def add(self, value: Any) -> bool:
        return await self._run(self._p_add(value))

    async def update(self, *others: Any) -> None:
        await self._flush_others(others)
        await self._run(self._p_update(*self._split(others)))

    async def union(self, *others: Any, key: str | None = None) -> AsyncHyperLogLog:
        await self._flush_others(others)
        new = AsyncHyperLogLog(redis=self.redis, key=key or random_key(), serializer=self.serializer)
        await self._run(self._p_update(*self._split(others), target=new.key))
        return new

    __or__ = union

    async def len(self) -> int:
        return await self._run(self._p_len())
