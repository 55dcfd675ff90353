"""Lua scripting commands (eval.c): EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT."""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import OK


def script_keys(argv: list[bytes]) -> list[int]:
    """Key positions of EVAL-like commands: ``<script> <numkeys> key... arg...``."""
    nk = parse_ll(argv[2]) if len(argv) > 2 else None
    if nk is None or nk <= 0 or nk > len(argv) - 3:
        return []
    return list(range(3, 3 + nk))


_FLAGS = "noscript stale skip_monitor no_mandatory_keys movablekeys"


@command("eval", -3, _FLAGS, getkeys=script_keys)
def cmd_eval(c, argv):
    s = c.server.scripting
    if s.debugging(c):
        return s.ldb.run_eval(c, argv, False)
    return s.eval(c, argv, False, False)


@command("evalsha", -3, _FLAGS, getkeys=script_keys)
def cmd_evalsha(c, argv):
    s = c.server.scripting
    if s.debugging(c) and len(argv[1]) == 40:
        raise CommandError("ERR Please use EVAL instead of EVALSHA for debugging")
    return s.eval(c, argv, False, True)


@command("eval_ro", -3, "readonly " + _FLAGS, getkeys=script_keys)
def cmd_eval_ro(c, argv):
    s = c.server.scripting
    if s.debugging(c):
        return s.ldb.run_eval(c, argv, True)
    return s.eval(c, argv, True, False)


@command("evalsha_ro", -3, "readonly " + _FLAGS, getkeys=script_keys)
def cmd_evalsha_ro(c, argv):
    s = c.server.scripting
    if s.debugging(c) and len(argv[1]) == 40:
        raise CommandError("ERR Please use EVAL instead of EVALSHA for debugging")
    return s.eval(c, argv, True, True)


@subcommand("script", "load", 3, "noscript stale")
def cmd_script_load(c, argv):
    sha, _ = c.server.scripting.script_for_body(argv[2])
    return sha


@subcommand("script", "exists", -3, "noscript")
def cmd_script_exists(c, argv):
    scripts = c.server.scripting.scripts
    return [1 if a.lower() in scripts else 0 for a in argv[2:]]


@subcommand("script", "flush", -2, "noscript")
def cmd_script_flush(c, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    c.server.scripting.flush_scripts()
    return OK


@subcommand("script", "kill", 2, "noscript allow_busy")
def cmd_script_kill(c, argv):
    c.server.scripting.kill(c, functions=False)
    return OK


@subcommand("script", "debug", 3, "noscript")
def cmd_script_debug(c, argv):
    mode = argv[2].lower()
    if mode not in (b"yes", b"sync", b"no"):
        raise CommandError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    if c.multi is not None:
        raise CommandError("ERR SCRIPT DEBUG must be called outside MULTI")
    if c.out:
        raise CommandError("ERR SCRIPT DEBUG must be called outside a pipeline")
    c.server.scripting.ldb.set_mode(c, mode)
    return OK


@subcommand("script", "help", 2, "loading stale")
def cmd_script_help(c, argv):
    return help_lines("script")
