"""The set type: a Python set with Redis 7.0's intset/hashtable encoding rule."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from random import random, randrange, sample
from typing import Any

from pyredis.protocol.numbers import parse_ll


def is_int_member(x: bytes) -> bool:
    """True when *x* would be stored in an intset (a canonical 64-bit integer)."""
    return len(x) <= 20 and parse_ll(x) is not None


class SetValue(set):
    """A Redis set.

    ``big`` is True once the set uses the ``hashtable`` encoding (sticky, like Redis); while
    False every member is an integer and the set reports ``intset`` (members then iterate in
    ascending numeric order through :meth:`ordered`).

    ``pool`` is None or a list holding exactly the members, built on demand for O(1) random
    picks (SPOP, SRANDMEMBER). Writers keep it exact (:meth:`add_member`, :meth:`pop_random`) or
    drop it (:meth:`forget_pool`) whenever they change the set otherwise.
    """

    __slots__ = ("big", "pool")
    TYPE_NAME = b"set"

    def __init__(self, items: Iterable[bytes] = ()) -> None:
        super().__init__(items)
        self.big = True
        self.pool: list[bytes] | None = None

    @classmethod
    def build(cls, items: Iterable[bytes], config: Any) -> SetValue:
        """A new set holding *items* with the encoding Redis would give it."""
        s = cls(items)
        s.big = False
        s.after_add(config, s)
        return s

    @classmethod
    def create_for(cls, first: bytes) -> SetValue:
        """An empty set with the encoding Redis picks for a first member *first*."""
        s = cls()
        s.big = not is_int_member(first)
        return s

    def encoding(self, config: Any = None) -> bytes:
        return b"hashtable" if self.big else b"intset"

    def copy(self) -> SetValue:
        s = SetValue(self)
        s.big = self.big
        return s

    def after_add(self, config: Any, added: Iterable[bytes]) -> None:
        """Update the encoding after *added* members were inserted."""
        if self.big:
            return
        if len(self) > config.values["set-max-intset-entries"]:
            self.big = True
            return
        for x in added:
            if not (len(x) <= 20 and parse_ll(x) is not None):
                self.big = True
                return

    def forget_pool(self) -> None:
        self.pool = None

    def members_list(self) -> list[bytes]:
        """The random-access list of members (built once, then kept in sync)."""
        pool = self.pool
        if pool is None:
            pool = self.pool = list(self)
        return pool

    def random_member(self) -> bytes:
        n = len(self)
        if n <= 16:
            return next(islice(self, randrange(n), None)) if n > 1 else next(iter(self))
        pool = self.members_list()
        return pool[int(random() * len(pool))]

    def pop_one(self) -> bytes:
        """Remove and return one random member (the set is not empty)."""
        if self.pool is None and len(self) <= 16:
            m = self.random_member()
        else:
            pool = self.members_list()
            i = int(random() * len(pool))
            m = pool[i]
            last = pool.pop()
            if i < len(pool):
                pool[i] = last
        self.discard(m)
        return m

    def pop_random(self, count: int) -> list[bytes]:
        """Remove and return *count* (< len) distinct random members."""
        pool = self.members_list()
        n = len(pool)
        out = []
        for i in sorted(sample(range(n), count), reverse=True):
            m = pool[i]
            last = pool.pop()
            if i < len(pool):
                pool[i] = last
            out.append(m)
        self.difference_update(out)
        return out

    def ordered(self) -> list[bytes]:
        """Members in the order Redis would iterate them (numeric order for an intset)."""
        if self.big:
            return list(self)
        return sorted(self, key=int)

