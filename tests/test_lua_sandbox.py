"""The Lua sandbox, differential against redis-server 7.0: what scripts can reach (globals, libraries,
metatables), the write protection and its error wording, the errors of the sandbox's stand-ins for C
builtins, that no Python object is reachable through lupa, busy scripts (BUSY, SCRIPT KILL, FUNCTION
KILL) and the Lua heap limit (pyredis only: redis-server has none and dies instead)."""

from __future__ import annotations

import pytest

from support import RawClient, ServerProcess


@pytest.fixture
def check(diff, redis_proc, pyredis_proc):
    """``check(*args)``: the same raw reply from both servers; both still serve afterwards."""
    yield diff.check
    for proc in (redis_proc, pyredis_proc):
        c = RawClient(proc.port)
        try:
            assert c.call("PING") == b"+PONG\r\n", proc.kind
        finally:
            c.close()


def _eval(check, script: str) -> bytes:
    return check("EVAL", script, "0")


# --- what is reachable -------------------------------------------------------------------------------

# Everything reachable from _G, the string metatable and the libraries, as "path=type" (function
# addresses differ between the servers, names and types must not): an extra global, a leftover
# library (os, io, debug, package, python), a userdata or a missing builtin shows up here.
WALK = """
local seen, out = {}, {}
local function walk(v, path, depth)
  local t = type(v)
  out[#out + 1] = path .. '=' .. t
  if t ~= 'table' or seen[v] or depth > 3 then return end
  seen[v] = true
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do walk(rawget(v, k), path .. '.' .. k, depth + 1) end
  local mt = getmetatable(v)
  if mt ~= nil then walk(mt, path .. '<mt>', depth + 1) end
end
walk(_G, '_G', 0)
walk(getmetatable(''), '<string mt>', 0)
walk(getmetatable(_G), '<_G mt>', 0)
return out
"""


def test_everything_reachable_matches(check):
    _eval(check, WALK)


@pytest.mark.parametrize("name", [
    "os", "io", "debug", "package", "require", "module", "loadlib", "dofile", "loadfile", "print", "python",
    "newproxy", "setfenv", "getfenv", "jit", "ffi", "bit32", "utf8", "arg", "_ENV", "unpack", "gcinfo",
    "collectgarbage", "coroutine", "string", "load", "loadstring",
])
def test_global_present_or_absent(check, name):
    _eval(check, f"return type(rawget(_G, '{name}'))")
    _eval(check, f"return {{pcall(function() return type({name}) end)}}")


@pytest.mark.parametrize("script", [
    "return tostring(os)",
    "return {pcall(function() return os.clock() end)}",
    "return {pcall(function() return os.execute('true') end)}",
    "return {pcall(function() return io.open('/etc/passwd') end)}",
    "return {pcall(function() return debug.getinfo(1) end)}",
    "return {pcall(function() return debug.getupvalue(redis.call, 1) end)}",
    "return {pcall(function() return require('os') end)}",
    "return {pcall(function() return package.loadlib('liblua5.1.so', 'luaopen_io') end)}",
    "return {pcall(function() return dofile('/etc/passwd') end)}",
    "return {pcall(function() return loadfile('/etc/passwd') end)}",
    "return {pcall(function() return python.eval('1') end)}",
    "return {pcall(function() return python.builtins end)}",
    "return {pcall(function() return python.as_attrgetter end)}",
    "return type(string.dump)",
    "return {pcall(string.dump, print)}",
    "return {pcall(loadstring, string.dump(function() return 1 end))}",
    "return {loadstring(string.char(27) .. 'LuaQ')}",
    "local n = 0 return {load(function() n = n + 1 if n == 1 then return '\\27Lua' end end)}",
    "return {pcall(function() return getfenv(redis.call) end)}",
    "return {pcall(function() return setfenv(1, {}) end)}",
    "return {pcall(function() return newproxy(true) end)}",
    "return {pcall(function() return coroutine.create(redis.call) end)}",
    "return {pcall(coroutine.create, print)}",
    "local co = coroutine.create(function() coroutine.yield(1) return 2 end) local a, b = coroutine.resume(co)"
    " local c, d = coroutine.resume(co) return {tostring(a), b, tostring(c), d, coroutine.status(co)}",
    "return {pcall(coroutine.wrap(function() error('x') end))}",
    "return type(coroutine.running())",
    "return collectgarbage('count') > 0",
    "return {pcall(collectgarbage, 'step')}",
    "return {pcall(collectgarbage, 'setpause', 100)}",
    "return {pcall(collectgarbage, 'x')}",
    "return _VERSION",
    "return math.random(1)",
    "return type(cjson.null)",
    "return {pcall(function() return cjson.null.x end)}",
    "return {pcall(function() return getmetatable(cjson.null) end)}",
    "return {pcall(function() return cjson.null.__class__ end)}",
    "return {pcall(function() return redis.call.__class__ end)}",
    "return {pcall(function() return ('x').__class__ end)}",
    "return {pcall(function() return getmetatable('').__index.__class__ end)}",
    "return type(__redis__err__handler)",
])
def test_sandbox_surface(check, script):
    _eval(check, script)


