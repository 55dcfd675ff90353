"""Test support: start real redis-server and pyredis processes, raw RESP clients, differential checks."""

from __future__ import annotations

import atexit
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SCRATCH: list[str] = []


def scratch_dir(prefix: str) -> str:
    """A fresh directory under one per-process root that is removed when the test process exits
    (kept when PYREDIS_KEEP_TEST_DIRS is set, to read server logs after a failure)."""
    if not _SCRATCH:
        _SCRATCH.append(tempfile.mkdtemp(prefix="pyredis-tests-"))
        if not os.environ.get("PYREDIS_KEEP_TEST_DIRS"):
            atexit.register(shutil.rmtree, _SCRATCH[0], True)
    return tempfile.mkdtemp(prefix=prefix, dir=_SCRATCH[0])


# CI runs the accelerator suite and the pure-Python suite side by side. Ports handed out by bind(0)
# come from one kernel-wide pool, so both runs could get the same port before either server binds it
# (one server then fails to start while the other answers its PINGs). Each run takes ports from its
# own range below the ephemeral range instead, and never hands out the same port twice in a row.
PORT_RANGE = (15000, 19999) if os.environ.get("PYREDIS_NO_EXTENSIONS") else (10000, 14999)
_issued: set[int] = set()


def port_bindable(port: int) -> bool:
    """True when nothing listens on (or holds) 127.0.0.1:port right now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing uses, from this test run's own range."""
    lo, hi = PORT_RANGE
    while True:
        if len(_issued) > (hi - lo) // 2:
            _issued.clear()
        port = random.randint(lo, hi)
        if port not in _issued and port_bindable(port):
            _issued.add(port)
            return port


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(100).startswith((b"+PONG", b"-NOAUTH")):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def _with_parent_death_signal(preexec_fn: Callable[[], None] | None) -> Callable[[], None] | None:
    """Make a server started from the main thread die with the test process (PR_SET_PDEATHSIG), so a
    killed or timed-out test run leaves no server behind. (The signal follows the creating *thread*,
    so servers started from worker threads are left as they are.)"""
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return preexec_fn

    def preexec() -> None:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if preexec_fn is not None:
            preexec_fn()
    return preexec


