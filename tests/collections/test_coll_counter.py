import collections

import pytest

from pyredis.collections import RedisCounter


def test_counter_api(r):
    c = RedisCounter("abracadabra", redis=r, key="c")
    ref = collections.Counter("abracadabra")
    assert c == ref and c["a"] == 5 and c["missing"] == 0 and "missing" not in c
    assert c.most_common(2) == ref.most_common(2)
    assert sorted(c.elements()) == sorted(ref.elements())
    assert c.total() == 11 and len(c) == 5 and sorted(c) == sorted(ref)
    c.update({"a": 2}, z=3)
    ref.update({"a": 2}, z=3)
    c.update(["q", "q"])
    ref.update(["q", "q"])
    c.subtract("aaaaaaaaaab")
    ref.subtract("aaaaaaaaaab")
    assert c == ref and c["a"] == -3
    del c["a"], ref["a"]
    del c["never"]  # no KeyError, like Counter
    c["n"] = 10
    ref["n"] = 10
    assert c.to_counter() == ref
    with pytest.raises(NotImplementedError):
        RedisCounter.fromkeys("abc")


def test_arithmetic(r):
    ref = collections.Counter(a=3, b=1, c=-2)
    other = collections.Counter(a=1, b=5, d=2)
    c = RedisCounter(ref, redis=r)
    for op in ("__add__", "__sub__", "__or__", "__and__"):
        assert getattr(c, op)(other) == getattr(ref, op)(other), op
        assert getattr(other, op)(c.to_counter()) == getattr(other, op)(ref)
    assert other + c == other + ref and other - c == other - ref
    assert +c == +ref and -c == -ref
    assert c + RedisCounter(other, redis=r) == ref + other
    for op in ("__iadd__", "__isub__", "__ior__", "__iand__"):
        c2, ref2 = RedisCounter(ref, redis=r), collections.Counter(ref)
        result = getattr(c2, op)(other)
        assert result is c2 and c2 == getattr(ref2, op)(other), op
    assert RedisCounter("ab", redis=r) <= collections.Counter("abc")
    assert RedisCounter("ab", redis=r) < collections.Counter("abc")
    assert not RedisCounter("abd", redis=r) <= collections.Counter("abc")


def test_type_errors(r):
    c = RedisCounter(redis=r)
    with pytest.raises(TypeError):
        c["x"] = 1.5
    with pytest.raises(TypeError):
        c.update({"x": "3"})
