"""ACL: differential tests against redis-server 7.0 (every ACL subcommand, errors, enforcement, ACL LOG,
ACL files) and hand-written redis-py tests.

Redis lists the single-command rules of ACL GETUSER/LIST in hash-table order (it changes from one process to
the next), so rule strings mixing several single commands are compared as token sets.
"""

from __future__ import annotations

import os
import re
import time

import hiredis
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import Differ, RawClient, ServerProcess, scratch_dir

CLEANUP = [
    ("CONFIG", "SET", "acl-pubsub-default", "resetchannels"),
    ("CONFIG", "SET", "acllog-max-len", "128"),
    ("CONFIG", "SET", "requirepass", ""),
    ("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all"),
    ("ACL", "LOG", "RESET"),
]


def _reset_acl(port: int) -> None:
    c = RawClient(port)
    try:
        for cmd in CLEANUP:
            c.call(*cmd)
        users = parse(c.call("ACL", "USERS"))
        others = [u for u in users if u != b"default"]
        if others:
            c.call("ACL", "DELUSER", *others)
    finally:
        c.close()


@pytest.fixture
def acl(diff, redis_proc, pyredis_proc):
    """A Differ on both servers; ACL state (users, log, related configs) restored afterwards."""
    _reset_acl(redis_proc.port)
    _reset_acl(pyredis_proc.port)
    yield diff
    diff.check("AUTH", "default", "x")
    _reset_acl(redis_proc.port)
    _reset_acl(pyredis_proc.port)


@pytest.fixture
def pair(redis_proc, pyredis_proc):
    """Opens extra connection pairs ``(redis, pyredis)``, closed afterwards."""
    opened: list[RawClient] = []

    def make() -> tuple[RawClient, RawClient]:
        r, p = redis_proc.client(), pyredis_proc.client()
        opened.extend((r, p))
        return r, p

    yield make
    for c in opened:
        try:
            c.close()
        except OSError:
            pass


def parse(raw: bytes):
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def both(a: tuple[RawClient, RawClient], *args) -> bytes:
    r, p = a[0].call(*args), a[1].call(*args)
    assert p == r, f"{args!r}: redis {r!r} != pyredis {p!r}"
    return p


PYREDIS_ONLY = {b"gateway"}


def _norm_rules(s: bytes) -> tuple:
    """A command rule string with the single-command rules as a set (their order is not stable in Redis)."""
    # pyredis's own commands (GATEWAY) do not exist in redis-server: their rules are left out
    toks = [t for t in s.split(b" ") if t[1:].split(b"|")[0] not in PYREDIS_ONLY]
    cats = tuple(t for t in toks if t[1:2] == b"@")
    return cats, frozenset(t for t in toks if t[1:2] != b"@")


def _norm_user(reply):
    if reply is None:
        return None
    d = dict(zip(reply[::2], reply[1::2], strict=True))
    d[b"commands"] = _norm_rules(d[b"commands"])
    d[b"selectors"] = [
        {k: (_norm_rules(v) if k == b"commands" else v) for k, v in zip(s[::2], s[1::2], strict=True)}
        for s in d[b"selectors"]
    ]
    return d


def check_user(d: Differ, name: str) -> None:
    r, p = d.both("ACL", "GETUSER", name)
    assert _norm_user(parse(p)) == _norm_user(parse(r)), (r, p)


def _norm_list_line(line: bytes) -> tuple:
    # split off selectors "( ... )" and normalise each command part
    parts = re.split(rb" (?=\()", line)
    return tuple(_norm_rules(x) for x in parts)


def check_list(d: Differ) -> None:
    r, p = d.both("ACL", "LIST")
    assert [_norm_list_line(x) for x in parse(p)] == [_norm_list_line(x) for x in parse(r)], (r, p)


# -- ACL CAT / HELP / GENPASS / WHOAMI / USERS ---------------------------------------------------------
def test_acl_cat(acl):
    acl.check("ACL", "CAT")
    for cat in parse(acl.r.call("ACL", "CAT")):
        acl.check_sorted("ACL", "CAT", cat)
    acl.check_sorted("ACL", "CAT", "Transaction")
    acl.lines("""
        ACL CAT NON_EXISTS
        ACL CAT @transaction
        ACL CAT a b
        ACL cat a b
        ACL HELP
        ACL HELP xxx
        ACL
        ACL NOSUCH
        ACL WHOAMI
        ACL WHOAMI x
        ACL USERS
        ACL USERS x
        ACL LIST x
    """)


def test_acl_genpass(acl):
    for bits, n in ((None, 64), (1, 1), (5, 2), (8, 2), (9, 3), (4096, 1024)):
        args = () if bits is None else (bits,)
        for srv in (acl.r, acl.p):
            out = parse(srv.call("ACL", "GENPASS", *args))
            assert len(out) == n and re.fullmatch(rb"[0-9a-f]+", out)
    assert acl.p.call("ACL", "GENPASS") != acl.p.call("ACL", "GENPASS")
    acl.lines("""
        ACL GENPASS 0
        ACL GENPASS -236
        ACL GENPASS 4097
        ACL GENPASS 5000
        ACL GENPASS abc
        ACL GENPASS 1 2
    """)


