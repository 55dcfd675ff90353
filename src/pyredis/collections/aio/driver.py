"""Runs :mod:`~pyredis.collections.ops` plans with a ``redis.asyncio`` client."""

from __future__ import annotations

from typing import Any

from redis.exceptions import NoScriptError, WatchError

from pyredis.collections.driver import wrong_type
from pyredis.collections.ops import Cmd, Eval, Optimistic, Pipe, Plan, Request, T


async def execute(client: Any, req: Request) -> Any:
    """Async twin of :func:`pyredis.collections.driver.execute`."""
    if isinstance(req, Cmd):
        return await client.execute_command(*req.args)
    if isinstance(req, Pipe):
        if not req.cmds:
            return []
        async with client.pipeline(transaction=req.transaction) as pipe:
            for args in req.cmds:
                pipe.execute_command(*args)
            return await pipe.execute()
    if isinstance(req, Eval):
        n = len(req.keys)
        try:
            return await client.evalsha(req.script.sha, n, *req.keys, *req.args)
        except NoScriptError:
            return await client.eval(req.script.source, n, *req.keys, *req.args)
    if isinstance(req, Optimistic):
        async with client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(*req.watch)
                    replies = [await pipe.execute_command(*args) for args in req.reads]
                    cmds, result = req.compute(replies)
                    pipe.multi()
                    for args in cmds:
                        pipe.execute_command(*args)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue
    raise TypeError(f"not a request: {req!r}")


async def run(client: Any, plan: Plan[T], what: str = "key") -> T:
    """Drive ``plan`` to completion and return its result."""
    try:
        req = next(plan)
        while True:
            try:
                reply = await execute(client, req)
            except Exception as exc:
                req = plan.throw(wrong_type(exc, what))
            else:
                req = plan.send(reply)
    except StopIteration as stop:
        return stop.value
