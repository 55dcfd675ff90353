"""What a module file uses: the ``@command`` decorator and ``ModuleError``.

A decorated function is only marked (``fn.__pyredis_command__``); the server registers it when
the module file is loaded (``loadmodule``, ``--loadmodule``, ``MODULE LOAD``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CommandSpec", "ModuleError", "command", "translate_flags", "unknown_command_message"]


def unknown_command_message(argv: list[bytes]) -> str:
    """Redis's unknown-command error (as server/app.py words it; kept here to stay below the server)."""
    args = b""  # Redis's "'%.*s' " of C strings: bytes, cut at a NUL
    for a in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%s' " % a.split(b"\0", 1)[0][: 128 - len(args)]
    name = argv[0].split(b"\0", 1)[0][:128].decode("utf-8", "surrogateescape")
    return f"ERR unknown command '{name}', with args beginning with: {args.decode('utf-8', 'surrogateescape')}"


class ModuleError(Exception):
    """Raise in a handler to reply an error: ``raise ModuleError("ERR something went wrong")``.

    The message starts with its error code (``ERR``, ``WRONGTYPE``...), as Redis errors do; a
    message without one gets ``ERR `` prepended.
    """

    def __init__(self, message: str | bytes = "ERR error") -> None:
        if isinstance(message, bytes):
            message = message.decode("utf-8", "surrogateescape")
        if message.startswith("-"):
            message = message[1:]
        head = message.split(" ", 1)[0]
        if not (head.isupper() and head.replace("_", "").isalpha()):
            message = "ERR " + message
        super().__init__(message)
        self.message = message


# Redis module flag names (RedisModule_CreateCommand) -> pyredis command flags.
_MODULE_FLAGS = {
    "write": "write", "readonly": "readonly", "admin": "admin", "deny-oom": "denyoom",
    "deny-script": "noscript", "allow-loading": "loading", "pubsub": "pubsub", "random": "",
    "blocking": "blocking", "allow-stale": "stale", "no-monitor": "skip_monitor",
    "no-slowlog": "skip_slowlog", "fast": "fast", "no-auth": "no_auth", "may-replicate": "may_replicate",
    "getkeys-api": "module_getkeys", "getchannels-api": "", "no-cluster": "module_no_cluster",
    "no-mandatory-keys": "no_mandatory_keys", "allow-busy": "allow_busy",
}


def translate_flags(flags: str) -> str:
    """Module flag words (``"write deny-oom"``, pyredis spellings accepted too) -> pyredis flags."""
    from pyredis.commands.registry import FLAG_NAMES

    out = ["module"]
    for word in flags.split():
        w = word.lower()
        if w in _MODULE_FLAGS:
            mapped = _MODULE_FLAGS[w]
        elif w.replace("-", "_") in FLAG_NAMES:
            mapped = w.replace("-", "_")
        else:
            raise ValueError(f"unknown command flag {word!r}")
        if mapped and mapped not in out:
            out.append(mapped)
    return " ".join(out)


class CommandSpec:
    """A module command as declared by ``@command``.

    Written out (the constructor, ``repr`` and ``==`` a dataclass would generate) because the server
    loads this module at start-up and ``dataclasses`` is ~0.16 MB of RSS."""

    _FIELDS = ("name", "handler", "arity", "flags", "keys", "acl_categories", "getkeys", "summary", "since",
               "complexity", "extra")

    def __init__(
        self, name: str, handler: Callable[..., Any], arity: int = -1, flags: str = "",
        keys: tuple[int, int, int] = (0, 0, 0), acl_categories: tuple[str, ...] = (),
        getkeys: Callable[[list[bytes]], list[int]] | None = None, summary: str = "", since: str = "",
        complexity: str = "", extra: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.arity = arity
        self.flags = flags
        self.keys = keys
        self.acl_categories = acl_categories
        self.getkeys = getkeys
        self.summary = summary
        self.since = since
        self.complexity = complexity
        self.extra: dict[str, Any] = {} if extra is None else extra

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._FIELDS)

    def __repr__(self) -> str:
        return "CommandSpec(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self._FIELDS) + ")"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # as a dataclass with eq and without frozen


def command(name: str, arity: int = -1, flags: str = "", keys: tuple[int, int, int] = (0, 0, 0), *,
            acl_categories: str | tuple[str, ...] = "", getkeys: Callable[[list[bytes]], list[int]] | None = None,
            summary: str = "", since: str = "", complexity: str = "") -> Callable[[Callable], Callable]:
    """Declare ``handler(ctx, argv)`` as server command *name*.

    *arity* and *keys* (first, last, step) mean what they mean in ``COMMAND INFO``; *flags* takes
    Redis's module flag words (``"write deny-oom fast"``); *acl_categories* adds ACL categories
    (``"@read @mymodule"``) to the ones the flags imply. *getkeys* (``argv -> key positions``) is
    for commands whose keys move.
    """
    if not name or " " in name:
        raise ValueError(f"invalid command name {name!r}")
    translate_flags(flags)  # fail at import time on a typo
    if len(keys) != 3:
        raise ValueError("keys is (first, last, step)")
    cats = acl_categories.split() if isinstance(acl_categories, str) else tuple(acl_categories)
    cats = tuple(c if c.startswith("@") else "@" + c for c in cats)

    def deco(fn: Callable) -> Callable:
        fn.__pyredis_command__ = CommandSpec(  # type: ignore[attr-defined]
            name.lower(), fn, arity, flags, tuple(keys), cats, getkeys, summary, since, complexity)
        return fn

    return deco
