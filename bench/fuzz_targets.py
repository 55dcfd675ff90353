"""Fuzz targets for bench/fuzz.py: each runs one input through pyredis and raises on misbehaviour.

A target has ``name``, ``watch`` (the source files whose coverage guides the fuzzer), ``tokens``
(dictionary entries for the mutator), ``max_len``, ``seeds()`` and ``run(data)``. ``run`` returns
normally for every outcome Redis allows (a value, or one of the documented errors) and raises
:class:`Finding` (or lets an unexpected exception out) otherwise. Where a compiled twin exists
(``_rdbfast`` for the loaders, ``_hotpath`` for the request loop) the input runs through both and
their outcomes must agree.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src", "pyredis")

from pyredis import _speedups  # noqa: E402
from pyredis.persistence import listpack, lzf, rdb_reader  # noqa: E402
from pyredis.persistence.accel import fast as _fast  # noqa: E402
from pyredis.persistence.crc64 import crc64  # noqa: E402
from pyredis.persistence.rdb import RDBError, dump_payload, load_payload, load_rdb_bytes, verify_payload  # noqa: E402
from pyredis.persistence.rdb_types import Encoder  # noqa: E402
from pyredis.persistence.unverified import LoadPanic, Unverified  # noqa: E402
from pyredis.protocol.parser import ProtocolError, PyRequestParser, RequestParser  # noqa: E402

logging.getLogger("pyredis").setLevel(logging.CRITICAL)  # corrupt inputs log warnings by the thousand


class Finding(AssertionError):
    """The input made pyredis misbehave (a differential mismatch or a broken invariant)."""


def load_seeds(name: str) -> list[bytes]:
    with open(os.path.join(HERE, "fuzz_seeds.json"), encoding="ascii") as f:
        return [bytes.fromhex(h) for h in json.load(f)[name]]


def _src(*parts: str) -> str:
    return os.path.join(SRC, *parts)


@contextlib.contextmanager
def implementation(kind: str) -> Iterator[None]:
    """Run the RDB loaders as ``python`` (the reference functions) or ``native`` (whatever is bound:
    the compiled twins unless PYREDIS_NO_EXTENSIONS is set)."""
    if kind == "native":
        yield
        return
    saved = (listpack.lp_decode, lzf.decompress, rdb_reader._fast)
    listpack.lp_decode, lzf.decompress, rdb_reader._fast = listpack.lp_decode_py, lzf.decompress_py, None
    try:
        yield
    finally:
        listpack.lp_decode, lzf.decompress, rdb_reader._fast = saved


IMPLS = ["python", "native"] if _fast is not None else ["python"]


def _config() -> Any:
    from pyredis.server.config import Config

    return Config()


class RedisOracle:
    """A throwaway redis-server (restarted when it dies) answering the questions the targets ask."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pyredis-fuzz-redis-")
        self.proc: subprocess.Popen | None = None
        self.crashes = 0
        self.start()

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--save", "",
             "--dir", self.dir, "--enable-debug-command", "yes", "--crash-log-enabled", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                break
            except OSError:
                time.sleep(0.025)
        self.buf = b""
        self.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
        self.sanitize = True

    def stream(self, chunks: list[bytes]) -> tuple[bytes, bool]:
        """What redis-server writes back on a fresh connection fed *chunks* then EOF (after a
        FLUSHALL on the control connection), and whether the connection was reset: Redis closing
        with unread input sends a RST, which may discard replies not read yet (a prefix is left)."""
        self.call("FLUSHALL")
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        out = bytearray()
        reset = False
        try:
            for ch in chunks:
                s.sendall(ch)
            s.shutdown(socket.SHUT_WR)
            while True:
                got = s.recv(65536)
                if not got:
                    break
                out += got
        except OSError:
            reset = True
        finally:
            s.close()
        return bytes(out), reset

    def stop(self) -> None:
        if self.proc is not None:
            self.sock.close()
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, True)

    def call(self, *args: bytes | str) -> bytes:
        self.sock.sendall(encode(*args))
        return self.reply()

    def reply(self) -> bytes:
        """One reply, raw (aggregates flattened to their element replies joined by newlines)."""
        line = self._line()
        if line[:1] in (b"$", b"=", b"!") and line[1:] != b"-1":
            n = int(line[1:])
            while len(self.buf) < n + 2:
                self._more()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] in (b"*", b"~", b">", b"%") and line[1:] != b"-1":
            k = int(line[1:]) * (2 if line[:1] == b"%" else 1)
            return b"\n".join(self.reply() for _ in range(k))
        return line

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis-server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def restore(self, payload: bytes, deep: bool) -> tuple[str, str | None]:
        """RESTORE's outcome: ("ok", digest hex or None), ("error", None) or ("crash", None)."""
        try:
            if deep != self.sanitize:
                self.call("CONFIG", "SET", "sanitize-dump-payload", "yes" if deep else "no")
                self.sanitize = deep
            rep = self.call("RESTORE", "k", "0", payload, "REPLACE")
            if rep != b"+OK":
                return "error", None
            digest = self.call("DEBUG", "DIGEST-VALUE", "k").lstrip(b"+").decode() if deep else None
            self.call("DEL", "k")
            return "ok", digest
        except (OSError, ConnectionError):
            self.crashes += 1
            self.proc.wait()  # type: ignore[union-attr]
            self.proc = None
            self.start()
            return "crash", None


