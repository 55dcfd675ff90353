"""``rename-command`` in redis.conf, differential against a real redis-server with the same file.

Renamed commands answer under the new name, the old name gets Redis's unknown-command error (also in
scripts, MULTI, COMMAND INFO / DOCS / GETKEYS and ACL DRYRUN); ACL rules keep using the original
names; renaming to "" removes a command; bad lines stop the start-up with Redis's fatal report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from support import ROOT, RawClient, free_port, wait_ready

RENAMES = """rename-command get fetch
rename-command FLUSHALL ""
rename-command config Cfg
rename-command fetch grab
rename-command set get
"""

TOUCHED = {b"get", b"set", b"config", b"flushall", b"fetch", b"grab", b"cfg"}
SCRIPT = [
    ("get", "k", "v"), ("GRAB", "k"), ("fetch", "k"), ("FLUSHALL",), ("cfg", "get", "maxmemory-policy"),
    ("CONFIG", "GET", "maxmemory-policy"), ("set", "k", "v"), ("grab", "k", "extra"), ("get", "k"),
    ("MULTI",), ("grab", "k"), ("nosuch", "x"), ("EXEC",),
    ("MULTI",), ("grab", "k"), ("EXEC",),
    ("EVAL", "return redis.call('grab', KEYS[1])", 1, "k"),
    ("EVAL", "return redis.pcall('set', KEYS[1], 'x')", 1, "k"),
    ("EVAL", "return redis.acl_check_cmd('grab', 'k')", 0),
    ("COMMAND", "INFO", "grab", "get", "set", "flushall", "cfg|get", "config|get"),
    ("COMMAND", "DOCS", "grab", "set", "cfg|set"),
    ("COMMAND", "GETKEYS", "grab", "k"), ("COMMAND", "GETKEYS", "set", "k", "v"),
    ("ACL", "SETUSER", "u1", "on", "nopass", "+grab"), ("ACL", "SETUSER", "u1", "on", "nopass", "+get", "+set"),
    ("ACL", "SETUSER", "u1", "+config|get", "-flushall"),
    ("ACL", "DRYRUN", "u1", "grab", "k"), ("ACL", "DRYRUN", "u1", "set", "k", "v"),
    ("ACL", "DRYRUN", "u1", "cfg", "get", "x"),
    ("ACL", "SETUSER", "u2", "on", "nopass", "+@all", "-get", "-@dangerous"),
]


def _start(kind: str, conf: str, cwd: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    with open(conf, "a") as f:
        f.write(f"port {port}\nsave \"\"\nappendonly no\n")
    exe = [shutil.which("redis-server")] if kind == "redis" else [sys.executable, "-m", "pyredis"]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    proc = subprocess.Popen([*exe, conf], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    return proc, port


def _sorted_list(reply: bytes) -> list[bytes]:
    """The elements of a flat RESP array reply of bulk strings, sorted (COMMAND LIST order is a dict's)."""
    lines = reply.split(b"\r\n")
    return sorted(lines[2::2])


def test_renamed_and_removed_commands_match_redis(tmp_path):
    out = {}
    for kind in ("redis", "pyredis"):
        d = tmp_path / kind
        d.mkdir()
        conf = str(d / "redis.conf")
        with open(conf, "w") as f:
            f.write(RENAMES)
        proc, port = _start(kind, conf, str(d))
        try:
            c = RawClient(port)
            replies = [c.call(*cmd) for cmd in SCRIPT]
            # The rules' order is the random order of Redis's command dict: compared as sets.
            rules = {}
            for u in ("u1", "u2"):
                lines = c.call("ACL", "GETUSER", u).split(b"\r\n")
                rules[u] = sorted(lines[lines.index(b"commands") + 2].split(b" "))
            # (pyredis has a few commands of its own, GATEWAY and two CLIENT subcommands of Redis 7.2:
            # COMMAND LIST is compared over the renamed ones.)
            listed = [n for n in _sorted_list(c.call("COMMAND", "LIST")) if n.split(b"|")[0] in TOUCHED]
            count = int(c.call("COMMAND", "COUNT")[1:-2]) - (kind == "pyredis")
            names = sorted(line for line in c.call("COMMAND").split(b"\r\n") if line in (b"get", b"set",
                           b"config", b"flushall", b"grab", b"cfg"))
            out[kind] = (replies, count, listed, names, rules)
            c.close()
        finally:
            proc.terminate()
            proc.wait(10)
    py, rd = out["pyredis"], out["redis"]
    for cmd, a, b in zip(SCRIPT, py[0], rd[0], strict=True):
        assert a == b, (cmd, a, b)
    assert py[1:] == rd[1:]


@pytest.mark.parametrize("lines", [
    "rename-command nosuch foo\n",
    "rename-command get set\n",
    "rename-command get\n",
    "rename-command get a b\n",
    "rename-command get \"\"\nrename-command get other\n",
])
def test_bad_rename_lines_stop_startup_like_redis(tmp_path, lines):
    reports = {}
    for kind in ("redis", "pyredis"):
        d = tmp_path / kind
        d.mkdir()
        conf = d / "redis.conf"
        conf.write_text("port 0\n" + lines)
        exe = [shutil.which("redis-server")] if kind == "redis" else [sys.executable, "-m", "pyredis"]
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        res = subprocess.run([*exe, str(conf)], cwd=str(d), env=env, capture_output=True, text=True, timeout=20)
        assert res.returncode == 1, (kind, res.stdout, res.stderr)
        text = res.stdout + res.stderr
        reports[kind] = text[text.index("*** FATAL CONFIG FILE ERROR"):].strip()
    assert reports["pyredis"] == reports["redis"]


def test_renaming_a_subcommand_is_refused(tmp_path):
    """(redis-server 7.0 fails an assertion on this line; pyredis refuses it as an unknown command.)"""
    conf = tmp_path / "redis.conf"
    conf.write_text("port 0\nrename-command config|get foo\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    res = subprocess.run([sys.executable, "-m", "pyredis", str(conf)], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 1 and "No such command in rename-command" in res.stdout + res.stderr
