"""DEBUG (enabled by ``enable-debug-command``): redis-server 7.0's subcommands, replies and errors.

Each subcommand is registered with :func:`debug_subcommand` together with the argument counts
Redis accepts; any other count is the usual "unknown subcommand or wrong number of arguments"
error, as in Redis.  Other modules add subcommands the same way (RELOAD and LOADAOF from
persistence, CLUSTERLINK from cluster); the value inspectors (OBJECT, SDSLEN, HTSTATS, LISTPACK...) are in
:mod:`pyredis.commands.debug_inspect`.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
from collections.abc import Callable

from pyredis.commands.debug_help import DEBUG_HELP
from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command
from pyredis.engine.glob import compile_glob
from pyredis.engine.lowlevel import STRUCT_SIZES
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import (
    OK,
    BigNumber,
    Double,
    ErrorReply,
    MapReply,
    Raw,
    SetReply,
    Status,
    Verbatim,
)
from pyredis.server import crash, protected
from pyredis.server.config import parse_memory
from pyredis.server.debugstate import DEFAULT_PACKED_THRESHOLD, DEFAULT_PEAK_RESET_TIME

log = logging.getLogger("pyredis")

DebugHandler = Callable[..., object]
_DEBUG: dict[bytes, tuple[DebugHandler, Callable[[int], bool] | None]] = {}


def debug_subcommand(name: str, argc: Callable[[int], bool] | None = None) -> Callable[[DebugHandler], DebugHandler]:
    """Register ``handler(c, argv)`` for ``DEBUG <name> ...``.

    *argc* tells which ``len(argv)`` Redis accepts (None: the handler checks); others get
    :func:`subcommand_error`.
    """

    def deco(fn: DebugHandler) -> DebugHandler:
        _DEBUG[name.lower().encode()] = (fn, argc)
        return fn

    return deco


def exactly(n: int) -> Callable[[int], bool]:
    return lambda argc: argc == n


def at_least(n: int) -> Callable[[int], bool]:
    return lambda argc: argc >= n


def subcommand_error(argv: list[bytes]) -> CommandError:
    """Redis's ``addReplySubcommandSyntaxError`` for DEBUG."""
    sub = argv[1][:128].decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")
    return CommandError(f"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP.")


def debug_allowed(c) -> bool:
    return protected.allowed(c.server.config["enable-debug-command"], c)


# "protected": the server refuses it before running it unless enable-debug-command allows the client
# (pyredis.server.protected); the check in the handler covers calls from modules.
@command("debug", -2, "admin noscript loading stale protected")
def cmd_debug(c, argv):
    if not debug_allowed(c):
        raise CommandError("ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                           "\"local\", you can run it from a local connection, otherwise you need to set this "
                           "option in the configuration file, and then restart the server.")
    entry = _DEBUG.get(argv[1].lower())
    if entry is None or (entry[1] is not None and not entry[1](len(argv))):
        raise subcommand_error(argv)
    return entry[0](c, argv)


# -- C-style number parsing (Redis uses atoi/strtod for these arguments) --------------------------
def atoi(b: bytes) -> int:
    """C ``atoi``: optional blanks and sign, then digits; 0 when there are none."""
    s = b.lstrip(b" \t\n\v\f\r")
    sign = 1
    if s[:1] in (b"+", b"-"):
        sign = -1 if s[:1] == b"-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    n = (sign * n) & 0xFFFFFFFF
    return n - (1 << 32) if n >> 31 else n


def strtod_prefix(b: bytes) -> float:
    """C ``strtod`` ignoring the end pointer: the longest leading number, 0.0 when none."""
    s = b.lstrip(b" \t\n\v\f\r").decode("ascii", "replace")
    for end in range(len(s), 0, -1):
        try:
            return float(s[:end])
        except ValueError:
            continue
    return 0.0


def _long_arg(b: bytes) -> int:
    v = parse_ll(b)
    if v is None:
        raise CommandError("ERR value is not an integer or out of range")
    return v


# -- HELP, ERROR, LOG, LEAK, SLEEP -------------------------------------------------------------------
@debug_subcommand("help", exactly(2))
def _help(c, argv):
    return [Status(line.encode()) for line in DEBUG_HELP]


@debug_subcommand("error", exactly(3))
def _error(c, argv):
    # the string is the whole error, code included; no errorstats (Redis writes it raw)
    return ErrorReply(argv[2].replace(b"\r", b" ").replace(b"\n", b" "))


@debug_subcommand("log", exactly(3))
def _log(c, argv):
    log.warning("DEBUG LOG: %s", argv[2].split(b"\0", 1)[0].decode("utf-8", "replace"))
    return OK


@debug_subcommand("leak", exactly(3))
def _leak(c, argv):
    c.server.debug.leaked.append(bytes(argv[2]))
    return OK


@debug_subcommand("sleep", exactly(3))
def _sleep(c, argv):
    usec = int(strtod_prefix(argv[2]) * 1000000)
    if usec > 0:
        time.sleep(usec / 1000000)
    return OK