def encode(*args: bytes | str) -> bytes:
    parts = [a.encode() if isinstance(a, str) else a for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in parts)


# ==================================================================================================
# DUMP payloads (RESTORE)
# ==================================================================================================
class DumpTarget:
    """A DUMP payload body (type byte + value); the target appends a valid version + CRC footer,
    so that mutations reach the decoders, and loads it as RESTORE does with deep sanitization
    (``sanitize-dump-payload yes``) and without (``no``), in every implementation.

    Allowed: a value that survives DUMP -> RESTORE unchanged, or :class:`RDBError` (RESTORE's
    ``-ERR Bad data format``); without deep sanitization also :class:`Unverified` (accepted verbatim,
    fatal on first read, as in Redis) and :class:`LoadPanic` (Redis panics there too). Every
    implementation must give the same outcome and the same value.
    """

    name = "dump"
    max_len = 8192
    tokens = [b"\x00", b"\xff", b"\xc0", b"\xc1", b"\xc2", b"\xc3", b"\x80\x00\x00\x01\x00", b"\x40\x40",
              b"\xf0", b"\xf1", b"\xf4", b"\xe0\x40", b"\x12\x01\x02", b"\x0f", b"\x13", b"\x10", b"\x11", b"\x0b",
              b"\x05", b"\xfe", b"\xfd", b"\x01\x00\x00\x00\x00\x00\x00\x00"]

    def __init__(self, redis: RedisOracle | None = None) -> None:
        self.config = _config()
        self.redis = redis
        self.watch = [_src("persistence"), _src("engine", "stream.py"), _src("engine", "zset.py")]

    def seeds(self) -> list[bytes]:
        return load_seeds("dump")

    @staticmethod
    def payload(body: bytes) -> bytes:
        core = body + b"\x0a\x00"
        return core + struct.pack("<Q", crc64(0, core))

    def outcome(self, payload: bytes, deep: bool) -> tuple[str, Any]:
        try:
            v = load_payload(payload, self.config, deep)
        except (Unverified, LoadPanic) as e:
            if deep:
                raise Finding("%s under deep sanitization: %s" % (type(e).__name__, e)) from e
            return type(e).__name__, None
        except RDBError:
            return "error", None
        return "ok", v

    def run(self, data: bytes) -> None:
        payload = self.payload(data)
        if not verify_payload(payload):
            raise Finding("a payload with a correct footer failed the footer check")
        for deep in (True, False):
            ref = None
            for impl in IMPLS:
                with implementation(impl):
                    kind, v = self.outcome(payload, deep)
                    canon = self.check_value(v) if kind == "ok" else None
                got = (kind, canon)
                if ref is None:
                    ref = got
                elif got != ref:
                    raise Finding("implementations disagree (deep=%s, python %s, native %s): %r"
                                  % (deep, ref[0], kind, (ref, got)))

    def check_value(self, v: Any) -> bytes:
        """The value's DEBUG DIGEST-VALUE; it must survive DUMP + RESTORE (deep) unchanged."""
        from pyredis.engine.digest import value_digest

        again = dump_payload(v, self.config)
        try:
            back = load_payload(again, self.config, True)
        except RDBError as e:
            raise Finding("an accepted value does not survive DUMP + RESTORE: %s" % e) from e
        one = value_digest(v)
        if value_digest(back) != one or type(back) is not type(v):
            raise Finding("an accepted value changes through DUMP + RESTORE")
        if type(v).__name__ == "ZSetValue" and len(v.sl) != len(v.d):
            raise Finding("zset skiplist and dict sizes differ")
        return one

    def on_new(self, data: bytes) -> None:
        """With a redis-server oracle: RESTORE must give Redis's reply (and value digest)."""
        if self.redis is None:
            return
        from pyredis.engine.digest import value_digest

        payload = self.payload(data)
        for deep in (True, False):
            try:
                v = load_payload(payload, self.config, deep)
                mine = ("ok", value_digest(v).hex() if deep else None)
            except LoadPanic:
                mine = ("crash", None)
            except Unverified:
                mine = ("ok", None)
            except RDBError:
                mine = ("error", None)
            theirs = self.redis.restore(payload, deep)
            if not deep and theirs[0] == "ok":
                theirs = ("ok", None)
            if theirs[0] == "crash" and mine[0] != "ok" or theirs[0] == "crash" and not deep:
                continue  # pyredis refuses (or keeps verbatim) what makes Redis crash: allowed
            if not deep and mine[0] == "error" and theirs[0] == "ok":
                continue  # unsanitized, pyredis still decodes most encodings fully (unverified.py)
            if mine != theirs:
                raise Finding("RESTORE differs from redis-server (sanitize %s, pyredis %s, redis %s): %s vs %s"
                              % ("yes" if deep else "no", mine[0], theirs[0], mine[1], theirs[1]))


