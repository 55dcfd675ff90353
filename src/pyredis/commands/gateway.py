"""GATEWAY (pyredis only): login tokens for the WebSocket gateway, and its configuration hooks.

``GATEWAY TOKEN <user> <ttl-seconds>`` mints a short-lived token a browser can send in an ``auth``
frame instead of a password. ``GATEWAY HELP`` lists the subcommands.
"""

from __future__ import annotations

import logging

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import Status
from pyredis.server.config import ConfigError

log = logging.getLogger("pyredis")

_HELP = [
    "GATEWAY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "TOKEN <username> <ttl>",
    "    Return a token that authenticates a WebSocket gateway session as <username> for <ttl> seconds.",
    "HELP",
    "    Print this help.",
]


@subcommand("gateway", "token", 4, "admin noscript loading stale")
def cmd_gateway_token(c, argv):
    gw = c.server.gateway
    if gw is None:
        raise CommandError("ERR the WebSocket gateway is off (set gateway-port)")
    ttl = parse_ll(argv[3])
    if ttl is None or ttl <= 0:
        raise CommandError("ERR invalid ttl: it must be a positive number of seconds")
    if argv[2] not in c.server.extensions["acl"].users:
        raise CommandError("ERR no such user")
    return gw.new_token(argv[2], ttl).encode()


@subcommand("gateway", "help", 2, "loading stale")
def cmd_gateway_help(c, argv):
    return [Status(x.encode()) for x in _HELP]


def _port_changed(server, port: int) -> None:
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
    from pyredis.gateway import Gateway

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


def _history_changed(server, _value) -> None:
    gw = server.gateway
    if gw is not None:
        cfg = server.config
        gw.history.configure(cfg["gateway-history-channels"], cfg["gateway-history-maxlen"])


def setup(server) -> None:
    cfg = server.config
    cfg.on_change("gateway-port", lambda v: _port_changed(server, v))
    cfg.on_change("gateway-history-channels", lambda v: _history_changed(server, v))
    cfg.on_change("gateway-history-maxlen", lambda v: _history_changed(server, v))

