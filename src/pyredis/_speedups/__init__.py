"""Optional compiled accelerators (Cython), with the pure-Python code as the reference and fallback.

``hotpath`` is the compiled request loop (``_hotpath.pyx``) or ``None``: not built (no compiler or
Cython at install time), a stale build (ABI mismatch), or switched off at run time with
``PYREDIS_NO_EXTENSIONS=1``. ``ACTIVE`` names what runs ("cython" or "python"; INFO server reports it).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

_ABI = 8


def _disabled() -> bool:
    return os.environ.get("PYREDIS_NO_EXTENSIONS", "") not in ("", "0")


def _load() -> ModuleType | None:
    if _disabled():
        return None
    try:
        from pyredis._speedups import _hotpath
    except ImportError:
        return None
    if getattr(_hotpath, "ABI", None) != _ABI:  # built from another version of the source
        return None
    return _hotpath


hotpath: ModuleType | None = _load()
ACTIVE = "cython" if hotpath is not None else "python"
_LOADED = hotpath  # even while a test switches ``hotpath`` off, the replies it held must go out
# The classes a database's key dict may be (the compiled loaders and hot path write both directly).
KEY_DICT_TYPES: tuple[type, ...] = (dict,) if hotpath is None else (dict, hotpath.KeyTable)


def key_dict(items: Any = ()) -> dict[Any, Any]:
    """A new key dict (a database's keys, a sorted set's member -> score) holding *items*: the
    accelerator's ``KeyTable`` (the dict API and order the engine relies on, in 24-28 bytes per key
    where a dict takes 42 at 1M keys) or a plain dict."""
    return dict(items) if hotpath is None else hotpath.KeyTable(items)


def write_held() -> None:
    """Write the replies the accelerator's ``receive`` holds for the end of the loop iteration
    (``_hotpath.PENDING``): called before anything else writes to a connection, so order is kept."""
    if _LOADED is not None and _LOADED.PENDING:
        _LOADED.write_pending()
