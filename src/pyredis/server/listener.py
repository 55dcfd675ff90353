"""The asyncio layer of a server: listening sockets, the cron timer, start, stop and the serve loop.

``Server`` itself (server/app.py) does no I/O; this module binds its listeners (one
:class:`~pyredis.server.connection.Connection` per client), the cluster bus and the gateway, and
schedules :meth:`Server.cron` ``hz`` times a second. Nothing in the core imports this module: the
CLI (server/cli.py), the embedded server and tests call :func:`start` / :func:`stop` / :func:`serve_forever`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

from pyredis.server.app import Server
from pyredis.server.config import ConfigError
from pyredis.server.connection import Connection
from pyredis.server.tls_listener import start_tls

log = logging.getLogger("pyredis")


def _ascii_host(h: str) -> bytes | None:
    """*h* as the ``idna`` codec encodes it (uvloop's ``host.encode("idna")``) when the codec takes its
    ASCII fast path (an ASCII name whose labels are 1..63 bytes, the last one possibly empty), else None
    (the name goes to the loop as a ``str`` and the codec, with its errors). Binding ``0.0.0.0`` or
    ``::`` then loads neither the codec nor unicodedata: ~0.5 MB of start-up RSS."""
    if not h or not h.isascii():
        return None
    labels = h.split(".")
    if any(not 0 < len(label) < 64 for label in labels[:-1]) or len(labels[-1]) >= 64:
        return None
    return h.encode("ascii")


async def start(server: Server) -> None:
    """Bind the listeners (TCP and/or unix socket), start cluster bus and gateway, then the cron."""
    server.loop = loop = asyncio.get_running_loop()
    server.config.on_change("port", lambda port: rebind_port(server, port))
    server.config.on_change("bind", lambda binds: rebind_addresses(server, binds))
    server.shutdown_event = asyncio.Event()
    cfg = server.config
    port = cfg["port"]
    if port:
        for b in cfg["bind"]:
            optional = b.startswith("-")
            h = b.lstrip("-")
            h = {"*": "0.0.0.0", "::*": "::"}.get(h, h)
            hb = _ascii_host(h)
            host: Any = [hb] if hb is not None else h  # a list: the loops take bytes hosts in a sequence
            try:
                srv = await loop.create_server(lambda: Connection(server), host, port, reuse_address=True,
                                               backlog=cfg["tcp-backlog"])
            except OSError:
                if optional:
                    continue
                raise
            server.listeners.append(srv)
    if cfg["unixsocket"]:
        path = cfg["unixsocket"]
        if os.path.exists(path):
            os.unlink(path)
        usock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        usock.bind(path)
        if cfg["unixsocketperm"]:  # before listen(): nobody connects while the umask's mode applies
            os.chmod(path, cfg["unixsocketperm"])
        usock.listen(cfg["tcp-backlog"])
        srv = await loop.create_unix_server(lambda: Connection(server), sock=usock)
        server.unixsocket = path
        server.listeners.append(srv)
    server.port = port
    server.blocked_io = BlockedAccept(server)
    await start_tls(server)
    if server.cluster is not None:
        await server.cluster.start()
    _watch_gateway_config(server)
    if cfg["gateway-port"]:
        from pyredis.gateway import Gateway

        server.gateway = Gateway(server)
        await server.gateway.start()
    for hook in server.events.started:
        hook(server)
    _schedule_cron(server)


def _watch_gateway_config(server: Server) -> None:
    """CONFIG SET gateway-port / gateway-history-* (:func:`pyredis.gateway.config_changed`), with the gateway
    package imported only once one is turned on: a server that never has one does not load it (~3 MB)."""

    def hook(name: str) -> Callable[[Any], None]:
        def changed(value: Any) -> None:
            if server.gateway is not None or (name == "gateway-port" and value):
                from pyredis import gateway

                gateway.config_changed(server, name, value)

        return changed

    for name in ("gateway-port", "gateway-history-channels", "gateway-history-maxlen"):
        server.config.on_change(name, hook(name))


def _schedule_cron(server: Server) -> None:
    assert server.loop is not None
    hz = min(max(server.config["hz"], 1), 500)  # Redis clamps hz to 1..500
    server.cron_handle = server.loop.call_later(1.0 / hz, _tick, server)


def _tick(server: Server) -> None:
    server.cron()
    if server.loop is not None and not server.loop.is_closed():
        _schedule_cron(server)


def rebind_port(server: Server, port: int) -> None:
    """CONFIG SET port: listen on the new port (synchronously, so errors reach the client)."""
    if server.loop is None or port == server.port:
        return
    _rebind(server, port, server.config["bind"], "Unable to listen on this port: {}")


def rebind_addresses(server: Server, binds: list[str]) -> None:
    """CONFIG SET bind: listen on the new addresses (none: no TCP listener), or keep the old ones."""
    if server.loop is None:
        return
    _rebind(server, server.port, binds, "Failed to bind to specified addresses.")


def _rebind(server: Server, port: int, binds: list[str], error: str) -> None:
    """Bind every address of *binds* on *port* first (keeping listeners already there); only then
    replace the TCP listeners. On failure nothing changes."""
    current = {}
    for srv in server.listeners:
        for s in srv.sockets or ():
            if s.family != socket.AF_UNIX:
                current[s.getsockname()[:2]] = srv
    keep = []
    socks = []
    try:
        for b in binds if port else ():
            optional = b.startswith("-")
            h = {"*": "0.0.0.0", "::*": "::"}.get(b.lstrip("-"), b.lstrip("-"))
            try:
                infos = socket.getaddrinfo(h, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
                fam, addr = infos[0][0], infos[0][4]
            except (OSError, IndexError) as e:
                if optional:
                    continue
                raise OSError(getattr(e, "errno", 0), getattr(e, "strerror", None) or str(e)) from None
            have = current.get(addr[:2])
            if have is not None:
                keep.append(have)
                continue
            sock = socket.socket(fam, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(addr)
                sock.listen(server.config["tcp-backlog"])
            except OSError:
                sock.close()
                if optional:
                    continue
                raise
            socks.append(sock)
    except OSError as e:
        for sock in socks:
            sock.close()
        raise ConfigError(error.format(e.strerror)) from None
    old = [srv for srv in server.listeners if srv.sockets and srv.sockets[0].family != socket.AF_UNIX
           and srv not in keep]
    for srv in old:
        srv.close()
        server.listeners.remove(srv)
    server.port = port
    loop = server.loop
    assert loop is not None

    async def serve(sock: socket.socket) -> None:
        server.listeners.append(await loop.create_server(lambda: Connection(server), sock=sock))

    for sock in socks:
        loop.create_task(serve(sock))


async def stop(server: Server) -> None:
    """Close the listeners and every client connection."""
    if server.cron_handle is not None:
        server.cron_handle.cancel()
        server.cron_handle = None
    if server.cluster is not None:
        server.cluster.stop()
    for srv in server.listeners + server.tls_listeners:
        srv.close()
    if server.gateway is not None:
        server.gateway.stop()
    for c in list(server.clients.values()):
        c.close()
        c.schedule_flush()
    for srv in server.listeners:
        try:
            await asyncio.wait_for(srv.wait_closed(), 1.0)
        except (asyncio.TimeoutError, Exception):
            pass
    server.listeners.clear()
    if server.unixsocket and os.path.exists(server.unixsocket):
        os.unlink(server.unixsocket)

async def serve_forever(server: Server) -> None:
    await start(server)
    log.info("Ready to accept connections")
    assert server.shutdown_event is not None
    await server.shutdown_event.wait()
    for hook in server.events.shutdown:
        hook(server)
    await stop(server)


class _BlockedTransport:
    """The transport of a connection accepted while a busy script blocks the event loop: writes go
    straight to the socket (what does not fit is kept), until the loop adopts the socket."""

    blocked_shim = True

    def __init__(self, sock: socket.socket, peer: Any) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.closed = False
        self._extra = {"socket": sock, "peername": peer, "sockname": sock.getsockname()}

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.buf:
            try:
                data = data[self.sock.send(data):]
            except BlockingIOError:
                pass
            except OSError:
                self.closed = True
                return
        self.buf += data

    def get_write_buffer_size(self) -> int:
        return len(self.buf)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    abort = close


class BlockedAccept:
    """Accept connections while a busy script blocks the event loop (Redis's processEventsWhileBlocked
    accepts too: an operator's new redis-cli can send SCRIPT KILL). The plain TCP and unix listeners
    only; the loop adopts the sockets when the script ends."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.pending: list[tuple[Connection, _BlockedTransport]] = []
        self._socks: dict[int, socket.socket] = {}
        self.early: dict[int, Connection] = {}  # socket fd -> its connection, served while the loop was blocked
        self._scanned = False
        self.owned: set[int] = set()  # the fds of the sockets the loop set a connection up for

    def accept(self) -> None:
        """Accept what waits on the listeners now (called from the busy script's event processing)."""
        srv = self.server
        if not self._scanned:
            self._scanned = True
            self._serve_early()
        for lst in srv.listeners:
            for ls in lst.sockets:
                fd = ls.fileno()
                sock = self._socks.get(fd)
                if sock is None:
                    try:
                        sock = self._socks[fd] = socket.socket(fileno=os.dup(fd))
                    except OSError:
                        continue
                for _ in range(64):
                    try:
                        conn, peer = sock.accept()
                    except OSError:  # BlockingIOError: nothing (more) waiting
                        break
                    conn.setblocking(False)
                    if conn.family in (socket.AF_INET, socket.AF_INET6):
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    proto = Connection(srv)
                    shim = _BlockedTransport(conn, peer)
                    proto.connection_made(shim)  # type: ignore[arg-type]
                    self.pending.append((proto, shim))

    def _serve_early(self) -> None:
        """Serve the sockets the event loop accepted just before the script blocked it, whose connections
        it has not set up yet (asyncio and uvloop make them on the next loop iteration): found among the
        process's sockets by their local address (a listener's), not owned by any connection. Each one
        gets a connection over a duplicate of its socket; the loop's own connection hands over to it
        (:meth:`claim`)."""
        srv = self.server
        tcp_ports: set[int] = set()
        unix_paths: set[str] = set()
        for lst in srv.listeners:
            for ls in lst.sockets:
                name = ls.getsockname()
                if isinstance(name, tuple):
                    tcp_ports.add(name[1])
                elif name:
                    unix_paths.add(name)
        known = self.owned | {c.fd for c in srv.clients.values()}
        try:
            fds = [int(f) for f in os.listdir("/proc/self/fd")]
        except OSError:
            return
        for fd in fds:
            if fd in known or fd <= 2 or fd in self.early:
                continue
            try:
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    continue
                sock = socket.socket(fileno=os.dup(fd))
            except OSError:
                continue
            try:
                name = sock.getsockname()
                mine = (name[1] in tcp_ports if isinstance(name, tuple) else bool(name) and name in unix_paths)
                if not mine or sock.type != socket.SOCK_STREAM or sock.getsockopt(socket.SOL_SOCKET,
                                                                                  socket.SO_ACCEPTCONN):
                    sock.close()
                    continue
                peer = sock.getpeername()
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            proto = Connection(srv)
            proto.connection_made(_BlockedTransport(sock, peer))  # type: ignore[arg-type]
            self.early[fd] = proto

    def claim(self, fd: int) -> Connection | None:
        """The loop set up the connection of socket ``fd``: the one that served it meanwhile, if any."""
        proto = self.early.pop(fd, None)
        if proto is None:
            return None
        shim = proto.transport
        if isinstance(shim, _BlockedTransport):
            shim.sock.close()  # the duplicate only
        self.owned.discard(proto.fd)
        self.owned.add(fd)
        proto.fd = fd
        return proto

    def adopt(self) -> None:
        """The script ended: hand the sockets accepted meanwhile to the event loop."""
        self._scanned = False
        for sock in self._socks.values():
            sock.close()  # the duplicates only
        self._socks.clear()
        pending, self.pending = self.pending, []
        loop = self.server.loop
        for proto, shim in pending:
            if shim.closed or proto.closed or loop is None:
                if not proto.closed:
                    proto.connection_lost(None)
                shim.sock.close()
                continue
            loop.create_task(loop.connect_accepted_socket(lambda p=proto: p, shim.sock))  # type: ignore[misc]
