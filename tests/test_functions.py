"""Redis Functions: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL/HELP and FCALL, against redis-server."""

from __future__ import annotations

import time

import pytest

from support import RawClient


@pytest.fixture
def fdiff(diff):
    diff.check("FUNCTION", "FLUSH")
    yield diff
    diff.check("FUNCTION", "FLUSH")


def _norm_list(raw: bytes):
    """FUNCTION LIST with each library's functions sorted (Redis orders them by a seeded hash)."""
    from pyredis.scripting.convert import parse_resp

    out = []
    for entry in parse_resp(raw)[0]:
        entry = list(entry)
        i = entry.index(b"functions") + 1
        entry[i] = sorted((list(f) for f in entry[i]), key=lambda f: f[1])
        out.append(entry)
    return out


def check_list(d, *args) -> None:
    r, p = d.both("FUNCTION", "LIST", *args)
    if r.startswith(b"-"):
        assert r == p
    else:
        assert _norm_list(r) == _norm_list(p), args


def lib(name: str, body: str, engine: str = "lua") -> str:
    return f"#!{engine} name={name}\n{body}"


def fn(fname: str, code: str, lib_name: str = "test") -> str:
    return lib(lib_name, f"redis.register_function('{fname}', function(KEYS, ARGV)\n {code} \nend)")


LOAD_ERRORS = [
    "redis.register_function('f', function() return 1 end)\nredis.register_function('f', function() return 1 end)",
    "redis.register_function()", "redis.register_function('f')",
    "redis.register_function('g', function() return 1 end, 'x')",
    "redis.register_function('g', function() return 1 end, 'x', 'y')",
    "redis.register_function(1, function() return 1 end)", "redis.register_function(nil, function() return 1 end)",
    "redis.register_function('a-b', function() return 1 end)", "redis.register_function('', function() return 1 end)",
    "redis.register_function('test\\0test', function() return 1 end)",
    "redis.register_function('f2', 'not a function')",
    "redis.register_function{function_name='g', callback=function() return 1 end, flags='x'}",
    "redis.register_function{function_name='g', callback=function() return 1 end, flags={1}}",
    "redis.register_function{function_name='g', callback=function() return 1 end, flags={'bad'}}",
    "redis.register_function{function_name=function() return 1 end, callback=function() return 1 end}",
    "redis.register_function{function_name='f1', callback='bad'}",
    "redis.register_function{function_name='f1', callback=function() return 1 end, description=function() end}",
    "redis.register_function{function_name='f1', callback=function() return 1 end, some_unknown='unknown'}",
    "redis.register_function{callback=function() return 1 end, description='desc'}",
    "redis.register_function{function_name='f1', description='desc'}",
    "return 1", "bad code", "local a = 1\nwhile 1 do a = a + 1 end", "a = 1", "return math.random()",
    "return redis.call('ping')", "return redis.setresp(3)", "return redis.set_repl(redis.REPL_NONE)",
    "local x = pairs", "local x = string", "error('x')", "error({err='MY err'})", "error(redis.error_reply('x'))",
    "redis.math.random()", "redis.redis.call('ping')", "mt = getmetatable(_G)",
    "redis.log(redis.LOG_WARNING, 'hello from load') return 1",
    "local version = redis.REDIS_VERSION_NUM local v = redis.REDIS_VERSION return 1",
]


@pytest.mark.parametrize("body", LOAD_ERRORS)
def test_load_errors(fdiff, body):
    fdiff.check("FUNCTION", "LOAD", lib("lib2", body))
    fdiff.check("FUNCTION", "LIST")
    fdiff.check("FUNCTION", "STATS")