class ServerProcess:
    """A server started as a subprocess on a free port (``kind`` is 'redis' or 'pyredis')."""

    def __init__(self, kind: str, args: Sequence[str] = (), cwd: str | None = None, port: int | None = None,
                 preexec_fn: Callable[[], None] | None = None):
        self.kind = kind
        self.port = port or free_port()
        if cwd is None:  # a private working dir: no stray dump.rdb is loaded or written
            cwd = scratch_dir(f"{kind}-")
        self.cwd = cwd
        base = ["--port", str(self.port), "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
        if kind == "redis":
            exe = shutil.which("redis-server")
            if exe is None:
                raise RuntimeError("redis-server is not installed (scripts/test.sh installs it)")
            cmd = [exe, *base, *args]
        else:
            cmd = [sys.executable, "-m", "pyredis", *base, *args]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
        # stderr goes to a file: an unread pipe could fill up and stall the server.
        self.stderr_path = os.path.join(cwd, "stderr.log")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env,
                                         preexec_fn=_with_parent_death_signal(preexec_fn))
        try:
            wait_ready(self.port, self.proc)
        except BaseException:
            self.stop()
            raise

    def client(self) -> RawClient:
        return RawClient(self.port)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RawClient:
    """A minimal RESP client returning raw reply bytes (for byte-exact comparisons)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *args: bytes | str | int) -> None:
        self.sock.sendall(encode_command(args))

    def call(self, *args: bytes | str | int) -> bytes:
        self.send(*args)
        return self.read_reply()

    def _fill(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("connection closed")
        self.buf += data

    def _line_end(self, pos: int) -> int:
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill()

    def _reply_end(self, pos: int) -> int:
        while len(self.buf) <= pos:
            self._fill()
        t = self.buf[pos : pos + 1]
        eol = self._line_end(pos)
        head = self.buf[pos + 1 : eol]
        if t in (b"$", b"=", b"!"):
            n = int(head)
            if n < 0:
                return eol + 2
            end = eol + 2 + n + 2
            while len(self.buf) < end:
                self._fill()
            return end
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(head)
            if t in (b"%", b"|"):
                n *= 2
            p = eol + 2
            for _ in range(max(n, 0)):
                p = self._reply_end(p)
            return p
        return eol + 2

    def read_reply(self) -> bytes:
        end = self._reply_end(0)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out


def encode_command(args: Sequence[bytes | str | int]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class Differ:
    """Sends the same commands to redis-server and pyredis and compares the raw replies."""

    def __init__(self, redis: ServerProcess, pyredis: ServerProcess) -> None:
        self.r = redis.client()
        self.p = pyredis.client()
        self.pyredis = pyredis

    def close(self) -> None:
        self.r.close()
        self.p.close()

    def both(self, *args: bytes | str | int) -> tuple[bytes, bytes]:
        return self.r.call(*args), self.p.call(*args)

    def check(self, *args: bytes | str | int) -> bytes:
        """Run one command on both servers and assert identical raw replies."""
        expected, got = self.both(*args)
        assert got == expected, f"{args!r}: redis {expected!r} != pyredis {got!r}"
        return got

    def hello(self, *args: bytes | str | int) -> None:
        """HELLO on both connections; replies must match except for the client id."""
        import re

        r, p = self.both("HELLO", *args)
        mask = re.compile(rb"(\$2\r\nid\r\n):\d+")
        assert mask.sub(rb"\1:ID", p) == mask.sub(rb"\1:ID", r), (r, p)

    def check_all(self, *commands: Sequence[bytes | str | int]) -> None:
        for cmd in commands:
            self.check(*cmd)

    def check_sorted(self, *args: bytes | str | int) -> None:
        """Compare array replies ignoring element order (SMEMBERS, KEYS, ...)."""
        expected, got = self.both(*args)
        assert sorted(_split_array(got)) == sorted(_split_array(expected)), f"{args!r}: {expected!r} != {got!r}"

    def lines(self, script: str) -> None:
        """Check every line of *script* (one command per line, shell-like quoting)."""
        import shlex

        for line in script.strip().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                args = shlex.split(line)
                if args[0].upper() == "HELLO":
                    self.hello(*args[1:])
                else:
                    self.check(*args)


def _split_array(raw: bytes) -> list[bytes]:
    if not raw.startswith((b"*", b"~")):
        return [raw]
    c = RawClient.__new__(RawClient)
    c.buf = raw
    c.sock = None  # type: ignore[assignment]
    eol = raw.find(b"\r\n")
    n = int(raw[1:eol])
    items = []
    pos = eol + 2
    for _ in range(n):
        end = c._reply_end(pos)
        items.append(raw[pos:end])
        pos = end
    return items


def keyspace_events(diff, script: str) -> list[bytes]:
    """Run *script* with keyspace events on; assert both servers publish the same events."""
    subs = []
    for cli in (diff.r, diff.p):
        sub = RawClient(cli.sock.getpeername()[1])
        sub.call("PSUBSCRIBE", "__keyevent@9__:*")
        subs.append(sub)
    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        diff.lines(script)
        diff.check("SET", "__end__", "1")
    finally:
        diff.check("CONFIG", "SET", "notify-keyspace-events", "")
    seen = []
    for sub in subs:
        events = []
        while not events or b"__end__" not in events[-1]:
            events.append(sub.read_reply())
        sub.close()
        seen.append(events)
    assert seen[0] == seen[1]
    return seen[0]


def child_pids(pid: int) -> list[int]:
    """The pids of *pid*'s children (a server's fork children)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]
