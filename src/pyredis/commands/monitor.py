"""MONITOR: stream executed commands to this client (the feed is :mod:`pyredis.server.monitor`)."""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command
from pyredis.protocol.types import OK


@command("monitor", 1, "admin noscript loading stale")
def cmd_monitor(c, argv):
    if c.in_exec or c.in_script:
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if c.monitor:
        return OK
    c.monitor = True
    c.server.monitor.add(c)
    return OK
