"""AOF base files: the dataset as an RDB preamble or as the commands that rebuild it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from pyredis.persistence.rdb import write_all, write_rdb, zset_items
from pyredis.protocol.encoder import encode_command

ITEMS_PER_CMD = 64


def write_base_file(server: Any, path: str, rdb_preamble: bool, dbs: list | None = None,
                    functions: list[bytes] | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Write (and fsync) a base file at *path* for the dataset (or the *dbs* snapshot)."""
    with open(path, "wb", buffering=0) as fh:
        if rdb_preamble:
            write_rdb(server, fh, dbs=dbs, aof_base=True, functions=functions, progress=progress)
        else:
            write_commands(server, fh, dbs=dbs, functions=functions, progress=progress)
        os.fsync(fh.fileno())


def write_commands(server: Any, fh: BinaryIO, dbs: list | None = None, functions: list[bytes] | None = None,
                   progress: Callable[[int], None] | None = None) -> None:
    out: list[bytes] = []
    size = 0

    def emit(argv: list[bytes]) -> None:
        nonlocal size
        b = encode_command(argv)
        out.append(b)
        size += len(b)
        if size >= 1 << 20:
            write_all(fh, b"".join(out))
            out.clear()
            size = 0

    if server.config["aof-timestamp-enabled"]:
        out.append(b"#TS:%d\r\n" % int(time.time()))
    if functions is None:
        functions = server.scripting.function_codes()
    for code in functions:
        emit([b"FUNCTION", b"LOAD", code])
    if dbs is None:
        dbs = [(db.id, db.data, db.expires) for db in server.keyspace.dbs]
    cfg = server.config
    delay = cfg.values.get("rdb-key-save-delay", 0) if hasattr(cfg, "values") else 0
    done = 0
    for dbid, data, expires in dbs:
        if not data:
            continue
        emit([b"SELECT", b"%d" % dbid])
        for key, val in data.items():
            if delay > 0:
                time.sleep(delay / 1e6)
            done += 1
            if progress is not None and not done & 1023:
                progress(done)
            rewrite_value(key, val, emit)
            when = expires.get(key) if expires else None
            if when is not None:
                emit([b"PEXPIREAT", key, b"%d" % when])
    if out:
        write_all(fh, b"".join(out))
    if progress is not None:
        progress(done)


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i : i + n]


def fmt_score(s: float) -> bytes:
    if s != s:
        return b"nan"
    if s in (float("inf"), float("-inf")):
        return b"inf" if s > 0 else b"-inf"
    return b"%.17g" % s


def rewrite_value(key: bytes, val: Any, emit: Callable[[list[bytes]], None]) -> None:
    """Emit the commands recreating *key* with value *val*."""
    if type(val) is bytes:
        emit([b"SET", key, val])
        return
    module_rewrite = getattr(val, "aof_rewrite", None)  # a module type (pyredis.modules)
    if module_rewrite is not None:
        module_rewrite(key, emit)
        return
    tname = val.TYPE_NAME
    if tname == b"list":
        for chunk in _chunks(list(val), ITEMS_PER_CMD):
            emit([b"RPUSH", key, *chunk])
    elif tname == b"set":
        for chunk in _chunks(list(val), ITEMS_PER_CMD):
            emit([b"SADD", key, *chunk])
    elif tname == b"hash":
        for chunk in _chunks(list(val.items()), ITEMS_PER_CMD):
            args = [b"HMSET", key]
            for f, v in chunk:
                args.append(f)
                args.append(v)
            emit(args)
    elif tname == b"zset":
        for chunk in _chunks(zset_items(val), ITEMS_PER_CMD):
            args = [b"ZADD", key]
            for m, s in chunk:
                args.append(fmt_score(s))
                args.append(m)
            emit(args)
    elif tname == b"stream":
        from pyredis.persistence.stream_codec import rewrite_stream

        rewrite_stream(key, val, emit)
    else:
        raise ValueError(f"cannot rewrite values of type {tname!r}")
