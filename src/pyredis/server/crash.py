"""Crash reports and self-restart the way redis-server does them (DEBUG SEGFAULT/PANIC/ASSERT/OOM/RESTART).

A crash writes Redis's bug-report frame to the log (the lines operators and the test suite grep:
``crashed by signal``, ``ASSERTION FAILED``, ``Guru Meditation``, ``STACK TRACE``), then ends the
process as Redis does: killed by the signal, ``abort()``, or ``exit(1)`` with ``use-exit-on-panic``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from typing import Any, NoReturn

from pyredis import REDIS_VERSION

log = logging.getLogger("pyredis")


def _stack_lines() -> list[str]:
    return [line.rstrip("\n") for frame in traceback.format_stack()[:-2] for line in frame.splitlines()]


def _report(server: Any, head: list[str]) -> None:
    log.warning("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    for line in head:
        log.warning("%s", line)
    log.warning("\n------ STACK TRACE ------\n%s", "\n".join(_stack_lines()))
    log.warning("\n------ INFO OUTPUT ------\nredis_version:%s\nprocess_id:%d\nconnected_clients:%d",
                REDIS_VERSION, os.getpid(), len(getattr(server, "clients", ())))
    log.warning("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n"
                "       Please report the crash by opening an issue on github:\n\n"
                "           http://github.com/redis/redis/issues\n")
    for h in logging.getLogger("pyredis").handlers + logging.getLogger().handlers:
        h.flush()


def _end(server: Any, sig: int | None) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    if sig is None and server.config["use-exit-on-panic"]:
        os._exit(1)
    sig = sig or signal.SIGABRT
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    time.sleep(1)  # the signal is delivered at once; never return
    os._exit(128 + sig)


def crash_by_signal(server: Any, sig: int = signal.SIGSEGV) -> NoReturn:
    """What a fatal signal does in Redis (DEBUG SEGFAULT): the report, then death by that signal."""
    _report(server, [f"Redis {REDIS_VERSION} crashed by signal: {int(sig)}, si_code: 0",
                     "Crashed running the instruction at: 0x0"])
    _end(server, sig)


def panic(server: Any, message: str, where: str) -> NoReturn:
    """``serverPanic``: the Guru Meditation banner, the report, then ``abort()``."""
    log.warning("------------------------------------------------")
    log.warning("!!! Software Failure. Press left mouse button to continue")
    log.warning("Guru Meditation: %s #%s", message, where)
    _report(server, [])
    _end(server, None)


def assertion_failed(server: Any, client_lines: list[str], expr: str, where: str) -> NoReturn:
    """``serverAssertWithInfo``: the client context, the failed expression, the report, ``abort()``.

    Without *client_lines* it is a plain ``serverAssert``/``assert`` (no client context section)."""
    if client_lines:
        log.warning("=== ASSERTION FAILED CLIENT CONTEXT ===")
        for line in client_lines:
            log.warning("%s", line)
    log.warning("=== ASSERTION FAILED ===")
    log.warning("==> %s '%s' is not true", where, expr)
    _report(server, [])
    _end(server, None)


def restart(server: Any, graceful: bool, delay_ms: int) -> str | None:
    """``restartServer``: (gracefully: rewrite the config, prepare the shutdown), then exec the same
    command line after *delay_ms*.  Returns the reason when it cannot restart."""
    if graceful:
        cfg = server.config
        if cfg.config_file:
            from pyredis.server.configfile import rewrite_config_file

            try:
                rewrite_config_file(cfg)
            except OSError as e:
                log.warning("Can't restart: configuration rewrite process failed: %s", e.strerror)
                return "rewrite"
        if server.persistence.prepare_shutdown(server, {"now"}) is not None:
            log.warning("Can't restart: error preparing for shutdown")
            return "shutdown"
    for h in logging.getLogger("pyredis").handlers + logging.getLogger().handlers:
        h.flush()
    if delay_ms:
        time.sleep(delay_ms / 1000)
    argv = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    try:
        os.execv(sys.executable, [sys.executable, *argv[1:]])
    except OSError:
        os._exit(1)
    return None  # not reached


def install(server: Any, loop: Any) -> None:
    """Crash reports for fatal signals: SIGABRT sent to the process gets Redis's report (then the
    process dies by it); a genuine fault in native code (SIGSEGV, SIGBUS, SIGFPE, SIGILL) gets the
    Python traceback of every thread written to the log by :mod:`faulthandler`."""
    import faulthandler

    try:
        loop.add_signal_handler(signal.SIGABRT, crash_by_signal, server, signal.SIGABRT)
    except (NotImplementedError, RuntimeError, ValueError):
        pass
    for h in logging.getLogger("pyredis").handlers:
        stream = getattr(h, "stream", None)
        if stream is not None and hasattr(stream, "fileno"):
            try:
                faulthandler.enable(file=stream, all_threads=True)
            except (OSError, ValueError, AttributeError):
                pass
            break
