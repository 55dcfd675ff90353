"""The scripting engine of a server: EVAL script cache, function libraries, and running them.

``redis.call`` runs commands through the command table with one fake client (sharing the caller's
database, its own RESP version); their effects are collected and propagated after the script,
wrapped in MULTI/EXEC when there is more than one.
"""

from __future__ import annotations

import logging
import time
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from pyredis.commands.errors import CommandError
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import NOREPLY, ErrorReply, Raw, Status
from pyredis.scripting import shebang
from pyredis.scripting.convert import parse_resp, raw_value
from pyredis.scripting.library import FunctionInfo, Library, dump_payload, parse_payload
from pyredis.scripting.run import BUSY_EVAL, BUSY_FUNCTION, KILLED, NOTBUSY, UNKILLABLE, ScriptRun
from pyredis.scripting.scripterror import ERR_ARGTYPE, ERR_NAME, ERR_NOARGS, ScriptError
from pyredis.scripting.scripterror import num_arg as _num_arg
from pyredis.scripting.shebang import ALLOW_OOM, ALLOW_STALE, EVAL_COMPAT, NO_CLUSTER, NO_WRITES, valid_name
from pyredis.server.client import Client
from pyredis.server.propagate import PROPAGATE_ALL, Targeted

if TYPE_CHECKING:
    from pyredis.scripting.ldb import Debugger
    from pyredis.scripting.vm import LuaVM
    from pyredis.server.app import Server

log = logging.getLogger("pyredis")


def _sha1(data: bytes) -> Any:
    """hashlib.sha1, imported on the first script (_hashlib, OpenSSL's digests, is ~0.5 MB of RSS)."""
    import hashlib

    return hashlib.sha1(data)

ERR_UNKNOWN_S = "ERR Unknown Redis command called from script"
ERR_UNKNOWN = ERR_UNKNOWN_S.encode()
ERR_ARITY = b"ERR Wrong number of args calling Redis command from script"
ERR_NOSCRIPT_CMD = b"ERR This Redis command is not allowed from script"
ERR_RO = b"ERR Write commands are not allowed from read-only scripts."
ERR_RO_FLAG = "ERR Can not execute a script with write flag using *_ro command."
ERR_OOM_S = "OOM command not allowed when used memory > 'maxmemory'."
ERR_OOM = ERR_OOM_S.encode()
ERR_READONLY_S = "READONLY You can't write against a read only replica."
ERR_READONLY = ERR_READONLY_S.encode()
ERR_NOREPLICAS_S = "NOREPLICAS Not enough good replicas to write."
ERR_MASTERDOWN_S = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
ERR_STALE = b"ERR Can not execute the command on a stale replica"
ERR_NOREPLICAS = ERR_NOREPLICAS_S.encode()
LOAD_TIMEOUT = 0.5
# commands flagged MAY_REPLICATE in Redis 7.0 (COMMAND INFO does not show that flag)
_MAY_REPLICATE = frozenset(("publish", "spublish", "pfcount"))





class _Loading:
    __slots__ = ("library", "start")

    def __init__(self, library: Library) -> None:
        self.library = library
        self.start = time.monotonic()


