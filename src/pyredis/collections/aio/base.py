"""Asynchronous container base: runs the shared plans with a ``redis.asyncio`` client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any

from pyredis.collections.aio import driver
from pyredis.collections.base import Core
from pyredis.collections.ops import Plan, T
from pyredis.collections.serializers import Serializer


class AsyncContainer(Core):
    """Async twin of :class:`pyredis.collections.base.Container`.

    Methods are coroutines.  Data given to the constructor is written by the first
    awaited operation, or explicitly by ``await container`` (which returns it).
    """

    def __init__(
        self, *, redis: Any = None, key: str | None = None, serializer: Serializer | str | None = None
    ):
        if redis is None:
            import redis.asyncio as redis_aio

            redis = redis_aio.Redis()
        super().__init__(redis=redis, key=key, serializer=serializer)
        self._pending: Plan[Any] | None = None

    def _defer(self, plan: Plan[Any] | None) -> None:
        """Keep a plan (the constructor's data) for the first awaited operation."""
        self._pending = plan

    async def _run(self, plan: Plan[T]) -> T:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await driver.run(self.redis, pending, self._what)
        return await driver.run(self.redis, plan, self._what)

    async def _init(self) -> Any:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await driver.run(self.redis, pending, self._what)
        return self

    def __await__(self) -> Generator[Any, None, Any]:
        return self._init().__await__()

    async def clear(self) -> None:
        """Delete every element (the key itself)."""
        self._pending = None
        await self._run(self._plan_clear())

    async def expire(self, seconds: float) -> bool:
        """Let the whole container expire after ``seconds``; False if it is empty."""
        return await self._run(self._plan_expire(seconds))

    def watch(self, *, configure: bool = True) -> Any:
        """An :class:`~pyredis.collections.aio.watch.AsyncWatcher` of this key.

        Use ``async with container.watch() as events:`` to be subscribed before acting.
        """
        from pyredis.collections.aio.watch import AsyncWatcher

        return AsyncWatcher(self.redis, self.key, configure=configure)

    async def _pages(self, page: Any, cursor: Any = 0) -> AsyncIterator[Any]:
        while True:
            cursor, items = await self._run(page(cursor))
            for item in items:
                yield item
            if not cursor:
                return

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r})"