# -- switches ------------------------------------------------------------------------------------------
@debug_subcommand("set-active-expire", exactly(3))
def _set_active_expire(c, argv):
    c.server.keyspace.active_expire_enabled = bool(atoi(argv[2]))
    return OK


@debug_subcommand("pause-cron", exactly(3))
def _pause_cron(c, argv):
    c.server.debug.pause_cron = bool(atoi(argv[2]))
    return OK


@debug_subcommand("set-disable-deny-scripts", exactly(3))
def _deny_scripts(c, argv):
    c.server.scripting.disable_deny_scripts = bool(atoi(argv[2]))
    return OK


@debug_subcommand("quicklist-packed-threshold", exactly(3))
def _qlpt(c, argv):
    sz = parse_memory(argv[2].decode("latin-1"))
    if sz is None or sz < 0 or sz > (1 << 32) - (1 << 20):
        raise CommandError("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
    c.server.debug.packed_threshold = sz or DEFAULT_PACKED_THRESHOLD
    return OK


@debug_subcommand("replybuffer", exactly(4))
def _replybuffer(c, argv):
    what, arg = argv[2].lower(), argv[3]
    state = c.server.debug
    if what == b"peak-reset-time":
        lo = arg.lower()
        if lo == b"never":
            state.reply_peak_reset_time = -1
        elif lo == b"reset":
            state.reply_peak_reset_time = DEFAULT_PEAK_RESET_TIME
        else:
            state.reply_peak_reset_time = _long_arg(arg)
    elif what == b"resizing":
        state.reply_buffer_resizing = bool(atoi(arg))
    else:
        raise subcommand_error(argv)
    return OK


@debug_subcommand("drop-cluster-packet-filter", exactly(3))
def _drop_cluster_packet_filter(c, argv):
    c.server.debug.drop_cluster_packet_filter = _long_arg(argv[2])
    return OK


@debug_subcommand("replicate", at_least(3))
def _replicate(c, argv):
    """DEBUG REPLICATE <cmd> <args...>: put a command in the replication stream only (not run here)."""
    m = c.server.replication.master
    m.feed(m.seldb if m.seldb >= 0 else c.db.id, list(argv[2:]))
    return OK


@debug_subcommand("change-repl-id", exactly(2))
def _change_repl_id(c, argv):
    log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    repl = getattr(c.server, "replication", None)  # the replication subsystem, where composed
    if repl is not None:
        repl.change_replid()
        repl.clear_replid2()
    else:  # without one, INFO reports run_id as the replication ID
        c.server.run_id = os.urandom(20).hex()
    return OK


# -- allocator / low-level reports -------------------------------------------------------------------
@debug_subcommand("structsize", exactly(2))
def _structsize(c, argv):
    return STRUCT_SIZES.encode()


@debug_subcommand("mallctl", at_least(3))
def _mallctl(c, argv):
    # pyredis does not run on jemalloc: every mallctl name is unknown (ENOENT), as Redis reports it
    raise CommandError("ERR No such file or directory")


debug_subcommand("mallctl-str", at_least(3))(_mallctl)


@debug_subcommand("config-rewrite-force-all", exactly(2))
def _config_rewrite_force_all(c, argv):
    """Rewrite the config file with every directive, defaults included."""
    from pyredis.server.configfile import rewrite_config_file

    cfg = c.server.config
    if not cfg.config_file:
        raise CommandError("ERR The server is running without a config file")
    try:
        rewrite_config_file(cfg, force_all=True)
    except OSError as e:
        raise CommandError(f"ERR CONFIG-REWRITE-FORCE-ALL failed: {e.strerror}") from None
    return OK


@debug_subcommand("client-eviction", exactly(2))
def _client_eviction(c, argv):
    srv = c.server
    if not srv.config.values["maxmemory-clients"][0]:
        raise CommandError("ERR maxmemory-clients is disabled.")
    lo, hi = 15, 33  # CLIENT_MEM_USAGE_BUCKET_MIN_LOG / MAX_LOG
    buckets = [[0, 0] for _ in range(hi - lo + 1)]
    for cl in list(srv.clients.values()):
        mem = _client_memory(cl)
        bits = max(lo, min(hi, mem.bit_length()))
        b = buckets[bits - lo]
        b[0] += mem
        b[1] += 1
    out = []
    for j, (mem, n) in enumerate(buckets):
        head = "bucket          0" if j == 0 else "bucket %10d" % (1 << (j - 1 + lo))
        tail = "+            : " if j == len(buckets) - 1 else " - %10d: " % ((1 << (j + lo)) - 1)
        out.append(f"{head}{tail}tot-mem: {mem:10d}, clients: {n}\n")
    return Verbatim("".join(out).encode())


def _client_memory(cl) -> int:
    """The memory CLIENT LIST reports as tot-mem for *cl*."""
    from pyredis.server.clientmem import client_memory

    return client_memory(cl)


@debug_subcommand("stringmatch-test", exactly(2))
def _stringmatch_test(c, argv):
    """Fuzz the glob matcher with random patterns and strings (it must not fail)."""
    rnd = random.Random()
    for _ in range(2000):  # Redis runs 10M cycles of the same shape in C
        s = bytes(rnd.randrange(128) for _ in range(rnd.randrange(32)))
        pat = bytes(rnd.randrange(128) for _ in range(rnd.randrange(32)))
        compile_glob(pat)(s)
    return Status(b"Apparently Redis did not crash: test passed")


# -- PROTOCOL -------------------------------------------------------------------------------------------
_ATTRIB3 = (b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
            b"$39\r\nSome real reply following the attribute\r\n")
_PUSH3 = b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n"


@debug_subcommand("protocol", exactly(3))
def _protocol(c, argv):
    kind = argv[2].lower()
    if kind == b"string":
        return b"Hello World"
    if kind == b"integer":
        return 12345
    if kind == b"double":
        return Double(3.141)
    if kind == b"bignum":
        return BigNumber(1234567999999999999999999999999999999)
    if kind == b"null":
        return None
    if kind == b"array":
        return [0, 1, 2]
    if kind == b"set":
        return SetReply([0, 1, 2])
    if kind == b"map":
        return MapReply([0, False, 1, True, 2, False])
    if kind == b"attrib":
        return Raw(_ATTRIB3) if c.resp >= 3 else b"Some real reply following the attribute"
    if kind == b"push":
        if c.resp < 3:
            raise CommandError("ERR RESP2 is not supported by this command")
        return Raw(_PUSH3)
    if kind == b"true":
        return True
    if kind == b"false":
        return False
    if kind == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    raise CommandError("ERR Wrong protocol type name. Please use one of the following: string|integer|"
                       "double|bignum|null|array|set|map|attrib|push|verbatim|true|false")


# -- DIGEST, DIGEST-VALUE, POPULATE ---------------------------------------------------------------------
@debug_subcommand("digest", exactly(2))
def _digest(c, argv):
    from pyredis.engine import digest  # on first use (hashlib's OpenSSL digests: ~0.5 MB of start-up RSS)

    return Status(digest.dataset_digest(c.server.keyspace).encode())


@debug_subcommand("digest-value", at_least(2))
def _digest_value(c, argv):
    from pyredis.engine import digest

    db = c.db
    out = []
    for key in argv[2:]:
        v = db.data.get(key)  # like Redis: logically expired keys still have a digest
        d = digest.ZERO if v is None else digest.value_digest(v, key in db.expires)
        out.append(Status(d.hex().encode()))
    return out


def _positive_long(b: bytes) -> int:
    v = parse_ll(b)
    if v is None or v < 0:
        raise CommandError("ERR value is out of range, must be positive")
    return v


@debug_subcommand("populate", lambda argc: 3 <= argc <= 5)
def _populate(c, argv):
    """DEBUG POPULATE count [prefix] [size]: keys prefix:N = value:N (cut or zero-padded to size).

    Like Redis it neither propagates nor counts as a change (``dirty``), and skips existing keys.
    """
    count = _positive_long(argv[2])
    size = _positive_long(argv[4]) if len(argv) == 5 else 0
    prefix = argv[3] if len(argv) > 3 else b"key"
    db = c.db
    for i in range(count):
        key = b"%s:%d" % (prefix, i)
        if db.get(key) is not None:
            continue
        val = b"value:%d" % i
        if size:
            val = val[:size].ljust(size, b"\0")
        db.add(key, val)
        db.signal_modified(key)
    return OK


# -- crashes and restarts ------------------------------------------------------------------------------
@debug_subcommand("segfault")
def _segfault(c, argv):
    crash.crash_by_signal(c.server, signal.SIGSEGV)


@debug_subcommand("panic")
def _panic(c, argv):
    crash.panic(c.server, "DEBUG PANIC called at Unix time %d" % int(time.time()), "debug.c:510")


@debug_subcommand("oom")
def _oom(c, argv):
    crash.panic(c.server, "Redis aborting for OUT OF MEMORY. Allocating %d bytes!" % ((1 << 63) - 1),
                "server.c:6658")


@debug_subcommand("assert")
def _assert(c, argv):
    lines = ["client->flags = 0", f"client->conn = fd={getattr(c, 'fd', -1)}, addr={c.addr}",
             f"client->argc = {len(argv)}"]
    lines += [f'client->argv[{j}] = "{a.decode("utf-8", "replace")}" (refcount: 1)' for j, a in enumerate(argv)]
    crash.assertion_failed(c.server, lines, "1 == 2", "debug.c:530")


def _restart(c, argv, graceful: bool):
    delay = max(_long_arg(argv[2]), 0) if len(argv) >= 3 else 0
    crash.restart(c.server, graceful, delay)
    raise CommandError("ERR failed to restart the server. Check server logs.")


debug_subcommand("restart")(lambda c, argv: _restart(c, argv, True))
debug_subcommand("crash-and-recover")(lambda c, argv: _restart(c, argv, False))
