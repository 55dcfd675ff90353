"""RATELIMIT: a token bucket per key (a pyredis module in Python).

    pyredis-server --loadmodule examples/modules/ratelimit.py

    RATELIMIT.TAKE key capacity refill_per_second [tokens]
        -> 1 when *tokens* (default 1) were taken from the bucket, 0 when it has too few

The bucket starts full (*capacity* tokens) and refills continuously at *refill_per_second*. The
check and the take are one command, so they are atomic. The state is a hash (``tokens``, ``ts``
in ms) that expires once the bucket would be full again; what is propagated to the AOF and
replicas is that resulting state (HSET + PEXPIREAT), not the command, so replaying it later gives
the same data whatever the clock says then.
"""

from __future__ import annotations

import math
import time

from pyredis.modules import ModuleError, command

MODULE_NAME = "ratelimit"
MODULE_VERSION = 1


def _number(b: bytes, what: str) -> float:
    try:
        v = float(b)
    except ValueError:
        raise ModuleError(f"ERR {what} is not a valid number") from None
    if not math.isfinite(v) or v < 0:
        raise ModuleError(f"ERR {what} must be a non-negative number")
    return v


@command("ratelimit.take", arity=-4, flags="write deny-oom fast", keys=(1, 1, 1), acl_categories="@write",
         summary="Take tokens from a rate-limit bucket", since="1.0.0", complexity="O(1)")
def take(ctx, argv):
    if len(argv) > 5:
        raise ModuleError("ERR syntax error")
    key = argv[1]
    capacity = _number(argv[2], "capacity")
    rate = _number(argv[3], "refill_per_second")
    want = _number(argv[4], "tokens") if len(argv) == 5 else 1.0
    now = int(time.time() * 1000)
    state = ctx.write(key, "hash")  # WRONGTYPE for a key of another type
    if state is None:
        tokens = capacity
    else:
        tokens = float(state.get(b"tokens", b"%r" % capacity))
        last = int(state.get(b"ts", b"%d" % now))
        tokens = min(capacity, tokens + max(0, now - last) / 1000.0 * rate)
    taken = want <= tokens
    if taken:
        tokens -= want
    value = repr(tokens).encode()
    ctx.call("HSET", key, "tokens", value, "ts", now)
    missing = capacity - tokens
    expire_at = now + (math.ceil(missing / rate * 1000) if rate > 0 else 0) + 1000
    if rate > 0:
        ctx.call("PEXPIREAT", key, expire_at)
    ctx.replicate("HSET", key, "tokens", value, "ts", now)
    if rate > 0:
        ctx.replicate("PEXPIREAT", key, expire_at)
    return 1 if taken else 0