# -- ACL SETUSER / GETUSER / LIST ----------------------------------------------------------------------
SETUSER_ERRORS = """
    ACL SETUSER "a a" on
    ACL SETUSER
    ACL SETUSER u1 foo
    ACL SETUSER u1 #abc
    ACL SETUSER u1 #34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e
    ACL SETUSER u1 #34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4eq
    ACL SETUSER u1 #34344E4D60C2B6D639B7BD22E18F2B0B91BC34BF0AC5F9952744435093CFB4E6
    ACL SETUSER u1 !abc
    ACL SETUSER u1 !0000000000000000000000000000000000000000000000000000000000000000
    ACL SETUSER u1 <nope
    ACL SETUSER u1 #
    ACL SETUSER u1 +nosuch
    ACL SETUSER u1 +@nosuch
    ACL SETUSER u1 -@nosuch
    ACL SETUSER u1 +
    ACL SETUSER u1 -
    ACL SETUSER u1 +@
    ACL SETUSER u1 +get|foo|bar
    ACL SETUSER u1 +config|get|x
    ACL SETUSER u1 -config|get|x
    ACL SETUSER u1 +config|nosub
    ACL SETUSER u1 +config|nosub|x
    ACL SETUSER u1 +client|id|x|y
    ACL SETUSER u1 -get|x
    ACL SETUSER u1 -select|0
    ACL SETUSER u1 +nosuch|x
    ACL SETUSER u1 +@all|x
    ACL SETUSER u1 +@string|x
    ACL SETUSER u1 +get|
    ACL SETUSER u1 +config|
    ACL SETUSER u1 +|get
    ACL SETUSER u1 %X~foo
    ACL SETUSER u1 %~
    ACL SETUSER u1 %~a
    ACL SETUSER u1 %
    ACL SETUSER u1 %RWR~a
    ACL SETUSER u1 %RR~a
    ACL SETUSER u1 %WRW~a
    ACL SETUSER u1 %Rx
    ACL SETUSER u1 allkeys ~foo
    ACL SETUSER u1 ~* %R~a
    ACL SETUSER u1 resetkeys ~* ~a
    ACL SETUSER u1 allchannels &foo
    ACL SETUSER u1 &a &* &b
    ACL SETUSER u1 (
    ACL SETUSER u1 )
    ACL SETUSER u1 (~x
    ACL SETUSER u1 (~a)x
    ACL SETUSER u1 x(~a)
    ACL SETUSER u1 ( ~a) (
    ACL SETUSER u1 (~x +get) (foo)
    ACL SETUSER u1 (~a foo)
    ACL SETUSER u1 (~a foo )
    ACL SETUSER u1 (on)
    ACL SETUSER u1 (>pass)
    ACL SETUSER u1 (nopass)
    ACL SETUSER u1 (reset)
    ACL SETUSER u1 (clearselectors)
    ACL SETUSER u1 " () "
    ACL SETUSER u1 (&* &fail)
    ACL SETUSER u1 on >ok +get foo
    ACL GETUSER u1
"""


def test_setuser_errors(acl):
    acl.lines(SETUSER_ERRORS)
    acl.check("ACL", "SETUSER", "a\x00b")
    acl.check("ACL", "USERS")


DETERMINISTIC_USERS = [
    ["on", "nopass"],
    ["reset"],
    ["reset", "skip-sanitize-payload"],
    ["reset", "sanitize-payload", "skip-sanitize-payload", "nopass", "on"],
    ["ON", "NOPASS", "+GET", "+@STRING"],
    ["on", ">p1", ">p2", ">p1", "#34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"],
    ["reset", "nopass", ">foo"],
    ["reset", ">foo", "nopass"],
    [">a", ">b", "<a"],
    [">a", "resetpass"],
    [">", "<"],
    ["~a", "~b", "~a", "%R~a", "%W~a", "%RW~c", "%r~d", "%w~e", "%Rw~f"],
    ["%R~x", "%W~y", "%R~y"],
    ["~foo*", "%R~r*", "%W~w*", "%RW~rw*", "%R"],
    ["reset", "~a", "~*"],
    ["reset", "%RW~*", "~b"],
    ["reset", "%R~*", "%W~*", "~a"],
    ["reset", "~a", "allkeys"],
    ["~a", "resetkeys", "~b"],
    ["~", "&"],
    ["~a|b", "&a|b"],
    ["&a", "&b", "&a"],
    ["reset", "&a", "&*"],
    ["resetchannels", "&a", "allchannels"],
    ["allchannels", "resetchannels", "&x"],
    ["+@all"],
    ["allcommands"],
    ["nocommands"],
    ["+@all", "-@all"],
    ["-@all", "+@all"],
    ["+@all", "-get", "+get"],
    ["-@all", "+@all", "-get", "+@string"],
    ["+get"],
    ["+@all", "-get"],
    ["+@all", "-client|kill"],
    ["-@all", "+select|0"],
    ["-@all", "+select|0", "+select|1", "-select"],
    ["-@all", "+select|0", "+select|1", "+select"],
    ["-@all", "+select|0", "+select|1", "+@connection"],
    ["+@all", "-select", "+select|0"],
    ["-@all", "+select", "+select|0"],
    ["+@all", "-debug", "+debug|digest"],
    ["-@all", "+client"],
    ["-@all", "+client|id", "-client"],
    ["-@all", "+client|id", "+client"],
    ["+@all", "-client", "+client"],
    ["+memory|doctor"],
    ["+memory|doctor", "+memory"],
    ["+@all", "-memory|doctor"],
    ["+@all", "-memory"],
    ["+CONFIG|GET"],
    ["-@all", "+@slow"],
    ["-@all", "+@dangerous"],
    ["-@all", "+@admin", "+@dangerous"],
    ["+@all", "-@string", "-@hash"],
    ["-@all", "+@string", "+@hash"],
    ["+@all", "-@all", "+get"],
    [""],
    ["(~a +get)"],
    ["(", "~a", "+get", ")"],
    ["(~a", "+get)"],
    ["(~a  ~b)", "()", "( )"],
    ["(~a)", "(~b)", "clearselectors", "(~c)"],
    ["(~a +get)", "reset"],
    ["(allkeys)", "(allchannels)", "(allcommands)", "(nocommands)", "(resetkeys)", "(resetchannels)"],
    ["-@all", "+get", "resetchannels", "&channel1", "%R~foo1", "%W~bar1", "~baz1",
     "(-@all +set resetchannels &channel2 %R~foo2 %W~bar2 ~baz2)"],
    ["%R~foo", "%W~foo", "%RW~bar"],
]


@pytest.mark.parametrize("rules", DETERMINISTIC_USERS, ids=lambda r: " ".join(r)[:40] or "empty")
def test_setuser_getuser_exact(acl, rules):
    acl.check("ACL", "SETUSER", "u1", *rules)
    acl.check("ACL", "GETUSER", "u1")
    acl.check("ACL", "LIST")
    acl.hello("3")
    acl.check("ACL", "GETUSER", "u1")
    acl.hello("2")


