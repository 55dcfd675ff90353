"""Bulk operations cost one round trip, whatever their size."""

import collections

import pytest
import redis.connection

from pyredis.collections import (
    BloomFilter,
    RedisCounter,
    RedisDeque,
    RedisDict,
    RedisList,
    RedisSet,
)


@pytest.fixture
def sends(monkeypatch):
    """Counts packets written to any redis-py connection (one per round trip)."""
    count = [0]
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        count[0] += 1
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return count


def measure(sends, fn):
    before = sends[0]
    fn()
    return sends[0] - before


def test_bulk_operations_are_one_round_trip(r, sends):
    d, s, lst = RedisDict(redis=r), RedisSet(redis=r), RedisList(redis=r)
    dq, c = RedisDeque(maxlen=50_000, redis=r), RedisCounter(redis=r)
    bf = BloomFilter(num_elements=5_000, redis=r)
    r.ping()  # connect first: the handshake is not the operation's
    items = {f"k{i}": i for i in range(25_000)}  # more than one chunk (10k) per bulk write
    assert measure(sends, lambda: d.update(items)) == 1
    assert measure(sends, lambda: d.to_dict()) == 1
    assert measure(sends, lambda: s.update(items)) == 1
    assert measure(sends, lambda: s.to_set()) == 1
    assert measure(sends, lambda: s.intersection_update(list(items)[:10])) == 1
    assert measure(sends, lambda: s.symmetric_difference_update({"a", "k1"})) == 1
    assert measure(sends, lambda: lst.extend(range(25_000))) == 1
    assert measure(sends, lambda: lst.to_list()) == 1
    assert measure(sends, lambda: dq.extendleft(range(25_000))) == 1
    assert measure(sends, lambda: dq.rotate(7)) == 1
    assert measure(sends, lambda: c.update(collections.Counter(items))) == 1
    assert measure(sends, lambda: c.subtract(list(items)[:5000])) == 1
    few = list(items)[:5000]
    assert measure(sends, lambda: bf.update(few)) == 1
    assert measure(sends, lambda: bf.contains_many(few)) == 1
    # iteration: one round trip per page of 1000, not per element
    assert 25 <= measure(sends, lambda: list(lst)) <= 27  # 25 pages (+ len hint, last empty page)
    assert measure(sends, lambda: dict(d.items())) < 50
    assert len(d) == 25_000 and len(lst) == 25_000


def test_atomic_rewrites_retry_on_concurrent_change(r, sends):
    lst = RedisList([3, 1, 2], redis=r, key="l")
    other = type(r)(connection_pool=r.connection_pool)
    original = lst._decode_all
    state = {"first": True}

    def meddle(reply):  # someone appends between our WATCHed read and EXEC, once
        if state["first"]:
            state["first"] = False
            other.rpush("l", "0")
        return original(reply)

    lst._decode_all = meddle
    lst.sort(key=str)
    lst._decode_all = original
    assert lst == [0, 1, 2, 3]  # retried with the new element included
