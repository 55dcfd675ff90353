"""Server commands (server.c, config.c): INFO, CONFIG, TIME, SHUTDOWN, SLOWLOG, MEMORY, LATENCY."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable

from pyredis import REDIS_VERSION, _speedups
from pyredis.commands.args import get_int
from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import COMMANDS, all_commands, command, help_lines, subcommand
from pyredis.engine.glob import compile_glob
from pyredis.protocol.types import NOREPLY, OK, MapReply, Status, Verbatim
from pyredis.server import protected
from pyredis.server.config import DIRECTIVES, ConfigError, canonical

InfoSection = Callable[..., list[tuple[str, object]]]

DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
                    "errorstats", "cluster", "keyspace"]
ALL_SECTIONS = DEFAULT_SECTIONS[:7] + ["commandstats", "errorstats", "latencystats", "cluster", "keyspace"]
EVERYTHING = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
              "commandstats", "errorstats", "latencystats", "cluster", "keyspace"]


def _rss() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def human_bytes(n: float) -> str:
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return f"{int(n)}B"


def used_memory(server) -> int:
    """INFO used_memory: the eviction subsystem's dataset estimate."""
    return server.eviction.used_memory()


def _server_section(srv) -> list:
    import platform  # on first INFO: ~0.1 MB of start-up RSS otherwise

    from pyredis.persistence import accel as rdb_accel  # loads the compiled RDB codec (~0.25 MB of RSS)

    now = time.time()
    up = int(now - srv.start_time)
    cfg = srv.config
    return [
        ("redis_version", REDIS_VERSION), ("redis_git_sha1", "00000000"), ("redis_git_dirty", 0),
        ("redis_build_id", "pyredis"), ("redis_mode", "cluster" if srv.cluster is not None else "standalone"),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"), ("arch_bits", 64),
        ("monotonic_clock", "POSIX clock_gettime"), ("multiplexing_api", "epoll"),
        ("atomicvar_api", "c11-builtin"), ("gcc_version", "0.0.0"), ("process_id", os.getpid()),
        ("process_supervised", "no"), ("run_id", srv.run_id), ("tcp_port", srv.port),
        ("server_time_usec", int(now * 1_000_000)), ("uptime_in_seconds", up), ("uptime_in_days", up // 86400),
        ("hz", cfg["hz"]), ("configured_hz", cfg["hz"]), ("lru_clock", int(now) & ((1 << 24) - 1)),
        ("executable", os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""),
        ("config_file", cfg.config_file or ""), ("io_threads_active", 0),
        ("python_version", platform.python_version()), ("pyredis_accelerator", _speedups.ACTIVE),
        ("pyredis_rdb_accelerator", rdb_accel.ACTIVE),
    ] + ([("shutdown_in_milliseconds", ms)] if (ms := srv.persistence.shutdown_remaining_ms()) is not None else [])


def _clients_section(srv) -> list:
    return [
        ("connected_clients", len(srv.clients) - len(srv.replication.master.replicas)), ("cluster_connections", srv.cluster.connections() if srv.cluster is not None else 0),
        ("maxclients", srv.config["maxclients"]), ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", 0), ("blocked_clients", srv.blocking.count() + srv.persistence.shutdown_blocked()),
        ("tracking_clients", len(srv.tracking.clients)), ("clients_in_timeout_table", 0),
    ] + ([("gateway_clients", len(srv.gateway.sessions()))] if srv.gateway is not None else [])


def _memory_section(srv) -> list:
    used = used_memory(srv)
    rss = _rss()
    peak = srv.stats.peak_memory = max(srv.stats.peak_memory, used)
    maxmem = srv.config["maxmemory"]
    return [
        ("used_memory", used), ("used_memory_human", human_bytes(used)), ("used_memory_rss", rss),
        ("used_memory_rss_human", human_bytes(rss)), ("used_memory_peak", peak),
        ("used_memory_peak_human", human_bytes(peak)), ("used_memory_peak_perc", f"{used * 100 / peak:.2f}%"),
        ("used_memory_overhead", 0), ("used_memory_startup", 0), ("used_memory_dataset", used),
        ("used_memory_dataset_perc", "100.00%"), ("total_system_memory", _total_memory()),
        ("total_system_memory_human", human_bytes(_total_memory())), *_scripting_memory(srv.scripting),
        ("maxmemory", maxmem), ("maxmemory_human", human_bytes(maxmem)),
        ("maxmemory_policy", srv.config["maxmemory-policy"]), ("mem_fragmentation_ratio", "1.00"),
        ("mem_fragmentation_bytes", 0), ("mem_not_counted_for_evict", 0),
        *srv.replication.memory_info(), ("mem_clients_normal", srv.client_eviction.total()),
        ("mem_cluster_links", 0), ("mem_aof_buffer", 0), ("mem_allocator", "libc"),
        ("active_defrag_running", 0), ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", srv.stats.lazyfreed_objects),
    ]


def _scripting_memory(sc) -> list:
    m = sc.memory_info()
    vm_eval, vm_total, caches = m["vm_eval"], m["vm_eval"] + m["vm_functions"], m["scripts_eval"] + m["functions"]
    return [
        ("used_memory_lua", vm_eval), ("used_memory_vm_eval", vm_eval), ("used_memory_lua_human", human_bytes(vm_eval)),
        ("used_memory_scripts_eval", m["scripts_eval"]), ("number_of_cached_scripts", len(sc.scripts)),
        ("number_of_functions", len(sc.functions)), ("number_of_libraries", len(sc.libraries)),
        ("used_memory_vm_functions", m["vm_functions"]), ("used_memory_vm_total", vm_total),
        ("used_memory_vm_total_human", human_bytes(vm_total)), ("used_memory_functions", m["functions"]),
        ("used_memory_scripts", caches), ("used_memory_scripts_human", human_bytes(caches)),
    ]


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, AttributeError, OSError):
        return 0


