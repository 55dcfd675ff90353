"""Differential tests: list commands against redis-server (replies, errors, RESP3, random sequences)."""

from __future__ import annotations

import pytest
from events_support import check_events, check_keyspace_stats, check_propagation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_push_pop_basic(diff):
    diff.lines("""
        LPUSH l a b c
        RPUSH l d e
        LRANGE l 0 -1
        LLEN l
        LPUSHX l x
        RPUSHX l y
        LPUSHX nosuch x
        RPUSHX nosuch x
        EXISTS nosuch
        LPOP l
        RPOP l
        LPOP l 2
        RPOP l 2
        LPOP l 0
        RPOP l 0
        LPOP l 100
        EXISTS l
        LPOP l
        LPOP l 3
        RPOP l 0
        LLEN l
        LPUSH
        LPUSH l
        RPUSH l
        LPOP
        LPOP l 1 2
        RPOP l 1 2
        LPOP l -1
        RPOP l abc
        LPOP l 1.5
    """)


def test_wrongtype(diff):
    diff.lines("""
        SET s x
        LPUSH s a
        RPUSH s a
        LPUSHX s a
        RPUSHX s a
        LPOP s
        RPOP s
        LPOP s 2
        LPOP s 0
        LPOP s abc
        LLEN s
        LRANGE s 0 -1
        LRANGE s a b
        LINDEX s 0
        LINDEX s a
        LSET s 0 x
        LSET s a x
        LINSERT s BEFORE a b
        LINSERT s MIDDLE a b
        LREM s 0 a
        LREM s a a
        LTRIM s 0 1
        LTRIM s a 1
        LPOS s a
        LPOS s a RANK 0
        LMOVE s d LEFT RIGHT
        LMOVE d s LEFT RIGHT
        RPUSH d x
        LMOVE d s LEFT RIGHT
        RPOPLPUSH d s
        RPOPLPUSH s d
        LMPOP 1 s LEFT
        LMPOP 2 nosuch s RIGHT COUNT 2
        LRANGE d 0 -1
    """)


def test_lrange_lindex(diff):
    diff.lines("""
        RPUSH l 0 1 2 3 4 5 6 7 8 9
        LRANGE l 0 -1
        LRANGE l 0 0
        LRANGE l -1 -1
        LRANGE l -3 -1
        LRANGE l -100 2
        LRANGE l 5 100
        LRANGE l 7 3
        LRANGE l 10 20
        LRANGE l -20 -11
        LRANGE l 8 9
        LRANGE l 1 -2
        LRANGE l 0 9223372036854775807
        LRANGE l -9223372036854775808 9223372036854775807
        LRANGE l 0 9223372036854775808
        LRANGE l 0 a
        LRANGE l a 0
        LRANGE nosuch 0 -1
        LRANGE nosuch a b
        LINDEX l 0
        LINDEX l 9
        LINDEX l 10
        LINDEX l -1
        LINDEX l -10
        LINDEX l -11
        LINDEX l abc
        LINDEX nosuch abc
        LINDEX nosuch 0
        LINDEX l 9223372036854775807
    """)


def test_lrange_large(diff):
    items = [f"item:{i}" for i in range(1000)]
    diff.check("RPUSH", "big", *items)
    for a, b in [(0, 99), (900, 999), (450, 549), (-100, -1), (-600, -400), (0, -1), (999, 1000), (3, 3)]:
        diff.check("LRANGE", "big", a, b)
    for i in (0, 1, 500, 998, 999, -1, -500, -1000):
        diff.check("LINDEX", "big", i)


def test_lset(diff):
    diff.lines("""
        RPUSH l a b c
        LSET l 0 x
        LSET l -1 z
        LSET l 1 y
        LRANGE l 0 -1
        LSET l 3 q
        LSET l -4 q
        LSET l abc q
        LSET nosuch 0 q
        LSET nosuch abc q
        LSET l 0
    """)


def test_linsert(diff):
    diff.lines("""
        RPUSH l a b c
        LINSERT l BEFORE b x
        LINSERT l AFTER b y
        LINSERT l after c z
        LINSERT l before a w
        LINSERT l BEFORE nosuch q
        LRANGE l 0 -1
        LINSERT l MIDDLE a q
        LINSERT nosuch BEFORE a b
        LINSERT nosuch MIDDLE a b
        EXISTS nosuch
        RPUSH d a a a
        LINSERT d AFTER a b
        LRANGE d 0 -1
        LINSERT l BEFORE a
    """)


