"""``AsyncNextId``: the asyncio twin of :class:`~pyredis.collections.NextId`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pyredis.collections.aio import masters as multi
from pyredis.collections.nextid import NextIdPlans
from pyredis.collections.ops import Plan


class AsyncNextId(NextIdPlans):
    """``await ids.next()`` or ``async for id in ids`` (endless)."""

    async def _run(self, plan: Plan[Any]) -> Any:
        return await multi.run(self.masters, plan, repr(self))

    async def next(self) -> int:
        return await self._run(self._p_next())

    def __aiter__(self) -> AsyncIterator[int]:
        return self

    async def __anext__(self) -> int:
        return await self.next()

    async def current(self) -> int:
        return await self._run(self._p_current())

    async def reset(self) -> None:
        await self._run(self._p_reset())