# Errors raised in Python (redis.call, the libraries) reach scripts as Lua strings or tables, never as
# userdata wrapping a Python exception.
@pytest.mark.parametrize("script", [
    "local ok, e = pcall(redis.call, 'nosuch') return {type(e), e}",
    "local ok, e = pcall(redis.call) return {type(e), e}",
    "local ok, e = pcall(cjson.decode, '{') return {type(e), e}",
    "local ok, e = pcall(cmsgpack.unpack, '\\193') return {type(e), e}",
    "local ok, e = pcall(struct.pack, 'i99', 1) return {type(e), e}",
    "local ok, e = pcall(bit.tohex) return {type(e), e}",
    "local ok, e = pcall(redis.sha1hex) return {type(e), e}",
    "local ok, e = xpcall(function() redis.call('nosuch') end, function(e) return type(e) end) return {ok, e}",
    "local ok, e = xpcall(function() cjson.decode('{') end, function(e) return type(e) end) return {ok, e}",
    "local co = coroutine.create(function() redis.call('nosuch') end) local ok, e = coroutine.resume(co)"
    " return {type(e), e}",
    "local co = coroutine.wrap(function() cjson.decode('[') end) local ok, e = pcall(co) return {type(e), e}",
    "local ok, e = pcall(table.sort, {3, 2, 1}, function(a, b) return cjson.decode('x') end) return {type(e), e}",
    "local ok, e = pcall(string.gsub, 'a', 'a', function() redis.call('nosuch') end) return {type(e), e}",
    "local ok, e = pcall(load, function() cjson.decode('{') end) return {type(e), e}",
    "local t = redis.pcall('nosuch') return {type(t), type(t.err), t.err}",
    "local r = redis.pcall('get') return {type(r), r.err}",
    "local r = redis.pcall('incr', 'string') return type(r)",
])
def test_python_errors_reach_scripts_as_lua_values(check, script):
    check("SET", "string", "x")
    _eval(check, script)


_DEPRECATED = [
    "return type(getfenv)", "return tostring(getfenv(0) == _G)", "return tostring(getfenv(1) == _G)",
    "return tostring(getfenv(redis.call) == _G)", "return tostring(getfenv(print) == _G)",
    "return {pcall(setfenv, redis.call, {})}", "return {pcall(setfenv, print, {})}",
    "return {pcall(function() return getfenv(2) == _G end)}", "return {pcall(function() return getfenv(3) end)}",
    "return {pcall(getfenv, 1)}", "local ok, e = pcall(getfenv, 2) return tostring(e == _G)",
    "local t = {} for k in pairs(getfenv(0)) do t[#t+1] = k end table.sort(t) return t",
    "return {pcall(function() getfenv(0).x = 1 end)}", "return {pcall(function() rawset(getfenv(0), 'x', 1) end)}",
    "return type(newproxy(true))", "local p = newproxy(true) getmetatable(p).__index = function() return 1 end return p.x",
    "return {pcall(function() local f = function() return x end setfenv(f, {x = 5}) return f() end)}",
    "return {pcall(setfenv, 0, {})}", "return {pcall(setfenv, 1, {})}", "return {pcall(function() setfenv(2, {}) end)}",
    "return {pcall(function() return getfenv(string.rep) == _G end)}",
    "return {pcall(function() return getfenv(coroutine.create) == _G end)}",
]


