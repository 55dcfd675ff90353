"""Runs :mod:`~pyredis.collections.ops` plans with a synchronous redis-py client."""

from __future__ import annotations

from typing import Any

from redis.exceptions import NoScriptError, ResponseError, WatchError

from pyredis.collections.errors import WrongRedisTypeError
from pyredis.collections.ops import Cmd, Eval, Optimistic, Pipe, Plan, Request, T


def wrong_type(exc: BaseException, what: str) -> BaseException:
    """Turn a WRONGTYPE reply into :class:`WrongRedisTypeError`; other errors pass."""
    if isinstance(exc, ResponseError) and "WRONGTYPE" in str(exc):
        err = WrongRedisTypeError(f"{what}: the key holds a value of another Redis type ({exc})")
        err.__cause__ = exc
        return err
    return exc


def execute(client: Any, req: Request) -> Any:
    """Send one request; one round trip (Optimistic: one per read, plus EXEC)."""
    if isinstance(req, Cmd):
        return client.execute_command(*req.args)
    if isinstance(req, Pipe):
        if not req.cmds:
            return []
        with client.pipeline(transaction=req.transaction) as pipe:
            for args in req.cmds:
                pipe.execute_command(*args)
            return pipe.execute()
    if isinstance(req, Eval):
        n = len(req.keys)
        try:
            return client.evalsha(req.script.sha, n, *req.keys, *req.args)
        except NoScriptError:
            return client.eval(req.script.source, n, *req.keys, *req.args)
    if isinstance(req, Optimistic):
        with client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(*req.watch)
                    replies = [pipe.execute_command(*args) for args in req.reads]
                    cmds, result = req.compute(replies)
                    pipe.multi()
                    for args in cmds:
                        pipe.execute_command(*args)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
    raise TypeError(f"not a request: {req!r}")


def run(client: Any, plan: Plan[T], what: str = "key") -> T:
    """Drive ``plan`` to completion and return its result."""
    try:
        req = next(plan)
        while True:
            try:
                reply = execute(client, req)
            except Exception as exc:
                req = plan.throw(wrong_type(exc, what))
            else:
                req = plan.send(reply)
    except StopIteration as stop:
        return stop.value


def client_db(client: Any) -> int:
    """The database number a redis-py client uses."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None) or {}
    return int(kwargs.get("db") or 0)
