"""``RedisList``: a MutableSequence stored in a Redis list (slicing, negative indexes)."""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from typing import Any

from pyredis.collections.base import Container
from pyredis.collections.ops import Args, Cmd, Eval, Optimistic, Pipe, Plan
from pyredis.collections.scripts import LIST_INSERT, LIST_POP_INDEX

CHUNK = 10_000  # values per RPUSH in bulk writes
PAGE = 1000  # LRANGE page size when iterating


def sentinel() -> str:
    """A value no user data can equal, used to address one list element by position."""
    return "\x00pyredis-sentinel:" + uuid.uuid4().hex


def pushes(cmd: str, key: str, values: list[Any]) -> list[Args]:
    return [(cmd, key, *values[i : i + CHUNK]) for i in range(0, len(values), CHUNK)]


def lrange_bounds(s: slice) -> tuple[int, int] | None:
    """LRANGE start/end for a step-1 slice, or None when the slice is surely empty."""
    start = 0 if s.start is None else s.start
    if s.stop is None:
        end = -1
    elif s.stop == 0:
        return None
    else:
        end = s.stop - 1
    if start < 0 <= end or end < 0 <= start:
        return start, end  # mixed signs: LRANGE clamps like Python after normalizing
    if start >= 0 and end >= 0 and end < start:
        return None
    return start, end


def check_index(i: Any) -> int:
    if not isinstance(i, int) and hasattr(i, "__index__"):
        i = i.__index__()
    if not isinstance(i, int):
        raise TypeError(f"list indices must be integers or slices, not {type(i).__name__}")
    return i


class ListPlans:
    """Plans shared by RedisList, RedisDeque and their async twins."""

    key: str
    _enc: Any
    _dec: Any
    #: deques trim to this length; None for lists.
    _maxlen: int | None = None

    def _decode_all(self, reply: Iterable[Any]) -> list[Any]:
        return [self._dec(v) for v in reply]

    def _rewrite(self, values: list[Any]) -> list[Args]:
        """Commands replacing the whole list by ``values`` (Python objects)."""
        if self._maxlen is not None:
            values = values[-self._maxlen :] if self._maxlen else []
        return [("DEL", self.key), *pushes("RPUSH", self.key, [self._enc(v) for v in values])]

    def _p_len(self) -> Plan[int]:
        return int((yield Cmd(("LLEN", self.key))))

    def _p_all(self) -> Plan[list[Any]]:
        return self._decode_all((yield Cmd(("LRANGE", self.key, 0, -1))))

    def _p_page(self, start: int) -> Plan[tuple[int, list[Any]]]:
        reply = yield Cmd(("LRANGE", self.key, start, start + PAGE - 1))
        return (start + PAGE if len(reply) == PAGE else 0), self._decode_all(reply)

    def _p_getitem(self, i: Any) -> Plan[Any]:
        if isinstance(i, slice):
            if i.step not in (None, 1):
                return (yield from self._p_all())[i]
            bounds = lrange_bounds(i)
            if bounds is None:
                return []
            return self._decode_all((yield Cmd(("LRANGE", self.key, *bounds))))
        i = check_index(i)
        raw = yield Cmd(("LINDEX", self.key, i))
        if raw is None:
            raise IndexError("list index out of range")
        return self._dec(raw)

    def _p_setitem(self, i: Any, value: Any) -> Plan[None]:
        if isinstance(i, slice):
            values = list(value)

            def compute(replies: list[Any]) -> tuple[list[Args], None]:
                current = self._decode_all(replies[0])
                current[i] = values
                return self._rewrite(current), None

            yield Optimistic((self.key,), [("LRANGE", self.key, 0, -1)], compute)
            return
        i = check_index(i)
        try:
            yield Cmd(("LSET", self.key, i, self._enc(value)))
        except Exception as exc:
            if "index out of range" in str(exc) or "no such key" in str(exc):
                raise IndexError("list assignment index out of range") from None
            raise

    def _p_delitem(self, i: Any) -> Plan[None]:
        if isinstance(i, slice):

            def compute(replies: list[Any]) -> tuple[list[Args], None]:
                current = self._decode_all(replies[0])
                del current[i]
                return self._rewrite(current), None

            yield Optimistic((self.key,), [("LRANGE", self.key, 0, -1)], compute)
            return
        reply = yield Eval(LIST_POP_INDEX, (self.key,), (check_index(i), sentinel()))
        if not reply:
            raise IndexError("list assignment index out of range")

    def _p_pop(self, i: int = -1) -> Plan[Any]:
        i = check_index(i)
        if i in (0, -1):
            raw = yield Cmd(("LPOP" if i == 0 else "RPOP", self.key))
            if raw is None:
                raise IndexError(f"pop from empty {self._kind}")
            return self._dec(raw)
        reply = yield Eval(LIST_POP_INDEX, (self.key,), (i, sentinel()))
        if not reply:
            raise IndexError("pop index out of range")
        return self._dec(reply[0])

    @property
    def _kind(self) -> str:
        return "list" if self._maxlen is None and "Deque" not in type(self).__name__ else "deque"

    def _p_insert(self, i: int, value: Any) -> Plan[None]:
        maxlen = 0 if self._maxlen is None else self._maxlen
        if self._maxlen == 0:
            raise IndexError("deque already at its maximum size")
        n = yield Eval(LIST_INSERT, (self.key,), (check_index(i), self._enc(value), sentinel(), maxlen))
        if int(n) < 0:
            raise IndexError("deque already at its maximum size")

    def _p_extend(self, values: list[Any], left: bool = False) -> Plan[None]:
        if self._maxlen == 0:
            return
        if self._maxlen is not None and not left:
            values = values[-self._maxlen :]
        encoded = [self._enc(v) for v in values]
        cmds = pushes("LPUSH" if left else "RPUSH", self.key, encoded)
        if self._maxlen is not None and cmds:
            cmds.append(
                ("LTRIM", self.key, 0, self._maxlen - 1) if left else ("LTRIM", self.key, -self._maxlen, -1)
            )
        if len(cmds) == 1:
            yield Cmd(cmds[0])
        elif cmds:
            yield Pipe(cmds)

    def _p_trim(self) -> Plan[None]:
        if self._maxlen is not None:
            if self._maxlen == 0:
                yield Cmd(("DEL", self.key))
            else:
                yield Cmd(("LTRIM", self.key, -self._maxlen, -1))

    def _p_remove(self, value: Any) -> Plan[None]:
        if not int((yield Cmd(("LREM", self.key, 1, self._enc(value))))):
            raise ValueError(f"{self._kind}.remove(x): x not in {self._kind}")

    def _p_positions(self, value: Any) -> Plan[list[int]]:
        reply = yield Cmd(("LPOS", self.key, self._enc(value), "COUNT", 0))
        return [int(p) for p in reply or []]

    def _p_contains(self, value: Any) -> Plan[bool]:
        return (yield Cmd(("LPOS", self.key, self._enc(value)))) is not None

    def _p_index(self, value: Any, start: int = 0, stop: int | None = None) -> Plan[int]:
        n, positions = yield Pipe(
            [("LLEN", self.key), ("LPOS", self.key, self._enc(value), "COUNT", 0)], transaction=True
        )
        lo, hi, _ = slice(start, stop).indices(int(n))
        for p in positions or []:
            if lo <= int(p) < hi:
                return int(p)
        raise ValueError(f"{value!r} is not in {self._kind}")

    def _p_transform(self, fn: Any) -> Plan[None]:
        """Atomically replace the list by ``fn(current_values)``."""

        def compute(replies: list[Any]) -> tuple[list[Args], None]:
            return self._rewrite(fn(self._decode_all(replies[0]))), None

        yield Optimistic((self.key,), [("LRANGE", self.key, 0, -1)], compute)


