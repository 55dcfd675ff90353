"""ACL commands (acl.c) and the hooks enforcing ACLs: AUTH/HELLO, command checks, scripts, EXEC.

Clients whose user lacks some permission carry ``c.acl_restricted``; only those go through the
checks (``Server.check_state``), so clients of a user with every permission (the default user,
normally) pay nothing on the hot path. The user store itself is :mod:`pyredis.server.acl`.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from pyredis.commands.connection import client_info_line
from pyredis.commands.errors import CommandError
from pyredis.commands.registry import help_lines, lookup, subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import OK, Double, MapReply, SetReply
from pyredis.server.acl import (
    ALLOWED,
    CATEGORIES,
    DENIED_AUTH,
    DENIED_CHANNEL,
    DENIED_CMD,
    DENIED_KEY,
    ERR_USERNAME,
    READ,
    AclError,
    AclStore,
    User,
    has_spaces,
    merge_selector_args,
    universe,
)

log = logging.getLogger("pyredis")

NOPERM = {
    DENIED_CMD: "NOPERM this user has no permissions to run the '%s' command",
    DENIED_KEY: "NOPERM this user has no permissions to access one of the keys used as arguments",
    DENIED_CHANNEL: "NOPERM this user has no permissions to access one of the channels used as arguments",
}
_SCRIPT_ERR = {
    DENIED_CMD: b"ERR The user executing the script can't run this command or subcommand",
    DENIED_KEY: b"ERR The user executing the script can't access at least one of the keys mentioned in the "
                b"command arguments",
    DENIED_CHANNEL: b"ERR The user executing the script can't publish to the channel mentioned in the command",
}
_EXEC_REASON = {
    DENIED_CMD: "no permission to execute the command or subcommand",
    DENIED_KEY: "no permission to touch the specified keys",
    DENIED_CHANNEL: "no permission to access one of the channels used as arguments",
}
_DRYRUN = {
    DENIED_CMD: "This user has no permissions to run the '%s' command",
    DENIED_KEY: "This user has no permissions to access the '%s' key",
    DENIED_CHANNEL: "This user has no permissions to access the '%s' channel",
}
NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
              "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file "
              "set) in order to store users in the Redis configuration.")


def store_of(c) -> AclStore:
    return c.server.extensions["acl"]


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# -- server hooks ------------------------------------------------------------------------------------
class AclHooks:
    """The callables the server, AUTH/HELLO, scripts and EXEC use to enforce ACLs."""

    def __init__(self, server: Any, store: AclStore) -> None:
        self.server = server
        self.store = store

    def log_denial(self, c, reason: int, context: bytes, obj: bytes, username: bytes, cmd=None,
                   argv: list[bytes] | None = None) -> None:
        saved = c.cmd
        if cmd is not None:
            c.cmd = cmd
        try:
            info = client_info_line(c, argv=argv).encode("utf-8", "surrogateescape")
        finally:
            c.cmd = saved
        self.store.add_log(reason, context, obj, username, info)

    def _verdict(self, c, cmd, argv: list[bytes]) -> tuple[int, int]:
        u = self.store.users.get(c.user)
        if u is None:  # deleted while this client still runs commands
            return DENIED_CMD, 0
        return u.check(cmd, argv)

    def _denied(self, c, cmd, argv, kind: int, pos: int, context: bytes) -> None:
        obj = cmd.fullname.encode() if kind == DENIED_CMD else argv[pos]
        self.log_denial(c, kind, context, obj, c.user, cmd, argv)

    def check(self, c, cmd, argv: list[bytes]) -> bool:
        """``Server.check_state`` hook for restricted clients: False after replying NOPERM."""
        if c.multi is not None and cmd.no_multi:
            return True  # refused as "not allowed inside a transaction" by the server
        kind, pos = self._verdict(c, cmd, argv)
        if kind == ALLOWED:
            return True
        self._denied(c, cmd, argv, kind, pos, b"multi" if c.multi is not None else b"toplevel")
        self.server.reject(c, cmd, NOPERM[kind] % cmd.fullname if kind == DENIED_CMD else NOPERM[kind])
        return False

    def exec_check(self, c, cmd, argv: list[bytes]) -> str | None:
        """Permissions re-checked for each queued command at EXEC time."""
        kind, pos = self._verdict(c, cmd, argv)
        if kind == ALLOWED:
            return None
        self._denied(c, cmd, argv, kind, pos, b"multi")
        return ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
                "This command is no longer allowed for the following reason: " + _EXEC_REASON[kind])

    def script_check(self, caller, cmd, argv: list[bytes]) -> bytes | None:
        """redis.call from a script: the caller's permissions apply."""
        if caller is None or not getattr(caller, "acl_restricted", False):
            return None
        kind, pos = self._verdict(caller, cmd, argv)
        if kind == ALLOWED:
            return None
        obj = cmd.fullname.encode() if kind == DENIED_CMD else argv[pos]
        self.log_denial(caller, kind, b"lua", obj, caller.user)
        return _SCRIPT_ERR[kind]

    def script_allowed(self, caller, cmd, argv: list[bytes]) -> bool:
        """redis.acl_check_cmd (no ACL LOG entry)."""
        if caller is None or not getattr(caller, "acl_restricted", False):
            return True
        return self._verdict(caller, cmd, argv)[0] == ALLOWED

    def authenticate(self, c, username: bytes, password: bytes, argv0: bytes = b"AUTH") -> bool:
        u = self.store.authenticate(username, password)
        if u is None:
            context = b"multi" if c.multi is not None or c.in_exec else b"toplevel"
            self.log_denial(c, DENIED_AUTH, context, argv0, username, argv=[argv0, username, password])
            return False
        c.acl_restricted = not u.unrestricted
        c.acl_implicit_auth = False
        return True

    def full_key_access(self, c) -> bool:
        """SORT BY/GET patterns need read access to every key (the script caller's, from scripts)."""
        if c.in_script:
            run = getattr(self.server.extensions.get("scripting"), "run", None)
            c = getattr(run, "caller", None) or c
        if not c.acl_restricted:
            return True
        u = self.store.users.get(c.user)
        return u is not None and u.key_allowed(b"*", READ)

    def on_reset(self, c) -> None:
        c.acl_restricted = not self.store.default.unrestricted
        c.acl_implicit_auth = False

    def sync_default_auth(self) -> None:
        """Redis asks for authentication while the default user needs a password and the client never
        authenticated: clients that connected meanwhile become usable when it gets "on nopass", and not
        usable again when it needs a password again."""
        required = self.requires_auth()
        for c in self.server.clients.values():
            if required:
                if getattr(c, "acl_implicit_auth", False):
                    c.authenticated = c.acl_implicit_auth = False
                    _parser_auth(c, True)
            elif not c.authenticated:
                c.authenticated = c.acl_implicit_auth = True
                _parser_auth(c, False)

    def requires_auth(self) -> bool:
        d = self.store.default
        return not (d.enabled and d.nopass)

    # -- clients of changed users ----------------------------------------------------------------------
    def refresh_clients(self, user: User, current=None) -> None:
        """After SETUSER: update the clients' restricted flag, drop subscribers that lost a channel."""
        srv = self.server
        if user is self.store.default:
            srv.acl_restricted_default = not user.unrestricted
            self.sync_default_auth()
        for c in list(srv.clients.values()):
            if c.user != user.name:
                continue
            c.acl_restricted = not user.unrestricted
            if c.resp == 0:  # a WebSocket gateway session loses only what it may no longer have
                continue
            if (c.channels or c.patterns or c.shard_channels) and not _channels_still_allowed(user, c):
                self.kill(c, current)
        if srv.gateway is not None:
            srv.gateway.acl_changed(user)

    def kill_user_clients(self, names: set[bytes], current=None) -> None:
        for c in list(self.server.clients.values()):
            if c.user in names:
                self.kill(c, current)

    def kill(self, target, current) -> None:
        target.close()
        if target is not current:
            target.out.clear()
            self.server.clients.pop(target.id, None)
            target.schedule_flush()


