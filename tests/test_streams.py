"""Stream commands against redis-server: IDs, ranges, trimming (node model), consumer groups, XINFO,
blocking reads, keyspace events, propagation, a redis-py consumer-group worker."""

from __future__ import annotations

import random
import shlex
import threading
import time

import pytest
import redis
from events_support import check_events, check_propagation, pyredis_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# -- reply parsing and masking of time-dependent fields ----------------------------------------------


def parse_resp(raw: bytes):
    """Parse one RESP2/RESP3 reply into Python values (maps become lists of pairs)."""

    def item(pos: int):
        t = raw[pos:pos + 1]
        eol = raw.index(b"\r\n", pos)
        head = raw[pos + 1:eol]
        nxt = eol + 2
        if t in (b"+", b"-"):
            return (t + head), nxt
        if t == b":":
            return int(head), nxt
        if t == b"_":
            return None, nxt
        if t in (b"$", b"="):
            n = int(head)
            if n < 0:
                return None, nxt
            return raw[nxt:nxt + n], nxt + n + 2
        if t in (b"*", b"~", b">", b"%"):
            n = int(head)
            if n < 0:
                return None, nxt
            if t == b"%":
                n *= 2
            out = []
            for _ in range(n):
                v, nxt = item(nxt)
                out.append(v)
            return out, nxt
        raise ValueError(raw)

    return item(0)[0]


def mask(cmd: str, v):
    """Replace times (idle, seen-time, delivery times) by a marker so both servers compare equal."""
    cmd = cmd.lower()

    def walk(x):
        if isinstance(x, list):
            out = []
            skip = False
            for i, e in enumerate(x):
                if skip:
                    out.append("T")
                    skip = False
                    continue
                if e in (b"idle", b"seen-time") and i + 1 < len(x):
                    skip = True
                out.append(walk(e))
            return out
        if isinstance(x, int) and x > 10 ** 12:
            return "T"
        return x

    if cmd == "xpending" and isinstance(v, list) and v and isinstance(v[0], list):
        v = [[e[0], e[1], "T", e[3]] for e in v]
    return walk(v)


def check_masked(diff, *args):
    a, b = diff.both(*args)
    ma, mb = mask(str(args[0]), parse_resp(a)), mask(str(args[0]), parse_resp(b))
    assert ma == mb, f"{args!r}: redis {a!r} != pyredis {b!r}"


def masked_lines(diff, script: str) -> None:
    for line in script.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            check_masked(diff, *shlex.split(line))


# -- XADD / XLEN / XRANGE ------------------------------------------------------------------------------
def test_xadd_ids_and_errors(diff):
    diff.lines("""
        XADD x 0-0 a b
        XADD x 0 a b
        XADD x 1 a b
        XADD x 1 a b
        XADD x 1-* a b
        XADD x 0-* a b
        XADD x abc a b
        XADD x 1- a b
        XADD x -1 a b
        XADD x 1-2-3 a b
        XADD x 18446744073709551616 a b
        XADD x 1--05 a b
        XADD x " 2- 3" a b
        XADD x "3-+4" a b
        XADD x "*-1" a b
        XADD x "5-*" a b
        XADD x "5-**" a b
        XADD x "6-* " a b
        XADD x "8-0x1" a b
        XADD x 01-1 a b
        XADD x +  a b
        XADD x - a b
        XADD x $ a b
        XADD x > a b
        XADD x 18446744073709551615-18446744073709551615 a b
        XADD x * a b
        XADD x 99-* a b
        XADD x 5 a
        XADD x
        XADD x *
        XADD x * a
        XADD x * a b c
        XADD x maxlen a b c
        XADD x maxlen -1 * a b
        XADD x maxlen ~ 1 limit 1 * a b
        XADD x maxlen 1 limit 1 * a b
        XADD x limit 1 * a b
        XADD x limit 0 * a b
        XADD x minid 1 maxlen 2 * a b
        XADD x maxlen 1 maxlen 2 * a b
        XADD x minid abc * a b
        XADD x minid - * a b
        XADD x maxlen abc * a b
        XADD x limit -1 maxlen ~ 1 * a b
        XADD x limit abc maxlen ~ 1 * a b
        XADD x nomkstream nomkstream * a b
        XADD x maxlen
        XADD x maxlen 5
        XADD x maxlen 5 6
        XADD x maxlen ~ 5 6 a b c d
        SET s v
        XADD s * a b
        XADD s 1 a b c
        XADD s abc a b
        XADD nosuch nomkstream 0-0 a b
        XADD nosuch nomkstream abc a b
        XADD nosuch nomkstream * a b
        EXISTS nosuch
        XADD y 18446744073709551615-* a b
        XADD y 18446744073709551615-* a b
        DEL y
        XADD y 1-18446744073709551615 a b
        XADD y 1-* a b
        XADD y 2-* a b
        XADD y 2-* a b
        XADD y 1-1 a b
        XADD y 3-0 a b
        XADD y 3 a b
        XRANGE y - +
        XLEN y
        XLEN nosuch
        XLEN s
        TYPE y
        OBJECT ENCODING y
        XADD z 0-* a b
        XADD z MAXLEN 0 5-5 a b
        XLEN z
        EXISTS z
    """)


