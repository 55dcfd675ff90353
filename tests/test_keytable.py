"""The compiled KeyTable (a database's key dict under the accelerator) behaves as a dict.

Random operation sequences run on a KeyTable and a dict side by side and compare every result,
the iteration order and the errors; then the cases a hash table gets wrong: colliding hashes, keys
whose ``__eq__`` mutates the table, mutation during iteration, growth and shrinking, memory.
"""

from __future__ import annotations

import copy
import gc
import pickle
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

hotpath = pytest.importorskip("pyredis._speedups._hotpath")
KeyTable = hotpath.KeyTable


class Collide:
    """A key with a chosen hash (so different keys share probe chains)."""

    def __init__(self, name: str, h: int) -> None:
        self.name, self.h = name, h

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Collide) and other.name == self.name

    def __repr__(self) -> str:
        return f"Collide({self.name!r})"


KEYS = st.one_of(
    st.binary(max_size=6),
    st.sampled_from([b"", b"a", b"key:1", b"key:2"]),
    st.builds(Collide, st.sampled_from("abcdef"), st.integers(0, 3)),
    # the same index bits, the same or other hash tags (bits 58-62), a negative hash
    st.builds(Collide, st.sampled_from("abcdef"), st.sampled_from([3, 3 | 1 << 59, 3 | 5 << 58, -(1 << 62) + 3])),
    st.integers(-3, 3),
    st.text(max_size=2),
)
OPS = st.lists(st.tuples(st.sampled_from(["set", "del", "pop", "popd", "get", "in", "popitem", "setdefault",
                                          "clear", "update", "iter", "len"]), KEYS, st.integers()),
               max_size=200)


def _apply(m, op: str, k, v):
    try:
        if op == "set":
            m[k] = v
            return None
        if op == "del":
            del m[k]
            return None
        if op == "pop":
            return m.pop(k)
        if op == "popd":
            return m.pop(k, "default")
        if op == "get":
            return m.get(k), m.get(k, 7)
        if op == "in":
            return k in m
        if op == "popitem":
            return m.popitem()
        if op == "setdefault":
            return m.setdefault(k, v)
        if op == "clear":
            if v % 17 == 0:
                m.clear()
            return None
        if op == "update":
            m.update({k: v}, extra=v)
            return None
        if op == "iter":
            return list(m), list(m.keys()), list(m.values()), list(m.items())
        return len(m), bool(m)
    except KeyError as e:
        return ("KeyError", e.args)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_random_operations_agree_with_dict(ops):
    t, d = KeyTable(), {}
    for op, k, v in ops:
        assert _apply(t, op, k, v) == _apply(d, op, k, v), (op, k, v)
        assert len(t) == len(d)
    assert list(t.items()) == list(d.items())
    assert t == d and d == t and not (t != d)


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_three_quarter_indexes_agree_with_dict(ops):
    """Indexes of 3/4 of a power of two (from 2^16 slots; here from 8) skip the slots past their end."""
    old = hotpath._set_three_quarter_min(8)
    try:
        test_random_operations_agree_with_dict.hypothesis.inner_test(ops)
    finally:
        hotpath._set_three_quarter_min(old)


def test_three_quarter_index_sizes_and_probes():
    """A table growing past 2^16 index slots alternates 3/4 sizes and powers of two (1M keys: 1.5M
    slots, 6 MB, not 8), and finds every key with colliding hashes too."""
    t = KeyTable()
    seen = set()
    for i in range(1_000_000):
        t[b"key:%d" % i] = i
        seen.add(hotpath._index_slots(t))
    assert hotpath._index_slots(t) == 3 << 19
    # powers of two up to 2^16, then 3/4 of one and a power of two in turn
    assert sorted(x for x in seen if x >= 1 << 16) == [1 << 16, 3 << 15, 1 << 17, 3 << 16, 1 << 18, 3 << 17,
                                                       1 << 19, 3 << 18, 1 << 20, 3 << 19]
    assert all(t[b"key:%d" % i] == i for i in range(0, 1_000_000, 997))
    old = hotpath._set_three_quarter_min(8)
    try:
        c = KeyTable()
        keys = [Collide("k%d" % i, (i % 7) | ((i % 3) << 58)) for i in range(300)]
        for k in keys:
            c[k] = k.name
        for k in keys[::2]:
            del c[k]
        assert [c.get(k) for k in keys] == [None if i % 2 == 0 else k.name for i, k in enumerate(keys)]
    finally:
        hotpath._set_three_quarter_min(old)


def test_growth_deletion_and_reinsertion_keep_dict_order():
    rng = random.Random(5)
    t, d = KeyTable(), {}
    for i in range(60000):
        k = b"key:%d" % rng.randrange(20000)
        r = rng.random()
        if r < 0.6:
            t[k] = d[k] = i
        elif r < 0.9:
            assert t.pop(k, None) == d.pop(k, None)
        else:
            assert (k in t) == (k in d)
    assert list(t.items()) == list(d.items())
    for k in list(d)[::2]:  # mass deletion, then growth again: rebuilds shrink and compact
        del t[k], d[k]
    for i in range(1000):
        t[b"new:%d" % i] = d[b"new:%d" % i] = i
    assert list(t.items()) == list(d.items())
    t.clear()
    assert len(t) == 0 and list(t) == [] and t.get(b"new:1") is None
    t[b"x"] = 1
    assert list(t.items()) == [(b"x", 1)]


