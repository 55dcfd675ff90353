"""Async change streams built on keyspace notifications."""

from __future__ import annotations

import time
from typing import Any

from pyredis.collections.aio import driver
from pyredis.collections.driver import client_db
from pyredis.collections.watch import (
    ChangeEvent,
    channel_for,
    plan_enable_notifications,
    poll_events,
)


class AsyncWatcher:
    """Async iterator of :class:`ChangeEvent` for one key.

    ``async with container.watch() as events:`` subscribes on entry (so later changes are
    seen) and unsubscribes on exit; ``await events.get(timeout)`` returns None on timeout.
    """

    def __init__(self, client: Any, key: str, *, configure: bool = True):
        self._client = client
        self._configure = configure
        self.key = key
        self.db = client_db(client)
        self.channel = channel_for(self.db, key)
        self._pubsub: Any = None

    async def start(self, subscribe_timeout: float = 5.0) -> AsyncWatcher:
        """Enable notifications if needed and subscribe (idempotent)."""
        if self._pubsub is not None:
            return self
        await driver.run(self._client, plan_enable_notifications(self._configure), f"watch {self.key!r}")
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self.channel)
        deadline = time.monotonic() + subscribe_timeout
        while time.monotonic() < deadline:
            msg = await self._pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if msg and msg.get("type") == "subscribe":
                return self
        await self.aclose()
        raise TimeoutError(f"no SUBSCRIBE confirmation for {self.channel!r}")

    async def get(self, timeout: float | None = None) -> ChangeEvent | None:
        """The next event, or None when ``timeout`` seconds pass without one."""
        await self.start()
        poll = poll_events(self.key, self.db, timeout)
        try:
            left = next(poll)
            while True:
                left = poll.send(await self._pubsub.get_message(timeout=left))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncWatcher:
        return self

    async def __anext__(self) -> ChangeEvent:
        event = await self.get(None)
        assert event is not None
        return event

    async def aclose(self) -> None:
        """Unsubscribe and release the connection."""
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            await pubsub.aclose()

    async def __aenter__(self) -> AsyncWatcher:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncWatcher({self.channel!r})"
