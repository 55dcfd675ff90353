"""DEBUG (enabled by ``enable-debug-command``): the subcommands the Redis test suite uses.

Other modules add subcommands with :func:`debug_subcommand` (e.g. RELOAD from persistence).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command
from pyredis.engine.types import encoding_of
from pyredis.protocol.numbers import parse_float
from pyredis.protocol.types import OK, Status

DebugHandler = Callable[..., object]
_DEBUG: dict[bytes, DebugHandler] = {}


def debug_subcommand(name: str) -> Callable[[DebugHandler], DebugHandler]:
    """Register ``handler(c, argv)`` for ``DEBUG <name> ...``."""

    def deco(fn: DebugHandler) -> DebugHandler:
        _DEBUG[name.lower().encode()] = fn
        return fn

    return deco


def debug_allowed(c) -> bool:
    mode = c.server.config["enable-debug-command"]
    if mode == "yes":
        return True
    if mode == "local":
        return c.addr.startswith(("127.0.0.1:", "::1:", "[::1]")) or getattr(c, "flags_extra", "") == "U"
    return False


@command("debug", -2, "admin noscript loading stale")
def cmd_debug(c, argv):
    if not debug_allowed(c):
        raise CommandError("ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                           "\"local\", you can run it from a local connection, otherwise you need to set this "
                           "option in the configuration file, and then restart the server.")
    sub = argv[1].lower()
    fn = _DEBUG.get(sub)
    if fn is None:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
                           % argv[1].decode("utf-8", "replace"))
    return fn(c, argv)


@debug_subcommand("sleep")
def _sleep(c, argv):
    secs = parse_float(argv[2]) if len(argv) > 2 else 0.0
    time.sleep(max(secs or 0.0, 0.0))
    return OK


@debug_subcommand("set-active-expire")
def _set_active_expire(c, argv):
    c.server.keyspace.active_expire_enabled = bool(get_int(argv[2]))
    return OK


@debug_subcommand("object")
def _object(c, argv):
    v = c.db.data.get(argv[2])  # like Redis: DEBUG OBJECT does not expire the key
    if v is None:
        raise CommandError("ERR no such key")
    enc = encoding_of(v, c.server.config).decode()
    extra = ""
    if hasattr(v, "debug_info"):
        extra = " " + v.debug_info(c.server.config)
    size = len(v) if type(v) is bytes else 0
    return Status(f"Value at:0x7f0000000000 refcount:1 encoding:{enc} serializedlength:{size} "
                  f"lru:0 lru_seconds_idle:0{extra}".encode())


@debug_subcommand("change-repl-id")
def _change_repl_id(c, argv):
    return OK


@debug_subcommand("quicklist-packed-threshold")
def _qlpt(c, argv):
    return OK


@debug_subcommand("listpack")
def _listpack(c, argv):
    return Status(b"OK")


@debug_subcommand("stringmatch-len")
def _stringmatch_len(c, argv):
    return Status(b"OK")


@debug_subcommand("replybuffer")
def _replybuffer(c, argv):
    return OK


@debug_subcommand("set-disable-deny-scripts")
def _deny_scripts(c, argv):
    c.server.scripting.disable_deny_scripts = bool(get_int(argv[2]))
    return OK


@debug_subcommand("log")
def _log(c, argv):
    import logging

    logging.getLogger("pyredis").warning("DEBUG LOG: %s", argv[2].decode("utf-8", "replace"))
    return OK


@debug_subcommand("jmap")
def _jmap(c, argv):
    return OK


@debug_subcommand("protocol")
def _protocol(c, argv):
    from pyredis.protocol.types import BigNumber, Double, MapReply, SetReply, Verbatim

    kind = argv[2].lower()
    table = {
        b"string": lambda: b"Hello World",
        b"integer": lambda: 12345,
        b"double": lambda: Double(3.141),
        b"bignum": lambda: BigNumber(1234567999999999999999999999999999999),
        b"null": lambda: None,
        b"array": lambda: [0, 1, 2],
        b"set": lambda: SetReply([0, 1, 2]),
        b"map": lambda: MapReply([0, False, 1, True, 2, False]),
        b"attrib": lambda: b"Some real reply following the attribute",
        b"push": lambda: None,
        b"true": lambda: True,
        b"false": lambda: False,
        b"verbatim": lambda: Verbatim(b"This is a verbatim\nstring"),
    }
    fn = table.get(kind)
    if fn is None:
        raise CommandError("ERR Wrong protocol type name. Please use one of the following: string|integer|"
                           "double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
    return fn()


@debug_subcommand("digest")
def _digest(c, argv):
    from pyredis.engine.digest import dataset_digest

    return Status(dataset_digest(c.server.keyspace).encode())


@debug_subcommand("digest-value")
def _digest_value(c, argv):
    from pyredis.engine.digest import value_digest

    out = []
    for key in argv[2:]:
        v = c.db.get(key)
        out.append(Status(b"0" * 40 if v is None else value_digest(v).hex().encode()))
    return out


@debug_subcommand("populate")
def _populate(c, argv):
    """DEBUG POPULATE count [prefix] [size]: create keys prefix:N = value:N (padded to size)."""
    if len(argv) < 3 or len(argv) > 5:
        raise CommandError("ERR wrong number of arguments for 'debug|populate' command")
    count = get_int(argv[2])
    if count < 0:
        raise CommandError("ERR count must be a positive integer")
    prefix = argv[3] if len(argv) > 3 else b"key"
    size = get_int(argv[4]) if len(argv) > 4 else 0
    if size < 0:
        raise CommandError("ERR size must be a positive integer")
    db = c.db
    data = db.data
    for i in range(count):
        key = b"%s:%d" % (prefix, i)
        if key in data:
            continue
        val = b"value:%d" % i
        if size:
            val = val[:size].ljust(size, b"\0")
        data[key] = val
    c.server.dirty += count
    return OK
