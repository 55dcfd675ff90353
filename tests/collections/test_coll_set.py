import pytest

from pyredis.collections import RedisSet, WrongRedisTypeError


def test_basics(r):
    s = RedisSet({1, "a", (1, 2)}, redis=r, key="s")
    assert s == {1, "a", (1, 2)} and len(s) == 3
    assert 1 in s and (1, 2) in s and 2 not in s
    s.add(2)
    s.discard(99)
    s.remove("a")
    with pytest.raises(KeyError):
        s.remove("a")
    assert set(s) == {1, 2, (1, 2)}
    popped = {s.pop() for _ in range(3)}
    assert popped == {1, 2, (1, 2)}
    with pytest.raises(KeyError):
        s.pop()
    assert r.exists("s") == 0


def test_algebra_matches_python(r):
    a_py, b_py, c_py = {1, 2, 3, 4}, {3, 4, 5}, {4, 6}
    a = RedisSet(a_py, redis=r)
    b = RedisSet(b_py, redis=r)
    for other, other_py in ((b, b_py), (b_py, b_py)):
        assert a | other == a_py | other_py
        assert a & other == a_py & other_py
        assert a - other == a_py - other_py
        assert a ^ other == a_py ^ other_py
        assert a.union(other, c_py) == a_py.union(other_py, c_py)
        assert a.intersection(other, c_py) == a_py.intersection(other_py, c_py)
        assert a.difference(other, c_py) == a_py.difference(other_py, c_py)
        assert a.symmetric_difference(other) == a_py.symmetric_difference(other_py)
        assert a.isdisjoint(other) is a_py.isdisjoint(other_py)
        assert a.issubset(other) is a_py.issubset(other_py)
        assert a.issuperset(other) is a_py.issuperset(other_py)
    assert {9} | a == a_py | {9} and {1, 9} - a == {9} and {1, 9} & a == {1} and {1, 9} ^ a == {1, 9} ^ a_py
    assert a.union([7]) == a_py | {7}  # methods take any iterable
    with pytest.raises(TypeError):
        a | [7]  # noqa: B018 -- operators need sets, like Python's


@pytest.mark.parametrize("other_is_redis", [False, True])
def test_in_place_algebra(r, other_is_redis):
    ops = ["update", "intersection_update", "difference_update", "symmetric_difference_update"]
    for op in ops:
        ref = {1, 2, 3, 4}
        s = RedisSet(ref, redis=r)
        other_py = {3, 4, 5}
        other = RedisSet(other_py, redis=r) if other_is_redis else other_py
        getattr(ref, op)(other_py)
        getattr(s, op)(other)
        assert s == ref, op
    s = RedisSet({1, 2}, redis=r)
    s |= {3}
    s &= {2, 3, 4}
    s -= {9, 2}
    s ^= {3, 7}
    assert s == {7}
    s.intersection_update([], {1})
    assert s == set()


def test_comparisons(r):
    s = RedisSet({1, 2}, redis=r)
    assert s <= {1, 2} and s < {1, 2, 3} and not s < {1, 2}
    assert s >= {1} and s > {1} and not s > {1, 2}
    assert s == RedisSet([2, 1], redis=r) and s != {1} and s != [1, 2]
    assert s.contains_many([1, 3, 2]) == [True, False, True]


def test_wrong_type(r):
    r.rpush("l", "x")
    with pytest.raises(WrongRedisTypeError):
        RedisSet(redis=r, key="l").add(1)