def test_deprecated_api_does_not_open_the_sandbox(check):
    """lua-enable-deprecated-api yes (7.0.15): getfenv/setfenv/newproxy never reach the real globals
    or the sandbox's own functions."""
    check("CONFIG", "SET", "lua-enable-deprecated-api", "yes")
    check("SCRIPT", "FLUSH")
    try:
        for script in _DEPRECATED:
            _eval(check, script)
    finally:
        check("CONFIG", "SET", "lua-enable-deprecated-api", "no")
        check("SCRIPT", "FLUSH")


# --- write protection -------------------------------------------------------------------------------


@pytest.mark.parametrize("script", [
    "x = 1",
    "_G.x = 1",
    "return {pcall(function() x = 1 end)}",
    "return {pcall(function() _G.y = 1 end)}",
    "return nosuchvar",
    "return {pcall(function() return nosuchvar end)}",
    "return _G.nosuch",
    "return rawget(_G, 'nosuch')",
    "redis.call = nil",
    "redis.x = 1",
    "return {pcall(function() redis.call = function() end end)}",
    "return {pcall(rawset, redis, 'call', 1)}",
    "return {pcall(rawset, _G, 'x', 1)}",
    "return {pcall(setmetatable, redis, {})}",
    "return {pcall(setmetatable, _G, {})}",
    "return {pcall(function() string.rep = nil end)}",
    "return {pcall(function() math.x = 1 end)}",
    "return {pcall(function() table.insert = 1 end)}",
    "return {pcall(function() cjson.encode = 1 end)}",
    "return {pcall(function() bit.band = 1 end)}",
    "return {pcall(function() struct.pack = 1 end)}",
    "return {pcall(function() cmsgpack.pack = 1 end)}",
    "return {pcall(function() coroutine.create = 1 end)}",
    "return {pcall(function() getmetatable('').__index = {} end)}",
    "return {pcall(function() getmetatable('').__index.x = 1 end)}",
    "return {pcall(function() getmetatable('').__index.rep = 1 end)}",
    "return {pcall(function() getmetatable('').__metatable = 1 end)}",
    "return {pcall(function() getmetatable('').__add = function() return 1 end end)}",
    "return {pcall(function() local s = string s.x = 1 end)}",
    "return {pcall(function() KEYS = 1 end)}",
    "KEYS[1] = 'x' return KEYS[1]",
    "return {pcall(function() local t = setmetatable({}, {__metatable = 'locked'}) return getmetatable(t) end)}",
    "return {pcall(function() local t = setmetatable({}, {__metatable = 'locked'}) setmetatable(t, {}) end)}",
    "local t = setmetatable({}, {__index = function(t, k) return k end}) return t.abc",
])
def test_write_protection(check, script):
    _eval(check, script)


def test_globals_stay_protected_across_scripts(check):
    _eval(check, "return {pcall(function() _G.leak = 1 end)}")
    _eval(check, "return {pcall(function() return leak end)}")
    _eval(check, "return {pcall(rawset, _G, 'leak', 1)}")
    _eval(check, "return type(rawget(_G, 'leak'))")


# --- the stand-ins' errors (luaL_argerror wording, caller's name and position) -------------------------