# ==================================================================================================
# Whole RDB files
# ==================================================================================================
class RdbTarget:
    """A whole RDB file, loaded as at start-up (CRC not checked, so mutations reach the records),
    by the Python record loop and by ``_rdbfast.read_records``: same outcome, same keys and values."""

    name = "rdb"
    max_len = 16384
    tokens = DumpTarget.tokens + [b"REDIS0010", b"\xfa\x09redis-ver\x067.0.15", b"\xfe\x01", b"\xfb\x01\x00",
                                  b"\xfc\x00\x00\x00\x00\x00\x00\x00\x00", b"\xf8\x05", b"\xf9\x05", b"\xf5"]

    def __init__(self) -> None:
        from pyredis.server.app import Server

        self.server = Server()
        self.watch = [_src("persistence")]

    def seeds(self) -> list[bytes]:
        return load_seeds("rdb")

    def run(self, data: bytes) -> None:
        ref = None
        for impl in IMPLS:
            into = [({}, {}) for _ in range(16)]
            self.server.scripting.flush_functions()
            with implementation(impl):
                try:
                    res = load_rdb_bytes(self.server, data, check_crc=False, skip_expired=False, into=into)
                    enc = Encoder(self.server.config).encode
                    got: tuple = ("ok", res.end, sorted(res.aux.items()),
                                  [(i, sorted((k, enc(v)) for k, v in d.items()), sorted(e.items()))
                                   for i, (d, e) in enumerate(into) if d or e])
                except RDBError:
                    got = ("error",)
            if ref is None:
                ref = got
            elif got != ref:
                raise Finding("implementations disagree (python %s, native %s): %r" % (ref[0], got[0], (ref, got)))


