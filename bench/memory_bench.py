"""Memory of pyredis against redis-server for 1M small strings and 1M-element hash, set and sorted set.

    python bench/memory_bench.py [--n 1000000] [--only strings,hash,set,zset] [--port 45620]

For each workload a fresh redis-server and pyredis (this checkout's ``src``; the accelerator is used
when built, ``PYREDIS_NO_EXTENSIONS=1`` in the environment switches it off) are started, filled the same
way, and their RSS (``/proc/<pid>/status`` VmRSS) is read before and after:

* strings: ``DEBUG POPULATE n key 16`` (keys ``key:N``, 16-byte values);
* hash / set / zset: one key with n fields ``field:N`` = 16-byte values / members ``member:N`` /
  members ``member:N`` scored N, sent as pipelined HSET / SADD / ZADD of 100 elements each.

Then pyredis's per-element bytes are broken down from the objects themselves, measured in this process
on the same structures built by the engine's classes: the table slot of the dict/set holding them
(``sys.getsizeof`` of the table / n), the key or member object, the value (or score and sorted-list
entry) object, expires; "other" is the rest of the RSS growth per element (allocator pools and
fragmentation, temporary objects not given back). Object sizes are rounded up to pymalloc's size
classes, 16-byte steps on 64-bit CPython >= 3.8 (what the allocator really hands out: a 16-byte bytes
value is 49 bytes, a 64-byte block).

Before starting pyredis the bench byte-compiles ``src/pyredis`` (``compileall``), so the start-up RSS is
that of an installed package even where ``PYTHONDONTWRITEBYTECODE`` is set: compiling ~200 modules from
source at start-up leaves about 2 MB more RSS behind. The start-up line splits pyredis's start-up RSS
into the bare interpreter, asyncio (+ uvloop when installed) and the rest (pyredis's modules and state).

What bounds the ratio (CPython 3.11, this machine, accelerator built): a 1M-key string keyspace costs
pyredis ~135 B/key that no start-up work changes (the key table's entry 23.1: 16-byte entries and a
1.5M-slot int32 index; a ``key:N`` bytes object 48, a 16-byte bytes value 64) against redis-server's ~107,
and the interpreter plus asyncio/uvloop are ~23.6 MB before pyredis loads anything. At 1M strings pyredis
is at 165.0 MB against redis-server's 119.1 (1.39x), a 1M-field hash 165.9 against 111.6 (1.49x), a
1M-member set 112.5 against 78.6 (1.43x), a 1M-member sorted set 151.0 against 131.2 (1.15x). Start-up
RSS 30.1 MB = interpreter 14.0 + asyncio/uvloop 9.7 + pyredis 6.5 (was 31.6 with pyredis 7.8 before the
ACL command universe, json, ctypes (the process title), the modules package, the script debugger and the
replica side loaded on first use, and 33.5 with 9.9 before the earlier round: docs/ARCHITECTURE.md,
"Start-up memory"). Of the 6.5 MB, ~0.3 MB is sortedcontainers (streams; sorted sets without the
accelerator), ~0.2 MB hiredis (loaded by the first connection) and ~0.3 MB the accelerator's code; the
rest is the code of the ~125 modules a default server runs (command families, server core, persistence
and the subsystems it composes: ~3 MB of code objects, ~0.45 MB of them line/column tables) and their
tables. The rest of the gap is the per-element objects: a bytes object is 33 bytes plus its length,
rounded up to pymalloc's 16-byte classes.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALUE = b"v" * 16


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def enc(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


class Conn:
    def __init__(self, port: int) -> None:
        deadline = time.time() + 30
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), 1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.s.settimeout(600)

    def call(self, payload: bytes, nreplies: int) -> bytes:
        """Send *payload* and read *nreplies* single-line replies."""
        self.s.sendall(payload)
        buf = b""
        while buf.count(b"\r\n") < nreplies:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            buf += chunk
        return buf


def start(kind: str, port: int) -> subprocess.Popen:
    args = ["--port", str(port), "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
    cmd = ["redis-server", *args] if kind == "redis" else [sys.executable, "-m", "pyredis", *args]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    if kind == "pyredis":  # start-up as an installed package: from bytecode, not compiling every module
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "src", "pyredis")],
                       check=True, stdout=subprocess.DEVNULL)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                         cwd=tempfile.mkdtemp(prefix=f"membench-{kind}-"))
    c = Conn(port)
    while b"PONG" not in c.call(enc(b"PING"), 1):
        time.sleep(0.1)
    c.s.close()
    return p


def fill(port: int, workload: str, n: int) -> None:
    c = Conn(port)
    if workload == "strings":
        r = c.call(enc(b"DEBUG", b"POPULATE", b"%d" % n, b"key", b"16"), 1)
        assert r.startswith(b"+OK"), r
        return
    step = 100
    batch: list[bytes] = []
    for i in range(0, n, step):
        ids = range(i, min(n, i + step))
        if workload == "hash":
            args = [b"HSET", b"h"] + [a for j in ids for a in (b"field:%d" % j, VALUE)]
        elif workload == "set":
            args = [b"SADD", b"s"] + [b"member:%d" % j for j in ids]
        else:
            args = [b"ZADD", b"z"] + [a for j in ids for a in (b"%d" % j, b"member:%d" % j)]
        batch.append(enc(*args))
        if len(batch) == 100:
            c.call(b"".join(batch), len(batch))
            batch = []
    if batch:
        c.call(b"".join(batch), len(batch))
    c.s.close()


def measure(workload: str, n: int, port: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind, p in (("redis", port), ("pyredis", port + 1)):
        proc = start(kind, p)
        try:
            base = rss_kib(proc.pid)
            t0 = time.time()
            fill(p, workload, n)
            time.sleep(0.5)
            out[kind] = rss_kib(proc.pid) * 1024
            out[kind + "_base"] = base * 1024
            out[kind + "_fill_s"] = time.time() - t0
        finally:
            proc.kill()
            proc.wait()
    return out


def _alloc(size: int) -> int:
    """Bytes pymalloc hands out for an object of *size* bytes (large ones: malloc's, ~16 bytes more)."""
    return (size + 15) & ~15 if size <= 512 else size + 16


def interpreter_rss(code: str) -> int:
    """RSS in bytes of a fresh interpreter after running *code* (as the server is run)."""
    probe = (code + "\nfor line in open('/proc/self/status'):\n"
             "    if line.startswith('VmRSS:'): print(int(line.split()[1]) * 1024)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def startup_split(pyredis_base: float) -> str:
    bare = interpreter_rss("pass")
    aio = interpreter_rss("import asyncio\ntry:\n    import uvloop\nexcept ImportError:\n    pass")
    return (f"start-up RSS {pyredis_base / 1e6:.1f} MB = interpreter {bare / 1e6:.1f} + asyncio/uvloop "
            f"{(aio - bare) / 1e6:.1f} + pyredis {(pyredis_base - aio) / 1e6:.1f}")


def breakdown(workload: str, n: int) -> dict[str, float]:
    """Per-element bytes of pyredis's structures for *workload* (built with the engine's classes)."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from pyredis.engine.hash import HashValue
    from pyredis.engine.set import SetValue
    from pyredis.engine.zset import ZSetValue

    size = sys.getsizeof
    if workload == "strings":
        from pyredis import _speedups

        d = _speedups.key_dict()  # what a database holds its keys in (the accelerator's KeyTable, or a dict)
        for i in range(n):
            d[b"key:%d" % i] = (b"value:%d" % i)[:16].ljust(16, b"\0")
        keys = sum(_alloc(size(k)) for k in d) / n
        vals = sum(_alloc(size(v)) for v in d.values()) / n
        slot = "dict entry" if type(d) is dict else "key table entry"
        return {slot: size(d) / n, "key object": keys, "value object": vals, "expires": size({}) / n}
    if workload == "hash":
        h = HashValue()
        for i in range(n):
            h[b"field:%d" % i] = VALUE
        h.big = True
        fields = sum(_alloc(size(k)) for k in h) / n
        slot = "dict entry" if isinstance(h, dict) else "key table entry"
        return {slot: size(h) / n, "field object": fields, "value object": _alloc(size(b"v" * 16))}
    if workload == "set":
        s = SetValue(b"member:%d" % i for i in range(n))
        return {"set slot": size(s) / n, "member object": sum(_alloc(size(m)) for m in s) / n}
    z = ZSetValue.from_pairs(((b"member:%d" % i, float(i)) for i in range(n)), 128, 64)
    sl = z.sl
    out = {"dict entry" if isinstance(z.d, dict) else "key table entry": size(z.d) / n,
           "member object": sum(_alloc(size(m)) for m in z.d) / n, "score float": _alloc(size(1.5))}
    if hasattr(sl, "_lists"):  # a SortedList of tuples (getsizeof counts a tuple's GC header)
        out["(score, member) tuple"] = _alloc(size((1.0, b"")))
        out["sorted-list slot"] = sum(size(x) for x in sl._lists) / n
    else:  # the accelerator's ScoreList: unboxed (score, member reference) items
        out["score-list item"] = size(sl) / n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--only", default="strings,hash,set,zset")
    ap.add_argument("--port", type=int, default=45620)
    a = ap.parse_args()
    accel = "off (PYREDIS_NO_EXTENSIONS)" if os.environ.get("PYREDIS_NO_EXTENSIONS") not in (None, "", "0") \
        else "as built"
    print(f"n={a.n}; pyredis accelerator: {accel}")
    print("| workload | redis RSS MB | pyredis RSS MB | ratio | redis B/elem | pyredis B/elem "
          "| pyredis breakdown (B/elem) |")
    print("|---|---|---|---|---|---|---|")
    base = 0.0
    for w in a.only.split(","):
        m = measure(w, a.n, a.port)
        b = breakdown(w, a.n)
        per_r = (m["redis"] - m["redis_base"]) / a.n
        per_p = (m["pyredis"] - m["pyredis_base"]) / a.n
        b["other"] = per_p - sum(b.values())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in b.items())
        base = m["pyredis_base"]
        print(f"| {w} | {m['redis'] / 1e6:.1f} | {m['pyredis'] / 1e6:.1f} | {m['pyredis'] / m['redis']:.2f} "
              f"| {per_r:.1f} | {per_p:.1f} | {parts}; start-up RSS {m['pyredis_base'] / 1e6:.1f} MB "
              f"(redis {m['redis_base'] / 1e6:.1f}) |", flush=True)
    if base:
        print(startup_split(base))


if __name__ == "__main__":
    main()
