"""``AsyncRedisDict``: the asyncio twin of :class:`~pyredis.collections.RedisDict`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from pyredis.collections.aio.base import AsyncContainer
from pyredis.collections.dict import MISSING, DictPlans, pairs_of


class AsyncRedisDict(DictPlans, AsyncContainer):
    """A dict in a Redis hash, with coroutine methods.

    ``d = await AsyncRedisDict({'a': 1}, redis=client)``; ``await d['a']``,
    ``await d.set('b', 2)``, ``async for key in d``, ``await d.to_dict()``.
    """

    redis_type = "hash"

    def __init__(
        self,
        arg: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (),
        /,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        items = pairs_of(arg, kwargs)
        if items:
            self._defer(self._p_update(items))

    async def getitem(self, k: Any) -> Any:
        """``d[k]``; raises KeyError.  ``await d[k]`` works too."""
        return await self._run(self._p_getitem(k))

    __getitem__ = getitem

    async def get(self, k: Any, default: Any = None) -> Any:
        return await self._run(self._p_getitem(k, default))

    async def get_many(self, keys: Iterable[Any]) -> list[Any]:
        """Values of ``keys`` (None where missing) in one round trip."""
        return await self._run(self._p_getmany(list(keys)))

    async def set(self, k: Any, v: Any) -> None:
        """``d[k] = v``."""
        await self._run(self._p_setitem(k, v))

    setitem = set

    async def delete(self, k: Any) -> None:
        """``del d[k]``; raises KeyError."""
        await self._run(self._p_delitem(k))

    delitem = delete

    async def len(self) -> int:
        return await self._run(self._p_len())

    async def contains(self, k: Any) -> bool:
        return await self._run(self._p_contains(k))

    async def keys(self) -> list[Any]:
        return [k for k, _ in await self._run(self._p_items())]

    async def values(self) -> list[Any]:
        return [v for _, v in await self._run(self._p_items())]

    async def items(self) -> list[tuple[Any, Any]]:
        return await self._run(self._p_items())

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._keys_iter()

    async def _keys_iter(self) -> AsyncIterator[Any]:
        async for k, _ in self._pages(self._p_page):
            yield k

    def iter_items(self) -> AsyncIterator[tuple[Any, Any]]:
        """``async for key, value in d.iter_items()`` with HSCAN pages."""
        return self._pages(self._p_page)

    async def update(self, arg: Any = (), /, **kwargs: Any) -> None:
        """Like ``dict.update``, in one round trip."""
        if hasattr(arg, "to_dict") and isinstance(arg, AsyncContainer):
            arg = await arg.to_dict()
        await self._run(self._p_update(pairs_of(arg, kwargs)))

    async def pop(self, k: Any, default: Any = MISSING) -> Any:
        return await self._run(self._p_pop(k, default))

    async def popitem(self) -> tuple[Any, Any]:
        return await self._run(self._p_popitem())

    async def setdefault(self, k: Any, default: Any = None) -> Any:
        return await self._run(self._p_setdefault(k, default))

    async def to_dict(self) -> dict[Any, Any]:
        """A plain dict copy, in one round trip."""
        return dict(await self._run(self._p_items()))

    copy = to_dict

    async def equals(self, other: Any) -> bool:
        """``self == other`` for a Mapping or another async dict."""
        if isinstance(other, AsyncRedisDict):
            other = await other.to_dict()
        return await self.to_dict() == dict(other)