def test_lrem(diff):
    diff.lines("""
        RPUSH l a b a c a d a
        LREM l 2 a
        LRANGE l 0 -1
        LREM l -1 a
        LRANGE l 0 -1
        LREM l 0 a
        LRANGE l 0 -1
        LREM l 0 zzz
        LREM l 1 zzz
        LREM l -1 zzz
        LREM l abc a
        LREM nosuch 0 a
        LREM nosuch abc a
        RPUSH e x x x
        LREM e 0 x
        EXISTS e
        RPUSH f x y x y x
        LREM f -2 x
        LRANGE f 0 -1
        LREM f 100 y
        LRANGE f 0 -1
        LREM f -100 x
        EXISTS f
    """)


def test_ltrim(diff):
    diff.lines("""
        RPUSH l 0 1 2 3 4 5 6 7 8 9
        LTRIM l 1 -2
        LRANGE l 0 -1
        LTRIM l 0 -1
        LRANGE l 0 -1
        LTRIM l -3 -1
        LRANGE l 0 -1
        LTRIM l -100 100
        LRANGE l 0 -1
        LTRIM l 1 1
        LRANGE l 0 -1
        LTRIM l 5 10
        EXISTS l
        LTRIM nosuch 0 1
        LTRIM nosuch a 1
        LTRIM l a 1
        LTRIM l 0 b
        RPUSH m a b c
        LTRIM m 2 1
        EXISTS m
        RPUSH n a b c
        LTRIM n 0 -4
        EXISTS n
    """)


def test_ltrim_large(diff):
    diff.check("RPUSH", "big", *[str(i) for i in range(300)])
    for a, b in [(5, -5), (100, 250), (0, 20), (30, 31), (-2, -1)]:
        diff.check("LTRIM", "big", a, b)
        diff.check("LRANGE", "big", 0, -1)


def test_lpos(diff):
    diff.lines("""
        RPUSH l a b c 1 2 3 c c
        LPOS l c
        LPOS l c RANK 1
        LPOS l c RANK 2
        LPOS l c RANK 3
        LPOS l c RANK 4
        LPOS l c RANK -1
        LPOS l c RANK -2
        LPOS l c RANK -3
        LPOS l c RANK -4
        LPOS l c COUNT 0
        LPOS l c COUNT 2
        LPOS l c COUNT 2 RANK -1
        LPOS l c COUNT 0 RANK 2
        LPOS l c COUNT 0 RANK -2
        LPOS l c MAXLEN 1
        LPOS l c MAXLEN 3
        LPOS l c COUNT 0 MAXLEN 7
        LPOS l c COUNT 0 MAXLEN 7 RANK -1
        LPOS l c COUNT 0 MAXLEN 1 RANK -1
        LPOS l c COUNT 0 MAXLEN 2 RANK -1
        LPOS l c RANK 1 RANK 2
        LPOS l zz
        LPOS l zz COUNT 0
        LPOS l zz COUNT 5
        LPOS l c RANK 0
        LPOS l c RANK abc
        LPOS l c RANK -9223372036854775808
        LPOS l c RANK -9223372036854775808 COUNT 0
        LPOS l c RANK 9223372036854775807
        LPOS l c COUNT -1
        LPOS l c COUNT abc
        LPOS l c MAXLEN -1
        LPOS l c MAXLEN abc
        LPOS l c FOO 1
        LPOS l c RANK
        LPOS l c COUNT
        LPOS nosuch c
        LPOS nosuch c COUNT 0
        LPOS nosuch c RANK 0
        LPOS nosuch c COUNT -1
        LPOS l
    """)


def test_lmove_rpoplpush(diff):
    diff.lines("""
        RPUSH src a b c d
        LMOVE src dst LEFT RIGHT
        LMOVE src dst RIGHT LEFT
        LMOVE src dst left left
        LMOVE src dst Right Right
        LRANGE dst 0 -1
        EXISTS src
        LMOVE src dst LEFT RIGHT
        LMOVE dst dst LEFT RIGHT
        LRANGE dst 0 -1
        LMOVE dst dst RIGHT LEFT
        LRANGE dst 0 -1
        LMOVE dst dst LEFT LEFT
        LMOVE dst dst RIGHT RIGHT
        LRANGE dst 0 -1
        RPOPLPUSH dst other
        RPOPLPUSH other other
        RPOPLPUSH nosuch other
        LRANGE other 0 -1
        LMOVE dst other UP LEFT
        LMOVE dst other LEFT DOWN
        LMOVE nosuch other UP LEFT
        RPUSH one x
        RPOPLPUSH one one
        LRANGE one 0 -1
        RPOPLPUSH one two
        EXISTS one
        LMOVE src dst LEFT
        RPOPLPUSH src
    """)