def _persistence_section(srv) -> list:
    return list(srv.persistence.info(srv))


def _stats_section(srv) -> list:
    ks = srv.keyspace
    ps = srv.pubsub
    stats = srv.stats
    tt = srv.tracking
    return [
        ("total_connections_received", srv.stat_connections), ("total_commands_processed", srv.stat_commands),
        ("instantaneous_ops_per_sec", srv.ops_per_sec()), ("total_net_input_bytes", srv.stat_net_in),
        ("total_net_output_bytes", srv.stat_net_out), ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", srv.replication.master.net_repl_out), ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"), ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"), ("rejected_connections", srv.stat_rejected_conn),
        ("sync_full", srv.replication.stat_sync_full), ("sync_partial_ok", srv.replication.stat_sync_partial_ok),
        ("sync_partial_err", srv.replication.stat_sync_partial_err), ("expired_keys", ks.expired_keys),
        ("expired_stale_perc", "0.00"), ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0), ("evicted_keys", stats.evicted_keys),
        ("evicted_clients", stats.evicted_clients), ("total_eviction_exceeded_time", 0), ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", ks.hits), ("keyspace_misses", ks.misses),
        ("pubsub_channels", ps.num_channels() if ps is not None and hasattr(ps, "num_channels") else 0),
        ("pubsub_patterns", ps.num_patterns() if ps is not None and hasattr(ps, "num_patterns") else 0),
        ("pubsubshard_channels", ps.num_shard_channels() if ps is not None and hasattr(ps, "num_shard_channels")
         else 0),
        ("latest_fork_usec", stats.latest_fork_usec), ("total_forks", stats.total_forks),
        ("migrate_cached_sockets", len(srv.migrate_sockets)), ("slave_expires_tracked_keys", 0), ("active_defrag_hits", 0),
        ("active_defrag_misses", 0), ("active_defrag_key_hits", 0), ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0), ("current_active_defrag_time", 0),
        ("tracking_total_keys", len(tt.table)), ("tracking_total_items", tt.total_items()),
        ("tracking_total_prefixes", len(tt.prefixes)),
        ("unexpected_error_replies", srv.replication.stat_unexpected_error_replies), ("total_error_replies", srv.stat_errors),
        ("dump_payload_sanitizations", 0), ("total_reads_processed", srv.stat_commands),
        ("total_writes_processed", srv.stat_commands), ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0), ("reply_buffer_shrinks", stats.reply_buffer_shrinks),
        ("reply_buffer_expands", stats.reply_buffer_expands),
    ]


def _replication_section(srv) -> list:
    return srv.replication.info()


def _cpu_section(srv) -> list:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rc = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        ("used_cpu_sys", f"{ru.ru_stime:.6f}"), ("used_cpu_user", f"{ru.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{rc.ru_stime:.6f}"), ("used_cpu_user_children", f"{rc.ru_utime:.6f}"),
        ("used_cpu_sys_main_thread", f"{ru.ru_stime:.6f}"), ("used_cpu_user_main_thread", f"{ru.ru_utime:.6f}"),
    ]


def _modules_section(srv) -> list:
    m = srv.modules_if_used  # a server whose modules subsystem was never used has loaded none
    return m.info_lines() if m is not None else []


