"""``HyperLogLog``: approximate distinct counting with PFADD/PFCOUNT/PFMERGE."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyredis.collections.base import Container, random_key, same_server
from pyredis.collections.ops import Args, Cmd, Pipe, Plan

CHUNK = 10_000


class HyperLogLogPlans:
    """Plans shared by :class:`HyperLogLog` and its async twin."""

    key: str
    redis: Any
    _enc: Any

    def _split(self, others: Iterable[Any]) -> tuple[list[str], list[Any]]:
        """Other HyperLogLogs (merged server-side) and plain values (added)."""
        keys, values = [], []
        for other in others:
            if isinstance(other, HyperLogLogPlans):
                if not same_server(other.redis, self.redis):
                    raise ValueError("can only merge HyperLogLogs on the same server")
                keys.append(other.key)
            else:
                values.extend(other)
        return keys, values

    def _updates(self, target: str, keys: list[str], values: list[Any]) -> list[Args]:
        cmds: list[Args] = [("PFMERGE", target, self.key, *keys)] if keys or target != self.key else []
        encoded = [self._enc(v) for v in values]
        cmds += [("PFADD", target, *encoded[i : i + CHUNK]) for i in range(0, len(encoded), CHUNK)]
        return cmds

    def _p_add(self, value: Any) -> Plan[bool]:
        return bool((yield Cmd(("PFADD", self.key, self._enc(value)))))

    def _p_update(self, keys: list[str], values: list[Any], target: str | None = None) -> Plan[None]:
        cmds = self._updates(target or self.key, keys, values)
        if cmds:
            yield Pipe(cmds)

    def _p_len(self) -> Plan[int]:
        return int((yield Cmd(("PFCOUNT", self.key))))


class HyperLogLog(HyperLogLogPlans, Container):
    """``hll = HyperLogLog(['a', 'b'], redis=r)``; ``len(hll)`` ≈ distinct values added.

    ``hll.update(other_hll, ['c', 'd'])`` merges and adds in one round trip;
    ``hll | other`` returns a new HyperLogLog (random key) holding the union.
    """

    redis_type = "string"

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

    def add(self, value: Any) -> bool:
        """Add ``value``; True if the estimate changed."""
        return self._run(self._p_add(value))

    def update(self, *others: Any) -> None:
        """Merge other HyperLogLogs and add the values of plain iterables."""
        self._run(self._p_update(*self._split(others)))

    def union(self, *others: Any, key: str | None = None) -> HyperLogLog:
        """A new HyperLogLog (at ``key``, random by default) of self and ``others``."""
        new = HyperLogLog(redis=self.redis, key=key or random_key(), serializer=self.serializer)
        self._run(self._p_update(*self._split(others), target=new.key))
        return new

    def __or__(self, other: Any) -> HyperLogLog:
        return self.union(other)

    def __ior__(self, other: Any) -> HyperLogLog:
        self.update(other)
        return self

    def __len__(self) -> int:
        return self._run(self._p_len())

    def __repr__(self) -> str:
        return f"<HyperLogLog key={self.key!r} len≈{len(self)}>"
