import collections
import random

import pytest

from pyredis.collections import RedisDeque, RedisList, WrongRedisTypeError

INDEXES = [None, *range(-8, 9)]


def test_indexing_and_slicing_match_list(r):
    ref = list(range(6))
    lst = RedisList(ref, redis=r)
    for i in range(-8, 8):
        if -6 <= i < 6:
            assert lst[i] == ref[i]
        else:
            with pytest.raises(IndexError):
                lst[i]
    rnd = random.Random(3)
    for _ in range(150):
        s = slice(rnd.choice(INDEXES), rnd.choice(INDEXES), rnd.choice([None, 1, 2, -1, -3]))
        assert lst[s] == ref[s], s


def test_mutations_match_list(r):
    ref = ["a", "b", "c"]
    lst = RedisList(ref, redis=r, key="l")
    ops = [
        ("append", ("d",)),
        ("insert", (1, "x")),
        ("insert", (-1, "y")),
        ("insert", (100, "z")),
        ("insert", (-100, "w")),
        ("extend", (["e", "f"],)),
        ("pop", ()),
        ("pop", (0,)),
        ("pop", (2,)),
        ("pop", (-2,)),
        ("remove", ("c",)),
        ("reverse", ()),
        ("sort", ()),
    ]
    for name, args in ops:
        assert getattr(lst, name)(*args) == getattr(ref, name)(*args), name
        assert lst == ref, name
    lst[0], ref[0] = "first", "first"
    lst[-1], ref[-1] = "last", "last"
    del lst[1], ref[1]
    lst[1:3] = ref[1:3] = [1, 2, 3]
    lst[::2] = ref[::2] = ["s"] * len(ref[::2])
    del lst[::-3], ref[::-3]
    assert lst == ref
    assert lst.index("s") == ref.index("s") and lst.count("s") == ref.count("s")
    for value in [*ref, "nope"]:
        for start, stop in ((1, None), (-3, None), (0, -1), (2, 3)):
            try:
                expected = ref.index(value, start, stop) if stop is not None else ref.index(value, start)
            except ValueError:
                with pytest.raises(ValueError):
                    lst.index(value, start, stop)
            else:
                assert lst.index(value, start, stop) == expected
    assert ("s" in lst) and ("nope" not in lst)
    assert list(reversed(lst)) == ref[::-1]
    lst.sort(key=str, reverse=True)
    assert lst == sorted(ref, key=str, reverse=True)


def test_errors(r):
    lst = RedisList([1], redis=r)
    with pytest.raises(IndexError):
        lst[5] = 0
    with pytest.raises(IndexError):
        del lst[5]
    with pytest.raises(IndexError):
        lst.pop(5)
    with pytest.raises(ValueError):
        lst.remove(9)
    with pytest.raises(ValueError):
        lst.index(9)
    with pytest.raises(ValueError):
        lst[::2] = [1, 2, 3]  # extended slice of the wrong size, as Python
    with pytest.raises(TypeError):
        lst["a"]
    lst.clear()
    with pytest.raises(IndexError):
        lst.pop()
    with pytest.raises(IndexError):
        lst[0] = 1
    r.set("str", "x")
    with pytest.raises(WrongRedisTypeError):
        RedisList(redis=r, key="str").append(1)


def test_operators_and_iteration(r):
    lst = RedisList(range(2500), redis=r)
    assert list(lst) == list(range(2500))
    assert len(lst) == 2500
    small = RedisList([1, 2], redis=r, key="small")
    assert small + [3] == [1, 2, 3] and [0] + small == [0, 1, 2] and small * 2 == [1, 2, 1, 2]
    small += [3]
    small *= 2
    assert small == [1, 2, 3, 1, 2, 3] and small == (1, 2, 3, 1, 2, 3) and small != "123123"
    assert repr(RedisList([1], redis=r, key="k")) == "RedisList([1], key='k')"


@pytest.mark.parametrize("maxlen", [None, 0, 1, 4])
def test_deque_random_operations_match_deque(r, maxlen):
    ref = collections.deque([1, 2, 3], maxlen)
    dq = RedisDeque([1, 2, 3], maxlen, redis=r)
    assert dq.maxlen == maxlen and dq == ref
    rnd = random.Random(maxlen)
    names = [
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "pop",
        "popleft",
        "rotate",
        "insert",
        "remove",
        "delitem",
        "setitem",
        "reverse",
        "index",
        "count",
        "clear",
    ]
    for _ in range(120):
        name, arg = rnd.choice(names), rnd.randint(-5, 5)
        outcomes = []
        for x in (ref, dq):
            try:
                if name in ("append", "appendleft", "remove", "index", "count"):
                    outcomes.append(getattr(x, name)(arg))
                elif name in ("extend", "extendleft"):
                    outcomes.append(getattr(x, name)([arg, arg + 1, arg + 2]))
                elif name in ("pop", "popleft", "reverse", "clear"):
                    outcomes.append(getattr(x, name)())
                elif name == "rotate":
                    outcomes.append(x.rotate(arg))
                elif name == "insert":
                    outcomes.append(x.insert(arg, "i"))
                elif name == "delitem":
                    del x[arg]
                    outcomes.append(None)
                else:
                    x[arg] = "s"
                    outcomes.append(None)
            except (IndexError, ValueError) as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1], (name, arg, ref)
        assert dq == ref, (name, arg)
    assert dq.to_deque() == ref and dq.to_deque().maxlen == maxlen


def test_deque_trims_existing_data_and_repr(r):
    RedisList([1, 2, 3, 4], redis=r, key="q")
    dq = RedisDeque(maxlen=2, redis=r, key="q")
    assert dq == collections.deque([3, 4])
    dq.appendleft(0)
    assert dq == [0, 3]
    assert repr(dq) == "RedisDeque([0, 3], maxlen=2, key='q')"
    with pytest.raises(IndexError):
        dq.insert(1, "x")
    with pytest.raises(ValueError):
        RedisDeque(maxlen=-1, redis=r)
