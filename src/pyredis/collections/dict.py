"""``RedisDict``: a MutableMapping stored in a Redis hash (fields and values serialized)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping, ValuesView
from typing import Any

from pyredis.collections.base import Container
from pyredis.collections.ops import Cmd, Eval, Pipe, Plan, pairs, scan_reply
from pyredis.collections.scripts import DICT_POPITEM

MISSING: Any = object()
CHUNK = 10_000  # pairs per HSET in bulk writes (all sent in one round trip)
PAGE = 1000  # HSCAN COUNT hint


def pairs_of(arg: Any = (), kwargs: Mapping[str, Any] | None = None) -> list[tuple[Any, Any]]:
    """The ``(key, value)`` pairs ``dict.update(arg, **kwargs)`` would apply, in order."""
    if isinstance(arg, Container) and hasattr(arg, "to_dict"):  # a RedisDict: one round trip
        arg = arg.to_dict()
    if isinstance(arg, Mapping):
        items = list(arg.items())
    elif hasattr(arg, "keys"):
        items = [(k, arg[k]) for k in arg.keys()]
    else:
        items = []
        for i, pair in enumerate(arg):
            try:
                k, v = pair
            except (TypeError, ValueError) as exc:
                raise ValueError(f"update sequence element #{i} is not a key/value pair") from exc
            items.append((k, v))
    if kwargs:
        items.extend(kwargs.items())
    return items


def hset_commands(key: str, encoded: list[tuple[Any, Any]]) -> list[tuple[Any, ...]]:
    """HSET commands (``CHUNK`` pairs each) writing ``encoded`` field/value pairs."""
    cmds = []
    for start in range(0, len(encoded), CHUNK):
        args: list[Any] = ["HSET", key]
        for field, value in encoded[start : start + CHUNK]:
            args += (field, value)
        cmds.append(tuple(args))
    return cmds


class DictPlans:
    """Plans shared by :class:`RedisDict` and its async twin."""

    key: str
    _enc: Any
    _dec: Any
    _dec_hashable: Any

    def _decode_pairs(self, reply: Any) -> list[tuple[Any, Any]]:
        return [(self._dec_hashable(f), self._dec(v)) for f, v in pairs(reply)]

    def _p_getitem(self, k: Any, default: Any = MISSING) -> Plan[Any]:
        raw = yield Cmd(("HGET", self.key, self._enc(k)))
        if raw is None:
            if default is MISSING:
                raise KeyError(k)
            return default
        return self._dec(raw)

    def _p_setitem(self, k: Any, v: Any) -> Plan[None]:
        yield Cmd(("HSET", self.key, self._enc(k), self._enc(v)))

    def _p_delitem(self, k: Any) -> Plan[None]:
        if not (yield Cmd(("HDEL", self.key, self._enc(k)))):
            raise KeyError(k)

    def _p_len(self) -> Plan[int]:
        return int((yield Cmd(("HLEN", self.key))))

    def _p_contains(self, k: Any) -> Plan[bool]:
        return bool((yield Cmd(("HEXISTS", self.key, self._enc(k)))))

    def _p_items(self) -> Plan[list[tuple[Any, Any]]]:
        return self._decode_pairs((yield Cmd(("HGETALL", self.key))))

    def _p_page(self, cursor: int) -> Plan[tuple[int, list[tuple[Any, Any]]]]:
        cursor, items = scan_reply((yield Cmd(("HSCAN", self.key, cursor, "COUNT", PAGE))))
        return cursor, self._decode_pairs(items)

    def _p_update(self, items: list[tuple[Any, Any]]) -> Plan[None]:
        encoded = [(self._enc(k), self._enc(v)) for k, v in items]
        cmds = hset_commands(self.key, encoded)
        if len(cmds) == 1:
            yield Cmd(cmds[0])
        elif cmds:
            yield Pipe(cmds)

    def _p_pop(self, k: Any, default: Any = MISSING) -> Plan[Any]:
        field = self._enc(k)
        raw, _ = yield Pipe([("HGET", self.key, field), ("HDEL", self.key, field)])
        if raw is None:
            if default is MISSING:
                raise KeyError(k)
            return default
        return self._dec(raw)

    def _p_popitem(self) -> Plan[tuple[Any, Any]]:
        reply = yield Eval(DICT_POPITEM, (self.key,))
        if not reply:
            raise KeyError("popitem(): dictionary is empty")
        return self._dec_hashable(reply[0]), self._dec(reply[1])

    def _p_setdefault(self, k: Any, default: Any = None) -> Plan[Any]:
        field = self._enc(k)
        _, raw = yield Pipe([("HSETNX", self.key, field, self._enc(default)), ("HGET", self.key, field)])
        return self._dec(raw)

    def _p_getmany(self, keys: list[Any]) -> Plan[list[Any]]:
        if not keys:
            return []
        raws = yield Cmd(("HMGET", self.key, *[self._enc(k) for k in keys]))
        return [None if r is None else self._dec(r) for r in raws]


class RedisDict(DictPlans, Container, MutableMapping):
    """A dict in a Redis hash.  ``RedisDict({'a': 1}, redis=client, key='tel')``.

    Bulk operations (``update``, ``to_dict``, ``items()`` iteration, ``==``) cost one
    round trip (iteration one per page of ~1000 fields).
    """

    redis_type = "hash"

    def __init__(
        self,
        arg: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (),
        /,
        *,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        self.update(arg, **kwargs)

    def __getitem__(self, k: Any) -> Any:
        return self._run(self._p_getitem(k))

    def __setitem__(self, k: Any, v: Any) -> None:
        self._run(self._p_setitem(k, v))

    def __delitem__(self, k: Any) -> None:
        self._run(self._p_delitem(k))

    def __len__(self) -> int:
        return self._run(self._p_len())

    def __contains__(self, k: Any) -> bool:
        return self._run(self._p_contains(k))

    def __iter__(self) -> Iterator[Any]:
        return (k for k, _ in self._pages(self._p_page))

    def iter_items(self) -> Iterator[tuple[Any, Any]]:
        """Iterate ``(key, value)`` pairs with HSCAN (one round trip per page)."""
        return self._pages(self._p_page)

    def items(self) -> _ItemsView:  # type: ignore[override]
        return _ItemsView(self)

    def values(self) -> _ValuesView:  # type: ignore[override]
        return _ValuesView(self)

    def get(self, k: Any, default: Any = None) -> Any:
        return self._run(self._p_getitem(k, default))

    def get_many(self, keys: Iterable[Any]) -> list[Any]:
        """Values of ``keys`` (None where missing) in one round trip."""
        return self._run(self._p_getmany(list(keys)))

    def update(self, arg: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        """Like ``dict.update``, in one round trip."""
        self._run(self._p_update(pairs_of(arg, kwargs)))

    def pop(self, k: Any, default: Any = MISSING) -> Any:
        return self._run(self._p_pop(k, default))

    def popitem(self) -> tuple[Any, Any]:
        """Remove and return an arbitrary ``(key, value)`` pair (atomic)."""
        return self._run(self._p_popitem())

    def setdefault(self, k: Any, default: Any = None) -> Any:
        return self._run(self._p_setdefault(k, default))

    def to_dict(self) -> dict[Any, Any]:
        """A plain dict copy, in one round trip."""
        return dict(self._run(self._p_items()))

    copy = to_dict

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == (other.to_dict() if isinstance(other, RedisDict) else dict(other))
        return NotImplemented

    def __or__(self, other: Any) -> dict[Any, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.to_dict() | dict(other.items())

    def __ror__(self, other: Any) -> dict[Any, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(other.items()) | self.to_dict()

    def __ior__(self, other: Any) -> RedisDict:
        self.update(other)
        return self

    def _repr_data(self) -> Any:
        return self.to_dict()


class _ItemsView(ItemsView):
    """``items()`` of a RedisDict: iterates with HSCAN pages, not a round trip per key."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self._mapping.iter_items()


class _ValuesView(ValuesView):
    """``values()`` of a RedisDict: iterates with HSCAN pages."""

    def __iter__(self) -> Iterator[Any]:
        return (v for _, v in self._mapping.iter_items())
