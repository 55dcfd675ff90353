"""Pub/Sub: differential replies (RESP2/RESP3), subscribed-mode rules, redis-py end to end, limits, load."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import redis
import redis.asyncio as aioredis

from support import RawClient, ServerProcess


def _pair(redis_proc, pyredis_proc):
    return redis_proc.client(), pyredis_proc.client()


def _same(clients, *cmd) -> bytes:
    r, p = clients
    a, b = r.call(*cmd), p.call(*cmd)
    assert a == b, (cmd, a, b)
    return a


def _hello(clients, resp: str) -> None:
    for c in clients:
        c.call("HELLO", resp)


def _read_both(clients) -> bytes:
    r, p = clients
    a, b = r.read_reply(), p.read_reply()
    assert a == b, (a, b)
    return a


@pytest.fixture
def subs(redis_proc, pyredis_proc, diff):
    """Two raw connections (real and pyredis) used as subscribers; ``diff`` publishes."""
    pairs = []

    def make():
        p = _pair(redis_proc, pyredis_proc)
        pairs.append(p)
        return p

    yield make
    for a, b in pairs:
        a.close()
        b.close()


def test_subscribe_publish_unsubscribe(diff, subs):
    s = subs()
    _same(s, "SUBSCRIBE", "chan1")
    _same(s, "SUBSCRIBE", "chan1")
    diff.check("PUBLISH", "chan1", "hello")
    diff.check("PUBLISH", "other", "hello")
    _read_both(s)
    _same(s, "UNSUBSCRIBE", "chan1")
    diff.check("PUBLISH", "chan1", "hello")
    _same(s, "UNSUBSCRIBE")
    _same(s, "UNSUBSCRIBE", "nosuch")
    _same(s, "PUNSUBSCRIBE")
    _same(s, "SUNSUBSCRIBE")


def test_pattern_and_channel_delivered_once_each(diff, subs):
    s = subs()
    _same(s, "SUBSCRIBE", "foo.bar")
    _same(s, "PSUBSCRIBE", "foo.*")
    _same(s, "PSUBSCRIBE", "f?o.[a-c]ar")
    diff.check("PUBLISH", "foo.bar", "x")
    _read_both(s)  # the channel subscription first, then each pattern (hash order in Redis)
    got = [[c.read_reply() for _ in range(2)] for c in s]
    assert sorted(got[0]) == sorted(got[1])
    diff.check("PUBLISH", "foo1", "x")
    diff.check("PUBSUB", "NUMPAT")
    _same(s, "PUNSUBSCRIBE", "foo.*")
    diff.check("PUBSUB", "NUMPAT")
    diff.check("PUBLISH", "foo.bar", "y")
    _read_both(s)
    _read_both(s)


def test_subscribed_mode_restrictions_resp2(diff, subs):
    s = subs()
    _same(s, "SUBSCRIBE", "a")
    for cmd in (("GET", "x"), ("MULTI",), ("SET", "a", "b"), ("PUBLISH", "a", "b"), ("CLIENT", "ID")):
        _same(s, *cmd)
    _same(s, "PING")
    _same(s, "PING", "hello")
    _same(s, "PSUBSCRIBE", "p*")
    _same(s, "SSUBSCRIBE", "sh")
    _same(s, "GET", "x")
    _same(s, "SUNSUBSCRIBE", "sh")
    _same(s, "UNSUBSCRIBE", "a")
    _same(s, "GET", "x")  # still subscribed to a pattern
    _same(s, "PUNSUBSCRIBE", "p*")
    _same(s, "PING")
    _same(s, "GET", "x")
    _same(s, "RESET")


def test_resp3_push_and_any_command(diff, subs):
    s = subs()
    _hello(s, "3")
    _same(s, "SUBSCRIBE", "a")
    _same(s, "GET", "x")
    _same(s, "PING")
    _same(s, "SET", "k", "v")
    diff.check("PUBLISH", "a", "msg")
    _read_both(s)
    _same(s, "PSUBSCRIBE", "a*")
    diff.check("PUBLISH", "a", "msg2")
    _read_both(s)
    _read_both(s)
    _same(s, "PUNSUBSCRIBE", "a*")
    _same(s, "UNSUBSCRIBE")


def test_subscribe_inside_multi(diff, subs):
    s = subs()
    for resp in ("2", "3"):
        _hello(s, resp)
        _same(s, "MULTI")
        _same(s, "SUBSCRIBE", "x")
        _same(s, "PSUBSCRIBE", "y*")
        _same(s, "EXEC")
        _same(s, "UNSUBSCRIBE", "x")
        _same(s, "PUNSUBSCRIBE", "y*")


def test_client_reply_off_still_gets_messages(diff, subs):
    s = subs()
    _hello(s, "3")
    s[0].send("CLIENT", "REPLY", "OFF")
    s[1].send("CLIENT", "REPLY", "OFF")
    _same(s, "SUBSCRIBE", "channel")
    _same(s, "PSUBSCRIBE", "ch*")
    diff.check("PUBLISH", "channel", "hello")
    _read_both(s)
    _read_both(s)
    _same(s, "UNSUBSCRIBE", "channel")
    _same(s, "PUNSUBSCRIBE", "ch*")


def test_shard_channels(diff, subs):
    s = subs()
    _same(s, "SSUBSCRIBE", "s1")
    _same(s, "SSUBSCRIBE", "s2", "s1")
    diff.check("SPUBLISH", "s1", "m")
    diff.check("PUBLISH", "s1", "not-shard")
    diff.check("SPUBLISH", "nosub", "m")
    _read_both(s)
    diff.check("PUBSUB", "SHARDCHANNELS", "s1")
    diff.check("PUBSUB", "SHARDNUMSUB", "s1", "s2", "s3")
    diff.check("PUBSUB", "SHARDNUMSUB")
    _same(s, "SUNSUBSCRIBE", "s2")
    _same(s, "SUNSUBSCRIBE", "s1")


def test_pubsub_introspection_and_errors(diff, subs):
    s = subs()
    _same(s, "SUBSCRIBE", "abc")
    diff.check("PUBSUB", "CHANNELS", "ab*")
    diff.check("PUBSUB", "CHANNELS", "zz*")
    diff.check("PUBSUB", "NUMSUB", "abc", "def")
    diff.check("PUBSUB", "NUMSUB")
    diff.check("PUBSUB", "NUMPAT")
    diff.lines("""
        PUBSUB
        PUBSUB HELP
        PUBSUB foo
        PUBSUB CHANNELS a b
        PUBSUB SHARDCHANNELS a b
        PUBSUB NUMPAT x
        PUBLISH a
        SPUBLISH a
        SUBSCRIBE
        PSUBSCRIBE
        SSUBSCRIBE
    """)


def test_keyspace_notification_scenario(diff, subs):
    """One client subscribes to a key's keyspace channel, another pushes to it."""
    s = subs()
    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        _same(s, "SUBSCRIBE", "__keyspace@9__:registeredArtists")
        diff.check("LPUSH", "registeredArtists", "Motorhead")
        assert _read_both(s).endswith(b"$5\r\nlpush\r\n")
    finally:
        diff.check("CONFIG", "SET", "notify-keyspace-events", "")


