"""The WebSocket gateway and web console, served by the server itself on its event loop.

``server.gateway`` is a :class:`Gateway` while ``gateway-port`` is set (None when off). It owns the
listener (console files at ``/``, WebSocket endpoint ``/ws``), the per-message frame cache used by
the pub/sub fan-out, channel history, the keyspace watchers and the short-lived login tokens.
The frame format is in :mod:`pyredis.gateway.frames`, the ops in :mod:`pyredis.gateway.ops`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pyredis.gateway import frames
from pyredis.gateway.history import History, offset_str
from pyredis.gateway.watch import KeyWatch
from pyredis.server.config import ConfigError

if TYPE_CHECKING:
    from pyredis.gateway.session import GatewayClient
    from pyredis.server.app import Server

log = logging.getLogger("pyredis")


class Gateway:
    """The gateway subsystem of one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop: asyncio.AbstractEventLoop = server.loop  # type: ignore[assignment]
        self.listeners: list[asyncio.AbstractServer] = []
        self.connections: set[GatewayClient] = set()  # every TCP connection (HTTP ones too)
        self.port = 0
        self.tokens: dict[str, tuple[bytes, float]] = {}
        self.history = History()
        self.watch = KeyWatch(self)
        self._frame_key: tuple[bytes, bytes] | None = None
        self._offset: int | None = None
        self._frames: dict[tuple[bytes | None, bool, int], bytes] = {}
        self.plain_frame: bytes | None = None  # message_frame(None, channel, message, False, 0), cached
        self.plain_message: bytes | None = None
        self._dirty: list[GatewayClient] = []  # sessions with queued frames, written at the end of the tick
        cfg = server.config
        self.history.configure(cfg["gateway-history-channels"], cfg["gateway-history-maxlen"])
        server.pubsub.tap = self.published
        server.events.db_flushed.append(self.watch.flushed)
        server.events.dbs_swapped.append(self.watch.swapped)

    # -- lifecycle -------------------------------------------------------------------------------
    def bind(self, port: int) -> list[socket.socket]:
        """Bind *port* synchronously (CONFIG SET reports the error); the sockets to serve."""
        socks = []
        for host in self.server.config["gateway-bind"].split():
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
                sock.listen(self.server.config["tcp-backlog"])
            except OSError:
                sock.close()
                for s in socks:
                    s.close()
                raise
            socks.append(sock)
            port = sock.getsockname()[1]
        self.port = port
        return socks

    async def serve(self, socks: list[socket.socket]) -> None:
        from pyredis.gateway.session import GatewayClient

        ssl = self._ssl_context()
        for sock in socks:
            self.listeners.append(await self.loop.create_server(lambda: GatewayClient(self), sock=sock, ssl=ssl))

    async def start(self) -> None:
        await self.serve(self.bind(self.server.config["gateway-port"]))
        log.info("Gateway (WebSocket and web console) listening on %s port %d",
                 self.server.config["gateway-bind"], self.port)

    def _ssl_context(self) -> Any:
        """TLS with the server's certificate when ``gateway-tls yes`` (tls-cert-file/tls-key-file)."""
        cfg = self.server.config
        if not cfg["gateway-tls"]:
            return None
        import ssl

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cfg["tls-cert-file"], cfg["tls-key-file"] or None, cfg["tls-key-file-pass"] or None)
        return ctx

    def stop_listening(self) -> None:
        for srv in self.listeners:
            srv.close()
        self.listeners.clear()

    def stop(self) -> None:
        """Close the listener and every connection (sessions get close code 4000)."""
        self.stop_listening()
        for c in list(self.connections):
            if c.is_open:
                c.shutdown(frames.CLOSE_KILLED, "server shutting down")
            elif c.transport is not None:
                c.transport.close()
        self.server.pubsub.tap = None
        self.server.key_tap = None
        ev = self.server.events
        if self.watch.flushed in ev.db_flushed:
            ev.db_flushed.remove(self.watch.flushed)
        if self.watch.swapped in ev.dbs_swapped:
            ev.dbs_swapped.remove(self.watch.swapped)

    # -- configuration ---------------------------------------------------------------------------
    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """``gateway-allowed-origins``: a list of origins or ``*``; empty means same-origin only.
        Requests without an Origin header (non-browser clients) are allowed."""
        if origin is None:
            return True
        allowed = self.server.config["gateway-allowed-origins"].split()
        if "*" in allowed or origin in allowed:
            return True
        if allowed or host is None:
            return False
        return urlsplit(origin).netloc == host

    def extension_factories(self) -> list[Any] | None:
        if not self.server.config["gateway-compression"]:
            return None
        from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

        # No context takeover either way: a message is compressed once for all receivers, and no
        # connection keeps a zlib stream (which would cost ~100 KiB each).
        return [ServerPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True,
                                               compress_settings={"memLevel": 5})]

    def hard_frame_limit(self) -> int:
        """Frames up to 4 x gateway-max-frame get a JSON error; larger ones close the connection."""
        return 4 * self.server.config["gateway-max-frame"]

    # -- pub/sub ---------------------------------------------------------------------------------
    def published(self, channel: bytes, message: bytes, shard: bool) -> None:
        """PubSub tap: runs before each fan-out; records history, resets the frame cache."""
        self._frames = {}
        self._frame_key = (channel, message)
        self._offset = self.history.add(channel, message) if not shard else None
        self.plain_frame = None

    def message_frame(self, pattern: bytes | None, channel: bytes, message: bytes, shard: bool,
                      bits: int = 0) -> bytes:
        """The WebSocket frame of the message being published, built once per kind: plain, or
        compressed once for every permessage-deflate client (no context takeover, *bits* window)."""
        key = (pattern, shard, bits)
        cur = self._frame_key
        if cur is None or cur[0] is not channel or cur[1] is not message:  # not seen by the tap
            self._frames, self._offset, self._frame_key = {}, None, (channel, message)
        f = self._frames.get(key)
        if f is None:
            payload = frames.encode(self.message_obj(pattern, channel, message, shard, self._offset))
            f = self._frames[key] = frames.ws_deflated(payload, bits) if bits else frames.ws_text(payload)
            if pattern is None and not shard and not bits:
                self.plain_frame, self.plain_message = f, message
        return f

    @staticmethod
    def message_obj(pattern: bytes | None, channel: bytes, message: bytes, shard: bool,
                    offset: int | None) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": "smessage" if shard else "pmessage" if pattern is not None else "message"}
        if pattern is not None:
            frames.put_bytes(obj, "pattern", pattern)
        frames.put_bytes(obj, "channel", channel)
        frames.put_bytes(obj, "data", message)
        if offset is not None:
            obj["offset"] = offset_str(offset)
        return obj

    def schedule_flush(self, c: GatewayClient) -> None:
        if not self._dirty:
            self.loop.call_soon(self._flush_all)
        self._dirty.append(c)

    def _flush_all(self) -> None:
        dirty, self._dirty = self._dirty, []
        for c in dirty:
            if c._flush_scheduled:
                c.flush()

    # -- sessions --------------------------------------------------------------------------------
    def forget(self, c: GatewayClient) -> None:
        """A session ended: drop its subscriptions and watches."""
        self.server.pubsub.remove_client(c)
        self.watch.remove_client(c)

    def sessions(self) -> list[GatewayClient]:
        return [c for c in self.connections if c.is_open]

    def acl_changed(self, user: Any) -> None:
        """ACL SETUSER: sessions of *user* lose the subscriptions and watches it may no longer have."""
        from pyredis.gateway.ops import revalidate

        for c in self.sessions():
            if c.user == user.name:
                revalidate(c, user)

    # -- tokens ----------------------------------------------------------------------------------
    def new_token(self, user: bytes, ttl: float) -> str:
        now = time.monotonic()
        for t, (_, exp) in list(self.tokens.items()):
            if exp <= now:
                del self.tokens[t]
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (user, now + ttl)
        return token

    def token_user(self, token: str) -> bytes | None:
        entry = self.tokens.get(token)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self.tokens[token]
            return None
        return entry[0]


def _port_changed(server: Server, port: int) -> None:
    """CONFIG SET gateway-port: start, move or stop the gateway (bind errors reach the client)."""
    loop = server.loop
    if loop is None:
        return
    gw = server.gateway
    if port == 0:
        if gw is not None:
            gw.stop()
            server.gateway = None
        return
    new = gw if gw is not None else Gateway(server)
    try:
        socks = new.bind(port)
    except OSError as e:
        if gw is None:
            server.pubsub.tap = None
        raise ConfigError(f"Unable to listen on this port: {e.strerror}") from None
    new.stop_listening()
    server.gateway = new
    loop.create_task(new.serve(socks))


def _history_changed(server: Server, _value: object) -> None:
    gw = server.gateway
    if gw is not None:
        cfg = server.config
        gw.history.configure(cfg["gateway-history-channels"], cfg["gateway-history-maxlen"])


def config_changed(server: Server, name: str, value: Any) -> None:
    """CONFIG SET gateway-port / gateway-history-*. The asyncio layer (listener.py) follows those
    parameters from the moment the server listens and calls this once the gateway is, or is being,
    turned on (so the package is not imported by servers that never have one)."""
    if name == "gateway-port":
        _port_changed(server, value)
    else:
        _history_changed(server, value)