RULE_SETS = [
    ["+get", "+@hash", "-hset", "+client|id", "+select|0"],
    ["+@all", "-get", "-hset", "-client|id"],
    ["+@all", "-client", "+client|id", "+client|setname"],
    ["-@all", "+acl", "+config", "-config|set"],
    ["+@all", "~*", "-@string", "+incr", "-debug", "+debug|digest"],
    ["+@string", "-incr", "+acl", "+debug|digest", "+debug|segfault"],
    ["-@all", "+@string", "-@write"],
    ["+@all", "-pfadd", "-pfcount", "-pfmerge"],
    ["-@all", "+@connection", "-client"],
    ["-@all", "+client|id", "+client|info"],
    ["-select", "+select|0", "+select|0", "+SELECT|Abc"],
    ["+get|x", "+get|y"],
    ["reset", "-debug", "+debug|a", "+debug|b", "+debug|c", "-debug"],
    ["-@all", "+@set", "+acl", "~set*", "&*"],
    ["+@all", "-@dangerous", "+flushdb", "-@keyspace", "+del"],
    ["-@all", "+@read", "+@write", "-@keyspace", "+@scripting", "-eval"],
    ["+mget", "~key", "(+mget ~key ~otherkey)", "(+@hash -hdel %R~h*)"],
]


@pytest.mark.parametrize("rules", RULE_SETS, ids=lambda r: " ".join(r)[:40])
def test_setuser_getuser_rules(acl, rules):
    acl.check("ACL", "SETUSER", "u1", *rules)
    check_user(acl, "u1")
    check_list(acl)


def test_getuser_each_category(acl):
    for cat in parse(acl.r.call("ACL", "CAT")):
        cat = cat.decode()
        acl.check("ACL", "SETUSER", "additive", "reset", "+@all", "-@" + cat)
        acl.check("ACL", "GETUSER", "additive")
        acl.check("ACL", "SETUSER", "restrictive", "reset", "-@all", "+@" + cat)
        acl.check("ACL", "GETUSER", "restrictive")


def test_getuser_missing_and_arity(acl):
    acl.lines("""
        ACL GETUSER nosuch
        ACL GETUSER DEFAULT
        ACL GETUSER
        ACL GETUSER a b
    """)
    acl.hello("3")
    acl.check("ACL", "GETUSER", "nosuch")
    acl.hello("2")


def test_users_list_deluser(acl):
    acl.lines("""
        ACL SETUSER zed on
        ACL SETUSER alice >x
        ACL SETUSER bob
        ACL SETUSER ""
        ACL USERS
        ACL LIST
        ACL DELUSER nosuch alice alice
        ACL DELUSER default
        ACL DELUSER bob default zed
        ACL USERS
        ACL DELUSER ""
        ACL DELUSER
        ACL DELUSER bob zed
        ACL USERS
        ACL LIST
    """)


def test_acl_pubsub_default(acl):
    acl.lines("""
        CONFIG SET acl-pubsub-default allchannels
        ACL SETUSER mydefault
        ACL GETUSER mydefault
        ACL SETUSER onechannel &test
        ACL SETUSER sel (~a)
        ACL LIST
        ACL SETUSER r1 reset
        ACL GETUSER r1
        CONFIG SET acl-pubsub-default resetchannels
        ACL GETUSER mydefault
        ACL SETUSER onechannel &test
        ACL GETUSER onechannel
        ACL SETUSER r1 reset
        ACL GETUSER r1
    """)


