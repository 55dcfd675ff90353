"""GATEWAY (pyredis only): login tokens for the WebSocket gateway (its configuration: :func:`pyredis.gateway.config_changed`).

``GATEWAY TOKEN <user> <ttl-seconds>`` mints a short-lived token a browser can send in an ``auth``
frame instead of a password. ``GATEWAY HELP`` lists the subcommands.
"""

from __future__ import annotations

import logging

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import Status

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
    if argv[2] not in c.server.acl.store.users:
        raise CommandError("ERR no such user")
    return gw.new_token(argv[2], ttl).encode()


@subcommand("gateway", "help", 2, "loading stale")
def cmd_gateway_help(c, argv):
    return [Status(x.encode()) for x in _HELP]