def test_a_table_too_big_for_hash_tags_works_the_same():
    """Over 2^26 entries an index slot has no room for a hash tag: the table rebuilds without one
    (made to happen here at 64 entries), and goes on agreeing with dict."""
    old = hotpath._set_tagged_max(64)
    try:
        rng = random.Random(3)
        t, d = KeyTable(), {}
        small = KeyTable({b"a": 1, b"b": 2})  # still tagged
        for i in range(5000):
            k = b"k%d" % rng.randrange(3000) if i % 3 else Collide("c%d" % (i % 50), (i % 4) << 58)
            if rng.random() < 0.7:
                t[k] = d[k] = i
            else:
                assert t.pop(k, None) == d.pop(k, None)
            if i % 500 == 0:
                assert all(t[x] == v for x, v in d.items()) and all(x in t for x in d)
        assert list(t.items()) == list(d.items())
        assert small == {b"a": 1, b"b": 2}
    finally:
        hotpath._set_tagged_max(old)


def test_update_flat_and_setdefault():
    t = KeyTable({b"a": 1})
    t.update_flat([b"b", 2, b"a", 3, b"c", 4])
    assert list(t.items()) == [(b"a", 3), (b"b", 2), (b"c", 4)]
    with pytest.raises(ValueError):
        t.update_flat([b"x"])
    v = object()
    assert t.setdefault(b"d", v) is v and t[b"d"] is v
    assert t.setdefault(b"a", v) == 3 and t[b"a"] == 3


def test_views_copy_pickle_and_repr():
    t = KeyTable({b"a": 1, b"b": 2})
    t.update([(b"c", 3)])
    assert list(t.keys()) == [b"a", b"b", b"c"] and list(t.values()) == [1, 2, 3]
    assert b"a" in t.keys() and (b"b", 2) in t.items() and (b"b", 3) not in t.items() and 3 in t.values()
    assert t.keys() & {b"a", b"z"} == {b"a"}
    assert len(t.items()) == 3
    for c in (t.copy(), copy.copy(t), pickle.loads(pickle.dumps(t))):
        assert type(c) is KeyTable and list(c.items()) == list(t.items())
        c[b"a"] = 9
        assert t[b"a"] == 1
    assert repr(t) == "KeyTable({b'a': 1, b'b': 2, b'c': 3})"
    assert KeyTable.fromkeys([b"x", b"y"], 0) == {b"x": 0, b"y": 0}
    with pytest.raises(TypeError):
        hash(t)
    with pytest.raises(TypeError):
        t[[1]] = 1  # unhashable, as for a dict
    with pytest.raises(KeyError):
        KeyTable().popitem()


def test_mutation_during_iteration_raises_like_dict():
    for m in (KeyTable(), {}):
        for i in range(10):
            m[b"%d" % i] = i
        with pytest.raises(RuntimeError, match="changed size"):
            for k in m:
                m[k + b"!"] = 0
        for k in m:  # replacing values while iterating is allowed
            m[k] = 1
        with pytest.raises(RuntimeError):
            for k in m:
                del m[k]


def test_a_key_whose_eq_mutates_the_table():
    t = KeyTable()

    class Evil:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            t.clear()  # frees the entry being compared (it must be kept alive meanwhile)
            return False

    t[Evil()] = 1
    assert Collide("a", 1) not in t
    assert len(t) == 0
    t[Collide("a", 1)] = 2
    assert t[Collide("a", 1)] == 2


def test_values_are_kept_alive_across_gc():
    t = KeyTable()
    v: list = []
    v.append(v)  # a reference cycle held only by the table
    t[b"k"] = v
    del v
    gc.collect()
    assert t[b"k"][0] is t[b"k"]


def test_random_key_and_memory():
    t = KeyTable()
    assert t.random_key() is None
    for i in range(200000):
        t[b"key:%d" % i] = b"v"
    for i in range(0, 200000, 2):
        del t[b"key:%d" % i]
    picks = {t.random_key() for _ in range(200)}
    assert all(int(k[4:]) % 2 == 1 for k in picks) and len(picks) > 150
    d = dict.fromkeys((b"key:%d" % i for i in range(200000)), b"v")
    t2 = KeyTable(d)
    assert sys.getsizeof(t2) < 0.75 * sys.getsizeof(d)


class Sub(KeyTable):
    __slots__ = ("big",)

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.big = False


def test_a_subclass_keeps_its_type_and_slots_through_copy_and_pickle():
    s = Sub([(b"f", b"v")])
    s.big = True
    for c in (copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert type(c) is Sub and c.big is True and list(c.items()) == [(b"f", b"v")]
    assert type(Sub.fromkeys([b"a"])) is Sub and repr(s) == "Sub({b'f': b'v'})"


def test_hash_values_use_it_under_the_accelerator():
    from pyredis import _speedups
    from pyredis.engine.hash import HashValue

    assert issubclass(HashValue, KeyTable) == (_speedups.hotpath is not None)
    h = HashValue([(b"a", b"1")])
    h[b"b"] = b"2"
    assert list(h.items()) == [(b"a", b"1"), (b"b", b"2")] and not h.big
    c = h.copy()
    assert type(c) is HashValue and c == h


def test_references_are_counted():
    t = KeyTable()
    k, v, w = b"refcount-key" + bytes(8), object(), object()
    base_k, base_v, base_w = sys.getrefcount(k), sys.getrefcount(v), sys.getrefcount(w)
    t[k] = v
    assert (sys.getrefcount(k), sys.getrefcount(v)) == (base_k + 1, base_v + 1)
    t[k] = w  # replacing keeps the stored key, drops the old value
    assert (sys.getrefcount(k), sys.getrefcount(v), sys.getrefcount(w)) == (base_k + 1, base_v, base_w + 1)
    assert t.pop(k) is w
    assert (sys.getrefcount(k), sys.getrefcount(w)) == (base_k, base_w)
    for i in range(1000):  # through rebuilds, then clear
        t[b"%d" % i] = v
    t.clear()
    assert sys.getrefcount(v) == base_v
