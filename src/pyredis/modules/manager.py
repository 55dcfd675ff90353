"""The modules subsystem of a server (``server.modules``): loading Python module files or dotted
modules, their commands in the command table, their data types, timers, and unloading.

Module commands live in the process-wide command table (as built-ins do); each one dispatches
to the module loaded by the server running it, and a server that did not load the module
answers it as an unknown command.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import COMMANDS, FLAG_NAMES, TABLE, Command
from pyredis.engine.types import module_types_of_config
from pyredis.modules.api import CommandSpec, ModuleError, translate_flags
from pyredis.modules.datatype import DataType, ModuleValue, register_type, unregister_type
from pyredis.protocol.types import NOREPLY, Double, MapReply, SetReply, Status

__all__ = ["Module", "ModuleLoadError", "ModuleManager"]

log = logging.getLogger("pyredis")

# COMMAND INFO flag order (server.c's replyFlagNames); the hidden ones are left out, as Redis does.
_SHOWN_FLAGS = [f for f in FLAG_NAMES if f not in ("may_replicate", "sentinel", "only_sentinel", "protected",
                                                      "module_getkeys", "module_no_cluster")]


class ModuleLoadError(Exception):
    """A module failed to load; ``str()`` is what the server logs."""


class Module:
    """A loaded module: its name, version, path, arguments, commands and data types."""

    def __init__(self, name: str, pymod: ModuleType, path: str, args: list[bytes]) -> None:
        self.name = name
        self.pymod = pymod
        self.path = path
        self.args = args
        self.version = int(getattr(pymod, "MODULE_VERSION", 1))
        self.commands: dict[str, CommandSpec] = {}
        self.types: list[DataType] = []
        self.blocked_clients = 0


class _Dispatcher:
    """The handler the command table holds for a module command: finds the running server's module."""

    def __init__(self, name: str, module_name: str) -> None:
        self.name = name
        self.module_name = module_name
        self.users = 0  # servers having this command loaded

    def __call__(self, c: Any, argv: list[bytes]) -> Any:
        mgr: ModuleManager | None = getattr(c.server, "modules", None)
        entry = mgr.commands.get(self.name) if mgr is not None else None
        if entry is None:
            from pyredis.modules.api import unknown_command_message

            raise CommandError(unknown_command_message(argv))
        spec, module = entry
        from pyredis.modules.context import Context

        ctx = Context(c, module, argv)
        try:
            r = spec.handler(ctx, argv)
        except ModuleError as e:
            raise CommandError(e.message) from None
        rep = ctx._replicated
        if rep is not None:
            if len(rep) > 1 and not (c.in_exec or c.in_script):  # several commands: one transaction
                rep = [[b"MULTI"], *rep, [b"EXEC"]]
            c.repl = rep
        if ctx._block is not None:
            _, blocked, timeout_reply = ctx._block
            if blocked:
                return NOREPLY
            try:
                r = timeout_reply()
            except ModuleError as e:
                raise CommandError(e.message) from None
        return to_reply(r)

    # -- introspection (COMMAND INFO / DOCS), as redis-server builds them for module commands --------
    def _spec(self, c: Any = None) -> CommandSpec | None:
        for mgr in ModuleManager.instances():
            entry = mgr.commands.get(self.name)
            if entry is not None:
                return entry[0]
        return None

    def info_entry(self, cmd: Command) -> list:
        from pyredis.server.acl_rules import CATEGORIES, command_categories

        flags = [Status(f.encode()) for f in _SHOWN_FLAGS if f in cmd.flags]
        if cmd.getkeys is not None and b"movablekeys" not in flags:
            flags.append(Status(b"movablekeys"))
        have = command_categories(cmd)
        cats = [x for x in CATEGORIES if x in have]
        specs = []
        if cmd.first:
            last = cmd.last if cmd.last < 0 else cmd.last - cmd.first
            kflags = [Status(b"RW"), Status(b"access"), Status(b"update")]
            if "module_getkeys" in cmd.flags:
                kflags.append(Status(b"variable_flags"))
            specs.append(MapReply([
                b"flags", SetReply(kflags),
                b"begin_search", MapReply([b"type", b"index", b"spec", MapReply([b"index", cmd.first])]),
                b"find_keys", MapReply([b"type", b"range", b"spec",
                                        MapReply([b"lastkey", last, b"keystep", cmd.step, b"limit", 0])]),
            ]))
        return [cmd.name.encode(), cmd.arity, SetReply(flags), cmd.first, cmd.last, cmd.step,
                SetReply([Status(("@" + x).encode()) for x in cats]), SetReply([]), SetReply(specs), []]

    def docs_entry(self, cmd: Command) -> MapReply:
        spec = self._spec()
        out = MapReply()
        if spec is not None and spec.summary:
            out += [b"summary", spec.summary.encode()]
        if spec is not None and spec.since:
            out += [b"since", spec.since.encode()]
        out += [b"group", b"module"]
        if spec is not None and spec.complexity:
            out += [b"complexity", spec.complexity.encode()]
        out += [b"module", self.module_name.encode()]
        return out

    @property
    def acl_categories(self) -> frozenset[str]:
        spec = self._spec()
        return frozenset(x.lstrip("@").lower() for x in spec.acl_categories) if spec is not None else frozenset()


