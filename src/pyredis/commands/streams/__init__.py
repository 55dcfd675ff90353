"""Stream commands (t_stream.c): XADD, XRANGE, XREAD, consumer groups, XPENDING, XCLAIM, XINFO...

Replies, errors, keyspace events and propagation follow redis-server 7.0.  The family is split by
seam: :mod:`.common` (ID parsing, lookups, reply encoding), :mod:`.add` (XADD/XTRIM/XDEL/XLEN/XRANGE),
:mod:`.read` (XREAD/XREADGROUP and blocking), :mod:`.groups` (XGROUP/XSETID/XACK/XPENDING),
:mod:`.claim` (XCLAIM/XAUTOCLAIM) and :mod:`.info` (XINFO).  XREAD/XREADGROUP BLOCK go through
:mod:`pyredis.commands.blocking`; :func:`xread_serve` is the function that machinery calls to serve a
blocked client once one of its keys is ready.
"""

from __future__ import annotations

from pyredis.commands.streams import add, claim, common, groups, info, read
from pyredis.commands.streams.common import get_stream, parse_id
from pyredis.commands.streams.read import ReadSpec, xread_serve

__all__ = ["ReadSpec", "add", "claim", "common", "get_stream", "groups", "info", "parse_id", "read",
           "xread_serve"]
