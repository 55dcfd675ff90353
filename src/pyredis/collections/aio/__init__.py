"""Asyncio twins of :mod:`pyredis.collections`, for ``redis.asyncio`` clients.

Methods are coroutines (``await d.set(k, v)``, ``await d[k]``, ``async for k in d``);
data given to a constructor is written by ``await container`` or the first operation.
"""

from pyredis.collections.aio.bloom import AsyncBloomFilter
from pyredis.collections.aio.cache import AsyncCachedOrderedDict, redis_cache
from pyredis.collections.aio.counter import AsyncRedisCounter
from pyredis.collections.aio.deque import AsyncRedisDeque
from pyredis.collections.aio.dict import AsyncRedisDict
from pyredis.collections.aio.hyperloglog import AsyncHyperLogLog
from pyredis.collections.aio.list import AsyncRedisList
from pyredis.collections.aio.nextid import AsyncNextId
from pyredis.collections.aio.redlock import AsyncRedlock, synchronize
from pyredis.collections.aio.set import AsyncRedisSet
from pyredis.collections.aio.watch import AsyncWatcher
from pyredis.collections.timer import ContextTimer
from pyredis.collections.watch import ChangeEvent

__all__ = [
    "AsyncBloomFilter",
    "AsyncCachedOrderedDict",
    "AsyncHyperLogLog",
    "AsyncNextId",
    "AsyncRedisCounter",
    "AsyncRedisDeque",
    "AsyncRedisDict",
    "AsyncRedisList",
    "AsyncRedisSet",
    "AsyncRedlock",
    "AsyncWatcher",
    "ChangeEvent",
    "ContextTimer",
    "redis_cache",
    "synchronize",
]
