"""Permission checks for gateway sessions: the session user's ACL, with the rules of the equivalent command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyredis.commands.registry import TABLE, Command
from pyredis.gateway.frames import FrameError
from pyredis.server.acl import ALLOWED, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY
from pyredis.server.client import Client

if TYPE_CHECKING:
    from pyredis.server.acl import AclStore, User

_NOPERM = {
    DENIED_CMD: "this user has no permissions to run the '%s' command",
    DENIED_KEY: "this user has no permissions to access one of the keys used as arguments",
    DENIED_CHANNEL: "this user has no permissions to access one of the channels used as arguments",
}


def acl_store(c: Client) -> AclStore:
    return c.server.acl.store


def acl_user(c: Client) -> User | None:
    return acl_store(c).users.get(c.user)


def lookup(argv: list[bytes]) -> Command | None:
    cmd = TABLE.get(argv[0].lower())
    if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower(), cmd)
    return cmd


def allowed(c: Client, argv: list[bytes]) -> bool:
    """Whether the session's user may run *argv* (no ACL LOG entry)."""
    if not c.acl_restricted:
        return True
    u = acl_user(c)
    cmd = lookup(argv)
    return u is not None and cmd is not None and u.check(cmd, argv)[0] == ALLOWED


def require(c: Client, argv: list[bytes]) -> None:
    """Raise NOPERM (and log it in the ACL LOG) unless the user may run *argv*."""
    if not c.acl_restricted:
        return
    cmd = lookup(argv)
    assert cmd is not None
    u = acl_user(c)
    if u is None:
        raise FrameError("NOPERM", "the user of this session was deleted")
    kind, pos = u.check(cmd, argv)
    if kind == ALLOWED:
        return
    c.server.acl.log_denial(c, kind, b"toplevel", cmd.fullname.encode() if kind == DENIED_CMD else argv[pos],
                     c.user, cmd, argv)
    raise FrameError("NOPERM", _NOPERM[kind] % cmd.fullname if kind == DENIED_CMD else _NOPERM[kind])