_CALLS = [
    "setmetatable()", "setmetatable(1)", "setmetatable({}, 1)", "setmetatable({})",
    "setmetatable(setmetatable({}, {__metatable = 1}), {})", "getmetatable()",
    "rawset()", "rawset({})", "rawset({}, 1)", "rawset({}, nil, 1)", "rawset(1, 1, 1)",
    "rawget()", "rawget(1)", "rawget({})", "next()", "next({}, 'nokey')", "next(1)",
    "pairs()", "pairs(1)", "ipairs()", "ipairs(nil)", "unpack()", "unpack(1)", "unpack({}, 'x')",
    "unpack({}, 1, {})", "loadstring()", "loadstring(1)", "loadstring({})", "loadstring('x', {})",
    "load()", "load(1)", "xpcall()", "xpcall(1)",
    "coroutine.create()", "coroutine.create(1)", "coroutine.resume()", "coroutine.resume(1)",
    "coroutine.wrap()", "coroutine.wrap(1)", "coroutine.status()",
    "string.rep()", "tostring()", "tonumber()", "type()", "select()", "error()", "assert(false)",
    "assert(nil, 'm')", "math.floor()", "table.insert()", "table.sort(1)", "string.format('%d', 'x')",
]


@pytest.mark.parametrize("call", _CALLS)
def test_builtin_argument_errors(check, call):
    name, args = call.split("(", 1)
    args = args[:-1]
    _eval(check, f"return {{pcall(function() return {call} end)}}")
    _eval(check, f"local ok, e = pcall({name}{', ' + args if args else ''}) return {{ok, e}}")
    _eval(check, f"local r = {call} return r")


def test_pcall_without_arguments(check):
    _eval(check, "local ok, e = pcall() return {ok, e}")
    _eval(check, "local ok, e = pcall(pcall) return {ok, e}")


# --- recursion and nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("script", [
    "local function f() f() end f()",
    "local function f() return 1 + f() end return {pcall(f)}",
    "local function f() f() end return {pcall(f)}",
    "local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end}) return {pcall(function() return t[1] end)}",
    "local co = coroutine.wrap(function() local function f() f() end f() end) return {pcall(co)}",
    "return {pcall(function() local t = {} setmetatable(t, {__index = t}) return t.x end)}",
    "return {pcall(string.rep('(', 300) .. string.rep(')', 300))}",
    "return {loadstring('return ' .. string.rep('(', 300) .. '1' .. string.rep(')', 300))}",
    "local t = {} t[1] = t return cjson.encode(t)",
    "local t = {} t[1] = t return {pcall(cmsgpack.pack, t)}",
    "local s = 'x' for i = 1, 20 do s = s .. s end return #s",
    "return {pcall(string.rep, 'x', 2^31)}",
    "return {pcall(table.concat, {}, 'x', 1, 2^31)}",
    # proper tail calls: deep tail recursion does not grow the stack
    "local function f(n) if n == 0 then return 0 end return f(n - 1) end return f(100000)",
    "function gf(n) if n == 0 then return 'g' end return gf(n - 1) end return gf(100000)",
    "local function a(n) if n == 0 then return 'a' end return a(n - 1) end local b = a return b(50000)",
    "local function f(...) return ... end return {f(1, 2, 3)}",
    "local function outer()\n local function inner(n) if n == 0 then return 'i' end return inner(n - 1) end\n"
    " return inner(60000)\nend\nreturn outer()",
    "local f\nf = function(n) if n == 0 then return 'late' end return f(n - 1) end\nreturn f(60000)",
    # ... while errors in tail-called helpers keep the script's line
    "local x = 1\nreturn redis.call('nosuch')",
    "local function g(k)\n return redis.call('incr', k)\nend\nreturn g('string')",
    "local M = {} function M.f() return redis.call('nosuch') end\nreturn M.f()",
    "local call = redis.call\nreturn call('incr', 'string')",
    "local call = redis.call\nlocal function get(k)\n return call('incr', k)\nend\nreturn get('string')",
    "local function apply(f, ...)\n return f(...)\nend\nreturn apply(redis.call, 'nosuch')",
    "local c = redis.call\nlocal function a()\n local function b()\n  return c('nosuch')\n end\n return b()\nend\nreturn a()",
    "return coroutine.wrap(function() error('x') end)()",
    "local t = {}\nreturn cjson.decode('{')",
    "return setmetatable({}, 1)",
])
def test_recursion_and_nesting(check, script):
    check("SET", "string", "x")
    _eval(check, script)