def test_lmpop(diff):
    diff.lines("""
        RPUSH a 1 2 3 4 5
        RPUSH b x y
        LMPOP 2 nosuch a LEFT
        LMPOP 2 nosuch a RIGHT COUNT 2
        LMPOP 2 a b LEFT COUNT 10
        EXISTS a
        LMPOP 2 a b RIGHT count 1
        LMPOP 3 a nosuch b LEFT
        LMPOP 1 b LEFT
        LMPOP 1 nosuch LEFT
        LMPOP 0 a LEFT
        LMPOP -1 a LEFT
        LMPOP abc a LEFT
        LMPOP 2 a LEFT
        LMPOP 1 a MIDDLE
        LMPOP 1 a LEFT COUNT 0
        LMPOP 1 a LEFT COUNT -1
        LMPOP 1 a LEFT COUNT abc
        LMPOP 1 a LEFT COUNT 1 COUNT 1
        LMPOP 1 a LEFT FOO
        LMPOP 1 a LEFT COUNT
        LMPOP 9223372036854775807 a LEFT
        LMPOP 9223372036854775808 a LEFT
        LMPOP 1 a
        LMPOP 1
    """)


@pytest.mark.parametrize("resp", ["2", "3"])
def test_resp_shapes(diff, resp):
    diff.hello(resp)
    diff.lines("""
        RPUSH l a b c d
        LPOP l
        LPOP l 2
        LPOP l 0
        LPOP nosuch
        LPOP nosuch 2
        LPOP nosuch 0
        RPOP nosuch 2
        LMPOP 1 nosuch LEFT
        LMPOP 1 l RIGHT COUNT 3
        LPOS nosuch x
        LPOS nosuch x COUNT 0
        LRANGE nosuch 0 -1
        LINDEX nosuch 0
        LMOVE nosuch x LEFT LEFT
        RPOPLPUSH nosuch x
    """)


def test_lrange_from_scripts(diff):
    """LRANGE's pre-encoded reply converts back to values inside scripts."""
    if diff.p.call("EVAL", "return 1", "0").startswith(b"-ERR unknown command"):
        pytest.skip("scripting not available")
    diff.lines("""
        RPUSH l a b c d e f g h i j k l m n o p
        RPUSH l2 a bb ccc d e f g h i j k l m n o p
        EVAL "return redis.call('lrange', KEYS[1], 0, -1)" 1 l
        EVAL "return redis.call('lrange', KEYS[1], 0, -1)" 1 l2
        EVAL "return #redis.call('lrange', KEYS[1], 2, -1)" 1 l
    """)


def test_binary_and_large_elements(diff):
    big = "x" * 100000
    diff.check("RPUSH", "l", big, "\x00\x01\xff", "", "a b")
    diff.check("LRANGE", "l", 0, -1)
    diff.check("LPOS", "l", "")
    diff.check("LINSERT", "l", "AFTER", "", big)
    diff.check("LREM", "l", 0, big)
    diff.check("LRANGE", "l", 0, -1)


def test_object_encoding_and_type(diff):
    diff.lines("""
        RPUSH l a
        OBJECT ENCODING l
        TYPE l
        CONFIG SET list-max-listpack-size 1
        RPUSH l2 aaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbb ccccccccccccccccccc
        OBJECT ENCODING l2
        CONFIG SET list-max-listpack-size -2
    """)


def test_expired_key_is_missing(diff):
    diff.lines("""
        RPUSH l a b
        PEXPIRE l 1
        DEBUG SLEEP 0.01
        LLEN l
        RPUSHX l c
        LPUSH l x
        TTL l
        LRANGE l 0 -1
    """)


def test_notifications(redis_proc, pyredis_proc):
    check_events(redis_proc, pyredis_proc, """
        RPUSH l a b c d
        LPUSH l x
        LPUSHX l y
        RPUSHX nosuch y
        LINSERT l BEFORE a z
        LSET l 0 q
        LREM l 1 q
        LTRIM l 0 -2
        LPOP l
        RPOP l 2
        LMOVE l d LEFT RIGHT
        RPOPLPUSH d d
        LMPOP 2 nosuch l LEFT COUNT 10
        RPUSH e a a
        LREM e 0 a
        RPUSH f 1
        LTRIM f 1 0
        RPUSH g 1 2
        LPOP g 0
        LPOP g 5
    """)


