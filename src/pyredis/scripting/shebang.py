"""Script shebang lines: ``#!lua flags=...`` for EVAL scripts, ``#!lua name=...`` for libraries."""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.protocol.parser import split_args

NO_WRITES = 1
ALLOW_OOM = 2
ALLOW_STALE = 4
NO_CLUSTER = 8
ALLOW_CROSS_SLOT = 16
EVAL_COMPAT = 32  # a script without shebang: legacy behaviour

FLAG_NAMES = {
    b"no-writes": NO_WRITES, b"allow-oom": ALLOW_OOM, b"allow-stale": ALLOW_STALE, b"no-cluster": NO_CLUSTER,
    b"allow-cross-slot-keys": ALLOW_CROSS_SLOT,
}


def flag_names(flags: int) -> list[bytes]:
    return [name for name, bit in FLAG_NAMES.items() if flags & bit]


def parse_eval(body: bytes) -> tuple[int, bytes]:
    """Flags and the code to compile of an EVAL script (the shebang line is blanked out)."""
    if not body.startswith(b"#!"):
        return EVAL_COMPAT, body
    nl = body.find(b"\n")
    if nl < 0:
        raise CommandError("ERR Invalid script shebang")
    parts = split_args(body[:nl])
    if not parts:
        raise CommandError("ERR Invalid script shebang")
    if parts[0] != b"#!lua":
        raise CommandError("ERR Unexpected engine in script shebang: %s" % parts[0].decode("utf-8", "replace"))
    flags = 0
    for p in parts[1:]:
        if p.startswith(b"flags="):
            for f in p[6:].split(b","):
                if not f:
                    continue
                bit = FLAG_NAMES.get(f)
                if bit is None:
                    raise CommandError("ERR Unexpected flag in script shebang: %s" % f.decode("utf-8", "replace"))
                flags |= bit
        else:
            raise CommandError("ERR Unknown lua shebang option: %s" % p.decode("utf-8", "replace"))
    return flags, body[nl:]


def parse_library(code: bytes) -> tuple[bytes, bytes, bytes]:
    """Engine name, library name and the code to compile of a FUNCTION LOAD payload."""
    if not code.startswith(b"#!"):
        raise CommandError("ERR Missing library metadata")
    nl = code.find(b"\n")
    if nl < 0:
        raise CommandError("ERR Invalid library metadata")
    parts = split_args(code[:nl])
    if not parts:
        raise CommandError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for p in parts[1:]:
        if p.startswith(b"name="):
            if name is not None:
                raise CommandError("ERR Invalid metadata value, name argument was given multiple times")
            name = p[5:]
        else:
            raise CommandError("ERR Invalid metadata value given: %s" % p.decode("utf-8", "replace"))
    if name is None:
        raise CommandError("ERR Library name was not given")
    return engine, name, code[nl:]


def valid_name(name: bytes) -> bool:
    """Library and function names: letters, digits and underscores, at least one."""
    return bool(name) and all(c == 0x5F or 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A for c in name)