# -- DRYRUN ---------------------------------------------------------------------------------------------
DRYRUN = """
    ACL SETUSER command-test +@all %R~read* %W~write* %RW~rw*
    ACL DRYRUN command-test GET read
    ACL DRYRUN not-a-user GET read
    ACL DRYRUN command-test not-a-command read
    ACL DRYRUN command-test SORT read STORE write
    ACL DRYRUN command-test SORT read STORE read
    ACL DRYRUN command-test SORT write STORE write
    ACL DRYRUN command-test SORT read STORE x STORE write
    ACL DRYRUN command-test SORT_RO read
    ACL DRYRUN command-test EVAL "" 1 rw1
    ACL DRYRUN command-test EVAL "" 1 read
    ACL DRYRUN command-test EVAL_RO "" 1 rw1
    ACL DRYRUN command-test EVAL_RO "" 1 read
    ACL DRYRUN command-test EVAL "" 0 read
    ACL DRYRUN command-test EVAL "" -1 read
    ACL DRYRUN command-test EVAL "" 3 rw rw
    ACL DRYRUN command-test EVAL "" 3 rw read
    ACL DRYRUN command-test EVAL "" x read
    ACL DRYRUN command-test FCALL f 2 rw1 read
    ACL DRYRUN command-test GEORADIUS read longitude latitude radius M STOREDIST write
    ACL DRYRUN command-test GEORADIUS read longitude latitude radius M
    ACL DRYRUN command-test GEORADIUS read1 longitude latitude radius M STOREDIST read2
    ACL DRYRUN command-test GEORADIUS write1 longitude latitude radius M STOREDIST write2
    ACL DRYRUN command-test GEORADIUS read longitude latitude radius M STORE write
    ACL DRYRUN command-test GEORADIUS read1 longitude latitude radius M STORE read2
    ACL DRYRUN command-test HEXISTS read foo
    ACL DRYRUN command-test HEXISTS write foo
    ACL DRYRUN command-test HEXISTS nothing foo
    ACL DRYRUN command-test SISMEMBER write foo
    ACL DRYRUN command-test SINTERCARD 2 read read
    ACL DRYRUN command-test SINTERCARD 2 write read
    ACL DRYRUN command-test ZINTERCARD 2 nothing read
    ACL DRYRUN command-test PFCOUNT write read
    ACL DRYRUN command-test ZCOUNT write 0 1
    ACL DRYRUN command-test TOUCH read
    ACL DRYRUN command-test EXISTS write
    ACL DRYRUN command-test MEMORY USAGE rw
    ACL DRYRUN command-test MEMORY USAGE nothing
    ACL DRYRUN command-test TYPE nothing
    ACL DRYRUN command-test STRLEN write
    ACL DRYRUN command-test XLEN nothing
    ACL DRYRUN command-test SET write v
    ACL DRYRUN command-test SET write v GET
    ACL DRYRUN command-test SET read v
    ACL DRYRUN command-test SET rw v get
    ACL DRYRUN command-test SET write v EX get
    ACL DRYRUN command-test BITFIELD read GET u4 0
    ACL DRYRUN command-test BITFIELD read SET u4 0 1
    ACL DRYRUN command-test BITFIELD write INCRBY u4 0 1
    ACL DRYRUN command-test BITFIELD write GET u4 0
    ACL DRYRUN command-test BITFIELD_RO read GET u4 0
    ACL DRYRUN command-test COPY read write
    ACL DRYRUN command-test COPY write read
    ACL DRYRUN command-test RENAME rw1 rw2
    ACL DRYRUN command-test RENAME read rw2
    ACL DRYRUN command-test LMOVE read write LEFT RIGHT
    ACL DRYRUN command-test LMOVE rw write LEFT RIGHT
    ACL DRYRUN command-test MSET write 1 read 2
    ACL DRYRUN command-test MSET write 1 write2 2
    ACL DRYRUN command-test MGET read write
    ACL DRYRUN command-test ZUNIONSTORE write 2 read rw
    ACL DRYRUN command-test ZUNIONSTORE write 2 read write
    ACL DRYRUN command-test XREAD STREAMS read rw 0 0
    ACL DRYRUN command-test XREAD COUNT 1 STREAMS read write 0 0
    ACL DRYRUN command-test XREADGROUP GROUP g c STREAMS rw 0
    ACL DRYRUN command-test XREADGROUP GROUP g c STREAMS read 0
    ACL DRYRUN command-test BLMPOP 0 2 rw read LEFT
    ACL DRYRUN command-test MIGRATE whatever whatever rw 0 500
    ACL DRYRUN command-test MIGRATE whatever whatever read 0 500
    ACL DRYRUN command-test MIGRATE whatever whatever "" 0 5000 KEYS rw
    ACL DRYRUN command-test MIGRATE whatever whatever "" 0 5000 KEYS write
    ACL DRYRUN command-test MIGRATE whatever whatever "" 0 5000 AUTH KEYS KEYS rw
    ACL DRYRUN command-test MIGRATE whatever whatever "" 0 5000 AUTH2 KEYS 123 KEYS read
    ACL DRYRUN command-test MIGRATE whatever whatever "" 0 5000 AUTH2 USER KEYS KEYS rw
    ACL SETUSER command-test -@all
    ACL DRYRUN command-test set somekey somevalue
    ACL DRYRUN command-test get somekey
    ACL DRYRUN command-test ping
    ACL DRYRUN command-test auth a b
    ACL DRYRUN command-test hello
    ACL DRYRUN command-test reset
    ACL DRYRUN command-test quit
    ACL SETUSER command-test +config|get +select|0 +client
    ACL DRYRUN command-test CONFIG SET a b
    ACL DRYRUN command-test CONFIG GET a
    ACL DRYRUN command-test Config Get
    ACL DRYRUN command-test CONFIG nosub
    ACL DRYRUN command-test CoNfIg
    ACL DRYRUN command-test CONFIG
    ACL DRYRUN command-test select 0
    ACL DRYRUN command-test select 1
    ACL DRYRUN command-test select
    ACL DRYRUN command-test client id
    ACL DRYRUN command-test GET
    ACL DRYRUN command-test SET v
    ACL DRYRUN command-test nosuch
    ACL DRYRUN command-test
    ACL DRYRUN
    ACL SETUSER scripter on nopass +readonly
    ACL DRYRUN scripter EVAL_RO "" 0
    ACL DRYRUN scripter EVALSHA_RO "" 0
    ACL DRYRUN scripter FCALL_RO "" 0
    ACL SETUSER test-channels +@all resetchannels &channel &pat*
    ACL DRYRUN test-channels spublish channel foo
    ACL DRYRUN test-channels ssubscribe channel
    ACL DRYRUN test-channels sunsubscribe
    ACL DRYRUN test-channels sunsubscribe otherchannel
    ACL DRYRUN test-channels unsubscribe otherchannel
    ACL DRYRUN test-channels punsubscribe otherchannel
    ACL DRYRUN test-channels spublish otherchannel foo
    ACL DRYRUN test-channels ssubscribe otherchannel foo
    ACL DRYRUN test-channels subscribe channel other
    ACL DRYRUN test-channels publish pattern x
    ACL DRYRUN test-channels psubscribe pat*
    ACL DRYRUN test-channels psubscribe pattern
    ACL DRYRUN test-channels psubscribe pat* *
    ACL DRYRUN test-channels pubsub numsub other
    ACL SETUSER sel on nopass +mget ~key (+mget ~key ~otherkey) (+get ~g*)
    ACL DRYRUN sel get key
    ACL DRYRUN sel get gkey
    ACL DRYRUN sel mget otherkey someotherkey
    ACL DRYRUN sel mget key otherkey someotherkey
    ACL DRYRUN sel mget key otherkey
    ACL DRYRUN sel set key v
"""


def test_dryrun(acl):
    acl.lines(DRYRUN)


# -- enforcement ----------------------------------------------------------------------------------------
def test_enforcement_toplevel(acl):
    acl.lines("""
        ACL SETUSER lg on >pw ~k* &c* +get +set +publish +multi +exec +eval +evalsha +auth +acl +client|setname +subscribe +psubscribe +ssubscribe +spublish +sort +select|0 +discard +ping
        CLIENT SETNAME myname
        AUTH lg pw
        ACL WHOAMI
        GET x
        GET k1
        SET k1 v
        SET x v
        INCR k1
        PUBLISH zz m
        PUBLISH cx m
        SPUBLISH zz m
        SPUBLISH cx m
        SELECT 0
        SELECT 1
        SORT k1
        SORT k1 BY x*
        SORT k1 BY nosort
        SORT k1 GET x*
        SORT k1 GET #
        EVAL "return redis.call('sort','k1','by','v*')" 0
        EVAL "return redis.pcall('sort','k1','get','v*')" 0
        EVAL "return redis.call('sort','k1')" 0
        CLIENT ID
        CLIENT SETNAME n2
        AUTH lg wrong
        AUTH nouser wrong
        AUTH wrong
        MULTI
        INCR x
        GET x
        GET k1
        EXEC
        MULTI
        GET k1
        PING
        EXEC
        EXEC
        DISCARD
        EVAL "redis.call('incr','k')" 0
        EVAL "redis.call('get','x')" 0
        EVAL "return redis.pcall('get','x')" 0
        EVAL "return redis.pcall('incr','k')" 0
        EVAL "return redis.pcall('publish','x', 'y')" 0
        EVAL "return redis.call('get','k1')" 0
        EVAL "return redis.acl_check_cmd('get','k1')" 0
        EVAL "return redis.acl_check_cmd('get','x')" 0
        EVAL "return redis.acl_check_cmd('incr','k1')" 0
        EVAL "return redis.acl_check_cmd('nosuch')" 0
        SUBSCRIBE cx zz
        PSUBSCRIBE c* cx*
        SSUBSCRIBE cx zz
        HELLO 3
        GET x
        HELLO 2
        RESET
        ACL WHOAMI
    """)


