"""ACL commands (acl.c). Enforcement (checks, AUTH, start-up users) is :mod:`pyredis.server.acl_checks`;
the user store and rules are :mod:`pyredis.server.acl`.
"""

from __future__ import annotations

import logging
import os
import time

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import help_lines, subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import OK, Double, MapReply, SetReply
from pyredis.server.acl import (
    ALLOWED,
    CATEGORIES,
    DENIED_CHANNEL,
    DENIED_CMD,
    DENIED_KEY,
    ERR_USERNAME,
    AclError,
    AclStore,
    has_spaces,
    universe,
)
from pyredis.server.commandtable import lookup as table_lookup

log = logging.getLogger("pyredis")

_DRYRUN = {
    DENIED_CMD: "This user has no permissions to run the '%s' command",
    DENIED_KEY: "This user has no permissions to access the '%s' key",
    DENIED_CHANNEL: "This user has no permissions to access the '%s' channel",
}
NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
              "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file "
              "set) in order to store users in the Redis configuration.")


def store_of(c) -> AclStore:
    return c.server.acl.store


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# -- ACL commands ------------------------------------------------------------------------------------
def _subcommand_error(argv: list[bytes]) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP."
                        % _s(argv[1]))


@subcommand("acl", "setuser", -3, "admin noscript loading stale")
def cmd_acl_setuser(c, argv):
    name = argv[2]
    if has_spaces(name):
        raise CommandError("ERR " + ERR_USERNAME)
    store = store_of(c)
    try:
        u = store.setuser(name, argv[3:])
    except AclError as e:
        raise CommandError("ERR " + e.message) from None
    c.server.acl.refresh_clients(u, c)
    return OK


@subcommand("acl", "getuser", 3, "admin noscript loading stale")
def cmd_acl_getuser(c, argv):
    u = store_of(c).users.get(argv[2])
    if u is None:
        return None
    root = u.root
    return MapReply([
        b"flags", SetReply(u.flags()),
        b"passwords", [p.encode() for p in u.passwords],
        b"commands", root.describe_commands().encode("utf-8", "surrogateescape"),
        b"keys", root.describe_keys().encode("utf-8", "surrogateescape"),
        b"channels", root.describe_channels().encode("utf-8", "surrogateescape"),
        b"selectors", [MapReply(s.info()) for s in u.selectors],
    ])


@subcommand("acl", "deluser", -3, "admin noscript loading stale")
def cmd_acl_deluser(c, argv):
    store = store_of(c)
    if any(name == b"default" for name in argv[2:]):
        raise CommandError("ERR The 'default' user cannot be removed")
    deleted = set()
    for name in argv[2:]:
        if store.users.pop(name, None) is not None:
            deleted.add(name)
    if deleted:
        c.server.acl.kill_user_clients(deleted, c)
    return len(deleted)


@subcommand("acl", "users", 2, "admin noscript loading stale")
def cmd_acl_users(c, argv):
    return sorted(store_of(c).users)


@subcommand("acl", "list", 2, "admin noscript loading stale")
def cmd_acl_list(c, argv):
    users = store_of(c).users
    return [users[n].describe().encode("utf-8", "surrogateescape") for n in sorted(users)]


@subcommand("acl", "whoami", 2, "noscript loading stale")
def cmd_acl_whoami(c, argv):
    return c.user


@subcommand("acl", "cat", -2, "noscript loading stale")
def cmd_acl_cat(c, argv):
    if len(argv) > 3:
        raise _subcommand_error(argv)
    if len(argv) == 2:
        return [name.encode() for name in CATEGORIES]
    cat = argv[2].lower().decode("utf-8", "replace")
    if cat not in CATEGORIES:
        raise CommandError("ERR Unknown category '%s'" % _s(argv[2]))
    return universe().commands_in(cat)


@subcommand("acl", "genpass", -2, "noscript loading stale")
def cmd_acl_genpass(c, argv):
    if len(argv) > 3:
        raise _subcommand_error(argv)
    bits = 256
    if len(argv) == 3:
        v = parse_ll(argv[2])
        if v is None:
            raise CommandError("ERR value is not an integer or out of range")
        if v <= 0 or v > 4096:
            raise CommandError("ERR ACL GENPASS argument must be the number of bits for the output password, a "
                               "positive number up to 4096")
        bits = v
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@subcommand("acl", "log", -2, "admin noscript loading stale")
def cmd_acl_log(c, argv):
    if len(argv) > 3:
        raise _subcommand_error(argv)
    store = store_of(c)
    count = 10  # the default
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            store.log.clear()
            return OK
        v = parse_ll(argv[2])
        if v is None:
            raise CommandError("ERR value is not an integer or out of range")
        count = max(0, v)
    now = int(time.time() * 1000)
    out = []
    for e in list(store.log)[:count]:
        out.append(MapReply([
            b"count", e.count, b"reason", e.reason, b"context", e.context, b"object", e.object,
            b"username", e.username, b"age-seconds", Double((now - e.ctime) / 1000.0),
            b"client-info", e.client_info,
        ]))
    return out


@subcommand("acl", "dryrun", -4, "admin noscript loading stale")
def cmd_acl_dryrun(c, argv):
    u = store_of(c).users.get(argv[2])
    if u is None:
        raise CommandError("ERR User '%s' not found" % _s(argv[2]))
    args = argv[3:]
    cmd = table_lookup(c.server.commands, args[0])  # renamed names, as Redis's lookupCommand
    if cmd is not None and cmd.subcommands is not None and len(args) > 1:
        sub = cmd.subcommands.get(args[1].lower())
        cmd = sub if sub is not None else (cmd if cmd.handler is not None else None)
    if cmd is None:
        raise CommandError("ERR Command '%s' not found" % _s(args[0]))
    ar = cmd.arity
    if (ar > 0 and len(args) != ar) or len(args) < -ar or (cmd.handler is None and len(args) < 2):
        raise CommandError(f"ERR wrong number of arguments for '{cmd.fullname}' command")
    kind, pos = u.check(cmd, args)
    if kind == ALLOWED:
        return OK
    return (_DRYRUN[kind] % (cmd.fullname if kind == DENIED_CMD else _s(args[pos]))).encode(
        "utf-8", "surrogateescape")


@subcommand("acl", "save", 2, "admin noscript loading stale")
def cmd_acl_save(c, argv):
    path = c.server.config["aclfile"]
    if not path:
        raise CommandError(NO_ACLFILE)
    try:
        store_of(c).save_file(path)
    except OSError as e:
        log.warning("Saving the ACL file %s failed: %s", path, e)
        raise CommandError("ERR There was an error trying to save the ACLs. Please check the server logs for "
                           "more information") from None
    return OK


@subcommand("acl", "load", 2, "admin noscript loading stale")
def cmd_acl_load(c, argv):
    path = c.server.config["aclfile"]
    if not path:
        raise CommandError(NO_ACLFILE)
    store = store_of(c)
    try:
        users = store.parse_file(path)
    except AclError as e:
        raise CommandError("ERR " + e.message) from None
    old = store.install(users)
    hooks = c.server.acl
    hooks.kill_user_clients({u.name for u in old}, c)
    hooks.refresh_clients(store.default, c)
    return OK


@subcommand("acl", "help", 2, "loading stale")
def cmd_acl_help(c, argv):
    return help_lines("acl")


__all__ = ["store_of"]
