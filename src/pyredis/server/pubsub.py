"""The Pub/Sub registry: channel, pattern and shard-channel subscriptions and message fan-out.

No I/O here: a message is encoded once per protocol version and appended to each receiver's
output buffer (``Client.out``); the connection flushes it at the end of the loop iteration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyredis.engine.glob import compile_glob

log = logging.getLogger("pyredis")

if TYPE_CHECKING:
    from pyredis.server.client import Client


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


_MESSAGE = _bulk(b"message")
_PMESSAGE = _bulk(b"pmessage")
_SMESSAGE = _bulk(b"smessage")


def subscription_reply(kind: bytes, name: bytes | None, count: int, resp: int) -> bytes:
    """Encoded ``[kind, name, count]`` confirmation (RESP3 push, RESP2 array)."""
    return b"%s3\r\n%s%s:%d\r\n" % (b">" if resp == 3 else b"*", _bulk(kind),
                                    b"$-1\r\n" if name is None else _bulk(name), count)


class PubSub:
    """Subscriptions of all clients. Per channel the subscribers are kept in subscription order."""

    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Client, None]] = {}
        self.patterns: dict[bytes, tuple[Callable[[bytes], object], dict[Client, None]]] = {}
        self.shard_channels: dict[bytes, dict[Client, None]] = {}
        # Called with each receiver after a message was appended to its buffer
        # (the server installs the output-buffer-limit check here).
        self.on_deliver: Callable[[Client], None] | None = None
        # The WebSocket gateway's tap (pyredis.gateway.Gateway.published): sees every message first
        # (history, offsets). Gateway clients (``resp == 0``) get ``deliver(kind, pattern, channel, msg)``.
        self.tap: Callable[[bytes, bytes, bool], None] | None = None

    # -- subscriptions --------------------------------------------------------------------------
    def subscribe(self, c: Client, channel: bytes) -> bool:
        """Add *c* to *channel*; False if it was already subscribed."""
        if channel in c.channels:
            return False
        c.channels.add(channel)
        subs = self.channels.get(channel)
        if subs is None:
            subs = self.channels[channel] = {}
        subs[c] = None
        return True

    def unsubscribe(self, c: Client, channel: bytes) -> bool:
        if channel not in c.channels:
            return False
        c.channels.discard(channel)
        subs = self.channels.get(channel)
        if subs is not None:
            subs.pop(c, None)
            if not subs:
                del self.channels[channel]
        return True

    def psubscribe(self, c: Client, pattern: bytes) -> bool:
        if pattern in c.patterns:
            return False
        c.patterns.add(pattern)
        entry = self.patterns.get(pattern)
        if entry is None:
            entry = self.patterns[pattern] = (compile_glob(pattern), {})
        entry[1][c] = None
        return True

    def punsubscribe(self, c: Client, pattern: bytes) -> bool:
        if pattern not in c.patterns:
            return False
        c.patterns.discard(pattern)
        entry = self.patterns.get(pattern)
        if entry is not None:
            entry[1].pop(c, None)
            if not entry[1]:
                del self.patterns[pattern]
        return True

    def ssubscribe(self, c: Client, channel: bytes) -> bool:
        if channel in c.shard_channels:
            return False
        c.shard_channels.add(channel)
        subs = self.shard_channels.get(channel)
        if subs is None:
            subs = self.shard_channels[channel] = {}
        subs[c] = None
        return True

    def sunsubscribe(self, c: Client, channel: bytes) -> bool:
        if channel not in c.shard_channels:
            return False
        c.shard_channels.discard(channel)
        subs = self.shard_channels.get(channel)
        if subs is not None:
            subs.pop(c, None)
            if not subs:
                del self.shard_channels[channel]
        return True

    def remove_client(self, c: Client) -> None:
        """Drop every subscription of *c* (disconnect, RESET)."""
        for ch in list(c.channels):
            self.unsubscribe(c, ch)
        for p in list(c.patterns):
            self.punsubscribe(c, p)
        for ch in list(c.shard_channels):
            self.sunsubscribe(c, ch)

    # -- publishing -----------------------------------------------------------------------------
    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver *message* to subscribers of *channel* and of every matching pattern."""
        n = 0
        if self.tap is not None:
            self.tap(channel, message, False)
        subs = self.channels.get(channel)
        tail: bytes | None = None
        if subs:
            tail = _bulk(channel) + _bulk(message)
            n += self._fan_out(subs, _MESSAGE + tail, 3, channel, message)
        if self.patterns:
            for pattern, (match, psubs) in list(self.patterns.items()):
                if match(channel):
                    if tail is None:
                        tail = _bulk(channel) + _bulk(message)
                    n += self._fan_out(psubs, _PMESSAGE + _bulk(pattern) + tail, 4, channel, message, pattern)
        return n

    def spublish(self, channel: bytes, message: bytes) -> int:
        if self.tap is not None:
            self.tap(channel, message, True)
        subs = self.shard_channels.get(channel)
        if not subs:
            return 0
        return self._fan_out(subs, _SMESSAGE + _bulk(channel) + _bulk(message), 3, channel, message, None, True)

    def _fan_out(self, subs: dict[Client, None], body: bytes, nparts: int, channel: bytes, message: bytes,
                 pattern: bytes | None = None, shard: bool = False) -> int:
        resp2 = resp3 = b""
        hook = self.on_deliver
        receivers = list(subs)
        for c in receivers:
            if c.resp == 3:
                if not resp3:
                    resp3 = b">%d\r\n%s" % (nparts, body)
                c.out.append(resp3)
            elif c.resp == 2:
                if not resp2:
                    resp2 = b"*%d\r\n%s" % (nparts, body)
                c.out.append(resp2)
            else:  # a WebSocket gateway client: JSON frames, its own queue and limits
                c.deliver(pattern, channel, message, shard)  # type: ignore[attr-defined]
                continue
            c.schedule_flush()
            if hook is not None:
                hook(c)
        return len(receivers)

    # -- introspection --------------------------------------------------------------------------
    def active_channels(self, pattern: bytes | None, shard: bool = False) -> list[bytes]:
        table = self.shard_channels if shard else self.channels
        if pattern is None:
            return list(table)
        match = compile_glob(pattern)
        return [ch for ch in table if match(ch)]

    def numsub(self, channel: bytes, shard: bool = False) -> int:
        subs = (self.shard_channels if shard else self.channels).get(channel)
        return len(subs) if subs else 0

    def numpat(self) -> int:
        return len(self.patterns)

    def num_channels(self) -> int:
        return len(self.channels)

    def num_patterns(self) -> int:
        return len(self.patterns)

    def num_shard_channels(self) -> int:
        return len(self.shard_channels)


def client_class(c: Client) -> str:
    """The ``client-output-buffer-limit`` class of *c*."""
    if getattr(c, "is_replica", False) and not c.monitor:
        return "replica"
    if c.channels or c.patterns or c.shard_channels:
        return "pubsub"
    return "normal"


def check_output_limits(c: Any, size: int) -> bool:
    """Enforce ``client-output-buffer-limit`` on *size* pending bytes; False if *c* was dropped."""
    hard, soft, secs = c.server.config["client-output-buffer-limit"][client_class(c)]
    over = bool(hard) and size >= hard
    if not over and soft and size >= soft:
        now = time.monotonic()
        since = getattr(c, "obuf_soft_since", None)
        if since is None:
            c.obuf_soft_since = now
        elif now - since > secs:
            over = True
    elif getattr(c, "obuf_soft_since", None) is not None:
        c.obuf_soft_since = None
    if over:
        log.warning("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer "
                    "limits.", c.id, c.addr)
        c._abort()
        return False
    return True
