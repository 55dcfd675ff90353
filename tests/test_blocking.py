"""Blocking commands: immediate replies and errors (differential), then blocking behaviour with real
connections on both servers (FIFO, timeouts, MULTI, CLIENT UNBLOCK, disconnects, pipelining)."""

from __future__ import annotations

import socket
import time

import pytest

from support import RawClient


def _wait(pred, timeout: float = 5.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def _blocked(c: RawClient) -> int:
    info = c.call("INFO", "clients").decode()
    for line in info.split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return -1


class Both:
    """Runs a scenario on redis-server and pyredis; ``client()`` gives a pair of raw clients."""

    def __init__(self, redis_proc, pyredis_proc) -> None:
        self.procs = (redis_proc, pyredis_proc)
        self.opened: list[RawClient] = []

    def client(self) -> tuple[RawClient, RawClient]:
        pair = (RawClient(self.procs[0].port), RawClient(self.procs[1].port))
        for c in pair:
            c.call("SELECT", "9")
        self.opened.extend(pair)
        return pair

    def send(self, pair, *cmd) -> None:
        for c in pair:
            c.send(*cmd)

    def call(self, pair, *cmd) -> bytes:
        a, b = (c.call(*cmd) for c in pair)
        assert a == b, (cmd, a, b)
        return a

    def read(self, pair) -> bytes:
        a, b = (c.read_reply() for c in pair)
        assert a == b, (a, b)
        return a

    def wait_blocked(self, ctl, n: int) -> None:
        for c in ctl:
            _wait(lambda c=c: _blocked(c) == n)

    def close(self) -> None:
        for c in self.opened:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def both(redis_proc, pyredis_proc, diff):
    b = Both(redis_proc, pyredis_proc)
    yield b
    b.close()


def test_immediate_replies_and_errors(diff):
    diff.lines("""
        RPUSH l a b c d
        BLPOP l 0
        BRPOP l 0
        BLPOP nosuch l 1
        BRPOPLPUSH l dst 0
        LRANGE dst 0 -1
        BRPOPLPUSH l dst 0.01
        RPUSH l x y
        BLMOVE l dst LEFT RIGHT 0
        BLMOVE l dst RIGHT LEFT 0
        EXISTS l
        RPUSH m 1 2 3 4 5
        BLMPOP 0 2 nosuch m LEFT COUNT 3
        BLMPOP 0 1 m RIGHT
        BLMPOP 0 1 m RIGHT COUNT 5
        BLMPOP 0.01 1 m RIGHT COUNT 5
        SET s str
        BLPOP s 0
        BLPOP nosuch s 0
        BRPOPLPUSH s dst 0
        BLMOVE s dst LEFT LEFT 0
        RPUSH src v
        BLMOVE src s LEFT LEFT 0
        LRANGE src 0 -1
        BLMPOP 0 1 s LEFT
        BZPOPMIN s 0
        BZMPOP 0 1 s MIN
        ZADD z 1 a 2 b 3 c
        BZPOPMIN z 0
        BZPOPMAX z 0
        ZADD z 5 d 6 e 7 f
        BZPOPMIN nosuch z 0
        BZMPOP 0 1 z MIN COUNT 2
        BZMPOP 0 2 nosuch z MAX
        ZADD z 8 g 9 h
        BZMPOP 0 1 z MAX COUNT 10
        BZMPOP 0.01 1 z MAX COUNT 10
        BLPOP l abc
        BLPOP l -1
        BLPOP l 1e400
        BLPOP l inf
        BLPOP l nan
        BLPOP l " 1"
        BLPOP l 9223372036854776
        BLPOP l 0.001
        BLMOVE l l2 left up 0.01
        BLMOVE l l2 up left abc
        BLMPOP 0.01 0 l left
        BLMPOP abc 0 l left
        BLMPOP 0.01 1 l left count 0
        BLMPOP 0.01 1 l left count 1 count 2
        BLMPOP 0.01 1 l up
        BLMPOP 0.01 2 l
        BLMPOP 0.01 1 l left extra
        BZMPOP 0.01 1 z min count -1
        BZMPOP 0.01 1 z up
        BZMPOP 0.01 0 z min
        BZPOPMIN z abc
        BLPOP
        BLPOP l
        BLMOVE a b LEFT
        BRPOPLPUSH a b
        BLMPOP 0 1
        BZMPOP 0 1 z
    """)


def test_resp3_replies(diff):
    for c in (diff.r, diff.p):
        c.call("HELLO", "3")
    diff.lines("""
        RPUSH l a
        BLPOP l 0
        BLPOP l 0.01
        ZADD z 1.5 a
        BZPOPMIN z 0
        BZPOPMAX z 0.01
        ZADD z 1 a 2 b
        BZMPOP 0 1 z MIN COUNT 2
        BZMPOP 0.01 1 z MIN
        BLMPOP 0.01 1 l LEFT
    """)


def test_multi_makes_blocking_non_blocking(diff):
    diff.lines("""
        MULTI
        BLPOP empty 0
        BRPOP empty 0
        BLMOVE empty dst LEFT LEFT 0
        BRPOPLPUSH empty dst 0
        BLMPOP 0 1 empty LEFT
        BZPOPMIN empty 0
        BZPOPMAX empty 0
        BZMPOP 0 1 empty MIN
        EXEC
        RPUSH l x
        MULTI
        BLPOP l 0
        BLPOP l 0
        EXEC
    """)


def test_block_then_push_fifo(both):
    w1, w2, w3 = both.client(), both.client(), both.client()
    ctl = both.client()
    both.send(w1, "BLPOP", "k1", "k2", "0")
    both.wait_blocked(ctl, 1)
    both.send(w2, "BLPOP", "k2", "0")
    both.wait_blocked(ctl, 2)
    both.send(w3, "BRPOP", "k2", "k1", "0")
    both.wait_blocked(ctl, 3)
    both.call(ctl, "RPUSH", "k2", "a", "b")
    both.read(w1)
    both.read(w2)
    both.wait_blocked(ctl, 1)
    both.call(ctl, "LPUSH", "k1", "c")
    both.read(w3)
    both.call(ctl, "EXISTS", "k1", "k2")


def test_ready_key_order_inside_multi(both):
    """The client is served from the key that became ready first, after EXEC."""
    w, ctl = both.client(), both.client()
    both.send(w, "BLPOP", "a", "b", "0")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "MULTI")
    both.call(ctl, "RPUSH", "b", "x")
    both.call(ctl, "RPUSH", "a", "y")
    both.call(ctl, "LPOP", "b")
    both.call(ctl, "RPUSH", "b", "z")
    both.call(ctl, "EXEC")
    both.read(w)
    both.call(ctl, "LRANGE", "a", "0", "-1")
    both.call(ctl, "LRANGE", "b", "0", "-1")


