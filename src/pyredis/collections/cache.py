"""``redis_cache`` (an ``functools.lru_cache`` look-alike in a Redis hash) and
``CachedOrderedDict`` (an OrderedDict prefilled from that cache in one round trip)."""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from pyredis.collections import driver
from pyredis.collections.ops import Cmd, Pipe, Plan
from pyredis.collections.serializers import Serializer, resolve

F = TypeVar("F", bound=Callable[..., Any])


class CacheInfo(NamedTuple):
    """Like ``functools.lru_cache``'s: hits and misses are this process's own."""

    hits: int
    misses: int
    maxsize: int | None
    currsize: int


class CachePlans:
    """The cache's key, serializer, timeout, counters and plans (shared by sync and async)."""

    def __init__(self, key: str, serializer: Serializer | str | None = None, timeout: float | None = None):
        self.key = key
        self.serializer = resolve(serializer)
        self.timeout = timeout
        self.hits = self.misses = 0
        self._lock = threading.Lock()

    def field(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bytes | str:
        """The hash field of a call (its arguments, serialized canonically)."""
        return self.serializer.dumps([list(args), sorted(kwargs.items())])

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def _expire(self) -> list[tuple[Any, ...]]:
        return [] if self.timeout is None else [("PEXPIRE", self.key, int(self.timeout * 1000))]

    def _p_lookup(self, field: bytes | str) -> Plan[tuple[bool, Any]]:
        raw = yield Cmd(("HGET", self.key, field))
        return (False, None) if raw is None else (True, self.serializer.loads(raw))

    def _p_store(self, entries: Iterable[tuple[bytes | str, Any]]) -> Plan[None]:
        args: list[Any] = []
        for field, value in entries:
            args += (field, self.serializer.dumps(value))
        if args:
            yield Pipe([("HSET", self.key, *args), *self._expire()])

    def _p_size(self) -> Plan[int]:
        return int((yield Cmd(("HLEN", self.key))))

    def _p_clear(self) -> Plan[None]:
        with self._lock:
            self.hits = self.misses = 0
        yield Cmd(("DEL", self.key))

    def _p_fetch(self, fields: list[bytes | str]) -> Plan[list[tuple[bool, Any]]]:
        if not fields:
            return []
        raws = yield Cmd(("HMGET", self.key, *fields))
        return [(False, None) if r is None else (True, self.serializer.loads(r)) for r in raws]

    def parameters(self) -> dict[str, Any]:
        """What ``cache_parameters()`` returns (the ``functools.lru_cache`` shape)."""
        return {"maxsize": None, "typed": False, "key": self.key, "timeout": self.timeout}

    def decorate(self, wrapper: Any, func: Any, cache_info: Callable[[], Any], cache_clear: Callable[[], Any]) -> Any:
        """Give *wrapper* (sync or async) the ``lru_cache``-like attributes."""
        wrapper.__bypass__ = func
        wrapper.cache = self
        wrapper.cache_info = cache_info
        wrapper.cache_clear = cache_clear
        wrapper.cache_parameters = self.parameters
        return wrapper


def default_key(func: Callable[..., Any]) -> str:
    return f"redis_cache:{func.__module__}.{func.__qualname__}"


def redis_cache(
    *, redis: Any, key: str | None = None, timeout: float | None = None, serializer: Any = None
) -> Callable[[F], F]:
    """Cache a function's results in the Redis hash ``key`` (shared by every process).

    The decorated function gets ``cache_info()``, ``cache_clear()``,
    ``cache_parameters()``, ``__wrapped__`` and ``__bypass__`` (calls the function without
    the cache).  ``timeout`` (seconds) expires the whole cache after the last write.
    Arguments and results go through ``serializer`` (JSON by default), so they must be
    serializable; ``key`` defaults to ``redis_cache:<module>.<qualname>``.
    """

    def decorator(func: F) -> F:
        cache = CachePlans(key or default_key(func), serializer, timeout)

        def run(plan: Plan[Any]) -> Any:
            return driver.run(redis, plan, f"redis_cache {cache.key!r}")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            field = cache.field(args, kwargs)
            hit, value = run(cache._p_lookup(field))
            cache.count(hit)
            if not hit:
                value = func(*args, **kwargs)
                run(cache._p_store([(field, value)]))
            return value

        def cache_info() -> CacheInfo:
            return CacheInfo(cache.hits, cache.misses, None, run(cache._p_size()))

        return cache.decorate(wrapper, func, cache_info, lambda: run(cache._p_clear()))

    return decorator


class CachedOrderedDictBase(collections.OrderedDict):
    """Local OrderedDict state shared by the sync and async versions."""

    def _setup(self, key: str, dict_keys: Iterable[Any], serializer: Any, timeout: float | None) -> list[Any]:
        self._cache = CachePlans(key, serializer, timeout)
        self._misses: set[Any] = set()
        keys = list(dict_keys)
        self._fields = {k: self._cache.field((k,), {}) for k in keys}
        return keys

    def _fill(self, keys: list[Any], found: list[tuple[bool, Any]]) -> None:
        for k, (hit, value) in zip(keys, found, strict=True):
            super().__setitem__(k, value)
            if not hit:
                self._misses.add(k)

    def _entries(self, items: Iterable[tuple[Any, Any]]) -> list[tuple[bytes | str, Any]]:
        entries = []
        for k, v in items:
            super().__setitem__(k, v)
            self._misses.discard(k)
            entries.append((self._fields.get(k) or self._cache.field((k,), {}), v))
        return entries

    def copy(self) -> collections.OrderedDict[Any, Any]:  # type: ignore[override]
        return collections.OrderedDict(self)

    def misses(self) -> set[Any]:
        """Keys that were not in the cache (and have not been set since)."""
        return set(self._misses)

    @property
    def key(self) -> str:
        return self._cache.key


class CachedOrderedDict(CachedOrderedDictBase):
    """An OrderedDict of ``dict_keys`` whose values come from a cache hash in one round trip.

    Entries are stored like ``@redis_cache(key=key)`` stores a one-argument call, so a
    CachedOrderedDict reads (and fills) that function's cache.  Setting an item writes
    it through; ``update`` writes many in one round trip.  Keys not found start as None
    and are listed by ``misses()``.
    """

    def __init__(
        self,
        *,
        redis: Any,
        key: str,
        dict_keys: Iterable[Any] = (),
        timeout: float | None = None,
        serializer: Any = None,
    ):
        super().__init__()
        self.redis = redis
        keys = self._setup(key, dict_keys, serializer, timeout)
        self._fill(keys, self._run(self._cache._p_fetch([self._fields[k] for k in keys])))

    def _run(self, plan: Plan[Any]) -> Any:
        return driver.run(self.redis, plan, f"CachedOrderedDict {self._cache.key!r}")

    def __setitem__(self, k: Any, v: Any) -> None:
        self._run(self._cache._p_store(self._entries([(k, v)])))

    def update(self, arg: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        items = list(arg.items() if isinstance(arg, Mapping) else arg) + list(kwargs.items())
        self._run(self._cache._p_store(self._entries(items)))

    def __repr__(self) -> str:
        return f"CachedOrderedDict({list(self.items())!r}, key={self.key!r})"
