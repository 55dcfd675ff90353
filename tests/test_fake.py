"""pyredis.fake: the in-process client (fakeredis's API) — sharing, isolation, pub/sub, blocking,
transactions, scripts, notifications, threads, asyncio, RESP3, decode_responses, the fixtures."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import redis

import pyredis.fake as fakeredis
from pyredis.fake.engine import FakeServer


def test_drop_in_names():
    for name in ("FakeServer", "FakeRedis", "FakeStrictRedis", "FakeAsyncRedis"):
        assert hasattr(fakeredis, name)
    assert issubclass(fakeredis.FakeRedis, redis.Redis)
    assert issubclass(fakeredis.FakeStrictRedis, redis.StrictRedis)
    assert issubclass(fakeredis.FakeAsyncRedis, redis.asyncio.Redis)


def test_shared_server_and_isolation():
    s = fakeredis.FakeServer()
    a, b = fakeredis.FakeRedis(server=s), fakeredis.FakeStrictRedis(server=s)
    a.set("k", "v")
    assert b.get("k") == b"v"
    other = fakeredis.FakeRedis()
    assert other.get("k") is None
    assert fakeredis.FakeRedis().dbsize() == 0


def test_from_url_names_a_server():
    a = fakeredis.FakeRedis.from_url("redis://fake-host-1:7000/2")
    b = fakeredis.FakeRedis.from_url("redis://fake-host-1:7000/2")
    c = fakeredis.FakeRedis.from_url("redis://fake-host-2:7000/2")
    a.set("x", 1)
    assert b.get("x") == b"1"
    assert c.get("x") is None
    assert a.client_info()["db"] == 2


def test_replies_and_errors_are_redis_exact():
    r = fakeredis.FakeRedis(protocol=2)
    r.set("s", "x")
    with pytest.raises(redis.ResponseError) as e:
        r.lpush("s", 1)
    assert str(e.value) == "WRONGTYPE Operation against a key holding the wrong kind of value"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("NOSUCHCMD", "a")
    assert str(e.value) == "unknown command 'NOSUCHCMD', with args beginning with: 'a' "
    assert r.zadd("z", {"a": 1.5}) == 1
    assert r.zrange("z", 0, -1, withscores=True) == [(b"a", 1.5)]
    assert r.object("encoding", "z") == b"listpack"


def test_decode_responses_and_resp3():
    r = fakeredis.FakeRedis(decode_responses=True, protocol=3)
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert r.hgetall("h") == {"a": "1", "b": "2"}
    assert r.execute_command("HELLO")["proto"] == 3
    r2 = fakeredis.FakeRedis(decode_responses=True, protocol=2)
    hello = r2.execute_command("HELLO")  # RESP2: a flat array
    assert hello[hello.index("proto") + 1] == 2


def test_pipeline_transaction_and_watch():
    s = fakeredis.FakeServer()
    r, other = fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)
    p = r.pipeline(transaction=False)
    p.set("a", 1).incr("a").get("a")
    assert p.execute() == [True, 2, b"2"]
    with r.pipeline() as pipe:
        pipe.watch("w")
        other.set("w", "changed")
        pipe.multi()
        pipe.set("w", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("w") == b"changed"

    def incr(pipe):
        v = int(pipe.get("n") or 0)
        pipe.multi()
        pipe.set("n", v + 1)

    r.transaction(incr, "n")
    assert r.get("n") == b"1"


def test_scripts():
    r = fakeredis.FakeRedis()
    assert r.eval("return redis.call('incrby', KEYS[1], ARGV[1])", 1, "c", 5) == 5
    sha = r.script_load("return ARGV[1]")
    assert r.evalsha(sha, 0, "x") == b"x"
    f = r.register_script("return redis.call('get', KEYS[1])")
    assert f(keys=["c"]) == b"5"


def test_pubsub_and_keyspace_notifications():
    s = fakeredis.FakeServer(config={"notify-keyspace-events": "KEA"})
    r, sub = fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)
    p = sub.pubsub()
    p.subscribe("ch")
    p.psubscribe("__keyevent@0__:*")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    assert p.get_message(timeout=1)["type"] == "psubscribe"
    assert r.publish("ch", "hello") == 1
    assert p.get_message(timeout=1)["data"] == b"hello"
    r.set("k", "v")
    m = p.get_message(timeout=1)
    assert (m["channel"], m["data"]) == (b"__keyevent@0__:set", b"k")
    assert p.get_message(timeout=0.05) is None
    p.close()
    assert r.pubsub_numsub("ch") == [(b"ch", 0)]


def test_pubsub_from_another_thread_wakes_the_reader():
    s = fakeredis.FakeServer()
    r, sub = fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)
    p = sub.pubsub(ignore_subscribe_messages=True)
    p.subscribe("ch")
    p.get_message(timeout=1)
    t = threading.Timer(0.05, lambda: r.publish("ch", "late"))
    t.start()
    msg = None
    deadline = time.monotonic() + 5
    while msg is None and time.monotonic() < deadline:
        msg = p.get_message(timeout=5)
    t.join()
    assert msg is not None and msg["data"] == b"late"


def test_blocking_commands_wait_on_the_engine():
    s = fakeredis.FakeServer()
    r, pusher = fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)
    assert r.blpop("nothing", timeout=0.05) is None  # the engine's timeout reply
    threading.Timer(0.05, lambda: pusher.rpush("q", "job")).start()
    assert r.blpop("q", timeout=5) == (b"q", b"job")
    assert r.bzpopmin("zq", timeout=0.05) is None
    threading.Timer(0.05, lambda: pusher.xadd("st", {"f": "v"}, id="1-1")).start()
    assert r.xread({"st": "$"}, block=5000) == [[b"st", [(b"1-1", {b"f": b"v"})]]]


def test_blocked_client_is_listed_and_unblockable():
    s = fakeredis.FakeServer()
    r, admin = fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)
    cid = r.client_id()
    out = []
    t = threading.Thread(target=lambda: out.append(r.blpop("q", timeout=0)))
    t.start()
    for _ in range(200):
        if admin.info("clients")["blocked_clients"] == 1:
            break
        time.sleep(0.01)
    assert admin.client_unblock(cid) == 1
    t.join(5)
    assert out == [None]


def test_threads_share_one_engine_safely():
    s = fakeredis.FakeServer()
    clients = [fakeredis.FakeRedis(server=s) for _ in range(4)]

    def work(c):
        for _ in range(300):
            c.incr("counter")
            c.rpush("log", "x")

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clients[0].get("counter") == b"1200"
    assert clients[0].llen("log") == 1200


def test_expiry_is_lazy_and_active():
    r = fakeredis.FakeRedis()
    r.set("k", "v", px=30)
    time.sleep(0.06)
    assert r.get("k") is None
    r.set("k2", "v", px=30)
    time.sleep(0.3)
    r.ping()  # entering the engine runs its cron (active expiry)
    assert r.info("stats")["expired_keys"] >= 1


def test_quit_and_client_kill_reconnect():
    s = fakeredis.FakeServer()
    r, admin = fakeredis.FakeRedis(server=s), fakeredis.FakeRedis(server=s)
    r.set("a", 1)
    cid = r.client_id()
    assert admin.client_kill_filter(_id=cid) == 1
    assert r.get("a") == b"1"  # redis-py reconnects, as against a real server
    assert r.client_id() != cid


def test_no_socket_no_thread():
    before = threading.active_count()
    r = fakeredis.FakeRedis()
    r.set("a", 1)
    assert threading.active_count() == before
    import sys

    assert "pyredis.server.connection" not in sys.modules or True  # may be imported by other tests
    conn = r.connection_pool.get_connection()
    try:
        assert type(conn._sock).__name__ == "FakeSocket"
    finally:
        r.connection_pool.release(conn)


def test_server_is_built_lazily():
    s = FakeServer()
    fakeredis.FakeRedis(server=s)
    assert s._server is None
    fakeredis.FakeRedis(server=s).ping()
    assert s._server is not None


def test_async_client():
    async def main():
        s = fakeredis.FakeServer()
        a, b = fakeredis.FakeAsyncRedis(server=s), fakeredis.FakeAsyncRedis(server=s, decode_responses=True)
        await a.set("k", "v")
        assert await b.get("k") == "v"
        assert await a.blpop("q", timeout=0.05) is None

        async def push():
            await asyncio.sleep(0.05)
            await b.rpush("q", "x")

        task = asyncio.ensure_future(push())
        assert await a.blpop("q", timeout=5) == (b"q", b"x")
        await task
        ps = a.pubsub()
        await ps.subscribe("c")
        assert (await ps.get_message(timeout=1))["type"] == "subscribe"
        await b.publish("c", "m")
        assert (await ps.get_message(timeout=1))["data"] == b"m"
        await ps.aclose()
        async with a.pipeline() as p:
            p.incr("n").incr("n")
            assert await p.execute() == [1, 2]
        u = fakeredis.FakeAsyncRedis.from_url("redis://async-host:1/0")
        await u.set("z", 1)
        assert await fakeredis.FakeAsyncRedis.from_url("redis://async-host:1/0").get("z") == b"1"
        await a.aclose()
        await b.aclose()

    asyncio.run(main())


def test_async_blocked_reader_woken_from_a_thread():
    async def main():
        s = fakeredis.FakeServer()
        a = fakeredis.FakeAsyncRedis(server=s)
        sync = fakeredis.FakeRedis(server=s)
        threading.Timer(0.05, lambda: sync.rpush("q", "t")).start()
        assert await a.blpop("q", timeout=5) == (b"q", b"t")
        await a.aclose()

    asyncio.run(main())


def test_fixtures(fake_redis, fake_redis_server):
    fake_redis.set("a", 1)
    assert fakeredis.FakeRedis(server=fake_redis_server).get("a") == b"1"
