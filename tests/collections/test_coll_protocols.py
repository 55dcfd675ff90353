"""Replies are parsed the same with RESP2 and RESP3 clients (redis-py 8 defaults to RESP3)."""

import collections

import pytest

from pyredis.collections import RedisCounter, RedisDeque, RedisDict, RedisList, RedisSet


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("decode", [False, True])
def test_core_operations(backend, r, protocol, decode):
    client = backend.client(protocol=protocol, decode_responses=decode)
    d = RedisDict({i: str(i) for i in range(1500)}, redis=client)
    assert d.to_dict() == dict(d.items()) == {i: str(i) for i in range(1500)}
    assert d.popitem()[0] not in d and d.setdefault(-1, "x") == "x"
    s = RedisSet(range(1200), redis=client)
    assert set(s) == s.to_set() == set(range(1200)) and s.contains_many([1, -1]) == [True, False]
    assert s.isdisjoint([-5]) and s.issuperset([1, 2])
    lst = RedisList(["a", "b", "a"], redis=client)
    assert lst.index("a", 1) == 2 and lst.count("a") == 2 and "b" in lst
    dq = RedisDeque([1, 2, 3], 2, redis=client)
    dq.rotate(1)
    assert dq.to_deque() == collections.deque([3, 2], 2)
    c = RedisCounter("hello", redis=client)
    assert c.most_common(1) == [("l", 2)] and sorted(c) == ["e", "h", "l", "o"]
    with d.watch() as events:
        d[5] = "five"
        assert events.get(2).op == "hset"
    client.close()
