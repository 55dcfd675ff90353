"""The embedded server and the pytest plugin (these need a working pyredis server)."""

import os
import socket
import subprocess
import sys
import textwrap
import time
from importlib.metadata import entry_points

import pytest


@pytest.fixture(scope="module")
def embedded_mod():
    try:
        import pyredis.embedded as mod

        with mod.EmbeddedServer() as server:
            server.client().ping()
    except Exception as exc:
        pytest.skip(f"embedded pyredis does not work yet: {exc!r}")
    return mod


def test_context_manager_starts_fast_and_frees_port(embedded_mod):
    t0 = time.perf_counter()
    with embedded_mod.embedded() as server:
        started = time.perf_counter() - t0
        assert server.running and server.port and server.url == f"redis://127.0.0.1:{server.port}/0"
        client = server.client()
        assert client.set("k", "v") and client.get("k") == b"v"
        assert server.client(decode_responses=True).get("k") == "v"
        port = server.port
    assert started < 1.0
    assert not server.running
    with socket.socket() as s:  # the port is free again (server-side TIME_WAITs aside)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    with embedded_mod.EmbeddedServer(port=port) as again:
        assert again.port == port and again.client().ping()


def test_instances_are_isolated(embedded_mod):
    a = embedded_mod.EmbeddedServer().start()
    b = embedded_mod.EmbeddedServer().start()
    try:
        assert a.port != b.port
        a.client().set("only-a", 1)
        assert b.client().get("only-a") is None and a.client().get("only-a") == b"1"
    finally:
        a.stop()
        b.stop()
    a.stop()  # idempotent


def test_unix_socket(embedded_mod, tmp_path):
    if sys.platform == "win32":
        pytest.skip("no unix sockets")
    path = str(tmp_path / "pyredis.sock")
    with embedded_mod.EmbeddedServer(unixsocket=path, port=None) as server:
        assert server.url == f"unix://{path}" and server.client().ping()
    assert not os.path.exists(path)


def test_extra_config_and_async_client(embedded_mod):
    import asyncio

    with embedded_mod.EmbeddedServer(config={"notify-keyspace-events": "KA"}) as server:
        assert server.client().config_get("notify-keyspace-events")["notify-keyspace-events"] in ("AK", "KA")

        async def main():
            client = server.async_client()
            await client.set("a", "1")
            value = await client.get("a")
            await client.aclose()
            return value

        assert asyncio.run(main()) == b"1"


def test_callable_module(embedded_mod):
    import pyredis

    with pyredis.embedded.embedded() as server:  # module is callable too: pyredis.embedded()
        assert server.client().ping()
    with embedded_mod() as server:
        assert server.client().ping()


PLUGIN_TEST = textwrap.dedent(
    """
    import pytest

    def test_sync(redis_client, redis_server):
        assert redis_client.dbsize() == 0
        redis_client.set("leftover", 1)
        assert redis_server.url.startswith(("redis://", "unix://"))

    def test_flushed_between_tests(redis_client):
        assert redis_client.get("leftover") is None

    @pytest.mark.asyncio
    async def test_async(async_redis_client):
        assert await async_redis_client.dbsize() == 0
        await async_redis_client.set("x", 1)
        assert await async_redis_client.get("x") == b"1"
    """
)


# keep the inner pytest quick to start: no plugins it does not need
QUIET = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:randomly"]


def run_plugin_tests(tmp_path, *args, env=None):
    (tmp_path / "test_uses_plugin.py").write_text(PLUGIN_TEST)
    registered = any(ep.name == "pyredis" for ep in entry_points(group="pytest11"))
    plugin = [] if registered else ["-p", "pyredis.pytest_plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *QUIET, *plugin, *args, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
    )


def test_plugin_with_embedded_server(embedded_mod, tmp_path):
    pytest.importorskip("pytest_asyncio")
    result = run_plugin_tests(tmp_path)
    assert "3 passed" in result.stdout, result.stdout + result.stderr


def test_plugin_with_external_url(tmp_path, redis_server_backend):
    pytest.importorskip("pytest_asyncio")
    result = run_plugin_tests(tmp_path, "--redis-url", redis_server_backend.url)
    assert "3 passed" in result.stdout, result.stdout + result.stderr
    result = run_plugin_tests(tmp_path, env={"PYREDIS_TEST_URL": redis_server_backend.url})
    assert "3 passed" in result.stdout, result.stdout + result.stderr
