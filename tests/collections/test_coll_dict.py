import random

import pytest

from pyredis.collections import RedisDict, WrongRedisTypeError


def test_mapping_basics(r):
    d = RedisDict({"a": 1, 2: [1, 2]}, redis=r, key="tel", b={"x": None})
    assert d == {"a": 1, 2: [1, 2], "b": {"x": None}}
    assert len(d) == 3 and "a" in d and 2 in d and "2" not in d
    assert d["a"] == 1 and d[2] == [1, 2]
    d["a"] = 5
    assert d.get("a") == 5 and d.get("zz") is None and d.get("zz", 7) == 7
    del d["a"]
    assert "a" not in d
    with pytest.raises(KeyError):
        d["a"]
    with pytest.raises(KeyError):
        del d["a"]
    assert sorted(map(str, d)) == ["2", "b"]
    assert dict(d.items()) == {2: [1, 2], "b": {"x": None}}
    assert sorted(map(str, d.values())) == ["[1, 2]", "{'x': None}"]
    assert r.type("tel") == b"hash"


def test_same_key_shares_data(r):
    RedisDict({"k": "v"}, redis=r, key="shared")
    assert RedisDict(redis=r, key="shared")["k"] == "v"


def test_random_key_when_omitted(r):
    a, b = RedisDict(redis=r), RedisDict(redis=r)
    assert a.key != b.key and a.key.startswith("pyredis:")


def test_update_pop_popitem_setdefault(r):
    d = RedisDict(redis=r)
    d.update([("x", 1), ("y", 2)], z=3)
    d.update({"x": 10})
    assert d.to_dict() == {"x": 10, "y": 2, "z": 3}
    assert d.pop("x") == 10 and d.pop("x", "dflt") == "dflt"
    with pytest.raises(KeyError):
        d.pop("x")
    assert d.setdefault("y", 99) == 2 and d.setdefault("n", 99) == 99 and d["n"] == 99
    seen = {}
    while d:
        k, v = d.popitem()
        seen[k] = v
    assert seen == {"y": 2, "z": 3, "n": 99}
    with pytest.raises(KeyError):
        d.popitem()


def test_big_update_and_iteration(r):
    data = {f"k{i}": i for i in range(25_000)}
    d = RedisDict(data, redis=r)
    assert len(d) == 25_000
    assert dict(d.iter_items()) == data
    assert set(d) == set(data)
    assert d.to_dict() == data
    assert d.get_many(["k1", "nope", "k24999"]) == [1, None, 24999]


def test_equality_operators_and_repr(r):
    d = RedisDict({"a": 1}, redis=r, key="eq")
    assert d == {"a": 1} and d != {"a": 2} and d != [("a", 1)]
    assert d == RedisDict({"a": 1}, redis=r)
    assert (d | {"b": 2}) == {"a": 1, "b": 2} and ({"b": 2} | d) == {"a": 1, "b": 2}
    d |= {"c": 3}
    assert d.to_dict() == {"a": 1, "c": 3}
    assert repr(d) == "RedisDict({'a': 1, 'c': 3}, key='eq')"
    d.clear()
    assert len(d) == 0 and r.exists("eq") == 0


def test_random_operations_match_dict(r):
    rnd = random.Random(7)
    d, ref = RedisDict(redis=r), {}
    for _ in range(300):
        k = rnd.choice(["a", "b", 1, 2, None, "c", 2.5])
        op = rnd.choice(["set", "del", "pop", "get", "setdefault"])
        v = rnd.randint(0, 5)
        results = []
        for m in (ref, d):
            try:
                if op == "set":
                    m[k] = v
                    results.append(None)
                elif op == "del":
                    del m[k]
                    results.append(None)
                elif op == "pop":
                    results.append(m.pop(k))
                elif op == "get":
                    results.append(m.get(k))
                else:
                    results.append(m.setdefault(k, v))
            except KeyError:
                results.append("KeyError")
        assert results[0] == results[1], (op, k)
    assert d.to_dict() == ref


def test_errors(r):
    d = RedisDict(redis=r)
    with pytest.raises(TypeError):
        d["x"] = object()
    with pytest.raises(TypeError):
        d[object()] = 1
    r.set("astring", "v")
    s = RedisDict(redis=r, key="astring")
    with pytest.raises(WrongRedisTypeError, match="astring"):
        s["a"]
    with pytest.raises(TypeError):  # WrongRedisTypeError is a TypeError
        s.update({"a": 1})
    assert r.get("astring") == b"v"