# -- redis-py end to end -------------------------------------------------------------------------
def _wait_msg(p, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = p.get_message(timeout=0.1)
        if m is not None:
            return m
    raise AssertionError("no message")


def test_redis_py_get_message_and_listen(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    p = r.pubsub()
    p.subscribe("c1")
    p.psubscribe("c*")
    assert _wait_msg(p)["type"] == "subscribe"
    assert _wait_msg(p)["type"] == "psubscribe"
    assert r.publish("c1", "hi") == 2
    assert _wait_msg(p) == {"type": "message", "pattern": None, "channel": b"c1", "data": b"hi"}
    assert _wait_msg(p) == {"type": "pmessage", "pattern": b"c*", "channel": b"c1", "data": b"hi"}
    assert r.pubsub_channels() == [b"c1"]
    assert r.pubsub_numsub("c1", "c2") == [(b"c1", 1), (b"c2", 0)]
    assert r.pubsub_numpat() == 1
    r.publish("c1", "end")
    it = p.listen()
    got = [next(it), next(it)]
    assert [m["data"] for m in got] == [b"end", b"end"]
    p.close()
    r.close()


def test_redis_py_handlers_and_run_in_thread(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    received: list[bytes] = []
    done = threading.Event()

    def handler(msg):
        received.append(msg["data"])
        if len(received) == 3:
            done.set()

    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"hchan": handler})
    t = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        deadline = time.time() + 5
        while r.pubsub_numsub("hchan")[0][1] != 1 and time.time() < deadline:
            time.sleep(0.01)
        for i in range(3):
            r.publish("hchan", f"m{i}")
        assert done.wait(5)
        assert received == [b"m0", b"m1", b"m2"]
    finally:
        t.stop()
        t.join(5)
        p.close()
        r.close()


def test_redis_py_resubscribes_after_reconnect(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("rc")
    p.psubscribe("rp*")
    assert p.get_message(timeout=1) is None
    cid = p.connection.client_id if hasattr(p.connection, "client_id") else None
    del cid
    for line in r.client_list():
        if line["flags"] == "P":
            r.client_kill_filter(_id=line["id"])
    # the next read notices the disconnect; redis-py reconnects and re-subscribes
    deadline = time.time() + 5
    msg = None
    while time.time() < deadline:
        try:
            p.get_message(timeout=0.1)
        except redis.ConnectionError:
            pass
        if r.pubsub_numsub("rc")[0][1] == 1 and r.pubsub_numpat() == 1:
            r.publish("rc", "back")
            try:
                msg = p.get_message(timeout=1)
            except redis.ConnectionError:
                continue
            if msg is not None:
                break
    assert msg is not None and msg["data"] == b"back"
    p.close()
    r.close()


def test_resp3_redis_py_pubsub(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port, protocol=3)
    p = r.pubsub()
    p.subscribe("r3")
    assert _wait_msg(p)["type"] == "subscribe"
    r.publish("r3", "x")
    assert _wait_msg(p)["data"] == b"x"
    assert r.get("anything") is None  # RESP3: any command allowed on the same client
    p.close()
    r.close()


def test_disconnect_while_subscribed_cleans_up(pyr, pyredis_proc):
    c = pyredis_proc.client()
    c.call("SUBSCRIBE", "gone")
    c.call("PSUBSCRIBE", "gone*")
    c.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        if pyr.call("PUBSUB", "NUMSUB", "gone") == b"*2\r\n$4\r\ngone\r\n:0\r\n":
            break
        time.sleep(0.02)
    assert pyr.call("PUBSUB", "NUMPAT") == b":0\r\n"
    assert pyr.call("PUBLISH", "gone", "x") == b":0\r\n"


# -- output buffer limits ------------------------------------------------------------------------
def test_slow_subscriber_is_disconnected(tmp_path):
    srv = ServerProcess("pyredis", ["--client-output-buffer-limit", "pubsub 256kb 128kb 1"])
    try:
        slow = socket.create_connection(("127.0.0.1", srv.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"SUBSCRIBE big\r\n")
        time.sleep(0.2)
        pub = RawClient(srv.port)
        payload = b"x" * 65536
        deadline = time.time() + 20
        gone = False
        while time.time() < deadline and not gone:
            pub.call("PUBLISH", "big", payload)
            gone = pub.call("PUBSUB", "NUMSUB", "big").endswith(b":0\r\n")
        assert gone, "slow subscriber was not disconnected"
        assert pub.call("PING") == b"+PONG\r\n"  # the publisher is not stalled
        pub.close()
        slow.close()
    finally:
        srv.stop()


# -- load ------------------------------------------------------------------------------------------
def test_load_200_subscribers_20_publishers(pyredis_proc):
    n_subs, n_pubs, per_pub = 200, 20, 10

    async def main():
        subs = []
        for _ in range(n_subs):
            c = aioredis.Redis(port=pyredis_proc.port)
            p = c.pubsub(ignore_subscribe_messages=True)
            await p.subscribe("load")
            subs.append((c, p))
        ctl = aioredis.Redis(port=pyredis_proc.port)
        while (await ctl.pubsub_numsub("load"))[0][1] < n_subs:
            await asyncio.sleep(0.01)

        async def publisher(i):
            c = aioredis.Redis(port=pyredis_proc.port)
            for j in range(per_pub):
                assert await c.publish("load", f"{i}:{j}") == n_subs
            await c.aclose()

        async def consume(p):
            got = []
            while len(got) < n_pubs * per_pub:
                m = await p.get_message(timeout=5)
                if m is None:
                    continue
                got.append(m["data"].decode())
            return got

        consumers = [asyncio.create_task(consume(p)) for _, p in subs]
        await asyncio.gather(*(publisher(i) for i in range(n_pubs)))
        results = await asyncio.wait_for(asyncio.gather(*consumers), 60)
        for got in results:
            assert len(got) == len(set(got)) == n_pubs * per_pub
            for i in range(n_pubs):  # in order per publisher
                seq = [int(x.split(":")[1]) for x in got if x.startswith(f"{i}:")]
                assert seq == list(range(per_pub))
        for c, p in subs:
            await p.aclose()
            await c.aclose()
        await ctl.aclose()

    asyncio.run(main())
