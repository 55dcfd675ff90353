"""Server configuration: redis.conf directives, their types, defaults, CONFIG GET/SET semantics.

Values are kept both as parsed Python values (``cfg["hz"] == 10``) and formatted the way
``CONFIG GET`` shows them. Unknown directives and bad values raise :class:`ConfigError` with
Redis's wording.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import Any

from pyredis.engine import notify


class ConfigError(Exception):
    """A bad directive or value; the message uses Redis's wording."""


BOOL, INT, MEM, ENUM, STR, SPECIAL = "bool", "int", "mem", "enum", "str", "special"


class Directive:
    """One redis.conf directive: its kind, default, bounds and (for special ones) parser/formatter.

    A plain class rather than a dataclass: ``dataclasses`` is ~0.16 MB of start-up RSS."""

    def __init__(
        self, name: str, kind: str, default: str, lo: int = -(1 << 63), hi: int = (1 << 63) - 1,
        choices: tuple[str, ...] = (), immutable: bool = False, protected: bool = False,
        aliases: tuple[str, ...] = (), parse: Callable[[str], Any] | None = None,
        fmt: Callable[[Any], str] | None = None, multi_arg: bool = False, extra: dict | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.default = default
        self.lo = lo
        self.hi = hi
        self.choices = choices
        self.immutable = immutable
        self.protected = protected
        self.aliases = aliases
        self.parse = parse
        self.fmt = fmt
        self.multi_arg = multi_arg  # accepts several words in a config file line (save, bind, ...)
        self.extra: dict = {} if extra is None else extra


def parse_memory(s: str) -> int | None:
    """Parse ``1gb``/``10k``/``100`` like Redis's ``memtoull``; None when invalid."""
    s2 = s.strip().lower()
    units = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
    num = s2.rstrip("kmgb")
    unit = s2[len(num) :]
    if unit not in units or not num:
        return None
    neg = num.startswith("-")
    digits = num[1:] if neg else num
    if not digits.isdigit():
        return None
    v = int(digits) * units[unit]
    return -v if neg else v


_ENUMS = {
    "loglevel": ("debug", "verbose", "notice", "warning"),
    "maxmemory-policy": (
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu",
        "allkeys-random", "noeviction",
    ),
    "appendfsync": ("everysec", "always", "no"),
    "supervised": ("upstart", "systemd", "auto", "no"),
    "repl-diskless-load": ("disabled", "on-empty-db", "swapdb"),
    "cluster-preferred-endpoint-type": ("ip", "hostname", "unknown-endpoint"),
    "propagation-error-behavior": ("ignore", "panic", "panic-on-replicas"),
    "sanitize-dump-payload": ("no", "yes", "clients"),
    "shutdown-on-sigint": ("default", "save", "nosave", "now", "force"),
    "shutdown-on-sigterm": ("default", "save", "nosave", "now", "force"),
    "oom-score-adj": ("no", "yes", "relative", "absolute"),
    "enable-debug-command": ("no", "yes", "local"),
    "enable-module-command": ("no", "yes", "local"),
    "enable-protected-configs": ("no", "yes", "local"),
    "syslog-facility": ("user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"),
    "acl-pubsub-default": ("allchannels", "resetchannels"),
}

_MEMORY = {
    "maxmemory", "proto-max-bulk-len", "client-query-buffer-limit", "repl-backlog-size",
    "auto-aof-rewrite-min-size", "active-defrag-ignore-bytes", "stream-node-max-bytes",
    "hll-sparse-max-bytes", "hash-max-listpack-value", "zset-max-listpack-value",
    "cluster-link-sendbuf-limit", "maxmemory-clients", "gateway-max-frame",
}

# Valid ranges, as redis-server 7.0 reports them in its CONFIG SET errors.
_RANGES = {
    "acllog-max-len": (0, 2**63 - 1), "active-defrag-cycle-max": (1, 99), "active-defrag-cycle-min": (1, 99),
    "active-defrag-ignore-bytes": (1, 2**63 - 1), "active-defrag-max-scan-fields": (1, 2**63 - 1),
    "active-defrag-threshold-lower": (0, 1000), "active-defrag-threshold-upper": (0, 1000),
    "active-expire-effort": (1, 10), "auto-aof-rewrite-min-size": (0, 2**63 - 1),
    "auto-aof-rewrite-percentage": (0, 2147483647), "busy-reply-threshold": (0, 2**63 - 1),
    "client-query-buffer-limit": (1048576, 2**63 - 1), "cluster-announce-bus-port": (0, 65535),
    "cluster-announce-port": (0, 65535), "cluster-announce-tls-port": (0, 65535),
    "cluster-migration-barrier": (0, 2147483647), "cluster-node-timeout": (0, 2**63 - 1),
    "cluster-replica-validity-factor": (0, 2147483647), "hash-max-listpack-entries": (0, 2**63 - 1),
    "hash-max-listpack-value": (0, 2**63 - 1), "hll-sparse-max-bytes": (0, 2**63 - 1), "hz": (0, 2147483647), "watchdog-period": (0, 2147483647),
    "latency-monitor-threshold": (0, 2**63 - 1), "lfu-decay-time": (0, 2147483647),
    "lfu-log-factor": (0, 2147483647), "list-compress-depth": (0, 2147483647), "maxclients": (1, 4294967295),
    "maxmemory-eviction-tenacity": (0, 100), "maxmemory-samples": (1, 2147483647),
    "min-replicas-max-lag": (0, 2147483647), "min-replicas-to-write": (0, 2147483647), "port": (0, 65535),
    "databases": (1, 2147483647), "timeout": (0, 2147483647), "tcp-keepalive": (0, 2147483647),
    "list-max-listpack-size": (-5, 2147483647), "slowlog-max-len": (0, 2147483647), "tcp-backlog": (0, 2147483647),
    "io-threads": (1, 128), "tls-port": (0, 65535), "proto-max-bulk-len": (1048576, 2**63 - 1),
    "gateway-port": (0, 65535), "gateway-history-maxlen": (0, 2**31 - 1), "gateway-max-frame": (256, 2**31 - 1),
}

_IMMUTABLE = {
    "daemonize", "slaveof", "replicaof", "bgsave_cpulist", "logfile", "always-show-logo", "cluster-port",
    "databases", "enable-module-command", "bio_cpulist", "server_cpulist", "enable-debug-command",
    "unixsocket", "aof_rewrite_cpulist", "appendfilename", "io-threads-do-reads", "aclfile", "io-threads",
    "cluster-enabled", "supervised", "set-proc-title", "pidfile", "unixsocketperm", "syslog-facility",
    "disable-thp", "syslog-ident", "rdbchecksum", "cluster-config-file", "appenddirname", "syslog-enabled",
    "socket-mark-id", "tcp-backlog", "enable-protected-configs", "lua-enable-deprecated-api",
}

_ALIASES = {
    "hash-max-listpack-entries": ("hash-max-ziplist-entries",),
    "hash-max-listpack-value": ("hash-max-ziplist-value",),
    "zset-max-listpack-entries": ("zset-max-ziplist-entries",),
    "zset-max-listpack-value": ("zset-max-ziplist-value",),
    "list-max-listpack-size": ("list-max-ziplist-size",),
    "busy-reply-threshold": ("lua-time-limit",),
    "replicaof": ("slaveof",),
    "replica-announce-ip": ("slave-announce-ip",),
    "replica-announce-port": ("slave-announce-port",),
    "replica-ignore-maxmemory": ("slave-ignore-maxmemory",),
    "replica-lazy-flush": ("slave-lazy-flush",),
    "replica-priority": ("slave-priority",),
    "replica-read-only": ("slave-read-only",),
    "replica-serve-stale-data": ("slave-serve-stale-data",),
    "min-replicas-max-lag": ("min-slaves-max-lag",),
    "min-replicas-to-write": ("min-slaves-to-write",),
    "repl-ping-replica-period": ("repl-ping-slave-period",),
    "cluster-replica-no-failover": ("cluster-slave-no-failover",),
    "cluster-replica-validity-factor": ("cluster-slave-validity-factor",),
}

# name -> default, as redis-server 7.0 reports them (aliases omitted: they share the entry).
_DEFAULTS = """
acl-pubsub-default=resetchannels|aclfile=|acllog-max-len=128|active-defrag-cycle-max=25
active-defrag-cycle-min=1|active-defrag-ignore-bytes=104857600|active-defrag-max-scan-fields=1000
active-defrag-threshold-lower=10|active-defrag-threshold-upper=100|active-expire-effort=1|activedefrag=no
activerehashing=yes|always-show-logo=no|aof-disable-auto-gc=no|aof-load-truncated=yes
aof-rewrite-incremental-fsync=yes|aof-timestamp-enabled=no|aof-use-rdb-preamble=yes|aof_rewrite_cpulist=
appenddirname=appendonlydir|appendfilename=appendonly.aof|appendfsync=everysec|appendonly=no
auto-aof-rewrite-min-size=67108864|auto-aof-rewrite-percentage=100|bgsave_cpulist=|bind=* -::*
bind-source-addr=|bio_cpulist=|busy-reply-threshold=5000
client-output-buffer-limit=normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60
client-query-buffer-limit=1073741824|cluster-allow-pubsubshard-when-down=yes|cluster-allow-reads-when-down=no
cluster-allow-replica-migration=yes|cluster-announce-bus-port=0|cluster-announce-hostname=
cluster-announce-ip=|cluster-announce-port=0|cluster-announce-tls-port=0|cluster-config-file=nodes.conf
cluster-enabled=no|cluster-link-sendbuf-limit=0|cluster-migration-barrier=1|cluster-node-timeout=15000
cluster-port=0|cluster-preferred-endpoint-type=ip|cluster-replica-no-failover=no
cluster-replica-validity-factor=10|cluster-require-full-coverage=yes|crash-log-enabled=yes
crash-memcheck-enabled=yes|daemonize=no|databases=16|dbfilename=dump.rdb|dir=|disable-thp=yes|dynamic-hz=yes
enable-debug-command=no|enable-module-command=no|enable-protected-configs=no|hash-max-listpack-entries=512
hash-max-listpack-value=64|hll-sparse-max-bytes=3000|hz=10|ignore-warnings=|io-threads=1|io-threads-do-reads=no
jemalloc-bg-thread=yes|latency-monitor-threshold=0|latency-tracking=yes|latency-tracking-info-percentiles=50 99 99.9
lazyfree-lazy-eviction=no|lazyfree-lazy-expire=no|lazyfree-lazy-server-del=no|lazyfree-lazy-user-del=no
lazyfree-lazy-user-flush=no|lfu-decay-time=1|lfu-log-factor=10|list-compress-depth=0|list-max-listpack-size=-2
logfile=|loglevel=notice|masterauth=|masteruser=|maxclients=10000|maxmemory=0|maxmemory-clients=0
maxmemory-eviction-tenacity=10|maxmemory-policy=noeviction|maxmemory-samples=5|min-replicas-max-lag=10
min-replicas-to-write=0|no-appendfsync-on-rewrite=no|notify-keyspace-events=|oom-score-adj=no
oom-score-adj-values=0 200 800|pidfile=|port=6379|proc-title-template={title} {listen-addr} {server-mode}
propagation-error-behavior=ignore|protected-mode=yes|proto-max-bulk-len=536870912|rdb-del-sync-files=no
rdb-save-incremental-fsync=yes|rdbchecksum=yes|rdbcompression=yes|repl-backlog-size=1048576|repl-backlog-ttl=3600
repl-disable-tcp-nodelay=no|repl-diskless-load=disabled|repl-diskless-sync=yes|repl-diskless-sync-delay=5
repl-diskless-sync-max-replicas=0|repl-ping-replica-period=10|repl-timeout=60|replica-announce-ip=
replica-announce-port=0|replica-announced=yes|replica-ignore-disk-write-errors=no|replica-ignore-maxmemory=yes
replica-lazy-flush=no|replica-priority=100|replica-read-only=yes|replica-serve-stale-data=yes|replicaof=
requirepass=|sanitize-dump-payload=no|save=3600 1 300 100 60 10000|server_cpulist=|set-max-intset-entries=512
set-proc-title=yes|shutdown-on-sigint=default|shutdown-on-sigterm=default|shutdown-timeout=10|slowlog-log-slower-than=10000
slowlog-max-len=128|socket-mark-id=0|stop-writes-on-bgsave-error=yes|stream-node-max-bytes=4096
stream-node-max-entries=100|supervised=no|syslog-enabled=no|syslog-facility=local0|syslog-ident=redis
tcp-backlog=511|tcp-keepalive=300|timeout=0|tls-auth-clients=yes|tls-ca-cert-dir=|tls-ca-cert-file=
tls-cert-file=|tls-ciphers=|tls-ciphersuites=|tls-client-cert-file=|tls-client-key-file=
tls-client-key-file-pass=|tls-cluster=no|tls-dh-params-file=|tls-key-file=|tls-key-file-pass=|tls-port=0
tls-prefer-server-ciphers=no|tls-protocols=|tls-replication=no|tls-session-cache-size=20480
tls-session-cache-timeout=300|tls-session-caching=yes|tracking-table-max-keys=1000000|unixsocket=
unixsocketperm=0|zset-max-listpack-entries=128|zset-max-listpack-value=64
key-load-delay=0|rdb-key-save-delay=0|loading-process-events-interval-bytes=2097152|use-exit-on-panic=no
watchdog-period=0
lua-enable-deprecated-api=no
gateway-port=0|gateway-bind=127.0.0.1|gateway-tls=no|gateway-allowed-origins=|gateway-commands=no
gateway-history-channels=|gateway-history-maxlen=1000|gateway-max-frame=1048576|gateway-compression=no
"""

# Accepted by CONFIG GET <name> and CONFIG SET, but not listed by CONFIG GET patterns (debug knobs).
HIDDEN = {"lua-enable-deprecated-api", "key-load-delay", "rdb-key-save-delay", "loading-process-events-interval-bytes", "use-exit-on-panic",
          "watchdog-period"}

_STRINGS_WITH_NUMBERS = {"oom-score-adj-values", "latency-tracking-info-percentiles", "tls-auth-clients"}
_SPECIAL = {"save", "client-output-buffer-limit", "notify-keyspace-events", "bind", "oom-score-adj-values",
            "latency-tracking-info-percentiles", "dir", "unixsocketperm", "tls-auth-clients"}


def _parse_save(v: str) -> list[tuple[int, int]]:
    parts = v.split()
    if len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    out = []
    for i in range(0, len(parts), 2):
        if not (parts[i].isdigit() and parts[i + 1].isdigit()):
            raise ConfigError("Invalid save parameters")
        out.append((int(parts[i]), int(parts[i + 1])))
    return out


def _fmt_save(v: list[tuple[int, int]]) -> str:
    return " ".join(f"{a} {b}" for a, b in v)


def _parse_cobl(v: str, current: dict | None = None) -> dict:
    parts = v.split()
    if not parts or len(parts) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    out = dict(current or {})
    for i in range(0, len(parts), 4):
        cls = parts[i].lower()
        if cls == "slave":
            cls = "replica"
        if cls not in ("normal", "replica", "pubsub"):
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        hard, soft = parse_memory(parts[i + 1]), parse_memory(parts[i + 2])
        secs = parts[i + 3]
        if hard is None or soft is None or not secs.isdigit() or hard < 0 or soft < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        out[cls] = (hard, soft, int(secs))
    return out


def _fmt_cobl(v: dict) -> str:
    names = (("normal", "normal"), ("replica", "slave"), ("pubsub", "pubsub"))
    return " ".join(f"{shown} {v[k][0]} {v[k][1]} {v[k][2]}" for k, shown in names)


def _parse_notify(v: str) -> int:
    flags = notify.parse_flags(v)
    if flags is None:
        raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmd'.")
    return flags


def trim_double(v: float) -> str:
    """``%f`` with trailing zeros (and a trailing dot) removed, like Redis's trimDoubleString."""
    s = "%f" % v
    return s.rstrip("0").rstrip(".") if "." in s else s


def _parse_percentiles(v: str) -> str:
    """latency-tracking-info-percentiles: doubles in [0, 100], kept in Redis's canonical form."""
    out = []
    for part in v.split():
        try:
            if part.strip().lower() in ("nan", "-nan", "+nan"):
                raise ValueError
            p = float(part)
        except ValueError:
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters") from None
        if not 0.0 <= p <= 100.0:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        out.append(trim_double(p))
    return " ".join(out)


def _parse_perm(v: str) -> int:
    try:
        n = int(v, 8)
    except ValueError:
        raise ConfigError("argument couldn't be parsed into an integer") from None
    if not 0 <= n <= 0o777:
        raise ConfigError("argument must be between 0 and 777 inclusive")
    return n


def _parse_dir(v: str) -> str:
    if os.path.isdir(v):
        return os.path.abspath(v)
    raise ConfigError("No such file or directory")


def _build() -> dict[str, Directive]:
    table: dict[str, Directive] = {}
    for line in _DEFAULTS.strip().splitlines():
        for item in line.split("|"):
            name, _, default = item.partition("=")
            if name in _ENUMS:
                d = Directive(name, ENUM, default, choices=_ENUMS[name])
            elif name in _SPECIAL:
                d = Directive(name, SPECIAL, default, multi_arg=True)
            elif default in ("yes", "no"):
                d = Directive(name, BOOL, default)
            elif name in _MEMORY:
                lo, hi = _RANGES.get(name, (0, 2**63 - 1))
                d = Directive(name, MEM, default, lo=lo, hi=hi)
            elif default.lstrip("-").isdigit():
                lo, hi = _RANGES.get(name, (-(1 << 63), (1 << 63) - 1))
                d = Directive(name, INT, default, lo=lo, hi=hi)
            else:
                d = Directive(name, STR, default)
            d.immutable = name in _IMMUTABLE
            d.aliases = _ALIASES.get(name, ())
            table[name] = d
    table["save"].parse, table["save"].fmt = _parse_save, _fmt_save
    table["client-output-buffer-limit"].fmt = _fmt_cobl
    table["notify-keyspace-events"].parse = _parse_notify
    table["notify-keyspace-events"].fmt = notify.format_flags
    table["bind"].parse, table["bind"].fmt = str.split, " ".join
    table["unixsocketperm"].parse, table["unixsocketperm"].fmt = _parse_perm, lambda v: "%o" % v
    table["dir"].parse = _parse_dir
    table["dir"].protected = table["dbfilename"].protected = True
    table["oom-score-adj-values"].parse = parse_oom_values
    table["latency-tracking-info-percentiles"].parse = _parse_percentiles
    table["tls-auth-clients"].parse = str
    for name in ("shutdown-on-sigint", "shutdown-on-sigterm"):  # flags: several words, shown in enum order
        table[name].parse = _parse_shutdown_flags
        table[name].multi_arg = True
    table["maxmemory-clients"].parse = _parse_maxmemory_clients
    table["maxmemory-clients"].fmt = lambda v: f"{v[0]}%" if v[1] else str(v[0])
    return table


def parse_oom_values(raw: str) -> str:
    """Validate ``oom-score-adj-values`` (three integers in -2000..2000), as Redis words its errors."""
    parts = raw.split()
    if len(parts) != 3:
        raise ConfigError("wrong number of arguments")
    for p in parts:
        if not re.fullmatch(r"[+-]?\d+", p) or not -2000 <= int(p) <= 2000:
            raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
    vals = [int(p) for p in parts]
    if vals[1] < vals[0] or vals[2] < vals[1]:
        logging.getLogger("pyredis").warning(
            "The oom-score-adj-values configuration may not work for non-privileged processes! "
            "Please consult the documentation.")
    return " ".join(str(v) for v in vals)


_SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")


def _parse_shutdown_flags(v: str) -> str:
    words = v.lower().split()
    if not words or any(w not in _SHUTDOWN_FLAGS for w in words):
        raise ConfigError("argument(s) must be one of the following: " + ", ".join(_SHUTDOWN_FLAGS))
    flags = [f for f in _SHUTDOWN_FLAGS[1:] if f in words]
    return " ".join(flags) if flags else "default"


def _parse_maxmemory_clients(v: str) -> tuple[int, bool]:
    if v.endswith("%"):
        num = v[:-1]
        if not num.isdigit():
            raise ConfigError("argument must be a memory or percent value")
        if int(num) > 100:
            raise ConfigError("percentage argument must be less or equal to 100")
        return int(num), True
    m = parse_memory(v)
    if m is None or m < 0:
        raise ConfigError("argument must be a memory or percent value")
    return m, False


DIRECTIVES = _build()
ALIAS_OF = {alias: d.name for d in DIRECTIVES.values() for alias in d.aliases}


def canonical(name: str) -> str | None:
    """Return the canonical directive name for *name* (case-insensitive, aliases resolved)."""
    n = name.lower()
    if n in DIRECTIVES:
        return n
    return ALIAS_OF.get(n)


def _valid_announced_hostname(v: str) -> None:
    """isValidAnnouncedHostname: under 256 characters of [A-Za-z0-9.-]."""
    if len(v) >= 256:
        raise ConfigError("Hostnames must be less than 256 characters")
    if any(not (c.isascii() and (c.isalnum() or c in "-.")) for c in v):
        raise ConfigError("Hostnames may only contain alphanumeric characters, hyphens or dots")


class Config:
    """The running configuration. ``cfg[name]`` gives the parsed value of a directive."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.listeners: dict[str, list[Callable[[Any], None]]] = {}
        self.appliers: dict[str, list[Callable[[], None]]] = {}
        self.listeners["cluster-announce-hostname"] = [_valid_announced_hostname]
        self.config_file: str | None = None
        self.user_directives: list[list[bytes]] = []  # "user" lines, applied by the ACL module
        self.seen_multi: set[str] = set()  # multi-line directives (save) already met while loading
        self.module_directives: list[list[bytes]] = []  # "loadmodule path [args]" lines (commands/module.py)
        self.command_table: Any = None  # a server.commandtable.CommandTable after "rename-command" lines
        # CONFIG REWRITE: directive name -> function giving its config lines (several "user" lines)
        self.rewrite_providers: dict[str, Callable[[], list[str]]] = {}
        for d in DIRECTIVES.values():
            self.values[d.name] = os.getcwd() if d.name == "dir" else self._parse(d, d.default)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def _parse(self, d: Directive, raw: str) -> Any:
        if d.name == "client-output-buffer-limit":
            return _parse_cobl(raw, self.values.get(d.name))
        if d.parse is not None:
            return d.parse(raw)
        kind = d.kind
        if kind == BOOL:
            low = raw.lower()
            if low not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return low == "yes"
        if kind == INT:
            try:
                v = int(raw)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            if not d.lo <= v <= d.hi:
                raise ConfigError(f"argument must be between {d.lo} and {d.hi} inclusive")
            return v
        if kind == MEM:
            mem = parse_memory(raw)
            if mem is None:
                raise ConfigError("argument must be a memory value")
            if mem < 0 and d.name != "maxmemory":
                raise ConfigError("argument must be a memory value")
            if not d.lo <= mem <= d.hi:
                raise ConfigError(f"argument must be between {d.lo} and {d.hi} inclusive")
            return mem
        if kind == ENUM:
            low = raw.lower()
            if low not in d.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(d.choices))
            return low
        return raw

    def format(self, name: str) -> str:
        """The value of *name* as CONFIG GET shows it."""
        d = DIRECTIVES[name]
        v = self.values[name]
        if d.fmt is not None:
            return d.fmt(v)
        if d.kind == BOOL:
            return "yes" if v else "no"
        return str(v)

    def set(self, name: str, raw: str, *, startup: bool = True) -> None:
        """Set directive *name* from its string form; raises :class:`ConfigError`."""
        cname = canonical(name)
        if cname is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        d = DIRECTIVES[cname]
        if not startup and d.immutable:
            raise ConfigError("can't set immutable config")
        value = self._parse(d, raw)
        old = self.values.get(cname)
        self.values[cname] = value
        try:
            for fn in self.listeners.get(cname, ()):
                fn(value)
        except ConfigError:
            self.values[cname] = old
            raise

    def on_apply(self, name: str, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once after a CONFIG SET that changed *name* (and maybe other directives sharing
        *fn*), when every value of the command is in place: Redis's "apply" functions, for settings that
        only make sense together (a certificate and its key). It may raise ConfigError to refuse."""
        self.appliers.setdefault(name, []).append(fn)

    def on_change(self, name: str, fn: Callable[[Any], None]) -> None:
        """Call ``fn(new_value)`` whenever *name* changes (it may raise ConfigError to refuse)."""
        self.listeners.setdefault(name, []).append(fn)

    def names(self) -> list[str]:
        """Every directive name CONFIG GET patterns list, aliases included (hidden ones excluded)."""
        out = [n for n in DIRECTIVES if n not in HIDDEN]
        out.extend(ALIAS_OF)
        return out
