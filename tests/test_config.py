"""Start-up like redis-server: config files, --name value arguments, fatal errors, CONFIG GET/SET/REWRITE."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import ROOT, RawClient, free_port, wait_ready


def run_server(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run([sys.executable, "-m", "pyredis", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=20)


def test_bad_directive_names_the_line(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("# comment\nport 7777\nnosuch-directive yes\n")
    res = run_server([str(conf)], str(tmp_path))
    assert res.returncode == 1
    assert "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***" in res.stderr
    assert "at line 3" in res.stderr
    assert ">>> 'nosuch-directive yes'" in res.stderr
    assert "Bad directive or wrong number of arguments" in res.stderr


@pytest.mark.parametrize("line,message", [
    ("maxmemory lots", "argument must be a memory value"),
    ("appendfsync sometimes", "argument(s) must be one of the following: everysec, always, no"),
    ("hz abc", "argument couldn't be parsed into an integer"),
    ("protected-mode maybe", "argument must be 'yes' or 'no'"),
    ("notify-keyspace-events KEq", "Invalid event class character"),
    ("save 10", "Invalid save parameters"),
])
def test_bad_values_stop_startup(tmp_path, line, message):
    res = run_server(["--port", "0", *["--" + line.split()[0], *line.split()[1:]]], str(tmp_path))
    assert res.returncode == 1
    assert message in res.stderr


def test_config_file_and_arguments_apply(tmp_path):
    port = free_port()
    conf = tmp_path / "redis.conf"
    conf.write_text(f'port {port}\nsave ""\nhash-max-ziplist-entries 64\nnotify-keyspace-events "Kx"\n'
                    "save 900 1\nsave 300 10\nmaxmemory 10mb\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    proc = subprocess.Popen([sys.executable, "-m", "pyredis", str(conf), "--maxclients", "100"], cwd=str(tmp_path),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_ready(port, proc)
        c = RawClient(port)
        assert c.call("CONFIG", "GET", "hash-max-listpack-entries") == (
            b"*2\r\n$25\r\nhash-max-listpack-entries\r\n$2\r\n64\r\n")
        assert c.call("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$12\r\n900 1 300 10\r\n"
        assert c.call("CONFIG", "GET", "maxmemory") == b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
        assert c.call("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$3\r\n100\r\n"
        assert c.call("CONFIG", "GET", "notify-keyspace-events") == (
            b"*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nxK\r\n")
        assert c.call("CONFIG", "SET", "maxmemory", "20mb") == b"+OK\r\n"
        assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
        text = conf.read_text()
        assert "maxmemory 20mb" in text or "maxmemory 20971520" in text
        assert f"port {port}" in text
        c.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert b"Ready to accept connections" in out
    assert proc.returncode == 0  # SIGTERM shuts down cleanly


def test_config_set_get_errors(diff):
    diff.lines("""
        CONFIG SET nosuch 1
        CONFIG SET maxmemory abc
        CONFIG SET daemonize yes
        CONFIG SET hz -1
        CONFIG SET appendfsync foo
        CONFIG SET maxmemory 10mb maxmemory 1mb
        CONFIG SET maxmemory 10mb maxmemory-policy allkeys-lru
        CONFIG GET maxmemory
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory 0 maxmemory-policy noeviction
        CONFIG SET dir /tmp
        CONFIG SET maxmemory-clients 120%
        CONFIG SET maxmemory
        CONFIG GET nosuch
        CONFIG GET
        CONFIG GET key-load-delay
        CONFIG SET slowlog-log-slower-than 10000
        CONFIG RESETSTAT
        CONFIG NOSUB
    """)
    diff.check_sorted("CONFIG", "GET", "*max*ziplist*")
