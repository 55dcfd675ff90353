"""Exceptions raised by :mod:`pyredis.collections`."""

from __future__ import annotations


class CollectionsError(Exception):
    """Base class of every error specific to :mod:`pyredis.collections`."""


class WrongRedisTypeError(CollectionsError, TypeError):
    """The key holds a value of another Redis type than the container needs."""


class SerializationError(CollectionsError, TypeError):
    """A value could not be serialized (or deserialized) by the container's serializer."""


class KeyspaceNotificationsError(CollectionsError, RuntimeError):
    """Keyspace notifications are off and could not be switched on (CONFIG SET refused)."""


class QuorumNotAchieved(CollectionsError, RuntimeError):
    """Fewer than a majority of the masters answered as needed."""


class ReleaseUnlockedLock(CollectionsError, RuntimeError):
    """``release()`` on a Redlock that this instance does not hold."""


class ExtendUnlockedLock(CollectionsError, RuntimeError):
    """``extend()`` on a Redlock that this instance does not hold."""


class TooManyExtensions(CollectionsError, RuntimeError):
    """``extend()`` past the ``num_extensions`` limit given to the Redlock."""