def _parser_auth(c, required: bool) -> None:
    parser = getattr(c, "parser", None)
    if parser is not None:
        parser.auth_required = required


def _channels_still_allowed(user: User, c) -> bool:
    for ch in c.channels:
        if not user.channel_allowed(ch, False):
            return False
    for ch in c.shard_channels:
        if not user.channel_allowed(ch, False):
            return False
    for p in c.patterns:
        if not user.channel_allowed(p, True):
            return False
    return True


def setup(server) -> None:
    cfg = server.config
    store = AclStore(cfg)
    hooks = AclHooks(server, store)
    ext = server.extensions
    ext["acl"] = store
    ext["acl_hooks"] = hooks
    if cfg["requirepass"]:
        store.set_requirepass(cfg["requirepass"])
    cfg.on_change("requirepass", lambda v: (store.set_requirepass(v), hooks.sync_default_auth()))
    _load_startup_users(server, store)
    cfg.rewrite_providers["user"] = lambda: [] if cfg["aclfile"] else [
        store.users[n].describe() for n in sorted(store.users)]
    ext["acl_authenticate"] = hooks.authenticate
    ext["acl_users"] = lambda: list(store.users)
    ext["acl_check"] = hooks.check
    ext["acl_exec_check"] = hooks.exec_check
    ext["acl_script_check"] = hooks.script_check
    ext["acl_script_allowed"] = hooks.script_allowed
    ext["acl_default_nopass"] = lambda: store.default.nopass
    ext["acl_full_key_access"] = hooks.full_key_access
    ext.setdefault("on_reset", []).append(hooks.on_reset)
    server.requires_auth = hooks.requires_auth
    server.acl_restricted_default = not store.default.unrestricted


