"""The differential corpus through the in-process client: every differential test of the suite
that only uses ``diff.check`` / ``check_sorted`` / ``check_all`` / ``lines`` / ``hello`` runs
again, each command going through redis-py to real redis-server on one side and through
``pyredis.fake`` (no socket) on the other; the parsed replies (or the exception type and message)
must be equal. RESP2 and RESP3, sync and asyncio clients.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import os
import re
import shlex
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio

import pyredis.fake as fake

HERE = os.path.dirname(os.path.abspath(__file__))
# Tests doing anything else with the differ, or driving connection state redis-py keeps itself.
_UNSUITABLE = re.compile(r"diff\.(both|r|p|pyredis)\b|=\s*diff\.|assert|SUBSCRIBE|MONITOR|QUIT|RESET|\bwhile\b|"
                         r"time\.|import |CLIENT|DEBUG SLEEP|WAIT|\w\(diff\b", re.I)
_SOURCES = ["test_bitops", "test_blocking", "test_dump", "test_geo", "test_hashes", "test_hyperloglog",
            "test_keys", "test_lists", "test_sets", "test_sort", "test_streams", "test_strings",
            "test_transactions", "test_zsets", "test_command_table", "test_connection"]


def _corpus() -> list[tuple[str, str]]:
    out = []
    for mod in _SOURCES:
        path = os.path.join(HERE, mod + ".py")
        if not os.path.exists(path):
            continue
        with open(path) as fh:
            src = fh.read()
        for node in ast.parse(src).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_") or node.decorator_list:
                continue
            if [a.arg for a in node.args.args] != ["diff"]:
                continue
            body = "\n".join(ast.get_source_segment(src, stmt) or "" for stmt in node.body)
            if _UNSUITABLE.search(body):
                continue
            out.append((mod, node.name))
    return out


CORPUS = _corpus()


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return ("ok", _norm(fn()))
    except redis.RedisError as e:
        return ("error", type(e).__name__, str(e))
    except Exception as e:  # noqa: BLE001 - a response callback choking must choke on both sides
        return ("exception", type(e).__name__)


def _norm(v: Any) -> Any:
    if isinstance(v, Exception):  # an error inside an array reply
        return ("error", type(v).__name__, str(v))
    if isinstance(v, dict):
        return {_key(k): _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((_norm(x) for x in v), key=repr)
    return v


def _key(k: Any) -> Any:
    return tuple(_norm(k)) if isinstance(k, list) else k


class RedisPyDiffer:
    """The ``diff`` fixture's API over two redis-py clients (real server, in-process fake)."""

    def __init__(self, run_real: Callable[..., Any], run_fake: Callable[..., Any]) -> None:
        self.run_real = run_real
        self.run_fake = run_fake

    def both(self, *args: Any) -> tuple[Any, Any]:
        return _outcome(lambda: self.run_real(*args)), _outcome(lambda: self.run_fake(*args))

    def check(self, *args: Any) -> None:
        expected, got = self.both(*args)
        assert got == expected, f"{args!r}: redis {expected!r} != pyredis.fake {got!r}"

    def check_all(self, *commands: Any) -> None:
        for cmd in commands:
            self.check(*cmd)

    def check_sorted(self, *args: Any) -> None:
        expected, got = self.both(*args)
        if expected[0] == "ok" and isinstance(expected[1], list) and got[0] == "ok" and isinstance(got[1], list):
            expected = ("ok", sorted(expected[1], key=repr))
            got = ("ok", sorted(got[1], key=repr))
        assert got == expected, f"{args!r}: redis {expected!r} != pyredis.fake {got!r}"

    def hello(self, *args: Any) -> None:
        expected, got = self.both("HELLO", *args)
        for res in (expected, got):
            if res[0] == "ok" and isinstance(res[1], dict):
                res[1].pop(b"id", None)
                res[1].pop("id", None)
        assert got == expected, (expected, got)

    def lines(self, script: str) -> None:
        for line in script.strip().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                args = shlex.split(line)
                if args[0].upper() == "HELLO":
                    self.hello(*args[1:])
                else:
                    self.check(*args)


_FAKE_CONFIG = {"enable-debug-command": "yes"}


def _sync_differ(redis_proc: Any, protocol: int) -> tuple[RedisPyDiffer, Callable[[], None]]:
    real = redis.Redis(port=redis_proc.port, protocol=protocol, single_connection_client=True)
    fk = fake.FakeRedis(server=fake.FakeServer(config=_FAKE_CONFIG), protocol=protocol,
                        single_connection_client=True)

    def close() -> None:
        real.close()
        fk.close()

    return RedisPyDiffer(real.execute_command, fk.execute_command), close


def _async_differ(redis_proc: Any, protocol: int) -> tuple[RedisPyDiffer, Callable[[], None]]:
    loop = asyncio.new_event_loop()
    real = redis.asyncio.Redis(port=redis_proc.port, protocol=protocol, single_connection_client=True)
    fk = fake.FakeAsyncRedis(server=fake.FakeServer(config=_FAKE_CONFIG), protocol=protocol,
                             single_connection_client=True)

    def close() -> None:
        loop.run_until_complete(real.aclose())
        loop.run_until_complete(fk.aclose())
        loop.close()

    return (RedisPyDiffer(lambda *a: loop.run_until_complete(real.execute_command(*a)),
                          lambda *a: loop.run_until_complete(fk.execute_command(*a))), close)


# The whole corpus through the sync client in both protocols; every third test through asyncio too
# (the async client shares the engine side, so this keeps the CI time down).
CASES = [(m, n, v) for m, n in CORPUS for v in ("sync-resp2", "sync-resp3")]
CASES += [(m, n, v) for m, n in CORPUS[::3] for v in ("async-resp2", "async-resp3")]


@pytest.mark.parametrize(("module", "name", "variant"), CASES, ids=[f"{m}::{n}-{v}" for m, n, v in CASES])
def test_corpus(redis_proc, module: str, name: str, variant: str) -> None:
    kind, proto = variant.split("-")
    make = _sync_differ if kind == "sync" else _async_differ
    d, close = make(redis_proc, int(proto[-1]))
    try:
        d.check("FLUSHALL")
        d.check("SELECT", "9")
        d.check("FLUSHALL")
        getattr(importlib.import_module(module), name)(d)
    finally:
        close()


def test_corpus_is_representative() -> None:
    """The corpus spans the command families (so a filter change cannot empty it silently)."""
    families = {m for m, _ in CORPUS}
    assert len(CORPUS) >= 100
    assert {"test_strings", "test_lists", "test_hashes", "test_sets", "test_zsets", "test_streams",
            "test_transactions"} <= families