def test_enforcement_pubsub(acl, pair):
    acl.check("ACL", "SETUSER", "psuser", "on", ">pspass", "+acl", "+client", "+@pubsub", "resetchannels",
              "&foo:1", "&bar:*")
    a = pair()
    both(a, "AUTH", "psuser", "pspass")
    both(a, "SUBSCRIBE", "foo:1")
    both(a, "SUBSCRIBE", "bar:2")
    both(a, "SUBSCRIBE", "zap:3")
    both(a, "PSUBSCRIBE", "bar:*")
    both(a, "PSUBSCRIBE", "bar:baz")
    both(a, "PING")
    both(a, "SSUBSCRIBE", "foo:1")
    both(a, "SSUBSCRIBE", "zap:3")
    acl.check("PUBLISH", "foo:1", "hello")
    assert parse(a[1].read_reply()) == parse(a[0].read_reply())


def test_multi_queue_denial(acl):
    acl.lines("""
        ACL SETUSER psuser on >pspass +acl +client +@pubsub +multi +discard +exec +get ~k
        AUTH psuser pspass
        MULTI
        PUBLISH notexits helloworld
        SUBSCRIBE notexits foo:1
        PSUBSCRIBE notexits:* bar:*
        DISCARD
        MULTI
        GET k
        WATCH k
        SET k v
        EXEC
        ACL SETUSER psuser -exec
        MULTI
        GET k
        EXEC
        GET k
        EXEC
    """)


def test_exec_recheck(acl, pair):
    a = pair()
    acl.check("ACL", "SETUSER", "ex", "on", "nopass", "+@all", "~*", "&*")
    both(a, "AUTH", "ex", "x")
    both(a, "MULTI")
    both(a, "INCR", "k")
    both(a, "GET", "k")
    both(a, "GET", "other")
    both(a, "PUBLISH", "ch", "m")
    both(a, "PING")
    acl.check("ACL", "SETUSER", "ex", "-incr", "resetkeys", "~k", "resetchannels")
    both(a, "EXEC")
    r, p = acl.both("ACL", "LOG")
    assert _mask_log(p) == _mask_log(r)


def test_restricted_default_user(acl, pair):
    try:
        acl.lines("""
            ACL SETUSER secure-user >supass on +@all ~* &*
            ACL SETUSER default -@all
            PING
            ACL WHOAMI
            HELLO 2 AUTH secure-user supass
            ACL WHOAMI
            ACL SETUSER default +@all -flushdb ~* &*
        """)
        a = pair()
        both(a, "PING")
        both(a, "FLUSHDB")
        both(a, "SET", "k", "v")
        both(a, "ACL", "WHOAMI")
    finally:
        acl.check("ACL", "SETUSER", "default", "nopass", "+@all", "~*", "&*")
    both(a, "FLUSHDB")


def test_default_user_off_and_passwords(acl, pair):
    try:
        acl.check("ACL", "SETUSER", "default", "off")
        a = pair()
        both(a, "PING")
        both(a, "AUTH", "x")
        both(a, "AUTH", "default", "x")
        both(a, "HELLO", "3")
        both(a, "ACL", "WHOAMI")
        acl.check("ACL", "SETUSER", "default", "on", ">pw")
        b = pair()
        both(b, "PING")
        both(b, "AUTH", "x")
        both(b, "AUTH", "pw")
        both(b, "PING")
        both(b, "RESET")
        both(b, "PING")
        acl.check("ACL", "SETUSER", "default", "nopass")
        both(b, "PING")
        c = pair()
        both(c, "PING")
    finally:
        acl.check("ACL", "SETUSER", "default", "on", "nopass")


def test_requirepass_sync(acl, pair):
    try:
        acl.lines("""
            CONFIG SET requirepass abc
            ACL GETUSER default
            CONFIG GET requirepass
            ACL SETUSER default >other
            CONFIG GET requirepass
            ACL GETUSER default
        """)
        a = pair()
        both(a, "PING")
        both(a, "AUTH", "abc")
        both(a, "AUTH", "other")
        both(a, "AUTH", "default", "abc")
        acl.lines("""
            CONFIG SET requirepass ""
            ACL GETUSER default
            AUTH x
        """)
        b = pair()
        both(b, "PING")
    finally:
        acl.check("CONFIG", "SET", "requirepass", "")


def test_disabled_user_and_sessions(acl, redis_proc, pyredis_proc):
    acl.lines("""
        ACL SETUSER newuser
        ACL SETUSER newuser >passwd1
        AUTH newuser passwd1
        ACL SETUSER newuser on +acl
        AUTH newuser passwd1
        ACL WHOAMI
        ACL SETUSER newuser >passwd2
        AUTH newuser passwd1
        AUTH newuser passwd2
        AUTH newuser passwd3
        ACL SETUSER newuser <passwd1
        AUTH newuser passwd1
        ACL SETUSER newuser #34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6
        AUTH newuser passwd4
        ACL SETUSER newuser !34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6
        AUTH newuser passwd4
        SET foo bar
        ACL SETUSER newuser +set
        SET foo bar
        ACL SETUSER newuser allcommands ~foo:* ~bar:*
        SET foo:1 a
        SET zap:3 c
        ACL SETUSER newuser off
        PING
        AUTH newuser passwd2
        ACL SETUSER newuser on nopass
        AUTH newuser zipzapblabla
        HELLO 2 AUTH newuser x
        HELLO 2 AUTH nouser x
        ACL SETUSER newuser -ping
        PING
        ACL SETUSER newuser -@all +@set +acl
        SADD myset a b c
        ACL SETUSER newuser +@all -@string
        SET foo bar
        ACL SETUSER newuser +@all -client +client|getname +client|setname
        CLIENT GETNAME
        CLIENT ID
        CLIENT KILL type master
        ACL SETUSER newuser -@all +acl +select|0
        SELECT 0
        SELECT 1
        ACL SETUSER newuser -@all +acl +incr +debug|object
        INCR key
        DEBUG OBJECT key
        DEBUG SLEEP 0
        ACL SETUSER newuser -@all +acl +@stream
        XADD key * field value
        XADD s * field value
        XINFO STREAM s
        ACL SETUSER newuser +@all -memory|doctor
        MEMORY DOCTOR
        ACL SETUSER newuser -memory
        MEMORY USAGE s
        ACL DELUSER newuser
    """)
    for c in (acl.r, acl.p):
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(3):
                c.call("PING")
    acl.r, acl.p = redis_proc.client(), pyredis_proc.client()


