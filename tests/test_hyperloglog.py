"""HyperLogLog commands compared byte for byte with redis-server (replies and GET of the HLL)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import keyspace_events

HLL_ERRORS = """
    SET s foo
    LPUSH l a
    PFADD s a
    PFADD l a
    PFCOUNT s
    PFCOUNT l
    PFCOUNT nokey s
    PFCOUNT nokey l
    PFMERGE s
    PFMERGE l
    PFMERGE d s
    PFMERGE d l
    EXISTS d
    PFDEBUG encoding s
    PFDEBUG encoding l
    PFDEBUG encoding nokey
    PFDEBUG foo nokey
    PFDEBUG foo s
    PFADD
    PFCOUNT
    PFMERGE
    PFDEBUG
    PFDEBUG encoding
    PFDEBUG encoding a b
    PFSELFTEST x
"""


def test_errors_and_arity(diff):
    diff.lines(HLL_ERRORS)


def test_basic_flow(diff):
    diff.lines("""
        PFADD h
        GET h
        PFADD h
        PFCOUNT h
        GET h
        PFADD h a b c
        GET h
        PFADD h a b c
        PFCOUNT h
        GET h
        PFCOUNT h
        PFADD h ""
        PFADD h d
        GET h
        PFCOUNT h h
        PFCOUNT h nokey
        PFCOUNT nokey
        PFCOUNT nokey nokey2
        GET h
        PFDEBUG encoding h
        PFDEBUG decode h
        PFDEBUG foo h
        PFDEBUG FOO h
        PFDEBUG ENCODING h
        PFSELFTEST
    """)


def test_cache_bytes_and_invalidation(diff):
    diff.lines("""
        PFADD hll a b c
        PFCOUNT hll
        GETRANGE hll 15 15
        PFADD hll a b c
        GETRANGE hll 15 15
        PFADD hll 1 2 3
        GETRANGE hll 15 15
        GET hll
        PFCOUNT hll
        GET hll
    """)


def test_merge(diff):
    diff.lines("""
        PFADD h1 a b c
        PFADD h2 b c d
        PFADD h3 c d e
        PFMERGE h h1 h2 h3
        GET h
        PFCOUNT h
        GET h
        PFMERGE h h1
        GET h
        PFMERGE empty
        GET empty
        PFMERGE empty
        PFCOUNT empty
        GET empty
        PFMERGE h1 h2
        GET h1
        PFCOUNT h1 h2 h3
    """)


def test_merge_dense_sources(diff):
    elems = [f"e{i}" for i in range(3000)]
    diff.check("PFADD", "big", *elems)
    diff.check("PFDEBUG", "encoding", "big")
    diff.check("PFADD", "small", "x", "y")
    diff.check("PFMERGE", "m", "small", "big")
    diff.check("GET", "m")
    diff.check("PFDEBUG", "encoding", "m")
    diff.check("PFCOUNT", "m")
    diff.check("PFCOUNT", "small", "big", "m")
    diff.check("PFMERGE", "small", "m")
    diff.check("GET", "small")


def test_todense_getreg(diff):
    diff.lines("""
        PFADD h a b c d e f g
        PFDEBUG todense h
        PFDEBUG todense h
        PFDEBUG encoding h
        PFDEBUG decode h
        GET h
        PFCOUNT h
        GET h
        PFADD h2 x y z
        PFDEBUG getreg h2
        PFDEBUG encoding h2
        GET h2
        PFDEBUG getreg h2
        PFADD h2 w
        GET h2
    """)


def test_promotion_by_size(diff):
    try:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "200")
        for i in range(0, 400, 7):
            diff.check("PFADD", "p", *[f"v{j}" for j in range(i, i + 7)])
            diff.check("GET", "p")
        diff.check("PFDEBUG", "encoding", "p")
        diff.check("PFCOUNT", "p")
    finally:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_large_sparse_limit(diff):
    try:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "100000")
        for i in range(0, 20000, 2000):
            diff.check("PFADD", "big", *[f"x{j}" for j in range(i, i + 2000)])
            diff.check("PFDEBUG", "encoding", "big")
        diff.check("GET", "big")
        diff.check("PFCOUNT", "big")
    finally:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


# MurmurHash64A of this element leaves 32 zero bits above the register index (found by brute
# force): its register value, 33, does not fit a sparse VAL opcode and forces the dense encoding.
HIGH_REGISTER = (3130853818).to_bytes(8, "little")


def test_promotion_by_register_value(diff):
    diff.check("PFADD", "h", "a", "b")
    diff.check("PFADD", "h", HIGH_REGISTER)
    diff.check("PFDEBUG", "encoding", "h")
    diff.check("GET", "h")
    diff.check("PFCOUNT", "h")
    diff.check("PFADD", "h2", "c")
    diff.check("PFMERGE", "h2", "h")
    diff.check("PFDEBUG", "encoding", "h2")
    diff.check("GET", "h2")
    diff.check("PFADD", "h3", HIGH_REGISTER)
    diff.check("GET", "h3")
    diff.check("PFCOUNT", "h3", "h2")


def test_corrupt_values(diff):
    diff.lines("""
        PFADD hll a b c
        APPEND hll hello
        PFCOUNT hll
        PFCOUNT hll hll
        PFMERGE dst hll
        PFDEBUG getreg hll
        PFADD hll a b c
        DEL hll
        PFADD hll a b c
        SETRANGE hll 0 0123
        PFCOUNT hll
        PFADD hll x
        DEL hll
        PFADD hll a b c
        SETRANGE hll 4 x
        PFCOUNT hll
        DEL hll
        PFADD hll a b c
        SETRANGE hll 4 "\\x00"
        PFCOUNT hll
        SET short HYLL
        PFCOUNT short
        SET hdr HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00
        PFCOUNT hdr
        PFADD hdr a
    """.replace("\\\\x", "\\x"))


def _raw(s: str) -> bytes:
    return s.encode("latin-1")


def test_corrupt_binary_values(diff):
    header = b"HYLL\x01" + b"\x00" * 11
    # XZERO runs adding up past 16384 registers, then a VAL opcode.
    diff.check("SET", "x", header + b"\x7f\xff" * 3 + b"\xff")
    diff.check("PFCOUNT", "x")
    diff.check("PFCOUNT", "x", "x")
    diff.check("PFDEBUG", "getreg", "x")
    # A huge run of ZERO opcodes (way beyond 16384 registers) is refused quickly.
    diff.check("SET", "z", header + b"\x3f" * 300000 + b"\xff")
    diff.check("PFCOUNT", "z")
    diff.check("PFCOUNT", "z", "z")
    diff.check("PFDEBUG", "getreg", "z")
    # Too short: registers missing.
    diff.check("SET", "s", header + b"\x7f\x00")
    diff.check("PFCOUNT", "s")
    diff.check("PFMERGE", "d", "s")
    diff.check("PFDEBUG", "todense", "s")
    # A valid sparse value written by hand, with a non-canonical XZERO for a short run.
    body = b"\x40\x00" + b"\x80" + b"\x7f\xfd"
    diff.check("SET", "ok", header + body)
    diff.check("PFCOUNT", "ok")
    diff.check("PFADD", "ok", "a", "b", "c")
    diff.check("GET", "ok")
    diff.check("PFDEBUG", "decode", "ok")
    # Registers beyond the opcodes: PFADD keeps the updates made before the corrupt spot.
    table = _targets()
    low = next(e for (idx, _), e in table.items() if idx < 40)
    diff.check("SET", "part", header + b"\x40\xff")
    diff.check("PFADD", "part", low, "t0", "zzz")
    diff.check("GET", "part")
    diff.check("PFADD", "part", "t0")
    diff.check("GET", "part")
    # A dense value with register values above 51 (ignored by the estimator).
    diff.check("SET", "dn", b"HYLL\x00" + b"\x00" * 11 + b"\xff" * 12288)
    diff.check("PFCOUNT", "dn")
    diff.check("PFADD", "dn", "a")
    diff.check("PFCOUNT", "dn", "dn")
    diff.check("SETRANGE", "dn", 15, b"\x80")
    diff.check("PFCOUNT", "dn")
    diff.check("GET", "dn")
    diff.check("PFCOUNT", "dn")


def test_fuzz_corruption(diff):
    rnd = random.Random(7)
    for _ in range(40):
        diff.check("DEL", "hll")
        diff.check("PFADD", "hll", *[str(rnd.random()) for _ in range(rnd.randrange(400))])
        length = int(diff.check("STRLEN", "hll")[1:-2])
        for _ in range(3):
            pos = rnd.randrange(length)
            diff.check("SETRANGE", "hll", pos, bytes([rnd.randrange(256)]))
        diff.check("PFCOUNT", "hll")
        diff.check("GET", "hll")


def test_keyspace_events(diff):
    events = keyspace_events(diff, """
        PFADD h a
        PFADD h a
        PFCOUNT h
        PFMERGE h2 h
        PFDEBUG todense h
        PFDEBUG getreg h2
    """)
    assert len(events) == 3


def test_dirty_counts(diff):
    def dirty(cli):
        info = cli.call("INFO", "persistence").decode()
        return int(info.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])

    for cmd in (["PFADD", "h"], ["PFADD", "h"], ["PFADD", "h", "a", "b", "c"], ["PFCOUNT", "h"],
                ["PFCOUNT", "h"], ["PFMERGE", "h2", "h"], ["PFDEBUG", "todense", "h"], ["PFADD", "n", "x"]):
        before = (dirty(diff.r), dirty(diff.p))
        diff.check(*cmd)
        after = (dirty(diff.r), dirty(diff.p))
        assert after[0] - before[0] == after[1] - before[1], cmd


@pytest.mark.parametrize("resp", [2, 3])
def test_resp_shapes(diff, resp):
    diff.both("HELLO", resp)  # client ids differ
    diff.lines("""
        PFADD h a b
        PFCOUNT h
        PFDEBUG encoding h
        PFDEBUG decode h
        PFMERGE h2 h
    """)
    diff.both("HELLO", 2)


def test_many_elements_exact(diff):
    rnd = random.Random(42)
    for n in (1, 10, 100, 1000, 5000):
        elems = [str(rnd.random()) for _ in range(n)]
        diff.check("PFADD", f"k{n}", *elems)
        diff.check("PFCOUNT", f"k{n}")
        diff.check("GET", f"k{n}")
    diff.check("PFCOUNT", "k1", "k10", "k100", "k1000", "k5000")
    diff.check("PFMERGE", "all", "k1", "k10", "k100", "k1000")
    diff.check("GET", "all")
    diff.check("PFCOUNT", "all")
    diff.check("PFMERGE", "all", "k5000")
    diff.check("GET", "all")


_element = st.one_of(
    st.integers(0, 300).map(str),
    st.binary(min_size=0, max_size=24),
    st.text(alphabet="abcdef", min_size=0, max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.tuples(st.sampled_from(["h1", "h2"]), st.lists(_element, min_size=0, max_size=60)),
        min_size=1,
        max_size=12,
    ),
    sparse_max=st.sampled_from([0, 40, 120, 400, 3000]),
)
def test_random_pfadd_batches(diff, batches, sparse_max):
    diff.check("FLUSHDB")
    diff.check("CONFIG", "SET", "hll-sparse-max-bytes", sparse_max)
    try:
        for key, elems in batches:
            diff.check("PFADD", key, *elems)
            diff.check("GET", key)
            diff.check("PFCOUNT", key)
            diff.check("GET", key)
        diff.check("PFCOUNT", "h1", "h2")
        diff.check("PFMERGE", "h3", "h1", "h2")
        diff.check("GET", "h3")
        diff.check("PFCOUNT", "h3")
    finally:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), sizes=st.lists(st.integers(0, 2500), min_size=1, max_size=4))
def test_random_large_batches(diff, seed, sizes):
    rnd = random.Random(seed)
    diff.check("FLUSHDB")
    for i, n in enumerate(sizes):
        diff.check("PFADD", "h", *[str(rnd.random()) for _ in range(n)])
        if i % 2:
            diff.check("PFDEBUG", "todense", "h")
        diff.check("PFCOUNT", "h")
        diff.check("GET", "h")


_TARGETS: dict[tuple[int, int], bytes] = {}


def _targets() -> dict[tuple[int, int], bytes]:
    """Elements by (register index, register value), for registers 0..47 (hashed locally)."""
    if not _TARGETS:
        from pyredis.engine.hll import element_position

        for i in range(1 << 18):
            ele = b"t%d" % i
            idx, cnt = element_position(ele)
            if idx < 48:
                _TARGETS.setdefault((idx, cnt), ele)
    return _TARGETS


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 47), st.integers(1, 4)), min_size=1, max_size=8),
        min_size=1,
        max_size=10,
    ),
    sparse_max=st.integers(16, 60),
)
def test_random_sparse_edits(diff, batches, sparse_max):
    """Elements aimed at a few neighbouring registers: opcode splits, merges and promotion."""
    table = _targets()
    diff.check("FLUSHDB")
    diff.check("CONFIG", "SET", "hll-sparse-max-bytes", sparse_max)
    try:
        for batch in batches:
            elems = [table[pos] for pos in batch if pos in table]
            diff.check("PFADD", "h", *elems)
            diff.check("GET", "h")
        diff.check("PFCOUNT", "h")
        diff.check("PFMERGE", "m", "h")
        diff.check("GET", "m")
    finally:
        diff.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
