"""A server's command names after ``rename-command`` (redis.conf), as Redis 7.0 keeps them.

Redis has two tables: ``server.commands`` (what clients, scripts, the AOF loader, COMMAND and ACL
DRYRUN look names up in; ``rename-command`` edits it) and ``server.orig_commands`` (what ACL rules and
ACL CAT use, never renamed). A renamed command keeps its original name in COMMAND INFO / DOCS / LIST
replies and in ACL rules; the old name gets the unknown-command error; renaming to ``""`` removes it.

Without any ``rename-command`` a server uses the registry's table itself (``server.commands`` is
:data:`pyredis.commands.registry.TABLE`); with some, a :class:`CommandTable` over it, so commands a
module registers later still show up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyredis.commands.registry import COMMANDS, TABLE, all_commands

if TYPE_CHECKING:
    from pyredis.commands.registry import Command


class RenameError(Exception):
    """A ``rename-command`` line that Redis refuses (the message is Redis's)."""


class CommandTable:
    """The registry's top-level commands with some names removed and others added (lookups by
    exact bytes, then lower case, like the plain table)."""

    def __init__(self) -> None:
        self.removed: set[bytes] = set()  # lower-case names no longer in the table
        self.added: dict[bytes, Command] = {}  # lower and upper case new names

    def get(self, name: bytes, default: Command | None = None) -> Command | None:
        cmd = self.added.get(name)
        if cmd is not None:
            return cmd
        if name.lower() in self.removed:
            return default
        return TABLE.get(name, default)

    def lookup(self, name: bytes) -> Command | None:
        """Case-insensitive lookup of a top-level name."""
        return self.get(name.lower())

    def rename(self, old: str, new: str) -> None:
        """``rename-command old new`` (``new`` empty: remove it); raises :class:`RenameError`."""
        o, n = old.lower().encode("utf-8", "surrogateescape"), new.lower().encode("utf-8", "surrogateescape")
        cmd = self.lookup(o) if b"|" not in o else None
        if cmd is None:
            raise RenameError("No such command in rename-command")
        self.added.pop(o, None)
        self.added.pop(o.upper(), None)
        if o in TABLE:
            self.removed.add(o)
        if n:
            if self.lookup(n) is not None:
                raise RenameError("Target command name already exists")
            self.added[n] = self.added[n.upper()] = cmd

    def entries(self) -> list[tuple[bytes, Command]]:
        """``(name, command)`` for every name in the table (lower case)."""
        out = [(name.encode(), cmd) for name, cmd in COMMANDS.items() if name.encode() not in self.removed
               and name.encode() not in self.added]
        out += [(name, cmd) for name, cmd in self.added.items() if name == name.lower()]
        return out


def entries(table: object) -> list[tuple[bytes, Command]]:
    """``(name, command)`` of every top-level name a server's table holds."""
    if isinstance(table, CommandTable):
        return table.entries()
    return [(name.encode(), cmd) for name, cmd in COMMANDS.items()]


def lookup(table: object, name: bytes) -> Command | None:
    """A top-level name in a server's table (case-insensitive)."""
    if isinstance(table, CommandTable):
        return table.lookup(name)
    return TABLE.get(name) or TABLE.get(name.lower())


def lookup_path(table: object, path: bytes) -> Command | None:
    """``name`` or ``name|sub`` (lookupCommandBySds): the top-level name through the server's table."""
    parent, _, sub = path.partition(b"|")
    cmd = lookup(table, parent)
    if cmd is None or not sub:
        return cmd
    return (cmd.subcommands or {}).get(sub.lower())


def listed_commands(table: object) -> list[Command]:
    """Every command and subcommand reachable through the table (COMMAND LIST), original names."""
    tops = {id(cmd) for _name, cmd in entries(table)}
    return [c for c in all_commands() if id(c.parent if c.parent is not None else c) in tops]
