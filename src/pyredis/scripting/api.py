"""The ``redis`` table scripts call: ``call``, ``pcall``, ``log``, ``setresp``, ``register_function``...

Every function here is handed to Lua as a Python callable, so Lua calls it like a C function (the
caller's frame stays visible for error positions). Errors are raised as :class:`ScriptError`.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from pyredis.scripting.bytecode import untail
from pyredis.scripting.library import FunctionInfo
from pyredis.scripting.luaargs import lua_type, number2str
from pyredis.scripting.scripterror import ERR_ARGTYPE, ERR_NAME, ERR_NOARGS, ScriptError
from pyredis.scripting.scripterror import num_arg as _num_arg
from pyredis.scripting.shebang import FLAG_NAMES, valid_name

if TYPE_CHECKING:
    from pyredis.scripting.engine import Scripting
    from pyredis.scripting.vm import LuaVM

log = logging.getLogger("pyredis")
_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)
_WRONG_ARGS = b"ERR wrong number or type of arguments"


class RedisAPI:
    """The redis.* functions of one Lua state."""

    def __init__(self, scripting: Scripting, vm: LuaVM) -> None:
        self.s = scripting
        self.vm = vm
        self.call = scripting.script_call

    def functions(self) -> dict[str, Any]:
        return {
            "call": self.call, "pcall": self.pcall, "log": self.log, "setresp": self.setresp,
            "set_repl": self.set_repl, "sha1hex": self.sha1hex, "error_reply": self.error_reply,
            "status_reply": self.status_reply, "acl_check_cmd": self.acl_check_cmd,
            "register_function": self.register_function, "hook": self.s.hook, "pyerr": pyerr,
            "call_t": self.call_t, "pcall_t": self.pcall_t, "untail": untail,
        }

    def call_t(self, args: Any, n: int) -> Any:
        return self.call(*[args[i] for i in range(1, int(n) + 1)])

    def pcall_t(self, args: Any, n: int) -> Any:
        return self.pcall(*[args[i] for i in range(1, int(n) + 1)])

    def pcall(self, *args: Any) -> Any:
        try:
            return self.call(*args)
        except ScriptError as e:
            return self.vm.mk_err2(e.err, e.ignore_error_stats_update)

    def log(self, *args: Any) -> None:
        if len(args) < 2:
            raise ScriptError(b"ERR redis.log() requires two arguments or more.")
        level = args[0]
        if type(level) not in (int, float):
            raise ScriptError(b"ERR First argument must be a number (log level).")
        if not 0 <= level <= 3:
            raise ScriptError(b"ERR Invalid debug level.")
        parts = []
        for a in args[1:]:
            t = type(a)
            if t is bytes:
                parts.append(a)
            elif t is int or t is float:
                parts.append(number2str(a))
        log.log(_LOG_LEVELS[int(level)], "%s", b" ".join(parts).decode("utf-8", "replace"))

    def setresp(self, *args: Any) -> None:
        if len(args) != 1:
            raise ScriptError(b"ERR redis.setresp() requires one argument.")
        v = args[0]
        if type(v) is bytes:
            try:
                v = float(v)
            except ValueError:
                v = 0
        if v not in (2, 3) or type(v) is bool:
            raise ScriptError(b"ERR RESP version must be 2 or 3.")
        v = int(v)
        self.s.fake.resp = v
        self.vm.set_sresp(v)

    def set_repl(self, *args: Any) -> None:
        if len(args) != 1:
            raise ScriptError(b"ERR redis.set_repl() requires two arguments.")
        v = args[0]
        if type(v) is bytes:
            try:
                v = float(v)
            except ValueError:
                v = 0
        elif type(v) not in (int, float):
            v = 0
        v = int(v)
        if v & ~3:
            raise ScriptError(b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        run = self.s.run
        if run is not None:
            run.repl_flags = v

    def sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise ScriptError(b"ERR wrong number of arguments")
        v = args[0]
        t = type(v)
        if t is int or t is float:
            v = number2str(v)
        elif t is not bytes:
            v = b""
        return hashlib.sha1(v).hexdigest().encode()

    def error_reply(self, *args: Any) -> Any:
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.vm.mk_err(_WRONG_ARGS)
        e = args[0]
        if e[:1] == b"-":
            e = e[1:]
        if b" " not in e:
            e = b"ERR " + e
        return self.vm.mk_err(e)

    def status_reply(self, *args: Any) -> Any:
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.vm.mk_err(_WRONG_ARGS)
        return self.vm.mk_ok(args[0])

    def acl_check_cmd(self, *args: Any) -> bool:
        if not args:
            raise ScriptError(ERR_NOARGS)
        argv = []
        for a in args:
            t = type(a)
            if t is bytes:
                argv.append(a)
            elif t is int or t is float:
                argv.append(_num_arg(a))
            else:
                raise ScriptError(ERR_ARGTYPE)
        table = self.s.server.commands
        cmd = table.get(argv[0]) or table.get(argv[0].lower())
        if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
            cmd = cmd.subcommands.get(argv[1].lower(), cmd if cmd.handler is not None else None)
        if cmd is None:
            raise ScriptError(b"ERR Invalid command passed to redis.acl_check_cmd()")
        return self.s.acl_allows(cmd, argv)

    def register_function(self, *args: Any) -> None:
        ld = self.s.loading
        if ld is None:
            raise ScriptError(b"ERR redis.register_function can only be called on FUNCTION LOAD command")
        n = len(args)
        desc = None
        flags = 0
        if n == 1:
            t = args[0]
            if lua_type(t) != "table":
                raise ScriptError(b"ERR calling redis.register_function with a single argument is only applicable to "
                                  b"Lua table (representing named arguments).")
            name = callback = None
            for k, v in t.items():
                if k == b"function_name":
                    if type(v) is not bytes:
                        raise ScriptError(b"ERR function_name argument given to redis.register_function must be a "
                                          b"string")
                    name = v
                elif k == b"description":
                    if type(v) is not bytes:
                        raise ScriptError(b"ERR description argument given to redis.register_function must be a "
                                          b"string")
                    desc = v
                elif k == b"callback":
                    if lua_type(v) != "function":
                        raise ScriptError(b"ERR callback argument given to redis.register_function must be a "
                                          b"function")
                    callback = v
                elif k == b"flags":
                    if lua_type(v) != "table":
                        raise ScriptError(b"ERR flags argument to redis.register_function must be a table "
                                          b"representing function flags")
                    for _, f in v.items():
                        bit = FLAG_NAMES.get(f) if type(f) is bytes else None
                        if bit is None:
                            raise ScriptError(b"ERR unknown flag given")
                        flags |= bit
                else:
                    raise ScriptError(b"ERR unknown argument given to redis.register_function")
            if name is None:
                raise ScriptError(b"ERR redis.register_function must get a function name argument")
            if callback is None:
                raise ScriptError(b"ERR redis.register_function must get a callback argument")
        elif n == 2:
            name, callback = args
            if type(name) in (int, float):
                name = number2str(name)
            if type(name) is not bytes:
                raise ScriptError(b"ERR first argument to redis.register_function must be a string")
            if lua_type(callback) != "function":
                raise ScriptError(b"ERR second argument to redis.register_function must be a function")
        else:
            raise ScriptError(b"ERR wrong number of arguments to redis.register_function")
        if not valid_name(name):
            raise ScriptError(ERR_NAME.encode())
        lib = ld.library
        if name in lib.functions:
            raise ScriptError(b"ERR Function already exists in the library")
        lib.functions[name] = FunctionInfo(name, callback, desc, flags)


def pyerr(e: Any) -> tuple[int, bytes, Any]:
    """For the Lua error handler: what a Python exception raised into Lua stands for."""
    if isinstance(e, ScriptError):
        return e.kind, e.err, e.ignore_error_stats_update
    return 0, str(e).encode("utf-8", "surrogateescape"), None
