"""Connection and server commands: CLIENT, HELLO, AUTH, SELECT, INFO, SLOWLOG, TIME, DEBUG."""

from __future__ import annotations

import re
import time

import redis

from support import RawClient, ServerProcess


def test_connection_errors_match_redis(diff):
    diff.lines("""
        PING
        PING hello
        ECHO hi
        ECHO
        SELECT 0
        CLIENT SETNAME "bad name"
        CLIENT SETNAME good-name
        CLIENT GETNAME
        CLIENT SETNAME ""
        CLIENT GETNAME
        CLIENT KILL 1.2.3.4:5
        CLIENT KILL ID 0
        CLIENT KILL ID abc
        CLIENT KILL TYPE nosuch
        CLIENT KILL USER nosuchuser
        CLIENT KILL SKIPME maybe
        CLIENT KILL BADFILTER x
        CLIENT LIST TYPE nosuch
        CLIENT LIST ID abc
        CLIENT REPLY maybe
        CLIENT NO-EVICT maybe
        CLIENT NO-EVICT on
        CLIENT PAUSE abc
        CLIENT PAUSE -1
        CLIENT PAUSE 10 sometimes
        CLIENT HELP
        HELLO 4
        HELLO abc
        HELLO 2 SETNAME "a b"
        HELLO 2 BADOPT
        HELLO 3 AUTH default wrong
        AUTH foo
        AUTH a b c
        AUTH default foo
    """)


def test_client_commands(pyredis_proc):
    a = redis.Redis(port=pyredis_proc.port)
    b = redis.Redis(port=pyredis_proc.port)
    a.client_setname("alpha")
    b.client_setname("beta")
    ids = {c["name"]: int(c["id"]) for c in a.client_list()}
    assert {"alpha", "beta"} <= set(ids)
    info = a.client_info()
    assert info["name"] == "alpha" and info["cmd"] == "client|info"
    line = a.execute_command("CLIENT", "LIST", "ID", ids["beta"])
    assert re.search(r"name=beta .*cmd=client\|setname", line.decode() if isinstance(line, bytes) else line)
    assert a.client_kill_filter(_id=ids["beta"]) == 1
    time.sleep(0.1)
    assert "beta" not in {c["name"] for c in a.client_list()}
    assert a.client_id() == ids["alpha"]
    a.close()
    b.close()


def test_client_reply_modes(pyredis_proc):
    c = RawClient(pyredis_proc.port)
    c.send_raw(b"CLIENT REPLY OFF\r\nSET a 1\r\nCLIENT REPLY ON\r\nGET a\r\n")
    assert c.read_reply() == b"+OK\r\n"  # only CLIENT REPLY ON answers
    assert c.read_reply() == b"$1\r\n1\r\n"
    c.send_raw(b"CLIENT REPLY SKIP\r\nSET a 2\r\nGET a\r\n")
    assert c.read_reply() == b"$1\r\n2\r\n"
    c.close()


def test_requirepass_and_hello_auth(tmp_path):
    srv = ServerProcess("pyredis", ["--requirepass", "s3cret"], cwd=str(tmp_path))
    try:
        c = RawClient(srv.port)
        assert c.call("GET", "a") == b"-NOAUTH Authentication required.\r\n"
        assert c.call("AUTH", "wrong") == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert c.call("AUTH", "s3cret") == b"+OK\r\n"
        assert c.call("GET", "a") == b"$-1\r\n"
        c2 = RawClient(srv.port)
        assert c2.call("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "x").startswith(b"%7\r\n")
        assert c2.call("CLIENT", "GETNAME") == b"$1\r\nx\r\n"
        assert c2.call("RESET") == b"+RESET\r\n"
        assert c2.call("GET", "a") == b"-NOAUTH Authentication required.\r\n"
        # Unauthenticated clients get Redis's tighter protocol limits.
        c3 = RawClient(srv.port)
        c3.send_raw(b"*20\r\n")
        assert c3.read_reply() == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    finally:
        srv.stop()


def test_info_sections(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    r.flushall()
    r.set("k", "v", ex=100)
    r.get("k")
    r.get("missing")
    info = r.info("everything")
    for field in ("redis_version", "tcp_port", "connected_clients", "used_memory", "total_commands_processed",
                  "keyspace_hits", "keyspace_misses", "role", "aof_enabled"):
        assert field in info, field
    assert info["redis_version"] == "7.0.15"
    assert info["db0"]["keys"] == 1 and info["db0"]["expires"] == 1
    assert info["cmdstat_get"]["calls"] >= 2
    assert set(r.info("keyspace")) == {"db0"}
    assert "cmdstat_get" not in r.info()  # commandstats are not a default section
    try:
        r.execute_command("GET")
    except redis.ResponseError:
        pass
    assert r.info("errorstats")["errorstat_ERR"]["count"] >= 1


def test_slowlog_and_time(pyredis_proc):
    r = redis.Redis(port=pyredis_proc.port)
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.set("slow", "x")
    entries = r.slowlog_get(10)
    assert any(e["command"] == b"SET slow x" for e in entries)
    assert r.slowlog_len() >= 1
    r.config_set("slowlog-log-slower-than", 10000)
    secs, usecs = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 1_000_000


def test_debug_sleep_and_protocol(pyredis_proc):
    c = RawClient(pyredis_proc.port)
    t = time.time()
    assert c.call("DEBUG", "SLEEP", "0.2") == b"+OK\r\n"
    assert time.time() - t >= 0.2
    assert c.call("DEBUG", "NOSUCH").startswith(b"-ERR unknown subcommand")
    c.close()


def test_shutdown_nosave_stops_the_server(tmp_path):
    srv = ServerProcess("pyredis", cwd=str(tmp_path))
    c = RawClient(srv.port)
    c.send("SHUTDOWN", "NOSAVE")
    srv.proc.wait(10)
    assert srv.proc.returncode == 0
