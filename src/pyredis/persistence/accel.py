"""Which implementation of the RDB hot helpers runs.

``fast`` is the compiled :mod:`pyredis.persistence._rdbfast` extension when it was built and the
environment variable ``PYREDIS_NO_EXTENSIONS`` is unset (or ``0``), else None. Modules with a
compiled twin (:mod:`crc64`, :mod:`lzf`, :mod:`listpack`, :mod:`rdb_format`, :mod:`rdb_types`,
:mod:`rdb_writer`) keep their pure-Python functions under ``*_py`` names (the reference, always
importable) and bind the public name to the compiled one when ``fast`` is set.
"""

from __future__ import annotations

import os
from types import ModuleType

_ABI = 5


def _load() -> ModuleType | None:
    if os.environ.get("PYREDIS_NO_EXTENSIONS", "") not in ("", "0"):
        return None
    try:
        from pyredis.persistence import _rdbfast
    except ImportError:  # not built: the pure-Python code runs
        return None
    if getattr(_rdbfast, "ABI", None) != _ABI:  # built from another version of the source
        return None
    return _rdbfast


fast: ModuleType | None = _load()

ACTIVE = "cython" if fast is not None else "python"  # INFO server: pyredis_rdb_accelerator
