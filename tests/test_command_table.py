"""The command table: every declaration matches redis-server 7.0's COMMAND INFO (arity, flags, keys)."""

from __future__ import annotations

import pytest

from pyredis.commands import load_all
from pyredis.commands.registry import all_commands, metadata

load_all()

# Commands pyredis offers that redis-server 7.0 does not have (newer Redis versions).
NEWER_THAN_7_0 = {"client|setinfo", "client|no-touch",
                  "gateway", "gateway|token", "gateway|help"}  # the last ones: pyredis's own

# Flags Redis adds itself (not declared by command implementations) or module-only.
# movablekeys/module*: derived; protected: a real flag that COMMAND INFO hides on purpose (server.c)
_DERIVED = {"movablekeys", "module", "module_getkeys", "module_no_cluster", "protected"}


def _declared() -> list:
    return [c for c in all_commands() if c.handler is not None or c.subcommands]


@pytest.mark.parametrize("cmd", _declared(), ids=lambda c: c.fullname)
def test_declaration_matches_redis(cmd):
    if cmd.fullname in NEWER_THAN_7_0:
        return
    meta = metadata()["info"].get(cmd.fullname)
    assert meta is not None, f"{cmd.fullname} is not a redis-server 7.0 command"
    assert cmd.arity == meta[1], f"{cmd.fullname}: arity {cmd.arity} != {meta[1]}"
    flags = {f["+"] for f in meta[2]["~"]} - _DERIVED
    assert set(cmd.flags) - _DERIVED == flags, f"{cmd.fullname}: flags {sorted(cmd.flags)} != {sorted(flags)}"
    if cmd.getkeys is None:
        assert (cmd.first, cmd.last, cmd.step) == (meta[3], meta[4], meta[5]), (
            f"{cmd.fullname}: keys {(cmd.first, cmd.last, cmd.step)} != {tuple(meta[3:6])}")


def test_command_count_and_info(diff):
    # COMMAND INFO of implemented commands is byte-identical in both protocols.
    for name in ("get", "set", "mget", "expire", "incrbyfloat", "lcs"):  # subcommand order is hash-seeded in Redis
        diff.check("COMMAND", "INFO", name)
    diff.hello(3)
    for name in ("get", "set", "mget"):
        diff.check("COMMAND", "INFO", name)
    diff.check("COMMAND", "DOCS", "get")
    diff.check("COMMAND", "GETKEYS", "set", "a", "b")
    diff.check("COMMAND", "GETKEYS", "mset", "a", "b", "c", "d")
    diff.check("COMMAND", "GETKEYS", "nosuch")
    diff.check("COMMAND", "GETKEYS", "get")
    diff.check("COMMAND", "GETKEYS", "ping", "x")
    diff.check("COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1")
    diff.check("COMMAND", "LIST", "FILTERBY", "BAD", "x")
    diff.check("COMMAND", "INFO", "nosuch")
