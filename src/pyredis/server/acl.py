"""ACL users and the user store (Redis 7.0): :class:`User` (flags, passwords, selectors),
:class:`AclStore` (users, the ACL log, the ACL file format). This module is also the facade the
rest of the server imports ACL names from.

No I/O except the ACL file and no asyncio: the ACL commands are :mod:`pyredis.commands.acl`, the
enforcement (``server.acl``) is :mod:`pyredis.server.acl_checks`.

* A :class:`User` has flags (on/off, nopass, payload sanitization), SHA-256 password hashes, a
  root :class:`~pyredis.server.acl_rules.Selector` and extra selectors. A command is allowed when
  any selector allows it.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

from pyredis.commands.registry import Command
from pyredis.server.acl_keys import key_requirements
from pyredis.server.acl_rules import (
    _HEX,
    ALLOWED,
    CATEGORIES,
    DENIED_AUTH,
    DENIED_CHANNEL,
    DENIED_CMD,
    DENIED_KEY,
    ERR_HASH,
    ERR_NOPASS,
    ERR_USERNAME,
    READ,
    REASONS,
    WRITE,
    AclError,
    Selector,
    has_spaces,
    password_hash,
    universe,
)

__all__ = ["ALLOWED", "CATEGORIES", "DENIED_AUTH", "DENIED_CHANNEL", "DENIED_CMD", "DENIED_KEY", "ERR_USERNAME",
           "READ", "WRITE", "AclError", "AclStore", "LogEntry", "Selector", "User", "has_spaces", "key_requirements",
           "merge_selector_args", "universe"]


class User:
    """An ACL user: flags, password hashes, the root selector and extra selectors."""

    __slots__ = ("name", "enabled", "nopass", "passwords", "sanitize", "root", "selectors", "unrestricted")

    def __init__(self, name: bytes, allchannels: bool = False) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.passwords: list[str] = []
        self.sanitize: str | None = None  # "sanitize-payload" / "skip-sanitize-payload"
        self.root = Selector(allchannels)
        self.selectors: list[Selector] = []
        self.unrestricted = False

    def copy(self) -> User:
        u = User(self.name)
        u.enabled, u.nopass, u.passwords, u.sanitize = self.enabled, self.nopass, list(self.passwords), self.sanitize
        u.root = self.root.copy()
        u.selectors = [s.copy() for s in self.selectors]
        u.unrestricted = self.unrestricted
        return u

    def assign(self, other: User) -> None:
        """Take over every setting of *other* (keeps this object, which clients refer to)."""
        for attr in ("enabled", "nopass", "passwords", "sanitize", "root", "selectors"):
            setattr(self, attr, getattr(other, attr))
        self.refresh()

    def refresh(self) -> None:
        self.unrestricted = self.root.unrestricted

    def apply(self, op: bytes, pubsub_default_all: bool) -> None:
        """Apply one SETUSER argument (a selector is given as one ``(...)`` string)."""
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.enabled = True
        elif low == b"off":
            self.enabled = False
        elif low == b"nopass":
            self.nopass = True
            self.passwords = []
        elif low == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif low == b"skip-sanitize-payload":
            self.sanitize = "skip-sanitize-payload"
        elif low == b"sanitize-payload":
            self.sanitize = "sanitize-payload"
        elif low == b"clearselectors":
            self.selectors = []
        elif low == b"reset":
            self.nopass = False
            self.passwords = []
            self.root = Selector(pubsub_default_all)
            self.enabled = False
            self.sanitize = "sanitize-payload"
            self.selectors = []
        elif op[:1] == b">":
            h = password_hash(op[1:])
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] == b"#":
            h = _valid_hash(op[1:])
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] == b"<":
            h = password_hash(op[1:])
            if h not in self.passwords:
                raise AclError(ERR_NOPASS)
            self.passwords.remove(h)
        elif op[:1] == b"!":
            h = _valid_hash(op[1:])
            if h not in self.passwords:
                raise AclError(ERR_NOPASS)
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            sel = Selector(pubsub_default_all)
            for rule in op[1:-1].split(b" "):
                if rule:
                    sel.apply(rule)
            self.selectors.append(sel)
        else:
            self.root.apply(op)

    def check_password(self, password: bytes) -> bool:
        return self.nopass or password_hash(password) in self.passwords

    def check(self, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """Try every selector; report the denial that got furthest when none allows the command."""
        res = self.root.check(cmd, argv)
        if res[0] == ALLOWED or not self.selectors:
            return res
        best = res
        for sel in self.selectors:
            r = sel.check(cmd, argv)
            if r[0] == ALLOWED:
                return r
            if r[1] > best[1]:
                best = r
        return best

    def key_allowed(self, key: bytes, need: int) -> bool:
        """Whether any selector grants *need* on *key* (SORT BY/GET uses it with ``*``)."""
        return self.root.key_ok(key, need) or any(s.key_ok(key, need) for s in self.selectors)

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        return self.root.channel_ok(channel, is_pattern) or any(s.channel_ok(channel, is_pattern)
                                                                 for s in self.selectors)

    # -- description ---------------------------------------------------------------------------------
    def flags(self) -> list[bytes]:
        out = [b"on" if self.enabled else b"off"]
        if self.nopass:
            out.append(b"nopass")
        if self.sanitize:
            out.append(self.sanitize.encode())
        return out

    def describe(self) -> str:
        """The ACL LIST / ACL file line."""
        parts = ["user", self.name.decode("utf-8", "surrogateescape")]
        parts += [f.decode() for f in self.flags()]
        parts += ["#" + h for h in self.passwords]
        parts.append(self.root.describe())
        parts += ["(" + s.describe() + ")" for s in self.selectors]
        return " ".join(parts)


def _valid_hash(h: bytes) -> str:
    if len(h) != 64 or any(ch not in _HEX for ch in h):
        raise AclError(ERR_HASH)
    return h.decode()


def merge_selector_args(args: list[bytes]) -> tuple[list[bytes], bytes | None]:
    """Join ``(`` ... ``)`` arguments into one selector string; returns (ops, unmatched-start)."""
    out: list[bytes] = []
    cur: bytes | None = None
    start = b""
    for a in args:
        if cur is not None:
            cur += b" " + a
            if a.endswith(b")"):
                out.append(cur)
                cur = None
            continue
        if a.startswith(b"(") and not (len(a) > 1 and a.endswith(b")")):
            cur = start = a
            continue
        out.append(a)
    return out, (start if cur is not None else None)


# -- the ACL log -------------------------------------------------------------------------------------
class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "client_info")

    def __init__(self, reason: bytes, context: bytes, obj: bytes, username: bytes, client_info: bytes) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.ctime = int(time.time() * 1000)
        self.client_info = client_info


# -- the store ---------------------------------------------------------------------------------------
class AclStore:
    """Every user of a server, the ACL log, and ACL file load/save."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.users: dict[bytes, User] = {}
        self.default = self._new_default()
        self.users[b"default"] = self.default
        self.log: deque[LogEntry] = deque()

    @staticmethod
    def _new_default() -> User:
        u = User(b"default")
        for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            u.apply(op, True)
        u.refresh()
        return u

    @property
    def pubsub_default_all(self) -> bool:
        return self.config["acl-pubsub-default"] == "allchannels"

    # -- users -----------------------------------------------------------------------------------------
    def new_user(self, name: bytes) -> User:
        return User(name, self.pubsub_default_all)

    def setuser(self, name: bytes, ops: list[bytes]) -> User:
        """Create or modify a user atomically; raises AclError (message in Redis's wording)."""
        existing = self.users.get(name)
        u = existing.copy() if existing is not None else self.new_user(name)
        merged, unmatched = merge_selector_args(ops)
        if unmatched is not None:
            raise AclError("Unmatched parenthesis in acl selector starting at '%s'."
                           % unmatched.decode("utf-8", "surrogateescape"))
        pd = self.pubsub_default_all
        for op in merged:
            try:
                u.apply(op, pd)
            except AclError as e:
                raise AclError("Error in ACL SETUSER modifier '%s': %s"
                               % (op.decode("utf-8", "surrogateescape"), e.message), e.unknown, e.message) from None
        if existing is not None:
            existing.assign(u)
            return existing
        u.refresh()
        self.users[name] = u
        return u

    def authenticate(self, name: bytes, password: bytes) -> User | None:
        u = self.users.get(name)
        if u is None or not u.enabled or not u.check_password(password):
            return None
        return u

    def set_requirepass(self, password: str) -> None:
        """CONFIG SET requirepass: the default user's password follows it."""
        d = self.default
        if password:
            d.apply(b"resetpass", True)
            d.apply(b">" + password.encode("utf-8", "surrogateescape"), True)
        else:
            d.apply(b"nopass", True)

    # -- log -------------------------------------------------------------------------------------------
    def add_log(self, reason: int, context: bytes, obj: bytes, username: bytes, client_info: bytes) -> None:
        now = int(time.time() * 1000)
        rname = REASONS[reason]
        for i, e in enumerate(self.log):
            if i >= 10:
                break
            if (e.reason == rname and e.context == context and e.object == obj and e.username == username
                    and now - e.ctime <= 60000):
                e.count += 1
                e.ctime = now
                e.client_info = client_info
                if i:
                    del self.log[i]
                    self.log.appendleft(e)
                return
        self.log.appendleft(LogEntry(rname, context, obj, username, client_info))
        self.trim_log()

    def trim_log(self) -> None:
        maxlen = self.config["acllog-max-len"]
        while len(self.log) > maxlen:
            self.log.pop()

    # -- ACL file --------------------------------------------------------------------------------------
    def parse_file(self, path: str) -> dict[bytes, User]:
        """Users defined by an ACL file; raises AclError with Redis's combined error message."""
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise AclError(f"Error loading ACLs, opening file '{path}': {e.strerror}") from None
        users: dict[bytes, User] = {}
        errors = ""
        pd = self.pubsub_default_all
        for lineno, raw in enumerate(data.split(b"\n"), 1):
            line = raw.strip(b" \t\r\n")
            if not line:
                continue
            argv = line.split(b" ")
            if argv[0] != b"user" or len(argv) < 2:
                errors += f"{path}:{lineno} should start with user keyword followed by the username. "
                continue
            name = argv[1]
            if has_spaces(name):
                errors += f"'{path}:{lineno}: username '{name.decode('utf-8', 'surrogateescape')}' contains " \
                          "invalid characters. "
                continue
            if name in users:
                errors += f"WARNING: Duplicate user '{name.decode('utf-8', 'surrogateescape')}' found on line " \
                          f"{lineno}. "
                continue
            u = User(name, pd)
            users[name] = u
            merged, unmatched = merge_selector_args([a for a in argv[2:] if a])
            if unmatched is not None:
                errors += f"{path}:{lineno}: Unmatched parenthesis in selector definition."
            syntax_reported = False
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    u.apply(op, pd)
                except AclError as e:
                    if e.unknown:
                        errors += f"{path}:{lineno}: Error in applying operation " \
                                  f"'{op.decode('utf-8', 'surrogateescape')}': {e.message}. "
                    elif not syntax_reported:
                        errors += f"{path}:{lineno}: {e.message}. "
                        syntax_reported = True
        if errors:
            raise AclError(errors + "WARNING: ACL errors detected, no change to the previously active ACL "
                           "rules was performed")
        for u in users.values():
            u.refresh()
        return users

    def install(self, users: dict[bytes, User]) -> list[User]:
        """Replace every user by *users* (the default user object is kept); returns the dropped ones."""
        old = [u for n, u in self.users.items() if n != b"default"]
        new_default = users.pop(b"default", None) or self._new_default()
        self.default.assign(new_default)
        self.users = {b"default": self.default, **users}
        return old

    def save_file(self, path: str) -> None:
        text = "".join(self.users[n].describe() + "\n" for n in sorted(self.users))
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(text.encode("utf-8", "surrogateescape"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
