"""Helpers for the persistence tests: servers in a chosen dir, dataset snapshots, data generators."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

import redis

from support import ROOT, free_port

SRC = os.path.join(ROOT, "src")


class Proc:
    """A redis-server or pyredis process started in *dir* with extra arguments (no implicit --save '')."""

    def __init__(self, kind: str, dir: str, args: Sequence[str] = (), port: int | None = None,
                 wait: bool = True, logfile: str | None = None) -> None:
        self.kind = kind
        self.dir = dir
        self.port = port or free_port()
        self.logfile = logfile or os.path.join(dir, f"{kind}-{self.port}.log")
        base = ["--port", str(self.port), "--dir", dir, "--enable-debug-command", "yes", "--logfile", self.logfile]
        if kind == "redis":
            exe = shutil.which("redis-server")
            assert exe
            cmd = [exe, *base, *args]
        else:
            cmd = [sys.executable, "-m", "pyredis", *base, *args]
        env = dict(os.environ)
        env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(cmd, cwd=dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(100).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not start")

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_timeout=60)

    def command(self, *args: bytes) -> bytes:
        """Send one command on a fresh raw connection; returns the raw reply (b'' if it closed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
                s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
                return s.recv(1 << 16)
        except OSError:
            return b""

    def log(self) -> str:
        try:
            with open(self.logfile, errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_exit(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SHUTDOWN NOSAVE (or kill) and wait."""
        if self.proc.poll() is None:
            self.command(b"SHUTDOWN", b"NOSAVE")
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()


def snapshot(r: redis.Redis, dbs: Sequence[int] = tuple(range(16))) -> dict:
    """Every key of every db: (type, canonical value, absolute expire time in ms or -1)."""
    out: dict = {}
    for dbid in dbs:
        r.execute_command("SELECT", dbid)
        for key in r.scan_iter(count=1000):
            t = r.type(key).decode()
            when = r.execute_command("PEXPIRETIME", key)
            if t == "string":
                v: object = r.get(key)
            elif t == "list":
                v = r.lrange(key, 0, -1)
            elif t == "hash":
                v = sorted(r.hgetall(key).items())
            elif t == "set":
                v = sorted(r.smembers(key))
            elif t == "zset":
                v = r.zrange(key, 0, -1, withscores=True)
            elif t == "stream":
                v = _stream_state(r, key)
            else:
                v = None
            out[(dbid, key)] = (t, v, when)
    r.execute_command("SELECT", 0)
    return out


def without_read_counters(snap: dict) -> dict:
    """A snapshot without consumer groups' entries-read/lag and consumers' seen-time: an AOF replay
    (XCLAIM ... LASTID creating the consumer now) does not restore them on redis-server either."""
    import re

    out = {}
    for k, (t, v, when) in snap.items():
        if t == "stream":
            v = re.sub(r"'entries-read': [^,]*, 'lag': [^,]*,", "", v)
            v = re.sub(r"b?'seen-time': \d+", "", v)  # bytes or str keys (redis-py >= 8.2)
        out[k] = (t, v, when)
    return out


def _stream_state(r: redis.Redis, key: bytes) -> object:
    d = dict(r.xinfo_stream(key, full=True))
    for k in ("radix-tree-keys", "radix-tree-nodes", b"radix-tree-keys", b"radix-tree-nodes"):
        d.pop(k, None)
    return repr(sorted(d.items(), key=repr))


def fill_mixed(r: redis.Redis, n: int, seed: int = 1, dbs: Sequence[int] = (0,), with_ttl: bool = True,
               big: bool = False, streams: bool = True, zsets: bool = True) -> None:
    """Keys of every type and encoding, small and big, ints and strings, some with TTLs."""
    rnd = random.Random(seed)

    def val() -> bytes:
        k = rnd.random()
        if k < 0.25:
            return b"%d" % rnd.randint(-(2**63), 2**63 - 1)
        if k < 0.4:
            return b"%d" % rnd.randint(-300, 300)
        if k < 0.6:
            return b"v" * rnd.randint(0, 80)
        if k < 0.7:
            return os.urandom(rnd.randint(0, 100))
        return ("val-%d-" % rnd.randint(0, 10**6)).encode() * rnd.randint(1, 4)

    for dbid in dbs:
        p = r.pipeline(transaction=False)
        p.execute_command("SELECT", dbid)
        for i in range(n):
            kind = rnd.randrange(7 if streams else 6)
            if kind == 5 and not zsets:
                kind = 0
            key = b"k:%d:%d" % (dbid, i)
            size = rnd.choice([1, 3, 10, 100, 600] if big else [1, 3, 10, 40])
            if kind == 0:
                p.set(key, val())
            elif kind == 1:
                p.rpush(key, *[val() for _ in range(size)])
            elif kind == 2:
                p.hset(key, mapping={b"f%d" % j: val() for j in range(size)})
            elif kind == 3:
                p.sadd(key, *[b"%d" % rnd.randint(-(2**40), 2**40) for _ in range(size)])
            elif kind == 4:
                p.sadd(key, *[val() + b"x" for _ in range(size)])
            elif kind == 5:
                p.zadd(key, {val() + b"m%d" % j: rnd.choice([rnd.randint(-100, 100), rnd.uniform(-1e6, 1e6),
                                                              float("inf"), 1.5]) for j in range(size)})
            else:
                for j in range(size):
                    fields = {b"a": val(), b"b": val()} if rnd.random() < 0.7 else {b"x%d" % j: val()}
                    p.xadd(key, fields, id=b"%d-%d" % (1000 + j // 3, j % 3))
                if rnd.random() < 0.5:
                    p.xgroup_create(key, b"g1", id=b"0")
                    p.xreadgroup(b"g1", b"c1", {key: b">"}, count=2)
                    p.xgroup_create(key, b"g2", id=b"$")
            if with_ttl and rnd.random() < 0.2:
                p.pexpire(key, rnd.randint(100_000, 10_000_000))
        p.execute()
