"""The compiled ScoreList (a sorted set's sorted list under the accelerator) behaves as SortedList.

Random operation sequences run on a ScoreList and a sortedcontainers SortedList of the same
``(score, member)`` tuples side by side and compare every result and the errors; bulk inserts and
range deletions cross the chunk size so chunks split and merge; then the order's edge cases
(-0.0 and 0.0, infinities, members that are prefixes of others, high bytes), mutation during
iteration, references and memory.
"""

from __future__ import annotations

import copy
import pickle
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

hotpath = pytest.importorskip("pyredis._speedups._hotpath")
ScoreList = hotpath.ScoreList

SCORES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, float("inf"), float("-inf"), 1e300, -5e-324])
MEMBERS = st.sampled_from([b"", b"a", b"ab", b"b", b"\x00", b"\xff", b"a\x00", b"member:1", b"member:10"])
ITEMS = st.tuples(SCORES, MEMBERS)
INDEX = st.integers(-12, 12)
OPS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["add", "remove", "discard", "bisect_left", "bisect_right", "in"]), ITEMS),
    st.tuples(st.sampled_from(["get", "del"]), INDEX),
    st.tuples(st.sampled_from(["slice", "delslice", "islice", "encode"]),
              st.tuples(st.none() | INDEX, st.none() | INDEX, st.sampled_from([None, 1, 2, -1, -3]))),
    st.tuples(st.sampled_from(["bulk"]), st.integers(0, 2 ** 32)),
    st.tuples(st.sampled_from(["iter", "reversed", "len", "clear"]), st.none()),
), max_size=60)


def _python_encoding(items: list, start: int, stop: int, rev: bool, scores: int) -> bytes:
    """What ``commands/zsets/common.rank_reply`` sends for ranks ``[start, stop)`` without the accelerator."""
    from types import SimpleNamespace

    from pyredis.commands.zsets.common import _members, _with_scores

    window = items[max(start, 0):max(min(stop, len(items)), 0)]
    if rev:
        window.reverse()
    return _with_scores(SimpleNamespace(resp=scores), window) if scores else _members(window)


def _apply(sl, op: str, arg):
    """One operation; returns (result, exception type) so both lists can be compared."""
    try:
        if op == "add":
            if arg in sl:  # a sorted set never holds an item twice
                return None, None
            sl.add(arg)
            return None, None
        if op in ("remove", "discard", "bisect_left", "bisect_right"):
            return getattr(sl, op)(arg), None
        if op == "in":
            return arg in sl, None
        if op == "get":
            return sl[arg], None
        if op == "del":
            del sl[arg]
            return None, None
        if op == "slice":
            return sl[slice(*arg)], None
        if op == "delslice":
            if arg[2] is not None and arg[2] != 1:
                return None, None  # extended-slice deletion is not used by the engine
            del sl[slice(*arg)]
            return None, None
        if op == "islice":
            return list(sl.islice(arg[0], arg[1], reverse=bool(arg[2] and arg[2] < 0))), None
        if op == "encode":  # ScoreList.encode_range against the commands' encoders on a SortedList
            start, stop, rev = (arg[0] or 0) % 13, (arg[1] or 0) % 13, bool(arg[2] and arg[2] < 0)
            scores = (0, 2, 3)[(arg[2] or 0) % 3]  # members only, RESP2, RESP3
            if isinstance(sl, ScoreList):
                return sl.encode_range(start, stop, rev, scores), None
            return _python_encoding(list(sl), start, stop, rev, scores), None
        if op == "bulk":  # enough items to split chunks (random scores from a small range: ties)
            rnd = random.Random(arg)
            for _ in range(rnd.randrange(300, 1400)):
                item = (float(rnd.randrange(40)), b"m%d" % rnd.randrange(3000))
                if item not in sl:
                    sl.add(item)
            return None, None
        if op == "iter":
            return list(sl), None
        if op == "reversed":
            return list(reversed(sl)), None
        if op == "len":
            return len(sl), None
        if op == "clear":
            sl.clear()
            return None, None
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return None, type(e)
    raise AssertionError(op)


def _same(a, b) -> None:
    """Equal, and -0.0 kept apart from 0.0 (the sorted set stores the score it was given)."""
    assert a == b
    assert repr(a) == repr(b)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_random_operations_agree_with_sortedlist(ops) -> None:
    ref, sl = SortedList(), ScoreList()
    for op, arg in ops:
        _same(_apply(sl, op, arg), _apply(ref, op, arg))
        sl._check()
    _same(list(sl), list(ref))


def test_long_random_run_splits_and_merges_chunks() -> None:
    rnd = random.Random(7)
    ref, sl = SortedList(), ScoreList()
    most_chunks = 0
    for step in range(60000):
        r = rnd.random()
        item = (float(rnd.randrange(100)), b"m%d" % rnd.randrange(20000))
        if r < 0.7:
            if item not in ref:
                ref.add(item)
                sl.add(item)
        elif r < 0.9:
            ref.discard(item)
            sl.discard(item)
        elif r < 0.9005 and len(ref):
            i = rnd.randrange(len(ref))
            j = min(len(ref), i + rnd.randrange(1200))
            del ref[i:j]
            del sl[i:j]
        elif len(ref):
            i = rnd.randrange(len(ref))
            assert sl[i] == ref[i]
            assert sl.bisect_left(ref[i]) == ref.bisect_left(ref[i]) == i
        if step % 2000 == 0:
            most_chunks = max(most_chunks, sl._check())
            assert list(sl) == list(ref)
    assert most_chunks > 10  # the run did cross chunk boundaries
    assert list(sl) == list(ref)
    assert list(sl.islice(5, 3000, reverse=True)) == list(ref.islice(5, 3000, reverse=True))


