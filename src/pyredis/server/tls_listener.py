"""The ``tls-port`` listener: a TCP accept, the server-side TLS handshake, then a normal Connection.

The handshake uses the context current at accept time (``server.tls.server_context``), so a
``CONFIG SET tls-cert-file ...`` applies to the next connection without touching open ones, as in
Redis 7. Admission control (``maxclients``) happens before the handshake: nothing is written to a
refused TLS client, the connection just drops (as Redis notes for its TLS accept path).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyredis.server.app import Server
    from pyredis.server.connection import Connection

log = logging.getLogger("pyredis")

HANDSHAKE_TIMEOUT = 10.0  # seconds a client may take to finish the handshake


class TLSHandshake(asyncio.Protocol):
    """Protocol of a freshly accepted TLS-port socket until its handshake completes."""

    def __init__(self, server: Server, make_connection: Callable[[], Connection]) -> None:
        self.server = server
        self.make_connection = make_connection
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()  # the ClientHello waits for the TLS layer
        srv = self.server
        ctx = srv.tls.server_context
        if ctx is None or len(srv.clients) >= srv.config["maxclients"]:
            srv.stats.rejected_conn += 1
            transport.close()
            return
        self.task = asyncio.get_running_loop().create_task(self._handshake(transport, ctx))

    async def _handshake(self, transport: asyncio.Transport, ctx: ssl.SSLContext) -> None:
        conn = self.make_connection()
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(transport, conn, ctx, server_side=True,
                                       ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError) as e:
            log.warning("Error accepting a client connection: %s", _describe(e))
            transport.close()
            return
        if tls is None or tls.is_closing():
            return
        conn.connection_made(tls)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


def _describe(e: BaseException) -> str:
    if isinstance(e, ssl.SSLError) and e.library and e.reason:
        return f"error:{e.library} routines::{e.reason.lower().replace('_', ' ')}"
    if isinstance(e, asyncio.TimeoutError):
        return "handshake timed out"
    return str(e) or type(e).__name__