def test_kill_clients_of_deleted_user(acl, pair):
    acl.check("ACL", "SETUSER", "gone", "on", "nopass", "+@all")
    a, b = pair(), pair()
    both(a, "AUTH", "gone", "x")
    both(a, "CLIENT", "SETNAME", "victim")
    both(b, "AUTH", "gone", "x")
    acl.check("ACL", "DELUSER", "gone")
    for r in (a, b):
        for c in r:
            with pytest.raises((ConnectionError, OSError)):
                for _ in range(3):
                    c.call("PING")
    for srv in (acl.r, acl.p):
        assert b"victim" not in srv.call("CLIENT", "LIST")


def test_subscribers_killed_on_channel_revoke(acl, pair):
    for sub in (("SUBSCRIBE", "foo:1"), ("SSUBSCRIBE", "foo:1"), ("PSUBSCRIBE", "bar:*"), ("PSUBSCRIBE", "foo")):
        acl.check("ACL", "SETUSER", "psuser", "on", ">pspass", "+@all", "resetchannels", "&foo:1", "&bar:*", "&foo")
        a = pair()
        both(a, "AUTH", "psuser", "pspass")
        both(a, "CLIENT", "SETNAME", "deathrow")
        both(a, *sub)
        acl.check("ACL", "SETUSER", "psuser", "resetchannels")
        time.sleep(0.05)
        for srv in (acl.r, acl.p):
            assert b"deathrow" not in srv.call("CLIENT", "LIST"), sub
    acl.check("ACL", "SETUSER", "psuser", "resetchannels", "&foo:1", "&bar:*", "&orders")
    a = pair()
    both(a, "AUTH", "psuser", "pspass")
    both(a, "CLIENT", "SETNAME", "pardoned")
    both(a, "SUBSCRIBE", "foo:1")
    both(a, "SSUBSCRIBE", "orders")
    both(a, "PSUBSCRIBE", "bar:*")
    acl.check("ACL", "SETUSER", "psuser", "resetchannels", "&foo:1", "&bar:*", "&orders", "&baz:qaz", "&zoo:*")
    acl.check("ACL", "SETUSER", "psuser", "allchannels")
    for srv in (acl.r, acl.p):
        assert b"pardoned" in srv.call("CLIENT", "LIST")


def test_client_kill_user(acl, pair):
    acl.check("ACL", "SETUSER", "k1", "on", "nopass", "+@all")
    a = pair()
    both(a, "AUTH", "k1", "x")
    acl.lines("""
        CLIENT KILL USER nosuch
        CLIENT KILL USER k1
        CLIENT KILL USER k1
    """)


# -- ACL LOG --------------------------------------------------------------------------------------------
_MASK = [(re.compile(rb"\$\d+\r\nid=[^\r]*\r\n"), b"$X\r\nCLIENT\r\n"),
         (re.compile(rb"(\$11\r\nage-seconds\r\n)(\$\d+\r\n[^\r]*|,[^\r]*)\r\n"), rb"\1AGE\r\n")]


def _mask_log(raw: bytes) -> bytes:
    for rx, sub in _MASK:
        raw = rx.sub(sub, raw)
    return raw


def _check_log(d: Differ, *args) -> None:
    r, p = d.both("ACL", "LOG", *args)
    assert _mask_log(p) == _mask_log(r), (r, p)


def test_acl_log(acl):
    acl.lines("""
        ACL SETUSER antirez >foo on +set ~object:1234 +eval +multi +exec +incr|x +script|flush
        ACL SETUSER antirez resetchannels +publish
        AUTH antirez foo
        GET foo
        SCRIPT HELP
        SET somekeynotallowed 1234
        PUBLISH somechannelnotallowed nullmsg
        GET foo
        GET foo
        MULTI
        INCR foo
        EXEC
        EVAL "redis.call('incr','foo')" 0
        EVAL "return redis.pcall('set','nope','x')" 0
        AUTH antirez wrong-password
        auth antirez wrong-password
        AUTH nosuchuser x
        HELLO 2 AUTH antirez wrong
        AUTH default ""
    """)
    _check_log(acl)
    _check_log(acl, "2")
    _check_log(acl, "0")
    _check_log(acl, "-1")
    _check_log(acl, "100")
    acl.hello("3")
    _check_log(acl, "3")
    acl.hello("2")
    acl.lines("""
        ACL LOG x
        ACL LOG 1 2
        ACL LOG RESET x
        ACL LOG reset
        ACL LOG
    """)


def test_script_acl_check_cmd(acl):
    acl.lines("""
        ACL SETUSER sc on nopass +eval +get +set|x ~k* &c
        AUTH sc x
        EVAL "return redis.acl_check_cmd('get','x')" 0
        EVAL "return redis.acl_check_cmd('get','k')" 0
        EVAL "return redis.acl_check_cmd('set','k', 'v')" 0
        EVAL "return redis.acl_check_cmd('publish','c', 'v')" 0
        EVAL "return redis.acl_check_cmd('nosuch')" 0
        EVAL "return redis.acl_check_cmd('get')" 0
        AUTH default x
        EVAL "return redis.acl_check_cmd('get','x')" 0
    """)
    _check_log(acl)


