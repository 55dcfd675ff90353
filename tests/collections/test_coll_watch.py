import pytest
import redis

from pyredis.collections import (
    ChangeEvent,
    KeyspaceNotificationsError,
    RedisCounter,
    RedisDict,
    RedisList,
    RedisSet,
)
from pyredis.collections.watch import missing_flags


def ops(watcher, n, timeout=2.0):
    events = []
    for _ in range(n):
        event = watcher.get(timeout)
        assert event is not None, f"only got {events}"
        events.append(event)
    assert watcher.get(0.1) is None  # nothing else
    return events


def test_dict_watch_stream(r):
    r.config_set("notify-keyspace-events", "")
    d = RedisDict(redis=r, key="tel")
    with d.watch() as events:
        flags = r.config_get("notify-keyspace-events")["notify-keyspace-events"]
        assert missing_flags(flags) == ""
        d["jack"] = 4098
        d.update({"sape": 4139, "guido": 4127})
        del d["jack"]
        d.expire(0.05)
        got = ops(events, 5)
    assert [e.op for e in got] == ["hset", "hset", "hdel", "expire", "expired"]
    assert all(isinstance(e, ChangeEvent) and e.key == "tel" and e.db == 0 for e in got)


def test_watch_only_sees_its_own_key(r):
    a, b = RedisList(redis=r, key="a"), RedisList(redis=r, key="b")
    watcher = a.watch()
    b.append(1)
    a.append(1)
    a.pop()
    assert [e.op for e in ops(watcher, 3)] == ["rpush", "rpop", "del"]  # emptied: deleted
    watcher.close()


def test_watch_other_types(r):
    s, c = RedisSet(redis=r, key="s"), RedisCounter(redis=r, key="c")
    with s.watch() as se, c.watch() as ce:
        s.add(1)
        s.discard(1)
        c.update("aa")
        c.clear()
        assert [e.op for e in ops(se, 3)] == ["sadd", "srem", "del"]
        assert [e.op for e in ops(ce, 2)] == ["hincrby", "del"]


def test_watch_in_other_db(backend):
    client = backend.client(db=4)
    d = RedisDict(redis=client, key="k")
    with d.watch() as events:
        d["x"] = 1
        event = events.get(2)
    assert event is not None and event.db == 4 and event.op == "hset"
    client.close()


class NoConfigRedis(redis.Redis):
    """A client whose server refuses CONFIG (as managed services often do)."""

    def execute_command(self, *args, **kwargs):
        if str(args[0]).upper() == "CONFIG":
            raise redis.ResponseError("ERR unknown command 'CONFIG'")
        return super().execute_command(*args, **kwargs)


def test_watch_explains_when_config_is_refused(r, backend):
    r.config_set("notify-keyspace-events", "")
    client = NoConfigRedis(host=backend.host, port=backend.port)
    d = RedisDict(redis=client, key="x")
    with pytest.raises(KeyspaceNotificationsError, match="notify-keyspace-events KA"):
        d.watch()
    # with configure=False we trust the caller (here: nothing arrives, flags are off)
    with d.watch(configure=False) as events:
        d["a"] = 1
        assert events.get(0.2) is None
    client.close()


def test_missing_flags():
    assert missing_flags("") == "Kg$lshzxe"
    assert missing_flags("AK") == "" and missing_flags("KEA") == ""
    assert missing_flags("Eg") == "K$lshzxe"
