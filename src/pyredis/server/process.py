"""The server process as the OS sees it: ``oom-score-adj`` and the process title (``proc-title-template``).

OOM score (``setOOMScoreAdj`` in server.c): with ``oom-score-adj`` on, the process's
/proc/self/oom_score_adj is set to the master or replica value of ``oom-score-adj-values``
(relative to the score it had before, or absolute), forked children take the third value, and
turning it off restores the original score.

Process title: like Redis's setproctitle, the title is written over the process's argv area
(extended over its environment strings, which are copied elsewhere first), so
/proc/<pid>/cmdline and ``ps`` show it. Only the server process does this (never an embedded
server inside someone else's program): :func:`install_title` is called by the CLI.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from pyredis.server.config import ConfigError

if TYPE_CHECKING:
    from pyredis.server.app import Server

log = logging.getLogger("pyredis")

OOM_MASTER, OOM_REPLICA, OOM_BGCHILD = 0, 1, 2
_OOM_PATH = "/proc/self/oom_score_adj"
_TITLE_VARS = ("title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file")


class ProcessState:
    """OOM score adjustment and process title of the server (``server.process``)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.adjusted = False  # the score was changed by us: restore *base* when turned off
        self.base = 0
        self.title_installed = False
        cfg = server.config
        cfg.on_change("oom-score-adj", self._on_oom_change)
        cfg.on_change("oom-score-adj-values", self._on_oom_change)
        cfg.on_change("proc-title-template", self._on_title_change)
        server.events.role_changed.append(self._on_role_changed)

    def _on_role_changed(self, _server: Any) -> None:
        self.set_oom_score()

    # -- oom-score-adj ----------------------------------------------------------------------------------
    def _on_oom_change(self, _value: Any) -> None:
        if not self.set_oom_score():
            raise ConfigError("Failed to set current oom_score_adj. Check server logs.")

    def set_oom_score(self, process_class: int = -1) -> bool:
        """``setOOMScoreAdj``: apply the configured score for *process_class* (-1: by role)."""
        if not os.path.exists(_OOM_PATH):
            return True
        cfg = self.server.config.values
        if process_class < 0:
            process_class = OOM_REPLICA if self.server.keyspace.is_replica else OOM_MASTER
        mode = cfg["oom-score-adj"]
        if mode != "no":
            if not self.adjusted:
                try:
                    with open(_OOM_PATH) as fh:
                        self.base = int(fh.read().strip() or 0)
                except (OSError, ValueError) as e:
                    log.warning("Unable to read oom_score_adj: %s", getattr(e, "strerror", e))
                    return False
                self.adjusted = True
            val = int(str(cfg["oom-score-adj-values"]).split()[process_class])
            if mode in ("yes", "relative"):
                val += self.base
            val = max(-1000, min(1000, val))
        elif self.adjusted:
            self.adjusted = False
            val = self.base
        else:
            return True
        try:
            with open(_OOM_PATH, "w") as fh:
                fh.write(f"{val}\n")
        except OSError as e:
            log.warning("Unable to write oom_score_adj: %s", e.strerror)
            return False
        return True

    def child(self, name: str) -> None:
        """In a forked child (BGSAVE, AOF rewrite, replica sync): its OOM score and title."""
        self.set_oom_score(OOM_BGCHILD)
        if self.title_installed:
            self.set_title(name)

    # -- process title ----------------------------------------------------------------------------------
    def _on_title_change(self, template: str) -> None:
        try:
            expand_title(self.server, template, "x")
        except ValueError:
            raise ConfigError("template format is invalid or contains unknown variables") from None
        if self.title_installed:
            self.set_title(None, template)

    def set_title(self, title: str | None = None, template: str | None = None) -> None:
        """``redisSetProcTitle``: expand the template (``{title}`` is *title* or the program) and show it."""
        srv = self.server
        if not srv.config.values["set-proc-title"]:
            return
        try:
            text = expand_title(srv, template or srv.config.values["proc-title-template"], title or program_name())
        except ValueError:
            return
        _write_title(text)


def program_name() -> str:
    """What ``{title}`` shows for the server itself: the program as it was started."""
    arg0 = sys.argv[0] if sys.argv else ""
    if not arg0 or arg0 == "-m" or os.path.basename(arg0) == "__main__.py":
        # ``python -m pyredis``: the process's own argv[0], unless that is just the interpreter's name
        # (``exec -a /path/redis-server python3 -m pyredis`` shows /path/redis-server, as Redis would)
        orig = getattr(sys, "orig_argv", None) or [""]
        if orig[0] and not os.path.basename(orig[0]).startswith("python"):
            return orig[0]
        return "pyredis-server"
    return arg0


