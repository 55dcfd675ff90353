"""Command errors and Redis's standard error messages."""

from __future__ import annotations


class CommandError(Exception):
    """Raised by a handler; the client gets ``-<message>``. Messages start with their error code."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
SYNTAX = "ERR syntax error"
NO_SUCH_KEY = "ERR no such key"
OVERFLOW = "ERR increment or decrement would overflow"
OUT_OF_RANGE = "ERR index out of range"
INVALID_DB = "ERR DB index is out of range"


class WrongType(CommandError):
    """WRONGTYPE error."""

    def __init__(self) -> None:
        super().__init__(WRONGTYPE)


def wrong_args(name: str) -> CommandError:
    return CommandError(f"ERR wrong number of arguments for '{name}' command")


def syntax_error() -> CommandError:
    return CommandError(SYNTAX)
