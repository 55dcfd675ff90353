"""Redis Functions (functions.c): FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL, FCALL."""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.commands.scripting import script_keys
from pyredis.engine.glob import glob_match
from pyredis.protocol.types import OK, MapReply, SetReply, Status
from pyredis.scripting.run import BUSY_EVAL
from pyredis.scripting.shebang import flag_names

_FLAGS = "noscript stale skip_monitor no_mandatory_keys movablekeys"


def _syntax(argv: list[bytes]) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try FUNCTION HELP."
                        % argv[1][:128].decode("utf-8", "surrogateescape"))


@command("fcall", -3, _FLAGS, getkeys=script_keys)
def cmd_fcall(c, argv):
    return c.server.scripting.fcall(c, argv, False)


@command("fcall_ro", -3, "readonly " + _FLAGS, getkeys=script_keys)
def cmd_fcall_ro(c, argv):
    return c.server.scripting.fcall(c, argv, True)


@subcommand("function", "load", -3, "write denyoom noscript")
def cmd_function_load(c, argv):
    replace = False
    for opt in argv[2:-1]:
        if opt.lower() == b"replace":
            replace = True
        else:
            raise CommandError("ERR Unknown option given: %s" % opt.decode("utf-8", "surrogateescape"))
    name = c.server.scripting.load_library(argv[-1], replace)
    c.server.dirty += 1
    return name


@subcommand("function", "delete", 3, "write noscript")
def cmd_function_delete(c, argv):
    c.server.scripting.delete_library(argv[2])
    c.server.dirty += 1
    return OK


@subcommand("function", "flush", -2, "write noscript")
def cmd_function_flush(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    c.server.scripting.flush_functions()
    c.server.dirty += 1
    return OK


@subcommand("function", "list", -2, "noscript")
def cmd_function_list(c, argv):
    withcode = False
    pattern = None
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"withcode" and not withcode:
            withcode = True
        elif opt == b"libraryname" and pattern is None:
            if i + 1 >= len(argv):
                raise CommandError("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise CommandError("ERR Unknown argument %s" % argv[i].decode("utf-8", "surrogateescape"))
        i += 1
    out = []
    for lib in c.server.scripting.libraries.values():
        if pattern is not None and not glob_match(pattern, lib.name):
            continue
        funcs = [MapReply([b"name", fi.name, b"description", fi.description, b"flags",
                           SetReply([Status(f) for f in flag_names(fi.flags)])])
                 for fi in lib.functions.values()]
        entry = [b"library_name", lib.name, b"engine", b"LUA", b"functions", funcs]
        if withcode:
            entry += [b"library_code", lib.code]
        out.append(MapReply(entry))
    return out


@subcommand("function", "dump", 2, "noscript")
def cmd_function_dump(c, argv):
    return c.server.scripting.dump()


@subcommand("function", "restore", -3, "write denyoom noscript")
def cmd_function_restore(c, argv):
    if len(argv) > 4:
        raise _syntax(argv)
    policy = b"append"
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"flush", b"append", b"replace"):
            raise CommandError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    c.server.scripting.restore(argv[2], policy)
    c.server.dirty += 1
    return OK


@subcommand("function", "stats", 2, "noscript allow_busy")
def cmd_function_stats(c, argv):
    s = c.server.scripting
    run = s.run
    if run is not None and run.is_eval:
        raise CommandError(BUSY_EVAL)
    running = None
    if run is not None:
        running = MapReply([b"name", run.name, b"command", list(run.argv), b"duration_ms", run.duration_ms()])
    nfuncs = sum(len(lib.functions) for lib in s.libraries.values())
    engines = MapReply([b"LUA", MapReply([b"libraries_count", len(s.libraries), b"functions_count", nfuncs])])
    return MapReply([b"running_script", running, b"engines", engines])


@subcommand("function", "kill", 2, "noscript allow_busy")
def cmd_function_kill(c, argv):
    c.server.scripting.kill(c, functions=True)
    return OK


@subcommand("function", "help", 2, "loading stale")
def cmd_function_help(c, argv):
    return help_lines("function")
