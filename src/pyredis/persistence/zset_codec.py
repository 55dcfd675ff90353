"""Sorted sets for the RDB reader: build a :class:`~pyredis.engine.zset.ZSetValue` from pairs."""

from __future__ import annotations

from typing import Any


def build_zset(config: Any, pairs: list[tuple[bytes, float]], longest: int | None = None) -> Any:
    """A sorted set with Redis's encoding for *pairs*; None when a member is duplicated.
    *longest*: the longest member's length, when the caller knows it."""
    from pyredis.engine.zset import ZSetValue

    v = config.values if hasattr(config, "values") else config
    z = ZSetValue.from_pairs(pairs, v["zset-max-listpack-entries"], v["zset-max-listpack-value"], longest)
    if len(z) != len(pairs):
        return None
    return z
