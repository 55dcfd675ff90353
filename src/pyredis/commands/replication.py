"""Replication commands (thin handlers over ``server.replication``): ROLE, WAIT, REPLICAOF/SLAVEOF,
REPLCONF, PSYNC, SYNC, FAILOVER. (MODULE is commands/module.py.)"""

from __future__ import annotations

import logging

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.protocol.types import NOREPLY, OK, Raw

log = logging.getLogger("pyredis")


def _repl(c):
    return c.server.replication


@command("role", 1, "noscript loading stale fast")
def cmd_role(c, argv):
    return _repl(c).role()


@command("wait", 3, "noscript")
def cmd_wait(c, argv):
    num = get_int(argv[1])
    timeout = get_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    repl = _repl(c)
    if repl.masterhost is not None:
        raise CommandError("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
                           "if a replica is configured to be writable (which is not the default) writes to replicas "
                           "are just local and are not propagated.")
    offset = repl.offset
    acked = repl.master.acked(offset)
    if acked >= num or c.in_exec or c.in_script or getattr(c, "pending", None) is None:
        return acked
    master = repl.master
    entry_box: list = []

    def expire() -> None:
        if entry_box and entry_box[0] in master.waiting:
            master.finish_wait(entry_box[0])

    loop = c.server.loop
    timer = loop.call_later(timeout / 1000.0, expire) if timeout else None
    entry = (c, num, offset, timer)
    entry_box.append(entry)
    master.waiting.append(entry)
    c.blocked = WaitBlock()
    master.request_acks()
    return NOREPLY


class WaitBlock:
    """Marker in ``c.blocked`` for a client in WAIT."""

    __slots__ = ()


def _replicaof(c, argv):
    if c.server.cluster is not None:  # a cluster node's master is set with CLUSTER REPLICATE
        raise CommandError("ERR REPLICAOF not allowed in cluster mode.")
    repl = _repl(c)
    if repl.failover.in_progress():
        raise CommandError("ERR REPLICAOF not allowed while failing over.")
    from pyredis.commands.connection import client_info_line

    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if repl.masterhost is not None:
            repl.unset_master()
            log.info("MASTER MODE enabled (user request from '%s')", client_info_line(c))
        return OK
    if getattr(c, "is_replica", False):
        raise CommandError("ERR Command is not valid when client is a replica.")
    port = get_int(argv[2], "ERR Invalid master port")
    if not 0 <= port <= 65535:
        raise CommandError("ERR Invalid master port")
    host = argv[1].decode("utf-8", "replace")
    if repl.masterhost is not None and repl.masterhost.lower() == host.lower() and repl.masterport == port:
        log.info("REPLICAOF would result into synchronization with the master we are already connected with. "
                 "No operation performed.")
        return Raw(b"+OK Already connected to specified master\r\n")
    repl.set_master(host, port)
    log.info("REPLICAOF %s:%d enabled (user request from '%s')", host, port, client_info_line(c))
    return OK


@command("replicaof", 3, "admin noscript stale no_async_loading")
def cmd_replicaof(c, argv):
    return _replicaof(c, argv)


@command("slaveof", 3, "admin noscript stale no_async_loading")
def cmd_slaveof(c, argv):
    return _replicaof(c, argv)


@command("replconf", -1, "admin noscript loading stale allow_busy")
def cmd_replconf(c, argv):
    if len(argv) % 2 == 0:
        raise syntax_error()
    repl = _repl(c)
    link = repl.master.link_of(c)
    for i in range(1, len(argv), 2):
        opt = argv[i].lower()
        val = argv[i + 1]
        if opt == b"listening-port":
            link.listening_port = get_int(val)
        elif opt == b"ip-address":
            if len(val) >= 256:
                raise CommandError("ERR REPLCONF ip-address provided by replica instance is too long: %d bytes"
                                   % len(val))
            link.announced_ip = val.decode("utf-8", "replace")
        elif opt == b"capa":
            if val.lower() == b"eof":
                link.capa_eof = True
            elif val.lower() == b"psync2":
                link.capa_psync2 = True
        elif opt == b"ack":
            if not getattr(c, "is_replica", False):
                return NOREPLY
            try:
                off = int(val)
            except ValueError:
                return NOREPLY
            repl.master.ack(c, off)
            return NOREPLY
        elif opt == b"getack":
            if repl.masterhost is not None:
                repl.replica.send_ack()
            return NOREPLY
        elif opt == b"rdb-only":
            v = get_int(val)
            if v not in (0, 1):
                raise CommandError("ERR value is out of range")
            link.rdb_only = v == 1
        elif opt == b"rdb-filter-only":
            link.exclude_data = link.exclude_functions = True
            for f in val.split():
                if f.lower() == b"functions":
                    link.exclude_functions = False
                else:
                    raise CommandError("ERR Unsupported rdb-filter-only option: %s" % f.decode("utf-8", "replace"))
        else:
            raise CommandError("ERR Unrecognized REPLCONF option: %s" % argv[i].decode("utf-8", "replace"))
    return OK


def _sync(c, argv):
    err = _repl(c).master.sync(c, argv)
    if err:
        raise CommandError(err)
    return NOREPLY


@command("psync", -3, "admin noscript no_async_loading no_multi")
def cmd_psync(c, argv):
    return _sync(c, argv)


@command("sync", 1, "admin noscript no_async_loading no_multi")
def cmd_sync(c, argv):
    return _sync(c, argv)


@command("failover", -1, "admin noscript stale")
def cmd_failover(c, argv):
    return _repl(c).failover.command(c, argv)
