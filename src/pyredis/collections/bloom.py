"""``BloomFilter``: a probabilistic set in a Redis string of bits (SETBIT/GETBIT)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

from pyredis.collections.base import Container
from pyredis.collections.ops import Cmd, Pipe, Plan

CHUNK = 50_000  # bits per BITFIELD command


class BloomPlans:
    """Sizing, hashing and plans shared by :class:`BloomFilter` and its async twin.

    ``num_elements`` is the expected number of elements and ``false_positives`` the
    acceptable false-positive rate at that size; they set the bit-array ``size`` and
    the number of hashes.  Every element operation, bulk ones included, is one round trip.
    """

    key: str
    _enc: Any

    def _size(self, num_elements: int, false_positives: float) -> None:
        if num_elements < 1 or not 0 < false_positives < 1:
            raise ValueError("need num_elements >= 1 and 0 < false_positives < 1")
        self.num_elements = num_elements
        self.false_positives = false_positives
        self.size = max(8, math.ceil(-num_elements * math.log(false_positives) / math.log(2) ** 2))
        self.num_hashes = max(1, round(self.size / num_elements * math.log(2)))

    def _bits(self, value: Any) -> list[int]:
        raw = self._enc(value)
        digest = hashlib.blake2b(raw if isinstance(raw, bytes) else raw.encode(), digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.size for i in range(self.num_hashes)]

    def _bitfield(self, op: str, bits: list[int]) -> Plan[list[Any]]:
        """One BITFIELD command per ``CHUNK`` bits (``SET u1 bit 1`` or ``GET u1 bit``), one round trip."""
        cmds = []
        for start in range(0, len(bits), CHUNK):
            args: list[Any] = ["BITFIELD", self.key]
            for bit in bits[start : start + CHUNK]:
                args += (op, "u1", bit, 1) if op == "SET" else (op, "u1", bit)
            cmds.append(tuple(args))
        if not cmds:
            return []
        replies = [(yield Cmd(cmds[0]))] if len(cmds) == 1 else (yield Pipe(cmds, transaction=False))
        return [x for reply in replies for x in reply]

    def _p_add(self, values: Iterable[Any]) -> Plan[None]:
        yield from self._bitfield("SET", [bit for v in values for bit in self._bits(v)])

    def _p_contains(self, values: list[Any]) -> Plan[list[bool]]:
        reply = yield from self._bitfield("GET", [bit for v in values for bit in self._bits(v)])
        k = self.num_hashes
        return [all(int(x) for x in reply[i * k : (i + 1) * k]) for i in range(len(values))]

    def _p_len(self) -> Plan[int]:
        ones = int((yield Cmd(("BITCOUNT", self.key))))
        if ones >= self.size:
            return self.num_elements  # saturated: the estimate is meaningless
        return round(-self.size / self.num_hashes * math.log(1 - ones / self.size))

    def _describe(self) -> str:
        return (
            f"key={self.key!r}, num_elements={self.num_elements}, "
            f"false_positives={self.false_positives}, size={self.size}, num_hashes={self.num_hashes}"
        )


class BloomFilter(BloomPlans, Container):
    """``bf = BloomFilter(['a', 'b'], num_elements=1000, false_positives=0.01, redis=r)``.

    ``'a' in bf`` is always True for added values and rarely (about ``false_positives``)
    for others; ``len(bf)`` estimates how many distinct values were added.
    """

    redis_type = "string"

    def __init__(
        self,
        iterable: Iterable[Any] = (),
        /,
        *,
        num_elements: int = 100,
        false_positives: float = 0.001,
        redis: Any = None,
        key: str | None = None,
        serializer: Any = None,
    ):
        super().__init__(redis=redis, key=key, serializer=serializer)
        self._size(num_elements, false_positives)
        self.update(iterable)

    def add(self, value: Any) -> None:
        self._run(self._p_add([value]))

    def update(self, *iterables: Iterable[Any]) -> None:
        """Add every value of every iterable, in one round trip."""
        self._run(self._p_add([v for it in iterables for v in it]))

    def __contains__(self, value: Any) -> bool:
        return self._run(self._p_contains([value]))[0]

    def contains_many(self, values: Iterable[Any]) -> list[bool]:
        """Membership of each value, in one round trip."""
        return self._run(self._p_contains(list(values)))

    def __len__(self) -> int:
        """Approximate number of distinct values added."""
        return self._run(self._p_len())

    def __repr__(self) -> str:
        return f"<BloomFilter {self._describe()}>"