def to_reply(r: Any) -> Any:
    """A handler's return value as a reply value (``str`` -> bulk, ``dict`` -> map, ``set`` -> set...)."""
    t = type(r)
    if t is bytes or t is int or r is None:
        return r
    if t is list:
        return [to_reply(x) for x in r] if any(type(x) not in (bytes, int) for x in r) else r
    if t is str:
        return r.encode("utf-8", "surrogateescape")
    if t is tuple:
        return [to_reply(x) for x in r]
    if t is dict:
        out = MapReply()
        for k, v in r.items():
            out += [to_reply(k), to_reply(v)]
        return out
    if t is set or t is frozenset:
        return SetReply([to_reply(x) for x in r])
    if t is float:
        return Double(r)
    if t is bytearray or t is memoryview:
        return bytes(r)
    return r


class Timers:
    """Module timers (``RedisModule_CreateTimer``) on the server's event loop."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.ids = itertools.count(1)
        self.pending: dict[int, tuple[Any, Any, Any]] = {}  # id -> (handle, module, data)

    def create(self, module: Module | None, ms: int, callback: Callable[..., Any], data: Any) -> int:
        loop = self.server.loop
        if loop is None:
            raise ModuleError("ERR timers need the server's event loop (the server is not running)")
        tid = next(self.ids)

        def fire() -> None:
            entry = self.pending.pop(tid, None)
            if entry is None:
                return
            from pyredis.modules.context import Context
            from pyredis.server.client import Client

            c = Client(self.server)
            c.authenticated = True
            c.acl_restricted = False
            try:
                callback(Context(c, module), data)
            except Exception:  # noqa: BLE001 - a failing timer must not stop the loop
                log.exception("module timer callback failed")
            if self.server.ready_keys:
                self.server.blocking.serve_ready()

        handle = loop.call_later(max(0, ms) / 1000.0, fire)
        self.pending[tid] = (handle, module, data)
        return tid

    def stop(self, tid: int) -> Any:
        entry = self.pending.pop(tid, None)
        if entry is None:
            return None
        entry[0].cancel()
        return entry[2]

    def held_by(self, module: Module) -> bool:
        return any(m is module for _, m, _ in self.pending.values())


_counter = itertools.count(1)
_table_lock = threading.RLock()
def _drop_command(name: str) -> None:
    """One server less has command *name*; the last one removes it from the table."""
    with _table_lock:
        cmd = COMMANDS.get(name)
        if cmd is None or not isinstance(cmd.handler, _Dispatcher):
            return
        cmd.handler.users -= 1
        if cmd.handler.users <= 0:
            del COMMANDS[name]
            TABLE.pop(name.encode(), None)
            TABLE.pop(name.encode().upper(), None)


def _release_all(held: dict[str, list]) -> None:
    """Give back what a server held (it unloaded everything, or was garbage collected)."""
    for name in held["commands"]:
        _drop_command(name)
    for dt in held["types"]:
        unregister_type(dt)
    for pymod in held["files"]:
        _release_file(pymod)
    for v in held.values():
        v.clear()


class ModuleManager:
    """``server.modules``: the modules this server loaded."""

    _all: list[Any] = []  # weak references to every manager (COMMAND DOCS looks the spec up)

    def __init__(self, server: Any) -> None:
        self.server = server
        self.modules: dict[str, Module] = {}
        self.commands: dict[str, tuple[CommandSpec, Module]] = {}
        self.timers = Timers(server)
        # What this server holds in the process-wide tables, released when it goes away.
        self._held: dict[str, list] = {"commands": [], "types": [], "files": []}
        weakref.finalize(self, _release_all, self._held)
        # the set the server entered when it was composed (Server._compose)
        self._types = module_types_of_config.setdefault(server.config, set())
        ModuleManager._all.append(weakref.ref(self))

    def load_directives(self) -> None:
        """Load the ``loadmodule`` directives of the configuration (a failure stops start-up)."""
        for directive in getattr(self.server.config, "module_directives", ()):
            path = directive[0].decode("utf-8", "surrogateescape")
            try:
                self.load(path, list(directive[1:]))
            except ModuleLoadError as e:
                log.warning("%s", e)
                log.warning("Can't load module from %s: server aborting", path)
                raise SystemExit(1) from None

    @classmethod
    def instances(cls) -> list[ModuleManager]:
        alive = [m for m in (r() for r in cls._all) if m is not None]
        cls._all[:] = [r for r in cls._all if r() is not None]
        return alive

    # -- loading -----------------------------------------------------------------------------------------
    def load(self, path: str, args: list[bytes] | None = None) -> Module:
        """Load a module file (``*.py``) or dotted Python module; raises :class:`ModuleLoadError`."""
        args = list(args or [])
        try:
            pymod, stem = _import(path)
        except ModuleLoadError:
            raise
        except Exception as e:  # noqa: BLE001 - any import failure is a load failure
            raise ModuleLoadError(f"Module {path} failed to load: {type(e).__name__}: {e}") from e
        try:
            module = self._load(pymod, stem, path, args)
        except BaseException:
            _release_file(pymod)
            raise
        self._held["files"].append(pymod)
        return module

    def _load(self, pymod: ModuleType, stem: str, path: str, args: list[bytes]) -> Module:
        name = str(getattr(pymod, "MODULE_NAME", stem))
        if name in self.modules:
            raise ModuleLoadError(f"Module {path} initialization failed. Module not loaded "
                                  f"(a module named '{name}' is already loaded)")
        module = Module(name, pymod, path, args)
        specs: list[CommandSpec] = []
        seen: set[int] = set()
        for obj in list(vars(pymod).values()):
            spec = getattr(obj, "__pyredis_command__", None)
            if isinstance(spec, CommandSpec) and id(obj) not in seen:
                seen.add(id(obj))
                specs.append(spec)
            elif isinstance(obj, DataType) and obj not in module.types:
                module.types.append(obj)
        try:
            self._register(module, specs)
        except ModuleLoadError:
            raise
        on_load = getattr(pymod, "on_load", None)
        if on_load is not None:
            from pyredis.modules.context import Context
            from pyredis.server.client import Client

            c = Client(self.server)
            try:
                ok = on_load(Context(c, module), args)
            except Exception as e:  # noqa: BLE001
                self._unregister(module)
                raise ModuleLoadError(f"Module {path} initialization failed. Module not loaded ({e})") from e
            if ok is False:
                self._unregister(module)
                raise ModuleLoadError(f"Module {path} initialization failed. Module not loaded")
        self.modules[name] = module
        log.info("Module '%s' loaded from %s", name, path)
        return module

    def _register(self, module: Module, specs: list[CommandSpec]) -> None:
        done_types: list[DataType] = []
        done_cmds: list[str] = []
        try:
            for dt in module.types:
                try:
                    register_type(dt)
                except ValueError as e:
                    raise ModuleLoadError(f"Module {module.path} initialization failed. Module not loaded ({e})") \
                        from None
                dt.module = module
                done_types.append(dt)
                self._held["types"].append(dt)
                self._types.add(dt.name)
            for spec in specs:
                self._add_command(module, spec)
                done_cmds.append(spec.name)
        except ModuleLoadError:
            for dt in done_types:
                self._held["types"].remove(dt)
                self._types.discard(dt.name)
                unregister_type(dt)
            for name in done_cmds:
                self._remove_command(name)
            raise

    def _add_command(self, module: Module, spec: CommandSpec) -> None:
        with _table_lock:
            existing = COMMANDS.get(spec.name)
            if existing is not None:
                h = existing.handler
                if not (isinstance(h, _Dispatcher) and h.module_name == module.name):
                    raise ModuleLoadError(f"Module {module.path} initialization failed. Module not loaded "
                                          f"(command '{spec.name}' already exists)")
                h.users += 1
            else:
                first, last, step = spec.keys
                h = _Dispatcher(spec.name, module.name)
                h.users = 1
                cmd = Command(spec.name, h, spec.arity, translate_flags(spec.flags), first, last, step,
                              spec.getkeys)
                COMMANDS[spec.name] = cmd
                name = spec.name.encode()
                TABLE[name] = cmd
                TABLE[name.upper()] = cmd
                _acl_add(cmd)
            self.commands[spec.name] = (spec, module)
            module.commands[spec.name] = spec
            self._held["commands"].append(spec.name)

    def _remove_command(self, name: str) -> None:
        self.commands.pop(name, None)
        try:
            self._held["commands"].remove(name)
        except ValueError:
            return
        _drop_command(name)

    def _unregister(self, module: Module) -> None:
        for name in list(module.commands):
            self._remove_command(name)
        module.commands.clear()
        for dt in module.types:
            self._types.discard(dt.name)
            if dt in self._held["types"]:
                self._held["types"].remove(dt)
                unregister_type(dt)

    # -- unloading ---------------------------------------------------------------------------------------
    def unload(self, name: str) -> None:
        """Unload module *name*; raises CommandError with Redis's reasons for refusing."""
        module = self.modules.get(name)
        if module is None:
            raise CommandError("ERR Error unloading module: no such module with that name")
        if module.types and self._type_in_use(module):
            raise CommandError("ERR Error unloading module: the module exports one or more module-side data "
                               "types, can't unload")
        if self._has_blocked(module):
            raise CommandError("ERR Error unloading module: the module has blocked clients. Please wait them "
                               "unblocked and try again")
        if self.timers.held_by(module):
            raise CommandError("ERR Error unloading module: the module holds timer that is not fired. Please "
                               "stop the timer or wait until it fires.")
        on_unload = getattr(module.pymod, "on_unload", None)
        if on_unload is not None:
            from pyredis.modules.context import Context
            from pyredis.server.client import Client

            if on_unload(Context(Client(self.server), module)) is False:
                log.warning("Module %s OnUnload failed.  Unload canceled.", name)
                raise CommandError("ERR Error unloading module: operation not possible.")
        self._unregister(module)
        del self.modules[name]
        self._held["files"].remove(module.pymod)
        _release_file(module.pymod)
        log.info("Module %s unloaded", name)

    def _type_in_use(self, module: Module) -> bool:
        types = set(map(id, module.types))
        for db in self.server.keyspace.dbs:
            for v in db.data.values():
                if type(v) is ModuleValue and id(v.dtype) in types:
                    return True
        return False

    def _has_blocked(self, module: Module) -> bool:
        for c in list(self.server.clients.values()):
            b = c.blocked
            cmd = getattr(b, "cmd", None)
            if cmd is not None and cmd.name in module.commands:
                return True
        return False

    def unload_all(self) -> None:
        """Unregister everything (the server is going away)."""
        for module in list(self.modules.values()):
            self._unregister(module)
        self.modules.clear()
        _release_all(self._held)

    # -- introspection -----------------------------------------------------------------------------------
    def list_reply(self) -> list:
        """MODULE LIST."""
        return [MapReply([b"name", m.name.encode(), b"ver", m.version, b"path", m.path.encode(),
                          b"args", list(m.args)]) for m in self.modules.values()]

    def info_lines(self) -> list[tuple[str, str]]:
        """INFO modules."""
        return [("module", f"name={m.name},ver={m.version},api=1,filters=0,usedby=[],using=[],options=[]")
                for m in self.modules.values()]


