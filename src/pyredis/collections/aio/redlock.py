"""``AsyncRedlock`` and the async ``synchronize`` decorator."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from pyredis.collections.aio import masters as multi
from pyredis.collections.ops import Plan
from pyredis.collections.redlock import RedlockPlans

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class AsyncRedlock(RedlockPlans):
    """Async twin of :class:`~pyredis.collections.Redlock` (masters asked concurrently).

    ``async with AsyncRedlock(key='job', masters=[...]):`` or ``await lock.acquire()``.
    """

    def __init__(self, *, key: str, masters: Iterable[Any] | None = None, redis: Any = None, **options: Any):
        super().__init__(key=key, masters=masters, redis=redis, **options)
        self._renewer: asyncio.Task[None] | None = None

    async def _run(self, plan: Plan[Any]) -> Any:
        return await multi.run(self.masters, plan, repr(self))

    async def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        acquired = await self._run(self._p_acquire(blocking, timeout))
        if acquired and self.auto_renew:
            self._renewer = asyncio.create_task(self._renew())
        return acquired

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.auto_release_time / 3)
            try:
                await self.extend()
            except Exception:
                self.lost = True
                return

    async def release(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None and renewer is not asyncio.current_task():
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await self._run(self._p_release())

    async def extend(self) -> None:
        await self._run(self._p_extend())

    async def locked(self) -> bool:
        return await self._run(self._p_locked())

    async def ttl(self) -> float:
        return await self._run(self._p_ttl())

    async def __aenter__(self) -> AsyncRedlock:
        if not await self.acquire(self.context_manager_blocking, self.context_manager_timeout):
            raise TimeoutError(f"could not acquire {self!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()

    def watch(self, *, configure: bool = True) -> Any:
        from pyredis.collections.aio.watch import AsyncWatcher

        return AsyncWatcher(self.masters[0], self.key, configure=configure)


def synchronize(
    *,
    key: str,
    masters: Iterable[Any] | None = None,
    redis: Any = None,
    blocking: bool = True,
    timeout: float = -1,
    **options: Any,
) -> Callable[[F], F]:
    """Decorator for coroutine functions: await them only while holding the lock."""
    template = AsyncRedlock(key=key, masters=masters, redis=redis, **options)

    def decorator(func: F) -> F:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            lock = AsyncRedlock(key=key, **template.sibling_options(blocking, timeout))
            async with lock:
                return await func(*args, **kwargs)

        wrapper.lock = template  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