def test_order_is_redis_order() -> None:
    items = [(0.0, b"b"), (-0.0, b"a"), (float("-inf"), b"z"), (float("inf"), b""), (1.0, b"a\xff"),
             (1.0, b"a"), (1.0, b"a\x00"), (1.0, b"\xff"), (-1.5, b"x")]
    sl = ScoreList(items)
    assert list(sl) == sorted(items)
    assert [repr(s) for s, _ in sl][:3] == ["-inf", "-1.5", "-0.0"]
    assert sl.bisect_left((1.0, b"")) == 4 and sl.bisect_right((1.0, b"a")) == 5
    assert hotpath.score_list_of(sorted(items))._check() == 1
    assert list(hotpath.score_list_of(items)) == sorted(items)  # out of order: sorted


def test_errors() -> None:
    sl = ScoreList([(1.0, b"a")])
    with pytest.raises(ValueError):
        sl.remove((2.0, b"a"))
    with pytest.raises(IndexError):
        sl[1]
    with pytest.raises(IndexError):
        del sl[-2]
    with pytest.raises(TypeError):
        sl.add([1.0, b"a"])
    with pytest.raises(TypeError):
        sl.add((1.0, "a"))
    with pytest.raises(TypeError):
        ScoreList([(1.0, b"a"), (2.0, None)])
    assert list(sl) == [(1.0, b"a")]
    sl._check()


def test_changes_during_iteration_are_safe() -> None:
    sl = ScoreList((float(i), b"m%d" % i) for i in range(3000))
    seen = 0
    for i, (s, _) in enumerate(sl):
        seen += 1
        if i % 7 == 0:
            del sl[0:5]
        if i % 11 == 0:
            sl.add((s + 0.5, b"x"))
    assert 0 < seen < 3000
    it = iter(sl)
    next(it)
    sl.clear()
    assert list(it) == []
    sl._check()


def test_references_are_given_back() -> None:
    member = b"refcounted-member"
    base = sys.getrefcount(member)
    sl = ScoreList()
    for i in range(2000):
        sl.add((float(i), member))
    assert sys.getrefcount(member) == base + 2000
    del sl[100:900]
    sl.remove((0.0, member))
    assert sys.getrefcount(member) == base + 1199
    other = copy.copy(sl)
    assert pickle.loads(pickle.dumps(sl)) is not sl
    sl.clear()
    assert sys.getrefcount(member) == base + 1199
    del other
    assert sys.getrefcount(member) == base


def test_memory_per_item() -> None:
    n = 100_000
    appended = ScoreList()
    for i in range(n):
        appended.add((float(i), b"m"))
    random_order = ScoreList()
    for i in random.Random(3).sample(range(n), n):
        random_order.add((float(i), b"m"))
    assert sys.getsizeof(hotpath.score_list_of([(float(i), b"m") for i in range(n)])) / n < 17
    assert sys.getsizeof(appended) / n < 17  # a split chunk gives its spare room back
    assert sys.getsizeof(random_order) / n < 24


def test_sorted_sets_use_it_under_the_accelerator() -> None:
    from pyredis import _speedups
    from pyredis.engine.zset import ZSetValue

    z = ZSetValue.from_pairs([(b"b", 2.0), (b"a", 1.0)], 128, 64)
    expected = ScoreList if _speedups.hotpath is not None else SortedList
    assert type(z.sl) is expected and type(z.copy().sl) is expected
    assert list(z.copy().sl) == [(1.0, b"a"), (2.0, b"b")]


def test_encode_range_is_the_python_encoding() -> None:
    """``encode_range`` gives the bytes of the commands' own encoders (members, RESP2/RESP3 scores)
    for every window, direction and chunk boundary, with scores of every formatting class."""
    rng = random.Random(5)
    scores = [0.0, -0.0, 1.0, -1.5, 0.1, 1 / 3, 2.0 ** 53 + 2, -1e-300, 5e-324, 1e300, 123456789.125,
              float("inf"), float("-inf")]
    for n in (0, 1, 7, 600, 1300):
        members = {b"m%d" % i + b"x" * rng.choice([0, 0, 5, 300, 1100]) for i in range(n)}
        items = sorted((rng.choice(scores) if rng.random() < 0.5 else rng.uniform(-1e6, 1e6), m) for m in members)
        sl = ScoreList(items)
        windows = [(0, n), (-5, 3), (n - 1, n + 10), (n, n), (3, 2)] + [
            (rng.randrange(-3, n + 3), rng.randrange(-3, n + 3)) for _ in range(40)]
        for start, stop in windows:
            for rev in (False, True):
                for mode in (0, 2, 3):
                    want = _python_encoding(items, start, stop, rev, mode)
                    assert sl.encode_range(start, stop, rev, mode) == want, (n, start, stop, rev, mode)
