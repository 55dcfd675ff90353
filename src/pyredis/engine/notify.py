"""Keyspace notification classes (the letters of ``notify-keyspace-events``)."""

from __future__ import annotations

KEYSPACE = 1 << 0  # K
KEYEVENT = 1 << 1  # E
GENERIC = 1 << 2  # g
STRING = 1 << 3  # $
LIST = 1 << 4  # l
SET = 1 << 5  # s
HASH = 1 << 6  # h
ZSET = 1 << 7  # z
EXPIRED = 1 << 8  # x
EVICTED = 1 << 9  # e
STREAM = 1 << 10  # t
KEY_MISS = 1 << 11  # m
MODULE = 1 << 12  # d
NEW = 1 << 13  # n
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE  # A

_LETTERS = [
    ("g", GENERIC), ("$", STRING), ("l", LIST), ("s", SET), ("h", HASH), ("z", ZSET),
    ("x", EXPIRED), ("e", EVICTED), ("K", KEYSPACE), ("E", KEYEVENT), ("t", STREAM),
    ("m", KEY_MISS), ("d", MODULE), ("n", NEW),
]


def parse_flags(s: str) -> int | None:
    """Parse a ``notify-keyspace-events`` string; ``None`` if it has an unknown letter."""
    flags = 0
    for ch in s:
        if ch == "A":
            flags |= ALL
            continue
        for letter, bit in _LETTERS:
            if ch == letter:
                flags |= bit
                break
        else:
            return None
    return flags


def format_flags(flags: int) -> str:
    """Format flags back the way CONFIG GET shows them."""
    out = ""
    if flags & ALL == ALL:
        out += "A"
    else:
        for letter, bit in _LETTERS[:8] + [("t", STREAM), ("d", MODULE)]:
            if flags & bit:
                out += letter
    if flags & KEYSPACE:
        out += "K"
    if flags & KEYEVENT:
        out += "E"
    if flags & KEY_MISS:
        out += "m"
    if flags & NEW:
        out += "n"
    return out
