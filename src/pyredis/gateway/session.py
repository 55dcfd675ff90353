"""One gateway connection: HTTP (console files) or a WebSocket session, as an asyncio Protocol.

The WebSocket protocol itself is the ``websockets`` library's sans-I/O ``ServerProtocol``; outgoing
pub/sub frames are pre-encoded once per message (unmasked, uncompressed) and appended to each
receiver's queue, which is written once per loop tick. permessage-deflate is negotiated without
context takeover, so a message is also compressed once for all the clients that use it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from websockets.exceptions import InvalidState
from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from pyredis.gateway import frames, static
from pyredis.gateway.frames import FrameError
from pyredis.gateway.ops import dispatch
from pyredis.server.client import Client

if TYPE_CHECKING:
    from pyredis.gateway import Gateway

log = logging.getLogger("pyredis")

HIGH_WATER = 64 * 1024  # transport buffer size above which frames wait in the client's own queue


class GatewayClient(Client, asyncio.Protocol):
    """A browser (or any WebSocket client). ``resp == 0``: pub/sub arrives through :meth:`deliver`."""

    fake = False

    def __init__(self, gw: Gateway) -> None:
        super().__init__(gw.server, 0)
        self.gw = gw
        self.resp = 0
        self.flags_extra = "G"
        self.ws = ServerProtocol(origins=None, extensions=gw.extension_factories(),
                                 max_size=gw.hard_frame_limit())
        self.transport: asyncio.Transport | None = None
        self.is_open = False  # upgraded and registered in server.clients
        self.closed = False
        self.closing = False
        self.compress = False
        self.deflate_bits = 0  # the negotiated server window when permessage-deflate is on
        self._flush_scheduled = False
        self._eof = False
        self.out_bytes = 0
        self.paused = False
        self.obuf_soft_since: float | None = None
        self.watches: list[Any] = []
        self.fragments: list[bytes] | None = None
        self.after: list[bytes] = []  # frames to send after the current reply (history replay)
        self.runner: Client | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = t = transport  # type: ignore[assignment]
        t.set_write_buffer_limits(high=HIGH_WATER)  # type: ignore[attr-defined]
        sock = t.get_extra_info("socket")
        if sock is not None:
            self.fd = sock.fileno()
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        peer, local = t.get_extra_info("peername"), t.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.addr = f"{peer[0]}:{peer[1]}"
        if isinstance(local, tuple):
            self.laddr = f"{local[0]}:{local[1]}"
        self.gw.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.gw.connections.discard(self)
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self.is_open:
            self.is_open = False
            self.server.clients.pop(self.id, None)
            self.gw.forget(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.flush()

    def data_received(self, data: bytes) -> None:
        self.server.stat_net_in += len(data)
        ws = self.ws
        ws.receive_data(data)
        for ev in ws.events_received():
            if isinstance(ev, Request):
                self._request(ev)
            else:
                self._frame(ev)
        self._pull()
        self.flush()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._pull()
        self.flush()
        return None

    # -- HTTP / handshake ----------------------------------------------------------------------
    def _request(self, req: Request) -> None:
        ws = self.ws
        path = req.path.split("?", 1)[0]
        if path != "/ws":
            ws.send_response(static.response(path))
            return
        if not self.gw.origin_allowed(req.headers.get("Origin"), req.headers.get("Host")):
            ws.send_response(ws.reject(403, "Origin not allowed (gateway-allowed-origins)\n"))
            return
        srv = self.server
        if len(srv.clients) >= srv.config["maxclients"]:
            srv.stat_rejected_conn += 1
            ws.send_response(ws.reject(503, "max number of clients reached\n"))
            return
        resp = ws.accept(req)
        ws.send_response(resp)
        self._pull()  # the 101 response goes before any frame
        if resp.status_code != 101:
            return
        self.compress = bool(ws.extensions)
        if self.compress:
            self.deflate_bits = getattr(ws.extensions[0], "local_max_window_bits", 15)
        self.id = srv.new_client_id()
        self.created = self.last_interaction = time.time()
        srv.stat_connections += 1
        srv.clients[self.id] = self
        self.is_open = True
        self.send_obj({"type": "hello", "version": frames.VERSION, "server": "pyredis",
                       "client_id": self.id, "auth_required": not self.authenticated,
                       "commands": bool(srv.config["gateway-commands"])})

    # -- incoming frames -----------------------------------------------------------------------
    def _frame(self, frame: Any) -> None:
        op = frame.opcode
        if op is Opcode.TEXT or op is Opcode.BINARY:
            if frame.fin:
                self._message(frame.data)
            else:
                self.fragments = [frame.data]
        elif op is Opcode.CONT and self.fragments is not None:
            self.fragments.append(frame.data)
            if frame.fin:
                data = b"".join(self.fragments)
                self.fragments = None
                self._message(data)

    def _message(self, data: bytes) -> None:
        if not self.is_open or self.closing:
            return
        self.last_interaction = time.time()
        limit = self.server.config["gateway-max-frame"]
        if len(data) > limit:
            self.send_obj(frames.error(None, "ERR", f"frame of {len(data)} bytes exceeds gateway-max-frame "
                                                    f"({limit})"))
            return
        fid = None
        try:
            obj = frames.parse(bytes(data))
            fid = obj.get("id")
            result = dispatch(self, obj)
        except FrameError as e:
            if e.fid is not None:
                fid = e.fid
            self.server.count_error(f"{e.code} {e.message}")
            self.send_obj(frames.error(fid, e.code, e.message))
        except Exception as e:  # a bug costs one error frame, never the connection or the server
            log.exception("gateway op failed")
            self.send_obj(frames.error(fid, "ERR", f"internal error: {type(e).__name__}: {e}"))
        else:
            if result is not None and fid is not None:
                self.send_obj(result)
        if self.after:
            for f in self.after:
                self._enqueue_payload(f)
            self.after = []

    # -- output --------------------------------------------------------------------------------
    def send_obj(self, obj: dict[str, Any]) -> None:
        """Queue one JSON frame (a reply or a pushed frame) for this client."""
        self._enqueue_payload(frames.encode(obj))

    def _enqueue_payload(self, payload: bytes) -> None:
        if not self.is_open or self.closing:
            return
        if self.compress:
            try:
                self.ws.send_text(payload)
            except InvalidState:
                return
            self._pull()
        else:
            data = frames.ws_text(payload)
            self.out.append(data)
            self.out_bytes += len(data)
        self._queued()

    def deliver(self, pattern: bytes | None, channel: bytes, message: bytes, shard: bool) -> None:
        """A pub/sub message for this client (called by the PubSub fan-out)."""
        if self.closing:  # (a session leaves the PubSub registry as it closes)
            return
        gw = self.gw
        data = gw.plain_frame  # the common case, cached for the message being published
        if data is None or pattern is not None or shard or self.deflate_bits or gw.plain_message is not message:
            data = gw.message_frame(pattern, channel, message, shard, self.deflate_bits)
        self.out.append(data)
        self.out_bytes += len(data)
        if self.paused:
            self.check_limits()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            gw.schedule_flush(self)

    def _queued(self) -> None:
        if self.paused:
            self.check_limits()
        elif not self._flush_scheduled:  # one write per client per loop tick, one callback for all
            self._flush_scheduled = True
            self.gw.schedule_flush(self)

    def _pull(self) -> None:
        for chunk in self.ws.data_to_send():
            if chunk:
                self.out.append(chunk)
                self.out_bytes += len(chunk)
            else:
                self._eof = True

    def flush(self) -> None:
        """Write the queue (one write per tick), unless the peer is not reading."""
        self._flush_scheduled = False
        t = self.transport
        if t is None or self.closed:
            self.out.clear()
            self.out_bytes = 0
            return
        if self.out and not self.paused:
            data = b"".join(self.out) if len(self.out) > 1 else self.out[0]
            self.out.clear()
            self.out_bytes = 0
            self.server.stat_net_out += len(data)
            t.write(data)
        if self._eof and not self.out:
            self.closed = True
            t.close()
            return
        if self.paused:
            self.check_limits()

    def schedule_flush(self) -> None:
        if self.close_asap and not self.closing:
            self.shutdown(frames.CLOSE_KILLED, "closed by the server")
        elif not self._flush_scheduled and self.gw.loop is not None:
            self._flush_scheduled = True
            self.gw.loop.call_soon(self.flush)

    def pending_output(self) -> int:
        t = self.transport
        return self.out_bytes + (t.get_write_buffer_size() if t is not None and not self.closed else 0)

    def check_limits(self) -> bool:
        """``client-output-buffer-limit pubsub`` on the queued bytes; False if the client was dropped."""
        hard, soft, secs = self.server.config["client-output-buffer-limit"]["pubsub"]
        size = self.pending_output()
        over = bool(hard) and size >= hard
        if not over and soft and size >= soft:
            now = time.monotonic()
            if self.obuf_soft_since is None:
                self.obuf_soft_since = now
            elif now - self.obuf_soft_since > secs:
                over = True
        elif self.obuf_soft_since is not None and size < soft:
            self.obuf_soft_since = None
        if over:
            log.warning("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer "
                        "limits.", self.id, self.addr)
            self.out.clear()
            self.out_bytes = 0
            self.shutdown(frames.CLOSE_SLOW, "output buffer limit reached (client-output-buffer-limit pubsub)",
                          force=True)
            return False
        return True

    def shutdown(self, code: int, reason: str, force: bool = False) -> None:
        """Close with a WebSocket close frame *code*; drop the session's subscriptions at once."""
        if self.closing or self.closed:
            return
        self.closing = True
        self.close_asap = True
        if self.is_open:
            self.is_open = False
            self.server.clients.pop(self.id, None)
            self.gw.forget(self)
        try:
            self.ws.send_close(code, reason)
        except InvalidState:
            pass
        self._pull()
        t = self.transport
        if t is not None and not self.closed:
            data = b"".join(self.out)
            self.out.clear()
            self.out_bytes = 0
            t.write(data)  # past the pause: the close frame goes after what the kernel already has
            self._close_timer = self.gw.loop.call_later(2.0 if force else 5.0, self._abort)

    def _abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()

    def close(self) -> None:
        """CLIENT KILL / ACL DELUSER: close with code 4000 (the server flushes us right after)."""
        self.close_asap = True
