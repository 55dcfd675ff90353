"""The Lua script debugger (eval.c's LDB): SCRIPT DEBUG YES|SYNC|NO and debugging EVAL sessions.

A client that ran ``SCRIPT DEBUG SYNC`` gets its next EVAL run under the debugger: the script stops
before its first line, and from inside the Lua line hook the debugger talks to the client's socket
directly (blocking, like Redis: the whole server waits for the debugging client), reading RESP commands
(``step``, ``continue``, ``list``, ``print``, ``break``, ``eval``, ``redis``, ``trace``, ``maxlen``,
``abort``, ``help``) and answering with arrays of status lines. When the script ends the remaining log,
``<endsession>``, and the EVAL reply are sent and the connection is closed. ``SCRIPT DEBUG YES`` runs
the session in a forked child (the parent closes its side of the connection), so that the dataset
changes made while debugging are not kept.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import time
from typing import TYPE_CHECKING, Any

from pyredis.protocol.encoder import _ENCODERS
from pyredis.protocol.quoting import repr_arg
from pyredis.protocol.types import NOREPLY
from pyredis.scripting.scripterror import ScriptError
from pyredis.server.logfmt import RedisFormatter

if TYPE_CHECKING:
    from pyredis.scripting.engine import Scripting
    from pyredis.server.client import Client

log = logging.getLogger("pyredis")

MAX_LEN_DEFAULT = 256
BREAKPOINTS_MAX = 64
UNKNOWN = b"<error> Unknown Redis Lua debugger command or wrong number of arguments."
HELP = """Redis Lua debugger help:
[h]elp               Show this help.
[s]tep               Run current line and stop again.
[n]ext               Alias for step.
[c]ontinue           Run till next breakpoint.
[l]ist               List source code around current line.
[l]ist [line]        List source code around [line].
                     line = 0 means: current position.
[l]ist [line] [ctx]  In this form [ctx] specifies how many lines
                     to show before/after [line].
[w]hole              List all source code. Alias for 'list 1 1000000'.
[p]rint              Show all the local variables.
[p]rint <var>        Show the value of the specified variable.
                     Can also show global vars KEYS and ARGV.
