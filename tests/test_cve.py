"""Regression tests for the CVEs fixed in Redis 7.0.x: each attack goes to both servers.

Every test sends the hostile input to a real (fixed) redis-server and to pyredis, asserts the raw
reply bytes are identical, that the reply comes within the socket timeout, and that the server still
serves another client afterwards.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import tempfile

import pytest

from pyredis.persistence.crc64 import crc64
from support import RawClient, ServerProcess

TIMEOUT = 10.0


def _still_serving(*procs: ServerProcess) -> None:
    for proc in procs:
        c = RawClient(proc.port, timeout=TIMEOUT)
        try:
            assert c.call("PING") == b"+PONG\r\n", proc.kind
        finally:
            c.close()


def _read_until_close(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            data = sock.recv(1 << 16)
        except ConnectionResetError:
            return out
        if not data:
            return out
        out += data


def _raw_both(redis_proc, pyredis_proc, data: bytes) -> tuple[bytes, bytes]:
    """Send *data* on a fresh connection to each server; everything it answers before closing."""
    replies = []
    for proc in (redis_proc, pyredis_proc):
        with socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT) as s:
            s.sendall(data)
            replies.append(_read_until_close(s))
    return replies[0], replies[1]


@pytest.fixture
def check(diff, redis_proc, pyredis_proc):
    """``check(*args)``: same raw reply from both servers; both still serve afterwards."""
    yield diff.check
    _still_serving(redis_proc, pyredis_proc)


# --- protocol limits (CVE-2021-32675, CVE-2021-32627/32628/32687/41099 headers) -------------------


@pytest.mark.parametrize("data", [
    b"*2147483648\r\n",
    b"*1048577\r\n$536870913\r\n",
    b"*-9223372036854775809\r\n",
    b"*3\r\n$2147483648\r\n",
    b"*3\r\n$536870913\r\n",
    b"*3\r\n$-2\r\n",
    b"*1\r\n$99999999999999999999\r\n",
    b"*99999999999999999999\r\n",
])
def test_huge_multibulk_and_bulk_headers(redis_proc, pyredis_proc, data):
    expected, got = _raw_both(redis_proc, pyredis_proc, data)
    assert got == expected
    _still_serving(redis_proc, pyredis_proc)


@pytest.fixture(scope="module")
def auth_servers():
    args = ["--requirepass", "secret"]
    r = ServerProcess("redis", args)
    try:
        p = ServerProcess("pyredis", args)
    except BaseException:
        r.stop()
        raise
    yield r, p
    r.stop()
    p.stop()


def _auth_still_serving(*procs: ServerProcess) -> None:
    for proc in procs:
        c = RawClient(proc.port, timeout=TIMEOUT)
        try:
            assert c.call("AUTH", "secret") == b"+OK\r\n"
            assert c.call("PING") == b"+PONG\r\n"
        finally:
            c.close()


@pytest.mark.parametrize("data", [
    b"*11\r\n",
    b"*1\r\n$16385\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$2147483647\r\n",
])
def test_unauthenticated_request_limits(auth_servers, data):
    r, p = auth_servers
    expected, got = _raw_both(r, p, data)
    assert got == expected
    _auth_still_serving(r, p)


def test_unauthenticated_output_buffer_is_limited(auth_servers):
    """CVE-2025-21605: a client that never authenticates nor reads is disconnected."""
    for proc in auth_servers:
        with socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT) as s:
            s.sendall(b"SET x 5\r\n")
            first = s.recv(100)
            assert first.startswith(b"-NOAUTH Authentication required."), proc.kind
            batch = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n5\r\n" * 2000
            closed = False
            for _ in range(500):  # at most ~28 MB of requests: the server must hang up long before
                try:
                    s.sendall(batch)
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
            assert closed, f"{proc.kind} kept an unauthenticated client that never reads"
    _auth_still_serving(*auth_servers)


# --- glob matching (CVE-2022-36021, CVE-2024-31228) ----------------------------------------------


@pytest.mark.parametrize("pattern", [
    "*a" * 1050,
    "a*" * 1050,
    "*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*b",
    "*" + "?*" * 40 + "b",
    "[" * 2000,
    "[a-" + "\\" * 3,
    "*" * 5000 + "b",
])
def test_glob_pattern_complexity(check, diff, pattern):
    diff.check("SET", "a" * 1100, "v")
    diff.check("SADD", "s", "a" * 1100, "b")
    diff.check("HSET", "h", "a" * 1100, "1")
    diff.check("ZADD", "z", "1", "a" * 1100)
    check("KEYS", pattern)
    check("SCAN", "0", "MATCH", pattern, "COUNT", "1000")
    check("SSCAN", "s", "0", "MATCH", pattern)
    check("HSCAN", "h", "0", "MATCH", pattern)
    check("ZSCAN", "z", "0", "MATCH", pattern)
    check("EVAL", "return redis.call('keys', ARGV[1])", "0", pattern)


def test_glob_in_acl_and_pubsub_patterns(check, diff):
    pattern = "*a" * 1050
    check("ACL", "SETUSER", "globuser", "on", "nopass", "~" + pattern, "+@all")
    check("ACL", "DRYRUN", "globuser", "GET", "a" * 1100)
    check("ACL", "DELUSER", "globuser")
    check("PUBSUB", "CHANNELS", pattern)


# --- Lua sandbox and libraries ---------------------------------------------------------------------


@pytest.mark.parametrize("script", [
    # CVE-2022-24834: cjson / cmsgpack with deeply nested or huge values
    # (the cjson settings persist in the Lua state, as in Redis: each script sets what it relies on)
    "cjson.encode_max_depth(1000) local t = {} local c = t for i = 1, 1100 do c[1] = {} c = c[1] end"
    " return cjson.encode(t)",
    "cjson.decode_max_depth(1000) return cjson.decode(string.rep('[', 1100) .. string.rep(']', 1100))",
    "cjson.decode_max_depth(1000) return cjson.decode(string.rep('{\"a\":', 1100) .. '1' .. string.rep('}', 1100))",
    # past the configured depth, the Lua C stack limit (lua_checkstack) stops both codecs
    "cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 9000 do c[1] = {} c = c[1] end"
    " return {pcall(cjson.encode, t)}",
    "cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 9000 do c.a = {} c = c.a end"
    " return {pcall(cjson.encode, t)}",
    "cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 7996 do c[1] = {} c = c[1] end"
    " return #cjson.encode(t)",
    "cjson.decode_max_depth(100000) return {pcall(cjson.decode, string.rep('[', 9000) .. string.rep(']', 9000))}",
    "cjson.decode_max_depth(100000) return #cjson.decode(string.rep('[', 7998) .. string.rep(']', 7998))",
    "cjson.decode_max_depth(100000) return {pcall(cjson.decode, string.rep('{\"a\":', 4000) .. '1')}",
    "cjson.decode_max_depth(1000) return 1",
    "cjson.encode_max_depth(1000) return 1",
    "return #cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1')",
    "return {pcall(cmsgpack.unpack, string.rep('\\145', 4000) .. '\\1')}",
    "return {pcall(cmsgpack.unpack, string.rep('\\129\\1', 4000) .. '\\1')}",
    "return {pcall(cmsgpack.unpack, string.rep('\\1', 9000))}",
    "return select('#', cmsgpack.unpack(string.rep('\\1', 7999)))",
    "local s = string.rep('\"\\\\u0000', 1) return pcall(cjson.decode, s)",
    "return cjson.encode(string.rep('\\0', 1000))",
    "local t = {} local c = t for i = 1, 1100 do c[1] = {} c = c[1] end return #cmsgpack.pack(t)",
    "return #cmsgpack.unpack(string.rep('\\145', 1100) .. '\\1')",
    "return {pcall(cmsgpack.unpack, '\\219\\255\\255\\255\\255')}",
    "return {pcall(cmsgpack.unpack, '\\221\\255\\255\\255\\255')}",
    "return {pcall(cmsgpack.unpack, '\\223\\255\\255\\255\\255')}",
    # CVE-2015-8080 / CVE-2018-11218/11219: struct integer wraparound
    "return {pcall(struct.pack, '>I2147483648', 1)}",
    "return {pcall(struct.pack, '>I16', 1)}",
    "return {pcall(struct.pack, 'c2147483647', 'x')}",
    "return {pcall(struct.unpack, 'c2147483647', 'x')}",
    "return {pcall(struct.unpack, 'i9', '123456789')}",
    "return {pcall(struct.unpack, '>i9', '923456789')}",
    "return {pcall(struct.unpack, 'i16', '9234567890123456')}",
    "return {pcall(struct.unpack, 'i33', '1')}",
    "return {pcall(struct.pack, 'i33', 1)}",
    "return struct.unpack('c2147483647', 'x')",
    "local s = struct return s:unpack('x')",
    "local u = struct.unpack return u('c2147483647', 'x')",
    "return {pcall(struct.pack, '!2147483648i', 1)}",
    "return {pcall(struct.size, 'c99999999999999999999')}",
    # CVE-2024-31449: bit library stack overflow
    "return bit.tohex(65535, -2147483648)",
    "return bit.tohex(65535, 2147483647)",
    "return bit.tohex(-1, -8)",
    # CVE-2022-0543: package / loadlib must not be reachable
    "return tostring(package)",
    "return {pcall(function() return package.loadlib('/usr/lib/x86_64-linux-gnu/liblua5.1.so.0', 'luaopen_io') end)}",
    "return tostring(loadlib)",
    "return tostring(require)",
    "return tostring(io)",
    "return tostring(os)",
    "return tostring(dofile)",
    "return tostring(loadfile)",
    # CVE-2021-32626: Lua stack with many arguments / results
    "local a = {} for i = 1, 7999 do a[i] = 1 end return redis.call('lpush', 'l', unpack(a))",
    "local a = {} for i = 1, 7999 do a[i] = 1 end return #{redis.pcall('del', unpack(a))}",
    # CVE-2025-46817: unpack integer overflow
    "return {pcall(unpack, {}, 0, 2147483647)}",
    "return {pcall(unpack, {}, -2, 2147483647)}",
    "return {pcall(unpack, {}, -2147483648, 2147483647)}",
    # CVE-2025-46818: metatables of basic types are read-only
    "return {pcall(function() getmetatable('').__index = {} end)}",
    "return {pcall(setmetatable, _G, {})}",
    # CVE-2025-46819: lexer with malformed long strings
    "return {loadstring('return [=[ x ]==')}",
    "return {loadstring('[[')}",
    "return {loadstring(string.rep('[', 1000))}",
    # CVE-2025-49844 / CVE-2024-46981: parser and GC
    "return {pcall(loadstring, string.rep('a=', 300) .. '1')}",
    "collectgarbage('collect') return 1",
])
def test_lua_sandbox_and_libraries(check, script):
    check("EVAL", script, "0")


def test_lua_gc_metamethod_across_script_flush(check):
    """CVE-2024-46981: SCRIPT FLUSH must not run a stale __gc later."""
    check("EVAL", "local t = setmetatable({}, {__gc = function() redis.call('set', 'gc', 1) end}) return 1", "0")
    check("SCRIPT", "FLUSH")
    check("EVAL", "collectgarbage('collect') return redis.call('exists', 'gc')", "0")


@pytest.mark.parametrize("args", [
    # CVE-2025-67733: CRLF injection through error and status replies
    ["EVAL", "return redis.error_reply('X\\r\\n+INJECTED')", "0"],
    ["EVAL", "error(redis.error_reply('X\\r\\n+INJECTED'))", "0"],
    ["EVAL", "return redis.status_reply('X\\r\\n+INJECTED')", "0"],
    ["EVAL", "return {err = 'A\\r\\nB\\nC\\rD'}", "0"],
    ["EVAL", "return {ok = 'A\\r\\nB'}", "0"],
    ["EVAL", "return redis.pcall('x\\r\\n+INJECTED')", "0"],
    ["EVAL", "error('X\\r\\n+INJECTED')", "0"],
    ["FUNCTION", "LIST", "X\r\n+INJECTED"],
    ["X\r\n+INJECTED"],
    ["GET", "a", "b\r\n+INJECTED"],
    ["CONFIG", "SET", "X\r\n+INJECTED", "1"],
    ["CLIENT", "SETNAME", "a\r\nb"],
])
def test_crlf_injection_in_replies(check, args):
    check(*args)


# --- random-member counts (CVE-2023-25155, CVE-2023-22458) -----------------------------------------
# Counts inside the accepted range but huge (SRANDMEMBER s -9223372036854775807, ZRANDMEMBER/HRANDFIELD
# -4611686018427387903 WITHSCORES) make redis-server 7.0.15 build the whole reply in memory until the
# kernel kills it: they are not sent here.


@pytest.mark.parametrize("args", [
    ["SRANDMEMBER", "s", "-9223372036854775808"],
    ["SRANDMEMBER", "s", "9223372036854775807"],
    ["SPOP", "s", "-9223372036854775808"],
    ["ZRANDMEMBER", "z", "-9223372036854775808"],
    ["ZRANDMEMBER", "z", "-9223372036854775808", "WITHSCORES"],
    ["ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"],
    ["HRANDFIELD", "h", "-9223372036854775808"],
    ["HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"],
    ["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
    ["HRANDFIELD", "nosuch", "-9223372036854775808", "WITHVALUES"],
    ["ZRANDMEMBER", "nosuch", "-9223372036854775808", "WITHSCORES"],
])
def test_random_member_counts(check, diff, args):
    diff.check("SADD", "s", "a")
    diff.check("ZADD", "z", "1", "a")
    diff.check("HSET", "h", "a", "1")
    check(*args)


# --- sizes (CVE-2022-35977, CVE-2021-32761, CVE-2021-29477) -----------------------------------------


@pytest.mark.parametrize("args", [
    ["SETRANGE", "k", "2147483647", "x"],
    ["SETRANGE", "k", "536870911", "xy"],
    ["SETRANGE", "k", "9223372036854775807", "x"],
    ["SETRANGE", "k", "-1", "x"],
    ["SETRANGE", "nosuch", "4294967295", ""],
    ["APPEND", "k", "x"],
    ["SORT", "l", "LIMIT", "-9223372036854775808", "9223372036854775807"],
    ["SORT", "l", "LIMIT", "9223372036854775807", "9223372036854775807"],
    ["SORT", "l", "LIMIT", "1", "-9223372036854775808"],
    ["SORT_RO", "l", "LIMIT", "-1", "9223372036854775807"],
    ["SORT", "l", "LIMIT", "2147483647", "2147483647", "STORE", "dst"],
    ["BITFIELD", "k", "SET", "i64", "4294967295", "1"],
    ["BITFIELD", "k", "SET", "i8", "#536870911", "1"],
    ["BITFIELD", "k", "SET", "i8", "#9223372036854775807", "1"],
    ["BITFIELD", "k", "INCRBY", "u63", "4294967296", "1"],
    ["BITFIELD", "k", "GET", "i64", "18446744073709551615"],
    ["BITFIELD_RO", "k", "GET", "u8", "#2147483648"],
    ["SETBIT", "k", "4294967296", "1"],
    ["BITCOUNT", "k", "-9223372036854775808", "9223372036854775807"],
    ["BITPOS", "k", "1", "-9223372036854775808", "9223372036854775807", "BIT"],
    ["GETRANGE", "k", "-9223372036854775808", "9223372036854775807"],
    ["LCS", "k", "k2", "IDX", "MINMATCHLEN", "-9223372036854775808"],
    ["LCS", "k", "k2", "LEN"],
])
def test_size_overflows(check, diff, args):
    diff.check("SET", "k", "hello")
    diff.check("SET", "k2", "help")
    diff.check("RPUSH", "l", "3", "1", "2")
    check(*args)


# --- XAUTOCLAIM COUNT (CVE-2022-35951, CVE-2022-31144) ----------------------------------------------


@pytest.mark.parametrize("count", ["0", "-1", "1", "2", "1073741823", "1073741824", "9223372036854775807",
                                   "-9223372036854775808", "99999999999999999999"])
def test_xautoclaim_count(check, diff, count):
    diff.check("XADD", "x", "1-0", "f", "v")
    diff.check("XADD", "x", "2-0", "f", "v")
    diff.check("XGROUP", "CREATE", "x", "g", "0")
    diff.check("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "x", ">")
    diff.check("XDEL", "x", "1-0")
    check("XAUTOCLAIM", "x", "g", "c2", "0", "0-0", "COUNT", count)
    check("XAUTOCLAIM", "x", "g", "c2", "0", "0-0", "COUNT", count, "JUSTID")
    check("XPENDING", "x", "g")


# --- MSETNX / HINCRBYFLOAT / COMMAND GETKEYS (CVE-2023-28425, -28856, -36824) -----------------------


@pytest.mark.parametrize("args", [
    ["MSETNX", "k", "v1", "k", "v2"],
    ["GET", "k"],
    ["MSETNX", "k", "v3", "k", "v4"],
    ["GET", "k"],
    ["MSETNX", "n", "1", "n"],
])
def test_msetnx_same_key_twice(check, args):
    check(*args)


def test_msetnx_sequence(check):
    for args in (["MSETNX", "k", "v1", "k", "v2"], ["GET", "k"], ["MSETNX", "k", "v3", "k", "v4"],
                 ["GET", "k"], ["MSETNX", "a", "1", "b", "2", "a", "3"], ["MGET", "a", "b"]):
        check(*args)


@pytest.mark.parametrize("incr", ["nan", "NaN", "inf", "-inf", "+inf"])
def test_hincrbyfloat_nan_inf(check, diff, incr):
    diff.check("HSET", "h", "f", "1")
    check("HINCRBYFLOAT", "h", "f", incr)
    check("HINCRBYFLOAT", "h", "new", incr)
    check("HGETALL", "h")
    check("INCRBYFLOAT", "s", incr)


# --- key counts in COMMAND GETKEYS and ACL checks (CVE-2023-36824) -----------------------------------
# A numkeys far past the arguments must give "no keys" at once (no loop or allocation of that size);
# a numkeys over 32 bits wraps to an int in redis-server (4294967297 counts as 1), and so it does here.

_GETKEYS_CASES = [
    ["ZUNIONSTORE", "d", "2147483647", "a"],
    ["ZUNIONSTORE", "d", "-1", "a"],
    ["ZUNIONSTORE", "d", "0", "a"],
    ["ZUNIONSTORE", "d", "2", "a"],
    ["ZUNIONSTORE", "d", "x", "a"],
    ["ZUNIONSTORE", "d", "1", "a", "WEIGHTS", "2"],
    ["ZUNIONSTORE", "d", "4294967297", "a"],
    ["ZINTERSTORE", "d", "1000000000", "a"],
    ["ZDIFFSTORE", "d", "9223372036854775807", "a"],
    ["ZUNION", "2147483647", "a"],
    ["ZUNION", "4294967297", "a"],
    ["ZINTERCARD", "2147483647", "a"],
    ["SINTERCARD", "2147483647", "a"],
    ["SINTERCARD", "-2147483648", "a"],
    ["LMPOP", "2147483647", "a", "LEFT"],
    ["ZMPOP", "2147483647", "a", "MIN"],
    ["BLMPOP", "0", "2147483647", "a", "LEFT"],
    ["BZMPOP", "0", "4294967296", "a", "MIN"],
    ["EVAL", "x", "2147483647"],
    ["EVAL", "x", "-1"],
    ["EVAL", "x", "4294967297", "k"],
    ["EVAL_RO", "x", "2147483648", "k"],
    ["FCALL", "f", "2147483647"],
    ["FCALL_RO", "f", "-5", "k"],
    ["MIGRATE", "h", "1", "", "0", "1", "KEYS"],
    ["MIGRATE", "h", "1", "", "0", "1", "KEYS", "a", "b"],
    ["MIGRATE", "h", "1", "", "0", "1", "AUTH", "x", "KEYS", "a"],
    ["SORT", "a", "BY", "x", "STORE", "d"],
    ["SORT", "a", "STORE"],
    ["GEORADIUS", "k", "0", "0", "1", "m", "STORE"],
    ["BITFIELD", "k", "GET", "u8", "0"],
    ["BITFIELD", "k", "SET", "u8", "0", "1"],
    ["SET", "k", "v", "GET"],
    ["ZUNIONSTORE", "dst", "9999999999", "a"],
    ["EVAL", "x", "-2147483648", "a"],
    ["EVALSHA_RO", "x", "9223372036854775807", "a"],
    ["FCALL", "f", "2", "a"],
    ["XREAD", "STREAMS", "a", "b", "c"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a"],
    ["MSET", "a", "1", "b"],
    ["SET"],
    ["NOSUCHCOMMAND", "a"],
    ["GET"],
    ["PING"],
]


@pytest.mark.parametrize("sub", ["GETKEYS", "GETKEYSANDFLAGS"])
@pytest.mark.parametrize("args", _GETKEYS_CASES, ids=lambda a: " ".join(a)[:40])
def test_command_getkeys_key_counts(check, sub, args):
    check("COMMAND", sub, *args)


@pytest.mark.parametrize("args", [
    ["EVAL", "return 1", "2147483647"],
    ["EVAL", "return 1", "2147483648"],
    ["EVAL", "return 1", "9223372036854775807"],
    ["EVAL", "return 1", "-2147483648"],
    ["EVAL", "return 1", "4294967297", "k"],
    ["EVAL_RO", "return 1", "2147483647", "k"],
    ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "2147483647"],
    ["FCALL", "nosuch", "2147483647"],
    ["FCALL_RO", "nosuch", "-1"],
])
def test_script_huge_numkeys(check, args):
    """The numkeys check answers at once (no key list of that size is built)."""
    check(*args)


def test_acl_key_checks_with_huge_key_counts(check):
    check("ACL", "SETUSER", "cve36824", "on", "nopass", "%R~a*", "+@all")
    for args in (["ZUNIONSTORE", "d", "2147483647", "a"], ["ZUNIONSTORE", "a1", "1", "b"],
                 ["ZUNION", "4294967297", "b"], ["ZUNION", "2147483647", "a"], ["SINTERCARD", "2147483647", "b"],
                 ["EVAL", "return 1", "2147483647"], ["EVAL", "return 1", "4294967297", "b"],
                 ["FCALL", "f", "4294967297", "b"], ["LMPOP", "2147483647", "b", "LEFT"],
                 ["GEORADIUS", "a", "0", "0", "1", "m", "STORE"], ["GEORADIUS", "a", "0", "0", "1", "m", "STORE", "b"],
                 ["MIGRATE", "h", "1", "", "0", "1", "KEYS", "a", "b"], ["SORT", "a", "STORE", "a2"]):
        check("ACL", "DRYRUN", "cve36824", *args)
    check("ACL", "DELUSER", "cve36824")
    check("EVAL", "return 1", "4294967297", "b")
    check("ZUNIONSTORE", "d", "4294967297", "a")


# --- SORT_RO keys and ACL (CVE-2023-41053) / ACL selectors (CVE-2024-31227, CVE-2024-51741) ---------


def test_sort_ro_keys_and_acl(check, diff):
    diff.check("RPUSH", "mylist", "1", "2")
    diff.check("SET", "secret_1", "a")
    check("ACL", "SETUSER", "sortuser", "on", "nopass", "~mylist", "+@all")
    for cmd in (["SORT_RO", "mylist", "BY", "secret_*"], ["SORT_RO", "mylist", "GET", "secret_*"],
                ["SORT", "mylist", "BY", "secret_*"], ["SORT", "mylist", "GET", "#"],
                ["SORT_RO", "mylist", "BY", "nosort"], ["SORT_RO", "mylist"]):
        check("ACL", "DRYRUN", "sortuser", *cmd)
    check("COMMAND", "GETKEYS", "SORT_RO", "mylist", "BY", "secret_*", "GET", "x_*")
    check("COMMAND", "GETKEYSANDFLAGS", "SORT_RO", "mylist")
    check("ACL", "DELUSER", "sortuser")


@pytest.mark.parametrize("rules", [
    ["%~"],
    ["%R~"],
    ["%RW~"],
    ["%W~x", "%R~"],
    ["%"],
    ["%X~x"],
    ["%RR~x"],
    ["%~x"],
    ["(~x"],
    ["(%R~)"],
    ["(%RW~)"],
    ["(%RW~x) (%W~)"],
    ["()"],
    ["(", ")"],
    ["(%R~x +get"],
    ["~", "%R~"],
    ["resetkeys", "%R~*", "%W~*"],
])
def test_acl_selectors_malformed(check, rules):
    check("ACL", "SETUSER", "seluser", *rules)
    check("ACL", "GETUSER", "seluser")
    check("ACL", "LIST")
    check("ACL", "DRYRUN", "seluser", "GET", "x")
    check("ACL", "DELUSER", "seluser")


# --- HyperLogLog crafted strings (CVE-2025-32023) ----------------------------------------------------


def _sparse_hll(chunk: bytes, repeat: int) -> bytes:
    return b"HYLL" + bytes([1] + [0] * 11) + chunk * repeat + bytes([0b11111111])


@pytest.mark.parametrize("payload", [
    _sparse_hll(bytes([0b01000000 | (16383 >> 8), 16383 & 0xFF]), 131072 + 1000),
    _sparse_hll(bytes([0x3F]), 400_000),
    _sparse_hll(bytes([0b01111111, 0xFF]), 2),
    b"HYLL" + bytes([1] + [0] * 11) + bytes([0b10111111]) * 20000,
    b"HYLL" + bytes([0] + [0] * 11) + b"\x00" * 10,
])
def test_hll_crafted_strings(check, diff, payload):
    diff.check("SET", "hll", payload)
    check("PFCOUNT", "hll", "hll")
    check("PFCOUNT", "hll")
    check("PFDEBUG", "GETREG", "hll")
    check("PFADD", "hll", "a")
    check("PFMERGE", "dst", "hll")


# --- RESTORE crafted payloads (CVE-2026-25243, CVE-2026-66373) ---------------------------------------


def _payload(body: bytes, version: int = 10) -> bytes:
    data = body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64(0, data))


@pytest.mark.parametrize("body", [
    b"\x00\x81\xff\xff\xff\xff\xff\xff\xff\xf7",
    b"\x00\x81\x00\x00\x00\x00\x7f\xff\xff\xff" + b"x",
    b"\x00\x80\xff\xff\xff\xff",
    b"\x00\xc3\x05\x80\xff\xff\xff\xffx",
    # zipmap hash (type 9) with a value that cannot fit
    b"\x09\x81\x00\x00\x00\x00\x00\x00\x00\x10\x02\x01a\xfe\x00\x00\x00\x00\xff",
    # zipmap with a duplicate field
    b"\x09\x0b\x02\x01a\x01\x00b\x01a\x01\x00c\xff",
    # a list of quicklist nodes claiming a huge count
    b"\x0e\x81\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x02\x81\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x04\xc0\x01",
])
def test_restore_crafted_payloads(check, body):
    payload = _payload(body)
    check("RESTORE", "key", "0", payload)
    check("EXISTS", "key")



# --- INCRBYFLOAT / HINCRBYFLOAT past the double range (long double arithmetic, as in Redis) -----------


@pytest.mark.parametrize("incr", ["nan", "inf", "1e400", "-1e400", "1.7976931348623157e308", "1e4933", "-1e5000",
                                  "1e-5000", "1e-4940"])
def test_incrbyfloat_overflow(check, diff, incr):
    diff.check("HSET", "h", "f", "1.7976931348623157e308")
    diff.check("SET", "s", "1.7976931348623157e308")
    check("HINCRBYFLOAT", "h", "f", incr)
    check("HINCRBYFLOAT", "h", "new", incr)
    diff.check_sorted("HKEYS", "h")  # a 400-digit value turns the hash into a hashtable: any order
    check("HGET", "h", "f")
    check("HGET", "h", "new")
    check("INCRBYFLOAT", "s", incr)
    check("INCRBYFLOAT", "n", incr)
    check("GET", "s")


# --- unix socket permissions before accept (CVE-2023-45145) -----------------------------------------


def test_unix_socket_mode_right_after_start():
    modes = {}
    for kind in ("redis", "pyredis"):
        d = tempfile.mkdtemp(prefix=f"cve-sock-{kind}-")
        path = os.path.join(d, "s.sock")
        proc = ServerProcess(kind, ["--unixsocket", path, "--unixsocketperm", "700"], cwd=d)
        try:
            modes[kind] = stat.S_IMODE(os.stat(path).st_mode)
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(TIMEOUT)
                s.connect(path)
                s.sendall(b"PING\r\n")
                assert s.recv(100) == b"+PONG\r\n"
        finally:
            proc.stop()
    assert modes["pyredis"] == modes["redis"] == 0o700
