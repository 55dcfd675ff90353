"""``AsyncBloomFilter``: the asyncio twin of :class:`~pyredis.collections.BloomFilter`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.bloom import BloomPlans


class AsyncBloomFilter(BloomPlans, AsyncContainer):
    """``await bf.add(x)``, ``await bf.contains(x)``, ``await bf.len()`` (approximate)."""

    redis_type = "string"

    def __init__(
        self,
        iterable: Iterable[Any] = (),
        /,
        *,
        num_elements: int = 100,
        false_positives: float = 0.001,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        self._size(num_elements, false_positives)
        values = list(iterable)
        if values:
            self._defer(self._p_add(values))

    async def add(self, value: Any) -> None:
        await self._run(self._p_add([value]))

    async def update(self, *iterables: Iterable[Any]) -> None:
        await self._run(self._p_add([v for it in iterables for v in it]))

    async def contains(self, value: Any) -> bool:
        return (await self._run(self._p_contains([value])))[0]

    async def contains_many(self, values: Iterable[Any]) -> list[bool]:
        return await self._run(self._p_contains(list(values)))

    async def len(self) -> int:
        return await self._run(self._p_len())

    def __repr__(self) -> str:
        return f"<AsyncBloomFilter {self._describe()}>"
