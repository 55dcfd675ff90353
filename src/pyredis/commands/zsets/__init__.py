"""Sorted set commands (t_zset.c): ZADD, ranges, pops, set operations, ZRANDMEMBER, ZSCAN.

Split by seam: :mod:`.common` (lookups, score arguments, reply encoding, storing), :mod:`.add`
(ZADD/ZINCRBY, point reads, ZREM/ZREMRANGEBY*), :mod:`.ranges` (the ZRANGE family), :mod:`.pops`
(ZPOPMIN/ZPOPMAX/ZMPOP, ZRANDMEMBER) and :mod:`.setops` (ZUNION/ZINTER/ZDIFF[STORE], ZINTERCARD, ZSCAN).
Reusable by other families: :func:`get_zset_read`/:func:`get_zset_write`, :func:`zset_pop`
(the non-blocking pop behind ZPOPMIN/ZPOPMAX/ZMPOP, used by BZPOP*), :func:`parse_mpop_args`,
:func:`pop_reply_items`, :func:`store_zset`.
"""

from __future__ import annotations

from pyredis.commands.zsets import add, common, pops, ranges, setops
from pyredis.commands.zsets.add import zadd_generic
from pyredis.commands.zsets.common import get_zset_read, get_zset_write, key_ready, store_zset
from pyredis.commands.zsets.pops import parse_mpop_args, pop_reply_items, zset_pop

__all__ = ["add", "common", "get_zset_read", "get_zset_write", "key_ready", "parse_mpop_args",
           "pop_reply_items", "pops", "ranges", "setops", "store_zset", "zadd_generic", "zset_pop"]