def _load_startup_users(server, store: AclStore) -> None:
    """``user`` directives of the configuration, then the ``aclfile``, like redis-server at startup."""
    cfg = server.config
    directives = getattr(cfg, "user_directives", None) or []
    aclfile = cfg["aclfile"]
    if directives and aclfile:
        _abort("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is "
               "invalid. This setup is very likely to lead to configuration errors and security holes, please "
               "define either an ACL file or declare users directly in your redis.conf, but not both.")
    for args in directives:
        name, rules = args[0], args[1:]
        if has_spaces(name):
            _abort("Spaces not allowed in ACL usernames")
        ops, unmatched = merge_selector_args(([b"reset"] if name == b"default" else []) + list(rules))
        if unmatched is not None:  # the default user is reset first (the others are new)
            _abort(f"Unmatched parenthesis in acl selector starting at '{_s(unmatched)}'.")
        for op in ops or [b"off"]:
            try:
                store.setuser(name, [op])
            except AclError as e:
                _abort(f"Error loading ACL rule '{_s(op)}' for the user named '{_s(name)}': {e.detail}")
    if aclfile:
        try:
            users = store.parse_file(aclfile)
        except AclError as e:
            _abort("Aborting Redis startup because of ACL errors: " + e.message, critical=False)
        store.install(users)


def _abort(message: str, critical: bool = True) -> None:
    log.warning(message)
    if critical:
        log.warning("Critical error while loading ACLs. Exiting.")
    raise SystemExit(1)


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
    c.server.extensions["acl_hooks"].refresh_clients(u, c)
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
        c.server.extensions["acl_hooks"].kill_user_clients(deleted, c)
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
    cmd = lookup(args[0])
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
    hooks = c.server.extensions["acl_hooks"]
    hooks.kill_user_clients({u.name for u in old}, c)
    hooks.refresh_clients(store.default, c)
    return OK


@subcommand("acl", "help", 2, "loading stale")
def cmd_acl_help(c, argv):
    return help_lines("acl")


__all__ = ["store_of"]