def test_propagation():
    check_propagation("""
        RPUSH l a b c d e
        LMPOP 1 l LEFT COUNT 2
        LPOP l 0
        RPOPLPUSH l l2
        LMOVE l l2 LEFT RIGHT
        LMPOP 1 l RIGHT
        LPUSHX nosuch a
        LREM l2 0 zzz
        LTRIM l2 0 -1
        LTRIM l2 0 0
    """, {1: [["LPOP", "l", "2"]], 2: [], 3: [["RPOPLPUSH", "l", "l2"]], 4: [["LMOVE", "l", "l2", "LEFT", "RIGHT"]],
          5: [["RPOP", "l", "1"]], 6: [], 7: [], 8: [], 9: [["LTRIM", "l2", "0", "0"]]})


def test_long_list_edits(diff):
    """Lists long enough to use packed chunks, edited everywhere (seeded random operations)."""
    import random

    rnd = random.Random(7)
    diff.check("RPUSH", "l", *[f"e{i % 97}" for i in range(3000)])
    diff.check("LPUSH", "l", *[f"h{i}" for i in range(700)])
    for _ in range(150):
        n = 3700
        op = rnd.choice(["lset", "linsert", "lrem", "lindex", "lrange", "lpos", "push", "pop", "ltrim"])
        i = rnd.randrange(-n, n)
        e = f"e{rnd.randrange(97)}"
        if op == "lset":
            diff.check("LSET", "l", i, f"x{i}")
        elif op == "linsert":
            diff.check("LINSERT", "l", rnd.choice(["BEFORE", "AFTER"]), e, f"ins{i}")
        elif op == "lrem":
            diff.check("LREM", "l", rnd.randrange(-3, 4), e)
        elif op == "lindex":
            diff.check("LINDEX", "l", i)
        elif op == "lrange":
            diff.check("LRANGE", "l", i, i + rnd.randrange(0, 600))
        elif op == "lpos":
            diff.check("LPOS", "l", e, "RANK", rnd.choice([1, 2, -1, -3]), "COUNT", rnd.randrange(0, 5))
        elif op == "push":
            diff.check(rnd.choice(["LPUSH", "RPUSH"]), "l", *[f"p{j}" for j in range(rnd.randrange(1, 400))])
        elif op == "pop":
            diff.check(rnd.choice(["LPOP", "RPOP"]), "l", rnd.randrange(1, 400))
        elif op == "ltrim" and rnd.random() < 0.2:
            diff.check("LTRIM", "l", rnd.randrange(0, 200), -rnd.randrange(1, 200))
    diff.check("LRANGE", "l", 0, -1)
    diff.check("LLEN", "l")


def test_keyspace_hits_misses(diff):
    check_keyspace_stats(diff, """
        RPUSH l a b c
        SET str x
    """, """
        LLEN l
        LLEN nosuch
        LRANGE l 0 -1
        LRANGE nosuch 0 1
        LINDEX l 0
        LINDEX nosuch 0
        LPOS l a
        LPOS nosuch a
        LPUSH l x
        LPUSHX nosuch x
        LPOP l
        LPOP nosuch
        RPOP l 2
        LSET l 0 z
        LSET nosuch 0 z
        LINSERT l BEFORE a z
        LINSERT nosuch BEFORE a z
        LREM l 0 a
        LTRIM l 0 1
        LMOVE l nosuch LEFT LEFT
        LMOVE nosuch l LEFT LEFT
        RPOPLPUSH l l
        LMPOP 2 nosuch l LEFT
        LLEN str
    """)


# -- random sequences -------------------------------------------------------------------------------
_ELEMS = st.sampled_from(["a", "b", "c", "1", "2", "", "xyz"])
_KEYS = st.sampled_from(["l1", "l2", "s"])
_IDX = st.integers(min_value=-6, max_value=6)
_COUNT = st.integers(min_value=0, max_value=4)
_SIDE = st.sampled_from(["LEFT", "RIGHT"])

_LIST_CMDS = st.one_of(
    st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), _KEYS, _ELEMS, _ELEMS),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), _KEYS),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), _KEYS, _COUNT),
    st.tuples(st.just("LLEN"), _KEYS),
    st.tuples(st.sampled_from(["LRANGE", "LTRIM"]), _KEYS, _IDX, _IDX),
    st.tuples(st.just("LINDEX"), _KEYS, _IDX),
    st.tuples(st.just("LSET"), _KEYS, _IDX, _ELEMS),
    st.tuples(st.just("LINSERT"), _KEYS, st.sampled_from(["BEFORE", "AFTER"]), _ELEMS, _ELEMS),
    st.tuples(st.just("LREM"), _KEYS, _IDX, _ELEMS),
    st.tuples(st.just("LPOS"), _KEYS, _ELEMS, st.just("RANK"), st.sampled_from([1, 2, -1, -2]),
              st.just("COUNT"), _COUNT, st.just("MAXLEN"), _COUNT),
    st.tuples(st.just("LMOVE"), _KEYS, _KEYS, _SIDE, _SIDE),
    st.tuples(st.just("RPOPLPUSH"), _KEYS, _KEYS),
    st.tuples(st.just("LMPOP"), st.just(2), _KEYS, _KEYS, _SIDE, st.just("COUNT"), st.integers(1, 3)),
    st.tuples(st.just("EXISTS"), _KEYS),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_LIST_CMDS, min_size=1, max_size=25))