def test_xadd_auto_ids_increase(diff):
    r, p = diff.r, diff.p
    for c in (r, p):
        ids = [c.call("XADD", "s", "*", "f", "v") for _ in range(50)]
        parsed = [tuple(int(x) for x in parse_resp(i).split(b"-")) for i in ids]
        assert parsed == sorted(parsed) and len(set(parsed)) == 50
        ms = parse_resp(c.call("TIME"))[0]
        assert abs(parsed[-1][0] // 1000 - int(ms)) <= 2
    # a future last ID makes '*' continue from it
    diff.lines("""
        XADD f 2577343934890-18446744073709551615 f v
        XADD f * f2 v2
        XADD g 2577343934890-5 f v
        XADD g * f2 v2
        XRANGE f - +
        XRANGE g - +
    """)


def test_binary_fields(diff):
    diff.check("XADD", "b", "1-1", "\x00\xff", "", "", "a b", "x" * 5000, "1")
    diff.check("XADD", "b", "1-2", "-5", "9223372036854775808", "12345678901234567890", "007")
    diff.check("XRANGE", "b", "-", "+")
    diff.check("XINFO", "STREAM", "b")


def test_xrange_xrevrange(diff):
    diff.lines("""
        XADD x 1-1 a b
        XADD x 2-2 c d
        XADD x 2-3 e f
        XADD x 18446744073709551615-18446744073709551614 g h
        XRANGE x - +
        XRANGE x - + COUNT
        XRANGE x - + COUNT 0
        XRANGE x - + COUNT -1
        XRANGE x - + COUNT 2
        XRANGE x - + COUNT abc
        XRANGE x - + FOO 1
        XRANGE x - + COUNT 1 COUNT 2
        XRANGE x - + count 1 count
        XRANGE x - + COUNT 1 extra
        XRANGE x ( +
        XRANGE x (1 +
        XRANGE x (1-1 +
        XRANGE x (2 (18446744073709551615
        XRANGE x 1 1
        XRANGE x 2 1
        XRANGE x 2 2
        XRANGE x - (1-1
        XRANGE x (- +
        XRANGE x - (+
        XRANGE x - (0-0
        XRANGE x (18446744073709551615-18446744073709551615 +
        XRANGE x + -
        XRANGE x -1 +
        XRANGE x 1-* +
        XRANGE x * +
        XRANGE x 1-18446744073709551616 +
        XRANGE x 1-18446744073709551615 +
        XRANGE x (1-18446744073709551615 +
        XRANGE x - + COUNT 9223372036854775807
        XRANGE x - + COUNT 9223372036854775808
        XREVRANGE x + -
        XREVRANGE x - +
        XREVRANGE x + - COUNT 1
        XREVRANGE x + - COUNT 0
        XREVRANGE x (2-3 -
        XREVRANGE x + (1-1
        XREVRANGE x (2 -
        XREVRANGE x 2 (1
        XREVRANGE x (18446744073709551615 -
        XRANGE nokey - +
        XREVRANGE nokey + -
        XRANGE nokey abc +
        XRANGE nokey - + COUNT abc
        XRANGE nokey - + COUNT 0
        SET s v
        XRANGE s - +
        XREVRANGE s + -
        XRANGE s - + COUNT abc
        XRANGE s abc +
    """)


def test_xrange_exclusive_edges(diff):
    ids = ["0-1", "0-18446744073709551615", "1-0", "42-0", "42-42", "18446744073709551615-18446744073709551614",
           "18446744073709551615-18446744073709551615"]
    for i in ids:
        diff.check("XADD", "v", i, "foo", "bar")
    for a in ["-", "(0-1", "(1-0", "42", "(42", "(42-42", "0"]:
        for b in ["+", "(1-0", "(42-42", "42", "(42", "(18446744073709551615-18446744073709551615"]:
            diff.check("XRANGE", "v", a, b)
            diff.check("XREVRANGE", "v", b, a)


def test_xrange_large_fuzz(diff):
    rnd = random.Random(7)
    items = []
    ms = 1000
    for _ in range(800):
        ms += rnd.randint(0, 3)
        items.append(f"{ms}-{rnd.randint(0, 5) if not items or items[-1].split('-')[0] != str(ms) else 0}")
    seen = set()
    args = []
    last = (0, 0)
    for i in items:
        a, b = (int(x) for x in i.split("-"))
        if (a, b) <= last or i in seen:
            b = last[1] + 1 if a == last[0] else b
        if (a, b) <= last:
            continue
        last = (a, b)
        seen.add(f"{a}-{b}")
        args.append(f"{a}-{b}")
    for eid in args:
        diff.check("XADD", "big", eid, "item", eid, *(["other", "x"] if rnd.random() < 0.1 else []))
    lo, hi = 1000, ms
    for _ in range(60):
        s = f"{rnd.randint(lo, hi)}-{rnd.randint(0, 5)}"
        e = f"{rnd.randint(lo, hi)}-{rnd.randint(0, 5)}"
        cnt = rnd.choice(["", "5", "100"])
        extra = ["COUNT", cnt] if cnt else []
        diff.check("XRANGE", "big", s, e, *extra)
        diff.check("XREVRANGE", "big", e, s, *extra)
    diff.check("XINFO", "STREAM", "big")


# -- XREAD / XREADGROUP argument handling -----------------------------------------------------------------
def test_xread_errors_and_replies(diff):
    diff.lines("""
        XADD x 1-1 a b
        XADD x 1-2 c d
        XREAD STREAMS x
        XREAD STREAMS x 0 extra
        XREAD STREAMS x y 0
        XREAD COUNT 1 STREAMS x 0
        XREAD COUNT -1 STREAMS x 0
        XREAD COUNT 0 STREAMS x 0
        XREAD COUNT abc STREAMS x 0
        XREAD BLOCK -1 STREAMS x 0
        XREAD BLOCK abc STREAMS x 0
        XREAD BLOCK 1.5 STREAMS x 0
        XREAD FOO STREAMS x 0
        XREAD STREAMS x +
        XREAD STREAMS x >
        XREAD STREAMS x $
        XREAD STREAMS x (0
        XREAD STREAMS x -
        XREAD STREAMS nokey 0
        XREAD STREAMS x nokey 0 0
        XREAD STREAMS nokey x 0 1-1
        XREAD COUNT 1 COUNT 2 STREAMS x 0
        XREAD STREAMS
        XREAD COUNT 1
        XREAD STREAMS x abc
        XREAD NOACK STREAMS x 0
        XREAD GROUP g c STREAMS x 0
        SET s v
        XREAD STREAMS s 0
        XREAD STREAMS x s 0 0
        XREAD STREAMS x s 5 0
        XREAD STREAMS s x 0 abc
        XREAD streams x 0-0
        XREAD BLOCK 10 STREAMS x 1-2
        XREAD BLOCK 9223372036854775807 STREAMS x 0
        XREAD STREAMS x 18446744073709551615-18446744073709551615
        XREAD STREAMS x 1-18446744073709551615
        XREAD COUNT 1 STREAMS x nokey 0 $
        XREAD COUNT STREAMS x 0
        XREAD BLOCK STREAMS x 0
        XREAD STREAMS x x 0 1-1
        XREADGROUP COUNT 1 STREAMS x > y z
        XREADGROUP NOACK STREAMS x x > >
    """)


def test_xread_skips_deleted_tail(diff):
    diff.lines("""
        XADD s1 666 f v
        XADD s1 667 f2 v2
        XDEL s1 667
        XREAD STREAMS s1 666
        XREAD STREAMS s1 665
        XREAD BLOCK 10 STREAMS s1 666
    """)


def test_xreadgroup_basics(diff):
    diff.lines("""
        XADD x 1-1 a b
        XGROUP CREATE x g 0
        XREADGROUP GROUP g c STREAMS x >
        XREADGROUP GROUP g c STREAMS x 0
        XREADGROUP GROUP g c STREAMS y >
        XREADGROUP GROUP g2 c STREAMS x >
        XREADGROUP GROUP g c STREAMS x $
        XREADGROUP GROUP g c STREAMS x +
        XREADGROUP GROUP g c STREAMS x -
        XREADGROUP GROUP g c STREAMS x (0
        XREADGROUP GROUP g c COUNT 1 STREAMS x >
        XREADGROUP GROUP g STREAMS x >
        XREADGROUP g c STREAMS x >
        XREADGROUP GROUP g c STREAMS x > extra
        XREADGROUP STREAMS x >
        XREADGROUP GROUP g c NOACK NOACK STREAMS x >
        XREADGROUP GROUP g c BLOCK -1 STREAMS x >
        XREADGROUP GROUP g c FOO STREAMS x >
        SET s v
        XREADGROUP GROUP g c STREAMS s >
        XREADGROUP GROUP g c STREAMS x s > >
        XREADGROUP GROUP g c STREAMS s x > >
        XREADGROUP GROUP g c STREAMS x y > >
        XREADGROUP GROUP g c STREAMS y x > >
        XREADGROUP GROUP g c STREAMS x abc
        XREADGROUP GROUP g c STREAMS abc x
        XREADGROUP GROUP g c GROUP g2 c2 STREAMS x 0
        XREADGROUP GROUP g c STREAMS x 0 0
        XREADGROUP GROUP g c STREAMS x 18446744073709551615-18446744073709551615
        XREADGROUP GROUP g c9 STREAMS x 18446744073709551615-18446744073709551615
        XREADGROUP GROUP g c BLOCK 10 STREAMS x 1-1
        XREADGROUP GROUP g c BLOCK 10 STREAMS x 0
    """)
    masked_lines(diff, """
        XINFO CONSUMERS x g
        XPENDING x g - + 10
        XPENDING x g
    """)


def test_xreadgroup_history_and_pel(diff):
    diff.lines("""
        XADD s 1 f1 A
        XADD s 2 f1 B
        XADD s 3 f1 C
        XGROUP CREATE s g 0
        XREADGROUP GROUP g alice COUNT 2 STREAMS s >
        XREADGROUP GROUP g bob STREAMS s >
        XREADGROUP GROUP g alice STREAMS s 0
        XREADGROUP GROUP g alice COUNT 1 STREAMS s 0
        XREADGROUP GROUP g alice STREAMS s 1
        XREADGROUP GROUP g alice STREAMS s 2
        XREADGROUP GROUP g bob STREAMS s 0-1
        XDEL s 1
        XREADGROUP GROUP g alice STREAMS s 0
        XREADGROUP GROUP g carol STREAMS s 0
        XREADGROUP GROUP g carol STREAMS s >
        XGROUP SETID s g 0
        XREADGROUP GROUP g carol STREAMS s >
        XREADGROUP GROUP g carol NOACK STREAMS s 0
        XADD s 4 f1 D
        XREADGROUP GROUP g dave NOACK STREAMS s >
        XREADGROUP GROUP g dave STREAMS s 0
        XACK s g 2 3 4
    """)
    masked_lines(diff, """
        XPENDING s g - + 10
        XPENDING s g
        XINFO STREAM s FULL
        XINFO GROUPS s
        XINFO CONSUMERS s g
    """)


def test_xreadgroup_multiple_streams(diff):
    diff.lines("""
        XADD a 1 f v
        XADD b 2 f v
        XADD b 3 f v
        XGROUP CREATE a g 0
        XGROUP CREATE b g $
        XREADGROUP GROUP g c STREAMS a b > >
        XADD b 4 f v
        XREADGROUP GROUP g c COUNT 1 STREAMS a b > >
        XREADGROUP GROUP g c STREAMS a b 0 0
        XREADGROUP GROUP g c STREAMS a b > 0
        XREAD STREAMS a b 0 0
        XREAD COUNT 1 STREAMS b a 0 0
    """)


@pytest.mark.parametrize("resp", ["2", "3"])
def test_resp_shapes(diff, resp):
    diff.hello(resp)
    diff.lines("""
        XADD x 1-1 a b
        XADD x 2-2 c d
        XGROUP CREATE x g 0
        XREADGROUP GROUP g c COUNT 1 STREAMS x >
        XDEL x 1-1
        XREADGROUP GROUP g c STREAMS x 0
        XREAD STREAMS x 0
        XREAD STREAMS x 2-2
        XREAD STREAMS x nokey 0 0
        XRANGE x - + COUNT 0
        XAUTOCLAIM x g c 0 0
        XPENDING x g
        XPENDING nokey2 g
        XINFO STREAM x
        XINFO GROUPS x
        XGROUP CREATE e g $ MKSTREAM
        XINFO STREAM e
        XINFO GROUPS e
        XPENDING e g
        XADD x NOMKSTREAM 3-3 a b
        XADD nokey NOMKSTREAM * a b
    """)
    masked_lines(diff, """
        XINFO STREAM x FULL
        XINFO CONSUMERS x g
    """)


# -- XGROUP / XSETID ---------------------------------------------------------------------------------------
def test_xgroup(diff):
    diff.lines("""
        XGROUP CREATE x g $
        XGROUP CREATE x g $ MKSTREAM
        XGROUP CREATE x g $ MKSTREAM
        XGROUP CREATE x g2 abc
        XGROUP CREATE x g2 0 foo
        XGROUP CREATE x g2 0 ENTRIESREAD
        XGROUP CREATE x g2 0 ENTRIESREAD -1
        XGROUP CREATE x g2 0 ENTRIESREAD -2
        XGROUP CREATE x g2 0 ENTRIESREAD abc
        XGROUP CREATE x g2 0 ENTRIESREAD 5
        XGROUP CREATE x g3 0 MKSTREAM MKSTREAM ENTRIESREAD 3
        XGROUP CREATE x g3 0 MKSTREAM MKSTREAM MKSTREAM
        XGROUP CREATE x g3 0 ENTRIESREAD 7 MKSTREAM
        XGROUP CREATE x g4 -
        XGROUP CREATE x g5 +
        XGROUP CREATE x g6 >
        XGROUP CREATE x g7 (1
        XGROUP CREATE x g7 1-*
        XINFO GROUPS x
        XGROUP SETID x g 5
        XGROUP SETID x nog 5
        XGROUP SETID y g 5
        XGROUP SETID x g 5 ENTRIESREAD 10
        XGROUP SETID x g 5 ENTRIESREAD -3
        XGROUP SETID x g 5 foo 1
        XGROUP SETID x g $
        XINFO GROUPS x
        XGROUP SETID x g 5 ENTRIESREAD
        XGROUP SETID x g 5 MKSTREAM
        XGROUP SETID x g abc
        XGROUP SETID x g abc ENTRIESREAD x
        XGROUP SETID x g -
        XGROUP SETID x g +
        XGROUP SETID x g (1
        XINFO GROUPS x
        XGROUP SETID nokey g 5 foo 1
        XGROUP CREATE nokey g 5 foo
        XGROUP CREATE nokey g abc MKSTREAM
        EXISTS nokey
        XGROUP CREATECONSUMER x g c1
        XGROUP CREATECONSUMER x g c1
        XGROUP CREATECONSUMER x nog c1
        XGROUP CREATECONSUMER y g c1
        XGROUP DELCONSUMER x g c1
        XGROUP DELCONSUMER x g c1
        XGROUP DELCONSUMER x nog c1
        XGROUP DELCONSUMER y g c1
        XGROUP DESTROY x g
        XGROUP DESTROY x g
        XGROUP DESTROY y g
        XGROUP foo x
        XGROUP
        XGROUP HELP
        XGROUP help foo
        XGROUP CREATE x
        XGROUP CREATE x g 0 FOO
        XGROUP Setid x g 0 FOO
        XGROUP CREATECONSUMER x g
        XGROUP DESTROY x
        SET s v
        XGROUP CREATE s g $
        XGROUP CREATE s g $ MKSTREAM
        XGROUP DESTROY s g
        XGROUP SETID s g 0
        XGROUP CREATECONSUMER s g c
        XGROUP DELCONSUMER s g c
        XGROUP CREATE s g abc
    """)


def test_xgroup_delconsumer_returns_pending(diff):
    diff.lines("""
        XADD x 1 a 1
        XADD x 2 a 2
        XADD x 3 a 3
        XGROUP CREATE x g 0
        XREADGROUP GROUP g alice COUNT 2 STREAMS x >
        XREADGROUP GROUP g bob STREAMS x >
        XGROUP DELCONSUMER x g alice
        XPENDING x g
        XGROUP DELCONSUMER x g bob
        XPENDING x g
        XINFO GROUPS x
    """)


def test_xsetid(diff):
    diff.lines("""
        XADD x 5-5 a b
        XSETID x 5-5
        XSETID x 5-4
        XSETID x 6
        XSETID x abc
        XSETID x $
        XSETID x -
        XSETID x 7-0 ENTRIESADDED 1
        XSETID x 7-0 ENTRIESADDED 1 MAXDELETEDID 0
        XSETID x 7-0 ENTRIESADDED 0 MAXDELETEDID 0
        XSETID x 7-0 ENTRIESADDED 5 MAXDELETEDID 8
        XSETID x 7-0 ENTRIESADDED 5 MAXDELETEDID 7-0
        XSETID x 7-0 ENTRIESADDED 5 MAXDELETEDID abc
        XSETID x 7-0 ENTRIESADDED abc MAXDELETEDID 0
        XSETID x 7-0 ENTRIESADDED -1 MAXDELETEDID 0
        XSETID x 7-0 MAXDELETEDID 0 ENTRIESADDED 5
        XSETID x 7-0 foo 1 bar 2
        XSETID x 7-0 ENTRIESADDED 5 ENTRIESADDED 5
        XSETID x 7-0 ENTRIESADDED
        XSETID x 6-0 MAXDELETEDID 6
        XSETID x 7-1 MAXDELETEDID 6
        XSETID x 6-9
        XSETID x 6-0
        XINFO STREAM x
        XSETID y 1
        XSETID y abc
        XSETID y 1 ENTRIESADDED 5 MAXDELETEDID 0
        XSETID x 7-0 ENTRIESADDED 5 MAXDELETEDID 0 extra 1
        XSETID x 1 0
        XSETID x 1 0-0
        XSETID x 1-1 ENTRIESADDED -1 MAXDELETEDID 0-0
        SET s v
        XSETID s 1
        XSETID s abc
        XADD e MAXLEN 0 1-1 a b
        XSETID e 200-0
        XINFO STREAM e
        XADD e 200-0 a b
        XADD e 200-* a b
    """)


# -- XDEL / XTRIM / node model ---------------------------------------------------------------------------
def test_xdel_xtrim_args(diff):
    diff.lines("""
        XADD x 1-1 a b
        XADD x 2-1 a b
        XADD x 3-1 a b
        XDEL x 1-1
        XDEL x 1-1 2-1 abc
        XDEL x abc
        XDEL y 1
        XDEL y abc
        XDEL x 5-5
        XDEL x -
        XDEL x +
        XDEL x 2 2-1 3-1 3-1
        XLEN x
        EXISTS x
        XADD x 4-1 a b
        SET s v
        XDEL s 1
        XDEL s abc
        XTRIM x
        XTRIM x MAXLEN
        XTRIM x MAXLEN 0 extra
        XTRIM x FOO 0
        XTRIM y MAXLEN 0
        XTRIM y FOO 0
        XTRIM s FOO 0
        XTRIM s MAXLEN 0
        XTRIM x MAXLEN -1
        XTRIM x MINID abc
        XTRIM x MAXLEN 1 LIMIT 10
        XTRIM x MAXLEN ~ 1 LIMIT -1
        XTRIM x MAXLEN ~ 1 LIMIT 10
        XTRIM x MINID ~ 1 LIMIT 10 MAXLEN 1
        XTRIM x NOMKSTREAM MAXLEN 1
        XTRIM x LIMIT 0 foo
        XTRIM x LIMIT 0 LIMIT 0
        XTRIM x LIMIT 5 LIMIT 0
        XTRIM x LIMIT 5 LIMIT 5
        XTRIM x LIMIT 5 foo
        XTRIM x MINID -
        XTRIM x MINID +
        XTRIM x MAXLEN ~
        XTRIM x MAXLEN =
        XTRIM x MAXLEN = 1
        XTRIM x MAXLEN ~ ~ 1
        XTRIM x MINID = 4-1
        XTRIM x MINID 5
        XLEN x
        EXISTS x
        XINFO STREAM x
    """)


@pytest.fixture
def node_config(diff):
    """Restore the stream node limits whatever the test does."""
    yield diff
    diff.check("CONFIG", "SET", "stream-node-max-entries", "100")
    diff.check("CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_trimming_like_radix_nodes(node_config):
    diff = node_config
    diff.lines("""
        CONFIG SET stream-node-max-entries 10
        XADD t 1 a 1
    """)
    for i in range(2, 101):
        diff.check("XADD", "t", str(i), "xitem", "v")
    diff.lines("""
        XINFO STREAM t
        XADD t MAXLEN ~ 55 LIMIT 30 101 xitem v
        XLEN t
        XADD t MAXLEN ~ 55 LIMIT 30 102 xitem v
        XLEN t
        XTRIM t MAXLEN ~ 40
        XLEN t
        XTRIM t MINID ~ 75
        XLEN t
        XTRIM t MINID 77
        XRANGE t - + COUNT 3
        XTRIM t MAXLEN ~ 0 LIMIT 3
        XTRIM t MAXLEN ~ 0 LIMIT 30
        XINFO STREAM t
        CONFIG SET stream-node-max-entries 1
        DEL t
    """)
    for i in range(1, 103):
        diff.check("XADD", "t", str(i), "xitem", "v")
    diff.lines("""
        XTRIM t MAXLEN ~ 1
        XLEN t
        XINFO STREAM t
        XTRIM t MAXLEN 1
        XLEN t
        CONFIG SET stream-node-max-entries 100
    """)


def test_node_bytes_limit(node_config):
    diff = node_config
    diff.lines("""
        CONFIG SET stream-node-max-bytes 300
        CONFIG SET stream-node-max-entries 0
    """)
    for i in range(1, 200):
        diff.check("XADD", "b", str(i), "field", "v" * (i % 70), "n", str(i * 12345))
    diff.lines("""
        XINFO STREAM b
        XTRIM b MAXLEN ~ 150
        XINFO STREAM b
        XTRIM b MINID ~ 120
        XINFO STREAM b
        CONFIG SET stream-node-max-bytes 4096
        CONFIG SET stream-node-max-entries 100
    """)


def _node_model_run(diff, rnd: random.Random) -> None:
    diff.check("DEL", "s")
    diff.check("CONFIG", "SET", "stream-node-max-entries", str(rnd.choice([0, 1, 2, 5, 10, 100, 128])))
    diff.check("CONFIG", "SET", "stream-node-max-bytes", str(rnd.choice([0, 1, 60, 300, 4096])))
    ms = rnd.randint(0, 3) * 10 ** rnd.choice([0, 3, 13, 19])
    seq = 0
    ids: list[str] = []
    vals = [b"f", b"g", b"123", b"-5", b"4096", b"x" * 70, b"y" * 200, b"9223372036854775807"]
    for _ in range(rnd.randint(1, 250)):
        k = rnd.random()
        if k < 0.75:
            if rnd.random() < 0.3:
                ms += rnd.choice([1, 1000, 2 ** 32, 2 ** 40])
                seq = rnd.choice([0, 5, 2 ** 40, 2 ** 63])
            else:
                seq += 1
            fv: list[bytes] = []
            for _ in range(rnd.randint(1, 3)):
                fv += [rnd.choice(vals[:3]), rnd.choice(vals + [str(rnd.randint(-10 ** 6, 10 ** 12)).encode()])]
            args = ["XADD", "s"]
            r = rnd.random()
            if r < 0.1:
                args += ["MAXLEN", rnd.choice(["~", "="]), str(rnd.randint(0, 200))]
            elif r < 0.15 and ids:
                args += ["MINID", rnd.choice(["~", "="]), rnd.choice(ids)]
            if "~" in args and rnd.random() < 0.5:
                args += ["LIMIT", str(rnd.randint(0, 200))]
            eid = f"{ms}-{seq}"
            diff.check(*args, eid, *fv)
            ids.append(eid)
        elif k < 0.9 and ids:
            diff.check("XDEL", "s", *rnd.sample(ids, min(len(ids), rnd.randint(1, 5))))
        elif k < 0.95:
            args = ["XTRIM", "s", "MAXLEN", rnd.choice(["~", "="]), str(rnd.randint(0, 200))]
            if args[3] == "~" and rnd.random() < 0.5:
                args += ["LIMIT", str(rnd.randint(0, 200))]
            diff.check(*args)
        elif ids:
            diff.check("XTRIM", "s", "MINID", rnd.choice(["~", "="]), rnd.choice(ids))
        if rnd.random() < 0.05:
            diff.check("XINFO", "STREAM", "s")
    diff.check("XINFO", "STREAM", "s")
    diff.check("XRANGE", "s", "-", "+")
    diff.check("XREVRANGE", "s", "+", "-", "COUNT", "7")


def test_node_model_random(node_config):
    """Node boundaries (entries and bytes limits), tombstones and trimming match redis-server."""
    rnd = random.Random(12345)
    for _ in range(12):
        _node_model_run(node_config, rnd)


def test_approx_limit_default(node_config):
    diff = node_config
    diff.lines("""
        CONFIG SET stream-node-max-entries 0
        CONFIG SET stream-node-max-bytes 1
    """)
    for c in (diff.r, diff.p):
        c.send_raw(b"".join(b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$%d\r\n%d\r\n$1\r\nf\r\n$1\r\nv\r\n" % (len(str(i)), i)
                            for i in range(1, 10501)))
        for _ in range(10500):
            c.read_reply()
    diff.lines("""
        XTRIM s MAXLEN ~ 0
        XLEN s
        XINFO STREAM s
    """)


# -- XACK / XPENDING / XCLAIM / XAUTOCLAIM ---------------------------------------------------------------
def test_xack_xpending(diff):
    diff.lines("""
        XADD x 1-1 a b
        XADD x 2-1 a b
        XGROUP CREATE x g 0
        XREADGROUP GROUP g c STREAMS x >
        XPENDING x g
        XPENDING x nog
        XPENDING y g
        XPENDING x g - +
        XPENDING x g - + 10 nobody
        XPENDING x g - + abc
        XPENDING x g - + -1
        XPENDING x g - + 0
        XPENDING x g IDLE abc - + 10
        XPENDING x g IDLE 5
        XPENDING x g IDLE 5 - +
        XPENDING x g IDLE 99999999 - + 10
        XPENDING x g IDLE 99999999 - + 10 c
        XPENDING x g abc + 10
        XPENDING x g (18446744073709551615-18446744073709551615 + 10
        XPENDING x g - (0 10
        XPENDING x g 3 + 10
        XPENDING x g foo
        XPENDING x g foo bar baz
        XPENDING x g IDLE 5 - + 10 c extra
        XPENDING x g - + 10 c extra more more
        XPENDING nokey g foo
        XPENDING nokey g - + 10
        XPENDING nokey g abc + 10
        SET s v
        XPENDING s g
        XPENDING s g foo
        XPENDING s g abc + 10
        XACK x g 1-1
        XACK x g 1-1 2-1 3-1
        XACK x nog 1-1
        XACK y g 1-1
        XACK x g abc
        XACK x g -
        XACK x g 1-1 abc
        XACK nokey g abc
        XACK s g 1-1
        XACK s g abc
        XACK x nog abc
        XPENDING x g
    """)
    masked_lines(diff, """
        XPENDING x g - + 10
        XPENDING x g - + 10 c
        XPENDING x g IDLE 0 - + 10
        XPENDING x g IDLE -1 - + 10
        XPENDING x g (1-1 + 10
        XPENDING x g - (2-1 10
        XPENDING x g - + 10 c extra
        XPENDING x g - + 1
    """)


def test_xclaim(diff):
    diff.lines("""
        XADD x 1-1 a b
        XADD x 2-1 c d
        XGROUP CREATE x g 0
        XREADGROUP GROUP g c STREAMS x >
        XCLAIM x g c2 0 1-1 JUSTID
        XCLAIM x g c2 abc 1-1
        XCLAIM x g c2 -1 1-1 JUSTID
        XCLAIM x g c2 0 abc
        XCLAIM x g c2 0 1-1 IDLE
        XCLAIM x g c2 0 1-1 IDLE abc
        XCLAIM x g c2 0 1-1 IDLE -5 JUSTID
        XCLAIM x g c2 0 1-1 TIME 5 JUSTID
        XCLAIM x g c2 0 1-1 TIME abc
        XCLAIM x g c2 0 1-1 RETRYCOUNT -1 JUSTID
        XCLAIM x g c2 0 1-1 RETRYCOUNT abc
        XCLAIM x g c2 0 1-1 LASTID abc
        XCLAIM x g c2 0 1-1 LASTID 5-5 JUSTID
        XINFO GROUPS x
        XCLAIM x g c2 0 1-1 FORCE JUSTID
        XCLAIM x g c2 0 9-9 FORCE
        XCLAIM x g c2 0 1-1 foo
        XCLAIM x g c2 0 1-1 abc foo
        XCLAIM x nog c2 0 1-1
        XCLAIM y g c2 0 1-1
        XCLAIM y g c2 abc 1-1
        XCLAIM x nog c2 abc 1-1
        XCLAIM x g c2 0 1-1 JUSTID IDLE 0 RETRYCOUNT 7
        XCLAIM x g c2 0 IDLE 0
        XCLAIM x g c2 0 JUSTID
        XCLAIM x g c2 0 1-1 2-1 JUSTID
        XCLAIM x g c2 0 1-1 2-1 RETRYCOUNT 9223372036854775807 JUSTID
        XCLAIM x g c2 0 1-1
        XCLAIM x g c2 0 1-1 RETRYCOUNT -5 JUSTID
        XCLAIM x g c3 9223372036854775807 1-1
        XCLAIM x g c2 0 1-1 TIME 99999999999999999 JUSTID
        XCLAIM x g c4 0 1-1 2-1 FORCE RETRYCOUNT 3 JUSTID
        XDEL x 1-1
        XCLAIM x g c5 0 1-1 2-1 FORCE JUSTID
        XPENDING x g
        XADD x 3-1 e f
        XCLAIM x g c5 0 3-1 FORCE RETRYCOUNT 2
        XCLAIM x g c6 0 3-1 FORCE
        XADD x 4-1 e f
        XCLAIM x g c6 0 4-1 FORCE JUSTID
        XCLAIM x g c7 0 4-1 5-1 FORCE
        XINFO GROUPS x
        SET s v
        XCLAIM s g c2 0 1-1
    """)
    masked_lines(diff, """
        XPENDING x g - + 10
        XINFO CONSUMERS x g
    """)


def test_xautoclaim(diff):
    diff.lines("""
        XADD x 1-1 a b
        XADD x 2-1 c d
        XADD x 3-1 e f
        XGROUP CREATE x g 0
        XREADGROUP GROUP g c STREAMS x >
        XAUTOCLAIM x g c3 0 0 COUNT 1 JUSTID
        XAUTOCLAIM x g c3 0 0 COUNT 0
        XAUTOCLAIM x g c3 0 0 COUNT -1
        XAUTOCLAIM x g c3 0 0 COUNT abc
        XAUTOCLAIM x g c3 0 0 JUSTID
        XAUTOCLAIM x g c3 0 0 foo
        XAUTOCLAIM x g c3 0 abc
        XAUTOCLAIM x g c3 abc 0
        XAUTOCLAIM x g c3 -1 0 JUSTID
        XAUTOCLAIM x nog c3 0 0
        XAUTOCLAIM y g c3 0 0
        XAUTOCLAIM y g c3 abc 0
        XAUTOCLAIM y g c3 0 abc
        XAUTOCLAIM y g c3 0 0 COUNT 0
        XAUTOCLAIM y g c3 0 0 foo
        XAUTOCLAIM x g c3 0 (0 JUSTID
        XAUTOCLAIM x g c3 0 - JUSTID
        XAUTOCLAIM x g c3 0 + JUSTID
        XAUTOCLAIM x g c3 0 (+ JUSTID
        XAUTOCLAIM x g c3 0 (18446744073709551615-18446744073709551615 JUSTID
        XAUTOCLAIM x g c3 0 0 COUNT 1 COUNT
        XAUTOCLAIM x g c3 0 0 COUNT 1000000000000 JUSTID
        XAUTOCLAIM x g c3 0 + COUNT 576460752303423487
        XAUTOCLAIM x g c3 0 + COUNT 576460752303423488
        XAUTOCLAIM x g c3 0 + COUNT 5497558138880
        XAUTOCLAIM x g c3 0 + COUNT 5497558138881
        XAUTOCLAIM x g c4 99999999 0
        XAUTOCLAIM x g c4 0 2-1 COUNT 1
        XDEL x 1-1 3-1
        XAUTOCLAIM x g c5 0 0 COUNT 1
        XAUTOCLAIM x g c5 0 2-1 COUNT 1
        XAUTOCLAIM x g c5 0 0
        XPENDING x g
        SET s v
        XAUTOCLAIM s g c3 0 0
        XAUTOCLAIM s g c3 abc 0
    """)
    masked_lines(diff, """
        XPENDING x g - + 10
        XINFO CONSUMERS x g
    """)


def test_xautoclaim_attempts_and_deleted(diff):
    diff.check("XGROUP", "CREATE", "x", "g", "$", "MKSTREAM")
    for i in range(1, 31):
        diff.check("XADD", "x", f"{i}-0", "f", str(i))
    diff.check("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x", ">")
    for i in range(1, 31, 3):
        diff.check("XDEL", "x", f"{i}-0")
    diff.lines("""
        XAUTOCLAIM x g bob 0 0 COUNT 2 JUSTID
        XAUTOCLAIM x g bob 999999999 0 COUNT 1
        XAUTOCLAIM x g bob 999999999 5 COUNT 3
        XAUTOCLAIM x g bob 0 5 COUNT 4
        XAUTOCLAIM x g bob 0 0 COUNT 100
        XPENDING x g
    """)


# -- XINFO --------------------------------------------------------------------------------------------------
def test_xinfo(diff):
    diff.lines("""
        XADD x 100 a 1
        XADD x 101 b 1
        XADD x 102 c 1
        XADD x 103 e 1
        XADD x 104 f 1
        XGROUP CREATE x g2 0
        XGROUP CREATE x g1 0
        XREADGROUP GROUP g1 Bob COUNT 1 STREAMS x >
        XREADGROUP GROUP g1 Alice COUNT 1 STREAMS x >
        XREADGROUP GROUP g1 Bob NOACK COUNT 1 STREAMS x >
        XREADGROUP GROUP g2 Charlie COUNT 4 STREAMS x >
        XDEL x 103
        XINFO STREAM x
        XINFO GROUPS x
        XINFO STREAM y
        XINFO GROUPS y
        XINFO CONSUMERS y g
        XINFO CONSUMERS x g
        XINFO STREAM x foo
        XINFO STREAM x FULL COUNT
        XINFO STREAM x FULL COUNT abc
        XINFO STREAM x FULL foo 1
        XINFO STREAM x FULL COUNT 1 extra
        XINFO STREAM x FULL COUNT 1 COUNT 2
        XINFO STREAM y FULL
        XINFO STREAM y FULL COUNT abc
        XINFO STREAM y foo
        XINFO foo
        XINFO
        XINFO HELP foo
        XINFO HELP
        XINFO Stream x foo
        SET s v
        XINFO STREAM s
        XINFO STREAM s foo
        XINFO GROUPS s
        XINFO CONSUMERS s g
    """)
    masked_lines(diff, """
        XINFO STREAM x FULL
        XINFO STREAM x FULL COUNT 1
        XINFO STREAM x FULL COUNT 0
        XINFO STREAM x FULL COUNT -1
        XINFO CONSUMERS x g1
        XINFO CONSUMERS x g2
    """)


def test_lag_and_entries_read(diff):
    diff.lines("""
        XGROUP CREATE x g1 0 MKSTREAM
        XINFO STREAM x
        XINFO GROUPS x
        XADD x 1-0 data a
        XDEL x 1-0
        XINFO STREAM x
        XINFO GROUPS x
        DEL x
        XADD x 1-0 data a
        XADD x 2-0 data b
        XADD x 3-0 data c
        XADD x 4-0 data d
        XADD x 5-0 data e
        XDEL x 3-0
        XGROUP CREATE x g1 0
        XGROUP CREATE x g2 0
        XGROUP CREATE x g3 $
        XGROUP CREATE x g4 2-0 ENTRIESREAD 2
        XINFO GROUPS x
        XREADGROUP GROUP g1 c11 COUNT 1 STREAMS x >
        XINFO GROUPS x
        XREADGROUP GROUP g1 c11 COUNT 1 STREAMS x >
        XINFO GROUPS x
        XREADGROUP GROUP g1 c11 COUNT 1 STREAMS x >
        XINFO GROUPS x
        XREADGROUP GROUP g1 c11 COUNT 1 STREAMS x >
        XREADGROUP GROUP g4 c41 COUNT 1 STREAMS x >
        XINFO GROUPS x
        XADD x 6-0 data f
        XINFO GROUPS x
        XTRIM x MINID = 3-0
        XINFO GROUPS x
        XTRIM x MINID = 5-0
        XINFO GROUPS x
        XGROUP SETID x g2 5-0
        XGROUP SETID x g3 $ ENTRIESREAD 3
        XINFO GROUPS x
        XSETID x 9-0 ENTRIESADDED 20 MAXDELETEDID 8-0
        XINFO GROUPS x
        XINFO STREAM x
        XREADGROUP GROUP g2 c COUNT 1 STREAMS x >
        XINFO GROUPS x
        XADD x 10-0 a b
        XREADGROUP GROUP g2 c STREAMS x >
        XINFO GROUPS x
    """)


def test_recorded_first_entry_and_max_deleted(diff):
    diff.lines("""
        XADD x 1-0 data a
        XADD x 2-0 data a
        XADD x 3-0 data a
        XADD x 4-0 data a
        XADD x 5-0 data a
        XINFO STREAM x
        XDEL x 2-0
        XINFO STREAM x
        XDEL x 1-0
        XINFO STREAM x
        XTRIM x MAXLEN = 2
        XINFO STREAM x
        XDEL x 5-0 4-0
        XINFO STREAM x
        XADD x 6-0 data a
        XINFO STREAM x
    """)


# -- keyspace events and propagation ----------------------------------------------------------------------
def test_notifications(redis_proc, pyredis_proc):
    check_events(redis_proc, pyredis_proc, """
        XADD x 1-1 a b
        XADD x MAXLEN 1 2-1 a b
        XADD x MAXLEN 5 3-1 a b
        XADD y NOMKSTREAM * a b
        XTRIM x MAXLEN 0
        XTRIM x MAXLEN 0
        XADD x 4-1 a b
        XDEL x 4-1
        XDEL x 4-1
        XGROUP CREATE z g $ MKSTREAM
        XGROUP CREATE x g 0
        XGROUP CREATECONSUMER x g c
        XGROUP CREATECONSUMER x g c
        XGROUP DELCONSUMER x g c
        XGROUP DELCONSUMER x g c
        XGROUP SETID x g 0
        XGROUP DESTROY x g
        XGROUP DESTROY x g
        XGROUP CREATE x g 0
        XADD x 5-1 a b
        XREADGROUP GROUP g c1 STREAMS x >
        XREADGROUP GROUP g c1 STREAMS x >
        XREADGROUP GROUP g c2 STREAMS x >
        XREADGROUP GROUP g c2 STREAMS x 0
        XACK x g 5-1
        XREADGROUP GROUP g c1 NOACK STREAMS x 0
        XSETID x 10-1
        XADD x 11-1 a b
        XREADGROUP GROUP g c1 STREAMS x >
        XCLAIM x g c3 0 11-1
        XCLAIM x g c3 0 11-1
        XCLAIM x g c4 0 99-1
        XCLAIM x g c4 99999999 11-1
        XAUTOCLAIM x g c5 99999999 0
        XAUTOCLAIM x g c5 0 0
        XAUTOCLAIM x g c5 0 0
        XCLAIM x g c6 0 11-1 LASTID 20-1
        XGROUP DELCONSUMER x g c5
        XDEL x 11-1
        XADD x MAXLEN 0 12-1 a b
        XADD x MINID 13 13-1 a b
        XTRIM x MINID 14
        DEL x
        XGROUP CREATE x g $ MKSTREAM
        XREADGROUP GROUP g c1 STREAMS x >
    """)


def test_propagation():
    # expectations taken from redis-server 7.0's AOF for the same commands
    check_propagation("""
        XADD s 1-1 a 1
        XADD s 5-* a 1
        XADD s MAXLEN ~ 1 6-1 a 1
        XADD s MINID ~ 1 7-1 a 1
        XTRIM s MAXLEN ~ 0
        XGROUP CREATE s g 0
        XADD s 10-1 a 1
        XADD s 10-2 a 1
        XADD s 10-3 a 1
        XREADGROUP GROUP g c COUNT 1 STREAMS s >
        XREADGROUP GROUP g c2 NOACK COUNT 1 STREAMS s >
        XREADGROUP GROUP g c2 STREAMS s 0
        XDEL s 10-3
        XREADGROUP GROUP g c4 STREAMS s >
        XGROUP CREATE s g2 $ ENTRIESREAD 3
        XSETID s 10-9
        XACK s g 10-1
        XREADGROUP GROUP g erin NOACK STREAMS s 0
        XTRIM s MAXLEN ~ 10
        XTRIM s MAXLEN = 10
        XADD s MAXLEN = 5 LIMIT 0 11-1 a 1
        XADD s 11-1 a 1
        XREADGROUP GROUP g erin NOACK STREAMS s >
    """, {
        0: [["XADD", "s", "1-1", "a", "1"]],
        1: [["XADD", "s", "5-0", "a", "1"]],
        2: [["XADD", "s", "MAXLEN", "=", "3", "6-1", "a", "1"]],
        3: [["XADD", "s", "MINID", "=", "1-1", "7-1", "a", "1"]],
        4: [["XTRIM", "s", "MAXLEN", "=", "0"]],
        5: [["XGROUP", "CREATE", "s", "g", "0"]],
        10: [["MULTI"], ["XGROUP", "CREATECONSUMER", "s", "g", "c2"],
             ["XGROUP", "SETID", "s", "g", "10-2", "ENTRIESREAD", "6"], ["EXEC"]],
        11: [],
        12: [["XDEL", "s", "10-3"]],
        13: [],
        14: [["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"]],
        15: [["XSETID", "s", "10-9"]],
        16: [["XACK", "s", "g", "10-1"]],
        17: [["XGROUP", "CREATECONSUMER", "s", "g", "erin"]],
        18: [],
        19: [],
        20: [],
        21: [["XADD", "s", "11-1", "a", "1"]],
        22: [["XGROUP", "SETID", "s", "g", "11-1", "ENTRIESREAD", "7"]],
    })
    # XREADGROUP/XCLAIM/XAUTOCLAIM propagate XCLAIM with the delivery state (time varies)
    _, props = pyredis_events([shlex.split(x) for x in """
        XADD x 1-1 a 1
        XADD x 2-1 a 1
        XADD x 3-1 a 1
        XGROUP CREATE x g 0
        XREADGROUP GROUP g alice STREAMS x >
        XDEL x 2-1 3-1
        XCLAIM x g bob 0 1-1 2-1
        XAUTOCLAIM x g bob 0 0
        XCLAIM x g zed 0 99-99 LASTID 99-1
        XCLAIM x g zed 999999999 1-1 LASTID 99-2
    """.strip().splitlines()])

    def shape(argv):
        out = [a.decode() for a in argv]
        if out[0] == "XCLAIM":
            assert out[6] == "TIME" and int(out[7]) > 10 ** 12
            out[7] = "T"
        return out

    got = [[shape(a) for a in p] for p in props]
    for effects in got:  # a command with several effects propagates them as a transaction
        if len(effects) > 1:
            assert effects[0] == ["MULTI"] and effects[-1] == ["EXEC"]
            effects[:] = effects[1:-1]
    assert got[4] == [["XCLAIM", "x", "g", "alice", "0", f"{i}-1", "TIME", "T", "RETRYCOUNT", "1", "FORCE", "JUSTID",
                       "LASTID", f"{i}-1"] for i in (1, 2, 3)]
    assert got[6] == [
        ["XCLAIM", "x", "g", "bob", "0", "1-1", "TIME", "T", "RETRYCOUNT", "2", "FORCE", "JUSTID", "LASTID", "3-1"],
        ["XCLAIM", "x", "g", "alice", "0", "2-1", "TIME", "T", "RETRYCOUNT", "1", "FORCE", "JUSTID", "LASTID", "3-1"]]
    assert got[7] == [
        ["XCLAIM", "x", "g", "bob", "0", "1-1", "TIME", "T", "RETRYCOUNT", "3", "FORCE", "JUSTID", "LASTID", "3-1"],
        ["XCLAIM", "x", "g", "alice", "0", "3-1", "TIME", "T", "RETRYCOUNT", "1", "FORCE", "JUSTID", "LASTID", "3-1"]]
    assert got[8] == [["XGROUP", "SETID", "x", "g", "99-1", "ENTRIESREAD", "3"]]
    assert got[9] == [["XGROUP", "SETID", "x", "g", "99-2", "ENTRIESREAD", "3"]]


@pytest.mark.parametrize("cmd", [
    "XREADGROUP GROUP g c2 STREAMS s >", "XREADGROUP GROUP g c STREAMS s 0", "XACK s g 1", "XCLAIM s g c3 0 1",
    "XAUTOCLAIM s g c4 0 0", "XGROUP CREATECONSUMER s g new", "XGROUP DELCONSUMER s g c", "XGROUP SETID s g 0",
    "XGROUP CREATE s g2 0", "XGROUP DESTROY s g", "XSETID s 5", "XDEL s 9", "XDEL s 1", "XTRIM s MAXLEN 5",
    "XTRIM s MAXLEN 0", "XADD s 7 f v", "XADD s NOMKSTREAM 7 f v", "XGROUP CREATE n g $ MKSTREAM",
    "XREADGROUP GROUP g c3 NOACK STREAMS s >", "XCLAIM s g c 0 99 LASTID 9"])
def test_watch_invalidation(redis_proc, pyredis_proc, cmd):
    """Which stream commands touch WATCHed keys (group metadata changes do not)."""
    results = []
    for proc in (redis_proc, pyredis_proc):
        a, b = proc.client(), proc.client()
        for line in ["FLUSHALL", "XADD s 1 f v", "XADD s 2 f v", "XGROUP CREATE s g 0",
                     "XREADGROUP GROUP g c COUNT 1 STREAMS s >"]:
            a.call(*line.split())
        a.call("WATCH", "s", "n")
        b.call(*cmd.split())
        a.call("MULTI")
        a.call("PING")
        results.append(a.call("EXEC"))
        a.close()
        b.close()
    assert results[0] == results[1]


def test_from_scripts(diff):
    if diff.p.call("EVAL", "return 1", "0").startswith(b"-ERR unknown command"):
        pytest.skip("scripting not available")
    diff.lines("""
        XADD x 1-1 a b c d
        XADD x 2-1 e f
        XGROUP CREATE x g 0
        EVAL "return redis.call('xrange', KEYS[1], '-', '+')" 1 x
        EVAL "return redis.call('xrevrange', KEYS[1], '+', '-', 'COUNT', 1)" 1 x
        EVAL "return redis.call('xread', 'block', '0', 'streams', KEYS[1], '$')" 1 x
        EVAL "return redis.call('XREAD', 'BLOCK', 'abc', 'streams', KEYS[1], '$')" 1 x
        EVAL "return redis.call('xreadgroup', 'group', 'g', 'c', 'block', '0', 'streams', KEYS[1], '>')" 1 x
        EVAL "return redis.pcall('xreadgroup', 'group', 'g', 'c', 'block', '0', 'streams', KEYS[1], '>')" 1 x
        EVAL "return redis.call('xreadgroup', 'group', 'g', 'c', 'streams', KEYS[1], '0')" 1 x
        EVAL "return redis.call('xread', 'count', '1', 'streams', KEYS[1], '0')" 1 x
        EVAL "return redis.call('xinfo', 'stream', KEYS[1])" 1 x
        EVAL "return redis.call('xpending', KEYS[1], 'g')" 1 x
        EVAL "return redis.call('xadd', KEYS[1], '3-1', 'a', 'b')" 1 x
        EVAL "return redis.call('xlen', KEYS[1])" 1 x
    """)


# -- random command sequences ------------------------------------------------------------------------------
_IDS = st.sampled_from(["1", "1-1", "2", "2-5", "3-0", "5", "0", "-", "+", "(1", "(2-5", "9", "abc"])
_KEY = st.sampled_from(["s1", "s2", "str"])
_GROUP = st.sampled_from(["g1", "g2"])
_CONS = st.sampled_from(["alice", "bob"])
_STREAM_CMDS = st.one_of(
    st.tuples(st.just("XADD"), _KEY, st.sampled_from(["1-1", "2-5", "3-*", "3-0", "4", "5-*", "7-7"]),
              st.sampled_from(["f", "g"]), st.sampled_from(["v", "1", ""])),
    st.tuples(st.just("XADD"), _KEY, st.sampled_from(["MAXLEN", "MINID"]), st.sampled_from(["=", "~"]),
              st.sampled_from(["0", "1", "2", "3-0"]), st.sampled_from(["8-*", "9-*", "10-1"]), st.just("f"), st.just("v")),
    st.tuples(st.just("XDEL"), _KEY, _IDS, _IDS),
    st.tuples(st.just("XTRIM"), _KEY, st.sampled_from(["MAXLEN", "MINID"]), st.sampled_from(["0", "1", "2", "3-0"])),
    st.tuples(st.sampled_from(["XRANGE", "XREVRANGE"]), _KEY, _IDS, _IDS),
    st.tuples(st.just("XLEN"), _KEY),
    st.tuples(st.just("XREAD"), st.just("COUNT"), st.sampled_from(["1", "2"]), st.just("STREAMS"), _KEY, _IDS),
    st.tuples(st.just("XGROUP"), st.just("CREATE"), _KEY, _GROUP, st.sampled_from(["0", "$", "2-5"]),
              st.sampled_from(["MKSTREAM", "ENTRIESREAD"]), st.sampled_from(["1", "MKSTREAM"])),
    st.tuples(st.just("XGROUP"), st.just("SETID"), _KEY, _GROUP, st.sampled_from(["0", "$", "2-5", "-"])),
    st.tuples(st.just("XGROUP"), st.sampled_from(["CREATECONSUMER", "DELCONSUMER"]), _KEY, _GROUP, _CONS),
    st.tuples(st.just("XGROUP"), st.just("DESTROY"), _KEY, _GROUP),
    st.tuples(st.just("XREADGROUP"), st.just("GROUP"), _GROUP, _CONS, st.sampled_from(["COUNT", "NOACK"]),
              st.sampled_from(["1", "NOACK"]), st.just("STREAMS"), _KEY, st.sampled_from([">", "0", "2"])),
    st.tuples(st.just("XACK"), _KEY, _GROUP, _IDS, _IDS),
    st.tuples(st.just("XPENDING"), _KEY, _GROUP),
    st.tuples(st.just("XCLAIM"), _KEY, _GROUP, _CONS, st.just("0"), _IDS, _IDS, st.just("JUSTID")),
    st.tuples(st.just("XAUTOCLAIM"), _KEY, _GROUP, _CONS, st.just("0"), _IDS, st.just("COUNT"),
              st.sampled_from(["1", "2", "10"]), st.just("JUSTID")),
    st.tuples(st.just("XSETID"), _KEY, st.sampled_from(["7-7", "9", "20"])),
    st.tuples(st.just("XINFO"), st.just("STREAM"), _KEY),
    st.tuples(st.just("XINFO"), st.just("GROUPS"), _KEY),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_STREAM_CMDS, min_size=1, max_size=30))
def test_random_sequences(diff, cmds):
    diff.check("FLUSHDB")
    diff.check("SET", "str", "x")
    for cmd in cmds:
        diff.check(*cmd)
    for k in ("s1", "s2"):
        diff.check("XRANGE", k, "-", "+")
        check_masked(diff, "XINFO", "STREAM", k, "FULL")


# -- blocking ------------------------------------------------------------------------------------------------
def _blocking_available(port: int) -> bool:
    c = redis.Redis(port=port)
    try:
        t0 = time.time()
        c.execute_command("XREAD", "BLOCK", "100", "STREAMS", "__blockprobe", "$")
        return time.time() - t0 >= 0.09
    finally:
        c.close()


@pytest.fixture
def blocking(pyredis_proc):
    if not _blocking_available(pyredis_proc.port):
        pytest.skip("blocking machinery not available")


def _bg(port: int, *args):
    c = redis.Redis(port=port)
    box: dict = {}

    def run():
        try:
            box["r"] = c.execute_command(*args)
        except redis.ResponseError as e:
            box["e"] = str(e)
        finally:
            c.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def _wait_blocked(port: int, n: int = 1) -> None:
    c = redis.Redis(port=port)
    try:
        for _ in range(500):
            clients = c.execute_command("CLIENT", "LIST").decode().splitlines()
            if sum(1 for line in clients if " flags=b " in line) >= n:
                return
            time.sleep(0.01)
        raise AssertionError("client did not block")
    finally:
        c.close()


def _blocking_scenario(port: int, setup: list[str], block: str, actions: list[str]):
    c = redis.Redis(port=port)
    c.flushall()
    for s in setup:
        c.execute_command(*shlex.split(s))
    t, box = _bg(port, *shlex.split(block))
    _wait_blocked(port)
    for a in actions:
        try:
            c.execute_command(*shlex.split(a))
        except redis.ResponseError:
            pass
    t.join(5)
    c.close()
    assert not t.is_alive()
    return box


_BLOCK_CASES = [
    (["XADD s2 1 old abcd"], "XREAD BLOCK 20000 STREAMS s1 s2 s3 $ $ $", ["XADD s2 2 new abcd"]),
    (["DEL s"], "XREAD BLOCK 0 STREAMS s $", ["MULTI", "XADD s 1 old x", "DEL s", "EXEC", "XADD s 2 new x"]),
    (["XADD s 666 f v"], "XREAD BLOCK 0 STREAMS s $", ["DEL s", "XADD s 667 f v"]),
    (["XADD s 666 f v"], "XREAD BLOCK 0 STREAMS s $", ["SET s x", "DEL s", "XADD s 667 f v"]),
    (["XADD s 1 f v"], "XREAD BLOCK 0 STREAMS s s s $ $ $", ["XADD s 2 g v"]),
    ([], "XREAD COUNT 2 BLOCK 0 STREAMS s $", ["MULTI", "XADD s 1 a b", "XADD s 2 a b", "XADD s 3 a b", "EXEC"]),
    ([], "XREAD BLOCK 0 STREAMS x 1-18446744073709551615", ["XADD x 1-1 f v", "XADD x 1-18446744073709551615 f v",
                                                            "XADD x 2-1 f v"]),
    (["XADD s 666 k v", "XDEL s 666"], "XREAD BLOCK 0 STREAMS s 665", ["XADD s 667 k v"]),
    (["XADD s 1 f v", "XGROUP CREATE s g $"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", ["DEL s"]),
    (["XADD s 1 f v", "XGROUP CREATE s g $"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", ["XGROUP DESTROY s g"]),
    (["XADD s 1 f v", "XGROUP CREATE s g $"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", ["SET s x"]),
    (["XADD s 1 f v", "XGROUP CREATE s g $"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", ["FLUSHALL"]),
    (["XADD s 1 f v", "XGROUP CREATE s g $"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
     ["MULTI", "DEL s", "SADD s e1", "EXEC"]),
    (["XGROUP CREATE s g $ MKSTREAM"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
     ["XGROUP CREATE s2 g $ MKSTREAM", "XADD s2 100 f1 v1", "RENAME s2 s"]),
    (["XGROUP CREATE s g $ MKSTREAM"], "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", ["XADD s2 100 f1 v1", "RENAME s2 s"]),
    (["XGROUP CREATE s g $ MKSTREAM"], "XREADGROUP GROUP g c BLOCK 0 NOACK STREAMS s >", ["XADD s 5 f v"]),
    (["XGROUP CREATE s g $ MKSTREAM"], "XREADGROUP GROUP g c COUNT 1 BLOCK 0 STREAMS s >",
     ["XGROUP SETID s g 0-0", "XADD s 7 f v", "XADD s 8 f v"]),
    (["XADD s 1 f v"], "XREAD BLOCK 0 STREAMS s $", ["XSETID s 10", "XADD s 11 a b"]),
]


@pytest.mark.parametrize("case", range(len(_BLOCK_CASES)))
def test_blocking_like_redis(redis_proc, pyredis_proc, blocking, case):
    setup, block, actions = _BLOCK_CASES[case]
    expected = _blocking_scenario(redis_proc.port, setup, block, actions)
    got = _blocking_scenario(pyredis_proc.port, setup, block, actions)
    assert got == expected


@pytest.mark.parametrize("other", ["", "LPUSH mystream e1"])
def test_blocked_xreadgroup_swapdb(redis_proc, pyredis_proc, blocking, other):
    replies = []
    for proc in (redis_proc, pyredis_proc):
        c, b = proc.client(), proc.client()
        for line in ["SELECT 4", "FLUSHDB", other, "SELECT 9", "DEL mystream", "XADD mystream 666 f v",
                     "XGROUP CREATE mystream mygroup $"]:
            if line:
                c.call(*line.split())
        b.call("SELECT", "9")
        b.send("XREADGROUP", "GROUP", "mygroup", "Alice", "BLOCK", "0", "STREAMS", "mystream", ">")
        _wait_blocked(proc.port)
        c.call("SWAPDB", "4", "9")
        replies.append(b.read_reply())
        c.call("FLUSHALL")
        c.close()
        b.close()
    assert replies[0] == replies[1] == b"-UNBLOCKED the stream key no longer exists\r\n"


def test_blocking_timeouts_and_multi(diff, pyredis_proc, blocking):
    t0 = time.time()
    diff.check("XREAD", "BLOCK", "50", "STREAMS", "s", "$")
    diff.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    diff.check("XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", "s", ">")
    assert time.time() - t0 >= 0.09
    diff.lines("""
        MULTI
        XREAD BLOCK 0 STREAMS s $
        XREADGROUP GROUP g c BLOCK 0 STREAMS s >
        EXEC
        XADD s 666 f v
        XDEL s 666
        XREADGROUP GROUP g c BLOCK 10 STREAMS s >
        XREADGROUP GROUP g c BLOCK 0 STREAMS s 0
        XREADGROUP GROUP g c BLOCK 0 STREAMS s 700
    """)


def test_blocked_xreadgroup_consumer_created_on_data(pyredis_proc, blocking):
    port = pyredis_proc.port
    c = redis.Redis(port=port)
    c.flushall()
    c.xgroup_create("s", "g", "$", mkstream=True)
    t, box = _bg(port, "XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "NOACK", "STREAMS", "s", ">")
    _wait_blocked(port)
    assert c.xinfo_groups("s")[0]["consumers"] == 0
    c.xadd("s", {"f": "v"}, id="1-1")
    t.join(5)
    assert box["r"] == [[b"s", [(b"1-1", {b"f": b"v"})]]] or box["r"][0][0] == b"s"
    assert c.xinfo_groups("s")[0]["consumers"] == 1
    c.close()


# -- redis-py consumer-group worker ------------------------------------------------------------------------
def test_consumer_group_worker(pyredis_proc):
    """Producers add jobs, workers consume with XREADGROUP/XACK, a janitor reclaims a dead worker's jobs."""
    port = pyredis_proc.port
    r = redis.Redis(port=port, decode_responses=True)
    r.flushall()
    r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    n_jobs = 300
    for i in range(n_jobs):
        r.xadd("jobs", {"n": str(i)}, maxlen=10000, approximate=True)
    # a worker that dies after reading without acking
    lost = r.xreadgroup("workers", "dead", {"jobs": ">"}, count=25)
    assert len(lost[0][1]) == 25
    done: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        c = redis.Redis(port=port, decode_responses=True)
        idle_rounds = 0
        while idle_rounds < 3:
            resp = c.xreadgroup("workers", name, {"jobs": ">"}, count=10, block=100)
            if not resp:
                idle_rounds += 1
                continue
            idle_rounds = 0
            for _stream, msgs in resp:
                for mid, fields in msgs:
                    with lock:
                        done.append(int(fields["n"]))
                    c.xack("jobs", "workers", mid)
        c.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # janitor: reclaim what the dead worker held
    time.sleep(0.02)
    cursor = "0-0"
    while True:
        cursor, claimed, deleted = r.xautoclaim("jobs", "workers", "janitor", min_idle_time=10, start_id=cursor,
                                                count=10)
        for mid, fields in claimed:
            done.append(int(fields["n"]))
            r.xack("jobs", "workers", mid)
        if cursor == "0-0":
            break
    assert sorted(done) == list(range(n_jobs))
    summary = r.xpending("jobs", "workers")
    assert summary["pending"] == 0
    info = r.xinfo_groups("jobs")[0]
    assert info["lag"] == 0 and info["entries-read"] == n_jobs
    names = {c["name"] for c in r.xinfo_consumers("jobs", "workers")}
    assert names == {"dead", "janitor", "w0", "w1", "w2"} or names >= {"dead", "janitor"}
    r.close()


# -- scale -----------------------------------------------------------------------------------------------
def test_large_stream_is_fast(pyr):
    """Range lookups and trimming stay cheap on a stream of 300k entries."""
    n = 300_000
    batch = 10_000
    for start in range(0, n, batch):
        pyr.send_raw(b"".join(b"*5\r\n$4\r\nXADD\r\n$3\r\nbig\r\n$%d\r\n%d-1\r\n$1\r\nf\r\n$1\r\nv\r\n"
                              % (len(str(i + 1)) + 2, i + 1) for i in range(start, start + batch)))
        for _ in range(batch):
            pyr.read_reply()
    assert pyr.call("XLEN", "big") == b":300000\r\n"
    t0 = time.perf_counter()
    for i in range(1, n, 997):
        r = pyr.call("XRANGE", "big", str(i), "+", "COUNT", "2")
        assert r.startswith(b"*2\r\n*2\r\n$%d\r\n%d-1" % (len(str(i)) + 2, i))
        r = pyr.call("XREVRANGE", "big", str(i), "-", "COUNT", "1")
        assert b"%d-1" % i in r
    t1 = time.perf_counter()
    assert t1 - t0 < 5
    for k in range(50):
        pyr.call("XADD", "big", "MAXLEN", "~", str(n - 1000 * (k + 1)), "*", "f", "v")
    assert pyr.call("XTRIM", "big", "MINID", "250000") != b""
    assert time.perf_counter() - t1 < 5
    assert pyr.call("XRANGE", "big", "-", "+", "COUNT", "1").startswith(b"*1\r\n*2\r\n$8\r\n250000-1")
    pyr.call("DEL", "big")