def test_acl_log_grouping_and_limit(acl):
    acl.lines("""
        ACL SETUSER lg on nopass +get ~k*
        AUTH lg x
        GET xa
        GET xb
        GET xa
        AUTH default x
    """)
    _check_log(acl)
    acl.lines("""
        ACL LOG RESET
        CONFIG SET acllog-max-len 5
        AUTH lg x
    """)
    for j in range(10):
        acl.check("GET", f"obj:{j}")
    acl.check("AUTH", "default", "x")
    _check_log(acl)
    acl.check("CONFIG", "SET", "acllog-max-len", "2")
    _check_log(acl)
    acl.check("CONFIG", "SET", "acllog-max-len", "0")
    _check_log(acl)


def test_acl_log_selectors(acl):
    acl.lines("""
        ACL SETUSER acl-log-test-selector on nopass
        ACL SETUSER acl-log-test-selector +mget ~key (+mget ~key ~otherkey)
        AUTH acl-log-test-selector x
        GET key
        MGET otherkey someotherkey
        MGET key otherkey someotherkey
        AUTH default x
    """)
    _check_log(acl)


# -- ACL files and config -------------------------------------------------------------------------------
USER_ACL = "user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set +acl ~set* &* >bob\n" \
           "user default on nopass ~* &* +@all\n"


class AclFileServers:
    """redis-server and pyredis started with their own copy of an ACL file."""

    def __init__(self, text: str, *extra: str) -> None:
        self.procs = []
        self.paths = []
        for kind in ("redis", "pyredis"):
            d = scratch_dir(f"acl-{kind}-")
            path = os.path.join(d, "users.acl")
            with open(path, "w") as fh:
                fh.write(text)
            self.paths.append(path)
            self.procs.append(ServerProcess(kind, ["--aclfile", "users.acl", *extra], cwd=d))
        self.d = Differ(*self.procs)

    def reconnect(self) -> Differ:
        self.d = Differ(*self.procs)
        return self.d

    def write(self, text: str) -> None:
        for path in self.paths:
            with open(path, "w") as fh:
                fh.write(text)

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


@pytest.fixture
def aclfile_servers():
    started: list[AclFileServers] = []

    def start(text: str, *extra: str) -> AclFileServers:
        s = AclFileServers(text, *extra)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_aclfile_load_save(aclfile_servers):
    srv = aclfile_servers(USER_ACL, "--acl-pubsub-default", "allchannels")
    d = srv.d
    d.lines("""
        ACL LIST
        SUBSCRIBE foo
        UNSUBSCRIBE
        PUBLISH hello world
        ACL SETUSER default reset on nopass ~* +@all
        PUBLISH hello world
        CONFIG SET acl-pubsub-default resetchannels
        ACL SETUSER default reset on nopass ~* +@all
        PUBLISH hello world
        SUBSCRIBE foo
        PSUBSCRIBE bar*
        CONFIG SET acl-pubsub-default allchannels
        ACL SETUSER default reset on nopass ~* &* +@all
        AUTH alice alice
        ACL WHOAMI
        SET key value
        AUTH bob bob
        SADD set 1 2 3
        SET key value
        ACL SETUSER eve +get allkeys >eve on
        ACL SAVE
        ACL LOAD
    """)
    for c in (d.r, d.p):
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(3):
                c.call("ACL", "LIST")
    d = srv.reconnect()
    d.lines("""
        ACL LIST
        AUTH eve eve
        GET key
        SET key value
        AUTH alice alice
        ACL SETUSER harry on nopass resetchannels &test +@all ~*
        ACL SAVE
    """)
    saved = [open(p, "rb").read() for p in srv.paths]
    assert saved[0] == saved[1]
    srv.write(USER_ACL + "user alice on nopass ~* +@all\n")
    d.check("ACL", "LOAD")
    d.check("ACL", "LIST")


def test_aclfile_errors(aclfile_servers):
    srv = aclfile_servers(USER_ACL)
    d = srv.d
    d.check("ACL", "LIST")
    cases = [
        USER_ACL + "user alice on nopass ~* -@all\n",
        USER_ACL + "user default on nopass ~* -@all\n",
        "foo bar\n",
        "user\n",
        "user x foo\n",
        "user x on >a +nosuch\nuser y ~a allkeys ~b\n",
        "user x on +nosuch foo bar +nosuch2\n",
        "\n\n# comment\nuser x on\n  \n",
        'user "a b" on\n',
        "user x on \"quoted rule\"\n",
        "user x (+get ~a\n",
        "user x\ton\n",
        "user x on\tnopass\n",
        "userx\n",
    ]
    for text in cases:
        srv.write(text)
        d.check("ACL", "LOAD")
        d.check("ACL", "LIST")
    for text in ('user a"b on\n', "user x (+get ~a)\n", "user x on\r\nuser y on\r\n", "user x  on\n",
                 "user x on >pass nopass\n", "user x\n", "user x on >a\tb\n", "user alice on nopass ~* +@all\n"):
        srv.write(text)
        d.check("ACL", "LOAD")
        d.check("ACL", "LIST")
    os.unlink(srv.paths[0])
    os.unlink(srv.paths[1])
    d.check("ACL", "LOAD")
    d.check("ACL", "SAVE")
    assert open(srv.paths[0], "rb").read() == open(srv.paths[1], "rb").read()


def test_no_aclfile(acl):
    acl.lines("""
        ACL LOAD
        ACL SAVE
        ACL LOAD x
    """)


def test_user_directives_at_startup():
    procs = []
    try:
        for kind in ("redis", "pyredis"):
            procs.append(ServerProcess(kind, ["--user", "default", "on", "nopass", "~*", "+@all", "-flushdb",
                                              "--user", "bob", "on", ">pw", "~b*", "+get"]))
        d = Differ(*procs)
        d.lines("""
            ACL LIST
            FLUSHDB
            SUBSCRIBE foo
            AUTH bob pw
            GET bx
            GET x
        """)
        d.close()
    finally:
        for p in procs:
            p.stop()