def _commandstats_section(srv) -> list:
    out = []
    for cmd in all_commands():
        if cmd.calls or cmd.rejected or cmd.failed:
            per = cmd.usec / cmd.calls if cmd.calls else 0.0
            out.append((f"cmdstat_{cmd.fullname}", f"calls={cmd.calls},usec={cmd.usec},usec_per_call={per:.2f},"
                        f"rejected_calls={cmd.rejected},failed_calls={cmd.failed}"))
    return out


def _errorstats_section(srv) -> list:
    return [(f"errorstat_{code}", f"count={n}") for code, n in sorted(srv.error_stats.items())]


def _latencystats_section(srv) -> list:
    cfg = srv.config.values
    if not cfg.get("latency-tracking"):
        return []
    names = cfg.get("latency-tracking-info-percentiles", "").split()
    out = []
    for cmd in all_commands():
        if cmd.calls:
            per = cmd.usec / cmd.calls  # per-call histograms are not kept: every percentile shows the mean
            out.append((f"latency_percentiles_usec_{cmd.fullname}", ",".join(f"p{n}={per:.3f}" for n in names)))
    return out


def _keyspace_section(srv) -> list:
    out = []
    for db in srv.keyspace.dbs:
        if db.data:
            out.append((f"db{db.id}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl={db.avg_ttl}"))
    return out


SECTIONS: dict[str, InfoSection] = {
    "server": _server_section, "clients": _clients_section, "memory": _memory_section,
    "persistence": _persistence_section, "stats": _stats_section, "replication": _replication_section,
    "cpu": _cpu_section, "modules": _modules_section, "commandstats": _commandstats_section,
    "errorstats": _errorstats_section, "latencystats": _latencystats_section,
    "cluster": lambda srv: [("cluster_enabled", int(srv.cluster is not None))], "keyspace": _keyspace_section,
}


def info_text(srv, args: list[bytes]) -> str:
    """Build the INFO text for the requested sections (Redis 7.0 rules for default/all/everything)."""
    names = [a.decode("utf-8", "replace").lower() for a in args]
    wanted: list[str] = []
    if not names:
        wanted = list(DEFAULT_SECTIONS)
    for n in names:
        group = {"default": DEFAULT_SECTIONS, "all": ALL_SECTIONS, "everything": EVERYTHING}.get(n)
        for s in group or [n]:
            if s not in wanted:
                wanted.append(s)
    order = EVERYTHING + [s for s in wanted if s not in EVERYTHING]
    parts = []
    for s in order:
        if s not in wanted:
            continue
        fn = SECTIONS.get(s)
        if fn is None:
            continue
        lines = [f"# {s.capitalize()}"]
        lines += [f"{k}:{v}" for k, v in fn(srv)]
        parts.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(parts)


@command("info", -1, "loading stale")
def cmd_info(c, argv):
    return Verbatim(info_text(c.server, argv[1:]).encode())


# -- CONFIG ------------------------------------------------------------------------------------------
@subcommand("config", "get", -3, "admin noscript loading stale")
def cmd_config_get(c, argv):
    cfg = c.server.config
    seen: dict[str, str] = {}
    for pat in argv[2:]:
        p = pat.decode("utf-8", "replace").lower()
        if not any(ch in p for ch in "*?[\\"):
            name = canonical(p)
            if name is not None:
                seen[p] = cfg.format(name)
            continue
        match = compile_glob(p.encode())
        for name in cfg.names():
            if name not in seen and match(name.encode()):
                seen[name] = cfg.format(canonical(name))
    out = MapReply()
    for k, v in seen.items():
        out += [k.encode(), v.encode("utf-8", "surrogateescape")]
    return out


#: parameters CONFIG SET refuses while the dataset loads (Redis's DENY_LOADING_CONFIG flag)
DENY_LOADING_CONFIGS = frozenset({"appendonly", "repl-diskless-load", "dir"})


