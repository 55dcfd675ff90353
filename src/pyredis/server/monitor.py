"""The MONITOR feed (replication.c's replicationFeedMonitors): stream executed commands to monitor clients.

Every command is logged after it ran (so EXEC follows the commands it executed), in Redis's format
``+<unix>.<usec> [<db> <addr>] "arg" ...``, with ``lua`` as the address for commands run by scripts
and sensitive arguments (AUTH, HELLO AUTH, MIGRATE AUTH/AUTH2) shown as ``(redacted)``. Admin and
``skip_monitor`` commands are not logged; EVAL/FCALL (``skip_monitor``) log themselves before the
script runs through ``server.monitor.feed(client, argv)``. The MONITOR command is
:mod:`pyredis.commands.monitor`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pyredis.protocol.quoting import repr_arg

if TYPE_CHECKING:
    from pyredis.server.app import Server

_REDACTED = b'"(redacted)"'
_SENSITIVE_CONFIGS = frozenset((b"masteruser", b"masterauth", b"requirepass"))


def redacted_positions(argv: list[bytes]) -> set[int]:
    """Where a command's sensitive arguments are (redactClientCommandArgument): MONITOR, SLOWLOG."""
    name = argv[0].lower()
    if name == b"auth":
        return set(range(1, len(argv)))
    if name == b"acl" and len(argv) >= 3 and argv[1].lower() == b"setuser":
        return set(range(2, len(argv)))
    if name == b"config" and len(argv) >= 4 and argv[1].lower() == b"set":
        return {i + 1 for i in range(2, len(argv) - 1, 2) if argv[i].lower() in _SENSITIVE_CONFIGS}
    if name == b"hello":
        for i in range(2, len(argv) - 2):
            if argv[i].lower() == b"auth":
                return {i + 1, i + 2}
        return set()
    if name == b"migrate":
        out: set[int] = set()
        i = 6
        while i < len(argv):
            opt = argv[i].lower()
            if opt == b"auth" and i + 1 < len(argv):
                out.add(i + 1)
                i += 2
            elif opt == b"auth2" and i + 2 < len(argv):
                out.update((i + 1, i + 2))
                i += 3
            elif opt == b"keys":
                break
            else:
                i += 1
        return out
    return set()


def format_line(c, argv: list[bytes], dbid: int) -> bytes:
    now = time.time()
    sec = int(now)
    usec = int((now - sec) * 1_000_000)
    if c.in_script:
        addr = b"lua"
    elif "U" in c.flags_extra:
        addr = b"unix:" + (c.server.unixsocket or "").encode()
    else:
        addr = c.addr.encode()
    if argv[0].lower() in (b"auth", b"hello", b"migrate"):
        red = redacted_positions(argv)
        args = b" ".join(_REDACTED if i in red else repr_arg(a) for i, a in enumerate(argv))
    else:
        args = b" ".join(repr_arg(a) for a in argv)
    return b"+%d.%06d [%d %s] %s\r\n" % (sec, usec, dbid, addr, args)


class Monitors:
    """The monitor clients of one server (``server.monitor``) and the after-command hook feeding them."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.clients: dict[Any, None] = {}

    def add(self, c) -> None:
        if not self.clients:
            self.server.events.after_command.append(self.after_call)
        self.clients[c] = None

    def remove(self, c) -> None:
        """``events.client_disconnected``: stop feeding *c*."""
        self.clients.pop(c, None)
        if not self.clients and self.after_call in self.server.events.after_command:
            self.server.events.after_command.remove(self.after_call)

    def on_reset(self, c) -> None:
        """``events.client_reset``: RESET ends MONITOR."""
        self.remove(c)
        c.monitor = False

    def after_call(self, c, cmd, argv: list[bytes]) -> None:
        if cmd.skip_monitor or cmd.admin or (cmd.parent is not None and cmd.parent.admin):
            return
        if getattr(c, "loading_client", False):
            return
        self.feed(c, argv, c.db.id)

    def feed(self, c, argv: list[bytes], dbid: int | None = None) -> None:
        if not self.clients:
            return
        line = format_line(c, argv, c.db.id if dbid is None else dbid)
        for m in list(self.clients):
            if getattr(m, "closed", False):
                continue
            m.out.append(line)
            m.schedule_flush()