# -- hypothesis: random rule sequences --------------------------------------------------------------------
_RULES = st.sampled_from([
    "on", "off", "nopass", "resetpass", ">p1", ">p2", "<p1", "reset", "allkeys", "resetkeys", "~a*", "~b",
    "%R~r*", "%W~w*", "%RW~x", "allchannels", "resetchannels", "&c*", "&d", "+@all", "-@all", "+@string",
    "-@string", "+@hash", "-@write", "+@read", "-@dangerous", "+get", "-get", "+set", "-set", "+client",
    "-client", "+client|id", "-client|kill", "+select|0", "+select|1", "-select", "+debug|object", "+config|get",
    "-config|set", "+nosuch", "+@nosuch", "foo", "(~s* +get)", "(+@hash %R~h*)", "clearselectors",
    "+pfadd", "-pfcount", "+@hyperloglog", "-@keyspace", "+@connection", "skip-sanitize-payload",
    "%R~*", "~*", "&*", "(~* +@all)", "-@hyperloglog", "+@slow", "-@fast", "+@pubsub", "+acl", "-acl|setuser",
    "+memory", "-memory|doctor", "-@admin", "+@transaction", "-multi", "+psubscribe", "&c1", "(&c* +publish)",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_RULES, min_size=1, max_size=6), min_size=1, max_size=3))
def test_random_setuser(acl, batches):
    acl.check("ACL", "DELUSER", "hyp")
    for rules in batches:
        acl.check("ACL", "SETUSER", "hyp", *rules)
        check_user(acl, "hyp")
    for cmd in (("GET", "a1"), ("SET", "w1", "v"), ("SET", "x", "v", "GET"), ("CLIENT", "ID"),
                ("CLIENT", "KILL", "ID", "999"), ("SELECT", "1"), ("HSET", "h1", "f", "v"), ("PUBLISH", "c1", "m"),
                ("PSUBSCRIBE", "c*"), ("PFADD", "b", "x"), ("CONFIG", "SET", "maxclients", "1"),
                ("MEMORY", "DOCTOR"), ("MULTI",), ("COPY", "r1", "w1"), ("GET", "r2")):
        acl.check("ACL", "DRYRUN", "hyp", *cmd)


# -- redis-py ---------------------------------------------------------------------------------------------
def test_redis_py_users(acl, pyredis_proc):
    port = pyredis_proc.port
    admin = redis.Redis(port=port, decode_responses=True)
    try:
        assert admin.acl_setuser("alice", enabled=True, passwords=["+secret"], keys=["app:*"],
                                 commands=["+get", "+set", "+acl|whoami"])
        assert "alice" in admin.acl_users()
        info = admin.acl_getuser("alice")
        assert info["enabled"] is True and "~app:*" in info["keys"]
        alice = redis.Redis(port=port, username="alice", password="secret", decode_responses=True)
        assert alice.acl_whoami() == "alice"
        assert alice.set("app:1", "x") is True
        assert alice.get("app:1") == "x"
        with pytest.raises(redis.exceptions.NoPermissionError, match="keys used as arguments"):
            alice.get("other")
        with pytest.raises(redis.exceptions.NoPermissionError, match="'incrby' command"):
            alice.incr("app:2")
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(port=port, username="alice", password="wrong").ping()
        entries = admin.acl_log()
        assert {e["reason"] for e in entries} >= {"key", "command", "auth"}
        assert admin.acl_dryrun("alice", "get", "app:1") == "OK"
        assert admin.acl_deluser("alice") == 1
        with pytest.raises(redis.exceptions.ConnectionError):
            alice.get("app:1")
        pw = admin.acl_genpass()
        assert len(pw) == 64
        assert "default" in admin.acl_list()[0]
    finally:
        admin.acl_log_reset()
        admin.close()


def test_redis_py_pipeline_and_pubsub(acl, pyredis_proc):
    port = pyredis_proc.port
    admin = redis.Redis(port=port, decode_responses=True)
    try:
        admin.acl_setuser("bob", enabled=True, nopass=True, keys=["k*"], channels=["news.*"],
                          commands=["+@all", "-flushall"])
        bob = redis.Redis(port=port, username="bob", password="any", decode_responses=True)
        with bob.pipeline() as p:
            p.set("k1", "1").incr("k1").get("k1")
            assert p.execute() == [True, 2, "2"]
        with pytest.raises(redis.exceptions.NoPermissionError):
            bob.flushall()
        ps = bob.pubsub()
        ps.subscribe("news.tech")
        assert ps.get_message(timeout=1)["type"] == "subscribe"
        with pytest.raises(redis.exceptions.NoPermissionError):
            bob.publish("sports", "x")
        assert bob.publish("news.tech", "hello") == 1
        msg = ps.get_message(timeout=1)
        assert msg["data"] == "hello"
        admin.acl_setuser("bob", reset_channels=True, channels=["other"])
        time.sleep(0.05)
        with pytest.raises(redis.exceptions.ConnectionError):
            for _ in range(3):
                ps.get_message(timeout=0.2)
                ps.ping()
        ps.close()
        bob.close()
    finally:
        admin.acl_deluser("bob")
        admin.close()


def test_config_rewrite_users():
    """CONFIG REWRITE writes the users (ACL LIST lines) in place of the "user" lines, then at the end."""
    import shutil
    import subprocess
    import sys

    from support import ROOT, free_port, wait_ready

    procs, confs = [], []
    try:
        for kind in ("redis", "pyredis"):
            d = scratch_dir(f"aclconf-{kind}-")
            conf = os.path.join(d, "r.conf")
            with open(conf, "w") as fh:
                fh.write('save ""\n# users\nuser default on nopass ~* +@all -flushdb\nappendonly no\n')
            port = free_port()
            exe = [shutil.which("redis-server")] if kind == "redis" else [sys.executable, "-m", "pyredis"]
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
            p = subprocess.Popen([*exe, conf, "--port", str(port)], cwd=d, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_ready(port, p)
            confs.append((conf, port))
        clients = [RawClient(port) for _, port in confs]
        for c in clients:
            assert c.call("ACL", "SETUSER", "bob", "on", ">x", "~b*", "+get") == b"+OK\r\n"
            assert c.call("FLUSHDB").startswith(b"-NOPERM")
            assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
        files = []
        for conf, _ in confs:
            with open(conf) as fh:
                text = fh.read()
            files.append([x for x in text.splitlines() if x.startswith(("user ", "# users", "save", "appendonly"))])
        assert files[0] == files[1]
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
