"""``RedisCounter``: a ``collections.Counter`` stored in a Redis hash of integers."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from pyredis.collections.base import Container
from pyredis.collections.dict import hset_commands
from pyredis.collections.ops import Args, Cmd, Optimistic, Pipe, Plan, pairs, scan_reply

PAGE = 1000


def counts_of(arg: Any = None, kwargs: Mapping[Any, int] | None = None) -> collections.Counter[Any]:
    """What ``Counter.update(arg, **kwargs)`` would add, as a Counter."""
    counts: collections.Counter[Any] = collections.Counter()
    if arg is not None:
        if isinstance(arg, Container) and hasattr(arg, "to_counter"):
            arg = arg.to_counter()
        counts.update(arg)
    if kwargs:
        counts.update(kwargs)
    return counts


def check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"RedisCounter counts must be integers, not {type(n).__name__}")
    return n


class CounterPlans:
    """Plans shared by :class:`RedisCounter` and its async twin."""

    key: str
    _enc: Any
    _dec_hashable: Any

    def _decode_counts(self, reply: Any) -> collections.Counter[Any]:
        return collections.Counter({self._dec_hashable(f): int(v) for f, v in pairs(reply)})

    def _p_get(self, k: Any) -> Plan[int]:
        raw = yield Cmd(("HGET", self.key, self._enc(k)))
        return 0 if raw is None else int(raw)

    def _p_set(self, k: Any, n: int) -> Plan[None]:
        yield Cmd(("HSET", self.key, self._enc(k), check_count(n)))

    def _p_del(self, k: Any) -> Plan[None]:
        yield Cmd(("HDEL", self.key, self._enc(k)))

    def _p_len(self) -> Plan[int]:
        return int((yield Cmd(("HLEN", self.key))))

    def _p_contains(self, k: Any) -> Plan[bool]:
        return bool((yield Cmd(("HEXISTS", self.key, self._enc(k)))))

    def _p_counts(self) -> Plan[collections.Counter[Any]]:
        return self._decode_counts((yield Cmd(("HGETALL", self.key))))

    def _p_page(self, cursor: int) -> Plan[tuple[int, list[Any]]]:
        cursor, items = scan_reply((yield Cmd(("HSCAN", self.key, cursor, "COUNT", PAGE))))
        return cursor, [self._dec_hashable(f) for f, _ in pairs(items)]

    def _p_incr(self, counts: Mapping[Any, int], sign: int = 1) -> Plan[None]:
        cmds = [("HINCRBY", self.key, self._enc(k), sign * check_count(n)) for k, n in counts.items()]
        if len(cmds) == 1:
            yield Cmd(cmds[0])
        elif cmds:
            yield Pipe(cmds)

    def _p_transform(self, fn: Callable[[collections.Counter[Any]], Mapping[Any, int]]) -> Plan[None]:
        """Atomically replace the counts by ``fn(current_counts)`` (WATCH/MULTI)."""

        def compute(replies: list[Any]) -> tuple[list[Args], None]:
            new = fn(self._decode_counts(replies[0]))
            encoded = [(self._enc(k), check_count(n)) for k, n in new.items()]
            return [("DEL", self.key), *hset_commands(self.key, encoded)], None

        yield Optimistic((self.key,), [("HGETALL", self.key)], compute)


class RedisCounter(CounterPlans, Container, MutableMapping):
    """A Counter in a Redis hash.  ``RedisCounter('abracadabra', redis=client)``.

    Increments are atomic (HINCRBY), so many processes can count into one key;
    ``update``/``subtract`` cost one round trip; arithmetic returns plain Counters.
    """

    redis_type = "hash"

    def __init__(
        self,
        arg: Iterable[Any] | Mapping[Any, int] | None = None,
        /,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
        **kwargs: int,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        self.update(arg, **kwargs)

    @classmethod
    def fromkeys(cls, iterable: Any, v: Any = None) -> Any:
        raise NotImplementedError(
            "RedisCounter.fromkeys() is undefined.  Use RedisCounter(iterable) instead."
        )

    # -- mapping
    def __getitem__(self, k: Any) -> int:
        """The count of ``k``; 0 (not KeyError) when missing."""
        return self._run(self._p_get(k))

    def __setitem__(self, k: Any, n: int) -> None:
        self._run(self._p_set(k, n))

    def __delitem__(self, k: Any) -> None:
        """Remove ``k``; no error when missing (like Counter)."""
        self._run(self._p_del(k))

    def __len__(self) -> int:
        return self._run(self._p_len())

    def __contains__(self, k: Any) -> bool:
        return self._run(self._p_contains(k))

    def __iter__(self) -> Iterator[Any]:
        return self._pages(self._p_page)

    def to_counter(self) -> collections.Counter[Any]:
        """A plain Counter copy, in one round trip."""
        return self._run(self._p_counts())

    copy = to_counter

    def items(self) -> Any:
        return self.to_counter().items()

    def values(self) -> Any:
        return self.to_counter().values()

    # -- Counter API
    def update(self, arg: Any = None, /, **kwargs: int) -> None:  # type: ignore[override]
        """Add counts from an iterable or mapping, atomically, in one round trip."""
        self._run(self._p_incr(counts_of(arg, kwargs)))

    def subtract(self, arg: Any = None, /, **kwargs: int) -> None:
        """Subtract counts (which may go to zero or below), in one round trip."""
        self._run(self._p_incr(counts_of(arg, kwargs), sign=-1))

    def most_common(self, n: int | None = None) -> list[tuple[Any, int]]:
        return self.to_counter().most_common(n)

    def elements(self) -> Iterator[Any]:
        return self.to_counter().elements()

    def total(self) -> int:
        return sum(self.to_counter().values())

    # -- arithmetic (plain Counters out) and in-place variants (atomic)
    def _other(self, other: Any) -> collections.Counter[Any] | None:
        if isinstance(other, RedisCounter):
            return other.to_counter()
        if isinstance(other, collections.Counter):
            return other
        return None

    def _binary(self, other: Any, op: Callable[[Any, Any], Any], reflected: bool = False) -> Any:
        counts = self._other(other)
        if counts is None:
            return NotImplemented
        return op(counts, self.to_counter()) if reflected else op(self.to_counter(), counts)

    def __add__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a + b)

    def __sub__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a - b)

    def __or__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a | b)

    def __and__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a & b)

    def __radd__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a + b, reflected=True)

    def __rsub__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a - b, reflected=True)

    def __ror__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a | b, reflected=True)

    def __rand__(self, other: Any) -> collections.Counter[Any]:
        return self._binary(other, lambda a, b: a & b, reflected=True)

    def __pos__(self) -> collections.Counter[Any]:
        return +self.to_counter()

    def __neg__(self) -> collections.Counter[Any]:
        return -self.to_counter()

    def _inplace(self, other: Any, op: Callable[[Any, Any], Any]) -> Any:
        counts = self._other(other)
        if counts is None:
            return NotImplemented
        self._run(self._p_transform(lambda current: op(current, counts)))
        return self

    def __iadd__(self, other: Any) -> RedisCounter:
        return self._inplace(other, lambda a, b: a + b)

    def __isub__(self, other: Any) -> RedisCounter:
        return self._inplace(other, lambda a, b: a - b)

    def __ior__(self, other: Any) -> RedisCounter:
        return self._inplace(other, lambda a, b: a | b)

    def __iand__(self, other: Any) -> RedisCounter:
        return self._inplace(other, lambda a, b: a & b)

    # -- comparisons (missing counts are zero, like Counter)
    def __eq__(self, other: object) -> bool:
        if isinstance(other, RedisCounter):
            return self.to_counter() == other.to_counter()
        if isinstance(other, Mapping):
            return self.to_counter() == collections.Counter(dict(other))
        return NotImplemented

    def __le__(self, other: Any) -> bool:
        return self._binary(other, lambda a, b: a <= b)

    def __lt__(self, other: Any) -> bool:
        return self._binary(other, lambda a, b: a < b)

    def __ge__(self, other: Any) -> bool:
        return self._binary(other, lambda a, b: a >= b)

    def __gt__(self, other: Any) -> bool:
        return self._binary(other, lambda a, b: a > b)

    def _repr_data(self) -> Any:
        return dict(self.to_counter().most_common())
