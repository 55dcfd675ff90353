import asyncio
import collections

import pytest

from pyredis.collections import ReleaseUnlockedLock, WrongRedisTypeError
from pyredis.collections.aio import (
    AsyncBloomFilter,
    AsyncCachedOrderedDict,
    AsyncHyperLogLog,
    AsyncNextId,
    AsyncRedisCounter,
    AsyncRedisDeque,
    AsyncRedisDict,
    AsyncRedisList,
    AsyncRedisSet,
    AsyncRedlock,
    redis_cache,
    synchronize,
)

pytestmark = pytest.mark.asyncio


async def test_dict(ar):
    d = await AsyncRedisDict({"a": 1}, redis=ar, key="d", b=2)
    assert await d["a"] == 1 and await d.getitem("b") == 2
    await d.set("c", [3])
    assert await d.get("zz", 0) == 0 and await d.len() == 3 and await d.contains("c")
    with pytest.raises(KeyError):
        await d["zz"]
    await d.delete("a")
    assert sorted([k async for k in d]) == ["b", "c"]
    assert dict([kv async for kv in d.iter_items()]) == {"b": 2, "c": [3]}
    await d.update({"e": 5})
    assert await d.pop("e") == 5 and await d.setdefault("f", 6) == 6
    assert await d.equals({"b": 2, "c": [3], "f": 6})
    assert sorted(await d.keys()) == ["b", "c", "f"]
    await d.clear()
    assert await d.to_dict() == {}
    await ar.set("s", "x")
    with pytest.raises(WrongRedisTypeError):
        await AsyncRedisDict(redis=ar, key="s").set("a", 1)


async def test_constructor_data_written_on_first_use(ar):
    d = AsyncRedisDict({"a": 1}, redis=ar, key="lazy")
    assert await ar.exists("lazy") == 0
    assert await d.len() == 1


async def test_set(ar):
    s = await AsyncRedisSet({1, 2, 3}, redis=ar)
    t = AsyncRedisSet({3, 4}, redis=ar)  # not awaited: written before it is used
    assert await s.union(t) == {1, 2, 3, 4} and await s.intersection(t) == {3}
    assert await s.difference(t, [1]) == {2} and await s.symmetric_difference([3, 9]) == {1, 2, 9}
    assert await s.issuperset([1, 2]) and await s.issubset(range(10)) and not await s.isdisjoint(t)
    await s.symmetric_difference_update(t)
    assert await s.equals({1, 2, 4})
    await s.intersection_update([1, 4, 8])
    await s.add(7)
    await s.remove(1)
    with pytest.raises(KeyError):
        await s.remove(1)
    assert sorted([x async for x in s]) == [4, 7] and await s.contains(4)


async def test_list_and_deque(ar):
    lst = await AsyncRedisList([1, 2, 3], redis=ar)
    assert await lst[0] == 1 and await lst[-1] == 3 and await lst[1:] == [2, 3]
    await lst.insert(1, "x")
    await lst.set(-1, "z")
    await lst.delete(0)
    assert await lst.to_list() == ["x", 2, "z"]
    await lst.set(slice(0, 2), ["a", "b", "c"])
    assert await lst.equals(["a", "b", "c", "z"]) and await lst.index("c") == 2
    await lst.reverse()
    assert [x async for x in lst] == ["z", "c", "b", "a"]
    with pytest.raises(IndexError):
        await lst.getitem(10)
    dq = await AsyncRedisDeque([1, 2, 3], 3, redis=ar)
    await dq.appendleft(0)
    await dq.append(4)
    await dq.rotate(-1)
    assert await dq.to_deque() == collections.deque([2, 4, 1], 3)
    assert await dq.popleft() == 2 and await dq.pop() == 1


async def test_counter(ar):
    c = AsyncRedisCounter("abca", redis=ar)
    await c.update({"a": 1})
    await c.subtract("b")
    assert await c["a"] == 3 and await c["b"] == 0 and await c["nope"] == 0
    assert await c.most_common(1) == [("a", 3)] and await c.total() == 4
    await c.iadd(collections.Counter(c=1))
    assert await c.equals(collections.Counter(a=3, c=2))


async def test_redlock_and_synchronize(ar, backend):
    masters = [backend.async_client(db=db) for db in (1, 2, 3)]
    lock = AsyncRedlock(key="l", masters=masters, auto_release_time=0.6, auto_renew=True)
    async with lock:
        await asyncio.sleep(1.3)
        assert await lock.locked() and not lock.lost
        assert not await AsyncRedlock(key="l", masters=masters).acquire(blocking=False)
    assert not await lock.locked()
    with pytest.raises(ReleaseUnlockedLock):
        await lock.release()

    active = []

    @synchronize(key="s", masters=masters)
    async def critical(i):
        active.append(i)
        assert len(active) == 1
        await asyncio.sleep(0.01)
        active.remove(i)
        return i

    assert sorted(await asyncio.gather(*(critical(i) for i in range(4)))) == [0, 1, 2, 3]
    ids = AsyncNextId(key="n", masters=masters)
    assert [await ids.next() for _ in range(3)] == [1, 2, 3] and await ids.current() == 3
    for m in masters:
        await m.aclose()


async def test_cache_bloom_hll(ar):
    calls = []

    @redis_cache(redis=ar, key="c")
    async def double(x):
        calls.append(x)
        return x * 2

    assert await double(2) == 4 and await double(2) == 4 and calls == [2]
    info = await double.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)
    d = await AsyncCachedOrderedDict.load(redis=ar, key="c", dict_keys=[2, 3])
    assert d[2] == 4 and d.misses() == {3}
    await d.store(3, 6)
    assert await double(3) == 6 and calls == [2]
    await double.cache_clear()
    assert (await double.cache_info()).currsize == 0

    bf = AsyncBloomFilter(["a"], num_elements=100, redis=ar)
    assert await bf.contains("a") and not await bf.contains("b") and await bf.len() == 1
    h = AsyncHyperLogLog(["a", "b"], redis=ar)
    g = AsyncHyperLogLog(["c"], redis=ar)
    assert await (await (h | g)).len() == 3 and await h.len() == 2


async def test_async_watch(ar):
    d = AsyncRedisDict(redis=ar, key="w")
    async with d.watch() as events:
        await d.set("a", 1)
        await d.delete("a")
        got = [await events.get(2) for _ in range(3)]
        assert [e.op for e in got] == ["hset", "hdel", "del"] and got[0].key == "w"  # hash emptied
        assert await events.get(0.1) is None
    async with d.watch() as events:
        await d.set("b", 1)
        async for event in events:
            assert event.op == "hset"
            break
