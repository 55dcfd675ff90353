"""Pythonic containers over Redis, usable with any redis-py client and any Redis-compatible
server (real Redis or pyredis).  Async twins live in :mod:`pyredis.collections.aio`.

    >>> from pyredis.collections import RedisDict
    >>> tel = RedisDict({'jack': 4098}, redis=client, key='tel')
    >>> tel['sape'] = 4139
"""

from pyredis.collections.bloom import BloomFilter
from pyredis.collections.cache import CachedOrderedDict, CacheInfo, redis_cache
from pyredis.collections.counter import RedisCounter
from pyredis.collections.deque import RedisDeque
from pyredis.collections.dict import RedisDict
from pyredis.collections.errors import (
    CollectionsError,
    ExtendUnlockedLock,
    KeyspaceNotificationsError,
    QuorumNotAchieved,
    ReleaseUnlockedLock,
    SerializationError,
    TooManyExtensions,
    WrongRedisTypeError,
)
from pyredis.collections.hyperloglog import HyperLogLog
from pyredis.collections.list import RedisList
from pyredis.collections.nextid import NextId
from pyredis.collections.redlock import Redlock, synchronize
from pyredis.collections.serializers import JSONSerializer, MsgpackSerializer, PickleSerializer, Serializer
from pyredis.collections.set import RedisSet
from pyredis.collections.timer import ContextTimer
from pyredis.collections.watch import ChangeEvent, Watcher

__all__ = [
    "BloomFilter",
    "CacheInfo",
    "CachedOrderedDict",
    "ChangeEvent",
    "CollectionsError",
    "ContextTimer",
    "ExtendUnlockedLock",
    "HyperLogLog",
    "JSONSerializer",
    "KeyspaceNotificationsError",
    "MsgpackSerializer",
    "NextId",
    "PickleSerializer",
    "QuorumNotAchieved",
    "RedisCounter",
    "RedisDeque",
    "RedisDict",
    "RedisList",
    "RedisSet",
    "Redlock",
    "ReleaseUnlockedLock",
    "SerializationError",
    "Serializer",
    "TooManyExtensions",
    "Watcher",
    "WrongRedisTypeError",
    "redis_cache",
    "synchronize",
]