# Module files imported by the servers of this process: one module object per file while some
# server has it loaded (so its data types are the same objects everywhere), re-imported afterwards.
_files: dict[str, list[Any]] = {}  # realpath -> [module object, servers holding it]


def _release_file(pymod: ModuleType) -> None:
    with _table_lock:
        for key, entry in list(_files.items()):
            if entry[0] is pymod:
                entry[1] -= 1
                if entry[1] <= 0:
                    del _files[key]
                    sys.modules.pop(pymod.__name__, None)


def _import(path: str) -> tuple[ModuleType, str]:
    """Import a module file or a dotted module path; (module object, default module name)."""
    if path.endswith(".py") or os.sep in path or os.path.exists(path):
        if not os.path.isfile(path):
            raise ModuleLoadError(f"Module {path} failed to load: {path}: cannot open shared object file: "
                                  "No such file or directory")
        stem = os.path.splitext(os.path.basename(path))[0]
        real = os.path.realpath(path)
        with _table_lock:
            entry = _files.get(real)
            if entry is not None:
                entry[1] += 1
                return entry[0], stem
        unique = f"pyredis_module_{stem}_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise ModuleLoadError(f"Module {path} failed to load: not a Python file")
        pymod = importlib.util.module_from_spec(spec)
        sys.modules[unique] = pymod
        try:
            spec.loader.exec_module(pymod)
        except BaseException:
            sys.modules.pop(unique, None)
            raise
        with _table_lock:
            _files[real] = [pymod, 1]
        return pymod, stem
    pymod = importlib.import_module(path)
    return pymod, path.rsplit(".", 1)[-1]


def _acl_add(cmd: Command) -> None:
    """Give a new command its ACL bit (users allowed every command get it, as in Redis)."""
    try:
        from pyredis.server.acl_rules import add_command
    except ImportError:  # an ACL layer without dynamic commands
        return
    add_command(cmd)
