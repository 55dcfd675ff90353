import datetime

import pytest

from pyredis.collections import (
    MsgpackSerializer,
    PickleSerializer,
    RedisDict,
    RedisList,
    RedisSet,
    SerializationError,
)


def test_json_is_default_and_readable(r):
    d = RedisDict({"a": [1, {"b": None}]}, redis=r, key="j")
    assert r.hget("j", '"a"') == b'[1,{"b":null}]'
    assert d["a"] == [1, {"b": None}]


def test_decode_responses_clients_work(r_decoded):
    d = RedisDict({"a": 1}, redis=r_decoded)
    s = RedisSet({"x", 2}, redis=r_decoded)
    assert d == {"a": 1} and s == {"x", 2} and 2 in s


def test_pickle(r):
    when = datetime.datetime(2024, 1, 2, 3, 4)
    d = RedisDict({"when": when, "set": {1, 2}}, redis=r, serializer="pickle")
    assert d["when"] == when and d["set"] == {1, 2}
    lst = RedisList([when, (1, 2)], redis=r, serializer=PickleSerializer())
    assert lst.to_list() == [when, (1, 2)]
    with pytest.raises(SerializationError):
        d["f"] = lambda: 1


def test_binary_serializer_needs_undecoded_client(r_decoded):
    with pytest.raises(ValueError, match="decode_responses=False"):
        RedisDict(redis=r_decoded, serializer="pickle")


def test_msgpack(r):
    pytest.importorskip("msgpack")
    d = RedisDict({"a": b"\x00bytes", 1: [1.5, None]}, redis=r, serializer=MsgpackSerializer())
    assert d.to_dict() == {"a": b"\x00bytes", 1: [1.5, None]}


def test_custom_serializer_and_bad_ones(r):
    class Upper:
        def dumps(self, value):
            return str(value).upper()

        def loads(self, data):
            return data.decode().lower()

    lst = RedisList(["abc"], redis=r, key="u", serializer=Upper())
    assert r.lrange("u", 0, -1) == [b"ABC"] and lst[0] == "abc"
    with pytest.raises(ValueError):
        RedisList(redis=r, serializer="yaml")
    with pytest.raises(TypeError):
        RedisList([float("nan")], redis=r)  # not valid JSON
    with pytest.raises(TypeError):
        RedisList([object()], redis=r)
