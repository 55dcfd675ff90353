"""ACL enforcement (acl.c): the ``server.acl`` subsystem owning the user store, the start-up users
and the checks for commands, AUTH/HELLO, scripts and EXEC.

Clients whose user lacks some permission carry ``c.acl_restricted``; only those go through the
checks (``Server.check_state``), so clients of a user with every permission (the default user,
normally) pay nothing on the hot path. Users and rules are :mod:`pyredis.server.acl`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyredis.server.acl import (
    ALLOWED,
    DENIED_AUTH,
    DENIED_CHANNEL,
    DENIED_CMD,
    DENIED_KEY,
    READ,
    AclError,
    AclStore,
    User,
    has_spaces,
    merge_selector_args,
)
from pyredis.server.client import client_info_line

if TYPE_CHECKING:
    from pyredis.server.app import Server

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


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# -- server hooks ------------------------------------------------------------------------------------
class Acl:
    """The ACL subsystem (``server.acl``): the user store and the checks the server, AUTH/HELLO,
    scripts and EXEC use to enforce it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        cfg = server.config
        self.store = store = AclStore(cfg)
        if cfg["requirepass"]:
            store.set_requirepass(cfg["requirepass"])
        cfg.on_change("requirepass", self._requirepass_changed)
        _load_startup_users(server, store)
        cfg.rewrite_providers["user"] = lambda: [] if cfg["aclfile"] else [
            store.users[n].describe() for n in sorted(store.users)]
        # New clients start restricted when the default user lacks some permission.
        self.restricted_default = not store.default.unrestricted

    def _requirepass_changed(self, password: str) -> None:
        self.store.set_requirepass(password)
        self.sync_default_auth()

    def users(self) -> list[bytes]:
        """The user names (CLIENT KILL USER)."""
        return list(self.store.users)

    def default_nopass(self) -> bool:
        """Whether the default user has ``nopass`` (AUTH with one argument)."""
        return self.store.default.nopass

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
            run = self.server.scripting.run
            c = getattr(run, "caller", None) or c
        if not c.acl_restricted:
            return True
        u = self.store.users.get(c.user)
        return u is not None and u.key_allowed(b"*", READ)

    def on_reset(self, c) -> None:
        """``events.client_reset``: back to the default user's restrictions."""
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
            self.restricted_default = not user.unrestricted
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


