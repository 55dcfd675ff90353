"""Protected actions (``enable-debug-command``, ``enable-module-command``, ``enable-protected-configs``):
``no``, ``yes`` or ``local`` (loopback TCP clients and unix socket clients only), as Redis 7.0 decides."""

from __future__ import annotations

from typing import Any

DENIED = ("ERR %s command not allowed. If the %s option is set to \"local\", you can run it from a local "
          "connection, otherwise you need to set this option in the configuration file, and then restart "
          "the server.")


def is_local_client(c: Any) -> bool:
    """islocalClient: a unix socket client, or a TCP client from 127.0.0.1 or ::1."""
    return c.flags_extra == "U" or c.addr.rsplit(":", 1)[0] in ("127.0.0.1", "::1")


def allowed(mode: str, c: Any) -> bool:
    """allowProtectedAction for a ``no|yes|local`` setting."""
    return mode == "yes" or (mode == "local" and is_local_client(c))


def refusal(server: Any, c: Any, cmd: Any) -> str | None:
    """processCommand's check of a ``protected`` command (DEBUG, MODULE LOAD/LOADEX/UNLOAD): the error
    to reply, or None. It comes right after the arity check, before authentication and MULTI."""
    debug = (cmd.parent or cmd).name == "debug"
    option = "enable-debug-command" if debug else "enable-module-command"
    if allowed(server.config[option], c):
        return None
    return DENIED % ("DEBUG" if debug else "MODULE", option)
