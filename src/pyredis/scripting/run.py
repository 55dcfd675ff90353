"""State of one running script, and serving other clients while it is busy.

Scripts run on the event loop thread, so nothing else runs meanwhile (atomicity). A Lua count hook
calls back every 100000 instructions; once a script ran longer than ``busy-reply-threshold`` it is
"busy": from the hook, the input already waiting on the other clients' sockets is read and fed to
their connections (non-recursively: the running script's own client is never read). The server then
answers BUSY to everything but the commands flagged ``allow_busy`` (SCRIPT KILL, FUNCTION KILL,
FUNCTION STATS, SHUTDOWN NOSAVE, MULTI...). A kill request is noticed by the next hook call, which
raises a Lua error on every following line until the script unwinds.
"""

from __future__ import annotations

import os
import select
import time
from typing import TYPE_CHECKING, Any

from pyredis import _speedups

if TYPE_CHECKING:
    from pyredis.commands.registry import Command
    from pyredis.scripting.vm import LuaVM
    from pyredis.server.client import Client

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
KILLED = "Script killed by user with SCRIPT KILL..."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
              "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
NOTBUSY = "NOTBUSY No scripts in execution right now."


class ScriptRun:
    """One execution of an EVAL script or a function."""

    __slots__ = ("caller", "argv", "name", "is_eval", "flags", "readonly", "allow_oom", "oom", "start",
                 "wrote", "killed", "busy", "effects", "repl_flags", "vm", "eof", "write_denied")

    def __init__(self, vm: LuaVM, caller: Client, argv: list[bytes], name: bytes, is_eval: bool, flags: int,
                 readonly: bool, allow_oom: bool) -> None:
        self.vm = vm
        self.caller = caller
        self.argv = argv
        self.name = name
        self.is_eval = is_eval
        self.flags = flags
        self.readonly = readonly
        self.allow_oom = allow_oom
        self.oom = False
        self.start = time.monotonic()
        self.wrote = False
        self.killed: str | None = None
        self.busy = False
        self.effects: list[tuple[int, list[bytes]]] = []
        self.repl_flags = 3
        self.eof: set[int] = set()
        self.write_denied: bytes | None = None

    @property
    def busy_error(self) -> str:
        return BUSY_EVAL if self.is_eval else BUSY_FUNCTION

    def duration_ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)

    def refuse(self, c: Client, cmd: Command, argv: list[bytes]) -> str | None:
        """The BUSY error for a command another client sent while this script is busy, or None."""
        if not cmd.allow_busy:
            return self.busy_error
        name = cmd.parent.name if cmd.parent is not None else cmd.name
        if name == "shutdown" and not any(a.lower() == b"nosave" for a in argv[1:]):
            return self.busy_error
        return None

    def _gone(self, fd: int, c: Any) -> None:
        """The peer closed: free the client now, like Redis does while a script is busy."""
        self.eof.add(fd)
        free = getattr(c, "free_now", None)
        if free is not None:
            free()

    def process_events(self) -> None:
        """Read what other clients sent and run it (each reply is written right away)."""
        srv = self.caller.server
        if srv.blocked_io is not None:  # new connections too (the asyncio layer accepts them)
            srv.blocked_io.accept()
        _speedups.write_held()  # replies the blocked loop would write (beforeSleep)
        fds: dict[int, Any] = {}
        for c in list(srv.clients.values()):
            fd = c.fd
            if c is self.caller or fd < 0 or fd in self.eof or getattr(c, "closed", False):
                continue
            if getattr(c, "_flush_scheduled", False):  # replies the blocked loop would write (beforeSleep)
                c.flush()
            fds[fd] = c
        if not fds:
            return
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        try:
            events = poller.poll(0)
        except OSError:
            return
        for fd, ev in events:
            c = fds[fd]
            if not ev & select.POLLIN:
                self._gone(fd, c)
                continue
            try:
                data = os.read(fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                self._gone(fd, c)
                continue
            if not data:
                self._gone(fd, c)
                continue
            c.data_received(data)
            c.flush()  # the loop, which would write the reply, is blocked by the script
            if self.killed is not None:
                break