[b]reak              Show all breakpoints.
[b]reak <line>       Add a breakpoint to the specified line.
[b]reak -<line>      Remove breakpoint from the specified line.
[b]reak 0            Remove all breakpoints.
[t]race              Show a backtrace.
[e]val <code>        Execute some Lua code (in a different callframe).
[r]edis <cmd>        Execute a Redis command.
[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.
                     Specifying zero as <len> means unlimited.
[a]bort              Stop the execution of the script. In sync
                     mode dataset changes will be retained.

Debugger functions you can call from Lua scripts:
redis.debug()        Produce logs in the debugger console.
redis.breakpoint()   Stop execution like if there was a breakpoint in the
                     next line of code."""


def _atoi(b: bytes) -> int:
    """C atoi: leading digits, 0 when there are none."""
    s = b.strip()
    n, i, neg = 0, 0, False
    if s[:1] in (b"-", b"+"):
        neg, i = s[:1] == b"-", 1
    while i < len(s) and 48 <= s[i] <= 57:
        n = n * 10 + s[i] - 48
        i += 1
    return -n if neg else n


def human(reply: bytes, pos: int = 0) -> tuple[bytes, int]:
    """ldbRedisProtocolToHuman: a RESP reply as the debugger shows it; returns (text, end)."""
    t = reply[pos:pos + 1]
    eol = reply.index(b"\r\n", pos)
    head = reply[pos + 1:eol]
    nxt = eol + 2
    if t == b":":
        return head, nxt
    if t == b"$":
        n = int(head)
        if n == -1:
            return b"NULL", nxt
        return repr_arg(reply[nxt:nxt + n]), nxt + n + 2
    if t in (b"+", b"-"):
        return repr_arg(reply[pos:eol]), nxt
    if t in (b"*", b"~", b"%"):
        n = int(head)
        if t == b"*" and n == -1:
            return b"NULL", nxt
        parts = []
        p = nxt
        for _ in range(n):
            a, p = human(reply, p)
            if t == b"%":
                b, p = human(reply, p)
                a = a + b" => " + b
            parts.append(a)
        open_, close = {b"*": (b"[", b"]"), b"~": (b"~(", b")"), b"%": (b"{", b"}")}[t]
        return open_ + b",".join(parts) + close, p
    if t == b"_":
        return b"(null)", nxt
    if t == b"#":
        return (b"#true" if head == b"t" else b"#false"), nxt
    if t == b",":
        return b"(double) " + head, nxt
    return b"", nxt


class _Signalled(Exception):
    """Raised by the session's signal handlers to break out of the blocking wait."""


class Debugger:
    """The debugger state of one server (``scripting.ldb``); at most one session runs at a time."""

    def __init__(self, scripting: Scripting) -> None:
        self.s = scripting
        self.modes: dict[int, bool] = {}  # client id -> sync (SCRIPT DEBUG SYNC) or forked (YES)
        self.active = False
        self.step = False
        self.luabp = False
        self.bps: list[int] = []
        self.maxlen = MAX_LEN_DEFAULT
        self.hint_sent = False
        self.logs: list[bytes] = []
        self.cbuf = b""
        self.src: list[bytes] = []
        self.currentline = 0
        self.fd = -1
        self.signalled = False  # SIGTERM/SIGINT during the session: stop waiting for the client
        self.waiting = False
        self.saved_handlers: dict[int, Any] = {}
        self.start = 0.0
        self.helpers: Any = None
        self.children: list[int] = []  # forked sessions (SCRIPT DEBUG YES), reaped by the cron

    def reap(self, server: Any = None) -> None:
        """``events.cron``: collect the forked debugging sessions that exited."""
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.remove(pid)

    # -- SCRIPT DEBUG --------------------------------------------------------------------------------
    def set_mode(self, c: Client, mode: bytes) -> None:
        if mode == b"no":
            self.modes.pop(c.id, None)
        else:
            self.modes[c.id] = mode == b"sync"

    def forget(self, c: Client) -> None:
        self.modes.pop(c.id, None)

    # -- logging -------------------------------------------------------------------------------------
    def log(self, entry: bytes) -> None:
        self.logs.append(entry)

    def log_maxlen(self, entry: bytes) -> None:
        trimmed = False
        if self.maxlen and len(entry) > self.maxlen:
            entry = entry[:self.maxlen] + b" ..."
            trimmed = True
        self.logs.append(entry)
        if trimmed and not self.hint_sent:
            self.hint_sent = True
            self.logs.append(b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.")

    def send_logs(self) -> None:
        out = [b"*%d\r\n" % len(self.logs)]
        for e in self.logs:
            out.append(b"+" + e.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n")
        self.logs = []
        self._write(b"".join(out))

    def _write(self, data: bytes) -> None:
        fd = self.fd
        deadline = time.monotonic() + 5  # connSendTimeout(5000)
        while data and fd >= 0:
            try:
                n = os.write(fd, data)
                data = data[n:]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                select.select([], [fd], [], left)
            except OSError:
                return  # the next read sees the closed connection

    # -- redis.call while stepping (called by Scripting.script_call) --------------------------------
    def log_command(self, argv: list[bytes]) -> None:
        s = b"<redis>"
        for j, a in enumerate(argv):
            if j == 10:
                s += b" ... (%d more)" % (len(argv) - j - 1)
                break
            s += b" " + a
        self.log(s)

    def log_error(self, err: bytes) -> None:
        self.log(b"<error> " + (err[4:] if err.startswith(b"ERR ") else err))

    def log_reply(self, raw: bytes | None, value: Any, resp: int) -> None:
        if raw is None:
            out: list[bytes] = []
            _ENCODERS[type(value)](out, value, resp)
            raw = b"".join(out)
        if raw[:1] == b"-":
            self.log(b"<error> " + raw[:raw.index(b"\r\n")])
        self.log_maxlen(b"<reply> " + human(raw)[0])

    # -- Lua-side callbacks ---------------------------------------------------------------------------
    def breakpoint(self) -> bool:
        if self.active:
            self.luabp = True
            return True
        return False

    def debug(self, *args: Any) -> None:
        if self.active:
            self.log(b"<debug> line %d: %s" % (self.currentline, self.helpers.debug(*args)))

    def line(self, line: int, count: bool) -> None:
        """The hook: called before each line of the script (and every 100000 instructions)."""
        self.currentline = line
        bp = line in self.bps or self.luabp
        timeout = False
        if count:
            if self.step or bp:
                return
            limit = self.s.server.config.values.get("busy-reply-threshold") or 5000
            if (time.monotonic() - self.start) * 1000 < limit:
                return
            timeout = self.step = True
        if not (self.step or bp):
            return
        if bp:
            reason = b"redis.breakpoint() called" if self.luabp else b"break point"
        elif timeout:
            reason = b"timeout reached, infinite loop?"
        else:
            reason = b"step over"
        self.step = self.luabp = False
        self.log(b"* Stopped at %d, stop reason = %s" % (line, reason))
        self._log_source_line(line)
        self.send_logs()
        if not self._repl() and timeout:
            raise ScriptError(b"ERR timeout during Lua debugging with client closing connection")
        self.start = time.monotonic()

    # -- the REPL ---------------------------------------------------------------------------------------
    def _source_line(self, line: int) -> bytes:
        if 1 <= line <= len(self.src):
            return self.src[line - 1]
        return b"<out of range source code line>"

    def _log_source_line(self, line: int) -> None:
        cur, bp = line == self.currentline, line in self.bps
        prefix = b"->#" if cur and bp else b"-> " if cur else b"  #" if bp else b"   "
        self.log(b"%s%-3d %s" % (prefix, line, self._source_line(line)))

    def _list(self, around: int, context: int) -> None:
        for j in range(1, len(self.src) + 1):
            if around == 0 or abs(around - j) <= context:
                self._log_source_line(j)

    def _parse(self) -> list[bytes] | None:
        """ldbReplParseCommand: one command from the buffer, or None to read more."""
        buf = self.cbuf
        if not buf:
            return None
        p = buf.find(b"*")
        if p < 0:
            raise ScriptError(b"ERR protocol error")
        e = buf.find(b"\r\n", p)
        if e < 0:
            return None
        argc = _atoi(buf[p + 1:e])
        if argc <= 0 or argc > 1024:
            raise ScriptError(b"ERR protocol error")
        p = e + 2
        argv = []
        while len(argv) < argc:
            if p >= len(buf):
                return None
            if buf[p:p + 1] != b"$":
                raise ScriptError(b"ERR protocol error")
            e = buf.find(b"\r\n", p)
            if e < 0:
                return None
            n = _atoi(buf[p + 1:e])
            if n <= 0 or n > 1024:
                raise ScriptError(b"ERR protocol error")
            p = e + 2
            if p + n + 2 > len(buf):
                return None
            argv.append(buf[p:p + n])
            p += n
            if buf[p:p + 2] != b"\r\n":
                raise ScriptError(b"ERR protocol error")
            p += 2
        return argv

    def _read(self) -> bool:
        """Read more from the client; False when it closed the connection (or a signal came)."""
        while True:
            if self.signalled:
                return False
            self.waiting = True
            try:
                select.select([self.fd], [], [])
            except (InterruptedError, _Signalled):
                return False
            finally:
                self.waiting = False
            try:
                data = os.read(self.fd, 1024)
            except BlockingIOError:
                continue
            except OSError:
                return False
            if not data:
                return False
            self.cbuf += data
            if len(self.cbuf) > 1 << 20:
                self.cbuf = b""
                raise ScriptError(b"ERR max client buffer reached")
            return True

    def _repl(self) -> bool:
        """Serve debugger commands until one resumes the script; False if the client went away."""
        h = self.helpers
        while True:
            argv = self._parse()
            while argv is None:
                if not self._read():
                    self.step = False
                    self.bps = []
                    return False
                argv = self._parse()
            self.cbuf = b""
            name = argv[0].split(b"\0", 1)[0].lower()
            argc = len(argv)
            if name in (b"h", b"help"):
                for ln in HELP.split("\n"):
                    self.log(ln.encode())
            elif name in (b"s", b"step", b"n", b"next"):
                self.step = True
                return True
            elif name in (b"c", b"continue"):
                return True
            elif name in (b"t", b"trace"):
                frames = list(h.trace().values())
                for j, fr in enumerate(frames):
                    self.log(b"%s %s:" % (b"In" if j == 0 else b"From", fr[1]))
                    self._log_source_line(fr[2])
                if not frames:
                    self.log(b"<error> Can't retrieve Lua stack.")
            elif name in (b"m", b"maxlen"):
                if argc == 2:
                    v = _atoi(argv[1])
                    self.hint_sent = True
                    self.maxlen = 60 if v != 0 and v <= 60 else v
                self.log(b"<value> replies are truncated at %d bytes." % self.maxlen if self.maxlen
                         else b"<value> replies are unlimited.")
            elif name in (b"b", b"break"):
                self._break(argv)
            elif name in (b"e", b"eval"):
                ok, text = h.eval(b" ".join(argv[1:]))
                self.log_maxlen(b"<retval> " + text) if ok else self.log(b"<error> " + text)
            elif name in (b"a", b"abort"):
                raise ScriptError(b"ERR script aborted for user request")
            elif argc > 1 and name in (b"r", b"redis"):
                self.step = True
                try:
                    h.redis(self.s.eval_vm.table_from(argv[1:]))
                finally:
                    self.step = False
            elif name in (b"p", b"print"):
                if argc == 2:
                    v = h.print_var(argv[1])
                    self.log_maxlen(b"<value> " + v) if v is not None else self.log(b"No such variable.")
                else:
                    vals = list(h.locals().values())
                    for v in vals:
                        self.log_maxlen(b"<value> " + v)
                    if not vals:
                        self.log(b"No local variables in the current context.")
            elif name in (b"l", b"list"):
                around, ctx = self.currentline, 5
                if argc > 1 and _atoi(argv[1]) > 0:
                    around = _atoi(argv[1])
                if argc > 2:
                    ctx = _atoi(argv[2])
                self._list(around, ctx)
            elif name in (b"w", b"whole"):
                self._list(1, 1000000)
            else:
                self.log(UNKNOWN)
            self.send_logs()

    def _break(self, argv: list[bytes]) -> None:
        if len(argv) == 1:
            if not self.bps:
                self.log(b"No breakpoints set. Use 'b <line>' to add one.")
                return
            self.log(b"%d breakpoints set:" % len(self.bps))
            for ln in self.bps:
                self._log_source_line(ln)
            return
        for arg in argv[1:]:
            try:
                line = int(arg)
                if arg != b"%d" % line:
                    raise ValueError
            except ValueError:
                self.log(b"Invalid argument:'%s'" % arg)
                continue
            if line == 0:
                self.bps = []
                self.log(b"All breakpoints removed.")
            elif line > 0:
                if len(self.bps) == BREAKPOINTS_MAX:
                    self.log(b"Too many breakpoints set.")
                elif 0 < line <= len(self.src):
                    if line not in self.bps:
                        self.bps.append(line)
                    self._list(line, 1)
                else:
                    self.log(b"Wrong line number.")
            elif -line in self.bps:
                self.bps.remove(-line)
                self.log(b"Breakpoint removed.")
            else:
                self.log(b"No breakpoint in the specified line.")

    # -- sessions -------------------------------------------------------------------------------------------
    def run_eval(self, c: Client, argv: list[bytes], ro: bool) -> Any:
        """EVAL for a client in debugging mode (evalGenericCommandWithDebugging)."""
        sync = self.modes.get(c.id, True)
        fd = getattr(c, "fd", -1)
        transport = getattr(c, "transport", None)
        if fd is None or fd < 0 or (transport is not None and transport.get_extra_info("ssl_object")):
            self.modes.pop(c.id, None)
            return self.s.eval(c, argv, ro, False)
        pid = 0
        if not sync:
            try:
                pid = os.fork()
            except OSError as e:
                self.modes.pop(c.id, None)
                from pyredis.commands.errors import CommandError

                raise CommandError("ERR Fork() failed: can't run EVAL in debugging mode: %s" % e.strerror) from None
            if pid:  # parent: the child owns the session; close our side of the connection
                self.children.append(pid)
                self.modes.pop(c.id, None)
                abort = getattr(c, "_abort", None)
                if abort is not None:
                    abort()
                return NOREPLY
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            RedisFormatter.role = "C"
            log.warning("Redis forked for debugging eval")
        else:
            log.warning("Redis synchronous debugging eval session started")
        self._begin(c, fd, argv[1])
        err = None
        res: Any = None
        try:
            res = self.s.eval(c, argv, ro, False)
        except Exception as e:  # the script's error is still the EVAL reply, after <endsession>
            err = e
        finally:
            self._end()
        if not sync:  # the forked child: send the reply itself and exit
            out = list(c.out)
            if err is None and res is not NOREPLY:
                _ENCODERS[type(res)](out, res, c.resp)
            if err is not None:
                out.append(b"-%s\r\n" % str(getattr(err, "message", err)).encode("utf-8", "surrogateescape"))
            self.fd = fd
            self._write(b"".join(out))
            log.warning("Lua debugging session child exiting")
            os._exit(0)
        log.warning("Redis synchronous debugging eval session ended")
        self.modes.pop(c.id, None)
        c.close()  # the connection closes after the EVAL reply: the session is over
        if err is not None:
            raise err
        return res

    def _begin(self, c: Client, fd: int, body: bytes) -> None:
        if c.out:  # what is already queued for this client goes first
            self.fd = fd
            data = b"".join(c.out)
            c.out.clear()
            self._write(data)
        self.logs = []
        self.fd = fd
        self.step = True
        self.bps = []
        self.luabp = False
        self.cbuf = b""
        self.maxlen = MAX_LEN_DEFAULT
        self.hint_sent = False
        self.start = time.monotonic()
        self.signalled = False
        self._hook_signals()
        src = body.rstrip(b"\r\n")
        self.src = src.split(b"\n")
        vm = self.s.eval_vm
        if self.helpers is None or vm.ldb is not self.helpers:
            self.helpers = vm.ldb_helpers(self)
        self.active = True
        self.helpers.install()

    def _hook_signals(self) -> None:
        """SIGTERM/SIGINT end the blocking wait like Redis's EINTR (the loop still gets the signal)."""
        self.saved_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            old = signal.getsignal(sig)
            if not callable(old):
                continue

            def handler(signum: int, frame: Any, old: Any = old) -> None:
                old(signum, frame)
                self.signalled = True
                if self.waiting:  # only the blocking wait is interrupted
                    raise _Signalled

            self.saved_handlers[sig] = old
            signal.signal(sig, handler)

    def _end(self) -> None:
        for sig, old in self.saved_handlers.items():
            signal.signal(sig, old)
        self.saved_handlers = {}
        self.active = False
        self.step = False
        self.s.eval_vm.reset_hook()
        self.log(b"<endsession>")
        self.send_logs()
        self.src = []
        self.fd = -1
