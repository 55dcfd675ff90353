"""Change streams built on keyspace notifications (``__keyspace@<db>__:<key>``)."""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from pyredis.collections import driver
from pyredis.collections.driver import client_db
from pyredis.collections.errors import KeyspaceNotificationsError
from pyredis.collections.ops import Cmd, Plan, pairs, text

#: notify-keyspace-events classes a watcher needs: generic, every type, expired, evicted.
NEEDED_CLASSES = "g$lshzxe"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change to a watched key: ``op`` is the event name (``hset``, ``del``, ``expired``...)."""

    key: str
    op: str
    db: int
    time: float


def missing_flags(flags: str, classes: str = NEEDED_CLASSES) -> str:
    """The letters to add to a ``notify-keyspace-events`` value so a watcher sees events."""
    have = set(flags)
    if "A" in have:
        have |= set("g$lshzxetd")
    return "".join(ch for ch in "K" + classes if ch not in have)


def _advice(flags: str | None, exc: BaseException) -> str:
    now = "unknown" if flags is None else repr(flags)
    return (
        f"watch() needs keyspace notifications: notify-keyspace-events must contain 'K' and 'A' "
        f"(currently {now}), and the server refused to set them ({exc}). Configure "
        "'notify-keyspace-events KA' in redis.conf (or your provider's parameter group), "
        "or pass configure=False if notifications are enabled some other way."
    )


def plan_enable_notifications(configure: bool = True) -> Plan[None]:
    """Check ``notify-keyspace-events`` and add the missing flags with CONFIG SET."""
    if not configure:
        return
    flags: str | None = None
    try:
        reply = yield Cmd(("CONFIG", "GET", "notify-keyspace-events"))
        values = dict((text(k), text(v)) for k, v in pairs(reply))
        flags = values.get("notify-keyspace-events", "")
        missing = missing_flags(flags)
        if missing:
            yield Cmd(("CONFIG", "SET", "notify-keyspace-events", flags + missing))
    except Exception as exc:  # ResponseError (CONFIG disabled, ACL), NoPermissionError...
        raise KeyspaceNotificationsError(_advice(flags, exc)) from exc


def channel_for(db: int, key: str) -> str:
    return f"__keyspace@{db}__:{key}"


def event_from(message: dict[str, Any] | None, key: str, db: int) -> ChangeEvent | None:
    """A :class:`ChangeEvent` from a pub/sub message, None for anything else."""
    if not message or message.get("type") != "message":
        return None
    return ChangeEvent(key=key, op=text(message["data"]), db=db, time=time.time())


def poll_events(
    key: str, db: int, timeout: float | None
) -> Generator[float | None, dict[str, Any] | None, ChangeEvent | None]:
    """Sans-I/O wait for the next event of *key*: yields how long to wait for a pub/sub message
    (None: forever), receives the message (or None), returns the event or None on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        event = event_from((yield left), key, db)
        if event is not None:
            return event
        if deadline is not None and time.monotonic() >= deadline:
            return None


class Watcher:
    """Iterator of :class:`ChangeEvent` for one key; a context manager that unsubscribes.

    ``for event in watcher`` blocks until the next change; ``watcher.get(timeout)``
    returns None after ``timeout`` seconds without one.
    """

    def __init__(self, client: Any, key: str, *, configure: bool = True, subscribe_timeout: float = 5.0):
        driver.run(client, plan_enable_notifications(configure), f"watch {key!r}")
        self.key = key
        self.db = client_db(client)
        self.channel = channel_for(self.db, key)
        self._pubsub = client.pubsub()
        self._pubsub.subscribe(self.channel)
        deadline = time.monotonic() + subscribe_timeout
        while time.monotonic() < deadline:  # wait until the server has subscribed us
            msg = self._pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if msg and msg.get("type") == "subscribe":
                break
        else:
            self.close()
            raise TimeoutError(f"no SUBSCRIBE confirmation for {self.channel!r}")

    def get(self, timeout: float | None = None) -> ChangeEvent | None:
        """The next event, or None when ``timeout`` seconds pass without one."""
        poll = poll_events(self.key, self.db, timeout)
        try:
            left = next(poll)
            while True:
                left = poll.send(self._pubsub.get_message(timeout=left))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def __iter__(self) -> Watcher:
        return self

    def __next__(self) -> ChangeEvent:
        event = self.get(None)
        assert event is not None
        return event

    def close(self) -> None:
        """Unsubscribe and release the connection."""
        self._pubsub.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Watcher({self.channel!r})"
