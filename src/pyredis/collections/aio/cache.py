"""Async ``redis_cache`` for coroutine functions and ``AsyncCachedOrderedDict``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from pyredis.collections.aio import driver
from pyredis.collections.cache import CachedOrderedDictBase, CacheInfo, CachePlans, default_key
from pyredis.collections.ops import Plan

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def redis_cache(
    *, redis: Any, key: str | None = None, timeout: float | None = None, serializer: Any = None
) -> Callable[[F], F]:
    """:func:`pyredis.collections.redis_cache` for coroutine functions and async clients.

    ``await f.cache_info()`` and ``await f.cache_clear()`` are coroutines here.
    """

    def decorator(func: F) -> F:
        cache = CachePlans(key or default_key(func), serializer, timeout)

        async def run(plan: Plan[Any]) -> Any:
            return await driver.run(redis, plan, f"redis_cache {cache.key!r}")

        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            field = cache.field(args, kwargs)
            hit, value = await run(cache._p_lookup(field))
            cache.count(hit)
            if not hit:
                value = await func(*args, **kwargs)
                await run(cache._p_store([(field, value)]))
            return value

        async def cache_info() -> CacheInfo:
            return CacheInfo(cache.hits, cache.misses, None, await run(cache._p_size()))

        async def cache_clear() -> None:
            await run(cache._p_clear())

        return cache.decorate(wrapper, func, cache_info, cache_clear)  # type: ignore[no-any-return]

    return decorator


class AsyncCachedOrderedDict(CachedOrderedDictBase):
    """Async :class:`~pyredis.collections.CachedOrderedDict`.

    Build it with ``await AsyncCachedOrderedDict.load(redis=..., key=..., dict_keys=...)``;
    write through with ``await d.store(k, v)`` / ``await d.store_many(mapping)``
    (plain ``d[k] = v`` only changes the local dict).
    """

    redis: Any

    @classmethod
    async def load(
        cls,
        *,
        redis: Any,
        key: str,
        dict_keys: Iterable[Any] = (),
        timeout: float | None = None,
        serializer: Any = None,
    ) -> AsyncCachedOrderedDict:
        self = cls()
        self.redis = redis
        keys = self._setup(key, dict_keys, serializer, timeout)
        self._fill(keys, await self._run(self._cache._p_fetch([self._fields[k] for k in keys])))
        return self

    async def _run(self, plan: Plan[Any]) -> Any:
        return await driver.run(self.redis, plan, f"AsyncCachedOrderedDict {self._cache.key!r}")

    async def store(self, k: Any, v: Any) -> None:
        await self._run(self._cache._p_store(self._entries([(k, v)])))

    async def store_many(self, arg: Any = (), /, **kwargs: Any) -> None:
        items = list(arg.items() if isinstance(arg, Mapping) else arg) + list(kwargs.items())
        await self._run(self._cache._p_store(self._entries(items)))
