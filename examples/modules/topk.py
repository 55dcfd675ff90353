"""TOPK: count items per key and list the most frequent ones (a pyredis module in Python).

    pyredis-server --loadmodule examples/modules/topk.py

    TOPK.ADD key item [item ...]     -> the new count of each item
    TOPK.LIST key [k]                -> the k most frequent items, most frequent first
    TOPK.INCRBY key item increment   -> the new count (what the AOF rewrite emits)
    TOPK.COUNT key item              -> the item's count (0 when absent)

The counts live in a custom data type, ``topk-type``, that survives SAVE, restarts, DEBUG RELOAD,
DUMP/RESTORE and BGREWRITEAOF.
"""

from __future__ import annotations

from pyredis.modules import DataType, ModuleError, command

MODULE_NAME = "topk"
MODULE_VERSION = 1


def _save(io, counts: dict[bytes, int]) -> None:
    io.save_unsigned(len(counts))
    for item, n in counts.items():
        io.save_string(item)
        io.save_unsigned(n)


def _load(io, encver: int) -> dict[bytes, int]:
    counts = {}
    for _ in range(io.load_unsigned()):
        item = io.load_string()
        counts[item] = io.load_unsigned()
    return counts


def _rewrite(aof, key: bytes, counts: dict[bytes, int]) -> None:
    for item, n in counts.items():
        aof.emit("TOPK.INCRBY", key, item, n)


def _digest(md, counts: dict[bytes, int]) -> None:
    for item in sorted(counts):
        md.add_string_buffer(item)
        md.add_long_long(counts[item])
        md.end_sequence()


TOPK = DataType("topk-type", 0, rdb_save=_save, rdb_load=_load, aof_rewrite=_rewrite,
                mem_usage=lambda counts: sum(len(k) + 16 for k in counts), digest=_digest,
                copy=dict)


def _counts(ctx, key: bytes) -> dict[bytes, int]:
    counts = ctx.write(key, TOPK)  # WRONGTYPE for keys of other types
    if counts is None:
        counts = {}
        ctx.set_value(key, TOPK, counts)
    return counts


@command("topk.add", arity=-3, flags="write deny-oom fast", keys=(1, 1, 1), acl_categories="@write",
         summary="Count items of a top-k key", since="1.0.0", complexity="O(N) for N items")
def topk_add(ctx, argv):
    key = argv[1]
    counts = _counts(ctx, key)
    out = []
    for item in argv[2:]:
        counts[item] = n = counts.get(item, 0) + 1
        out.append(n)
    ctx.signal_modified(key)
    ctx.notify("topk.add", key)
    return out


@command("topk.incrby", arity=4, flags="write deny-oom fast", keys=(1, 1, 1), acl_categories="@write")
def topk_incrby(ctx, argv):
    try:
        incr = int(argv[3])
    except ValueError:
        raise ModuleError("ERR value is not an integer or out of range") from None
    if incr < 0:
        raise ModuleError("ERR increment must not be negative")
    counts = _counts(ctx, argv[1])
    counts[argv[2]] = n = counts.get(argv[2], 0) + incr
    ctx.signal_modified(argv[1])
    ctx.notify("topk.incrby", argv[1])
    return n


@command("topk.list", arity=-2, flags="readonly", keys=(1, 1, 1), acl_categories="@read",
         summary="The most frequent items of a top-k key", since="1.0.0", complexity="O(N log N)")
def topk_list(ctx, argv):
    if len(argv) > 3:
        raise ModuleError("ERR syntax error")
    k = None
    if len(argv) == 3:
        try:
            k = int(argv[2])
        except ValueError:
            raise ModuleError("ERR value is not an integer or out of range") from None
        if k < 0:
            raise ModuleError("ERR k must be positive")
    counts = ctx.read(argv[1], TOPK)
    if not counts:
        return []
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [item for item, _ in (ranked if k is None else ranked[:k])]


@command("topk.count", arity=3, flags="readonly fast", keys=(1, 1, 1), acl_categories="@read")
def topk_count(ctx, argv):
    counts = ctx.read(argv[1], TOPK)
    return (counts or {}).get(argv[2], 0)
