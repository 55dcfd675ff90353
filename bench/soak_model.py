"""The soak test's oracle: a per-client model of the keyspace, command generators and a RESP parser.

Each soak client owns its keys (``<type>:<client>:<n>``), so its commands run in order and the model
predicts every reply exactly. Commands whose replies were not read when a connection (or the server)
died are *pending*: the server ran some prefix of them, and :meth:`Model.resolve` finds that prefix by
reading the keys back (no prefix matching means an acknowledged write was lost).
"""

from __future__ import annotations

import copy
import random
import re
import socket
from dataclasses import dataclass, field
from typing import Any


class Err(str):
    """An error reply."""


class Status(str):
    """A status reply (+OK)."""


UNORDERED = "unordered"  # marker: compare an array reply as a multiset (SMEMBERS, HGETALL pairs)


def encode(args: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A blocking RESP2 connection that parses replies into Python values."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self, reset: bool = False) -> None:
        if reset:  # RST instead of FIN: what a crashed client looks like
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def _fill(self) -> None:
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("connection closed")
        self.buf += data

    def read(self) -> Any:
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Status(rest.decode())
        if t == b"-":
            return Err(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self._fill()
            data = self.buf[self.pos:self.pos + n]
            self.pos += n + 2
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ConnectionError(f"bad reply line {line!r}")

    def call(self, *args: bytes | str | int) -> Any:
        self.send(encode([a if isinstance(a, bytes) else str(a).encode() for a in args]))
        return self.read()


def is_ll(b: bytes) -> bool:
    return len(b) <= 20 and re.fullmatch(rb"0|-?[1-9][0-9]*", b) is not None and -(2**63) <= int(b) < 2**63


@dataclass
class Stream:
    entries: list[tuple[tuple[int, int], list[bytes]]] = field(default_factory=list)
    last: tuple[int, int] = (0, 0)
    added: int = 0
    maxdel: tuple[int, int] = (0, 0)


@dataclass
class Entry:
    kind: str  # string list hash set zset stream
    val: Any
    exp: list[float] | None = None  # [lo, hi] absolute ms: the expiry lies in this window


def sid(i: tuple[int, int]) -> bytes:
    return b"%d-%d" % i


def pid(b: bytes) -> tuple[int, int]:
    a, _, c = b.partition(b"-")
    return int(a), int(c or 0)


def _range(n: int, start: int, end: int) -> tuple[int, int] | None:
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    if start > end or start >= n:
        return None
    return start, min(end, n - 1)


class Uncertain(Exception):
    """A volatile key may or may not have expired by now."""


LONG_TTL = 100_000_000  # ms: long expiries never fire during a run, they are checked by PEXPIRETIME
PREFIX_KIND = {b"s": "string", b"n": "string", b"v": "string", b"l": "list", b"h": "hash",
               b"t": "set", b"z": "zset", b"x": "stream"}


class Model:
    """One client's keys and the logic of every command the soak sends."""

    def __init__(self) -> None:
        self.data: dict[bytes, Entry] = {}

    # -- time and lookup ---------------------------------------------------------------------------
    def lookup(self, key: bytes, t_lo: float, t_hi: float, alive: bool | None = None) -> Entry | None:
        e = self.data.get(key)
        if e is None or e.exp is None:
            return e
        lo, hi = e.exp
        if t_hi * 1000 < lo - 2:
            return e
        if t_lo * 1000 > hi + 2:
            del self.data[key]
            return None
        if alive is None:
            raise Uncertain(key)
        if not alive:
            del self.data[key]
            return None
        return e

    def _get(self, key: bytes, kind: str, t: tuple[float, float]) -> Entry | None:
        e = self.lookup(key, *t)
        assert e is None or e.kind == kind, (key, e)
        return e

    def _drop_empty(self, key: bytes) -> None:
        e = self.data.get(key)
        if e is not None and e.kind != "stream" and len(e.val) == 0:
            del self.data[key]

    # -- commands ----------------------------------------------------------------------------------
    def execute(self, args: list[bytes], t_lo: float, t_hi: float, alive: bool | None = None) -> Any:
        """Apply one command; return the reply Redis must give (commands run between t_lo and t_hi)."""
        name = args[0].upper().decode()
        t = (t_lo, t_hi)
        key = args[1] if len(args) > 1 else b""
        if name == "EVAL":
            k1, k2, inc, item = args[3], args[4], args[5], args[6]
            v = self.execute([b"INCRBY", k1, inc], *t)
            n = self.execute([b"RPUSH", k2, item], *t)
            return [v, n]
        if name == "DEL":
            try:
                e = self.lookup(key, *t, alive)
            except Uncertain:
                self.data.pop(key, None)
                return None
            self.data.pop(key, None)
            return int(e is not None)
        if name in ("EXISTS", "TYPE"):
            e = self.lookup(key, *t)
            if name == "EXISTS":
                return int(e is not None)
            return Status(e.kind if e else "none")
        if name in ("PEXPIRE", "PERSIST"):
            e = self.lookup(key, *t)
            if e is None:
                return 0
            if name == "PERSIST":
                had = e.exp is not None
                e.exp = None
                return int(had)
            ms = int(args[2])
            e.exp = [t_lo * 1000 + ms, t_hi * 1000 + ms]
            return 1
        if name == "PEXPIRETIME":
            e = self.lookup(key, *t)
            return -2 if e is None else (-1 if e.exp is None else e.exp)
        return getattr(self, "c_" + name.lower())(args, key, t, alive)

    # strings
    def c_set(self, a, key, t, alive):
        exp = None
        if len(a) > 3:  # SET k v PX ms
            ms = int(a[4])
            exp = [t[0] * 1000 + ms, t[1] * 1000 + ms]
        self.data[key] = Entry("string", a[2], exp)
        return Status("OK")

    def c_get(self, a, key, t, alive):
        try:
            e = self.lookup(key, *t, alive)
        except Uncertain:
            return None
        return None if e is None else e.val

    def c_append(self, a, key, t, alive):
        e = self._get(key, "string", t)
        if e is None:
            e = self.data[key] = Entry("string", b"")
        e.val += a[2]
        return len(e.val)

    def c_setrange(self, a, key, t, alive):
        e = self._get(key, "string", t)
        off, v = int(a[2]), a[3]
        if e is None:
            e = self.data[key] = Entry("string", b"")
        cur = e.val.ljust(off, b"\x00")
        e.val = cur[:off] + v + cur[off + len(v):]
        return len(e.val)

    def c_getrange(self, a, key, t, alive):
        e = self._get(key, "string", t)
        s = e.val if e else b""
        start, end, n = int(a[2]), int(a[3]), len(s)
        if start < 0 and end < 0 and start > end:
            return b""
        start, end = max(start + n if start < 0 else start, 0), max(end + n if end < 0 else end, 0)
        end = min(end, n - 1)
        return b"" if start > end or n == 0 else s[start:end + 1]

    def c_strlen(self, a, key, t, alive):
        e = self._get(key, "string", t)
        return len(e.val) if e else 0

    def c_incrby(self, a, key, t, alive):
        e = self._get(key, "string", t)
        cur = e.val if e else b"0"
        if not is_ll(cur):
            return Err("ERR value is not an integer or out of range")
        v = int(cur) + int(a[2])
        if e is None:
            e = self.data[key] = Entry("string", b"")
        e.val = b"%d" % v
        return v

    def c_incr(self, a, key, t, alive):
        return self.c_incrby([a[0], key, b"1"], key, t, alive)

    def c_decr(self, a, key, t, alive):
        return self.c_incrby([a[0], key, b"-1"], key, t, alive)

    # lists
    def _push(self, a, key, t, left):
        e = self._get(key, "list", t)
        if e is None:
            e = self.data[key] = Entry("list", [])
        for v in a[2:]:
            if left:
                e.val.insert(0, v)
            else:
                e.val.append(v)
        return len(e.val)

    def c_rpush(self, a, key, t, alive):
        return self._push(a, key, t, False)

    def c_lpush(self, a, key, t, alive):
        return self._push(a, key, t, True)

    def _pop(self, a, key, t, left):
        e = self._get(key, "list", t)
        count = int(a[2]) if len(a) > 2 else None
        if e is None:
            return None
        n = 1 if count is None else count
        out = []
        for _ in range(min(n, len(e.val))):
            out.append(e.val.pop(0 if left else -1))
        self._drop_empty(key)
        return out[0] if count is None else out

    def c_lpop(self, a, key, t, alive):
        return self._pop(a, key, t, True)

    def c_rpop(self, a, key, t, alive):
        return self._pop(a, key, t, False)

    def c_lrange(self, a, key, t, alive):
        e = self._get(key, "list", t)
        lst = e.val if e else []
        r = _range(len(lst), int(a[2]), int(a[3]))
        return [] if r is None else lst[r[0]:r[1] + 1]

    def c_llen(self, a, key, t, alive):
        e = self._get(key, "list", t)
        return len(e.val) if e else 0

    def c_lindex(self, a, key, t, alive):
        e = self._get(key, "list", t)
        lst = e.val if e else []
        i = int(a[2])
        i = i + len(lst) if i < 0 else i
        return lst[i] if 0 <= i < len(lst) else None

    def c_lset(self, a, key, t, alive):
        e = self._get(key, "list", t)
        if e is None:
            return Err("ERR no such key")
        i = int(a[2])
        i = i + len(e.val) if i < 0 else i
        if not 0 <= i < len(e.val):
            return Err("ERR index out of range")
        e.val[i] = a[3]
        return Status("OK")

    def c_ltrim(self, a, key, t, alive):
        e = self._get(key, "list", t)
        if e is not None:
            r = _range(len(e.val), int(a[2]), int(a[3]))
            e.val[:] = [] if r is None else e.val[r[0]:r[1] + 1]
            self._drop_empty(key)
        return Status("OK")

    # hashes
    def c_hset(self, a, key, t, alive):
        e = self._get(key, "hash", t)
        if e is None:
            e = self.data[key] = Entry("hash", {})
        new = 0
        for i in range(2, len(a), 2):
            new += a[i] not in e.val
            e.val[a[i]] = a[i + 1]
        return new

    def c_hget(self, a, key, t, alive):
        e = self._get(key, "hash", t)
        return e.val.get(a[2]) if e else None

    def c_hdel(self, a, key, t, alive):
        e = self._get(key, "hash", t)
        if e is None:
            return 0
        n = sum(e.val.pop(f, None) is not None for f in dict.fromkeys(a[2:]))
        self._drop_empty(key)
        return n

    def c_hincrby(self, a, key, t, alive):
        e = self._get(key, "hash", t)
        if e is None:
            e = self.data[key] = Entry("hash", {})
        v = int(e.val.get(a[2], b"0")) + int(a[3])
        e.val[a[2]] = b"%d" % v
        return v

    def c_hgetall(self, a, key, t, alive):
        e = self._get(key, "hash", t)
        return (UNORDERED, sorted(e.val.items()) if e else [])

    def c_hlen(self, a, key, t, alive):
        e = self._get(key, "hash", t)
        return len(e.val) if e else 0

    # sets
    def c_sadd(self, a, key, t, alive):
        e = self._get(key, "set", t)
        if e is None:
            e = self.data[key] = Entry("set", set())
        n = len(e.val)
        e.val.update(a[2:])
        return len(e.val) - n

    def c_srem(self, a, key, t, alive):
        e = self._get(key, "set", t)
        if e is None:
            return 0
        n = len(e.val)
        e.val.difference_update(a[2:])
        n -= len(e.val)
        self._drop_empty(key)
        return n

    def c_sismember(self, a, key, t, alive):
        e = self._get(key, "set", t)
        return int(bool(e) and a[2] in e.val)

    def c_scard(self, a, key, t, alive):
        e = self._get(key, "set", t)
        return len(e.val) if e else 0

    def c_smembers(self, a, key, t, alive):
        e = self._get(key, "set", t)
        return (UNORDERED, sorted(e.val) if e else [])

    # sorted sets (integer scores, so replies format them as integers)
    def _zsorted(self, e: Entry | None) -> list[tuple[bytes, int]]:
        return sorted(e.val.items(), key=lambda p: (p[1], p[0])) if e else []

    def c_zadd(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        if e is None:
            e = self.data[key] = Entry("zset", {})
        new = 0
        for i in range(2, len(a), 2):
            new += a[i + 1] not in e.val
            e.val[a[i + 1]] = int(a[i])
        return new

    def c_zincrby(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        if e is None:
            e = self.data[key] = Entry("zset", {})
        v = e.val.get(a[3], 0) + int(a[2])
        e.val[a[3]] = v
        return b"%d" % v

    def c_zrem(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        if e is None:
            return 0
        n = sum(e.val.pop(m, None) is not None for m in dict.fromkeys(a[2:]))
        self._drop_empty(key)
        return n

    def c_zscore(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        return b"%d" % e.val[a[2]] if e and a[2] in e.val else None

    def c_zcard(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        return len(e.val) if e else 0

    def c_zrange(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        out: list[bytes] = []
        for m, s in self._zsorted(e):
            out += [m, b"%d" % s]
        return out

    def c_zpopmin(self, a, key, t, alive):
        e = self._get(key, "zset", t)
        if not e:
            return []
        m, s = self._zsorted(e)[0]
        del e.val[m]
        self._drop_empty(key)
        return [m, b"%d" % s]

    # streams (explicit, ever-growing ids)
    def c_xadd(self, a, key, t, alive):
        e = self._get(key, "stream", t)
        if e is None:
            e = self.data[key] = Entry("stream", Stream())
        s: Stream = e.val
        i = pid(a[2])
        s.entries.append((i, list(a[3:])))
        s.last, s.added = i, s.added + 1
        return a[2]

    def c_xlen(self, a, key, t, alive):
        e = self._get(key, "stream", t)
        return len(e.val.entries) if e else 0

    def c_xrange(self, a, key, t, alive):
        e = self._get(key, "stream", t)
        ents = e.val.entries[:int(a[5])] if e else []
        return [[sid(i), list(f)] for i, f in ents]

    def c_xdel(self, a, key, t, alive):
        e = self._get(key, "stream", t)
        if e is None:
            return 0
        s: Stream = e.val
        i = pid(a[2])
        before = len(s.entries)
        s.entries = [x for x in s.entries if x[0] != i]
        if len(s.entries) < before:
            s.maxdel = max(s.maxdel, i)
            return 1
        return 0

    def c_xtrim(self, a, key, t, alive):
        e = self._get(key, "stream", t)
        if e is None:
            return 0
        s: Stream = e.val
        n = max(0, len(s.entries) - int(a[3]))
        del s.entries[:n]
        return n

    # -- reading the server's state back -----------------------------------------------------------
    @staticmethod
    def read_cmds(key: bytes) -> list[list[bytes]]:
        kind = PREFIX_KIND[key[:1]]
        read = {"string": [b"GET", key], "list": [b"LRANGE", key, b"0", b"-1"], "hash": [b"HGETALL", key],
                "set": [b"SMEMBERS", key], "zset": [b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"],
                "stream": [b"XRANGE", key, b"-", b"+"]}[kind]
        cmds = [[b"TYPE", key], read, [b"PEXPIRETIME", key]]
        if kind == "stream":
            cmds.append([b"XINFO", b"STREAM", key])
        return cmds

    def describe(self, e: Entry | None) -> Any:
        """What read_cmds must return for this entry (ignoring the expiry window)."""
        if e is None:
            return ("none",)
        v = e.val
        if e.kind == "string":
            body = v
        elif e.kind == "list":
            body = list(v)
        elif e.kind == "hash":
            body = sorted(v.items())
        elif e.kind == "set":
            body = sorted(v)
        elif e.kind == "zset":
            body = [(m, b"%d" % s) for m, s in self._zsorted(e)]
        else:
            body = ([(sid(i), list(f)) for i, f in v.entries], len(v.entries), sid(v.last), v.added, sid(v.maxdel))
        return (e.kind, body)

    @staticmethod
    def actual(key: bytes, replies: list[Any]) -> tuple[Any, int]:
        """Normalise read_cmds replies to describe()'s shape; also return PEXPIRETIME."""
        typ, body, exptime = str(replies[0]), replies[1], replies[2]
        if typ == "none" or (typ == "string" and body is None):  # expired between TYPE and GET
            return ("none",), exptime
        if typ == "hash":
            body = sorted(zip(body[::2], body[1::2], strict=False))
        elif typ == "set":
            body = sorted(body)
        elif typ == "zset":
            body = list(zip(body[::2], body[1::2], strict=False))
        elif typ == "stream":
            info = replies[3]
            info = dict(zip(info[::2], info[1::2], strict=False)) if isinstance(info, list) else {}
            body = ([(i, list(f)) for i, f in body], info.get(b"length"), info.get(b"last-generated-id"),
                    info.get(b"entries-added"), info.get(b"max-deleted-entry-id"))
        return (typ, body), exptime

    def matches(self, key: bytes, got: tuple[Any, int], t_lo: float, t_hi: float) -> bool:
        """Does the state read back (by commands run between t_lo and t_hi) fit this model?"""
        desc, exptime = got
        e = self.data.get(key)
        if e is not None and e.exp is not None:
            lo, hi = e.exp
            if t_lo * 1000 > hi + 2:  # surely expired
                return desc == ("none",)
            if t_hi * 1000 >= lo - 2 and desc == ("none",):  # may have expired
                return True
        if desc != self.describe(e):
            return False
        if e is None:
            return True
        if e.exp is None:
            return exptime == -1
        return e.exp[0] - 2 <= exptime <= e.exp[1] + 2


def check_reply(expected: Any, got: Any) -> bool:
    if isinstance(expected, tuple) and expected and expected[0] == UNORDERED:
        if not isinstance(got, list):
            return False
        want = expected[1]
        if want and isinstance(want[0], tuple):  # hash pairs
            return sorted(zip(got[::2], got[1::2], strict=False)) == want
        return sorted(got) == want
    if isinstance(expected, list) and expected and isinstance(expected[0], float):  # PEXPIRETIME window
        return isinstance(got, int) and expected[0] - 2 <= got <= expected[1] + 2
    return type(expected) is type(got) and expected == got


# -- the workload ----------------------------------------------------------------------------------
LETTERS = b"abcdefghijklmnopqrstuvwxyz"
SCRIPT = (b"local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
          b"return {v, redis.call('RPUSH', KEYS[2], ARGV[2])}")


class Workload:
    """Random commands over one client's keys (KEYS_PER_TYPE keys of each type)."""

    KEYS_PER_TYPE = 6

    def __init__(self, client: int, rng: random.Random, model: Model) -> None:
        self.c = client
        self.rng = rng
        self.model = model
        self.stream_seq = 0
        self.stream_ids: list[bytes] = []

    def key(self, prefix: str) -> bytes:
        return b"%s:%d:%d" % (prefix.encode(), self.c, self.rng.randrange(self.KEYS_PER_TYPE))

    def word(self, n: int = 0) -> bytes:
        r = self.rng
        return bytes(r.choice(LETTERS) for _ in range(n or r.randint(1, 12)))

    def size(self, key: bytes) -> int:
        e = self.model.data.get(key)
        if e is None:
            return 0
        return len(e.val.entries) if e.kind == "stream" else len(e.val)

    def command(self, writes_only: bool = False) -> list[bytes]:
        r = self.rng
        kind = r.choice("ssnvllhhttzzxg")
        ops = getattr(self, "g_" + kind)()
        while writes_only and ops[0] in (b"GET", b"GETRANGE", b"STRLEN", b"LRANGE", b"LLEN", b"LINDEX",
                                         b"HGET", b"HGETALL", b"HLEN", b"SISMEMBER", b"SCARD", b"SMEMBERS",
                                         b"ZSCORE", b"ZCARD", b"ZRANGE", b"XLEN", b"XRANGE", b"EXISTS",
                                         b"TYPE", b"PEXPIRETIME"):
            ops = getattr(self, "g_" + r.choice("ssnllhhttzzx"))()
        return ops

    def unit(self) -> list[list[bytes]]:
        """One command, a MULTI/EXEC block or an EVAL."""
        x = self.rng.random()
        if x < 0.04:
            return [[b"MULTI"], *[self.command(True) for _ in range(self.rng.randint(1, 4))], [b"EXEC"]]
        if x < 0.07:
            return [[b"EVAL", SCRIPT, b"2", self.key("n"), self.key("l"), b"%d" % self.rng.randint(-9, 9),
                     self.word()]]
        return [self.command()]

    def g_s(self):
        r, k = self.rng, self.key("s")
        n = self.size(k)
        op = r.choice(["SET", "GET", "APPEND", "APPEND", "SETRANGE", "GETRANGE", "STRLEN", "INCR", "PEXPIRE",
                       "PERSIST", "DEL"] if n < 400 else ["SET", "DEL"])
        if op == "SET":
            if r.random() < 0.03:  # now and then a big value (8-160 KB): long AOF writes to cut short
                return [b"SET", k, self.word(8) * r.randint(1000, 20000)]
            return [b"SET", k, self.word()]
        if op == "APPEND":
            return [b"APPEND", k, self.word()]
        if op == "SETRANGE":
            return [b"SETRANGE", k, b"%d" % r.randint(0, n + 4), self.word()]
        if op == "GETRANGE":
            return [b"GETRANGE", k, b"%d" % r.randint(-10, 10), b"%d" % r.randint(-10, 20)]
        if op == "PEXPIRE":
            return [b"PEXPIRE", k, b"%d" % LONG_TTL]
        return [op.encode(), k]

    def g_n(self):
        r, k = self.rng, self.key("n")
        op = r.choice(["INCR", "INCR", "DECR", "INCRBY", "GET", "SET"])
        if op == "INCRBY":
            return [b"INCRBY", k, b"%d" % r.randint(-1000, 1000)]
        if op == "SET":
            return [b"SET", k, b"%d" % r.randint(-50, 50)]
        return [op.encode(), k]

    def g_v(self):
        r, k = self.rng, self.key("v")
        op = r.choice(["SETPX", "SETPX", "GET", "GET", "DEL"])
        if op == "SETPX":
            return [b"SET", k, self.word(), b"PX", b"%d" % r.randint(20, 1500)]
        return [op.encode(), k]

    def g_l(self):
        r, k = self.rng, self.key("l")
        n = self.size(k)
        ops = ["RPUSH", "LPUSH", "LPOP", "RPOP", "LPOPN", "LRANGE", "LLEN", "LINDEX", "LSET", "LTRIM"]
        op = r.choice(ops if n < 150 else ["LPOP", "RPOP", "LTRIM", "LPOPN"])
        if op in ("RPUSH", "LPUSH"):
            return [op.encode(), k, *[self.word() for _ in range(r.randint(1, 4))]]
        if op == "LPOPN":
            return [b"LPOP", k, b"%d" % r.randint(0, 5)]
        if op == "LRANGE":
            return [b"LRANGE", k, b"%d" % r.randint(-5, 3), b"%d" % r.randint(-3, 20)]
        if op == "LINDEX":
            return [b"LINDEX", k, b"%d" % r.randint(-n - 1, n)]
        if op == "LSET":
            return [b"LSET", k, b"%d" % r.randint(-n - 1, n), self.word()]
        if op == "LTRIM":
            return [b"LTRIM", k, b"%d" % r.randint(0, 3), b"%d" % r.randint(-1, 100)]
        return [op.encode(), k]

    def g_h(self):
        r, k = self.rng, self.key("h")
        op = r.choice(["HSET", "HSET", "HGET", "HDEL", "HINCRBY", "HGETALL", "HLEN"])
        f = b"f%d" % r.randrange(12)
        if op == "HSET":
            out = [b"HSET", k]
            for _ in range(r.randint(1, 3)):
                out += [b"f%d" % r.randrange(12), self.word()]
            return out
        if op == "HINCRBY":
            return [b"HINCRBY", k, b"n%d" % r.randrange(4), b"%d" % r.randint(-100, 100)]
        if op in ("HGET", "HDEL"):
            return [op.encode(), k, f if r.random() < 0.8 else b"n%d" % r.randrange(4)]
        return [op.encode(), k]

    def g_t(self):
        r, k = self.rng, self.key("t")
        op = r.choice(["SADD", "SADD", "SREM", "SISMEMBER", "SCARD", "SMEMBERS"])
        m = [b"m%d" % r.randrange(40) for _ in range(r.randint(1, 3))]
        if op in ("SADD", "SREM"):
            return [op.encode(), k, *m]
        if op == "SISMEMBER":
            return [b"SISMEMBER", k, m[0]]
        return [op.encode(), k]

    def g_z(self):
        r, k = self.rng, self.key("z")
        op = r.choice(["ZADD", "ZADD", "ZINCRBY", "ZREM", "ZSCORE", "ZCARD", "ZRANGE", "ZPOPMIN"])
        m = b"m%d" % r.randrange(25)
        if op == "ZADD":
            out = [b"ZADD", k]
            for _ in range(r.randint(1, 3)):
                out += [b"%d" % r.randint(-100, 100), b"m%d" % r.randrange(25)]
            return out
        if op == "ZINCRBY":
            return [b"ZINCRBY", k, b"%d" % r.randint(-20, 20), m]
        if op in ("ZREM", "ZSCORE"):
            return [op.encode(), k, m]
        if op == "ZRANGE":
            return [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]
        return [op.encode(), k]

    def g_x(self):
        r, k = self.rng, self.key("x")
        op = r.choice(["XADD", "XADD", "XADD", "XLEN", "XRANGE", "XDEL", "XTRIM"])
        if op == "XADD":
            self.stream_seq += 1
            i = b"%d-%d" % (self.stream_seq, r.randint(0, 3))
            self.stream_ids = (self.stream_ids + [i])[-50:]
            return [b"XADD", k, i, b"f", self.word()]
        if op == "XRANGE":
            return [b"XRANGE", k, b"-", b"+", b"COUNT", b"%d" % r.randint(1, 4)]
        if op == "XDEL":
            return [b"XDEL", k, r.choice(self.stream_ids) if self.stream_ids else b"1-0"]
        if op == "XTRIM":
            return [b"XTRIM", k, b"MAXLEN", b"%d" % r.randint(5, 40)]
        return [op.encode(), k]

    def g_g(self):
        r = self.rng
        k = self.key(r.choice("snlhtzx"))
        op = r.choice(["EXISTS", "TYPE", "DEL", "PEXPIRE", "PEXPIRETIME", "PERSIST"])
        if op == "PEXPIRE":
            return [b"PEXPIRE", k, b"%d" % LONG_TTL]
        return [op.encode(), k]


def unit_keys(unit: list[list[bytes]]) -> set[bytes]:
    keys: set[bytes] = set()
    for cmd in unit:
        if cmd[0] == b"EVAL":
            keys.update(cmd[3:5])
        elif len(cmd) > 1:
            keys.add(cmd[1])
    return keys


def apply_blind(model: Model, unit: list[list[bytes]], t_lo: float, t_hi: float) -> None:
    """Apply a unit whose replies were never read (the effect of the server having run it)."""
    for cmd in unit:
        if cmd[0] not in (b"MULTI", b"EXEC"):
            model.execute(cmd, t_lo, t_hi)


def snapshot(model: Model, keys: set[bytes]) -> dict[bytes, Entry | None]:
    return {k: copy.deepcopy(model.data.get(k)) for k in keys}