def test_push_pop_in_multi_does_not_serve(both):
    w, ctl = both.client(), both.client()
    both.send(w, "BLPOP", "q", "0.3")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "MULTI")
    both.call(ctl, "LPUSH", "q", "x")
    both.call(ctl, "DEL", "q")
    both.call(ctl, "EXEC")
    both.read(w)  # timed out: the key was gone when the transaction ended


def test_blmove_chain_and_wrong_type(both):
    w1, w2, ctl = both.client(), both.client(), both.client()
    both.send(w1, "BLMOVE", "src", "mid", "RIGHT", "LEFT", "0")
    both.wait_blocked(ctl, 1)
    both.send(w2, "BRPOPLPUSH", "mid", "dst", "0")
    both.wait_blocked(ctl, 2)
    both.call(ctl, "RPUSH", "src", "v")
    both.read(w1)
    both.read(w2)
    both.call(ctl, "LRANGE", "dst", "0", "-1")
    both.call(ctl, "SET", "bad", "x")
    both.send(w1, "BLMOVE", "src2", "bad", "LEFT", "LEFT", "0")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "RPUSH", "src2", "v")
    both.read(w1)  # WRONGTYPE, and the element stays in src2
    both.call(ctl, "LRANGE", "src2", "0", "-1")


def test_wrong_type_key_keeps_client_blocked(both):
    w, ctl = both.client(), both.client()
    both.send(w, "BLPOP", "k", "0")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "SET", "k", "string")
    time.sleep(0.05)
    both.wait_blocked(ctl, 1)
    both.call(ctl, "DEL", "k")
    both.call(ctl, "RPUSH", "k", "ok")
    both.read(w)


def test_zset_blocking(both):
    w1, w2, ctl = both.client(), both.client(), both.client()
    both.send(w1, "BZPOPMIN", "z1", "z2", "0")
    both.wait_blocked(ctl, 1)
    both.send(w2, "BZMPOP", "0", "2", "z2", "z1", "MAX", "COUNT", "2")
    both.wait_blocked(ctl, 2)
    both.call(ctl, "ZADD", "z2", "1", "a", "2", "b", "3", "c")
    both.read(w1)
    both.read(w2)
    both.call(ctl, "ZRANGE", "z2", "0", "-1", "WITHSCORES")