def test_random_sequences(diff, cmds):
    diff.check("FLUSHDB")
    diff.check("SET", "s", "str")
    for cmd in cmds:
        diff.check(*cmd)
    diff.check("LRANGE", "l1", 0, -1)
    diff.check("LRANGE", "l2", 0, -1)


# -- the compact list representation against a plain Python list ------------------------------------------
_VALS = st.sampled_from([b"a", b"b", b"c", b"", b"xyz"])
_OPS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["append", "appendleft"]), _VALS),
    st.tuples(st.sampled_from(["extend", "extendleft"]), st.lists(_VALS, max_size=30)),
    st.tuples(st.sampled_from(["pop", "popleft"])),
    st.tuples(st.just("get"), st.integers(-60, 60)),
    st.tuples(st.just("set"), st.integers(-60, 60), _VALS),
    st.tuples(st.just("insert"), st.integers(0, 60), _VALS),
    st.tuples(st.just("index"), _VALS),
    st.tuples(st.just("range"), st.integers(0, 60), st.integers(0, 60)),
    st.tuples(st.just("trim"), st.integers(0, 60), st.integers(0, 60)),
    st.tuples(st.just("rem"), _VALS, st.integers(-3, 3)),
    st.tuples(st.just("copy")),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(_VALS, max_size=40), _OPS)
def test_list_value_model(monkeypatch_chunks, init, ops):
    from pyredis.engine.list import ListValue

    lv = ListValue(init)
    model = list(init)
    for op in ops:
        name = op[0]
        if name == "append":
            lv.append(op[1])
            model.append(op[1])
        elif name == "appendleft":
            lv.appendleft(op[1])
            model.insert(0, op[1])
        elif name == "extend":
            lv.extend(op[1])
            model.extend(op[1])
        elif name == "extendleft":
            lv.extendleft(op[1])
            model[:0] = list(reversed(op[1]))
        elif name in ("pop", "popleft"):
            if model:
                assert getattr(lv, name)() == (model.pop() if name == "pop" else model.pop(0))
        elif name == "get":
            if -len(model) <= op[1] < len(model):
                assert lv[op[1]] == model[op[1]]
        elif name == "set":
            if -len(model) <= op[1] < len(model):
                lv[op[1]] = op[2]
                model[op[1]] = op[2]
        elif name == "insert":
            i = min(op[1], len(model))
            lv.insert(i, op[2])
            model.insert(i, op[2])
        elif name == "index":
            if op[1] in model:
                assert lv.index(op[1]) == model.index(op[1])
        elif name == "range":
            a, b = sorted((op[1], op[2]))
            if model and a < len(model):
                b = min(b, len(model) - 1)
                assert lv.range(a, b) == model[a : b + 1]
        elif name == "trim":
            a, b = op[1], min(op[2], len(model) - 1)
            lv.trim(a, b)
            model[:] = model[a : b + 1] if a <= b else []
        elif name == "rem":
            x, cnt = op[1], op[2]
            n = lv.remove_matching(x, cnt)
            limit = abs(cnt) if cnt else len(model)
            idxs = [i for i, e in enumerate(model) if e == x]
            if cnt < 0:
                idxs.reverse()
            drop = set(idxs[:limit])
            model[:] = [e for i, e in enumerate(model) if i not in drop]
            assert n == len(drop)
        elif name == "copy":
            lv = lv.copy()
        assert len(lv) == len(model)
        assert bool(lv) == bool(model)
    assert list(lv) == model
    assert list(reversed(lv)) == model[::-1]


@pytest.fixture(scope="module")
def monkeypatch_chunks():
    """Tiny chunks so that short lists exercise packing."""
    import pyredis.engine.list as mod

    saved = mod.CHUNK, mod.SPILL
    mod.CHUNK, mod.SPILL = 3, 6
    yield
    mod.CHUNK, mod.SPILL = saved