# --- busy scripts ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_servers():
    procs = [ServerProcess(kind, ["--busy-reply-threshold", "50"]) for kind in ("redis", "pyredis")]
    yield procs
    for p in procs:
        p.stop()


def _busy_round(proc: ServerProcess, start: list[str], kill: list[str], probes: list[list[str]]) -> list[bytes]:
    """Start a script on one client, wait for BUSY on another, send *probes*, then *kill*."""
    other = RawClient(proc.port, timeout=20)
    assert other.call("PING") == b"+PONG\r\n"  # connected before the script starts
    runner = RawClient(proc.port, timeout=20)
    try:
        runner.send(*start)
        while True:
            r = other.call("PING")
            if r.startswith(b"-BUSY"):
                break
            assert r == b"+PONG\r\n", r
        out = [r] + [other.call(*p) for p in probes]
        out.append(other.call(*kill))
        out.append(runner.read_reply())
        out.append(other.call("PING"))
        out.append(runner.call("EVAL", "return 'after'", "0"))
        return out
    finally:
        runner.close()
        other.close()


_PROBES = [["GET", "k"], ["FUNCTION", "KILL"], ["MULTI"], ["DISCARD"], ["CLIENT", "SETNAME", "x"]]


@pytest.mark.parametrize("script", [
    "while true do end",
    "local i = 0 while true do i = i + 1 end",
    "local function f(n) return n end while true do f(1) end",
    "local t = {} while true do t[1] = {} end",
    "while true do pcall(function() while true do end end) end",
    "while true do local ok = pcall(error, 'x') end",
    "local co = coroutine.wrap(function() while true do end end) co()",
    "redis.call('get', 'k') while true do end",
    "local function f() return f() end return f()",
    "local function f(n) return f(n + 1) end return f(1)",
])
def test_busy_eval_is_killed(busy_servers, script):
    r, p = (_busy_round(s, ["EVAL", script, "0"], ["SCRIPT", "KILL"], _PROBES) for s in busy_servers)
    assert p == r


def test_busy_function_is_killed(busy_servers):
    lib = "#!lua name=busylib\nredis.register_function{function_name='spin', callback=function() while true do end end," \
          " flags={'no-writes'}}"
    for s in busy_servers:
        c = RawClient(s.port)
        assert c.call("FUNCTION", "LOAD", "REPLACE", lib) == b"$7\r\nbusylib\r\n"
        c.close()
    # FUNCTION KILL only flags the script; Redis ends it at the script's next hook, so a probe sent
    # after it races the unwinding (CLIENT SETNAME may still get -BUSY). The kill comes last here.
    probes = [p for p in _PROBES if p != ["FUNCTION", "KILL"]] + [["SCRIPT", "KILL"]]
    r, p = (_busy_round(s, ["FCALL", "spin", "0"], ["FUNCTION", "KILL"], probes) for s in busy_servers)
    assert p == r


def test_busy_script_that_wrote_is_unkillable():
    """After a write SCRIPT KILL refuses (UNKILLABLE) and only SHUTDOWN NOSAVE ends it."""
    out = {}
    for kind in ("redis", "pyredis"):
        proc = ServerProcess(kind, ["--busy-reply-threshold", "50"])
        other = RawClient(proc.port, timeout=20)
        assert other.call("PING") == b"+PONG\r\n"
        runner = RawClient(proc.port, timeout=20)
        try:
            runner.send("EVAL", "redis.call('set', 'k', 'v') while true do end", "0")
            while not (r := other.call("PING")).startswith(b"-BUSY"):
                pass
            out[kind] = [r, other.call("SCRIPT", "KILL"), other.call("FUNCTION", "KILL")]
            other.send("SHUTDOWN", "NOSAVE")
            proc.proc.wait(20)
        finally:
            runner.close()
            other.close()
            proc.stop()
    assert out["pyredis"] == out["redis"]


