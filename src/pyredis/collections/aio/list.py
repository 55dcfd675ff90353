"""``AsyncRedisList``: the asyncio twin of :class:`~pyredis.collections.RedisList`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.list import ListPlans, sequence_equal, sorted_list


class AsyncRedisList(ListPlans, AsyncContainer):
    """A list in a Redis list, with coroutine methods.

    ``await l[0]``, ``await l[1:3]``, ``await l.set(-1, x)``, ``await l.append(x)``,
    ``async for x in l``, ``await l.to_list()``.
    """

    redis_type = "list"

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
            self._defer(self._p_extend(values))

    async def getitem(self, i: Any) -> Any:
        """``l[i]`` or ``l[slice]``; ``await l[i]`` works too."""
        return await self._run(self._p_getitem(i))

    __getitem__ = getitem

    async def set(self, i: Any, value: Any) -> None:
        """``l[i] = value`` (``i`` may be a slice)."""
        await self._run(self._p_setitem(i, value))

    setitem = set

    async def delete(self, i: Any) -> None:
        """``del l[i]`` (``i`` may be a slice)."""
        await self._run(self._p_delitem(i))

    delitem = delete

    async def len(self) -> int:
        return await self._run(self._p_len())

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._pages(self._p_page)

    async def contains(self, value: Any) -> bool:
        return await self._run(self._p_contains(value))

    async def insert(self, i: int, value: Any) -> None:
        await self._run(self._p_insert(i, value))

    async def append(self, value: Any) -> None:
        await self._run(self._p_extend([value]))

    async def extend(self, values: Iterable[Any]) -> None:
        """Append every value, in one round trip."""
        await self._run(self._p_extend(list(values)))

    async def pop(self, i: int = -1) -> Any:
        return await self._run(self._p_pop(i))

    async def remove(self, value: Any) -> None:
        await self._run(self._p_remove(value))

    async def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        return await self._run(self._p_index(value, start, stop))

    async def count(self, value: Any) -> int:
        return len(await self._run(self._p_positions(value)))

    async def reverse(self) -> None:
        await self._run(self._p_transform(lambda values: values[::-1]))

    async def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        await self._run(self._p_transform(lambda values: sorted_list(values, key, reverse)))

    async def to_list(self) -> list[Any]:
        return await self._run(self._p_all())

    copy = to_list

    async def equals(self, other: Any) -> bool:
        if isinstance(other, AsyncRedisList):
            other = await other.to_list()
        return sequence_equal(await self.to_list(), other) is True
