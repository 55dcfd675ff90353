"""WebSocket gateway protocol: every frame type and op, errors, ACLs, resume, slow clients.

A real pyredis process with ``--gateway-port``; the client side is the ``websockets`` library,
RESP commands go through the usual raw client.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest
from gateway_support import WS, start_gateway_server
from websockets.exceptions import ConnectionClosed, InvalidStatus


@pytest.fixture(scope="module")
def gw():
    srv, port = start_gateway_server("--gateway-history-channels", "hist:*", "--gateway-history-maxlen", "5")
    srv.gport = port
    srv.resp = srv.client()
    yield srv
    srv.stop()


def call(srv, *args) -> bytes:
    return srv.resp.call(*args)


async def test_hello_ping_and_client_list(gw):
    ws = await WS.open(gw.gport)
    assert ws.hello["type"] == "hello" and ws.hello["version"] == 1
    assert ws.hello["auth_required"] is False
    r = await ws.request("ping", data="x")
    assert r["ok"] is True and r["pong"] == "x"
    cid = ws.hello["client_id"]
    listing = call(gw, "CLIENT", "LIST").decode()
    line = next(x for x in listing.splitlines() if x.startswith(f"id={cid} "))
    assert "flags=G" in line and "resp=0" in line
    # frames without an id get no answer, only errors
    await ws.send({"op": "ping"})
    r = await ws.request("ping")
    assert ws.pushed == [] and r["ok"]
    await ws.close()


async def test_subscribe_publish_all_message_types(gw):
    ws = await WS.open(gw.gport)
    r = await ws.request("subscribe", channels=["news", "misc"])
    assert r == {"id": r["id"], "ok": True, "channels": ["news", "misc"], "count": 2}
    r = await ws.request("psubscribe", patterns=["ne*"])
    assert r["ok"] and r["patterns"] == ["ne*"] and r["count"] == 3
    r = await ws.request("ssubscribe", channels=["shard1"])
    assert r["ok"] and r["count"] == 4
    assert call(gw, "PUBSUB", "NUMSUB", "news") == b"*2\r\n$4\r\nnews\r\n:1\r\n"
    assert call(gw, "PUBLISH", "news", "hello") == b":2\r\n"  # the channel and the pattern
    assert await ws.next_push() == {"type": "message", "channel": "news", "data": "hello"}
    assert await ws.next_push() == {"type": "pmessage", "pattern": "ne*", "channel": "news", "data": "hello"}
    assert call(gw, "SPUBLISH", "shard1", "s") == b":1\r\n"
    assert await ws.next_push() == {"type": "smessage", "channel": "shard1", "data": "s"}
    # publish op, and non-UTF-8 payloads travel as base64
    r = await ws.request("publish", channel="misc", data="from-ws")
    assert r["receivers"] == 1
    assert {"type": "message", "channel": "misc", "data": "from-ws"} in ws.pushed
    ws.pushed.clear()
    call(gw, "PUBLISH", "misc", b"\xff\x00")
    f = await ws.next_push()
    assert f == {"type": "message", "channel": "misc", "data": "/wA=", "data_encoding": "base64"}
    r = await ws.request("unsubscribe", channels=["news"])
    assert r["channels"] == ["news"] and r["count"] == 3
    r = await ws.request("punsubscribe")
    assert r["patterns"] == ["ne*"] and r["count"] == 2
    r = await ws.request("sunsubscribe")
    assert r["channels"] == ["shard1"]
    call(gw, "PUBLISH", "news", "nobody")
    await ws.request("ping")
    assert ws.pushed == []
    await ws.close()


async def test_bad_frames_get_json_errors(gw):
    ws = await WS.open(gw.gport)
    other = await WS.open(gw.gport)
    await other.request("subscribe", channels=["keepalive"])
    for bad, msg in (("not json", "invalid JSON"), ("[1,2]", "must be a JSON object"), ('{"id":1}', "missing 'op'"),
                     ('{"op":"fly","id":3}', "unknown op 'fly'"), ('{"op":"ping","id":[1]}', "'id' must be")):
        await ws.send(bad)
        f = await ws.recv()
        assert f["error"]["code"] == "ERR" and msg in f["error"]["message"], f
    await ws.send({"op": "fly", "id": "x"})
    assert (await ws.recv()) == {"id": "x", "error": {"code": "ERR", "message": "unknown op 'fly'"}}
    r = await ws.request("subscribe", channels=[])
    assert r["error"]["code"] == "ERR"
    r = await ws.request("subscribe", channels=[["nested"]])
    assert r["error"]["code"] == "ERR"
    r = await ws.request("subscribe", channels=["a"], since="yesterday")
    assert "invalid 'since'" in r["error"]["message"]
    r = await ws.request("watch", keys=["*"], **{"with": ["colour"]})
    assert r["error"]["code"] == "ERR"
    # the session and the others carry on
    assert (await ws.request("ping"))["ok"]
    call(gw, "PUBLISH", "keepalive", "1")
    assert (await other.next_push())["data"] == "1"
    assert b"errorstat_ERR" in call(gw, "INFO", "errorstats")
    await ws.close()
    await other.close()


async def test_oversized_frames(gw):
    call(gw, "CONFIG", "SET", "gateway-max-frame", "1024")
    try:
        ws = await WS.open(gw.gport)
        other = await WS.open(gw.gport)
        await ws.send(json.dumps({"op": "publish", "channel": "x", "data": "a" * 2000}))
        f = await ws.recv()
        assert f["type"] == "error" and "exceeds gateway-max-frame (1024)" in f["error"]["message"]
        assert (await ws.request("ping"))["ok"]
        big = await WS.open(gw.gport)  # a new session gets the new limit: 4 x 1024 closes with 1009
        await big.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as e:
            await big.recv()
        assert e.value.rcvd.code == 1009
        assert (await other.request("ping"))["ok"]
        await ws.close()
        await other.close()
    finally:
        call(gw, "CONFIG", "SET", "gateway-max-frame", "1048576")


async def test_watch_key_events_ttl_value_coalesced(gw):
    ws = await WS.open(gw.gport)
    r = await ws.request("watch", keys=["w:*"], **{"with": ["ttl", "value"]})
    assert r["ok"] and r["keys"] == ["w:*"]
    call(gw, "SET", "w:s", "hello", "EX", "100")
    f = await ws.next_push()
    assert f["type"] == "key" and f["db"] == 0 and f["key"] == "w:s" and f["keytype"] == "string"
    assert f["value"] == "hello" and 0 < f["ttl"] <= 100000 and f["events"] == ["set", "expire"]
    # one frame per key per tick: a transaction's changes are coalesced
    call(gw, "MULTI")
    call(gw, "RPUSH", "w:l", "a", "b")
    call(gw, "LPUSH", "w:l", "z")
    call(gw, "HSET", "w:h", "f", "v")
    call(gw, "SET", "other", "1")
    call(gw, "EXEC")
    f1, f2 = await ws.next_push(), await ws.next_push()
    assert f1 == {"type": "key", "db": 0, "key": "w:l", "event": "lpush", "events": ["rpush", "lpush"],
                  "keytype": "list", "ttl": -1, "value": ["z", "a", "b"]}
    assert f2["key"] == "w:h" and f2["value"] == {"f": "v"} and f2["keytype"] == "hash"
    call(gw, "ZADD", "w:z", "1.5", "m")
    assert (await ws.next_push())["value"] == [["m", 1.5]]
    call(gw, "XADD", "w:x", "1-1", "f", "v")
    assert (await ws.next_push())["value"] == [["1-1", ["f", "v"]]]
    call(gw, "DEL", "w:s")
    f = await ws.next_push()
    assert f["event"] == "del" and f["keytype"] == "none" and f["ttl"] == -2 and "value" not in f
    call(gw, "SET", "w:e", "1", "PX", "1")
    frames = [await ws.next_push(), await ws.next_push()]
    assert frames[-1]["event"] == "expired" and frames[-1]["keytype"] == "none"
    # the server's own notify-keyspace-events is untouched
    assert call(gw, "CONFIG", "GET", "notify-keyspace-events") == b"*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n"
    r = await ws.request("unwatch")
    assert r["keys"] == ["w:*"]
    call(gw, "SET", "w:after", "1")
    await ws.request("ping")
    assert ws.pushed == []
    await ws.close()


async def test_watch_flush_and_swapdb_frames(gw):
    ws = await WS.open(gw.gport)
    await ws.request("watch", keys=["*"], db=5)
    call(gw, "SELECT", "5")
    call(gw, "SET", "x", "1")
    assert (await ws.next_push())["key"] == "x"
    call(gw, "FLUSHDB")
    assert await ws.next_push() == {"type": "flush", "db": 5}
    call(gw, "SELECT", "0")
    call(gw, "SWAPDB", "5", "6")
    assert await ws.next_push() == {"type": "swapdb", "db": 5, "other": 6}
    call(gw, "FLUSHALL")
    assert await ws.next_push() == {"type": "flush", "db": None}
    await ws.close()


async def test_watch_db_filter_and_select(gw):
    ws = await WS.open(gw.gport)
    await ws.request("watch", keys=["*"], db=3)
    call(gw, "SET", "db0key", "x")
    call(gw, "SELECT", "3")
    call(gw, "SET", "db3key", "x")
    call(gw, "SELECT", "0")
    f = await ws.next_push()
    assert f["db"] == 3 and f["key"] == "db3key" and "ttl" not in f and "value" not in f
    r = await ws.request("watch", keys=["*"], db=99)
    assert r["error"]["message"] == "DB index is out of range"
    await ws.close()


async def test_command_and_query_ops(gw):
    ws = await WS.open(gw.gport)
    r = await ws.request("command", args=["SET", "c:1", "v"])
    assert r["error"] == {"code": "ERR", "message": "the command op is disabled (gateway-commands no)"}
    r = await ws.request("query", args=["TYPE", "c:1"])
    assert r["ok"] and r["result"] == "none"
    r = await ws.request("query", args=["SET", "c:1", "v"])
    assert "not a read-only command" in r["error"]["message"]
    call(gw, "CONFIG", "SET", "gateway-commands", "yes")
    try:
        assert (await ws.request("command", args=["SET", "c:1", "v"]))["result"] == "OK"
        assert (await ws.request("command", args=["GET", "c:1"]))["result"] == "v"
        r = await ws.request("command", args=["HGETALL", "c:1"])
        assert r["error"]["code"] == "WRONGTYPE"
        r = await ws.request("command", args=["HSET", "c:h", "a", "1"])
        assert r["result"] == 1
        assert (await ws.request("command", args=["HGETALL", "c:h"]))["result"] == {"a": "1"}
        r = await ws.request("command", args=["NOSUCH", "x"])
        assert r["error"]["code"] == "ERR" and "unknown command" in r["error"]["message"]
        r = await ws.request("command", args=["SUBSCRIBE", "x"])
        assert "cannot be run through the gateway" in r["error"]["message"]
        r = await ws.request("command", args=["BLPOP", "x", "0"])
        assert "cannot be run through the gateway" in r["error"]["message"]
        assert (await ws.request("command", args=["ZADD", "c:z", "2", "m"]))["result"] == 1
        assert (await ws.request("command", args=["ZSCORE", "c:z", "m"]))["result"] == 2.0
        r = await ws.request("query", args=["SLOWLOG", "GET"])
        assert isinstance(r["result"], list)
        assert (await ws.request("command", args=["CLIENT", "SETNAME", "browser1"]))["result"] == "OK"
        assert (await ws.request("query", args=["SELECT", "2"]))["result"] == "OK"
        line = next(x for x in call(gw, "CLIENT", "LIST").decode().splitlines()
                    if x.startswith(f"id={ws.hello['client_id']} "))
        assert " name=browser1 " in line and " db=2 " in line and " cmd=select " in line
    finally:
        call(gw, "CONFIG", "SET", "gateway-commands", "no")
    await ws.close()


async def test_resume_without_and_with_gap(gw):
    ws = await WS.open(gw.gport)
    r = await ws.request("subscribe", channels=["hist:a"], since="0")
    assert r["history"] == ["hist:a"]
    for i in range(3):
        call(gw, "PUBLISH", "hist:a", f"m{i}")
    got = [await ws.next_push() for _ in range(3)]
    assert [f["data"] for f in got] == ["m0", "m1", "m2"]
    assert all("offset" in f for f in got)
    last = got[-1]["offset"]
    await ws.close()
    call(gw, "PUBLISH", "hist:a", "m3")
    call(gw, "PUBLISH", "hist:a", "m4")
    ws = await WS.open(gw.gport)
    r = await ws.request("subscribe", channels=["hist:a"], since=last)
    assert r["ok"]
    call(gw, "PUBLISH", "hist:a", "m5")
    got = [await ws.next_push() for _ in range(3)]
    assert [f["data"] for f in got] == ["m3", "m4", "m5"]  # nothing missed, nothing twice
    assert all(f["type"] == "message" for f in got)
    last = got[-1]["offset"]
    await ws.close()
    for i in range(6, 14):  # more than gateway-history-maxlen (5) while away
        call(gw, "PUBLISH", "hist:a", f"m{i}")
    ws = await WS.open(gw.gport)
    await ws.request("subscribe", channels=["hist:a"], since=last)
    gap = await ws.next_push()
    assert gap["type"] == "gap" and gap["channel"] == "hist:a" and gap["since"] == last
    got = [await ws.next_push() for _ in range(5)]
    assert [f["data"] for f in got] == [f"m{i}" for i in range(9, 14)]
    assert gap["first"] == got[0]["offset"]
    # pattern resume across channels, in offset order
    await ws.close()
    ws = await WS.open(gw.gport)
    call(gw, "PUBLISH", "hist:b", "b0")
    await ws.request("psubscribe", patterns=["hist:*"], since=got[-1]["offset"])
    f = await ws.next_push()
    assert f["type"] == "pmessage" and f["channel"] == "hist:b" and f["data"] == "b0"
    await ws.close()


async def test_channels_without_history_have_no_offsets(gw):
    ws = await WS.open(gw.gport)
    r = await ws.request("subscribe", channels=["plain"], since="0")
    assert r["history"] == []
    call(gw, "PUBLISH", "plain", "x")
    assert await ws.next_push() == {"type": "message", "channel": "plain", "data": "x"}
    await ws.close()


async def test_static_console_files_and_origins(gw):
    def get(path, **headers):
        req = urllib.request.Request(f"http://127.0.0.1:{gw.gport}{path}", headers=headers)
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read()

    status, headers, body = await asyncio.to_thread(get, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"<html" in body.lower()
    for path in ("/app.js", "/style.css"):
        status, _, body = await asyncio.to_thread(get, path)
        assert status == 200 and body
    with pytest.raises(urllib.error.HTTPError) as e:
        await asyncio.to_thread(get, "/../secret")
    assert e.value.code == 404
    with pytest.raises(InvalidStatus) as e2:
        await WS.open(gw.gport, origin="http://evil.example")
    assert e2.value.response.status_code == 403
    same = await WS.open(gw.gport, origin=f"http://127.0.0.1:{gw.gport}")
    await same.close()
    call(gw, "CONFIG", "SET", "gateway-allowed-origins", "http://app.example")
    try:
        ok = await WS.open(gw.gport, origin="http://app.example")
        await ok.close()
    finally:
        call(gw, "CONFIG", "SET", "gateway-allowed-origins", "")


async def test_permessage_deflate(gw):
    plain = await WS.open(gw.gport)  # gateway-compression no: the client's offer is declined
    assert plain.conn.response.headers.get("Sec-WebSocket-Extensions") is None
    call(gw, "CONFIG", "SET", "gateway-compression", "yes")
    try:
        ws = await WS.open(gw.gport)
        ext = ws.conn.response.headers["Sec-WebSocket-Extensions"]
        assert "permessage-deflate" in ext and "server_no_context_takeover" in ext
        await ws.request("subscribe", channels=["z"])
        await plain.request("subscribe", channels=["z"])
        for i in range(3):  # one compressed frame shared by the compressed receivers
            call(gw, "PUBLISH", "z", "hello compressed world %d " % i * 20)
        for i in range(3):
            expected = "hello compressed world %d " % i * 20
            assert (await ws.next_push())["data"] == expected
            assert (await plain.next_push())["data"] == expected
        assert (await ws.request("ping", data="p" * 500))["pong"] == "p" * 500
        await ws.close()
    finally:
        call(gw, "CONFIG", "SET", "gateway-compression", "no")
    await plain.close()


async def test_maxclients_counts_gateway_sessions(gw):
    before = int(call(gw, "INFO", "clients").split(b"connected_clients:")[1].split(b"\r\n")[0])
    ws = await WS.open(gw.gport)
    info = call(gw, "INFO", "clients")
    after = int(info.split(b"connected_clients:")[1].split(b"\r\n")[0])
    assert after == before + 1
    assert b"gateway_clients:1\r\n" in info
    call(gw, "CONFIG", "SET", "maxclients", str(after))
    try:
        with pytest.raises(InvalidStatus) as e:
            await WS.open(gw.gport)
        assert e.value.response.status_code == 503
    finally:
        call(gw, "CONFIG", "SET", "maxclients", "10000")
    await ws.close()


async def test_client_kill_closes_with_code(gw):
    ws = await WS.open(gw.gport)
    assert call(gw, "CLIENT", "KILL", "ID", str(ws.hello["client_id"])) == b":1\r\n"
    with pytest.raises(ConnectionClosed) as e:
        await ws.recv()
    assert e.value.rcvd.code == 4000


async def test_config_gateway_port_runtime(gw):
    assert call(gw, "CONFIG", "GET", "gateway-port") == b"*2\r\n$12\r\ngateway-port\r\n$%d\r\n%d\r\n" % (
        len(str(gw.gport)), gw.gport)
    raw = call(gw, "CONFIG", "GET", "gateway-*")
    for name in (b"gateway-bind", b"gateway-tls", b"gateway-commands", b"gateway-history-maxlen",
                 b"gateway-max-frame", b"gateway-allowed-origins", b"gateway-history-channels"):
        assert name in raw
    with socket.socket() as s:  # a busy port is refused with Redis's wording
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        r = call(gw, "CONFIG", "SET", "gateway-port", str(busy))
        assert r.startswith(b"-ERR CONFIG SET failed (possibly related to argument 'gateway-port')")
    assert call(gw, "GATEWAY", "TOKEN", "nosuchuser", "10") == b"-ERR no such user\r\n"
    assert call(gw, "GATEWAY", "TOKEN", "default", "0").startswith(b"-ERR invalid ttl")


# -- authentication and ACLs ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secured():
    srv, port = start_gateway_server("--requirepass", "s3cret")
    srv.gport = port
    srv.resp = srv.client()
    assert srv.resp.call("AUTH", "s3cret") == b"+OK\r\n"
    call(srv, "ACL", "SETUSER", "alice", "on", ">pw", "resetchannels", "&news:*", "&room", "~k:*", "+@read",
         "+subscribe", "+psubscribe", "+publish", "+type")
    yield srv
    srv.stop()


async def test_auth_required_first(secured):
    ws = await WS.open(secured.gport)
    assert ws.hello["auth_required"] is True
    r = await ws.request("subscribe", channels=["news:1"])
    assert r["error"] == {"code": "NOAUTH", "message": "Authentication required."}
    r = await ws.request("auth", user="alice", password="wrong")
    assert r["error"]["code"] == "WRONGPASS"
    assert b"alice" in call(secured, "ACL", "LOG")
    r = await ws.request("auth", user="alice", password="pw")
    assert r["ok"] and r["user"] == "alice" and r["commands"] is False
    assert (await ws.request("subscribe", channels=["news:1"]))["ok"]
    await ws.close()
    ws = await WS.open(secured.gport)
    r = await ws.request("auth", password="s3cret")  # the default user with requirepass
    assert r["ok"] and r["user"] == "default"
    await ws.close()


async def test_token_auth(secured):
    token = call(secured, "GATEWAY", "TOKEN", "alice", "60").split(b"\r\n")[1].decode()
    ws = await WS.open(secured.gport)
    r = await ws.request("auth", token=token)
    assert r["ok"] and r["user"] == "alice"
    await ws.close()
    ws = await WS.open(secured.gport)
    r = await ws.request("auth", token="made-up")
    assert r["error"] == {"code": "WRONGPASS", "message": "invalid or expired token"}
    await ws.close()


async def _alice(srv) -> WS:
    ws = await WS.open(srv.gport)
    assert (await ws.request("auth", user="alice", password="pw"))["ok"]
    return ws


async def test_unauthorized_requests(secured):
    ws = await _alice(secured)
    other = await _alice(secured)
    await other.request("subscribe", channels=["room"])
    r = await ws.request("subscribe", channels=["news:1", "secret"])
    assert r["error"] == {"code": "NOPERM", "message": "this user has no permissions to access one of the "
                                                       "channels used as arguments"}
    assert call(secured, "PUBSUB", "NUMSUB", "news:1").endswith(b":0\r\n")  # nothing half-done
    assert (await ws.request("psubscribe", patterns=["*"]))["error"]["code"] == "NOPERM"
    assert (await ws.request("publish", channel="secret", data="x"))["error"]["code"] == "NOPERM"
    assert (await ws.request("watch", keys=["*"]))["error"]["code"] == "NOPERM"
    assert (await ws.request("watch", keys=["k:*"]))["ok"]
    r = await ws.request("query", args=["GET", "other"])
    assert r["error"]["code"] == "NOPERM"
    r = await ws.request("query", args=["CLIENT", "LIST"])
    assert r["error"] == {"code": "NOPERM", "message": "this user has no permissions to run the 'client|list' "
                                                       "command"}
    assert b"secret" in call(secured, "ACL", "LOG")
    assert (await ws.request("publish", channel="room", data="hi"))["receivers"] == 1
    assert (await other.next_push())["data"] == "hi"
    await ws.close()
    await other.close()


async def test_revoked_permissions_drop_subscriptions(secured):
    call(secured, "ACL", "SETUSER", "bob", "on", ">pw", "resetchannels", "&a", "&b", "~*", "+@all")
    ws = await WS.open(secured.gport)
    assert (await ws.request("auth", user="bob", password="pw"))["ok"]
    await ws.request("subscribe", channels=["a", "b"])
    await ws.request("watch", keys=["*"])
    call(secured, "ACL", "SETUSER", "bob", "resetchannels", "&b", "resetkeys", "~k:*")
    f = await ws.next_push()
    assert f["type"] == "revoked" and f["channels"] == ["a"] and f["keys"] == ["*"]
    assert f["error"]["code"] == "NOPERM"
    call(secured, "PUBLISH", "a", "gone")
    call(secured, "PUBLISH", "b", "kept")
    assert (await ws.next_push())["data"] == "kept"
    call(secured, "ACL", "DELUSER", "bob")
    with pytest.raises(ConnectionClosed) as e:
        while True:
            await ws.recv()
    assert e.value.rcvd.code == 4000


# -- slow clients ----------------------------------------------------------------------------------------
def _raw_ws_subscriber(port: int, channel: str) -> socket.socket:
    """A WebSocket client that subscribes, then never reads again (small receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    payload = json.dumps({"op": "subscribe", "id": 1, "channels": [channel]}).encode()
    mask = b"\x01\x02\x03\x04"
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return s


async def test_paused_reader_hits_limit_others_keep_flowing(gw):
    call(gw, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 131072 60")
    slow = None
    try:
        fast = await WS.open(gw.gport)
        await fast.request("subscribe", channels=["flood"])
        slow = await asyncio.to_thread(_raw_ws_subscriber, gw.gport, "flood")
        # wait until both are subscribed
        for _ in range(100):
            if call(gw, "PUBSUB", "NUMSUB", "flood").endswith(b":2\r\n"):
                break
            await asyncio.sleep(0.02)
        payload = "x" * 16000  # 600 x 16 KB: more than the kernel's socket buffers (4 MB) can hide
        received = 0

        async def reader():
            nonlocal received
            while received < 600:
                f = await fast.recv(10)
                assert f["data"] == payload
                received += 1

        task = asyncio.create_task(reader())
        resp = gw.client()
        for _ in range(30):  # in pipelined batches
            batch = b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nflood\r\n$16000\r\n" + payload.encode() + b"\r\n"
                             for _ in range(20))
            await asyncio.to_thread(resp.send_raw, batch)
            for _ in range(20):
                await asyncio.to_thread(resp.read_reply)
        await asyncio.wait_for(task, 30)
        assert received == 600  # the fast reader got everything
        # the paused one was dropped: one subscriber left
        assert call(gw, "PUBSUB", "NUMSUB", "flood").endswith(b":1\r\n")
        # when it reads again, it finds the close frame with code 4001 after what was already buffered
        slow.settimeout(5)
        data = b""
        while True:
            chunk = await asyncio.to_thread(slow.recv, 65536)
            if not chunk:
                break
            data += chunk
        assert b"\x88" in data and (4001).to_bytes(2, "big") + b"output buffer limit" in data
        resp.close()
        await fast.close()
    finally:
        if slow is not None:
            slow.close()
        call(gw, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 33554432 8388608 60")


# -- TLS -------------------------------------------------------------------------------------------------
def test_gateway_tls(tmp_path):
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    srv, port = start_gateway_server("--gateway-tls", "yes", "--tls-cert-file", str(cert), "--tls-key-file", str(key))
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False

        async def session():
            from websockets.asyncio.client import connect

            async with connect(f"wss://127.0.0.1:{port}/ws", ssl=ctx) as conn:
                hello = json.loads(await conn.recv())
                assert hello["type"] == "hello"
                await conn.send(json.dumps({"op": "subscribe", "id": 1, "channels": ["tls"]}))
                assert json.loads(await conn.recv())["ok"]
                assert srv.client().call("PUBLISH", "tls", "secure") == b":1\r\n"
                assert json.loads(await conn.recv())["data"] == "secure"

        asyncio.run(session())
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=ctx, timeout=5) as r:
            assert r.status == 200
    finally:
        srv.stop()


def test_gateway_started_and_stopped_by_config_set():
    from support import ServerProcess, free_port

    srv = ServerProcess("pyredis")
    try:
        c = srv.client()
        assert c.call("GATEWAY", "TOKEN", "default", "10") == b"-ERR the WebSocket gateway is off (set gateway-port)\r\n"
        assert b"gateway_clients" not in c.call("INFO", "clients")
        port = free_port()
        assert c.call("CONFIG", "SET", "gateway-port", str(port)) == b"+OK\r\n"

        async def session():
            ws = await WS.open(port)
            assert (await ws.request("subscribe", channels=["rt"]))["ok"]
            assert c.call("PUBLISH", "rt", "up") == b":1\r\n"
            assert (await ws.next_push())["data"] == "up"
            assert c.call("CONFIG", "SET", "gateway-port", "0") == b"+OK\r\n"
            with pytest.raises(ConnectionClosed) as e:
                await ws.recv()
            assert e.value.rcvd.code == 4000
            with pytest.raises(OSError):
                await WS.open(port)

        asyncio.run(session())
        assert c.call("PUBLISH", "rt", "down") == b":0\r\n"
        assert c.call("PING") == b"+PONG\r\n"
    finally:
        srv.stop()


async def test_soft_output_limit_closes_after_its_seconds(gw):
    # no hard limit; the soft one (64 KB for more than 1 s) drops the paused reader
    call(gw, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 65536 1")
    slow = None
    resp = gw.client()
    try:
        slow = await asyncio.to_thread(_raw_ws_subscriber, gw.gport, "soft")
        for _ in range(100):
            if call(gw, "PUBSUB", "NUMSUB", "soft").endswith(b":1\r\n"):
                break
            await asyncio.sleep(0.02)
        payload = b"y" * 16000
        rounds = 0
        while call(gw, "PUBSUB", "NUMSUB", "soft").endswith(b":1\r\n"):
            # keep it over the soft limit: the check runs as frames are queued
            rounds += 1
            assert rounds < 400, "the soft limit never closed the paused reader"
            batch = b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nsoft\r\n$16000\r\n" + payload + b"\r\n" for _ in range(10))
            await asyncio.to_thread(resp.send_raw, batch)
            for _ in range(10):
                await asyncio.to_thread(resp.read_reply)
            await asyncio.sleep(0.02)
    finally:
        resp.close()
        if slow is not None:
            slow.close()
        call(gw, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 33554432 8388608 60")