@subcommand("config", "set", -4, "admin noscript loading stale")
def cmd_config_set(c, argv):
    if len(argv) % 2:
        raise CommandError("ERR wrong number of arguments for 'config|set' command")
    cfg = c.server.config
    pairs: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for i in range(2, len(argv), 2):
        raw_name = argv[i].decode("utf-8", "replace")
        name = canonical(raw_name)
        if name is None:
            raise CommandError(f"ERR Unknown option or number of arguments for CONFIG SET - '{raw_name}'")
        if name in seen:
            raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{raw_name}') - "
                               "duplicate parameter")
        seen.add(name)
        d = DIRECTIVES[name]
        if d.immutable:
            raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{raw_name}') - "
                               "can't set immutable config")
        if d.protected and not protected.allowed(c.server.config["enable-protected-configs"], c):
            raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{raw_name}') - "
                               "can't set protected config")
        if name in DENY_LOADING_CONFIGS and c.server.persistence.loading:
            raise CommandError("LOADING Redis is loading the dataset in memory")
        pairs.append((raw_name, name, argv[i + 1].decode("utf-8", "surrogateescape")))
    old = {name: cfg.values[name] for _, name, _ in pairs}
    done = []

    def rollback() -> None:
        for n in done:
            cfg.values[n] = old[n]
            for fn in cfg.listeners.get(n, ()):
                try:
                    fn(old[n])
                except ConfigError:
                    pass

    for raw_name, name, value in pairs:
        try:
            cfg.set(name, value, startup=False)
            done.append(name)
        except ConfigError as e:
            rollback()
            raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{raw_name}') - {e}") from None
    applied: list = []  # each apply function once, after every value is set (Redis's apply functions)
    for raw_name, name, _ in pairs:
        for fn in cfg.appliers.get(name, ()):
            if fn in applied:
                continue
            applied.append(fn)
            try:
                fn()
            except ConfigError as e:
                rollback()
                raise CommandError(
                    f"ERR CONFIG SET failed (possibly related to argument '{raw_name}') - {e}") from None
    return OK


@subcommand("config", "resetstat", 2, "admin noscript loading stale")
def cmd_config_resetstat(c, argv):
    srv = c.server
    srv.stat_connections = srv.stat_rejected_conn = 0
    srv.stat_net_in = srv.stat_net_out = srv.stat_errors = 0
    srv.error_stats.clear()
    srv.stats.reset()
    srv.keyspace.hits = srv.keyspace.misses = srv.keyspace.expired_keys = 0
    for cmd in all_commands():
        cmd.calls = cmd.usec = cmd.rejected = cmd.failed = 0
    for hook in srv.events.stats_reset:
        hook(srv)
    return OK


@subcommand("config", "rewrite", 2, "admin noscript loading stale")
def cmd_config_rewrite(c, argv):
    from pyredis.server.configfile import rewrite_config_file

    cfg = c.server.config
    if not cfg.config_file:
        raise CommandError("ERR The server is running without a config file")
    try:
        rewrite_config_file(cfg)
    except OSError as e:
        raise CommandError(f"ERR Rewriting config file: {e.strerror}") from None
    return OK


@subcommand("config", "help", 2, "loading stale")
def cmd_config_help(c, argv):
    return help_lines("config")


# -- misc ----------------------------------------------------------------------------------------------
@command("time", 1, "loading stale fast")
def cmd_time(c, argv):
    now = time.time()
    sec = int(now)
    return [b"%d" % sec, b"%d" % int((now - sec) * 1_000_000)]


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy")
def cmd_shutdown(c, argv):
    flags = set()
    for a in argv[1:]:
        o = a.lower()
        if o not in (b"nosave", b"save", b"now", b"force", b"abort"):
            raise syntax_error()
        flags.add(o.decode())
    if "nosave" in flags and "save" in flags:
        raise syntax_error()
    srv = c.server
    pers = srv.persistence
    if "abort" in flags:
        if len(flags) > 1:
            raise syntax_error()
        if not pers.abort_shutdown(srv):
            raise CommandError("ERR No shutdown in progress.")
        return OK
    err = pers.begin_shutdown(srv, flags, c)
    if err:
        raise CommandError(err)
    if not pers.shutdown_initiated():  # stopping now (else blocked until the replicas caught up)
        c.close()
    return NOREPLY


@subcommand("slowlog", "get", -2, "admin loading stale")
def cmd_slowlog_get(c, argv):
    n = 10
    if len(argv) == 3:
        n = get_int(argv[2], "ERR count should be greater than or equal to -1")
        if n < -1:
            raise CommandError("ERR count should be greater than or equal to -1")
        if n == -1:
            n = len(c.server.slowlog)
    elif len(argv) > 3:
        raise CommandError("ERR wrong number of arguments for 'slowlog|get' command")
    return [list(e) for e in list(c.server.slowlog)[:n]]


@subcommand("slowlog", "len", 2, "admin loading stale")
def cmd_slowlog_len(c, argv):
    return len(c.server.slowlog)


@subcommand("slowlog", "reset", 2, "admin loading stale")
def cmd_slowlog_reset(c, argv):
    c.server.slowlog.clear()
    return OK


@subcommand("slowlog", "help", 2, "loading stale")
def cmd_slowlog_help(c, argv):
    return help_lines("slowlog")


