"""The few OpenSSL context settings Python's ``ssl`` does not expose, applied through libssl itself.

Redis sets the TLS 1.3 ciphersuites (``SSL_CTX_set_ciphersuites``) and sizes or disables the server
session cache (``SSL_CTX_set_session_cache_mode`` / ``sess_set_cache_size`` / ``set_timeout``). Python's
``ssl`` module links the same libssl, so these functions are called with ctypes on the ``SSL_CTX`` that
an :class:`ssl.SSLContext` wraps. The pointer is found at its documented place in CPython's context
object and checked (the options OpenSSL reports must equal ``ctx.options``) before anything is called;
on another interpreter, or if the check fails, the functions report that they could not apply the
setting and the caller logs it.
"""

from __future__ import annotations

import ctypes
import logging
import ssl
import sys
from functools import cache

log = logging.getLogger("pyredis")

_SSL_CTRL_SET_SESS_CACHE_SIZE = 42
_SSL_CTRL_SET_SESS_CACHE_MODE = 44
_SSL_SESS_CACHE_OFF = 0
_SSL_SESS_CACHE_SERVER = 2


@cache
def _libssl() -> ctypes.CDLL | None:
    if sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return None  # PyPy, or a debug build with a different object header
    try:
        import _ssl

        lib = ctypes.CDLL(_ssl.__file__)  # dlsym on it also searches the libssl it links
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
        lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_CTX_set_timeout.restype = ctypes.c_long
        lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
        lib.SSL_CTX_set_session_id_context.restype = ctypes.c_int
        lib.SSL_CTX_set_session_id_context.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint]
        return lib
    except (OSError, AttributeError, ImportError):
        return None


def _ctx_pointer(ctx: ssl.SSLContext) -> int | None:
    """The ``SSL_CTX *`` inside *ctx* (the first field after CPython's object header), verified."""
    lib = _libssl()
    if lib is None:
        return None
    ptr = ctypes.c_void_p.from_address(id(ctx) + 2 * ctypes.sizeof(ctypes.c_void_p)).value
    if not ptr or lib.SSL_CTX_get_options(ptr) != ctx.options:
        return None
    return ptr


def set_ciphersuites(ctx: ssl.SSLContext, suites: str) -> bool:
    """``SSL_CTX_set_ciphersuites`` (TLS 1.3); False when OpenSSL refuses the list or it cannot be set."""
    ptr = _ctx_pointer(ctx)
    if ptr is None:
        log.warning("tls-ciphersuites cannot be applied by this Python build")
        return False
    return _libssl().SSL_CTX_set_ciphersuites(ptr, suites.encode()) == 1  # type: ignore[union-attr]


def configure_session_cache(ctx: ssl.SSLContext, enabled: bool, size: int, timeout: int) -> bool:
    """The server session cache as Redis sets it (``tls-session-caching`` / ``-cache-size`` / ``-timeout``)."""
    ptr = _ctx_pointer(ctx)
    lib = _libssl()
    if ptr is None or lib is None:
        if not enabled or size != 20480 or timeout != 300:  # other than OpenSSL's own defaults
            log.warning("TLS session cache settings cannot be applied by this Python build")
        return False
    if enabled:
        lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_MODE, _SSL_SESS_CACHE_SERVER, None)
        lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_SIZE, size, None)
        lib.SSL_CTX_set_timeout(ptr, timeout)
        lib.SSL_CTX_set_session_id_context(ptr, b"redis", 5)
    else:
        lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_MODE, _SSL_SESS_CACHE_OFF, None)
    return True