def test_timeouts(both):
    w, ctl = both.client(), both.client()
    for cmd in (("BLPOP", "x", "0.05"), ("BRPOPLPUSH", "x", "y", "0.05"), ("BLMOVE", "x", "y", "LEFT", "LEFT", "0.05"),
                ("BLMPOP", "0.05", "1", "x", "LEFT"), ("BZPOPMIN", "x", "0.05"), ("BZMPOP", "0.05", "1", "x", "MIN")):
        t0 = time.time()
        both.send(w, *cmd)
        both.read(w)
        assert time.time() - t0 < 5
    for c in w:
        c.call("HELLO", "3")
    both.send(w, "BLPOP", "x", "0.05")
    both.read(w)
    both.call(ctl, "PING")


def test_client_unblock(both):
    w, ctl = both.client(), both.client()
    ids = [int(c.call("CLIENT", "ID")[1:-2]) for c in w]
    both.send(w, "BLPOP", "x", "0")
    both.wait_blocked(ctl, 1)
    got = [c.call("CLIENT", "UNBLOCK", str(i)) for c, i in zip(ctl, ids, strict=True)]
    assert got == [b":1\r\n", b":1\r\n"]
    both.read(w)
    both.send(w, "BZPOPMAX", "x", "0")
    both.wait_blocked(ctl, 1)
    got = [c.call("CLIENT", "UNBLOCK", str(i), "ERROR") for c, i in zip(ctl, ids, strict=True)]
    assert got == [b":1\r\n", b":1\r\n"]
    both.read(w)
    got = [c.call("CLIENT", "UNBLOCK", str(i)) for c, i in zip(ctl, ids, strict=True)]
    assert got == [b":0\r\n", b":0\r\n"]
    both.call(ctl, "CLIENT", "UNBLOCK", "999999")
    both.call(ctl, "CLIENT", "UNBLOCK", "abc")
    both.call(ctl, "CLIENT", "UNBLOCK", "1", "FOO")
    both.call(ctl, "CLIENT", "UNBLOCK", "1", "TIMEOUT", "x")


def test_pipelined_commands_wait_for_blocked_one(both):
    w, ctl = both.client(), both.client()
    for c in w:
        c.send_raw(b"BLPOP p 0\r\nPING\r\nLPUSH other 1\r\n")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "EXISTS", "other")  # not run yet
    both.call(ctl, "RPUSH", "p", "v")
    both.read(w)
    both.read(w)
    both.read(w)


def test_disconnect_while_blocked(both, pyredis_proc):
    w, ctl = both.client(), both.client()
    both.send(w, "BLPOP", "d", "0")
    both.wait_blocked(ctl, 1)
    for c in w:
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
    both.wait_blocked(ctl, 0)
    both.call(ctl, "RPUSH", "d", "kept")
    both.call(ctl, "LRANGE", "d", "0", "-1")


def test_swapdb_and_rename_wake_clients(both):
    w, ctl = both.client(), both.client()
    both.send(w, "BLPOP", "k", "0")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "RPUSH", "tmp", "moved")
    both.call(ctl, "RENAME", "tmp", "k")
    both.read(w)
    both.send(w, "BLPOP", "k", "0")
    both.wait_blocked(ctl, 1)
    both.call(ctl, "SELECT", "8")
    both.call(ctl, "FLUSHDB")
    both.call(ctl, "RPUSH", "k", "other-db")
    both.call(ctl, "SWAPDB", "8", "9")
    both.read(w)
    both.call(ctl, "FLUSHDB")


def test_blocked_clients_info_and_client_list(both):
    w, ctl = both.client(), both.client()
    both.send(w, "BRPOP", "i", "0")
    both.wait_blocked(ctl, 1)
    for c in ctl:
        assert b"flags=b" in c.call("CLIENT", "LIST")
    both.call(ctl, "RPUSH", "i", "1")
    both.read(w)
    both.wait_blocked(ctl, 0)


def test_keyspace_events_of_served_client(both):
    sub, w, ctl = both.client(), both.client(), both.client()
    both.call(ctl, "CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        both.call(sub, "PSUBSCRIBE", "__keyevent@9__:*")
        both.send(w, "BLMOVE", "s", "d", "LEFT", "RIGHT", "0")
        both.wait_blocked(ctl, 1)
        both.call(ctl, "RPUSH", "s", "v")
        both.read(w)
        for _ in range(4):  # rpush, rpush (to d), lpop, del
            both.read(sub)
    finally:
        both.call(ctl, "CONFIG", "SET", "notify-keyspace-events", "")
