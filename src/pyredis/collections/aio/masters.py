"""Async driver for multi-master plans: all masters are asked concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pyredis.collections.aio import driver
from pyredis.collections.driver import wrong_type
from pyredis.collections.masters import Sleep
from pyredis.collections.ops import Plan, T


async def _one(client: Any, req: Any, what: str) -> Any:
    try:
        return await driver.execute(client, req)
    except Exception as exc:
        return wrong_type(exc, what)


async def run(masters: Sequence[Any], plan: Plan[T], what: str = "key") -> T:
    """Async twin of :func:`pyredis.collections.masters.run`."""
    try:
        req = next(plan)
        while True:
            if isinstance(req, Sleep):
                await asyncio.sleep(req.seconds)
                reply: Any = None
            else:
                reply = await asyncio.gather(
                    *(_one(c, r, what) for c, r in zip(masters, req.requests, strict=True))
                )
            req = plan.send(reply)
    except StopIteration as stop:
        return stop.value