# --- memory ------------------------------------------------------------------------------------------
# Redis 7.0 puts no limit on the Lua heap (a runaway allocation grows until the kernel kills it), so
# these run on pyredis only: its Lua heap is capped (scripting/vm.py LUA_HEAP_LIMIT) and past the cap
# the script fails with Lua's "not enough memory" while the server goes on serving.


def test_runaway_allocation_stops_the_script_not_the_server(pyr):
    r = pyr.call("EVAL", "local s = 'x' local ok, e = pcall(function() while true do s = s .. s end end)"
                 " s = nil return {ok, e}", "0")
    assert r == b"*2\r\n$-1\r\n$17\r\nnot enough memory\r\n"
    r = pyr.call("EVAL", "local t, s = {}, 'x' while true do s = s .. s t[#t + 1] = s end", "0")
    assert r.startswith(b"-ERR Error running script ") and r.endswith(b", not enough memory\r\n"), r
    assert pyr.call("EVAL", "return #string.rep('x', 1000000)", "0") == b":1000000\r\n"
    assert pyr.call("SET", "after", "1") == b"+OK\r\n"
    assert pyr.call("PING") == b"+PONG\r\n"


def test_new_connection_during_busy_script_can_kill_it(busy_servers):
    """A client that connects while the script is busy (an operator's redis-cli) is served: BUSY, then
    SCRIPT KILL; the connection keeps working once the script ended."""
    out = {}
    for s in busy_servers:
        watcher = RawClient(s.port, timeout=20)
        assert watcher.call("PING") == b"+PONG\r\n"
        runner = RawClient(s.port, timeout=20)
        runner.send("EVAL", "while true do end", "0")
        while not (r := watcher.call("PING")).startswith(b"-BUSY"):
            pass
        late = RawClient(s.port, timeout=20)
        try:
            out[s.kind] = [r, late.call("PING"), late.call("CLIENT", "SETNAME", "late"), late.call("SCRIPT", "KILL"),
                           runner.read_reply(), late.call("PING"), late.call("CLIENT", "GETNAME"),
                           late.call("SET", "k", "v"), watcher.call("GET", "k")]
        finally:
            for c in (watcher, runner, late):
                c.close()
    assert out["pyredis"] == out["redis"]


_LIBRARY_BODIES = [
    "x = 1", "_G.x = 1", "local a = os", "local a = redis.call", "redis.call('ping')", "local a = python",
    "rawset(_G, 'x', 1)", "setmetatable(_G, {})", "local t = getmetatable('') t.__index = {}",
    "redis.register_function('f', function() return tostring(rawget(_G, 'x')) end)",
    "redis.register_function('g', function() x = 1 end)",
    "redis.register_function('h', function() return type(redis.register_function) end)",
    "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) redis.register_function('k', function() return t end)",
    "redis.register_function('w', function() local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t end)",
    "local x = 0 while true do x = x + 1 end",
    "redis.register_function('d', function() return type(debug) end)",
    "local f = loadstring('return 1') redis.register_function('l', function() return f() end)",
]


@pytest.mark.parametrize("body", _LIBRARY_BODIES)
def test_function_library_sandbox(check, body):
    """FUNCTION LOAD runs the library with its own, smaller globals; functions run with the runtime ones."""
    check("FUNCTION", "FLUSH")
    try:
        check("FUNCTION", "LOAD", "#!lua name=sandboxlib\n" + body)
        for fn in ("f", "g", "h", "k", "w", "d", "l"):
            check("FCALL", fn, "0")
    finally:
        check("FUNCTION", "FLUSH")
