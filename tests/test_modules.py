"""Modules in Python (pyredis.modules): the API, MODULE LOAD/LIST/UNLOAD, module commands behaving
as built-ins, custom data types, and the two example modules."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time

import pytest
import redis

import pyredis.fake as fake
from pyredis.modules import DataType, ModuleError
from pyredis.modules.datatype import decode_type_id, encode_type_id

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPK = os.path.join(ROOT, "examples", "modules", "topk.py")
RATELIMIT = os.path.join(ROOT, "examples", "modules", "ratelimit.py")


def server(**config: str) -> fake.FakeServer:
    return fake.FakeServer(config={"enable-module-command": "yes", "enable-debug-command": "yes", **config})


def client(srv: fake.FakeServer, **kw) -> redis.Redis:
    return fake.FakeRedis(server=srv, protocol=kw.pop("protocol", 2), **kw)


@pytest.fixture
def r():
    srv = server()
    c = client(srv)
    c.execute_command("MODULE", "LOAD", TOPK)
    return c


def pairs(flat: list) -> dict:
    """A RESP2 map (flat array) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def raw_reply(c: redis.Redis, *args):
    """The reply without redis-py's response callback."""
    conn = c.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        c.connection_pool.release(conn)


def write_module(tmp_path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


# -- the type id, as Redis packs it ------------------------------------------------------------------
def test_type_id_packing():
    tid = encode_type_id("topk-type", 3)
    assert tid & 1023 == 3
    assert decode_type_id(tid) == ("topk-type", 3)
    # 'A' is 0 and '_' is 63 in Redis's character set: 9 characters of 6 bits, then 10 bits.
    assert encode_type_id("AAAAAAAAA", 0) == 0
    assert encode_type_id("AAAAAAAAB", 1) == (1 << 10) | 1
    assert encode_type_id("_________", 1023) == (1 << 64) - 1
    for bad in ("short", "ten-chars!", "bad*chars"):
        with pytest.raises(ValueError):
            DataType(bad, 0)
    with pytest.raises(ValueError):
        DataType("topk-type", 1024)


def test_module_error_codes():
    assert ModuleError("ERR boom").message == "ERR boom"
    assert ModuleError("WRONGTYPE no").message == "WRONGTYPE no"
    assert ModuleError("something failed").message == "ERR something failed"


# -- the contract of the issue --------------------------------------------------------------------------
def test_minimal_contract(tmp_path):
    path = write_module(tmp_path, "mymod", '''
        from pyredis.modules import command, ModuleError

        @command("my.echo", arity=-2, flags="readonly fast", keys=(0, 0, 0))
        def echo(ctx, argv):
            return argv[1:]

        @command("my.kinds", arity=1)
        def kinds(ctx, argv):
            return [b"bulk", 42, None, [b"nested"]]

        @command("my.fail", arity=1)
        def fail(ctx, argv):
            raise ModuleError("ERR it failed")

        @command("my.setget", arity=3, flags="write", keys=(1, 1, 1))
        def setget(ctx, argv):
            ctx.call("SET", argv[1], argv[2])
            return ctx.call("GET", argv[1])
    ''')
    srv = server()
    c = client(srv)
    assert c.execute_command("MODULE", "LOAD", path) == b"OK"
    assert c.execute_command("MY.ECHO", "a", "b") == [b"a", b"b"]
    assert c.execute_command("my.kinds") == [b"bulk", 42, None, [b"nested"]]
    with pytest.raises(redis.ResponseError, match="^it failed$"):
        c.execute_command("my.fail")
    assert c.execute_command("my.setget", "k", "v") == b"v"
    assert c.get("k") == b"v"
    mods = [pairs(m) for m in c.execute_command("MODULE", "LIST")]
    assert mods == [{b"name": b"mymod", b"ver": 1, b"path": path.encode(), b"args": []}]
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'my.echo' command"):
        c.execute_command("my.echo")


def test_handler_exception_costs_one_error_reply(tmp_path):
    path = write_module(tmp_path, "buggy", '''
        from pyredis.modules import command

        @command("buggy.crash", arity=1)
        def crash(ctx, argv):
            return 1 // 0
    ''')
    srv = server()
    c = client(srv)
    c.execute_command("MODULE", "LOAD", path)
    with pytest.raises(redis.ResponseError, match="ZeroDivisionError"):
        c.execute_command("buggy.crash")
    assert c.ping() is True
    assert c.info("commandstats")["cmdstat_buggy.crash"]["failed_calls"] == 1


def test_module_name_args_version_and_hooks(tmp_path):
    path = write_module(tmp_path, "file_stem", '''
        from pyredis.modules import command
        MODULE_NAME = "named"
        MODULE_VERSION = 7
        SEEN = []

        def on_load(ctx, args):
            SEEN.append(list(args))
            return args != [b"refuse"]

        def on_unload(ctx):
            SEEN.append("unload")

        @command("named.seen", arity=1)
        def seen(ctx, argv):
            return [b"%r" % x for x in SEEN]
    ''')
    srv = server()
    c = client(srv)
    with pytest.raises(redis.ResponseError, match="Error loading the extension. Please check the server logs."):
        c.execute_command("MODULE", "LOAD", path, "refuse")
    assert c.execute_command("MODULE", "LIST") == []
    assert c.execute_command("MODULE", "LOADEX", path, "ARGS", "a1", "a2") == b"OK"
    assert [pairs(m) for m in c.execute_command("MODULE", "LIST")] == [
        {b"name": b"named", b"ver": 7, b"path": path.encode(), b"args": [b"a1", b"a2"]}]
    assert b"module:name=named,ver=7,api=1,filters=0,usedby=[],using=[],options=[]" in raw_reply(c, "INFO", "modules")
    assert c.execute_command("MODULE", "UNLOAD", "named") == b"OK"
    with pytest.raises(redis.ResponseError, match="^unknown command 'named.seen'"):
        c.execute_command("named.seen")
    with pytest.raises(redis.ResponseError, match="^Error unloading module: no such module with that name$"):
        c.execute_command("MODULE", "UNLOAD", "named")


def test_dotted_python_path(tmp_path, monkeypatch):
    pkg = tmp_path / "myapp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "redis_commands.py").write_text(textwrap.dedent('''
        from pyredis.modules import command

        @command("myapp.hello", arity=1, flags="readonly fast")
        def hello(ctx, argv):
            return b"hi"
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    srv = server()
    c = client(srv)
    assert c.execute_command("MODULE", "LOAD", "myapp.redis_commands") == b"OK"
    assert c.execute_command("myapp.hello") == b"hi"
    assert pairs(c.execute_command("MODULE", "LIST")[0])[b"name"] == b"redis_commands"
    sys.modules.pop("myapp.redis_commands", None)
    sys.modules.pop("myapp", None)


def test_module_command_is_refused_without_enable_module_command():
    srv = fake.FakeServer()
    c = client(srv)
    with pytest.raises(redis.ResponseError, match="MODULE command not allowed"):
        c.execute_command("MODULE", "LOAD", TOPK)


def test_load_failures(tmp_path):
    srv = server()
    c = client(srv)
    for path in (str(tmp_path / "missing.py"), write_module(tmp_path, "broken", "raise RuntimeError('x')\n")):
        with pytest.raises(redis.ResponseError, match="Error loading the extension"):
            c.execute_command("MODULE", "LOAD", path)
    clash = write_module(tmp_path, "clash", '''
        from pyredis.modules import command

        @command("get", arity=2)
        def get(ctx, argv):
            return b"mine"
    ''')
    with pytest.raises(redis.ResponseError, match="Error loading the extension"):
        c.execute_command("MODULE", "LOAD", clash)
    c.set("k", "v")
    assert c.get("k") == b"v"


# -- module commands behave as built-ins ---------------------------------------------------------------
def test_command_introspection(r):
    info = raw_reply(r, "COMMAND", "INFO", "topk.add")[0]
    assert info[:6] == [b"topk.add", -3, [b"write", b"denyoom", b"module", b"fast"], 1, 1, 1]
    assert info[6] == [b"@write", b"@fast"]
    spec = pairs(info[8][0])
    assert spec[b"flags"] == [b"RW", b"access", b"update"]
    assert pairs(spec[b"begin_search"]) == {b"type": b"index", b"spec": [b"index", 1]}
    assert raw_reply(r, "COMMAND", "GETKEYS", "topk.add", "thekey", "x") == [b"thekey"]
    assert sorted(raw_reply(r, "COMMAND", "LIST", "FILTERBY", "MODULE", "topk")) == [
        b"topk.add", b"topk.count", b"topk.incrby", b"topk.list"]
    docs = raw_reply(r, "COMMAND", "DOCS", "topk.add")
    d = pairs(docs[1])
    assert d[b"group"] == b"module" and d[b"module"] == b"topk"


def test_multi_exec_scripts_and_stats(r):
    p = r.pipeline()
    p.execute_command("TOPK.ADD", "k", "a")
    p.execute_command("TOPK.ADD", "k", "a", "b")
    assert p.execute() == [[1], [2, 1]]
    assert r.eval("return redis.call('topk.list', KEYS[1])", 1, "k") == [b"a", b"b"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.eval("redis.call('set', 'str', 'x') return redis.call('topk.add', 'str', 'a')", 0)
    stats = r.info("commandstats")
    assert stats["cmdstat_topk.add"]["calls"] == 3
    assert stats["cmdstat_topk.add"]["failed_calls"] == 1
    r.config_set("slowlog-log-slower-than", 0)
    r.execute_command("TOPK.LIST", "k")
    assert r.slowlog_get(1)[0]["command"] == b"TOPK.LIST k"


def test_monitor_sees_module_commands(r):
    other = client(r.connection_pool.connection_kwargs["server"])
    other.ping()
    with r.monitor() as m:
        other.execute_command("TOPK.ADD", "k", "x")
        seen = m.next_command()["command"]
    assert seen == "TOPK.ADD k x"


def test_acl_categories_and_key_permissions(r):
    r.acl_setuser("reader", enabled=True, nopass=True, commands=["+@read"], keys=["~*"])
    r.acl_setuser("writer", enabled=True, nopass=True, commands=["+@all"], keys=["~mine:*"])
    r.execute_command("TOPK.ADD", "mine:1", "x")
    reader = client(r.connection_pool.connection_kwargs["server"], username="reader", password="x")
    assert reader.execute_command("TOPK.LIST", "mine:1") == [b"x"]
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions to run the 'topk.add' command"):
        reader.execute_command("TOPK.ADD", "mine:1", "y")
    writer = client(r.connection_pool.connection_kwargs["server"], username="writer", password="x")
    assert writer.execute_command("TOPK.ADD", "mine:1", "y") == [1]
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions to access one of the keys"):
        writer.execute_command("TOPK.ADD", "other", "y")


def test_unknown_on_a_server_without_the_module(r):
    other = client(server())
    with pytest.raises(redis.ResponseError, match="^unknown command 'TOPK.ADD', with args beginning with: 'k' 'a' $"):
        other.execute_command("TOPK.ADD", "k", "a")


# -- the custom type everywhere ----------------------------------------------------------------------------
def test_custom_type_in_keyspace_commands(r):
    assert r.execute_command("TOPK.ADD", "k", "a", "b", "a") == [1, 1, 2]
    assert r.type("k") == b"topk-type"
    assert r.object("encoding", "k") == b"raw"
    r.set("s", "v")
    assert r.scan(0, _type="topk-type") == (0, [b"k"])
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key holding the wrong kind"):
        r.execute_command("TOPK.ADD", "s", "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("k")
    assert r.memory_usage("k") > 0
    payload = r.dump("k")
    assert payload[0] == 7  # RDB_TYPE_MODULE_2
    r.restore("k2", 0, payload)
    assert r.execute_command("TOPK.LIST", "k2") == [b"a", b"b"]
    assert r.execute_command("DEBUG", "DIGEST-VALUE", "k") == r.execute_command("DEBUG", "DIGEST-VALUE", "k2")
    assert r.copy("k", "k3") is True
    assert r.execute_command("TOPK.LIST", "k3", 1) == [b"a"]
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command("TOPK.LIST", "k") == [b"a", b"b"]
    assert r.rename("k", "renamed") is True
    assert r.execute_command("TOPK.COUNT", "renamed", "a") == 2


def test_restore_without_the_module_is_refused(r):
    r.execute_command("TOPK.ADD", "k", "a")
    payload = r.dump("k")
    other = client(server())
    with pytest.raises(redis.ResponseError, match="Bad data format"):
        other.restore("k", 0, payload)


def test_unload_is_refused_while_keys_hold_the_type(r):
    r.execute_command("TOPK.ADD", "k", "a")
    with pytest.raises(redis.ResponseError, match="^Error unloading module: the module exports one or more "
                                                   "module-side data types, can't unload$"):
        r.execute_command("MODULE", "UNLOAD", "topk")
    r.delete("k")
    assert r.execute_command("MODULE", "UNLOAD", "topk") == b"OK"


def test_free_callback(tmp_path):
    path = write_module(tmp_path, "freeing", '''
        from pyredis.modules import DataType, command
        FREED = []
        T = DataType("freetype1", 0, free=FREED.append)

        @command("freeing.new", arity=2, flags="write", keys=(1, 1, 1))
        def new(ctx, argv):
            ctx.set_value(argv[1], T, argv[1])
            return 1

        @command("freeing.freed", arity=1)
        def freed(ctx, argv):
            return FREED
    ''')
    c = client(server())
    c.execute_command("MODULE", "LOAD", path)
    c.execute_command("freeing.new", "a")
    c.execute_command("freeing.new", "b")
    c.delete("a")
    c.set("b", "overwritten")
    assert sorted(c.execute_command("freeing.freed")) == [b"a", b"b"]


# -- context services -------------------------------------------------------------------------------
CTX_MODULE = '''
    from pyredis.modules import command, ModuleError

    @command("ctx.notify", arity=2, flags="write", keys=(1, 1, 1))
    def do_notify(ctx, argv):
        ctx.call("SET", argv[1], "x")
        ctx.notify("ctx.event", argv[1])
        return 1

    @command("ctx.repl", arity=2, flags="write", keys=(1, 1, 1))
    def repl(ctx, argv):
        ctx.call("INCR", argv[1])
        ctx.replicate("SET", argv[1], "replicated")
        return 1

    @command("ctx.types", arity=2, keys=(1, 1, 1))
    def types(ctx, argv):
        return [ctx.key_type(argv[1]), ctx.read(argv[1], "string")]

    @command("ctx.resp3", arity=1)
    def resp3(ctx, argv):
        return [ctx.reply_map({b"a": 1}), ctx.reply_set([b"x"]), ctx.reply_double(1.5),
                ctx.reply_status("FINE"), ctx.reply_error("ERR inner")]

    @command("ctx.waitkey", arity=3, flags="write blocking", keys=(1, 1, 1))
    def waitkey(ctx, argv):
        def ready(c):
            v = c.call("LPOP", argv[1])
            return v
        ctx.block(keys=[argv[1]], timeout_ms=int(argv[2]), on_ready=ready,
                  on_timeout=lambda c: b"timed out")

    @command("ctx.later", arity=2, flags="blocking")
    def later(ctx, argv):
        bc = ctx.block(timeout_ms=0)
        ctx.create_timer(int(argv[1]), lambda tctx, data: bc.unblock(data), b"from timer")

    @command("ctx.log", arity=2)
    def do_log(ctx, argv):
        ctx.log("warning", argv[1].decode())
        return 1
'''


@pytest.fixture
def ctxmod(tmp_path):
    srv = server(**{"notify-keyspace-events": "KEA"})
    c = client(srv)
    c.execute_command("MODULE", "LOAD", write_module(tmp_path, "ctxmod", CTX_MODULE))
    return srv, c


def test_ctx_notify_and_types(ctxmod):
    srv, c = ctxmod
    p = client(srv).pubsub()
    p.psubscribe("__keyevent@0__:*")
    p.get_message(timeout=1)
    c.execute_command("ctx.notify", "k")
    events = [p.get_message(timeout=1)["channel"] for _ in range(2)]
    assert events == [b"__keyevent@0__:set", b"__keyevent@0__:ctx.event"]
    assert c.execute_command("ctx.types", "k") == [b"string", b"x"]
    c.rpush("l", "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        c.execute_command("ctx.types", "l")


def test_ctx_reply_builders(ctxmod):
    srv, c = ctxmod
    assert c.execute_command("ctx.resp3")[:4] == [[b"a", 1], [b"x"], b"1.5", b"FINE"]
    c3 = client(srv, protocol=3)
    out = c3.execute_command("ctx.resp3")
    assert out[0] == {b"a": 1} and list(out[1]) == [b"x"] and out[2:4] == [1.5, b"FINE"]
    assert isinstance(out[4], redis.ResponseError)


def test_ctx_block_on_keys_and_timeout(ctxmod):
    srv, c = ctxmod
    assert c.execute_command("ctx.waitkey", "q", 50) == b"timed out"
    other = client(srv)
    threading.Timer(0.05, lambda: other.rpush("q", "job")).start()
    assert c.execute_command("ctx.waitkey", "q", 5000) == b"job"
    p = c.pipeline()  # inside MULTI a block replies the timeout reply at once
    p.execute_command("ctx.waitkey", "q", 0)
    assert p.execute() == [b"timed out"]


def test_ctx_block_woken_by_the_module_timer(ctxmod):
    srv, c = ctxmod
    t0 = time.monotonic()
    assert c.execute_command("ctx.later", 30) == b"from timer"
    assert time.monotonic() - t0 >= 0.02


def test_ctx_log(ctxmod, caplog):
    srv, c = ctxmod
    with caplog.at_level("WARNING", logger="pyredis"):
        c.execute_command("ctx.log", "hello from a module")
    assert "<ctxmod> hello from a module" in caplog.text


def test_server_process_loadmodule_persistence_and_aof(tmp_path):
    """``pyredis-server --loadmodule``: data of the custom type survives SAVE and a restart; the AOF
    gets module writes verbatim and ctx.replicate's commands; a server without the module refuses
    the RDB file with Redis's message."""
    from support import ServerProcess

    mod = write_module(tmp_path, "ctxmod", CTX_MODULE)
    work = tmp_path / "data"
    work.mkdir()
    args = ["--loadmodule", TOPK, "--loadmodule", mod, "--appendonly", "yes", "--aof-use-rdb-preamble", "no"]
    p = ServerProcess("pyredis", args, cwd=str(work))
    try:
        c = redis.Redis(port=p.port, protocol=2)
        assert c.execute_command("TOPK.ADD", "k", "a", "b", "a") == [1, 1, 2]
        c.execute_command("ctx.repl", "counter")
        assert c.save() is True
        aof_dir = work / "appendonlydir"
        incr = b"".join(f.read_bytes() for f in sorted(aof_dir.iterdir()) if f.name.endswith(".incr.aof"))
        assert b"*5\r\n$8\r\nTOPK.ADD\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n" in incr
        assert b"$3\r\nSET\r\n$7\r\ncounter\r\n$10\r\nreplicated\r\n" in incr and b"INCR" not in incr
        c.bgrewriteaof()
        for _ in range(100):
            base = [f for f in aof_dir.iterdir() if ".base." in f.name]
            if base and b"TOPK.INCRBY" in base[0].read_bytes():
                break
            time.sleep(0.05)
        assert b"TOPK.INCRBY" in base[0].read_bytes()  # the type's aof_rewrite callback
        c.close()
    finally:
        p.stop()
    # restart from the AOF (rewritten with the module's commands)
    p = ServerProcess("pyredis", args, cwd=str(work))
    try:
        c = redis.Redis(port=p.port, protocol=2)
        assert c.execute_command("TOPK.LIST", "k") == [b"a", b"b"]
        assert c.get("counter") == b"1"  # the rewrite saves what memory holds
        c.close()
    finally:
        p.stop()
    # restart from the RDB file, with and without the module
    p = ServerProcess("pyredis", ["--loadmodule", TOPK], cwd=str(work))
    try:
        c = redis.Redis(port=p.port, protocol=2)
        assert c.type("k") == b"topk-type"
        assert c.execute_command("TOPK.LIST", "k", 1) == [b"a"]
        c.close()
    finally:
        p.stop()
    import subprocess

    try:  # the load fails (before or after the server answers PING with -LOADING): it exits
        p = ServerProcess("pyredis", ["--logfile", str(tmp_path / "refused.log")], cwd=str(work))
        try:
            assert p.proc.wait(20) != 0
        except subprocess.TimeoutExpired:
            p.stop()
            raise
    except RuntimeError:
        pass
    log = (tmp_path / "refused.log").read_text()
    assert "The RDB file contains module data I can't load: no matching module type 'topk-type'" in log


# -- the examples --------------------------------------------------------------------------------------
def test_topk_example(r):
    assert r.execute_command("TOPK.ADD", "k", "x", "y", "x", "z", "x", "y") == [1, 1, 2, 1, 3, 2]
    assert r.execute_command("TOPK.LIST", "k") == [b"x", b"y", b"z"]
    assert r.execute_command("TOPK.LIST", "k", 2) == [b"x", b"y"]
    assert r.execute_command("TOPK.LIST", "missing") == []
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.execute_command("TOPK.LIST", "k", "many")


def test_ratelimit_example():
    srv = server()
    c = client(srv)
    c.execute_command("MODULE", "LOAD", RATELIMIT)
    takes = [c.execute_command("RATELIMIT.TAKE", "rl", 3, 0.001) for _ in range(5)]
    assert takes == [1, 1, 1, 0, 0]
    assert c.execute_command("RATELIMIT.TAKE", "big", 10, 1, 11) == 0
    assert c.execute_command("RATELIMIT.TAKE", "big", 10, 1, 10) == 1
    assert c.type("rl") == b"hash" and c.pttl("rl") > 0
    c.set("s", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        c.execute_command("RATELIMIT.TAKE", "s", 1, 1)
    with pytest.raises(redis.ResponseError, match="capacity is not a valid number"):
        c.execute_command("RATELIMIT.TAKE", "x", "lots", 1)


def test_ratelimit_is_atomic_under_threads():
    srv = server()
    c = client(srv)
    c.execute_command("MODULE", "LOAD", RATELIMIT)
    got = []

    def worker():
        cl = client(srv)
        for _ in range(25):
            got.append(cl.execute_command("RATELIMIT.TAKE", "shared", 40, 0.0001))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(got) == 40 and len(got) == 100
