"""One client connection: an asyncio Protocol feeding the sans-IO parser and the executor."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, cast

from pyredis import _speedups
from pyredis.protocol.parser import ProtocolError, RequestParser
from pyredis.server import fastpath
from pyredis.server.client import Client
from pyredis.server.clientmem import (
    REPLY_CHUNK,
    close_on_obuf_limit,
    output_memory,
    query_layout,
    reply_list,
    resize_reply_buffer,
    unsent,
)

if TYPE_CHECKING:
    from pyredis.server.app import Server

log = logging.getLogger("pyredis")

AWAITING_READS = object()  # c.blocked of a CLIENT LIST waiting for the end of the loop iteration

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for "
    b"the default user. In this mode connections are only accepted from the loopback interface. If you want to "
    b"connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable "
    b"protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    b"connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
    b"accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and setting the protected "
    b"mode option to 'no', and then restarting the server. 3) If you started the server manually just for "
    b"testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the "
    b"default user. NOTE: You only need to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n"
)


class Connection(Client, asyncio.Protocol):
    """A socket-backed client. Replies of a read batch are written with one ``transport.write``."""

    fake = False
    on_drain = None  # called when the transport drained after pausing (replicas set it)

    def __init__(self, server: Server) -> None:
        super().__init__(server, server.new_client_id())
        self.transport: asyncio.Transport | None = None
        self.parser = RequestParser(server.config.values["proto-max-bulk-len"])
        self.pending: deque[list[bytes]] = deque()
        self._flush_scheduled = False
        self._reads_awaited = False
        self.closed = False
        self._freed = False
        # Emulated query-buffer allocation, reported by CLIENT LIST as qbuf + qbuf-free.
        self.qbuf_alloc = 0
        self.qbuf_peak = 0
        # The emulated reply buffer (CLIENT LIST rbs/rbp); its peak resets at the first cron, as in Redis.
        self.rbs = self.rbp = REPLY_CHUNK
        self.rbp_reset = 0

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        old = self.transport
        if old is not None and getattr(old, "blocked_shim", False):
            # accepted while a busy script blocked the loop (listener.BlockedAccept): now adopted
            self.transport = transport  # type: ignore[assignment]
            pending = bytes(getattr(old, "buf", b""))
            if pending:
                self.transport.write(pending)  # type: ignore[union-attr]
            return
        self.transport = transport  # type: ignore[assignment]
        srv = self.server
        sock = transport.get_extra_info("socket")
        if sock is not None and srv.blocked_io is not None and srv.blocked_io.early:
            prior = srv.blocked_io.claim(sock.fileno())  # served while a busy script blocked the loop
            if prior is not None:  # it goes on over this transport; this connection never serves
                self.closed = self._freed = True
                transport.set_protocol(prior)  # type: ignore[attr-defined]
                if prior.closed:
                    transport.close()
                else:
                    prior.connection_made(transport)
                return
        if sock is not None:
            self.fd = sock.fileno()
            if srv.blocked_io is not None:
                srv.blocked_io.owned.add(self.fd)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
                peer = transport.get_extra_info("peername")
                local = transport.get_extra_info("sockname")
                self.addr = _fmt_addr(peer)
                self.laddr = _fmt_addr(local)
            else:
                self.addr = f"{srv.unixsocket or ''}:0"
                self.laddr = self.addr
                self.flags_extra = "U"
        if len(srv.clients) >= srv.config["maxclients"]:
            srv.stat_rejected_conn += 1
            cast("asyncio.Transport", transport).write(b"-ERR max number of clients reached\r\n")
            transport.close()
            self.closed = True
            return
        if (srv.config.values["protected-mode"] and self.flags_extra != "U" and srv.acl.default_nopass()
                and self.addr.rsplit(":", 1)[0] not in ("127.0.0.1", "::1")):
            srv.stat_rejected_conn += 1
            cast("asyncio.Transport", transport).write(DENIED)
            transport.close()
            self.closed = True
            return
        srv.stat_connections += 1
        srv.clients[self.id] = self
        self.parser.auth_required = not self.authenticated
        for hook in srv.events.client_connected:
            hook(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.server.blocked_io is not None:
            self.server.blocked_io.owned.discard(self.fd)
        if self._freed:  # already freed by free_now()
            return
        self._freed = True
        self.closed = True
        self.server.clients.pop(self.id, None)
        for hook in self.server.events.client_disconnected:
            hook(self)

    def data_received(self, data: bytes) -> None:
        accel = _speedups.hotpath
        if accel is not None and accel.receive(self, data, fastpath):
            return  # taken whole by the accelerator (the same steps as below: _speedups/_hotpath.pyx receive)
        self.received(data)

    def received(self, data: bytes) -> None:
        """A read's accounting, then :meth:`feed_rest`: what ``data_received`` does without the accelerator."""
        srv = self.server
        srv.stat_net_in += len(data)
        self.last_interaction = time.time()
        parser = self.parser
        # Redis reads at most 16 KB at a time (PROTO_IOBUF_LEN) into what is still unparsed
        n = len(data)
        size = parser.buffered + (n if n < 16384 else 16384)
        if size > self.qbuf_peak:
            self.qbuf_peak = size
        if self.qbuf_alloc < size or self.qbuf_alloc < 20474:
            big = query_layout(parser.pending_chunks())[3] if parser.buffered else 0
            if big:  # a big argument is read straight into a buffer of its size (its header is gone)
                self.qbuf_alloc = max(self.qbuf_alloc, big + 2)
            else:
                self.qbuf_alloc = max(size, 20474)
        self.feed_rest(data)

    def feed_rest(self, data: bytes) -> None:
        """The part of a read no accelerator took: parse it, run its commands, flush the replies."""
        srv = self.server
        parser = self.parser
        try:
            cmds = parser.feed(data)
            err = None
        except ProtocolError as e:
            cmds, err = e.commands, e.message
        if parser.buffered > srv.config.values["client-query-buffer-limit"]:
            log.warning("Closing client that reached max query buffer length")
            self._abort()
            return
        if self.pending or self.blocked is not None:
            self.pending.extend(cmds)
        elif len(cmds) > 16 and srv.config.values["client-output-buffer-limit"]["normal"][0]:
            self._run_limited(cmds)
        else:
            fastpath.run_commands(self, cmds)
        if err is not None:
            self.write_error("ERR " + err)
            self.close_asap = True
        if self.close_asap or srv.loop is None or srv.client_eviction.enabled:
            # with maxmemory-clients at once: flush checks client eviction, which Redis does before the
            # next command (processCommand) runs, so another client's CLIENT LIST must not see this one first
            self.flush()
        else:  # written after this loop iteration's reads, as Redis writes in beforeSleep
            self.schedule_flush()

    def _run_limited(self, cmds: list[list[bytes]]) -> None:
        """A pipeline under an output buffer limit: stop (and close) once the replies exceed it."""
        for i in range(0, len(cmds), 16):
            if self.closed or self.close_asap:
                return
            if self.blocked is not None or self.pending:
                self.pending.extend(cmds[i:])
                return
            fastpath.run_commands(self, cmds[i:i + 16])
            if close_on_obuf_limit(self):
                return

    def eof_received(self) -> bool | None:
        _speedups.write_held()  # the replies to the last read go out before the close
        if self._flush_scheduled:
            self.flush()
        return None

    def resume_writing(self) -> None:
        """The transport drained below its low-water mark (a replica's stream continues: ``on_drain``)."""
        hook = self.on_drain
        if hook is not None:
            hook()

    # -- output ------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered in ``out`` (one write), then close if asked."""
        self._flush_scheduled = False
        t = self.transport
        if t is None or self.closed:
            self.out.clear()
            return
        srv = self.server
        if self.out:
            _speedups.write_held()  # replies the accelerator holds go first
            master = srv.replication.master
            if master.pump_scheduled:  # and the replicas' stream before any reply
                master.pump_all()
            data = b"".join(self.out) if len(self.out) > 1 else self.out[0]
            self.out.clear()
            n = len(data)
            if n > self.rbp:
                self.rbp = n if n < self.rbs else self.rbs
            pending = n + t.get_write_buffer_size()
            if pending > self.rbs:  # replies beyond the reply buffer: within the output buffer limit?
                if close_on_obuf_limit(self, reply_list(pending - self.rbs)[1]):
                    return
            elif self.obuf_soft_since is not None:
                self.obuf_soft_since = None
            srv.stat_net_out += n
            hook = srv.before_reply
            if hook is not None:  # e.g. the AOF with appendfsync always: durable before replying
                hook()
            t.write(data)
        if self.close_asap:
            self.closed = True
            t.close()
        elif srv.client_eviction.enabled:
            srv.client_eviction.touch(self)

    def schedule_flush(self) -> None:
        if not self._flush_scheduled and self.server.loop is not None:
            self._flush_scheduled = True
            self.server.loop.call_soon(self.flush)

    def free_now(self) -> None:
        """Free a client whose peer closed, while the loop is blocked (a busy script's event processing)."""
        if not self._freed:
            self._abort()
            self.connection_lost(None)

    def pending_output(self) -> int:
        return unsent(self)

    def reply_limit_reached(self, building: int) -> bool:
        if self.closed:
            return True
        return close_on_obuf_limit(self, output_memory(self) + building)

    def _abort(self) -> None:
        """Drop the connection now, unsent replies included (CLIENT LIST no longer shows it)."""
        self.closed = True
        self.out.clear()
        srv = self.server
        if srv.clients.get(self.id) is self:
            del srv.clients[self.id]
        if self.transport is not None:
            self.transport.abort()

    def unblock(self) -> None:
        """Called when a blocked command completed: run the commands that queued up meanwhile."""
        self.blocked = None
        loop = self.server.loop
        if self.pending and loop is not None:
            loop.call_soon(self.resume)
        else:
            self.schedule_flush()

    def await_reads(self, argv: list[bytes]) -> bool:
        """CLIENT LIST waits for the end of this loop iteration, so every socket the same poll found
        ready has been read (and its query buffer accounted) when it answers.

        Redis writes replies just before it polls again (beforeSleep), so a client that replies to
        one answer with data on another connection, then CLIENT LIST, finds that data read first.
        Here the poll comes later, after the reply was written: both sockets can then be ready in
        the same poll, the CLIENT LIST one first (epoll keeps a level-triggered socket it returned
        at the head of its ready list). Returns True when *argv* was put back to run then.
        """
        if self._reads_awaited:  # the second time: run now
            self._reads_awaited = False
            return False
        loop = self.server.loop
        if (loop is None or self.blocked is not None or self.multi is not None or self.in_exec or self.in_script
                or self.closed):
            return False
        self._reads_awaited = True
        self.pending.appendleft(argv)
        self.blocked = AWAITING_READS
        loop.call_soon(self._reads_done)
        return True

    def _reads_done(self) -> None:
        if self.blocked is AWAITING_READS:
            self.blocked = None
            self.resume()

    def resume(self) -> None:
        execute = self.server.execute
        while self.pending and self.blocked is None and not self.close_asap and not self.closed:
            execute(self, self.pending.popleft())
        self.flush()

    def query_buffer_size(self) -> int:
        return self.parser.buffered

    def query_buffer_alloc(self) -> int:
        return self.qbuf_alloc

    def resize_query_buffer(self, now: float) -> None:
        """clientsCron: free an idle client's buffer, shrink one much larger than recent use;
        resize the reply buffer."""
        resize_reply_buffer(self, int(now * 1000), self.server)
        if self.parser.buffered:
            return
        if now - self.last_interaction > 2:
            self.qbuf_alloc = 0
        elif self.qbuf_alloc > 32768 and self.qbuf_peak < self.qbuf_alloc // 2:
            self.qbuf_alloc = max(self.qbuf_peak, 20474)
        self.qbuf_peak = 0


if _speedups.hotpath is not None:  # data_received's steps compiled: no Python frame per read
    _speedups.hotpath.install(Connection, RequestParser, _speedups, fastpath)


def _fmt_addr(addr: object) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host, port = addr[0], addr[1]
        return f"{host}:{port}"
    return "?:0"