METADATA = [
    "#!lua name=x", "#!lua name=x\n", "redis.register_function('ab', function() return 1 end)",
    "#!lua name=a-b\nredis.register_function('ab', function() return 1 end)",
    "#!lua name=\nredis.register_function('ab', function() return 1 end)",
    "#!lua name=lib2 x\nredis.register_function('ab', function() return 1 end)",
    "#!lua x=y name=lib2\nredis.register_function('ab', function() return 1 end)",
    "#!lua name=foo name=bar\nredis.register_function('foo', function() return 1 end)",
    "#!lua\nredis.register_function('foo', function() return 1 end)",
    "#! name=test\nredis.register_function('foo', function() return 1 end)",
    "#!bad_engine name=test\nredis.register_function('foo', function() return 1 end)",
    "#!lua name=test foo=bar\nredis.register_function('foo', function() return 1 end)",
    "#!lua name=\"foo\"\nredis.register_function('foo', function() return 1 end)",
    "#!lua name=\"lib 3\"\nredis.register_function('g', function() return 1 end)",
    "#!lua name=\"lib3\nredis.register_function('g', function() return 1 end)",
    "#!LUA name=LIB4\nredis.register_function('h', function() return 1 end)",
    "#!lua name=lib5 \nredis.register_function('g', function() return 1 end)\n"
    "redis.register_function('G', function() return 1 end)",
]


@pytest.mark.parametrize("code", METADATA)
def test_load_metadata(fdiff, code):
    fdiff.check("FUNCTION", "LOAD", code)
    check_list(fdiff, "WITHCODE")


def test_basic_usage(fdiff):
    fdiff.check("FUNCTION", "LOAD", fn("test", "return 'hello'"))
    fdiff.lines(r"""
        FCALL test 0
        FCALL TEST 0
        FCALL nosuch 0
        FCALL test x
        FCALL test -1
        FCALL test 10 key1
        FCALL_RO test 0
        FUNCTION LOAD foo bar x
        FUNCTION LOAD
        FUNCTION LOAD REPLACE
        FUNCTION LOAD REPLACE x y
        FUNCTION DELETE nosuch
        FUNCTION DELETE TEST
        FUNCTION KILL
        FUNCTION KILL x
        FUNCTION STATS x
        FUNCTION DUMP x
        FUNCTION bad_subcommand
        FUNCTION
        FUNCTION HELP
        FUNCTION FLUSH bad_arg
        FUNCTION FLUSH sync extra_arg
        FUNCTION RESTORE
        FUNCTION RESTORE bad_payload
        FUNCTION RESTORE x bad
        FUNCTION RESTORE arg1 args2 arg3
        FUNCTION LIST bad_argument
        FUNCTION LIST libraryname
        FUNCTION LIST withcode withcode
        FUNCTION LIST withcode libraryname foo libraryname foo
        FUNCTION LIST "X\r\n+INJECTED"
        COMMAND GETKEYS fcall test 1 x foo
        COMMAND GETKEYS fcall_ro test 1 x foo
        COMMAND GETKEYS eval "return 1" 2 a b c
        FUNCTION STATS
    """)
    fdiff.check("FUNCTION", "LOAD", fn("test", "return 'hello'"))
    fdiff.check("FUNCTION", "LOAD", "REPLACE", fn("test", "return 'hello1'"))
    fdiff.check("FCALL", "test", 0)
    fdiff.check("FUNCTION", "LOAD", "REPLACE", fn("test", "bad script"))
    fdiff.check("FCALL", "test", 0)
    fdiff.check("FUNCTION", "DELETE", "test")
    fdiff.check("FCALL", "test", 0)


def test_keys_args_and_flags(fdiff):
    code = lib("test", """
        redis.register_function('set', function(keys, args) return redis.call('set', keys[1], args[1]) end)
        redis.register_function{function_name='get', callback=function(keys) return redis.call('get', keys[1]) end,
                                flags={'no-writes'}, description='reads'}
        redis.register_function{function_name='bad', callback=function() return redis.call('set', 'x', 1) end,
                                flags={'no-writes'}}
        redis.register_function{function_name='all', callback=function() return 1 end,
                                flags={'no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}
        redis.register_function('globals', function(keys, args) return {keys[1], args[1], tostring(KEYS)} end)
        redis.register_function('err', function() return nosuch end)
        redis.register_function('cerr', function() return redis.call('nosuch') end)
        redis.register_function('reg', function() redis.register_function('f2', function() return 2 end) end)
        redis.register_function('resp', function() redis.setresp(3) return redis.call('hgetall', 'h') end)
        redis.register_function('g', function() mt = getmetatable(_G) end)
        redis.register_function('ver', function()
            local version = redis.REDIS_VERSION_NUM
            return string.format('%s.%s.%s', bit.band(bit.rshift(version, 16), 0x000000ff),
                                 bit.band(bit.rshift(version, 8), 0x000000ff), bit.band(version, 0x000000ff))
        end)
        redis.register_function('version', function() return redis.REDIS_VERSION end)
        redis.register_function('keys', function() local r = {} for k in pairs(redis) do r[#r+1] = k end
                                table.sort(r) return r end)
    """)
    fdiff.check("FUNCTION", "LOAD", code)
    fdiff.lines("""
        FCALL set 1 x foo
        GET x
        FCALL_RO set 1 x foo
        FCALL get 1 x
        FCALL_RO get 1 x
        FCALL bad 0
        FCALL_RO bad 0
        FCALL all 0
        FCALL globals 1 a b
        FCALL err 0
        FCALL cerr 0
        FCALL reg 0
        HSET h f v
        FCALL resp 0
        FCALL g 0
        FCALL ver 0
        FCALL version 0
        FCALL keys 0
        FUNCTION LIST LIBRARYNAME nomatch*
        FUNCTION STATS
    """)
    check_list(fdiff)
    check_list(fdiff, "WITHCODE", "LIBRARYNAME", "te*")
    fdiff.hello(3)
    check_list(fdiff, "WITHCODE")
    fdiff.lines("""
        FUNCTION STATS
        FCALL resp 0
    """)


