"""Replication commands of a standalone master: ROLE, WAIT, REPLICAOF/SLAVEOF NO ONE, FAILOVER.
pyredis has no replicas; replies are redis-server's for that situation. (MODULE is commands/module.py.)"""

from __future__ import annotations

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.protocol.types import OK


@command("role", 1, "noscript loading stale fast")
def cmd_role(c, argv):
    return [b"master", 0, []]


@command("wait", 3, "noscript")
def cmd_wait(c, argv):
    get_int(argv[1])
    timeout = get_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    return 0  # no replica to wait for: Redis answers with the count of acknowledging replicas


def _replicaof(c, argv):
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        return OK
    get_int(argv[2], "ERR Invalid master port")
    raise CommandError("ERR pyredis does not support replication (only REPLICAOF NO ONE)")


@command("replicaof", 3, "admin noscript stale no_async_loading")
def cmd_replicaof(c, argv):
    return _replicaof(c, argv)


@command("slaveof", 3, "admin noscript stale no_async_loading")
def cmd_slaveof(c, argv):
    return _replicaof(c, argv)


@command("failover", -1, "admin noscript stale")
def cmd_failover(c, argv):
    i = 1
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"to" and i + 2 < len(argv):
            i += 3
        elif opt == b"timeout" and i + 1 < len(argv):
            get_int(argv[i + 1])
            i += 2
        elif opt in (b"force", b"abort"):
            i += 1
        else:
            raise syntax_error()
    if len(argv) == 2 and argv[1].lower() == b"abort":
        raise CommandError("ERR No failover in progress.")
    raise CommandError("ERR FAILOVER requires connected replicas.")
