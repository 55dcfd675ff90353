"""Test support for the WebSocket gateway: a pyredis process with gateway-port, a JSON-frame client."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from websockets.asyncio.client import connect

from support import ServerProcess, free_port


def start_gateway_server(*args: str) -> tuple[ServerProcess, int]:
    gport = free_port()
    srv = ServerProcess("pyredis", ["--gateway-port", str(gport), *args])
    deadline = time.time() + 10
    import socket

    while time.time() < deadline:  # the gateway listener comes up with the server
        try:
            socket.create_connection(("127.0.0.1", gport), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    return srv, gport


class WS:
    """A gateway session: ``request`` sends a frame with an id and waits for its answer; pushed
    frames received meanwhile are kept in ``pushed``."""

    _ids = itertools.count(1)

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pushed: list[dict] = []
        self.hello: dict | None = None

    @classmethod
    async def open(cls, port: int, **kw: Any) -> WS:
        conn = await connect(f"ws://127.0.0.1:{port}/ws", **kw)
        ws = cls(conn)
        ws.hello = json.loads(await asyncio.wait_for(conn.recv(), 5))
        return ws

    async def send(self, obj: Any) -> None:
        await self.conn.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    async def recv(self, timeout: float = 5.0) -> dict:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def request(self, op: str, **fields: Any) -> dict:
        fid = next(self._ids)
        await self.send({"op": op, "id": fid, **fields})
        while True:
            f = await self.recv()
            if f.get("id") == fid:
                return f
            self.pushed.append(f)

    async def next_push(self, timeout: float = 5.0) -> dict:
        if self.pushed:
            return self.pushed.pop(0)
        return await self.recv(timeout)

    async def no_push(self, wait: float = 0.3) -> None:
        """Assert nothing arrives within *wait* seconds (used after an action that must not deliver)."""
        try:
            f = await self.recv(wait)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame {f}")

    async def close(self) -> None:
        await self.conn.close()
