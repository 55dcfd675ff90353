"""``AsyncRedisSet``: the asyncio twin of :class:`~pyredis.collections.RedisSet`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.set import SetPlans


class AsyncRedisSet(SetPlans, AsyncContainer):
    """A set in a Redis set, with coroutine methods (``await s.add(x)``, ``async for x in s``).

    Operands of the algebra methods may be Python iterables or other (sync or async)
    Redis sets; those on the same server are combined server-side.
    """

    redis_type = "set"

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
        members = set(iterable)
        if members:
            self._defer(self._p_update([], [members]))

    async def _ops(self, others: Iterable[Any]) -> tuple[list[str], list[set[Any]]]:
        others = list(others)
        fetched: dict[int, set[Any]] = {}
        for other in others:
            if isinstance(other, AsyncContainer):
                await other._init()  # its constructor data must be there before we use its key
            if isinstance(other, AsyncRedisSet) and not self._combinable(other):
                fetched[id(other)] = await other.to_set()
        return self._split(others, lambda o: fetched[id(o)] if id(o) in fetched else o.to_set())

    async def add(self, value: Any) -> None:
        await self._run(self._p_add(value))

    async def discard(self, value: Any) -> None:
        await self._run(self._p_discard(value))

    async def remove(self, value: Any) -> None:
        """Remove ``value``; KeyError if absent."""
        await self._run(self._p_discard(value, strict=True))

    async def pop(self) -> Any:
        return await self._run(self._p_pop())

    async def contains(self, value: Any) -> bool:
        return await self._run(self._p_contains(value))

    async def contains_many(self, values: Iterable[Any]) -> list[bool]:
        return await self._run(self._p_contains_many(list(values)))

    async def len(self) -> int:
        return await self._run(self._p_len())

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._pages(self._p_page)

    async def to_set(self) -> set[Any]:
        return await self._run(self._p_members())

    copy = to_set

    async def union(self, *others: Iterable[Any]) -> set[Any]:
        return await self._run(self._p_algebra("SUNION", *await self._ops(others)))

    async def intersection(self, *others: Iterable[Any]) -> set[Any]:
        return await self._run(self._p_algebra("SINTER", *await self._ops(others)))

    async def difference(self, *others: Iterable[Any]) -> set[Any]:
        return await self._run(self._p_algebra("SDIFF", *await self._ops(others)))

    async def symmetric_difference(self, other: Iterable[Any]) -> set[Any]:
        return await self.to_set() ^ await self._as_set(other)

    async def update(self, *others: Iterable[Any]) -> None:
        await self._run(self._p_update(*await self._ops(others)))

    async def intersection_update(self, *others: Iterable[Any]) -> None:
        await self._run(self._p_intersection_update(*await self._ops(others)))

    async def difference_update(self, *others: Iterable[Any]) -> None:
        await self._run(self._p_difference_update(*await self._ops(others)))

    async def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        await self._run(self._p_symmetric_difference_update(*await self._ops([other])))

    async def _as_set(self, other: Any) -> set[Any]:
        if isinstance(other, AsyncRedisSet):
            return await other.to_set()
        if isinstance(other, SetPlans):
            return other.to_set()  # type: ignore[attr-defined]
        return set(other)

    async def isdisjoint(self, other: Iterable[Any]) -> bool:
        if isinstance(other, SetPlans):
            return not await self.intersection(other)
        return not any(await self.contains_many(set(other)))

    async def issubset(self, other: Iterable[Any]) -> bool:
        return await self.to_set() <= await self._as_set(other)

    async def issuperset(self, other: Iterable[Any]) -> bool:
        if isinstance(other, SetPlans):
            return await self.to_set() >= await self._as_set(other)
        return all(await self.contains_many(set(other)))

    async def equals(self, other: Iterable[Any]) -> bool:
        return await self.to_set() == await self._as_set(other)
