"""The ``tls-port`` listeners: asyncio TLS servers handing each connection to a normal Connection.

A reconfiguration (``CONFIG SET tls-cert-file ...``) builds new contexts (server/tls.py) and then
re-creates the listening sockets with the new server context, so the next connection gets the new
certificate while open connections keep their sessions, as in Redis 7.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from typing import TYPE_CHECKING, Any

from pyredis.server.tls import TLSConfigError

if TYPE_CHECKING:
    from pyredis.server.app import Server

log = logging.getLogger("pyredis")

HANDSHAKE_TIMEOUT = 10.0  # seconds a client may take to finish the handshake
# Closing a TLS connection sends close_notify; Redis does not wait for the peer's, asyncio does (30 s by
# default, keeping the socket open meanwhile: a client still writing after a protocol error would not
# notice the close). One second is enough for the last reply and the alert to go out.
SHUTDOWN_TIMEOUT = 1.0


def _bind(server: Server, port: int) -> list[socket.socket]:
    """Listening sockets on every ``bind`` address for *port* (``-addr`` entries are optional)."""
    socks: list[socket.socket] = []
    try:
        for b in server.config["bind"]:
            optional = b.startswith("-")
            h = {"*": "0.0.0.0", "::*": "::"}.get(b.lstrip("-"), b.lstrip("-"))
            sock = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if hasattr(socket, "SO_REUSEPORT"):  # a reload binds the port while the old socket closes
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if sock.family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((h, port))
                sock.listen(server.config["tcp-backlog"])
                sock.setblocking(False)
            except OSError:
                sock.close()
                if optional:
                    continue
                raise
            socks.append(sock)
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


async def _serve(server: Server, socks: list[socket.socket]) -> list[asyncio.Server]:
    from pyredis.server.connection import Connection

    loop = asyncio.get_running_loop()
    ctx = server.tls.server_context
    out = []
    extra: dict[str, Any] = {"ssl_shutdown_timeout": SHUTDOWN_TIMEOUT} if sys.version_info >= (3, 11) else {}
    for sock in socks:
        out.append(await loop.create_server(lambda: Connection(server), sock=sock, ssl=ctx,
                                            ssl_handshake_timeout=HANDSHAKE_TIMEOUT, **extra))
    return out


async def start_tls(server: Server) -> None:
    """At start-up: configure TLS when it is wanted (exit as Redis does if that fails), listen on tls-port."""
    tls = server.tls
    server.config.on_change("tls-port", lambda port: rebind_tls_port(server, port))
    tls.reconfigured.append(lambda: rebind_tls_port(server, server.tls_bound_port, force=True))
    if not tls.wanted:
        return
    try:
        tls.configure()
    except TLSConfigError:
        log.warning("Failed to configure TLS. Check logs for more info.")
        raise SystemExit(1) from None
    port = server.config["tls-port"]
    if port:
        try:
            socks = _bind(server, port)
        except OSError as e:
            log.warning("Could not create server TCP listening socket *:%d: %s", port, e.strerror)
            log.warning("Failed listening on port %d (TLS), aborting.", port)
            raise SystemExit(1) from None
        server.tls_listeners = await _serve(server, socks)
        server.tls_bound_port = port


def rebind_tls_port(server: Server, port: int, force: bool = False) -> None:
    """CONFIG SET tls-port: configure TLS if needed, listen on the new port, close the old listeners."""
    from pyredis.server.config import ConfigError

    if server.loop is None or (not force and port and port == server.tls_bound_port):
        return
    if port and not force:
        server.tls.ensure()
    socks: list[socket.socket] = []
    if port:  # the new sockets first: a port that cannot be bound leaves the old listeners serving
        try:
            socks = _bind(server, port)
        except OSError:
            if port != server.tls_bound_port:  # (the same port again: SO_REUSEPORT may be missing)
                raise ConfigError("Unable to listen on this port. Check server logs.") from None
    for srv in server.tls_listeners:
        srv.close()
    server.tls_listeners = []
    server.tls_bound_port = 0
    if not port:
        return
    if not socks:
        try:
            socks = _bind(server, port)
        except OSError:
            raise ConfigError("Unable to listen on this port. Check server logs.") from None
    server.tls_bound_port = port

    async def serve() -> None:
        server.tls_listeners.extend(await _serve(server, socks))

    server.loop.create_task(serve())