def expand_title(server: Server, template: str, title: str) -> str:
    """Expand a ``proc-title-template`` (``{{`` / ``}}`` are literal braces); ValueError if invalid."""
    cfg = server.config
    port = server.port or 0
    tls_port = getattr(server, "tls_bound_port", 0) or cfg.values.get("tls-port", 0) or 0
    if port or tls_port:
        binds = cfg.values["bind"]
        first = binds[0].lstrip("-") if binds else "*"
        listen = f"{first}:{port or tls_port}"
    else:
        listen = f"unixsocket:{cfg.values['unixsocket']}"
    values = {
        "title": title, "listen-addr": listen,
        "server-mode": "[cluster]" if getattr(server, "cluster", None) is not None else "",
        "port": str(port), "tls-port": str(tls_port), "unixsocket": cfg.values["unixsocket"] or "",
        "config-file": cfg.config_file or "",
    }
    out = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch == "{":
            if template.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            j = template.find("}", i)
            if j < 0 or template[i + 1:j] not in values:
                raise ValueError(template)
            out.append(values[template[i + 1:j]])
            i = j + 1
        elif ch == "}":
            if not template.startswith("}}", i):
                raise ValueError(template)
            out.append("}")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out).strip(" ")


# -- writing the title over argv (Linux) -------------------------------------------------------------------
# Without ctypes where the system allows (ctypes and libffi are ~0.4 MB of start-up RSS): the environment
# strings get heap copies through setenv (os.putenv, which replaces each entry with a copy of its own) and
# the title is written through /proc/self/mem. ctypes (strdup over ``environ``, memset/memmove) is the
# fallback when either is not possible.
_area: tuple[int, int, int] | None = None  # (start, end of argv, end of the usable area)
_use_ctypes = False  # /proc/self/mem cannot be written: write with ctypes


def install_title() -> bool:
    """Prepare the argv area for titles (copy the environment strings out of it); False if unsupported."""
    global _area, _use_ctypes
    if _area is not None:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        # fields[0] is field 3 (state); arg_start..env_end are fields 48..51
        arg_start, arg_end, env_start, env_end = (int(x) for x in fields[45:49])
        try:
            with open("/proc/self/mem", "r+b", buffering=0):
                pass
        except OSError:
            _use_ctypes = True
        end = arg_end
        if env_start in (arg_end, arg_end + 1) and (
                (not _use_ctypes and _copy_environ_putenv()) or _copy_environ_ctypes(env_start, env_end)):
            end = env_end
    except (OSError, ValueError, AttributeError, IndexError):
        return False
    if arg_end <= arg_start:
        return False
    _area = (arg_start, arg_end, end)
    return True


def _copy_environ_putenv() -> bool:
    """Move the environment strings out of the argv area with setenv; False if some could stay there.

    /proc/self/environ is that area: every ``NAME=value`` string in it is set again (to its current
    value), which makes libc point the entry at a copy. A string setenv cannot replace (no ``=``, an
    empty or repeated name) leaves it to the ctypes way.
    """
    with open("/proc/self/environ", "rb") as fh:
        raw = fh.read()
    names = []
    seen = set()
    for entry in raw.split(b"\0"):
        if not entry:
            continue
        name, eq, _value = entry.partition(b"=")
        if not eq or not name or name in seen:
            return False
        seen.add(name)
        names.append(name)
    env = os.environb
    for name in names:
        value = env.get(name)
        if value is not None:  # else unset since start-up: libc's environ no longer has it
            os.putenv(name, value)
    return True


def _copy_environ_ctypes(env_start: int, env_end: int) -> bool:
    """strdup every ``environ`` string that lies in the argv area (Redis's setproctitle does this)."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.strdup.restype = ctypes.c_void_p
    libc.strdup.argtypes = [ctypes.c_void_p]
    environ = ctypes.c_void_p.in_dll(libc, "environ").value
    if not environ:
        return False
    arr = ctypes.cast(environ, ctypes.POINTER(ctypes.c_void_p))
    i = 0
    while arr[i]:
        p = arr[i]
        if env_start <= p < env_end:
            arr[i] = libc.strdup(p)
        i += 1
    return True


def _poke(address: int, data: bytes) -> None:
    """Write *data* at *address* of this process's memory."""
    if _use_ctypes:
        import ctypes

        ctypes.memmove(address, data, len(data))
        return
    # opened for each write: an fd opened before a fork would still write the parent's memory
    with open("/proc/self/mem", "r+b", buffering=0) as fh:
        fh.seek(address)
        fh.write(data)


def _write_title(text: str) -> None:
    if _area is None:
        return
    start, arg_end, end = _area
    size = end - start
    data = text.encode("utf-8", "replace")[: size - 1]
    _poke(start, data + bytes(size - len(data)))
    if start + len(data) < arg_end - 1:
        # the byte ending the original argv is no longer NUL: the kernel then shows the title up to
        # its first NUL (setproctitle's convention) instead of the whole argv area
        _poke(arg_end - 1, b".")
