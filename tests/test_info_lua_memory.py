"""INFO memory's scripting figures (used_memory_lua / vm_eval / scripts_eval ...) against real redis-server 7.0."""

from __future__ import annotations

import shutil

import pytest

from tests.support import ServerProcess

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")

_FIELDS = ["used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human", "used_memory_scripts_eval",
           "number_of_cached_scripts", "number_of_functions", "number_of_libraries", "used_memory_vm_functions",
           "used_memory_vm_total", "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
           "used_memory_scripts_human"]


@pytest.fixture(scope="module")
def servers():
    procs = {kind: ServerProcess(kind) for kind in ("redis", "pyredis")}
    yield procs
    for p in procs.values():
        p.stop()


def _info(c) -> dict[str, str]:
    raw = c.call("INFO", "memory")
    body = raw.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in body.splitlines() if ":" in line)


def _int(c, field: str) -> int:
    return int(_info(c)[field])


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_scripting_fields_in_order_and_fresh_figures(servers, kind: str) -> None:
    c = servers[kind].client()
    assert c.call("SCRIPT", "FLUSH") == b"+OK\r\n"
    info = _info(c)
    names = [k for k in info if k in _FIELDS]
    assert names == _FIELDS
    assert info["used_memory_lua"] == info["used_memory_vm_eval"] == "32768"
    assert info["used_memory_lua_human"] == "32.00K"
    assert info["used_memory_scripts_eval"] == "0" and info["number_of_cached_scripts"] == "0"
    assert int(info["used_memory_vm_total"]) == 32768 + int(info["used_memory_vm_functions"])
    c.close()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_lua_memory_grows_with_scripts_and_flush_resets_it(servers, kind: str) -> None:
    c = servers[kind].client()
    c.call("SCRIPT", "FLUSH")
    before = _info(c)
    for i in range(300):
        c.send("SCRIPT", "LOAD", f"local t = {{}} for i = 1, {i} do t[i] = 'x{i}' end return #t")
    for _ in range(300):
        c.read_reply()
    after = _info(c)
    assert int(after["number_of_cached_scripts"]) == 300
    assert int(after["used_memory_vm_eval"]) > int(before["used_memory_vm_eval"]) + 100 * 1024
    assert int(after["used_memory_lua"]) == int(after["used_memory_vm_eval"])
    assert int(after["used_memory_scripts_eval"]) > 300 * 60  # each body, its SHA and a dict entry
    assert int(after["used_memory_scripts"]) == (int(after["used_memory_scripts_eval"])
                                                 + int(after["used_memory_functions"]))
    assert c.call("SCRIPT", "FLUSH") == b"+OK\r\n"
    flushed = _info(c)
    assert flushed["used_memory_vm_eval"] == "32768" and flushed["used_memory_scripts_eval"] == "0"
    c.close()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_eval_does_not_leak_in_the_lua_state(servers, kind: str) -> None:
    """As the Redis suite's 'EVAL does not leak in the Lua stack': many runs keep the state small."""
    c = servers[kind].client()
    c.call("SCRIPT", "FLUSH")
    for _ in range(3000):
        c.send("EVAL", "return redis.call('incr', KEYS[1])", 1, "leak:x")
    for _ in range(3000):
        c.read_reply()
    assert _int(c, "used_memory_lua") < 100 * 1024
    c.call("DEL", "leak:x")
    c.close()


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_function_library_counts(servers, kind: str) -> None:
    c = servers[kind].client()
    c.call("FUNCTION", "FLUSH")
    base = _info(c)
    code = "#!lua name=memlib\nredis.register_function('f1', function() return 1 end)\n" \
           "redis.register_function('f2', function() return 2 end)"
    assert c.call("FUNCTION", "LOAD", code) == b"$6\r\nmemlib\r\n"
    info = _info(c)
    assert info["number_of_functions"] == "2" and info["number_of_libraries"] == "1"
    assert int(info["used_memory_functions"]) > int(base["used_memory_functions"])
    assert int(info["used_memory_vm_functions"]) >= int(base["used_memory_vm_functions"])
    c.call("FUNCTION", "FLUSH")
    assert _info(c)["number_of_libraries"] == "0"
    c.close()