def test_libraries_share_code_and_collide(fdiff):
    lib1 = lib("lib1", """
        local function add1(a) return a + 1 end
        redis.register_function('f1', function(keys, args) return add1(1) end)
        redis.register_function('f2', function(keys, args) return add1(2) end)
    """)
    fdiff.check("FUNCTION", "LOAD", lib1)
    fdiff.check("FCALL", "f1", 0)
    fdiff.check("FCALL", "f2", 0)
    fdiff.check("FUNCTION", "LOAD", "REPLACE", lib("lib1", """
        redis.register_function('f1', function() return 5 end)
        redis.register_function('f2', 'not a function')
    """))
    fdiff.check("FCALL", "f1", 0)
    fdiff.check("FUNCTION", "LOAD", lib("lib2", "redis.register_function('f1', function() return 1 end)"))
    fdiff.check("FUNCTION", "LOAD", lib("lib2", "redis.register_function('F1', function() return 1 end)"))
    fdiff.check("FUNCTION", "LOAD", "REPLACE", lib("lib1", "redis.register_function('f3', function() return 3 end)"))
    fdiff.check("FCALL", "f1", 0)
    fdiff.check("FCALL", "f3", 0)
    fdiff.check("FUNCTION", "LOAD", lib("lib1", "redis.register_function('f9', function() return 3 end)"))
    fdiff.check("FUNCTION", "LOAD", lib("lib1", "bad code"))
    fdiff.check("FUNCTION", "STATS")
    fdiff.check("FUNCTION", "DELETE", "lib1")
    fdiff.check("FUNCTION", "LIST")
    fdiff.check("FUNCTION", "STATS")


def test_malicious_access(fdiff):
    fdiff.check("FUNCTION", "LOAD", lib("lib1", """
        local lib = redis
        lib.register_function('f1', function ()
            lib.redis = redis
            lib.math = math
            return {ok='OK'}
        end)
        lib.register_function('f2', function ()
            lib.register_function('f1', function () return {ok='OK'} end)
        end)
    """))
    fdiff.check("FCALL", "f1", 0)
    fdiff.check("FCALL", "f2", 0)
    fdiff.check("FUNCTION", "LOAD", lib("lib2", "redis.math.random()"))
    fdiff.check("FUNCTION", "LOAD", lib("lib2", "redis.redis.call('ping')"))


