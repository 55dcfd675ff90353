"""Session permissions shared by the gateway ops and key watchers: the user and the ACL verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyredis.commands.registry import TABLE, Command
from pyredis.server.acl import ALLOWED

if TYPE_CHECKING:
    from pyredis.server.acl import AclStore, User
    from pyredis.server.client import Client


def acl_store(c: Client) -> AclStore:
    return c.server.acl.store


def acl_user(c: Client) -> User | None:
    return acl_store(c).users.get(c.user)


def _lookup(argv: list[bytes]) -> Command | None:
    cmd = TABLE.get(argv[0].lower())
    if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower(), cmd)
    return cmd


def allowed(c: Client, argv: list[bytes]) -> bool:
    """Whether the session's user may run *argv* (no ACL LOG entry)."""
    if not c.acl_restricted:
        return True
    u = acl_user(c)
    cmd = _lookup(argv)
    return u is not None and cmd is not None and u.check(cmd, argv)[0] == ALLOWED