# ==================================================================================================
# AOF files and manifests
# ==================================================================================================
class AofTarget:
    """An AOF file (with or without an RDB preamble) loaded by a fresh server, as at start-up:
    it loads, or fails with an :class:`AOFError` / :class:`RDBError` (the start-up log message and
    exit) - never another exception. Both RDB implementations load the same keys."""

    name = "aof"
    max_len = 16384
    tokens = [b"*1\r\n", b"*2\r\n", b"*3\r\n", b"$1\r\n", b"$3\r\n", b"$-1\r\n", b"\r\n", b"$0\r\n\r\n",
              b"*1\r\n$5\r\nMULTI\r\n", b"*1\r\n$4\r\nEXEC\r\n", b"*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n", b"#TS:1\r\n",
              b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", b"REDIS0010"]

    def __init__(self) -> None:
        self.watch = [_src("persistence", "aof.py"), _src("persistence", "aof_manifest.py"), _src("persistence", "loading.py"),
                      _src("persistence", "rdb_reader.py")]
        self.tmp = tempfile.mkdtemp(prefix="pyredis-fuzz-aof-")

    def seeds(self) -> list[bytes]:
        return load_seeds("aof")

    def load(self, data: bytes) -> tuple:
        from pyredis.persistence.aof import AOFError
        from pyredis.server.app import Server

        shutil.rmtree(self.tmp, True)
        d = os.path.join(self.tmp, "appendonlydir")
        os.makedirs(d)
        base = data[:5] == b"REDIS"
        name = "appendonly.aof.1.%s.aof" % ("base.rdb" if base else "incr")
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        with open(os.path.join(d, "appendonly.aof.manifest"), "w") as f:
            f.write("file %s seq 1 type %s\n" % (name, "b" if base else "i"))
        srv = Server()
        srv.config.values["dir"] = self.tmp
        p = srv.persistence
        p.aof.load_manifest()
        try:
            res = p.load_aof()
        except (AOFError, RDBError):
            return ("error",)
        enc = Encoder(srv.config).encode
        return (res, [(db.id, sorted((k, enc(v)) for k, v in db.data.items()), sorted(db.expires))
                      for db in srv.keyspace.dbs if db.data or db.expires])

    def run(self, data: bytes) -> None:
        ref = None
        for impl in IMPLS:
            with implementation(impl):
                got = self.load(data)
            if ref is None:
                ref = got
            elif got != ref:
                raise Finding("implementations disagree (python %s, native %s): %r" % (ref[0], got[0], (ref, got)))


class ManifestTarget:
    """An AOF manifest: parsed, or refused with an AOFError; what parses writes back identically."""

    name = "manifest"
    max_len = 4096
    tokens = [b"file ", b" seq ", b" type ", b"b\n", b"i\n", b"h\n", b'"', b"'", b"\\x41", b"#", b"\r\n", b"/"]
    watch = [_src("persistence", "aof_manifest.py"), _src("protocol", "parser.py")]

    def seeds(self) -> list[bytes]:
        return load_seeds("manifest")

    def run(self, data: bytes) -> None:
        from pyredis.persistence.aof import AOFError, Manifest

        text = data.decode("utf-8", "surrogateescape").replace("\r\n", "\n").replace("\r", "\n")
        try:
            m = Manifest.parse(text)
        except AOFError:
            return
        if m.base is None and not m.incr and not m.history:
            return  # only comments: an empty manifest (no AOF), as in Redis
        again = Manifest.parse(m.text())
        if again.text() != m.text():
            raise Finding("a parsed manifest does not write back identically")


# ==================================================================================================
# The request parser and the request loop
# ==================================================================================================
class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def close(self) -> None:
        self.closed = True

    abort = close


def _parse(cls: type, chunks: list[bytes], auth: bool) -> tuple:
    p = cls()
    p.auth_required = auth
    cmds: list = []
    for ch in chunks:
        try:
            cmds.extend(p.feed(ch))
        except ProtocolError as e:
            return cmds + e.commands, e.message
    return cmds, None


class RespTarget:
    """A request stream, cut into chunks (drawn from the input itself), fed to:

    * the pure-Python parser and the hiredis-backed one, authenticated or not: same commands, same
      error (Redis's ``-ERR Protocol error: ...`` that closes the connection);
    * a connection of a fresh in-process server in each batch mode (full path only, Python fast
      path, compiled ``_hotpath.run_batch``): same replies, keyspace and connection state.
    """

    name = "resp"
    max_len = 4096
    tokens = [b"\r\n", b"*", b"$", b"*1\r\n", b"*2\r\n", b"$-1\r\n", b"*-1\r\n", b"$0\r\n\r\n", b'"', b"'", b"\\x",
              b" ", b"\n", b"\x00", b"*2147483648\r\n", b"$536870913\r\n", b"GET", b"SET", b"INCR", b"MGET"]

    # replies that differ between servers by design (ids, versions, times, random picks, hash order)
    UNCOMPARABLE = (b"HELLO", b"CLIENT", b"TIME", b"INFO", b"RAND", b"OBJECT", b"DEBUG", b"MEMORY", b"CONFIG",
                    b"SAVE", b"SCAN", b"KEYS", b"SPOP", b"MEMBERS", b"SHUTDOWN", b"MONITOR", b"COMMAND", b"LATENCY",
                    b"SLOWLOG", b"ACL", b"FUNCTION", b"SCRIPT", b"EVAL", b"FCALL", b"MODULE", b"CLUSTER", b"ROLE",
                    b"SYNC", b"REPL", b"WAIT", b"FAILOVER", b"SUBSCRIBE", b"BL", b"BR", b"BZ", b"XREAD", b"LOLWUT")

    def __init__(self, redis: RedisOracle | None = None) -> None:
        self.redis = redis
        self.watch = [_src("protocol", "parser.py"), _src("server", "connection.py"), _src("server", "fastpath.py")]
        self.modes = ["full", "python"] + (["cython"] if _speedups.hotpath is not None else [])

    def seeds(self) -> list[bytes]:
        return load_seeds("resp")

    @staticmethod
    def chunks(data: bytes) -> list[bytes]:
        rnd = random.Random(len(data) * 7919 + sum(data[:64]))
        if rnd.random() < 0.3:
            return [data]
        out, i = [], 0
        while i < len(data):
            k = rnd.choice((1, 2, 3, 5, 8, 13, 64, 1000))
            out.append(data[i:i + k])
            i += k
        return out

    def run(self, data: bytes) -> None:
        chunks = self.chunks(data)
        for auth in (False, True):
            a = _parse(PyRequestParser, chunks, auth)
            b = _parse(RequestParser, chunks, auth)
            if a != b:
                raise Finding("parsers disagree (auth=%s): python %r, hiredis %r" % (auth, a[1], b[1]))
        ref = None
        for mode in self.modes:
            got = self.serve(mode, chunks)
            if ref is None:
                ref = got
            elif got != ref:
                raise Finding("batch modes disagree: full vs %s (%s)" % (
                    mode, "replies" if got[0] != ref[0] else "state"))

    def on_new(self, data: bytes) -> None:
        """With a redis-server oracle: the same chunks get byte-identical replies from redis-server."""
        if self.redis is None:
            return
        up = data.upper()
        if any(w in up for w in self.UNCOMPARABLE):
            return
        chunks = self.chunks(data)
        mine = self.serve("full", chunks)[0]
        theirs, reset = self.redis.stream(chunks)
        if mine != theirs and not (reset and mine.startswith(theirs)):
            k = next((i for i in range(min(len(mine), len(theirs))) if mine[i] != theirs[i]), min(len(mine), len(theirs)))
            raise Finding("replies differ from redis-server: pyredis %r, redis %r" % (mine[k - 20:k + 80],
                                                                                      theirs[k - 20:k + 80]))

    @staticmethod
    def serve(mode: str, chunks: list[bytes]) -> tuple:
        from pyredis.server import fastpath
        from pyredis.server.app import Server
        from pyredis.server.connection import Connection

        saved = _speedups.hotpath
        _speedups.hotpath = saved if mode == "cython" else None
        fastpath.ENABLED = mode != "full"
        try:
            srv = Server()
            srv.config.values["protected-mode"] = False
            conn = Connection(srv)
            t = _Transport()
            conn.connection_made(t)
            for ch in chunks:
                if conn.closed:
                    break
                conn.data_received(ch)
            ks = srv.keyspace
            dbs = tuple((db.id, sorted((k, repr(v)) for k, v in db.data.items()), sorted(db.expires))
                        for db in ks.dbs if db.data or db.expires)
            state = (conn.db.id, conn.multi is not None, conn.reply_mode, conn.close_asap, conn.closed,
                     len(conn.pending), conn.parser.buffered, t.closed)
            return bytes(t.data), dbs, (ks.hits, ks.misses, srv.dirty), state
        finally:
            _speedups.hotpath = saved
            fastpath.ENABLED = True


TARGETS = {"dump": DumpTarget, "rdb": RdbTarget, "aof": AofTarget, "manifest": ManifestTarget, "resp": RespTarget}
