"""Base classes: what every container shares (key, client, serializer, watch, clear)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

from pyredis.collections import driver
from pyredis.collections.ops import Cmd, Plan, T
from pyredis.collections.serializers import Serializer, freeze, resolve

KEY_PREFIX = "pyredis:"


def random_key() -> str:
    """A fresh key name, for containers created without ``key=``."""
    return KEY_PREFIX + uuid.uuid4().hex


def decodes_responses(client: Any) -> bool:
    """Whether a redis-py client (sync or async) was made with ``decode_responses=True``."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None) or {}
    return bool(kwargs.get("decode_responses"))


def same_server(a: Any, b: Any) -> bool:
    """Whether two clients (sync or async) talk to the same server and database."""
    if a is b:
        return True
    ka = getattr(getattr(a, "connection_pool", None), "connection_kwargs", None)
    kb = getattr(getattr(b, "connection_pool", None), "connection_kwargs", None)
    if ka is None or kb is None:
        return False
    fields = ("host", "port", "path", "db")
    return all(ka.get(f) == kb.get(f) for f in fields)


class Core:
    """State and pure helpers shared by a sync container and its async twin."""

    #: the Redis type the container stores its data in (as TYPE names it).
    redis_type: ClassVar[str] = "none"

    def __init__(self, *, redis: Any, key: str | None = None, serializer: Serializer | str | None = None):
        self.redis = redis
        self.key = key if key is not None else random_key()
        self.serializer = resolve(serializer)
        if getattr(self.serializer, "binary", False) and decodes_responses(redis):
            raise ValueError(
                f"{self.serializer!r} produces binary data: use a client with decode_responses=False"
            )

    @property
    def _what(self) -> str:
        return f"{type(self).__name__} {self.key!r}"

    def _enc(self, value: Any) -> bytes | str:
        return self.serializer.dumps(value)

    def _dec(self, raw: bytes | str) -> Any:
        return self.serializer.loads(raw)

    def _dec_hashable(self, raw: bytes | str) -> Any:
        return freeze(self.serializer.loads(raw))

    def _plan_clear(self) -> Plan[None]:
        yield Cmd(("DEL", self.key))

    def _plan_expire(self, seconds: float) -> Plan[bool]:
        return bool((yield Cmd(("PEXPIRE", self.key, int(seconds * 1000)))))


class Container(Core):
    """Synchronous container base: runs plans with a redis-py client."""

    def __init__(
        self, *, redis: Any = None, key: str | None = None, serializer: Serializer | str | None = None
    ):
        if redis is None:
            import redis as redis_py

            redis = redis_py.Redis()
        super().__init__(redis=redis, key=key, serializer=serializer)

    def _run(self, plan: Plan[T]) -> T:
        return driver.run(self.redis, plan, self._what)

    def clear(self) -> None:
        """Delete every element (the key itself)."""
        self._run(self._plan_clear())

    def expire(self, seconds: float) -> bool:
        """Let the whole container expire after ``seconds``; False if it is empty."""
        return self._run(self._plan_expire(seconds))

    def watch(self, *, configure: bool = True) -> Any:
        """A :class:`~pyredis.collections.watch.Watcher`: iterate it for :class:`ChangeEvent`\\ s.

        Subscribes before returning, so every later change is seen.  With ``configure``,
        switches on the needed ``notify-keyspace-events`` flags by CONFIG SET.
        """
        from pyredis.collections.watch import Watcher

        return Watcher(self.redis, self.key, configure=configure)

    def _pages(self, page: Any, cursor: Any = 0) -> Iterator[Any]:
        """Yield items from ``page(cursor) -> plan of (next_cursor, items)`` until cursor 0/None."""
        while True:
            cursor, items = self._run(page(cursor))
            yield from items
            if not cursor:
                return

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._repr_data()!r}, key={self.key!r})"

    def _repr_data(self) -> Any:
        raise NotImplementedError

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value
