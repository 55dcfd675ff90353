"""The command table: each command declared once with name, arity, flags and key positions."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Handler = Callable[..., Any]

FLAG_NAMES = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading",
    "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "may_replicate", "sentinel",
    "only_sentinel", "no_mandatory_keys", "protected", "module_getkeys", "module_no_cluster",
    "no_async_loading", "no_multi", "movablekeys", "allow_busy",
)


_FLAG_SETS: dict[str, frozenset[str]] = {}
"""One frozenset per distinct flags string: ~1200 commands (with ACL's inert entries) share ~70."""


def _flag_set(flags: str, name: str) -> frozenset[str]:
    fs = _FLAG_SETS.get(flags)
    if fs is None:
        fs = frozenset(flags.split())
        unknown = fs - set(FLAG_NAMES)
        if unknown:
            raise ValueError(f"unknown flags {unknown} for {name}")
        _FLAG_SETS[flags] = fs
    return fs


class Command:
    """A command (or subcommand) with its handler, arity, flags, key positions and statistics."""

    __slots__ = (
        "name", "fullname", "handler", "arity", "flags", "first", "last", "step", "getkeys",
        "subcommands", "parent", "calls", "usec", "rejected", "failed", "write", "readonly",
        "denyoom", "noscript", "loading", "stale", "blocking", "admin", "pubsub", "fast", "no_multi",
        "no_auth", "allow_busy", "may_replicate", "skip_monitor", "skip_slowlog", "protected", "id",
    )
    # Flags as booleans (set from ``flags`` in ``__init__``).
    write: bool
    readonly: bool
    denyoom: bool
    noscript: bool
    loading: bool
    stale: bool
    blocking: bool
    admin: bool
    pubsub: bool
    fast: bool
    no_multi: bool
    no_auth: bool
    allow_busy: bool
    may_replicate: bool
    skip_monitor: bool
    skip_slowlog: bool
    protected: bool  # DEBUG, MODULE LOAD...: gated by enable-debug-command / enable-module-command

    def __init__(
        self, name: str, handler: Handler | None, arity: int, flags: str, first: int, last: int,
        step: int, getkeys: Callable[[list[bytes]], list[int]] | None, parent: Command | None = None,
    ) -> None:
        self.name = name
        self.fullname = f"{parent.name}|{name}" if parent else name
        self.handler = handler
        self.arity = arity
        self.flags = _flag_set(flags, name)
        self.first, self.last, self.step = first, last, step
        self.getkeys = getkeys
        self.subcommands: dict[bytes, Command] | None = None
        self.parent = parent
        self.calls = self.usec = self.rejected = self.failed = 0
        for f in ("write", "readonly", "denyoom", "noscript", "loading", "stale", "blocking", "admin",
                  "pubsub", "fast", "no_multi", "no_auth", "allow_busy", "may_replicate", "skip_monitor",
                  "skip_slowlog", "protected"):
            setattr(self, f, f in self.flags)
        self.id = 0

    def key_indexes(self, argv: list[bytes]) -> list[int]:
        """Positions of key arguments in *argv* (``COMMAND GETKEYS``)."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        if self.first == 0:
            return []
        last = self.last if self.last >= 0 else len(argv) + self.last
        return list(range(self.first, min(last, len(argv) - 1) + 1, self.step))

    def __repr__(self) -> str:
        return f"<Command {self.fullname}>"


TABLE: dict[bytes, Command] = {}
"""Top-level commands by name (lower and upper case both present, for a fast lookup)."""

COMMANDS: dict[str, Command] = {}
"""Top-level commands by lowercase name, one entry each."""


def _register(table: dict[bytes, Command], cmd: Command) -> None:
    name = cmd.name.encode()
    table[name] = cmd
    table[name.upper()] = cmd


def command(
    name: str, arity: int, flags: str = "", first: int = 0, last: int = 0, step: int = 0,
    getkeys: Callable[[list[bytes]], list[int]] | None = None,
) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler(client, argv)`` as command *name*."""

    def deco(fn: Handler) -> Handler:
        declare(name, arity, flags, first, last, step, getkeys, fn)
        return fn

    return deco


def declare(
    name: str, arity: int, flags: str = "", first: int = 0, last: int = 0, step: int = 0,
    getkeys: Callable[[list[bytes]], list[int]] | None = None, handler: Handler | None = None,
) -> Command:
    """Register a command; a command with subcommands is declared with ``handler=None``."""
    if name in COMMANDS:
        existing = COMMANDS[name]
        if existing.handler is None and handler is not None:
            existing.handler = handler
            return existing
        raise ValueError(f"command {name} registered twice")
    cmd = Command(name, handler, arity, flags, first, last, step, getkeys)
    COMMANDS[name] = cmd
    _register(TABLE, cmd)
    return cmd


def subcommand(
    parent: str, name: str, arity: int, flags: str = "", first: int = 0, last: int = 0, step: int = 0,
    getkeys: Callable[[list[bytes]], list[int]] | None = None,
) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler(client, argv)`` as subcommand ``parent|name``."""

    def deco(fn: Handler) -> Handler:
        p = COMMANDS.get(parent)
        if p is None:
            p = declare(parent, -2)
        if p.subcommands is None:
            p.subcommands = {}
        sub = Command(name, fn, arity, flags, first, last, step, getkeys, parent=p)
        if name.encode() in p.subcommands:
            raise ValueError(f"subcommand {parent}|{name} registered twice")
        p.subcommands[name.encode()] = sub
        return fn

    return deco


def lookup(name: bytes) -> Command | None:
    cmd = TABLE.get(name)
    if cmd is None:
        cmd = TABLE.get(name.lower())
    return cmd


def lookup_path(path: str) -> Command | None:
    """Find ``name`` or ``parent|sub`` (case-insensitive)."""
    parent, _, sub = path.lower().partition("|")
    cmd = COMMANDS.get(parent)
    if cmd is None or not sub:
        return cmd
    return (cmd.subcommands or {}).get(sub.encode())


def all_commands() -> list[Command]:
    """Every command and subcommand."""
    out = []
    for c in COMMANDS.values():
        out.append(c)
        if c.subcommands:
            out.extend(c.subcommands.values())
    return out


class MetaEntries(Mapping[str, Any]):
    """One section of the command metadata (``info`` or ``docs``), parsed entry by entry on access.

    The file keeps each entry's JSON on its own line; only those strings stay in memory, read on the
    section's first use (``info``, about 0.2 MB, by the first ACL rule naming commands or categories,
    COMMAND INFO/GETKEYS/LIST or key extraction; ``docs``, about 0.15 MB, at the first COMMAND DOCS),
    where the whole file parsed into Python objects is about 3.5 MB of RSS for good. Each lookup parses its entry afresh, so callers get their own copy and
    nothing parsed is kept.
    """

    __slots__ = ("_section", "_entries")

    def __init__(self, section: str) -> None:
        self._section = section
        self._entries: dict[str, str] | None = None

    @property
    def _raw(self) -> dict[str, str]:
        if self._entries is None:
            self._entries = _read_section(self._section)
        return self._entries

    def __getitem__(self, name: str) -> Any:
        import json  # on first use: nothing parses metadata at start-up (~0.2 MB of RSS)

        return json.loads(self._raw[name])

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _read_section(section: str) -> dict[str, str]:
    """``name -> entry JSON`` of one section of ``metadata.tsv``."""
    raw: dict[str, str] = {}
    prefix = section + "\t"
    with open(os.path.join(os.path.dirname(__file__), "metadata.tsv")) as fh:
        for line in fh:
            if line.startswith(prefix):
                _section, name, entry = line.rstrip("\n").split("\t", 2)
                raw[name] = entry
    return raw


_META: dict[str, MetaEntries] = {"info": MetaEntries("info"), "docs": MetaEntries("docs")}


def metadata() -> dict[str, MetaEntries]:
    """Command metadata (COMMAND INFO / DOCS as redis-server 7.0 reports them): ``{"info": ..., "docs": ...}``.

    Read from ``metadata.tsv`` (``section<TAB>name<TAB>entry JSON`` per line, written by
    scripts/gen_command_meta.py), each section on its first use.
    """
    return _META


_HELP: dict | None = None


def help_lines(name: str) -> list:
    """The ``<CMD> HELP`` reply (status lines) as redis-server 7.0 gives it."""
    global _HELP
    if _HELP is None:
        import json

        with open(os.path.join(os.path.dirname(__file__), "help.json")) as fh:
            _HELP = json.load(fh)
    from pyredis.protocol.types import Status

    return [Status(x.encode()) for x in _HELP[name]]
