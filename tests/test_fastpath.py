"""The fast path agrees with the full path: both parsers and all three batch paths (full path only,
pure-Python fast handlers, compiled accelerator) fed the same byte streams (valid, split anywhere,
malformed, oversized) give the same replies, keyspace, statistics and connection state."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyredis import _speedups
from pyredis.protocol.parser import ProtocolError, RequestParser
from pyredis.server import fastpath
from pyredis.server.app import Server
from pyredis.server.connection import Connection

ACCEL = _speedups.hotpath
MODES = ["full", "python"] + (["cython"] if ACCEL is not None else [])


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default=None):
        return default

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


def enc(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _reset_command_stats() -> None:
    from pyredis.commands.registry import all_commands

    for c in all_commands():  # the registry is process-wide: other tests' counts must not leak in
        c.calls = c.usec = c.failed = c.rejected = 0


def _untimed(argv: list[bytes]) -> list[bytes]:
    """Absolute expiry times (which depend on the clock) replaced by a placeholder."""
    out = list(argv)
    for i in range(1, len(out)):
        if out[i - 1].upper() in (b"PXAT", b"EXAT") or (i == 2 and out[0].upper() in (b"PEXPIREAT", b"EXPIREAT")):
            out[i] = b"<time>"
    return out


def run_stream(mode: str, chunks: list[bytes], max_bulk: int | None = None, record: bool = False) -> tuple:
    """Feed *chunks* to one connection of a fresh server in *mode*; return everything observable
    (with *record*, also what was propagated to a propagation target)."""
    _reset_command_stats()
    saved = _speedups.hotpath
    _speedups.hotpath = ACCEL if mode == "cython" else None
    fastpath.ENABLED = mode != "full"
    try:
        srv = Server()
        srv.config.values["protected-mode"] = False  # the fake transport has no loopback address
        if max_bulk is not None:
            srv.config.values["proto-max-bulk-len"] = max_bulk
        propagated: list = []
        if record:
            srv.propagators.append(lambda dbid, argv: propagated.append((dbid, _untimed(argv))))
        conn = Connection(srv)
        t = FakeTransport()
        conn.connection_made(t)
        for ch in chunks:
            if conn.closed:
                break
            conn.data_received(ch)
        assert not t.data.startswith(b"-DENIED")
        ks = srv.keyspace
        dbs = tuple((db.id, sorted((k, repr(v)) for k, v in db.data.items()), sorted(db.expires))
                    for db in ks.dbs if db.data or db.expires)
        from pyredis.commands.registry import all_commands

        calls = sorted((c.fullname, c.calls, c.failed, c.rejected) for c in all_commands()
                       if c.calls or c.failed or c.rejected)
        state = (conn.db.id, conn.multi is not None, conn.reply_mode, conn.close_asap, conn.closed,
                 len(conn.pending), conn.parser.buffered, t.closed)
        return bytes(t.data), dbs, calls, (ks.hits, ks.misses, srv.dirty, srv.stat_errors), state, propagated
    finally:
        _speedups.hotpath = saved
        fastpath.ENABLED = True
        _reset_command_stats()


def assert_same(chunks: list[bytes], max_bulk: int | None = None, record: bool = False) -> None:
    ref = run_stream("full", chunks, max_bulk, record)
    for mode in MODES[1:]:
        got = run_stream(mode, chunks, max_bulk, record)
        assert got[0] == ref[0], f"{mode}: replies differ"
        assert got == ref, mode


# -- command generators ---------------------------------------------------------------------------------
KEYS = [b"k1", b"k2", b"n", b"l", b"s", b"h", b"z", b"K1"]
VALS = [b"", b"v", b"0", b"1", b"-1", b"007", b"9223372036854775807", b"-9223372036854775808",
        b"12345678901234567890", b"x" * 40, b"y" * 70, b"\r\n", b"3.5", b"-0", b"+1", b"inf"]
NAMES = [b"GET", b"get", b"Get", b"gEt", b"SET", b"set", b"INCR", b"DECR", b"INCRBY", b"DECRBY", b"MGET",
         b"MSET", b"EXISTS", b"DEL", b"PING", b"LPUSH", b"RPUSH", b"LPOP", b"RPOP", b"LRANGE", b"SADD",
         b"SISMEMBER", b"HSET", b"HGET", b"ZADD", b"ZSCORE", b"ZRANGE", b"zrevrange", b"ZCARD", b"ZRANK", b"ZCOUNT",
         b"ZRANGEBYSCORE", b"ECHO", b"TYPE"]
# Commands flipping a switch or creating the cases the fast handlers must decline.
SWITCHES = [
    [b"MULTI"], [b"EXEC"], [b"DISCARD"], [b"WATCH", b"k1"], [b"UNWATCH"], [b"SELECT", b"1"],
    [b"SELECT", b"0"], [b"CLIENT", b"REPLY", b"SKIP"], [b"CLIENT", b"REPLY", b"OFF"],
    [b"CLIENT", b"REPLY", b"ON"], [b"HELLO", b"3"], [b"HELLO", b"2"], [b"EXPIRE", b"k1", b"100"],
    [b"SET", b"k2", b"v", b"EX", b"100"], [b"PERSIST", b"k1"], [b"FLUSHDB"], [b"SUBSCRIBE", b"ch"],
    [b"UNSUBSCRIBE"], [b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"],
    [b"CONFIG", b"SET", b"notify-keyspace-events", b""], [b"OBJECT", b"FREQ", b"k1"],
    [b"DBSIZE"], [b"SET", b"k1", b"v", b"GET"], [b"QUIT"], [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"2"],
    [b"CONFIG", b"SET", b"set-max-intset-entries", b"2"], [b"CONFIG", b"SET", b"zset-max-listpack-entries", b"1"],
] + [[b"OBJECT", b"ENCODING", k] for k in (b"l", b"s", b"h", b"z", b"n", b"k1")]

argv_fast = st.builds(lambda name, args: [name] + args, st.sampled_from(NAMES),
                      st.lists(st.sampled_from(KEYS + VALS), max_size=5))
argv_any = st.one_of(argv_fast, argv_fast, argv_fast, st.sampled_from(SWITCHES))
streams = st.lists(argv_any, min_size=1, max_size=25).map(lambda cmds: b"".join(enc(*a) for a in cmds))


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    pts = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in pts + [len(data)]:
        out.append(data[prev:p])
        prev = p
    return [c for c in out if c]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams, st.lists(st.integers(min_value=0, max_value=10_000), max_size=4))
def test_batch_paths_agree(data, cuts):
    assert_same(_splits(data, cuts))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams)
def test_propagation_agrees(data):
    """With a propagation target (AOF, replicas), the same commands reach it on every path."""
    assert_same([data], record=True)


def test_propagating_only_with_a_live_target():
    srv = Server()
    repl = srv.replication
    assert srv.propagators and not fastpath.propagating(srv)  # the replication feed, nothing to feed
    repl.create_backlog()
    assert fastpath.propagating(srv)
    repl.masterhost = "127.0.0.1"  # a replica: its master's stream is proxied, not fed
    assert not fastpath.propagating(srv)
    repl.masterhost = None
    repl.backlog = None
    srv.propagators.append(lambda dbid, argv: None)  # e.g. the AOF
    assert fastpath.propagating(srv)


def test_split_at_every_byte():
    data = b"".join(enc(*a) for a in [
        [b"SET", b"k1", b"v"], [b"INCR", b"n"], [b"GET", b"k1"], [b"MSET", b"a", b"1", b"b", b"2"],
        [b"MGET", b"a", b"b", b"zz"], [b"LPUSH", b"l", b"x", b"y"], [b"RPOP", b"l"], [b"PING"],
        [b"MULTI"], [b"INCR", b"n"], [b"EXEC"], [b"GET", b"l"], [b"EXISTS", b"a", b"l"],
    ]) + b"PING inline\r\n" + enc(b"GET", b"a")
    for k in range(1, len(data)):
        assert_same([data[:k], data[k:]])


malformed = st.sampled_from([
    b"*2\r\n$3\r\nGET\r\n$-5\r\n", b"*1\r\n$04\r\nPING\r\n", b"*01\r\n$4\r\nPING\r\n", b"*2\r\n:3\r\nGET\r\n",
    b"*-1\r\n", b"*0\r\n", b"*1\r\n$4\r\nPINGxx", b"*1\n$4\nPING\n", b"*1\r\n$4\r\nPING\r\r",
    b"*3000000000\r\n", b"*1\r\n$99999999999999999999\r\n", b"PING\r\n", b"  \r\n", b"\"unbalanced\r\n",
    b"*1\r\n$+4\r\nPING\r\n", b"*\r\n", b"$4\r\nPING\r\n", b"*1\r\n$2\r\nGET\r\n",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(argv_fast.map(lambda a: enc(*a)), malformed), min_size=1, max_size=8),
       st.lists(st.integers(min_value=0, max_value=1000), max_size=2))
def test_malformed_streams(parts, cuts):
    assert_same(_splits(b"".join(parts), cuts))


def test_oversized_bulk():
    big = enc(b"SET", b"k1", b"x" * 100) + enc(b"GET", b"k1")
    assert_same([big], max_bulk=50)
    assert_same([enc(b"SET", b"k1", b"x" * 100_000), enc(b"GET", b"k1")])
    many = enc(b"MSET", *[b"k%d" % i for i in range(2001)])
    assert_same([many[:5000], many[5000:]])


def _reference(data: bytes):
    p = RequestParser()
    try:
        return p.feed(data), None
    except ProtocolError as e:
        return e.commands, e.message


@pytest.mark.skipif(ACCEL is None, reason="accelerator not built")
@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(argv_fast.map(lambda a: enc(*a)), malformed, st.binary(max_size=12)), max_size=8))
def test_parsers_agree(parts):
    data = b"".join(parts)
    cmds, off = ACCEL.parse(data)
    assert 0 <= off <= len(data)
    rest, err = _reference(data[off:])
    ref, ref_err = _reference(data)
    assert (cmds + rest, err) == (ref, ref_err)


@pytest.mark.skipif(ACCEL is None, reason="accelerator not built")
def test_compiled_allowed_matches_python():
    """The accelerator's copy of the "fast path allowed" state agrees with fastpath.allowed."""
    from pyredis.server.client import Client

    srv = Server()
    c = Client(srv, 1)
    flips = [
        (srv, "gate", True), (srv.keyspace, "notify_flags", 1), (srv.keyspace, "track_lru", True),
        (srv.keyspace, "frozen_time", 1), (srv.keyspace, "loading", True), (c, "multi", []),
        (c, "authenticated", False), (c, "acl_restricted", True), (c, "reply_mode", 1), (c, "tracking", object()),
        (c, "blocked", object()), (c, "close_asap", True), (c, "in_exec", True), (c, "in_script", True),
        (srv.keyspace, "tracking_hook", print),
    ]
    assert fastpath.allowed(srv, c) and ACCEL.fast_allowed(srv, c)
    for obj, attr, value in flips:
        old = getattr(obj, attr)
        setattr(obj, attr, value)
        assert not fastpath.allowed(srv, c) and not ACCEL.fast_allowed(srv, c), attr
        setattr(obj, attr, old)
    for container in (srv.ready_keys, srv.events.after_command):
        container.append(1)
        assert not fastpath.allowed(srv, c) and not ACCEL.fast_allowed(srv, c)
        container.pop()
    c.db.watched[b"k"] = [c]
    assert not fastpath.allowed(srv, c) and not ACCEL.fast_allowed(srv, c)
    del c.db.watched[b"k"]
    c.db.blocked[b"k"] = [c]
    assert not fastpath.allowed(srv, c) and not ACCEL.fast_allowed(srv, c)
    del c.db.blocked[b"k"]
    c.channels.add(b"ch")
    assert not fastpath.allowed(srv, c) and not ACCEL.fast_allowed(srv, c)
    c.resp = 3
    assert fastpath.allowed(srv, c) and ACCEL.fast_allowed(srv, c)