def test_dump_restore(fdiff):
    fdiff.check("FUNCTION", "LOAD", lib("lib1", """
        local function add1(a) return a + 1 end
        redis.register_function('f1', function(keys, args) return add1(1) end)
        redis.register_function('f2', function(keys, args) return add1(2) end)
        redis.register_function('f3', function(keys, args) return add1(3) end)
    """))
    r, p = fdiff.both("FUNCTION", "DUMP")
    for payload in (r, p):  # each server restores both payloads (its own and the other's)
        body = payload.split(b"\r\n", 1)[1][:-2]
        fdiff.check("FUNCTION", "FLUSH")
        fdiff.check("FUNCTION", "RESTORE", body)
        fdiff.check("FCALL", "f2", 0)
        fdiff.check("FUNCTION", "RESTORE", body)
        fdiff.check("FUNCTION", "RESTORE", body, "REPLACE")
        fdiff.check("FUNCTION", "RESTORE", body, "FLUSH")
        fdiff.check("FCALL", "f3", 0)
        fdiff.check("FUNCTION", "FLUSH")
        fdiff.check("FUNCTION", "LOAD", lib("lib1", "redis.register_function('f6', function() return 7 end)"))
        fdiff.check("FUNCTION", "LOAD", lib("lib2", "redis.register_function('f3', function() return 4 end)"))
        fdiff.check("FUNCTION", "RESTORE", body)
        fdiff.check("FUNCTION", "RESTORE", body, "replace")
        fdiff.check("FCALL", "f3", 0)
        fdiff.check("FCALL", "f6", 0)
        fdiff.check("FUNCTION", "DELETE", "lib2")
        fdiff.check("FUNCTION", "RESTORE", body, "APPEND")
        fdiff.check("FUNCTION", "RESTORE", body, "REPLACE")
        fdiff.check("FCALL", "f1", 0)
        fdiff.check("FUNCTION", "RESTORE", body[:-1] + bytes([body[-1] ^ 1]))
        fdiff.check("FUNCTION", "RESTORE", b"\x01\x02" + body)
        fdiff.check("FUNCTION", "FLUSH")
    fdiff.check("FUNCTION", "DUMP")


def test_flush_keeps_functions_flushall_does_not(fdiff):
    fdiff.check("FUNCTION", "LOAD", fn("test", "return redis.call('set', 'x', '1')"))
    fdiff.check("FLUSHALL")
    fdiff.check("FLUSHDB")
    fdiff.check("FUNCTION", "LIST")
    fdiff.check("FUNCTION", "FLUSH", "ASYNC")
    fdiff.check("FUNCTION", "LIST")
    fdiff.check("FUNCTION", "LOAD", fn("test", "return 1"))
    fdiff.check("FUNCTION", "FLUSH", "SYNC")
    fdiff.check("FUNCTION", "LIST")


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_function_kill(redis_proc, pyredis_proc, kind):
    proc = redis_proc if kind == "redis" else pyredis_proc
    a, b = RawClient(proc.port), RawClient(proc.port)
    try:
        b.call("CONFIG", "SET", "busy-reply-threshold", "50")
        b.call("FUNCTION", "LOAD", "REPLACE", fn("t", "local a = 1 while true do a = a + 1 end", "kl"))
        assert b.call("FUNCTION", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
        a.send("FCALL", "t", 0)
        deadline = time.time() + 5
        while not b.call("PING").startswith(b"-BUSY") and time.time() < deadline:
            time.sleep(0.02)
        assert b.call("PING") == (b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                                  b"SHUTDOWN NOSAVE.\r\n")
        assert b.call("SCRIPT", "KILL").startswith(b"-BUSY Redis is busy running a script. You can only call FUNCTION")
        stats = b.call("FUNCTION", "STATS")
        assert stats.startswith(b"*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$1\r\nt\r\n$7\r\ncommand\r\n*3\r\n"
                                b"$5\r\nFCALL\r\n$1\r\nt\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:")
        assert b.call("FUNCTION", "KILL") == b"+OK\r\n"
        assert a.read_reply() == (b"-ERR Script killed by user with SCRIPT KILL... script: t, on @user_function:3.\r\n")
        assert b.call("PING") == b"+PONG\r\n"
    finally:
        b.call("CONFIG", "SET", "busy-reply-threshold", "5000")
        b.call("FUNCTION", "FLUSH")
        a.close()
        b.close()


def test_fcall_propagates_effects(pyredis_proc, tmp_path):
    """FCALL/EVAL effects reach the AOF as the commands they ran (MULTI/EXEC when more than one)."""
    c = RawClient(pyredis_proc.port)
    c.call("FUNCTION", "FLUSH")
    c.call("FUNCTION", "LOAD", fn("two", "redis.call('set', KEYS[1], 'a') redis.call('incr', KEYS[2])", "pl"))
    c.call("FLUSHALL")
    c.call("FCALL", "two", 2, "s", "n")
    assert c.call("MGET", "s", "n") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    c.call("FUNCTION", "FLUSH")
    c.close()