class Scripting:
    """Per-server scripting state (``server.scripting``): EVAL scripts, function libraries, the running script."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.scripts: dict[bytes, tuple[Any, int, bytes]] = {}  # sha1 hex -> (function, flags, body)
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, FunctionInfo] = {}  # lower-cased name -> function
        self.run: ScriptRun | None = None
        self.loading: _Loading | None = None
        self._eval_vm: LuaVM | None = None
        self._func_vm: LuaVM | None = None
        self.disable_deny_scripts = False  # DEBUG SET-DISABLE-DENY-SCRIPTS
        self._ldb: Debugger | None = None  # SCRIPT DEBUG: ``ldb``, created on first use
        fake = Client(server)
        fake.authenticated = True
        fake.in_script = True
        self.fake = fake

    # -- the debugger (SCRIPT DEBUG) -------------------------------------------------------------
    @property
    def ldb(self) -> Debugger:
        """The debugger (scripting/ldb.py, imported then): created by the first SCRIPT DEBUG."""
        d = self._ldb
        if d is None:
            from pyredis.scripting.ldb import Debugger

            d = self._ldb = Debugger(self)
            self.server.events.client_disconnected.append(d.forget)
            self.server.events.cron.append(d.reap)
        return d

    def debugging(self, c: Any) -> bool:
        """Whether *c* turned SCRIPT DEBUG on (its EVALs run in the debugger)."""
        d = self._ldb
        return d is not None and c.id in d.modes

    # -- Lua states ------------------------------------------------------------------------------
    # Created on first use, and the Lua runtime (lupa, the redis/cjson/cmsgpack/struct/bit libraries:
    # pyredis.scripting.vm) imported then: a server that never runs a script does not load it.
    @property
    def eval_vm(self) -> LuaVM:
        vm = self._eval_vm
        if vm is None:
            from pyredis.scripting.vm import LuaVM

            vm = self._eval_vm = LuaVM(self, "eval")
        return vm

    @property
    def func_vm(self) -> LuaVM:
        vm = self._func_vm
        if vm is None:
            from pyredis.scripting.vm import LuaVM

            vm = self._func_vm = LuaVM(self, "function")
        return vm

    def flush_scripts(self) -> None:
        """SCRIPT FLUSH: forget every script and start a fresh Lua state."""
        self.scripts = {}
        self._eval_vm = None

    def memory_info(self) -> dict[str, int]:
        """INFO memory's scripting figures (Redis 7.0 genRedisInfoString): the Lua states' heaps and the script
        caches' sizes (estimated as Redis's allocations: bodies, SHA strings, dict entries and buckets)."""
        from pyredis.scripting.vm import FRESH_EVAL_STATE, FRESH_FUNCTION_STATE

        scripts = _dict_overhead(len(self.scripts), 40) + sum(48 + _alloc(len(e[2]) + 4)
                                                               for e in self.scripts.values())
        funcs = 200 + _dict_overhead(len(self.functions), 64) + sum(
            _alloc(len(name) + 4) + _alloc(len(lib.code) + 4) for name, lib in self.libraries.items())
        return {
            "vm_eval": self._eval_vm.memory_used() if self._eval_vm is not None else FRESH_EVAL_STATE,
            "vm_functions": self._func_vm.memory_used() if self._func_vm is not None else FRESH_FUNCTION_STATE,
            "scripts_eval": scripts, "functions": funcs,
        }

    # -- EVAL scripts ----------------------------------------------------------------------------
    def script_for_body(self, body: bytes) -> tuple[bytes, tuple[Any, int, bytes]]:
        """Find or compile (and cache) the script with this body."""
        sha = _sha1(body).hexdigest().encode()
        entry = self.scripts.get(sha)
        if entry is None:
            flags, code = shebang.parse_eval(body)
            res = self.eval_vm.compile(code, b"@user_script")
            if type(res) is tuple:
                raise CommandError("ERR Error compiling script (new function): %s"
                                   % res[1].decode("utf-8", "surrogateescape"))
            entry = (res, flags, body)
            self.scripts[sha] = entry
        return sha, entry

    def eval(self, c: Client, argv: list[bytes], ro: bool, by_sha: bool) -> Any:
        if by_sha and len(argv[1]) != 40:
            raise CommandError("NOSCRIPT No matching script. Please use EVAL.")
        nkeys = _SMALL_INTS.get(argv[2])
        if nkeys is None:
            nkeys = _numkeys(argv[2], "ERR value is not an integer or out of range")
        if nkeys > len(argv) - 3:
            raise CommandError("ERR Number of keys can't be greater than number of args")
        if nkeys < 0:
            raise CommandError("ERR Number of keys can't be negative")
        if by_sha:
            sha = argv[1]
            entry = self.scripts.get(sha)
            if entry is None:
                sha = sha.lower()
                entry = self.scripts.get(sha)
                if entry is None:
                    raise CommandError("NOSCRIPT No matching script. Please use EVAL.")
        else:
            sha, entry = self.script_for_body(argv[1])
        fn, flags, _ = entry
        run = self._prepare(c, self.eval_vm, argv, sha, True, flags, ro)
        return self._execute(c, run, fn, nkeys, argv)

    # -- functions -------------------------------------------------------------------------------
    def fcall(self, c: Client, argv: list[bytes], ro: bool) -> Any:
        fi = self.functions.get(argv[1].lower())
        if fi is None:
            raise CommandError("ERR Function not found")
        nkeys = _SMALL_INTS.get(argv[2])
        if nkeys is None:
            nkeys = _numkeys(argv[2], "ERR Bad number of keys provided")
        if nkeys > len(argv) - 3:
            raise CommandError("ERR Number of keys can't be greater than number of args")
        if nkeys < 0:
            raise CommandError("ERR Number of keys can't be negative")
        run = self._prepare(c, self.func_vm, argv, fi.name, False, fi.flags, ro)
        return self._execute(c, run, fi.callback, nkeys, argv)

    def load_library(self, code: bytes, replace: bool) -> bytes:
        """FUNCTION LOAD: compile and register a library; returns its name."""
        name, body = self._parse_library(code)
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise CommandError("ERR Library '%s' already exists" % name.decode("utf-8", "surrogateescape"))
        lib = self._load(name, code, body)
        for fi in lib.functions.values():
            other = self.functions.get(fi.name.lower())
            if other is not None and other.library is not old:
                raise CommandError("ERR Function %s already exists" % fi.name.decode("utf-8", "surrogateescape"))
        if old is not None:
            self._remove_library(old)
        self._add_library(lib)
        return lib.name

    def compile_library(self, code: bytes) -> Library:
        name, body = self._parse_library(code)
        return self._load(name, code, body)

    def _parse_library(self, code: bytes) -> tuple[bytes, bytes]:
        engine, name, body = shebang.parse_library(code)
        if engine.lower() != b"lua":
            raise CommandError("ERR Engine '%s' not found" % engine.decode("utf-8", "surrogateescape"))
        if not valid_name(name):
            raise CommandError(ERR_NAME)
        return name, body

    def _load(self, name: bytes, code: bytes, body: bytes) -> Library:
        lib = Library(name, code)
        self.loading = _Loading(lib)
        try:
            res = self.func_vm.load(body, b"@user_function")
        finally:
            self.loading = None
        if type(res) is tuple:
            msg = res[1].decode("utf-8", "surrogateescape") if type(res[1]) is bytes else str(res[1])
            if res[0] == 1:
                raise CommandError("ERR Error compiling function: " + msg)
            raise CommandError("ERR Error registering functions: " + msg)
        if not lib.functions:
            raise CommandError("ERR No functions registered")
        return lib

    def _add_library(self, lib: Library) -> None:
        self.libraries[lib.name] = lib
        for fi in lib.functions.values():
            fi.library = lib
            self.functions[fi.name.lower()] = fi

    def _remove_library(self, lib: Library) -> None:
        self.libraries.pop(lib.name, None)
        for fi in lib.functions.values():
            key = fi.name.lower()
            if self.functions.get(key) is fi:
                del self.functions[key]

    def delete_library(self, name: bytes) -> None:
        lib = self.libraries.get(name)
        if lib is None:
            raise CommandError("ERR Library not found")
        self._remove_library(lib)

    def function_codes(self) -> list[bytes]:
        """The source of every function library (what RDB files and AOF rewrites store)."""
        return [lib.code for lib in self.libraries.values()]

    def flush_functions(self) -> None:
        self.libraries = {}
        self.functions = {}
        self._func_vm = None

    def dump(self) -> bytes:
        return dump_payload([lib.code for lib in self.libraries.values()])

    def restore(self, payload: bytes, policy: bytes) -> None:
        codes = parse_payload(payload)
        libs = [self.compile_library(code) for code in codes]
        if policy == b"flush":
            self.flush_functions()
            # the libraries were compiled in the old state: compile them again in the new one
            libs = [self.compile_library(code) for code in codes]
            for lib in libs:
                self._add_library(lib)
            return
        replaced = []
        for lib in libs:
            old = self.libraries.get(lib.name)
            if old is not None:
                if policy == b"append":
                    raise CommandError("ERR Library %s already exists" % lib.name.decode("utf-8", "surrogateescape"))
                replaced.append(old)
        new_names: dict[bytes, Library] = {}
        for lib in libs:
            for fi in lib.functions.values():
                key = fi.name.lower()
                other = self.functions.get(key)
                if (other is not None and other.library not in replaced) or key in new_names:
                    raise CommandError("ERR Function %s already exists" % fi.name.decode("utf-8", "surrogateescape"))
                new_names[key] = lib
        for old in replaced:
            self._remove_library(old)
        for lib in libs:
            self._add_library(lib)

    # -- running -----------------------------------------------------------------------------------
    def _prepare(self, c: Client, vm: LuaVM, argv: list[bytes], name: bytes, is_eval: bool, flags: int,
                 ro: bool) -> ScriptRun:
        """Checks made before a script starts (script flags vs server state)."""
        srv = self.server
        compat = bool(flags & EVAL_COMPAT)
        if self._stale() and (compat or not flags & ALLOW_STALE):
            raise CommandError(ERR_MASTERDOWN_S)
        if not compat:
            if flags & NO_CLUSTER and srv.cluster is not None:
                raise CommandError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
            if not flags & (ALLOW_OOM | NO_WRITES) and self._oom():
                raise CommandError(ERR_OOM_S)
            if not flags & NO_WRITES:
                if self._readonly_replica(c):
                    raise CommandError(ERR_READONLY_S)
                misconf = srv.persistence.misconf(script=True)  # writeCommandsDeniedByDiskError
                if misconf is not None:
                    raise CommandError(misconf)
                if ro:
                    raise CommandError(ERR_RO_FLAG)
                if not self._enough_replicas():
                    raise CommandError(ERR_NOREPLICAS_S)
        run = ScriptRun(vm, c, argv, name, is_eval, flags, ro or bool(flags & NO_WRITES), bool(flags & ALLOW_OOM))
        if compat and srv.config.values["maxmemory"]:
            run.oom = self._oom()
        mon = srv.monitor
        if mon.clients:
            mon.feed(c, argv, c.db.id)
        return run

    def _execute(self, c: Client, run: ScriptRun, fn: Any, nkeys: int, argv: list[bytes]) -> Any:
        srv = self.server
        ks = srv.keyspace
        fake = self.fake
        fake.db = c.db
        fake.resp = 2
        fake.user = c.user
        fake.out.clear()
        fake.repl = None
        prev_frozen = ks.frozen_time
        if prev_frozen is None:
            ks.frozen_time = int(time.time() * 1000)
        dirty = srv.dirty
        vm = run.vm
        from pyredis.scripting.vm import LuaMemoryError  # loaded with the VM (see eval_vm)

        self.run = run
        try:
            if len(argv) < 200:
                res = vm.run(fn, c.resp, nkeys, *argv[3:])
            else:
                tf = vm.table_from
                res = vm.run_tables(fn, c.resp, tf(argv[3 : 3 + nkeys]), tf(argv[3 + nkeys :]))
        except LuaMemoryError:  # the Lua heap limit (vm.LUA_HEAP_LIMIT) hit outside the script's pcall
            vm.collect()
            res = (3, b"not enough memory")
        finally:
            self.run = None
            ks.frozen_time = prev_frozen
            vm.gc_tick()
            if run.busy:
                srv.busy_script = None
                srv.hold_gate("busy-script", False)
                if srv.blocked_io is not None:
                    srv.blocked_io.adopt()
                log.warning("Slow script finished after %d milliseconds", run.duration_ms())
            if run.killed is not None:
                vm.reset_hook()
        if run.effects or srv.dirty != dirty:
            self._propagate(c, run, srv.dirty != dirty)
        if type(res) is bytes:  # success: the reply, already encoded
            if not c.reply_mode:
                c.out.append(res)
            return NOREPLY
        code = res[0]
        if code == 0:  # a reply with error replies nested in it: they count in the error stats
            for e in res[2].values():
                srv.count_error(e.decode("utf-8", "surrogateescape"))
            if c.cmd is not None:
                c.cmd.failed += 1
            if not c.reply_mode:
                c.out.append(res[1])
            return NOREPLY
        msg = res[1].decode("utf-8", "surrogateescape")
        if code == 3:
            if "not enough memory" in msg:
                vm.collect()
            raise CommandError("ERR Error running script %s, %.100s" % (run.name.decode("utf-8", "surrogateescape"), msg))
        if code == 2 and res[2]:
            msg = "%s script: %s, on %s:%s." % (msg, run.name.decode("utf-8", "surrogateescape"),
                                                res[2].decode("utf-8", "surrogateescape"), res[3])
        ignore = res[-1] is True
        if not ignore:
            raise CommandError(msg)
        cmd = c.cmd
        if cmd is not None:
            cmd.failed += 1
        if c.reply_mode == 0:
            c.out.append(b"-%s\r\n" % msg.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape"))
        return NOREPLY

    def _propagate(self, c: Client, run: ScriptRun, changed: bool) -> None:
        if not run.effects:
            if changed:
                c.repl = []
            return
        base = c.db.id
        cur = base
        cmds: list[list[bytes]] = []
        for dbid, a in run.effects:
            if dbid != cur:
                cmds.append([b"SELECT", b"%d" % dbid])
                cur = dbid
            cmds.append(a)
        if cur != base:
            cmds.append([b"SELECT", b"%d" % base])
        if len(cmds) > 1 and not c.in_exec:
            cmds = [[b"MULTI"], *cmds, [b"EXEC"]]
        c.repl = cmds

    def queued_flags(self, cmd: Any, argv: list[bytes]) -> tuple[bool, bool]:
        """(write, stale) of a queued command as EXEC judges it: a script's declared flags stand in for
        EVAL's / FCALL's own (evalGetCommandFlags, fcallGetCommandFlags)."""
        name = cmd.name
        flags = None
        if name in ("eval", "eval_ro", "evalsha", "evalsha_ro") and len(argv) > 1:
            sha = argv[1].lower() if name.startswith("evalsha") else _sha1(argv[1]).hexdigest().encode()
            entry = self.scripts.get(sha)
            if entry is not None:
                flags = entry[1]
            elif not name.startswith("evalsha"):
                try:
                    flags = shebang.parse_eval(argv[1])[0]
                except CommandError:
                    flags = None
        elif name in ("fcall", "fcall_ro") and len(argv) > 1:
            fi = self.functions.get(argv[1].lower())
            flags = fi.flags if fi is not None else None
        if flags is None or flags & EVAL_COMPAT:
            return bool(cmd.write), bool(cmd.stale)
        return not flags & NO_WRITES, bool(flags & ALLOW_STALE)

    # -- server state checks --------------------------------------------------------------------------
    def _oom(self) -> bool:
        srv = self.server
        maxmem = srv.config.values.get("maxmemory") or 0
        if not maxmem:
            return False
        return srv.eviction.oom()

    def _stale(self) -> bool:
        """A replica whose master link is down, with replica-serve-stale-data off."""
        srv = self.server
        repl = srv.replication
        if repl is None or repl.masterhost is None or srv.config.values.get("replica-serve-stale-data"):
            return False
        return not repl.replica.connected()

    def _readonly_replica(self, c: Client) -> bool:
        srv = self.server
        return bool(srv.keyspace.is_replica and srv.config.values.get("replica-read-only")
                    and not getattr(c, "is_master", False))

    def _enough_replicas(self) -> bool:
        srv = self.server
        cfg = srv.config.values
        need = cfg.get("min-replicas-to-write") or 0
        if not need or not cfg.get("min-replicas-max-lag") or srv.keyspace.is_replica:
            return True
        repl = srv.replication
        return (repl.good_replicas() if repl is not None else 0) >= need

    # -- redis.call -------------------------------------------------------------------------------------
    def script_call(self, *args: Any) -> Any:
        """redis.call: run a command for the running script; raises :class:`ScriptError` on errors."""
        run = self.run
        if run is None:
            raise ScriptError(b"ERR redis.call is only available while a script runs")
        for a in args:
            if type(a) is not bytes:
                argv = _script_argv(args)
                break
        else:
            if not args:
                raise ScriptError(ERR_NOARGS)
            argv = list(args)
        srv = self.server
        ldb = self._ldb
        tracing = ldb is not None and ldb.active and ldb.step
        if tracing:
            ldb.log_command(argv)
        table = srv.commands
        cmd = table.get(argv[0])
        if cmd is None:
            cmd = table.get(argv[0].lower())
            if cmd is None:
                srv.count_error(ERR_UNKNOWN_S)
                if tracing:
                    ldb.log_error(ERR_UNKNOWN)
                raise ScriptError(ERR_UNKNOWN, True)
        n = len(argv)
        if cmd.subcommands is not None:
            if n > 1:
                sub = cmd.subcommands.get(argv[1].lower())
                if sub is not None:
                    cmd = sub
                elif cmd.handler is None:
                    srv.count_error(ERR_UNKNOWN_S)
                    raise ScriptError(ERR_UNKNOWN, True)
            elif cmd.handler is None:
                self._reject(cmd, ERR_ARITY)
        ar = cmd.arity
        if (ar > 0 and n != ar) or n < -ar:
            self._reject(cmd, ERR_ARITY)
        if cmd.noscript and not self.disable_deny_scripts:
            self._reject(cmd, ERR_NOSCRIPT_CMD)
        if not cmd.stale and self._stale():
            self._reject(cmd, ERR_STALE)
        if (cmd.write or cmd.denyoom or cmd.may_replicate or cmd.name in _MAY_REPLICATE) and (
                run.readonly or run.oom or run.write_denied != b""):
            err = self._deny(run, cmd)
            if err is not None:
                self._reject(cmd, err)
        err = srv.acl.script_check(run.caller, cmd, argv)
        if err is not None:
            self._reject(cmd, err)
        cl = srv.cluster
        if cl is not None:
            cerr = cl.script_check(run, cmd, argv)
            if cerr is not None:
                self._reject(cmd, cerr.encode())
        fake = self.fake
        fake.cmd = cmd
        if cmd.write:
            run.wrote = True
        dirty = srv.dirty
        t0 = perf_counter_ns()
        try:
            r = cmd.handler(fake, argv)
        except CommandError as e:
            r = ErrorReply(e.message.encode("utf-8", "surrogateescape"))
        except Exception:  # a bug in a command must not take the script engine down
            log.exception("command %s failed inside a script", cmd.fullname)
            r = ErrorReply(b"ERR internal error running the command")
        cmd.calls += 1
        cmd.usec += (perf_counter_ns() - t0) // 1000
        hooks = srv.events.after_command
        if hooks:
            for hook in hooks:
                hook(fake, cmd, argv)
        if srv.dirty != dirty or fake.repl is not None:
            rl = fake.repl
            flags = run.repl_flags
            if flags:
                dbid = fake.db.id
                if rl is None:
                    rl = [argv]
                if flags != PROPAGATE_ALL:  # redis.set_repl: only some targets
                    rl = [Targeted(a, t) for a in rl
                          if (t := flags & (a.target if type(a) is Targeted else PROPAGATE_ALL))]
                run.effects.extend((dbid, a) for a in rl)
            fake.repl = None
        raw = None
        if fake.out:
            raw = b"".join(fake.out)
            vals = parse_resp(raw)
            fake.out.clear()
            if r is NOREPLY:
                r = vals[0] if len(vals) == 1 else vals
            else:
                raw = None
        if tracing:
            ldb.log_reply(raw, r, fake.resp)
        t = type(r)
        if t is int:
            if -(1 << 63) <= r < (1 << 63):
                return r
        elif t is bytes:
            return r
        elif t is Raw:
            r = raw_value(r)
            t = type(r)
        if t is Status:
            return bytes(r), True
        if t is ErrorReply:
            srv.count_error(r.decode("utf-8", "surrogateescape"))
            cmd.failed += 1
            raise ScriptError(bytes(r), True)
        return run.vm.to_lua.value(r, fake.resp)

    def _reject(self, cmd: Any, err: bytes) -> None:
        cmd.rejected += 1
        self.server.count_error(err.decode())
        ldb = self._ldb
        if ldb is not None and ldb.active and ldb.step:
            ldb.log_error(err)
        raise ScriptError(err, True)

    def _deny(self, run: ScriptRun, cmd: Any) -> bytes | None:
        if run.readonly and (cmd.write or cmd.may_replicate or cmd.name in _MAY_REPLICATE):
            return ERR_RO
        if cmd.write:
            w = run.write_denied
            if w is None:  # the server state that refuses writes, checked once per script
                misconf = self.server.persistence.misconf()
                if self._readonly_replica(run.caller):
                    w = ERR_READONLY
                elif misconf is not None:
                    w = misconf.encode()
                elif not self._enough_replicas():
                    w = ERR_NOREPLICAS
                else:
                    w = b""
                run.write_denied = w
            if w:
                return w
        if cmd.denyoom and run.oom and not run.allow_oom and not run.wrote:
            return ERR_OOM
        return None

    def hook(self) -> bytes | None:
        """Called every 100000 Lua instructions: time limits, busy mode, kills."""
        run = self.run
        if run is None:
            ld = self.loading
            if ld is not None and time.monotonic() - ld.start > LOAD_TIMEOUT:
                return b"FUNCTION LOAD timeout"
            return None
        if run.killed is not None:
            return run.killed.encode()
        srv = self.server
        if not run.busy:
            limit = srv.config.values.get("busy-reply-threshold") or 0
            if limit <= 0 or (time.monotonic() - run.start) * 1000 < limit:
                return None
            run.busy = True
            srv.busy_script = run
            srv.hold_gate("busy-script", True)
            log.warning("Slow script detected: still in execution after %d milliseconds. You can try killing "
                        "the script using the %s command. Script name is: %s.", run.duration_ms(),
                        "SCRIPT KILL" if run.is_eval else "FUNCTION KILL", run.name.decode("utf-8", "replace"))
        try:
            run.process_events()
        except Exception:  # never let a client's command break the running script
            log.exception("processing events during a busy script")
        srv.current_client = run.caller
        ev = srv.shutdown_event
        if ev is not None and ev.is_set() and run.killed is None:
            run.killed = KILLED
        if run.killed is not None:
            return run.killed.encode()
        return None

    def kill(self, c: Client, functions: bool) -> None:
        """SCRIPT KILL / FUNCTION KILL."""
        run = self.run
        if run is None or not run.busy:
            raise CommandError(NOTBUSY)
        if run.wrote:  # scriptKill: checked before the SCRIPT/FUNCTION KILL mismatch
            raise CommandError(UNKILLABLE)
        if run.is_eval == functions:
            raise CommandError(BUSY_EVAL if run.is_eval else BUSY_FUNCTION)
        run.killed = KILLED

    def acl_allows(self, cmd: Any, argv: list[bytes]) -> bool:
        """redis.acl_check_cmd: the caller's permissions, without an ACL LOG entry."""
        run = self.run
        if run is None:
            return True
        return self.server.acl.script_allowed(run.caller, cmd, argv)


_SMALL_INTS = {b"%d" % i: i for i in range(16)}


def _script_argv(args: tuple) -> list[bytes]:
    """redis.call arguments: strings, or numbers formatted like Redis; anything else is an error."""
    argv = []
    for a in args:
        t = type(a)
        if t is bytes:
            argv.append(a)
        elif t is int or t is float:
            argv.append(_num_arg(a))
        else:
            raise ScriptError(ERR_ARGTYPE)
    return argv


def _alloc(n: int) -> int:
    """An allocation's size rounded up as jemalloc's small size classes do (8, 16, 32, 48, ...)."""
    return 8 if n <= 8 else (n + 15) & ~15


def _dict_overhead(entries: int, per_entry: int) -> int:
    """A Redis dict's entries plus its bucket array (a power of two, at least 4, once not empty)."""
    if not entries:
        return 0
    slots = 4
    while slots < entries:
        slots *= 2
    return entries * per_entry + slots * 8


def _numkeys(arg: bytes, err: str) -> int:
    v = parse_ll(arg)
    if v is None:
        raise CommandError(err)
    return v
