"""A sandboxed Lua 5.1 state (lupa) with the Redis API installed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lupa import lua51
from lupa.lua51 import LuaMemoryError

from pyredis import REDIS_VERSION
from pyredis.scripting import bitop, structlib
from pyredis.scripting.cjson import CJson
from pyredis.scripting.cmsgpack import Codec
from pyredis.scripting.convert import ToLua
from pyredis.scripting.luaargs import LuaArgError
from pyredis.scripting.prelude import PRELUDE
from pyredis.scripting.scripterror import ScriptError

# The Lua heap of each state is capped (Redis 7.0 has no cap: a runaway allocation there ends with the
# process killed). Past it an allocation fails with Lua's "not enough memory" error: the script stops,
# the server goes on. Lua allocations inside one C call (string.rep) cannot be interrupted otherwise.
LUA_HEAP_LIMIT = 1 << 30
# INFO memory's used_memory_vm_eval / used_memory_vm_functions of a fresh redis-server 7.0
FRESH_EVAL_STATE = 32768
FRESH_FUNCTION_STATE = 33792

_ARGERROR = re.compile(r"bad argument #(\d+) to '[^']*' (\(.*)\Z", re.S)

if TYPE_CHECKING:
    from pyredis.scripting.engine import Scripting


def _no_attributes(obj: Any, name: Any, setting: bool) -> Any:
    """Scripts never get at Python objects' attributes (the sandbox would be gone)."""
    raise AttributeError("access to Python attributes is not allowed")


def _version_num() -> int:
    parts = [int(p) for p in REDIS_VERSION.split(".")[:3]]
    while len(parts) < 3:
        parts.append(0)
    return (parts[0] << 16) | (parts[1] << 8) | parts[2]


class LuaVM:
    """One Lua state: ``kind`` is ``'eval'`` (EVAL scripts) or ``'function'`` (libraries)."""

    def __init__(self, scripting: Scripting, kind: str) -> None:
        from pyredis.scripting.api import RedisAPI

        self.kind = kind
        self.lua = lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                          register_builtins=False, attribute_filter=_no_attributes,
                                          max_memory=LUA_HEAP_LIMIT)
        self._gc_count = lua.globals()[b"collectgarbage"]  # the state's own figure (lupa's counter misses its start)
        self.table_from = table_from = lua.table_from
        self._where: Any = None
        self._null_check: Any = None
        self.cjson = CJson(table_from, self._is_null)
        self.msgpack = Codec(table_from)
        self.api = RedisAPI(scripting, self)
        api: dict[str, Any] = dict(self.api.functions())
        api.update({
            "set_cjson_null": self._set_null,
            "version": REDIS_VERSION.encode(),
            "version_num": _version_num(),
            "cjson": self._lib(self.cjson.spec()),
            "cmsgpack": self._lib(self.msgpack.spec()),
            "struct": self._lib(structlib.spec()),
            "bit": self._lib(bitop.spec()),
            "deprecated_api": bool(scripting.server.config.values.get("lua-enable-deprecated-api")),
        })
        ex = lua.execute(PRELUDE, table_from({k.encode(): v for k, v in api.items()}), kind.encode())
        self._null_check = ex[b"is_null"]
        self._where = ex[b"where"]
        self._callee = ex[b"callee"]
        self.compile = ex[b"compile"]
        self.run = ex[b"run"]
        self.run_tables = ex[b"run_tables"]
        self.reset_hook = ex[b"reset_hook"]
        self.encode = ex[b"encode"]
        self.load = ex[b"load"]
        self.set_sresp = ex[b"set_sresp"]
        self.mk_ok = ex[b"mk_ok"]
        self.mk_err = ex[b"mk_err"]
        self.mk_err2 = ex[b"mk_err2"]
        self.ldb: Any = None
        self._set_ldb = ex[b"set_ldb"]
        self._env = ex[b"env"]
        self._gc = lua.eval("function() collectgarbage('collect') end")
        self.to_lua = ToLua(table_from, self.mk_ok, self.mk_err, ex[b"mk_single"], ex[b"mk_verbatim"])
        self._gc()
        self._baseline = self._heap()
        self._calls = 0

    def ldb_helpers(self, debugger: Any) -> Any:
        """Install the debugger's Lua half (scripting/ldb_lua.py) in this state; returns its helpers."""
        from pyredis.scripting.api import pyerr
        from pyredis.scripting.ldb_lua import LDB_LUA

        h = self.lua.execute(LDB_LUA, debugger.line, self.compile, self._env, pyerr)
        self._set_ldb(self.table_from({b"debug": debugger.debug, b"breakpoint": debugger.breakpoint}))
        self.ldb = h
        return h

    def _lib(self, spec: dict[str, Any]) -> Any:
        return self.table_from({k.encode(): self._wrap(v) if callable(v) else v for k, v in spec.items()})

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except LuaArgError as e:
                msg = self._argerror_name(str(e))
                raise ScriptError(self._where() + msg.encode("utf-8", "surrogateescape"), kind=2) from None

        return call

    def _argerror_name(self, msg: str) -> str:
        """luaL_argerror names the function as its caller did: '?' through pcall, methods shift."""
        m = _ARGERROR.match(msg)
        if m is None:
            return msg
        info = self._callee()
        namewhat, name = (info if isinstance(info, tuple) else (info, None))
        if isinstance(name, bytes):
            name = name.decode("utf-8", "surrogateescape")
        narg = int(m.group(1))
        if namewhat == b"method":
            narg -= 1
            if narg == 0:
                return f"calling '{name}' on bad self {m.group(2)}"
        return f"bad argument #{narg} to '{name or '?'}' {m.group(2)}"

    def collect(self) -> None:
        """A full garbage collection (after an allocation failed at the heap limit)."""
        try:
            self._gc()
        except LuaMemoryError:
            pass

    def _set_null(self, v: Any) -> None:
        self.cjson.null = v

    def gc_tick(self) -> None:
        """After each script call: every 50th one runs 50 incremental GC steps, as Redis does
        (script_lua.c LUA_GC_CYCLE_PERIOD), so the garbage of many small calls does not pile up."""
        self._calls += 1
        if self._calls >= 50:
            self._calls = 0
            self._gc_count(b"step", 50)

    def _heap(self) -> int:
        return int(self._gc_count(b"count")) * 1024  # whole KB, as Redis's lua_gc(LUA_GCCOUNT) * 1024

    def memory_used(self) -> int:
        """The Lua heap in bytes as Redis would report it: a fresh Redis state's size plus what this state
        grew by since it was set up (pyredis's prelude and API wrappers, ~150 KB more, are not counted)."""
        fresh = FRESH_EVAL_STATE if self.kind == "eval" else FRESH_FUNCTION_STATE
        return fresh + max(0, self._heap() - self._baseline)

    def _is_null(self, v: Any) -> bool:
        return self._null_check is not None and bool(self._null_check(v))
