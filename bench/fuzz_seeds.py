"""Regenerate the fuzzer's seed corpus (bench/fuzz_seeds.json) from a real redis-server 7.0.

    python bench/fuzz_seeds.py [--redis-src /tmp/redis-src] [--out bench/fuzz_seeds.json]

Seeds (all made by redis-server itself, or taken from its test suite):

* ``dump``: DUMP payload bodies (type byte + value, without the version/CRC footer) of every type
  and encoding 7.0 writes (int/raw/LZF strings, quicklist-2 packed/plain/compressed nodes, intsets
  of 16/32/64-bit, hashtable and listpack sets/hashes/zsets, streams with groups, PELs, deleted
  entries and several nodes), plus the old encodings found in the suite's RDB assets (ziplists,
  zipmaps, quicklist 1, stream format 1) and the corrupt payloads of ``corrupt-dump.tcl``;
* ``rdb``: whole RDB files (a SAVE of all of the above, and the suite's assets);
* ``aof``: AOF files (an incr file with MULTI/EXEC, SELECT, expiries, streams; a base file with
  and without an RDB preamble);
* ``manifest``: AOF manifests;
* ``resp``: request streams (multibulk, inline with quotes, pipelines, MULTI/EXEC, HELLO 3).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))


def _enc(*args: bytes | str) -> bytes:
    parts = [a.encode() if isinstance(a, str) else a for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in parts)


class _Redis:
    """A throwaway redis-server and a minimal blocking client."""

    def __init__(self, workdir: str, *args: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = workdir
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--save", "",
             "--dir", workdir, "--enable-debug-command", "yes", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        self.buf = b""

    def call(self, *args: bytes | str) -> bytes:
        self.sock.sendall(_enc(*args))
        return self._reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self) -> bytes:
        line = self._line()
        if line[:1] == b"$" and line != b"$-1":
            n = int(line[1:])
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] == b"*":
            return b"\n".join(self._reply() for _ in range(int(line[1:])))
        return line

    def stop(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


# each entry: (setup commands, config directives set first); the key is always "k"
DUMP_CASES: list[tuple[list[list[str]], list[tuple[str, str]]]] = [
    ([["SET", "k", "hello"]], []),
    ([["SET", "k", "12"]], []),
    ([["SET", "k", "-3000"]], []),
    ([["SET", "k", "2000000000"]], []),
    ([["SET", "k", "9223372036854775807"]], []),
    ([["SET", "k", ""]], []),
    ([["SET", "k", "ab" * 40]], []),
    ([["SET", "k", "x" * 70]], [("rdbcompression", "no")]),
    ([["RPUSH", "k", "a", "1", "-2", "300", "70000", "9999999999", "y" * 70, "z" * 5000]], []),
    ([["RPUSH", "k", *[str(i) for i in range(9)]]], [("list-max-listpack-size", "2")]),
    ([["RPUSH", "k", *["v%d" % i * 10 for i in range(40)]]], [("list-compress-depth", "1"),
                                                               ("list-max-listpack-size", "4")]),
    ([["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "20"], ["RPUSH", "k", "a", "b" * 30, "c"]], []),
    ([["SADD", "k", "1", "2", "-7"]], []),
    ([["SADD", "k", "1", "70000"]], []),
    ([["SADD", "k", "1", "99999999999"]], []),
    ([["SADD", "k", "a", "b", "1"]], []),
    ([["HSET", "k", "f1", "v1", "f2", "2", "f3", "-100000"]], []),
    ([["HSET", "k", "f1", "v1", "f2", "x" * 80]], [("hash-max-listpack-value", "64")]),
    ([["ZADD", "k", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "1e300", "e"]], []),
    ([["ZADD", "k", "1", "a", "2.5", "b", "-3", "c", "0", "d"]], [("zset-max-listpack-entries", "2")]),
    ([["XADD", "k", "1-1", "a", "1", "b", "2"], ["XADD", "k", "1-2", "a", "3", "b", "4"],
      ["XADD", "k", "2-1", "c", "x"]], []),
    ([["XADD", "k", "1-1", "a", "1"], ["XADD", "k", "1-2", "a", "2"], ["XADD", "k", "5-0", "q", "r", "s", "t"],
      ["XDEL", "k", "1-2"], ["XGROUP", "CREATE", "k", "g1", "0"], ["XGROUP", "CREATE", "k", "g2", "$"],
      ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "k", ">"],
      ["XGROUP", "CREATECONSUMER", "k", "g1", "bob"]], [("stream-node-max-entries", "2")]),
    ([["XADD", "k", "MAXLEN", "0", "1-1", "a", "1"]], []),
]

RESP_SEEDS = [
    _enc("PING"),
    _enc("SET", "k", "v") + _enc("GET", "k") + _enc("APPEND", "k", "w") + _enc("STRLEN", "k"),
    _enc("INCR", "n") + _enc("INCRBY", "n", "-5") + _enc("DECRBY", "n", "9223372036854775807") + _enc("DECR", "n"),
    _enc("MSET", "a", "1", "b", "2") + _enc("MGET", "a", "b", "c") + _enc("EXISTS", "a", "zz") + _enc("DEL", "a"),
    _enc("RPUSH", "l", "a", "b") + _enc("LPUSH", "l", "c") + _enc("LRANGE", "l", "0", "-1") + _enc("LPOP", "l"),
    _enc("SADD", "s", "1", "2") + _enc("SMEMBERS", "s") + _enc("SISMEMBER", "s", "1") + _enc("SCARD", "s"),
    _enc("HSET", "h", "f", "v") + _enc("HGET", "h", "f") + _enc("HGETALL", "h") + _enc("HINCRBY", "h", "n", "3"),
    _enc("ZADD", "z", "1.5", "m", "2", "n") + _enc("ZRANGE", "z", "0", "-1", "WITHSCORES") + _enc("ZSCORE", "z", "m"),
    _enc("MULTI") + _enc("SET", "t", "1") + _enc("INCR", "t") + _enc("EXEC"),
    _enc("SELECT", "1") + _enc("SET", "k", "1") + _enc("SELECT", "0") + _enc("GET", "k"),
    _enc("HELLO", "3") + _enc("GET", "nokey") + _enc("HGETALL", "h") + _enc("HELLO", "2"),
    _enc("ECHO", "") + _enc("ECHO", "x" * 100) + _enc("SETRANGE", "r", "3", "ab") + _enc("GETRANGE", "r", "0", "-1"),
    _enc("EXPIRE", "k", "100") + _enc("TTL", "k") + _enc("PERSIST", "k") + _enc("TYPE", "k"),
    b"PING\r\nSET a b\r\nGET a\r\n",
    b'SET "a b" "c\\x41\\n"\r\nGET \'a b\'\r\nECHO "q\\"uote"\n',
    b"*1\r\n$4\r\nPING\r\nPING\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
    b"*0\r\n*-1\r\n\r\n  \r\n*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$3\r\nGET\r\n$-1\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n",
]


def _dump_seeds(work: str) -> list[bytes]:
    out = []
    for setup, conf in DUMP_CASES:
        r = _Redis(work)
        try:
            for k, v in conf:
                r.call("CONFIG", "SET", k, v)
            for cmd in setup:
                r.call(*cmd)
            payload = r.call("DUMP", "k")
            out.append(payload[:-10])
        finally:
            r.stop()
    return out


def _rdb_records(data: bytes) -> list[bytes]:
    """Type byte + value of each key of an RDB file (pyredis's reader finds the boundaries)."""
    from pyredis.persistence.rdb_format import (
        OP_AUX,
        OP_EOF,
        OP_EXPIRETIME,
        OP_EXPIRETIME_MS,
        OP_FREQ,
        OP_IDLE,
        OP_RESIZEDB,
        OP_SELECTDB,
        Reader,
    )
    from pyredis.persistence.rdb_types import load_value
    from pyredis.server.config import Config

    r = Reader(data, Config(), 9)
    out = []
    while r.pos < len(data):
        t = r.byte()
        if t == OP_EOF:
            break
        if t in (OP_EXPIRETIME_MS,):
            r.raw(8)
        elif t == OP_EXPIRETIME:
            r.raw(4)
        elif t == OP_FREQ:
            r.byte()
        elif t in (OP_IDLE, OP_SELECTDB):
            r.length()
        elif t == OP_RESIZEDB:
            r.length()
            r.length()
        elif t == OP_AUX:
            r.string()
            r.string()
        else:
            r.string()
            start = r.pos
            try:
                load_value(r, t)
            except Exception:  # noqa: BLE001 - a corrupt asset: stop there
                break
            out.append(bytes([t]) + data[start:r.pos])
    return out


def _tcl_payloads(path: str) -> list[bytes]:
    text = open(path, encoding="latin-1").read()
    out = []
    for m in re.finditer(r'"((?:\\x[0-9A-Fa-f]{2})+)"', text):
        blob = bytes.fromhex(m.group(1).replace("\\x", ""))
        if len(blob) > 10:
            out.append(blob[:-10])
    return out


def _aof_seeds(work: str) -> tuple[list[bytes], list[bytes]]:
    aofs, manifests = [], []
    for preamble in ("yes", "no"):
        d = tempfile.mkdtemp(dir=work)
        r = _Redis(d, "--appendonly", "yes", "--aof-use-rdb-preamble", preamble)
        try:
            r.call("SET", "a", "1")
            r.call("RPUSH", "l", "x", "y")
            r.call("BGREWRITEAOF")
            time.sleep(1.0)
            r.call("SELECT", "2")
            r.call("SET", "b", "2", "EX", "1000")
            r.call("MULTI")
            r.call("INCR", "c")
            r.call("HSET", "h", "f", "v")
            r.call("EXEC")
            r.call("XADD", "s", "1-1", "f", "v")
            r.call("ZADD", "z", "1", "m")
            r.call("SADD", "st", "a")
            r.call("EXPIRE", "h", "500")
            r.call("SET", "big", "x" * 300)
        finally:
            time.sleep(0.3)
            r.stop()
        for p in sorted(glob.glob(os.path.join(d, "appendonlydir", "*"))):
            with open(p, "rb") as f:
                (manifests if p.endswith(".manifest") else aofs).append(f.read())
    aofs.append(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:1700000000\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    return aofs, manifests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redis-src", default="/tmp/redis-src")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "fuzz_seeds.json"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fuzzseeds-")
    try:
        dump = _dump_seeds(work)
        assets = sorted(glob.glob(os.path.join(a.redis_src, "tests", "assets", "*.rdb")))
        rdbs = []
        for p in assets:
            with open(p, "rb") as f:
                rdbs.append(f.read())
        for data in rdbs:
            dump.extend(_rdb_records(data))
        dump.extend(_tcl_payloads(os.path.join(a.redis_src, "tests", "integration", "corrupt-dump.tcl")))
        r = _Redis(work)
        try:
            for setup, conf in DUMP_CASES[:-1]:
                for k, v in conf:
                    r.call("CONFIG", "SET", k, v)
                for cmd in setup:
                    r.call(cmd[0], *[("k%d" % len(rdbs)) if x == "k" else x for x in cmd[1:]])
                r.call("CONFIG", "RESETSTAT")
            r.call("SET", "ttl", "v", "PX", "100000000")
            r.call("SELECT", "3")
            r.call("SET", "other", "db")
            r.call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
            r.call("SAVE")
            with open(os.path.join(work, "dump.rdb"), "rb") as f:
                rdbs.insert(0, f.read())
        finally:
            r.stop()
        aofs, manifests = _aof_seeds(work)
        seen: set[bytes] = set()
        out: dict[str, list[str]] = {}
        for name, items in (("dump", dump), ("rdb", rdbs), ("aof", aofs), ("manifest", manifests),
                            ("resp", RESP_SEEDS)):
            uniq = [x for x in items if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]
            out[name] = [x.hex() for x in uniq]
        with open(a.out, "w", encoding="ascii") as f:
            json.dump(out, f, indent=0)
            f.write("\n")
        print({k: len(v) for k, v in out.items()})
    finally:
        shutil.rmtree(work, True)


if __name__ == "__main__":
    main()