def sequence_equal(values: list[Any], other: Any) -> Any:
    """``values == other`` for any sequence or deque (not str/bytes)."""
    if isinstance(other, (str, bytes)) or not isinstance(other, (Sequence, collections.deque)):
        return NotImplemented
    return values == list(other)


def sorted_list(values: list[Any], key: Any, reverse: bool) -> list[Any]:
    return sorted(values, key=key, reverse=reverse)


class RedisList(ListPlans, Container, MutableSequence):
    """A list in a Redis list.  ``RedisList([1, 2, 3], redis=client, key='queue')``.

    Indexing and slicing (negative indexes included) follow Python; slice assignment,
    ``sort`` and ``reverse`` are atomic (WATCH/MULTI); ``extend`` and iteration cost one
    round trip (per page of 1000 when iterating).
    """

    redis_type = "list"

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
        self.extend(iterable)

    def __getitem__(self, i: Any) -> Any:
        return self._run(self._p_getitem(i))

    def __setitem__(self, i: Any, value: Any) -> None:
        self._run(self._p_setitem(i, value))

    def __delitem__(self, i: Any) -> None:
        self._run(self._p_delitem(i))

    def __len__(self) -> int:
        return self._run(self._p_len())

    def __iter__(self) -> Iterator[Any]:
        return self._pages(self._p_page)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self.to_list())

    def __contains__(self, value: Any) -> bool:
        return self._run(self._p_contains(value))

    def insert(self, i: int, value: Any) -> None:
        self._run(self._p_insert(i, value))

    def append(self, value: Any) -> None:
        self._run(self._p_extend([value]))

    def extend(self, values: Iterable[Any]) -> None:
        """Append every value, in one round trip."""
        if isinstance(values, RedisList):
            values = values.to_list()
        self._run(self._p_extend(list(values)))

    def pop(self, i: int = -1) -> Any:
        return self._run(self._p_pop(i))

    def remove(self, value: Any) -> None:
        self._run(self._p_remove(value))

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        return self._run(self._p_index(value, start, stop))

    def count(self, value: Any) -> int:
        return len(self._run(self._p_positions(value)))

    def reverse(self) -> None:
        self._run(self._p_transform(lambda values: values[::-1]))

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        self._run(self._p_transform(lambda values: sorted_list(values, key, reverse)))

    def to_list(self) -> list[Any]:
        """A plain list copy, in one round trip."""
        return self._run(self._p_all())

    copy = to_list

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RedisList):
            other = other.to_list()
        return sequence_equal(self.to_list(), other)

    def __add__(self, other: Any) -> list[Any]:
        return self.to_list() + list(other)

    def __radd__(self, other: Any) -> list[Any]:
        return list(other) + self.to_list()

    def __iadd__(self, values: Iterable[Any]) -> RedisList:
        self.extend(values)
        return self

    def __mul__(self, n: int) -> list[Any]:
        return self.to_list() * n

    __rmul__ = __mul__

    def __imul__(self, n: int) -> RedisList:
        self._run(self._p_transform(lambda values: values * n))
        return self

    def _repr_data(self) -> Any:
        return self.to_list()
