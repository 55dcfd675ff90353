"""``RedisSet``: a MutableSet stored in a Redis set, with the full set algebra."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet
from collections.abc import Set as AbstractSet
from typing import Any

from pyredis.collections.base import Container, random_key, same_server
from pyredis.collections.ops import Args, Cmd, Pipe, Plan, scan_reply

CHUNK = 10_000  # members per SADD/SREM in bulk writes
PAGE = 1000  # SSCAN COUNT hint


def chunked(cmd: str, key: str, members: list[Any]) -> list[Args]:
    return [(cmd, key, *members[i : i + CHUNK]) for i in range(0, len(members), CHUNK)]


class SetPlans:
    """Plans shared by :class:`RedisSet` and its async twin.

    Set-algebra plans take ``keys`` (RedisSets on the same server, combined server-side)
    and ``plains`` (Python sets), and cost one round trip.
    """

    key: str
    redis: Any
    serializer: Any
    _enc: Any
    _dec_hashable: Any

    def _combinable(self, other: Any) -> bool:
        """Whether ``other`` is a Redis set this one can be combined with server-side."""
        return (
            isinstance(other, SetPlans)
            and other.serializer is self.serializer
            and same_server(other.redis, self.redis)
        )

    def _split(self, others: Iterable[Any], materialize: Any) -> tuple[list[str], list[set[Any]]]:
        """Sort operands into same-server keys and Python sets (``materialize`` other containers)."""
        keys: list[str] = []
        plains: list[set[Any]] = []
        for other in others:
            if self._combinable(other):
                keys.append(other.key)
            elif isinstance(other, SetPlans):
                plains.append(materialize(other))
            else:
                plains.append(set(other))
        return keys, plains

    def _decode_members(self, reply: Iterable[Any]) -> set[Any]:
        return {self._dec_hashable(m) for m in reply}

    def _p_add(self, value: Any) -> Plan[None]:
        yield Cmd(("SADD", self.key, self._enc(value)))

    def _p_discard(self, value: Any, strict: bool = False) -> Plan[None]:
        if not (yield Cmd(("SREM", self.key, self._enc(value)))) and strict:
            raise KeyError(value)

    def _p_contains(self, value: Any) -> Plan[bool]:
        return bool((yield Cmd(("SISMEMBER", self.key, self._enc(value)))))

    def _p_contains_many(self, values: list[Any]) -> Plan[list[bool]]:
        if not values:
            return []
        reply = yield Cmd(("SMISMEMBER", self.key, *[self._enc(v) for v in values]))
        return [bool(int(x)) for x in reply]

    def _p_len(self) -> Plan[int]:
        return int((yield Cmd(("SCARD", self.key))))

    def _p_members(self) -> Plan[set[Any]]:
        return self._decode_members((yield Cmd(("SMEMBERS", self.key))))

    def _p_page(self, cursor: int) -> Plan[tuple[int, list[Any]]]:
        cursor, items = scan_reply((yield Cmd(("SSCAN", self.key, cursor, "COUNT", PAGE))))
        return cursor, [self._dec_hashable(m) for m in items]

    def _p_pop(self) -> Plan[Any]:
        raw = yield Cmd(("SPOP", self.key))
        if raw is None:
            raise KeyError("pop from an empty set")
        return self._dec_hashable(raw)

    def _p_algebra(self, op: str, keys: list[str], plains: list[set[Any]]) -> Plan[set[Any]]:
        """SUNION/SINTER/SDIFF of self and ``keys`` server-side, then the Python sets."""
        result = self._decode_members((yield Cmd((op, self.key, *keys))))
        for plain in plains:
            if op == "SUNION":
                result |= plain
            elif op == "SINTER":
                result &= plain
            else:
                result -= plain
        return result

    def _p_update(self, keys: list[str], plains: list[set[Any]]) -> Plan[None]:
        cmds: list[Args] = [("SUNIONSTORE", self.key, self.key, *keys)] if keys else []
        members = [self._enc(m) for m in set().union(*plains)]
        yield Pipe(cmds + chunked("SADD", self.key, members))

    def _p_difference_update(self, keys: list[str], plains: list[set[Any]]) -> Plan[None]:
        cmds: list[Args] = [("SDIFFSTORE", self.key, self.key, *keys)] if keys else []
        members = [self._enc(m) for m in set().union(*plains)]
        yield Pipe(cmds + chunked("SREM", self.key, members))

    def _p_intersection_update(self, keys: list[str], plains: list[set[Any]]) -> Plan[None]:
        if not plains:
            if keys:
                yield Cmd(("SINTERSTORE", self.key, self.key, *keys))
            return
        tmp = random_key()
        keep = [self._enc(m) for m in set.intersection(*plains)]
        cmds = chunked("SADD", tmp, keep) + [("SINTERSTORE", self.key, self.key, *keys, tmp), ("DEL", tmp)]
        yield Pipe(cmds)

    def _p_symmetric_difference_update(self, keys: list[str], plains: list[set[Any]]) -> Plan[None]:
        other, only_other = random_key(), random_key()
        cmds: list[Args] = [("SUNIONSTORE", other, *keys)] if keys else []
        cmds += chunked("SADD", other, [self._enc(m) for m in set().union(*plains)])
        cmds += [
            ("SDIFFSTORE", only_other, other, self.key),
            ("SDIFFSTORE", self.key, self.key, other),
            ("SUNIONSTORE", self.key, self.key, only_other),
            ("DEL", other, only_other),
        ]
        yield Pipe(cmds)


class RedisSet(SetPlans, Container, MutableSet):
    """A set in a Redis set.  ``RedisSet({'a', 'b'}, redis=client, key='tags')``.

    Operators (``|``, ``&``, ``-``, ``^``, ``<=``, ``==``...) return or compare with plain
    Python sets; the ``*_update`` methods and in-place operators modify Redis atomically.
    Operands that are RedisSets on the same server are combined server-side.
    """

    redis_type = "set"

    def __init__(
        self,
        iterable: Iterable[Any] = (),
        /,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        self.update(iterable)

    def _materialize(self, other: Any) -> set[Any]:
        return other.to_set()

    def _ops(self, others: Iterable[Any]) -> tuple[list[str], list[set[Any]]]:
        return self._split(others, self._materialize)

    # -- element operations
    def add(self, value: Any) -> None:
        self._run(self._p_add(value))

    def discard(self, value: Any) -> None:
        self._run(self._p_discard(value))

    def remove(self, value: Any) -> None:
        """Remove ``value``; KeyError if absent."""
        self._run(self._p_discard(value, strict=True))

    def pop(self) -> Any:
        """Remove and return an arbitrary member; KeyError if empty."""
        return self._run(self._p_pop())

    def __contains__(self, value: Any) -> bool:
        return self._run(self._p_contains(value))

    def contains_many(self, values: Iterable[Any]) -> list[bool]:
        """Membership of each value, in one round trip."""
        return self._run(self._p_contains_many(list(values)))

    def __len__(self) -> int:
        return self._run(self._p_len())

    def __iter__(self) -> Iterator[Any]:
        return self._pages(self._p_page)

    def to_set(self) -> set[Any]:
        """A plain set copy, in one round trip."""
        return self._run(self._p_members())

    copy = to_set

    # -- algebra returning Python sets
    def union(self, *others: Iterable[Any]) -> set[Any]:
        return self._run(self._p_algebra("SUNION", *self._ops(others)))

    def intersection(self, *others: Iterable[Any]) -> set[Any]:
        return self._run(self._p_algebra("SINTER", *self._ops(others)))

    def difference(self, *others: Iterable[Any]) -> set[Any]:
        return self._run(self._p_algebra("SDIFF", *self._ops(others)))

    def symmetric_difference(self, other: Iterable[Any]) -> set[Any]:
        return self.to_set() ^ self._as_set(other)

    def _as_set(self, other: Any) -> set[Any]:
        return other.to_set() if isinstance(other, RedisSet) else set(other)

    # -- in-place algebra (atomic)
    def update(self, *others: Iterable[Any]) -> None:  # type: ignore[override]
        self._run(self._p_update(*self._ops(others)))

    def intersection_update(self, *others: Iterable[Any]) -> None:
        self._run(self._p_intersection_update(*self._ops(others)))

    def difference_update(self, *others: Iterable[Any]) -> None:
        self._run(self._p_difference_update(*self._ops(others)))

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        self._run(self._p_symmetric_difference_update(*self._ops([other])))

    # -- comparisons
    def isdisjoint(self, other: Iterable[Any]) -> bool:
        if isinstance(other, RedisSet):
            return not self.intersection(other)
        return not any(self.contains_many(set(other)))

    def issubset(self, other: Iterable[Any]) -> bool:
        return self.to_set() <= self._as_set(other)

    def issuperset(self, other: Iterable[Any]) -> bool:
        if isinstance(other, RedisSet):
            return self.to_set() >= other.to_set()
        return all(self.contains_many(set(other)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbstractSet):
            return NotImplemented
        return self.to_set() == self._as_set(other)

    def __le__(self, other: AbstractSet[Any]) -> bool:
        return self.issubset(other) if isinstance(other, AbstractSet) else NotImplemented

    def __lt__(self, other: AbstractSet[Any]) -> bool:
        return self.to_set() < self._as_set(other) if isinstance(other, AbstractSet) else NotImplemented

    def __ge__(self, other: AbstractSet[Any]) -> bool:
        return self.to_set() >= self._as_set(other) if isinstance(other, AbstractSet) else NotImplemented

    def __gt__(self, other: AbstractSet[Any]) -> bool:
        return self.to_set() > self._as_set(other) if isinstance(other, AbstractSet) else NotImplemented

    def __or__(self, other: Any) -> set[Any]:
        return self.union(other) if isinstance(other, AbstractSet) else NotImplemented

    def __and__(self, other: Any) -> set[Any]:
        return self.intersection(other) if isinstance(other, AbstractSet) else NotImplemented

    def __sub__(self, other: Any) -> set[Any]:
        return self.difference(other) if isinstance(other, AbstractSet) else NotImplemented

    def __xor__(self, other: Any) -> set[Any]:
        return self.symmetric_difference(other) if isinstance(other, AbstractSet) else NotImplemented

    __ror__ = __or__
    __rand__ = __and__
    __rxor__ = __xor__

    def __rsub__(self, other: Any) -> set[Any]:
        return set(other) - self.to_set() if isinstance(other, AbstractSet) else NotImplemented

    def __ior__(self, other: Any) -> RedisSet:  # type: ignore[override]
        if not isinstance(other, AbstractSet):
            return NotImplemented
        self.update(other)
        return self

    def __iand__(self, other: Any) -> RedisSet:  # type: ignore[override]
        if not isinstance(other, AbstractSet):
            return NotImplemented
        self.intersection_update(other)
        return self

    def __isub__(self, other: Any) -> RedisSet:  # type: ignore[override]
        if not isinstance(other, AbstractSet):
            return NotImplemented
        self.difference_update(other)
        return self

    def __ixor__(self, other: Any) -> RedisSet:  # type: ignore[override]
        if not isinstance(other, AbstractSet):
            return NotImplemented
        self.symmetric_difference_update(other)
        return self

    def _repr_data(self) -> Any:
        return self.to_set()
