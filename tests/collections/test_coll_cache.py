import time

import pytest

from pyredis.collections import CachedOrderedDict, CacheInfo, redis_cache


def test_redis_cache_lru_api(r):
    calls = []

    @redis_cache(redis=r, key="sq")
    def square(x, *, plus=0):
        """Square it."""
        calls.append(x)
        return x * x + plus

    assert square(3) == 9 and square(3) == 9 and square(3, plus=1) == 10
    assert calls == [3, 3]
    assert square.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    assert square.__wrapped__(4) == 16 and square.__bypass__(5) == 25 and calls == [3, 3, 4, 5]
    assert square.__name__ == "square" and square.__doc__ == "Square it."
    assert square.cache_parameters()["maxsize"] is None
    square.cache_clear()
    assert square.cache_info() == CacheInfo(0, 0, None, 0)
    assert square(3) == 9 and calls[-1] == 3


def test_cache_shared_between_decorations_and_none_results(r):
    @redis_cache(redis=r, key="shared")
    def f(x):
        return None

    @redis_cache(redis=r, key="shared")
    def g(x):
        raise AssertionError("should come from the cache")

    assert f(1) is None
    assert g(1) is None and g.cache_info().hits == 1


def test_cache_timeout(r):
    @redis_cache(redis=r, key="t", timeout=0.5)
    def f(x):
        return [x, time.monotonic()]

    first = f(1)
    assert f(1) == first
    assert 0 < r.pttl("t") <= 500
    time.sleep(0.6)
    assert f(1) != first


def test_unserializable_arguments(r):
    @redis_cache(redis=r, key="bad")
    def f(x):
        return 1

    with pytest.raises(TypeError):
        f(object())


def test_cached_ordered_dict(r):
    @redis_cache(redis=r, key="expensive")
    def expensive(name):
        return name.upper()

    expensive("a")
    d = CachedOrderedDict(redis=r, key="expensive", dict_keys=["b", "a", "c"])
    assert list(d) == ["b", "a", "c"] and d["a"] == "A"
    assert d.misses() == {"b", "c"}
    d["b"] = "B"
    d.update({"c": "C"})
    assert d.misses() == set() and list(d.items()) == [("b", "B"), ("a", "A"), ("c", "C")]
    assert expensive("c") == "C" and expensive.cache_info().hits == 1  # written through
    again = CachedOrderedDict(redis=r, key="expensive", dict_keys=["c", "b"])
    assert again.misses() == set() and dict(again) == {"c": "C", "b": "B"}