def value_memory(v) -> int:
    """Approximate memory of a value, in the spirit of MEMORY USAGE."""
    if type(v) is bytes:
        return len(v) + 16
    fn = getattr(v, "memory_usage", None)
    if fn is not None:
        return fn()
    return sys.getsizeof(v)


@subcommand("memory", "usage", -3, "readonly", 2, 2, 1)
def cmd_memory_usage(c, argv):
    if len(argv) == 5 and argv[3].lower() == b"samples":
        get_int(argv[4])
    elif len(argv) != 3:
        raise syntax_error()
    v = c.db.get(argv[2])
    if v is None:
        return None
    return value_memory(v) + len(argv[2]) + 24


@subcommand("memory", "doctor", 2, "")
def cmd_memory_doctor(c, argv):
    return Verbatim(b"Hi Sam, I can't find any memory issue in your instance. I can only account for what "
                    b"occurs on this base.")


@subcommand("memory", "stats", 2, "")
def cmd_memory_stats(c, argv):
    used = used_memory(c.server)
    return MapReply([b"peak.allocated", used, b"total.allocated", used, b"startup.allocated", 0,
                     b"keys.count", sum(len(db.data) for db in c.server.keyspace.dbs), b"dataset.bytes", used])


@subcommand("memory", "malloc-stats", 2, "")
def cmd_memory_malloc_stats(c, argv):
    return b"Stats not supported for the current allocator"


@subcommand("memory", "purge", 2, "")
def cmd_memory_purge(c, argv):
    import gc

    gc.collect()
    return OK


@subcommand("memory", "help", 2, "loading stale")
def cmd_memory_help(c, argv):
    return help_lines("memory")


@subcommand("latency", "latest", 2, "admin noscript loading stale")
def cmd_latency_latest(c, argv):
    out = []
    for name, samples in c.server.latency_events.items():
        if samples:
            ts, ms = samples[-1]
            out.append([name.encode(), ts, ms, max(s[1] for s in samples)])
    return out


@subcommand("latency", "history", 3, "admin noscript loading stale")
def cmd_latency_history(c, argv):
    samples = c.server.latency_events.get(argv[2].decode("utf-8", "replace"), [])
    return [[ts, ms] for ts, ms in samples]


@subcommand("latency", "reset", -2, "admin noscript loading stale")
def cmd_latency_reset(c, argv):
    ev = c.server.latency_events
    if len(argv) == 2:
        n = len(ev)
        ev.clear()
        return n
    n = 0
    for name in argv[2:]:
        if ev.pop(name.decode("utf-8", "replace"), None) is not None:
            n += 1
    return n


@subcommand("latency", "doctor", 2, "admin noscript loading stale")
def cmd_latency_doctor(c, argv):
    if not c.server.config["latency-monitor-threshold"]:
        return Verbatim(b"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
                        b"You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable "
                        b"it. If we weren't in a deep space mission I'd suggest to take a look at "
                        b"https://redis.io/topics/latency-monitor.\n")
    return Verbatim(b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
                    b"slightest bit. I honestly think you ought to sleep tonight.\n")


@subcommand("latency", "graph", 3, "admin noscript loading stale")
def cmd_latency_graph(c, argv):
    name = argv[2].decode("utf-8", "replace")
    if name not in c.server.latency_events:
        raise CommandError(f"ERR No samples available for event '{name}'")
    return Verbatim(f"{name} - high {max(s[1] for s in c.server.latency_events[name])} ms\n".encode())


@subcommand("latency", "histogram", -2, "admin noscript loading stale")
def cmd_latency_histogram(c, argv):
    from pyredis.commands.registry import lookup_path

    if len(argv) > 2:
        cmds = []
        for a in argv[2:]:
            cmd = lookup_path(a.decode("utf-8", "replace"))
            if cmd is not None and cmd.subcommands and "|" not in a.decode("utf-8", "replace"):
                cmds.extend(cmd.subcommands.values())  # a parent command means its subcommands
            cmds.append(cmd)
    else:
        cmds = all_commands()
    out = MapReply()
    for cmd in cmds:
        if cmd is None or not cmd.calls:
            continue
        out += [cmd.fullname.encode(), MapReply([b"calls", cmd.calls, b"histogram_usec", MapReply()])]
    return out


@subcommand("latency", "help", 2, "loading stale")
def cmd_latency_help(c, argv):
    return help_lines("latency")


@command("lolwut", -1, "readonly fast")
def cmd_lolwut(c, argv):
    return Verbatim(f"pyredis ver. {REDIS_VERSION}\n".encode())


__all__ = ["info_text", "COMMANDS", "Status"]
