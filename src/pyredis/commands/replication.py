"""Replication and module commands of a standalone master: ROLE, WAIT, REPLICAOF/SLAVEOF NO ONE,
FAILOVER, MODULE. pyredis has no replicas and loads no modules; replies are redis-server's for that
situation."""

from __future__ import annotations

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command, help_lines, subcommand
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


_MODULE_DENIED = ("ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", "
                  "you can run it from a local connection, otherwise you need to set this option in the "
                  "configuration file, and then restart the server.")


@subcommand("module", "list", 2, "admin noscript")
def cmd_module_list(c, argv):
    return []


def _module_change(c, argv):
    if c.server.config["enable-module-command"] == "no":
        raise CommandError(_MODULE_DENIED)
    raise CommandError("ERR Error loading the extension. Please check the server logs.")


@subcommand("module", "load", -3, "admin noscript no_async_loading")
def cmd_module_load(c, argv):
    return _module_change(c, argv)


@subcommand("module", "loadex", -3, "admin noscript no_async_loading")
def cmd_module_loadex(c, argv):
    return _module_change(c, argv)


@subcommand("module", "unload", 3, "admin noscript no_async_loading")
def cmd_module_unload(c, argv):
    if c.server.config["enable-module-command"] == "no":
        raise CommandError(_MODULE_DENIED)
    raise CommandError("ERR Error unloading module: no such module with that name")


@subcommand("module", "help", 2, "loading stale")
def cmd_module_help(c, argv):
    return help_lines("module")
