"""INCR and friends rewrite an unshared integer value in place (the accelerator, as Redis does), and never
one that something else still holds: a COPY's source, a script's saved reply, a queued MULTI value."""

from __future__ import annotations

import pytest
from test_fastpath import FakeTransport, enc

from pyredis import _speedups
from pyredis.server.app import Server
from pyredis.server.connection import Connection
from support import Differ, ServerProcess


@pytest.fixture(scope="module")
def diff():
    redis = ServerProcess("redis", ["--enable-debug-command", "yes"])
    pyredis = ServerProcess("pyredis", ["--enable-debug-command", "yes"])
    d = Differ(redis, pyredis)
    yield d
    d.close()
    redis.stop()
    pyredis.stop()


def test_shared_values_are_not_rewritten(diff):
    diff.check("FLUSHALL")
    diff.check("SET", "a", "100")
    diff.check("COPY", "a", "b")
    for _ in range(3):
        diff.check("INCR", "b")
    diff.check("GET", "a")
    diff.check("GET", "b")
    diff.check("DECRBY", "a", "7")
    diff.check("GET", "b")
    diff.check("GET", "a")
    # the length changes (9 -> 10, -10 -> -9): a new object
    diff.check("SET", "c", "9")
    diff.check("INCR", "c")
    diff.check("SET", "d", "-10")
    diff.check("INCR", "d")
    diff.check("MGET", "a", "b", "c", "d")
    # a script keeps the reply of GET while INCR runs on the same key
    diff.check("EVAL", "redis.call('SET', KEYS[1], '41'); local v = redis.call('GET', KEYS[1]); "
               "redis.call('INCR', KEYS[1]); return {v, redis.call('GET', KEYS[1])}", "1", "s")
    diff.check("MULTI")
    diff.check("SET", "m", "500")
    diff.check("INCR", "m")
    diff.check("GET", "m")
    diff.check("INCRBY", "m", "-1000")
    diff.check("EXEC")
    diff.check("RENAME", "m", "n")
    diff.check("INCR", "n")
    diff.check("MGET", "m", "n")


@pytest.mark.parametrize("command", [[b"INCR", b"n"], [b"DECR", b"n"], [b"INCRBY", b"n", b"7"],
                                     [b"DECRBY", b"n", b"-3"]])
def test_unshared_value_rewritten_in_place(command):
    """The accelerator's INCR reuses the unshared value object when the length stays (Redis's "INCR can
    modify objects in-place"); the pure-Python path makes a new one (its bytes are immutable). A value
    that something else holds is never rewritten."""
    srv = Server()
    srv.config.values["protected-mode"] = False
    conn = Connection(srv)
    conn.connection_made(FakeTransport())
    data = conn.db.data
    conn.data_received(enc(b"SET", b"n", b"20000"))
    for _ in range(3):  # ids, not the objects: a reference held here would share the value
        before = id(data[b"n"])
        conn.data_received(enc(*command))
        # a new object is made while the old one lives, so its id differs
        assert (id(data[b"n"]) == before) is (_speedups.ACTIVE == "cython")
    held = data[b"n"]
    before = held.decode()
    conn.data_received(enc(*command))
    assert held.decode() == before and data[b"n"] is not held and data[b"n"].decode() != before


def test_full_path_rewrites_in_place_too(diff):
    """The full path (here LRU tracking, which OBJECT IDLETIME and DEBUG OBJECT switch on, keeps the fast
    path off) reuses the value as well: the official suite's "INCR can modify objects in-place" reads
    DEBUG OBJECT's address around an INCR. The TTL, the access clock and the replies stay Redis's."""
    diff.check("FLUSHALL")
    diff.check("SET", "foo", "20000", "EX", "1000")
    diff.check("OBJECT", "IDLETIME", "foo")
    diff.check("INCR", "foo")
    diff.check("OBJECT", "REFCOUNT", "foo")
    before = _debug_object_at(diff)
    diff.check("INCR", "foo")
    after = _debug_object_at(diff)
    assert before.startswith(b"at:") and after.startswith(b"at:")
    # the pyredis process follows the environment's PYREDIS_NO_EXTENSIONS, as this process does
    assert (before == after) is (_speedups.ACTIVE == "cython")
    diff.check("TTL", "foo")
    diff.check("OBJECT", "IDLETIME", "foo")
    diff.check("GET", "foo")


def _debug_object_at(diff) -> bytes:
    """The ``at:<address>`` field of pyredis's DEBUG OBJECT foo."""
    return diff.p.call("DEBUG", "OBJECT", "foo").split()[1]