@pytest.mark.skipif(ACCEL is None, reason="accelerator not built")
def test_compiled_propagating_matches_python():
    """The accelerator's copy of "is there a live propagation target" agrees with fastpath.propagating."""
    srv = Server()
    repl = srv.replication

    def agree() -> bool:
        want = fastpath.propagating(srv)
        assert ACCEL.fast_propagating(srv) is want
        return want

    assert not agree()  # only the replication feed, with nothing to feed
    repl.backlog = object()
    assert agree()  # a master with a backlog
    repl.masterhost = "127.0.0.1"
    assert not agree()  # a replica: it proxies the master's stream, it does not feed
    srv.propagators.append(print)
    assert agree()  # another target (the AOF)
    repl.backlog = repl.masterhost = None
    srv.propagators.clear()
    assert not agree()
    srv.replication = None
    srv.propagators.append(print)
    assert agree()


def test_info_reports_accelerator():
    from pyredis.commands.server import _server_section

    fields = dict(_server_section(Server()))
    assert fields["pyredis_accelerator"] == _speedups.ACTIVE


def test_sticky_gate_cleared_after_startup_load(tmp_path):
    """The start-up loader holds the gate only while loading (it used to leave it set for good)."""
    import asyncio

    from pyredis.server.config import Config

    cfg = Config()
    cfg.values["dir"] = str(tmp_path)
    srv = Server(cfg)
    mgr = getattr(srv, "persistence", None) or srv.extensions["persistence"]
    asyncio.run(mgr._load_serving())
    assert not srv.gate and "loading" not in srv.gate_reasons


