"""The server process as the OS sees it, against real redis-server: oom-score-adj (also of a BGSAVE
child), the process title from proc-title-template, and the crash report on SIGABRT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from support import ServerProcess, child_pids

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _oom(pid: int) -> int:
    with open(f"/proc/{pid}/oom_score_adj") as fh:
        return int(fh.read())


def _pid(p: ServerProcess) -> int:
    c = p.client()
    raw = c.call("INFO", "server").decode()
    c.close()
    return int(raw.split("process_id:")[1].split("\r\n")[0])


@pytest.fixture(scope="module", params=["redis", "pyredis"])
def server(request):
    p = ServerProcess(request.param)
    yield p
    p.stop()


def test_oom_score_adj_follows_role_andchild_pids(server):
    pid = _pid(server)
    base = _oom(pid)
    c = server.client()
    assert c.call("CONFIG", "SET", "oom-score-adj-values", "10 20 30", "oom-score-adj", "yes") == b"+OK\r\n"
    assert _oom(pid) == base + 10
    c.call("CONFIG", "SET", "oom-score-adj-values", "15 20 30")
    assert _oom(pid) == base + 15
    c.call("REPLICAOF", "localhost", "1")
    assert _oom(pid) == base + 20
    c.call("REPLICAOF", "NO", "ONE")
    assert _oom(pid) == base + 15
    c.call("SET", "k", "v")
    c.call("CONFIG", "SET", "rdb-key-save-delay", "1000000")
    assert c.call("BGSAVE") == b"+Background saving started\r\n"
    deadline = time.time() + 10
    seen = None
    while time.time() < deadline and seen != base + 30:
        kids = child_pids(pid)
        if kids:
            try:
                seen = _oom(kids[0])
            except (OSError, ValueError):
                pass
        time.sleep(0.02)
    assert seen == base + 30
    c.call("CONFIG", "SET", "rdb-key-save-delay", "0")
    for k in child_pids(pid):
        os.kill(k, signal.SIGKILL)
    # absolute, then off: the score from before comes back
    c.call("CONFIG", "SET", "oom-score-adj", "absolute")
    assert _oom(pid) == 15
    c.call("CONFIG", "SET", "oom-score-adj", "no")
    assert _oom(pid) == base
    err = c.call("CONFIG", "SET", "oom-score-adj-values", "-2001 1 1")
    assert b"must be between -2000 and 2000" in err
    c.close()


def test_process_title_template(server):
    pid = _pid(server)
    c = server.client()
    assert c.call("CONFIG", "SET", "proc-title-template", "TEST {title} {listen-addr} {port} {tls-port}") \
        == b"+OK\r\n"
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        words = fh.read().replace(b"\0", b" ").split()
    assert words[0] == b"TEST"
    assert words[2:] == [b"*:%d" % server.port, b"%d" % server.port, b"0"], words
    err = c.call("CONFIG", "SET", "proc-title-template", "{invalid-var}")
    assert b"template format is invalid or contains unknown variables" in err
    c.close()


def test_sigabrt_writes_the_crash_report(tmp_path):
    log = tmp_path / "server.log"
    p = ServerProcess("pyredis", ["--logfile", str(log)])
    try:
        os.kill(_pid(p), signal.SIGABRT)
        p.proc.wait(20)
        assert p.proc.returncode == -signal.SIGABRT
        text = log.read_text()
        assert "crashed by signal: 6" in text
        assert "REDIS BUG REPORT START" in text and "STACK TRACE" in text
    finally:
        p.stop()


def test_config_set_bind(tmp_path_factory):
    """CONFIG SET bind: a bad address is refused and the old listeners stay; "" closes TCP."""
    import socket as sk

    for kind in ("redis", "pyredis"):
        sock_path = str(tmp_path_factory.mktemp(kind) / "s.sock")
        p = ServerProcess(kind, ["--unixsocket", sock_path])
        try:
            c = p.client()
            err = c.call("CONFIG", "SET", "bind", "999.999.999.999")
            assert b"Failed to bind to specified addresses" in err, (kind, err)
            assert c.call("PING") == b"+PONG\r\n"
            assert c.call("CONFIG", "SET", "bind", "") == b"+OK\r\n"
            with pytest.raises(ConnectionRefusedError):
                sk.create_connection(("127.0.0.1", p.port), timeout=2)
            u = sk.socket(sk.AF_UNIX)
            u.connect(sock_path)
            u.sendall(b"CONFIG SET bind 127.0.0.1\r\n")
            assert u.recv(100) == b"+OK\r\n"
            u.close()
            time.sleep(0.2)
            c2 = p.client()
            assert c2.call("PING") == b"+PONG\r\n"
            c2.close()
            c.close()
        finally:
            p.stop()


def test_shutdown_flags_config(server):
    c = server.client()
    assert c.call("CONFIG", "SET", "shutdown-on-sigterm", "force nosave now") == b"+OK\r\n"
    assert c.call("CONFIG", "GET", "shutdown-on-sigterm") == \
        b"*2\r\n$19\r\nshutdown-on-sigterm\r\n$16\r\nnosave now force\r\n"
    assert b"must be one of the following" in c.call("CONFIG", "SET", "shutdown-on-sigterm", "bogus")
    c.call("CONFIG", "SET", "shutdown-on-sigterm", "default")
    c.close()


def test_save_lines_of_file_and_command_line_accumulate(tmp_path):
    """The config file's first save replaces the defaults; a command-line save appends to it."""
    import shutil

    from support import ROOT, free_port, wait_ready

    conf = tmp_path / "redis.conf"
    conf.write_text("save 900 1\n")
    for exe in (shutil.which("redis-server"), sys.executable):
        port = free_port()
        cmd = [exe, str(conf), "--port", str(port), "--save", "100", "100"]
        if exe == sys.executable:
            cmd[1:1] = ["-m", "pyredis"]
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_ready(port, proc)
            from support import RawClient

            c = RawClient(port)
            assert c.call("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$13\r\n900 1 100 100\r\n", exe
            c.close()
        finally:
            proc.terminate()
            proc.wait(10)


def test_command_line_option_values_may_start_with_dashes():
    """``--name --value`` takes ``--value`` as the value when the option still needs one (Redis 7.0)."""
    args = ["--proc-title-template", "--my--title--template", "--loglevel", "verbose", "--save"]
    got = []
    for kind in ("redis", "pyredis"):
        p = ServerProcess(kind, args)
        try:
            c = p.client()
            got.append([c.call("CONFIG", "GET", n) for n in ("proc-title-template", "loglevel", "save")])
            c.close()
        finally:
            p.stop()
    assert got[0] == got[1]
    assert got[1][0] == b"*2\r\n$19\r\nproc-title-template\r\n$21\r\n--my--title--template\r\n"


@pytest.mark.parametrize("args", [["--port", "6379", "6380"], ["--port", "--bla", "--loglevel", "verbose"],
                                  ["--logfile", "--my--log--file", "--loglevel", "--bla"],
                                  ["--replicaof", "127.0.0.1", "abc"]])
def test_command_line_errors_name_the_line_like_redis(args):
    import shutil

    from support import ROOT

    out = []
    for cmd in ([shutil.which("redis-server")], [sys.executable, "-m", "pyredis"]):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        r = subprocess.run(cmd + args, capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 1
        text = r.stdout + r.stderr
        out.append(text[text.index(">>>"):].strip())
    assert out[0] == out[1]


@pytest.mark.parametrize("kind", ["redis", "pyredis"])
def test_title_is_the_argv0_the_process_was_started_with(kind, tmp_path):
    """``{title}`` is the process's argv[0] (``exec -a NAME``), also for ``python -m pyredis``."""
    import shutil
    import socket

    from support import RawClient, free_port

    port = free_port()
    if kind == "redis":
        exe, argv = shutil.which("redis-server"), []
    else:
        exe, argv = sys.executable, ["-m", "pyredis"]
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    proc = subprocess.Popen(["/opt/suite/src/redis-server", *argv, "--port", str(port), "--save", ""],
                            executable=exe, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        c = RawClient(port)
        assert c.call("CONFIG", "SET", "proc-title-template", "TEST {title} {port}") == b"+OK\r\n"
        with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
            words = fh.read().replace(b"\0", b" ").split()
        assert words == [b"TEST", b"/opt/suite/src/redis-server", b"%d" % port], words
        c.close()
    finally:
        proc.kill()
        proc.wait()


_TITLE_PROBE = r"""
import os, subprocess, sys
from pyredis.server import process
os.environ["PYREDIS_TITLE_CHANGED"] = "after start-up"  # set again by Python: no longer in the argv area
os.environ.pop("PYREDIS_TITLE_GONE")
assert process.install_title()
start, arg_end, end = process._area
assert end > arg_end + 200  # the environment strings were moved out of the area: the title may use it
process._write_title("TITLE " + "x" * 300)
with open("/proc/self/cmdline", "rb") as fh:
    print(fh.read().split(b"\0")[0].decode())
env = subprocess.run(["env"], capture_output=True, check=True, env=None).stdout
print(sorted(line for line in env.decode().splitlines() if line.startswith("PYREDIS_TITLE")))
print("ctypes" in sys.modules)
"""


def test_title_uses_the_environment_area_and_keeps_the_environment(tmp_path):
    """The title is written over argv and the environment strings (moved elsewhere first), and the
    process's environment (what its children get) is unchanged."""
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"),
               PYREDIS_TITLE_LONG="y" * 300, PYREDIS_TITLE_CHANGED="before", PYREDIS_TITLE_GONE="1")
    out = subprocess.run([sys.executable, "-c", _TITLE_PROBE], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), check=True).stdout.splitlines()
    assert out[0] == "TITLE " + "x" * 300
    assert out[1] == str(["PYREDIS_TITLE_CHANGED=after start-up", "PYREDIS_TITLE_LONG=" + "y" * 300])
    try:
        with open("/proc/self/mem", "r+b", buffering=0):
            pass
    except OSError:
        return  # then ctypes writes it
    assert out[2] == "False"  # written without ctypes (~0.4 MB of RSS) where /proc/self/mem is writable