class BackloggedTransport(FakeTransport):
    """A transport whose write buffer already holds *wbs* bytes (the peer reads slowly)."""

    def __init__(self, wbs: int) -> None:
        super().__init__()
        self.wbs = wbs

    def get_write_buffer_size(self) -> int:
        return self.wbs


def _io_state(mode: str, chunks: list[bytes], wbs: int, config: dict) -> tuple:
    """Replies and the connection's read/write accounting after *chunks* in *mode*."""
    saved = _speedups.hotpath
    _speedups.hotpath = ACCEL if mode == "cython" else None
    fastpath.ENABLED = mode != "full"
    try:
        srv = Server()
        srv.config.values["protected-mode"] = False
        for k, v in config.items():
            srv.config.set(k, v)
        conn = Connection(srv)
        t = BackloggedTransport(wbs)
        conn.connection_made(t)
        conn.last_interaction = 0.0
        for ch in chunks:
            if conn.closed:
                break
            conn.data_received(ch)
        return (bytes(t.data), t.closed, conn.closed, conn.close_asap, conn.rbp, conn.qbuf_peak, conn.qbuf_alloc,
                conn.obuf_soft_since is None, srv.stat_net_in, srv.stat_net_out, conn.last_interaction > 0,
                conn.cmd.name if conn.cmd else None, conn.out)
    finally:
        _speedups.hotpath = saved
        fastpath.ENABLED = True
        _reset_command_stats()


@pytest.mark.parametrize("wbs,config", [
    (0, {}),
    (20000, {}),  # replies beyond the reply buffer: the output buffer limit is checked
    (20000, {"client-output-buffer-limit": "normal 30000 10000 60"}),  # over the soft limit
    (40000, {"client-output-buffer-limit": "normal 30000 0 0"}),  # over the hard limit: closed
    (0, {"maxmemory-clients": "1mb"}),  # client eviction touches the client after each write
])
def test_read_accounting_and_writes_agree(wbs, config):
    """The accelerator's own read accounting and reply write match Connection.data_received/flush."""
    big = b"x" * 20000
    chunks = [enc(b"SET", b"k", b"v") * 3, enc(b"GET", b"k"), enc(b"SET", b"b", big) + enc(b"GET", b"b"),
              enc(b"GET", b"b")[:7], enc(b"GET", b"b")[7:] + enc(b"PING"), b"PING\r\n", enc(b"GET", b"b") * 2]
    ref = _io_state("full", chunks, wbs, config)
    for mode in MODES[1:]:
        assert _io_state(mode, chunks, wbs, config) == ref, mode
